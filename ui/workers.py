"""Run long work (optimization, Monte Carlo) off the GUI thread with progress and cancel.

The work is a plain function ``fn(progress, cancel)`` from ``minerplan``/``solvers``;
:class:`Task` runs it on a ``QThread`` and reports back through queued signals,
in the spirit of Orange3's ``concurrent.py``. The GUI never blocks: results
arrive via ``finished``, errors via ``failed``, a cancelled run via ``cancelled``.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal

from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.errors import ScenarioError


class _Runner(QObject):
    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, fn: Callable[[Callable, Callable], Any], cancel_event: threading.Event):
        super().__init__()
        self._fn = fn
        self._cancel = cancel_event

    def run(self) -> None:
        try:
            self._run()
        finally:
            # Stop this thread's event loop from inside it, so Task.wait() returns even when the
            # GUI thread is the one waiting (it cannot process the finished signal meanwhile).
            QThread.currentThread().quit()

    def _run(self) -> None:
        try:
            result = self._fn(lambda f, s="": self.progress.emit(float(f), str(s)), self._cancel.is_set)
        except Cancelled:
            self.cancelled.emit()
        except ScenarioError as e:
            self.failed.emit(e.describe())
        except Exception as e:  # noqa: BLE001 - shown to the user, with the traceback in the details
            self.failed.emit(f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}")
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)


class Task(QObject):
    """One background run. Connect the signals, then :meth:`start`; :meth:`cancel` asks it to stop."""

    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()          # after any of finished / failed / cancelled

    def __init__(self, fn: Callable[[Callable, Callable], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread = QThread()
        self._runner = _Runner(fn, self._cancel)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)

    def _stop_thread(self) -> None:
        self._thread.quit()
        self._thread.wait()

    def _on_finished(self, result) -> None:
        self._stop_thread()
        self.finished.emit(result)
        self.done.emit()

    def _on_failed(self, message: str) -> None:
        self._stop_thread()
        self.failed.emit(message)
        self.done.emit()

    def _on_cancelled(self) -> None:
        self._stop_thread()
        self.cancelled.emit()
        self.done.emit()


def show_progress(bar, frac: float, text: str) -> None:
    """Put a task's progress on a 0..1000 QProgressBar: the fraction, and the text after the percentage.

    Qt expands %p, %v and %m in a bar's format, so they are broken up in ``text`` (a site named
    "50%m" stays literal).
    """
    bar.setValue(int(round(max(0.0, min(1.0, frac)) * 1000)))
    bar.setFormat("%p%  " + text.replace("%p", "% p").replace("%v", "% v").replace("%m", "% m"))


def wait_while(task: "Task", running: Callable[[], bool], ms: int) -> bool:
    """Turn the event loop until ``running()`` is False or ``ms`` pass; False when it still runs.

    A Task's thread quits from a queued slot on the GUI thread, so a plain blocking wait on the
    thread would sit out its whole timeout: the loop has to keep turning while we wait.
    """
    deadline = time.monotonic() + ms / 1000.0
    while running() and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        task.wait(20)
    return not running()
