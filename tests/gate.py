"""Hold a background job at a known point, so a test does not depend on how fast this machine is.

A test that wants to show "the GUI keeps running while the job works" cannot count timer ticks
during a run of unknown length: a fast machine finishes before the timer has ticked. Instead the
job's work waits on a :class:`Gate` (injected into the function the worker calls, usually through
its ``progress`` callback), and the test checks what it wants while the worker is provably
still inside the job, then opens the gate and waits for the end with a generous timeout.

Likewise "nothing arrives late" is not shown by waiting some milliseconds: once the job's thread has
ended nothing more can be sent, so :func:`deliver_posted_events` hands over whatever it sent before.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterator

#: The longest a gate holds its worker when the test never opens it (a failing or broken test), seconds.
#: A passing test opens it long before; the bound only keeps a broken test from hanging forever.
HOLD_S = 30.0


class Gate:
    """``hold()`` on the worker waits until the test calls ``open()`` (or ``cancel()`` is true, or HOLD_S).

    ``reached``: the worker is at the gate; ``passed``: it went on. While ``reached`` is set and
    ``passed`` is not, the job is running and cannot have finished.
    """

    def __init__(self, hold_s: float = HOLD_S):
        self.hold_s = hold_s
        self.reached = threading.Event()
        self.opened = threading.Event()
        self.passed = threading.Event()
        self.timed_out = False
        self.thread: threading.Thread | None = None

    def hold(self, cancel: Callable[[], bool] | None = None) -> None:
        self.thread = threading.current_thread()
        self.reached.set()
        deadline = time.monotonic() + self.hold_s
        try:
            while not self.opened.wait(0.005):
                if cancel is not None and cancel():
                    break
                if time.monotonic() > deadline:
                    self.timed_out = True
                    break
        finally:
            self.passed.set()

    def open(self) -> None:
        self.opened.set()

    @property
    def holding(self) -> bool:
        """The worker is waiting at the gate right now."""
        return self.reached.is_set() and not self.passed.is_set()

    @contextlib.contextmanager
    def ticking(self, interval_ms: int = 10) -> Iterator[list[bool]]:
        """A GUI-thread timer that records, on every tick, whether the worker was at the gate then; the list
        it yields grows while the event loop turns. On leaving the block (also by a failed assertion) the
        gate opens first, so the worker is never left waiting, then the timer stops."""
        from PySide6.QtCore import QTimer

        ticks: list[bool] = []
        timer = QTimer()
        timer.setInterval(interval_ms)
        timer.timeout.connect(lambda: ticks.append(self.holding))
        timer.start()
        try:
            yield ticks
        finally:
            self.open()
            timer.stop()

    def progress(self, progress: Callable | None, cancel: Callable[[], bool] | None = None,
                 at: Callable[[float, str], bool] = lambda frac, text: 0.0 < frac < 1.0) -> Callable:
        """A progress callback for the work: passes every report on to ``progress``, and holds the worker
        right after the first report that ``at(frac, text)`` accepts (by default the first one strictly
        between 0 and 1, so a real progress value is on its way to the GUI while the worker waits)."""
        def report(frac: float, text: str = "") -> None:
            if progress is not None:
                progress(frac, text)
            if not self.reached.is_set() and at(float(frac), str(text)):
                self.hold(cancel)
        return report


def deliver_posted_events() -> None:
    """Deliver every event already posted to the GUI thread (queued signals, zero-timeouts), without waiting.

    After a job's thread has ended, this is everything the job can ever deliver.
    """
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()


def settle(qtbot, widget, timeout: int = 30_000) -> None:
    """Let everything already set in motion for ``widget`` happen: posted events, then its own single-shot
    timers (debounces) until none is active, then the events those sent. No fixed wait: ``timeout`` only
    bounds a hang (or a repeating timer, which never settles)."""
    from PySide6.QtCore import QTimer

    deliver_posted_events()
    qtbot.waitUntil(lambda: not any(t.isActive() for t in widget.findChildren(QTimer)), timeout=timeout)
    deliver_posted_events()
