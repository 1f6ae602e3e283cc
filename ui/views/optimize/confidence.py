"""The "How far to trust it" tab: after each plan, its value on fresh paths, the sampling gap and its stability.

:class:`ConfidenceTab` runs :func:`solvers.confidence.assess_plan` as a background
:class:`~ui.kit.jobs.Job` after each plan (the plan on fresh price paths and re-solves on fresh
samples; the view sets how many) and shows :func:`solvers.confidence.describe`'s sentences; Stop
ends it, and a newer plan's run cancels it. An assessment of a plan no longer shown is dropped.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from minerplan.scenario.model import Scenario
from solvers.confidence import OUT_OF_SAMPLE_PATHS, REPLICATIONS, PlanConfidence, assess_plan
from solvers.confidence import describe as describe_confidence
from solvers.result import OptimizationResult

from ...kit.jobs import Job
from .results import scrolling_text


class ConfidenceTab(QWidget):
    """Status line with Stop, and the confidence of the plan shown; ``shown()`` says which result is on screen."""

    def __init__(self, shown: Callable[[], OptimizationResult | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.shown = shown
        lay = QVBoxLayout(self)
        head = QHBoxLayout()
        self.status = QLabel(f"Runs after each plan: the plan on {OUT_OF_SAMPLE_PATHS:,} fresh price "
                             f"paths and {REPLICATIONS} re-solves on fresh samples.")
        self.status.setWordWrap(True)
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Stop the confidence check (the plan itself is not affected)")
        self.stop.clicked.connect(self.cancel)
        self.stop.setEnabled(False)
        head.addWidget(self.status, 1)
        head.addWidget(self.stop)
        self.label, scroll = scrolling_text()
        lay.addLayout(head)
        lay.addWidget(scroll, 1)
        self.confidence: PlanConfidence | None = None
        self.checked: OptimizationResult | None = None     # the result the text above is about
        self.job: Job | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(self, res: OptimizationResult, source: Scenario, paths: int, replications: int) -> None:
        """Assess ``res`` (a plan of ``source``) in the background; cancels an assessment still running."""
        self.cancel()
        self.confidence = None
        self.label.setText("")
        if not paths and not replications:
            self.status.setText("The confidence check is off.")
            return

        def work(progress, cancel):
            return assess_plan(source, res, res.settings, out_of_sample_paths=paths, replications=replications,
                               progress=progress, cancel=cancel)

        job = Job(work, self, name="plan confidence")
        # a check cancelled by a newer plan's says nothing over the newer one's
        job.progress.connect(lambda f, what, job=job: job is self.job and self.status.setText(
            f"Checking how far to trust this plan: {what} ({f * 100:.0f}%)"))
        job.finished.connect(lambda conf, res=res: self._on_done(res, conf))
        job.failed.connect(lambda msg, job=job: job is self.job and self._ended(
            f"The confidence check failed: {msg.strip().splitlines()[0] if msg.strip() else 'unknown error'}"))
        job.cancelled.connect(lambda job=job: job is self.job and self._ended("Confidence check stopped."))
        self.job = job
        self.stop.setEnabled(True)
        self.status.setText("Checking how far to trust this plan...")
        job.start()

    def _on_done(self, res: OptimizationResult, conf: PlanConfidence) -> None:
        if res is not self.shown():        # a newer plan is shown: this assessment is of an old one
            self._ended("")
            return
        self.confidence = conf
        self.checked = res
        self.label.setText("\n".join(f"- {line}" for line in describe_confidence(conf, res)))
        self._ended(f"Checked on {conf.out_of_sample_paths:,} fresh paths and {conf.replications} re-solves.")

    def _ended(self, text: str) -> None:
        self.stop.setEnabled(False)
        if text:
            self.status.setText(text)

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()

    def forget_if_not(self, res: OptimizationResult) -> None:
        """A result other than the one checked is shown: clear the text, which is about another plan."""
        if self.checked is not None and res is not self.checked:
            self.label.setText("")
            self.status.setText("The check above was for another plan; run the optimizer to check this one.")
            self.checked = None

    def shutdown(self, ms: int = 30_000) -> None:
        """Stop a running check and wait for its thread."""
        if self.job is not None:
            self.job.shutdown(ms)
