"""Which rows of an optimized scenario are the optimizer's decisions (the export's Plan sheet shows them as inputs).

The decisions are told apart by comparing the plan with the scenario it was optimized from;
kept apart from the workbook so that the optimizer can hand its decisions over directly instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minerplan.scenario.model import Scenario


@dataclass
class PlanDecisions:
    """Which rows of an optimized scenario are the optimizer's decisions (shown as inputs on the Plan sheet).

    ``conversions``: indices into ``conversion_plan``; ``retirements`` and
    ``purchases``: indices into ``fleet``.
    """

    conversions: list[int] = field(default_factory=list)
    retirements: list[int] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)
    note: str = ""


def plan_decisions(original: Scenario, planned: Scenario, note: str = "") -> PlanDecisions:
    """Tell the optimizer's decisions apart from what the original scenario already held."""
    def key(c):
        # a row the plan retires, or moves away at book value (sale_price_usd), is the original row
        return tuple(sorted((k, v) for k, v in c.model_dump(mode="json").items()
                            if k not in ("count", "retire_month", "sale_price_usd")))

    original_rows = {}
    for c in original.fleet:
        original_rows.setdefault(key(c), set()).add(c.retire_month)
    out = PlanDecisions(note=note)
    for i, c in enumerate(planned.fleet):
        k = key(c)
        if k not in original_rows:
            out.purchases.append(i)
        elif c.retire_month not in original_rows[k]:
            out.retirements.append(i)
    n0 = len(original.conversion_plan)
    out.conversions = list(range(n0, len(planned.conversion_plan)))
    return out
