"""Background jobs: one plain function run off the GUI thread, with progress, Cancel and one way to end.

The work is a plain function ``work(progress, cancel)`` from ``minerplan``/``solvers`` (no Qt in it):
``progress(frac, text="")`` reports a fraction 0..1 and a line for people, ``cancel()`` says whether to
stop (the work raises :class:`~minerplan.engine.evaluate.Cancelled`, or just returns). :class:`Job`
runs it on a daemon thread and hands everything back on the GUI thread, in the spirit of Orange3's
``ConcurrentWidgetMixin`` (``Orange/widgets/utils/concurrent.py``) and Anki's ``QueryOp``::

    job = Job(lambda progress, cancel: compute_breakevens(sc, progress, cancel), owner=self)
    job.finished.connect(self._show)          # the work's return value
    job.failed.connect(self._say_why)         # one message for people, no traceback
    job.start()

The life cycle, written once here for every job of the app:

* ``state`` goes ``idle`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``; then exactly one of
  ``finished(result)``, ``failed(message)``, ``cancelled()``, then ``done()``.
* :meth:`Job.cancel` asks the work to stop. Once asked, the job ends ``cancelled`` even if the work had
  just finished, so a cancelled run never delivers a result (unless ``drop_late_result=False``: an
  export past its last cancel check finishes its file and is ``done``).
* A failure's ``message`` is for people: a :class:`~minerplan.scenario.errors.ScenarioError`'s
  ``describe()``, an ``expected`` exception's text, else ``"Type: text"``; ``details`` adds the
  traceback (logged, never shown in a label). :meth:`Job.show_failure` is the default error dialog.
* Signals reach ``owner`` only while it exists (a view closed meanwhile gets nothing); a
  :meth:`Job.discard`-ed job sends nothing at all.
* Running jobs are kept alive in one live set (:func:`live_jobs`), let go on the GUI thread once ended.
  :func:`shutdown_jobs` ends them all at exit: cancel and wait for each (``wait_at_exit``), or
  discard those whose work cannot be interrupted (a network fetch with its own deadline): a daemon
  thread is simply abandoned when the process exits, where a QThread still running would abort it.

Why a daemon ``threading.Thread`` and not a ``QThread``: the work never touches Qt; the thread only
emits two queued signals (progress, ended), and nothing has to outlive it. :meth:`Job.wait` joins the
thread and settles the outcome at once, so closing a window does not spin the event loop.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.errors import ScenarioError

from .messages import show_message

__all__ = ["Job", "Work", "live_jobs", "shutdown_jobs"]

log = logging.getLogger(__name__)

#: ``work(progress, cancel) -> result``: ``progress(frac, text="")``, ``cancel() -> bool``.
Work = Callable[[Callable[..., None], Callable[[], bool]], Any]

_live: set["Job"] = set()      # started and not yet let go (on the GUI thread)


class _Outcome:
    __slots__ = ("state", "result", "message", "details")

    def __init__(self, state: str, result: Any = None, message: str = "", details: str = ""):
        self.state, self.result, self.message, self.details = state, result, message, details


class Job(QObject):
    """One run of ``work(progress, cancel)`` on a daemon thread; see the module docstring for the life cycle.

    ``owner``: the widget (or QObject) the results are for; nothing is sent once it is deleted.
    ``failure_text``: the message when an exception has no text. ``expected``: exception types whose
    text is the whole message (not logged, no type name). ``drop_late_result``: a result that arrives
    after :meth:`cancel` counts as cancelled. ``wait_at_exit``: :meth:`shutdown` cancels and waits
    (True) or discards without waiting (False, for work that cannot be interrupted).

    A subclass whose result is a tuple may declare ``finished = Signal(a, b)`` and ``unpack_result = True``
    to have the items sent as separate arguments.
    """

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()             # after any of the three above
    unpack_result = False

    _reported = Signal(float, str)      # from the worker thread (queued)
    _ended = Signal()                   # from the worker thread (queued): the outcome is stored

    def __init__(self, work: Work, owner: QObject | None = None, *, name: str = "job",
                 failure_text: str = "The job failed", expected: tuple[type[BaseException], ...] = (),
                 drop_late_result: bool = True, wait_at_exit: bool = True):
        super().__init__()
        self.work = work
        self.owner = owner
        self.name = name
        self.failure_text = failure_text
        self.expected = expected
        self.drop_late_result = drop_late_result
        self.wait_at_exit = wait_at_exit
        self.state = "idle"
        self.result: Any = None
        self.error = ""             # the message for people (no traceback)
        self.details = ""           # the message and the traceback, for "Show Details" and the log
        self._cancel = threading.Event()
        self._discarded = threading.Event()
        self._outcome: _Outcome | None = None
        self._thread: threading.Thread | None = None
        self._reported.connect(self._on_reported, Qt.ConnectionType.QueuedConnection)
        self._ended.connect(self._settle, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ control (GUI thread)
    def start(self) -> "Job":
        """Start the work on its thread; signals arrive queued, so connecting right after this call catches all."""
        if self.state != "idle":
            raise RuntimeError(f"{self.name} has already been started")
        self.state = "running"
        _live.add(self)
        self._thread = threading.Thread(target=self._run, name=f"minerplan-{self.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop (it sees ``cancel()`` true); the job then ends ``cancelled``."""
        if self.state == "running":
            self._cancel.set()

    def discard(self) -> None:
        """Send nothing more, ever (the owner is going away); the work goes on until it returns."""
        self._discarded.set()

    @property
    def running(self) -> bool:
        """Started and its outcome not yet handed over."""
        return self.state == "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def thread_alive(self) -> bool:
        """The work is still running on its thread (or about to hand over its outcome)."""
        return self._thread is not None and self._thread.is_alive()

    def join(self, ms: int = 30_000) -> bool:
        """Block until the work has returned (at most ``ms``); True when it has. Sends nothing."""
        if self._thread is not None:
            self._thread.join(max(ms, 0) / 1000.0)
        return not self.thread_alive

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the work has returned, then hand its outcome over now (the signals are sent from
        this call); False when it is still running after ``ms``."""
        if not self.join(ms):
            return False
        self._settle()
        return not self.running

    def shutdown(self, ms: int = 30_000) -> None:
        """Before the owner goes away: cancel and wait (``wait_at_exit``), else discard and return at once."""
        if not self.running:
            return
        if self.wait_at_exit:
            self.cancel()
            self.wait(ms)
        else:
            self.discard()

    def show_failure(self, parent: QWidget | None, title: str) -> "Job":
        """The default error dialog: a failure shows its message (no traceback) in a window-modal box."""
        self.failed.connect(lambda message: show_message(parent, title, message))
        return self

    def on_end(self) -> None:
        """Called on the GUI thread as the job ends (``state`` set), before its signals: a subclass closes
        what it opened (a progress dialog)."""

    # ------------------------------------------------------------------ the worker thread (no Qt but two emits)
    def _run(self) -> None:
        out = _Outcome("failed", message="the job stopped unexpectedly")
        try:
            out = self._call()
        finally:
            self._outcome = out
            self._ended.emit()

    def _call(self) -> _Outcome:
        try:
            result = self.work(self._report, self._cancel.is_set)
        except Cancelled:
            return _Outcome("cancelled")
        except ScenarioError as e:
            text = e.describe()
            return _Outcome("failed", message=text, details=text)
        except self.expected as e:
            text = str(e) or self.failure_text
            return _Outcome("failed", message=text, details=text)
        except Exception as e:  # noqa: BLE001 - shown to people without the traceback, logged with it
            text = f"{type(e).__name__}: {e}".strip()
            details = f"{text}\n\n{traceback.format_exc()}"
            log.warning("%s failed: %s", self.name, details)
            return _Outcome("failed", message=text or self.failure_text, details=details)
        if self.drop_late_result and self._cancel.is_set():
            return _Outcome("cancelled")
        return _Outcome("done", result=result)

    def _report(self, frac: float, text: str = "") -> None:
        self._reported.emit(float(frac), str(text))

    # ------------------------------------------------------------------ results (GUI thread)
    def _deliver(self) -> bool:
        return not self._discarded.is_set() and (self.owner is None or isValid(self.owner))

    def _on_reported(self, frac: float, text: str) -> None:
        if self.running and not self._cancel.is_set() and self._deliver():
            self.progress.emit(frac, text)

    def _settle(self) -> None:
        out = self._outcome
        if out is None or self.state != "running":
            return                      # not ended yet, or already handed over (wait() got there first)
        if self._thread is not None:
            self._thread.join()         # its last act was to send _ended: once handed over, nothing more can come
        self.state = out.state
        self.result, self.error, self.details = out.result, out.message, out.details
        self._outcome = None
        # let go on the next turn of the event loop, not while this slot is still running
        QTimer.singleShot(0, lambda: _live.discard(self))
        self.on_end()
        if self._discarded.is_set():
            return
        if self._deliver():
            if out.state == "done":
                if self.unpack_result:
                    self.finished.emit(*out.result)
                else:
                    self.finished.emit(out.result)
            elif out.state == "failed":
                self.failed.emit(out.message)
            else:
                self.cancelled.emit()
        self.done.emit()


def _belongs_to(job: Job, root: QObject | None) -> bool:
    if root is None:
        return True
    obj = job.owner
    while obj is not None and isValid(obj):
        if obj is root:
            return True
        obj = obj.parent()
    return False


def live_jobs(owner: QObject | None = None) -> list[Job]:
    """Jobs started and not yet let go; with ``owner``: those whose owner is it or one of its children."""
    return [j for j in _live if _belongs_to(j, owner)]


def shutdown_jobs(owner: QObject | None = None, ms: int = 30_000) -> None:
    """End every running job (of ``owner`` and its children, or all): cancel and wait, or discard."""
    for job in live_jobs(owner):
        job.shutdown(ms)
