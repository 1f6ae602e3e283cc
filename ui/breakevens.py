"""The breakevens job of the What-if view: :func:`minerplan.analysis.breakevens.compute_breakevens` as a
background :class:`~ui.kit.jobs.Job` (progress, Cancel; ``finished`` carries a
:class:`~minerplan.analysis.breakevens.Breakevens`; a failure's message names no traceback).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from minerplan.analysis import breakevens
from minerplan.scenario.model import Scenario

from .kit.jobs import Job

__all__ = ["BreakevensJob"]


class BreakevensJob(Job):
    """:func:`~minerplan.analysis.breakevens.compute_breakevens` for ``sc``, results for ``owner``."""

    def __init__(self, sc: Scenario, owner: QObject | None = None):
        super().__init__(lambda progress, cancel: breakevens.compute_breakevens(sc, progress, cancel), owner,
                         name="breakevens", failure_text="The breakevens could not be computed")
        self.scenario = sc
