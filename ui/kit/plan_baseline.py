"""The scenario as it was before an optimizer plan was applied: the baseline the Compare view keeps.

Views never import one another, so the Optimize view does not tell the Compare view itself: it records
the apply here, on the document (:func:`plan_baseline` of a document is one object, made on first use),
and every view that cares listens to :attr:`PlanBaseline.applied` or reads :attr:`PlanBaseline.before`
(a view built after the apply, as tabs are built when first shown, still finds it).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from minerplan.scenario.model import Scenario

_NAME = "plan_baseline"


class PlanBaseline(QObject):
    """The last applied plan's baseline: ``before`` (the scenario just before the apply), ``plan`` (the scenario
    applied) and ``when`` (local time, HH:MM:SS). ``applied(before, plan)`` fires on each apply."""

    applied = Signal(object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName(_NAME)
        self.before: Scenario | None = None
        self.plan: Scenario | None = None
        self.when = ""

    def record(self, before: Scenario, plan: Scenario) -> None:
        """A plan was applied: ``before`` is what the document held, ``plan`` what it holds now."""
        self.before, self.plan, self.when = before, plan, time.strftime("%H:%M:%S")
        self.applied.emit(before, plan)


def plan_baseline(doc: QObject) -> PlanBaseline:
    """The document's :class:`PlanBaseline` (made, as the document's child, on first use)."""
    found = doc.findChild(PlanBaseline, _NAME)
    return found if found is not None else PlanBaseline(doc)
