"""The panel of a background job: the view's run button(s), Cancel, a progress bar and a state line.

One :class:`JobPanel` serves Optimize, Breakevens (on the What-if view) and Risk. It shows one
:class:`~ui.kit.jobs.Job` at a time; the view keeps its own words for each outcome::

    self.panel = JobPanel("Not computed yet.", run_buttons=[self.compute_button], trailing=[self.stale_label])
    self.panel.cancel_button ...                       # wired to panel.cancel() already
    job = Job(work, owner=self)
    job.finished.connect(lambda res: self.panel.set_state("done", f"Computed in {res.seconds:.1f} s."))
    job.failed.connect(lambda msg: self.panel.set_state("failed", "Failed: " + msg.splitlines()[0], error=True))
    job.cancelled.connect(lambda: self.panel.set_state("cancelled", "Cancelled."))
    self.panel.start(job, "Computing...")             # starts the job; the bar follows its progress

Layout: one row ``[run buttons] [Cancel] [progress bar ...] [trailing widgets]``, the state line below.
The bar runs 0..1000 (:func:`show_progress`); it reads ``%p%  starting`` when a job starts,
``%p%  cancelling`` after Cancel, then ``%p%  done`` (full), ``cancelled`` or ``failed`` (empty).
Run buttons are enabled while no job runs and ``can_run()`` holds; Cancel while one runs and has not
been asked to stop. Progress of a job that was asked to stop, or is no longer the panel's, is ignored.
"""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .jobs import Job

__all__ = ["JobPanel", "show_progress", "BAR_FORMATS"]

#: The bar's text once a job has ended (or before one starts), by state.
BAR_FORMATS = {"idle": "", "done": "%p%  done", "cancelled": "cancelled", "failed": "failed"}
ERROR_STYLE = "color: #c00000;"


def show_progress(bar: QProgressBar, frac: float, text: str) -> None:
    """Put a job's progress on a 0..1000 QProgressBar: the fraction, and the text after the percentage.

    Qt expands %p, %v and %m in a bar's format, so they are broken up in ``text`` (a site named
    "50%m" stays literal).
    """
    bar.setValue(int(round(max(0.0, min(1.0, frac)) * 1000)))
    bar.setFormat("%p%  " + text.replace("%p", "% p").replace("%v", "% v").replace("%m", "% m"))


def stale_marker(text: str) -> QLabel:
    """The orange note a panel shows beside its buttons when its last result no longer matches the
    scenario (hidden until then): "results are stale: the scenario changed since"."""
    label = QLabel(text)
    label.setStyleSheet("color: #b06000; font-weight: 600;")
    label.setVisible(False)
    return label


class ShowsJobState:
    """``state`` and ``running`` of a widget whose background work runs on its ``self.panel`` (a
    :class:`JobPanel`): idle, running, done, cancelled or failed (the Optimize view adds no_plan)."""

    panel: "JobPanel"

    @property
    def state(self) -> str:
        return self.panel.state

    @property
    def running(self) -> bool:
        return self.panel.running


class JobPanel(QWidget):
    """Run buttons, Cancel, a progress bar and a state line for one :class:`~ui.kit.jobs.Job` at a time.

    ``idle_text``: the state line before any run. ``run_buttons``: enabled only while idle (the view
    connects their ``clicked``). ``trailing``: widgets after the bar (a "stale" label). ``can_run``:
    a further condition for the run buttons (a valid form). ``progress_in_status``: the state line
    also shows each progress text (Optimize). ``bar_formats``: overrides of :data:`BAR_FORMATS`,
    for states of the view's own (``{"no_plan": "no plan"}``).
    """

    state_changed = Signal(str)

    def __init__(self, idle_text: str = "", *, run_buttons: Iterable[QPushButton] = (),
                 trailing: Iterable[QWidget] = (), can_run: Callable[[], bool] | None = None,
                 progress_in_status: bool = False, bar_formats: dict[str, str] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state = "idle"
        self.job: Job | None = None
        self.run_buttons = list(run_buttons)
        self.can_run = can_run or (lambda: True)
        self.progress_in_status = progress_in_status
        self.bar_formats = {**BAR_FORMATS, **(bar_formats or {})}
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status_label = QLabel(idle_text)
        self.status_label.setWordWrap(True)
        self.row = QHBoxLayout()
        for b in self.run_buttons:
            self.row.addWidget(b)
        self.row.addWidget(self.cancel_button)
        self.row.addWidget(self.progress, 1)
        for w in trailing:
            self.row.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.row)
        lay.addWidget(self.status_label)
        self.update_buttons()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self, job: Job, text: str) -> Job:
        """Show ``job`` (its progress from now on) in state ``running`` with ``text``, and start it."""
        self.job = job
        job.progress.connect(lambda frac, what, job=job: self._on_progress(job, frac, what))
        self.progress.setValue(0)
        self.progress.setFormat("%p%  starting")
        self.set_state("running", text)
        return job.start()

    def cancel(self) -> None:
        """Ask the running job to stop; the view's ``cancelled`` handler ends the state."""
        if self.running and self.job is not None:
            self.job.cancel()
            self.update_buttons()
            self.status_label.setText("Cancelling...")
            self.progress.setFormat("%p%  cancelling")

    def set_state(self, state: str, text: str, error: bool = False) -> None:
        """Enter ``state`` with the state line ``text`` (red when ``error``); the bar and buttons follow."""
        self.state = state
        self.status_label.setText(text)
        self.status_label.setStyleSheet(ERROR_STYLE if error else "")
        if state == "done":
            self.progress.setValue(1000)
        elif state in ("cancelled", "failed"):
            self.progress.setValue(0)
        if state != "running":
            self.progress.setFormat(self.bar_formats.get(state, ""))
        self.update_buttons()
        self.state_changed.emit(state)

    def update_buttons(self) -> None:
        running = self.running
        for b in self.run_buttons:
            b.setEnabled(not running and bool(self.can_run()))
        self.cancel_button.setEnabled(running and not (self.job is not None and self.job.cancel_requested))

    def shutdown(self, ms: int = 30_000) -> None:
        """End the running job (cancel and wait) before the view goes away."""
        if self.job is not None and self.job.running:
            self.job.shutdown(ms)

    def _on_progress(self, job: Job, frac: float, text: str) -> None:
        if job is not self.job or not self.running or job.cancel_requested:
            return
        show_progress(self.progress, frac, text)
        if self.progress_in_status:
            self.status_label.setText(text)
