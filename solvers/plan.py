"""The plan as a scenario: the input scenario with the optimizer's decisions written into it, and which rows they are.

:func:`write_plan` writes plan ``x`` (one value per row of the decision table) so that
``minerplan evaluate`` of the result reproduces the optimizer's valuation: conversions join the
conversion plan; a fleet row with retirements or moves is split into the units kept and, per
month, the units retired (at the used-market price) or moved away (at their book value,
``sale_price_usd``); purchases and moved machines arriving at their new site are new fleet rows.
As it writes each row it records which rows are decisions
(:class:`minerplan.scenario.plan.PlanDecisions`), so nothing has to tell them apart afterwards.
"""

from __future__ import annotations

import numpy as np

from minerplan.scenario.catalog import load_catalog
from minerplan.scenario.files import scenario_from_dict
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.model import Scenario
from minerplan.scenario.plan import PlanDecisions
from minerplan.scenario.sites import Conversion

from .decisions.space import DecisionSpace


def write_plan(space: DecisionSpace, x: np.ndarray) -> tuple[Scenario, PlanDecisions]:
    """The input scenario with plan ``x`` written into it, and which of its rows are the plan's decisions."""
    sc, t = space.scenario, space.table
    conversions = list(sc.conversion_plan)
    retired: dict[int, list[tuple[str, float, float | None, int]]] = {}   # row -> (month, units, sale price, var)
    added: list[tuple[Cohort, int]] = []                                  # (cohort, var)
    new_conversions: list[int] = []
    for j in np.flatnonzero(x > 1e-9):
        row = t.iloc[j]
        if row.kind == "convert":
            new_conversions.append(len(conversions))
            conversions.append(Conversion(site=row.site, gross_mw=float(x[j] * row.scale_mw), start_month=row.month,
                                          business_model=row.business_model))
        elif row.kind == "retire":
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), None, int(j)))
        elif row.kind == "move_out":
            # the units leave at their book value (a sale to the company itself: no gain, no loss) ...
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), space.move_sale_usd[j], int(j)))
        elif row.kind == "move_in":
            # ... and arrive at the destination, degraded by their age, at that value plus the move's cost
            added.append((space.move_arrivals[j].model_copy(update={"count": float(x[j])}), int(j)))
        else:
            spec = load_catalog()[row.model]
            st = space.settings
            added.append((Cohort(model=row.model, count=float(x[j]), hashrate_ths=spec.hashrate_ths,
                                 power_w=spec.power_w, site=row.site, uptime_pct=st.purchase_uptime_pct,
                                 degradation_pct_per_year=st.purchase_degradation_pct_per_year,
                                 purchase_price_usd=spec.unit_price_usd,
                                 useful_life_months=st.purchase_useful_life_months, purchase_month=row.month),
                          int(j)))
    new_fleet: list[Cohort] = []
    row_of: dict[int, int] = {}              # decision variable -> the fleet row it wrote
    for c, co in enumerate(sc.fleet):
        parts = retired.get(c, [])
        left = co.count - sum(u for _, u, _, _ in parts)
        if left > 1e-9:
            new_fleet.append(co.model_copy(update={"count": left}))
        for month, units, sale, j in parts:
            row_of[j] = len(new_fleet)
            new_fleet.append(co.model_copy(update={"count": units, "retire_month": month, "sale_price_usd": sale}))
    for cohort, j in added:
        row_of[j] = len(new_fleet)
        new_fleet.append(cohort)
    data = sc.model_dump(mode="json", exclude_none=True)
    data["fleet"] = [c.model_dump(mode="json", exclude_none=True) for c in new_fleet]
    data["conversion_plan"] = [c.model_dump(mode="json", exclude_none=True) for c in conversions]
    data["name"] = f"{sc.name} (optimized plan)"
    return scenario_from_dict(data, "optimizer plan"), _decisions(space, row_of, new_conversions)


def _decisions(space: DecisionSpace, row_of: dict[int, int], conversions: list[int]) -> PlanDecisions:
    """The fleet rows each kind of decision wrote (``row_of``: variable -> fleet row), a move's two sides paired."""
    kind, link = space.table["kind"].to_numpy(), space.table["link"].to_numpy()
    arriving = {int(link[j]): row for j, row in row_of.items() if kind[j] == "move_in"}
    out = PlanDecisions(conversions=conversions)
    for j, row in sorted(row_of.items(), key=lambda item: item[1]):
        if kind[j] == "retire":
            out.retirements.append(row)
        elif kind[j] == "buy":
            out.purchases.append(row)
        elif kind[j] == "move_out":
            out.moves.append((row, arriving[int(link[j])]))
    return out
