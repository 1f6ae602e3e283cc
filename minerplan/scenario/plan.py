"""Which rows of a planned scenario are the optimizer's decisions: :class:`PlanDecisions`.

The optimizer writes its plan into a copy of the scenario (``solvers.plan.write_plan``) and says,
as it writes each row, which rows are its decisions; everything else is the scenario as entered.
The workbook's Plan sheet shows these rows as inputs that the Fleet and AI-HPC sheets link to
(:mod:`minerplan.sheets.export.plan_sheet`). Indices point into the *planned* scenario:
``conversion_plan`` for conversions, ``fleet`` for the rest. No Qt, no Pyomo.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlanDecisions:
    """The decisions written into a planned scenario, as row indices of that scenario.

    ``conversions``: conversions the plan starts (indices into ``conversion_plan``, after the signed ones).
    ``retirements``: fleet rows the plan sells at the used-market price in their ``retire_month``.
    ``purchases``: fleet rows the plan buys, delivered in their ``purchase_month``.
    ``moves``: per move, ``(leaving, arriving)`` fleet rows: the units leaving their site at book value
    (``sale_price_usd``) in the leaving row's ``retire_month``, and the same units arriving at the other
    site (``moved_from``) in the arriving row's ``purchase_month``.
    ``note``: one line about the plan for people (the Plan sheet's note).
    """

    conversions: list[int] = field(default_factory=list)
    retirements: list[int] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)
    moves: list[tuple[int, int]] = field(default_factory=list)
    note: str = ""

    def leaving(self) -> list[int]:
        """Fleet rows whose units leave their site by the plan (retired or moved away), in fleet order."""
        return sorted(self.retirements + [a for a, _ in self.moves])

    def arriving(self) -> list[int]:
        """Fleet rows whose units the plan adds (bought or moved in), in fleet order."""
        return sorted(self.purchases + [b for _, b in self.moves])

    @property
    def count(self) -> int:
        """Rows that are decisions (a move has two: leaving and arriving)."""
        return len(self.conversions) + len(self.retirements) + len(self.purchases) + 2 * len(self.moves)
