"""The plan as a scenario: the input scenario with the optimizer's decisions written into it, and which rows they are.

:func:`write_plan` writes plan ``x`` (one value per row of the decision table) so that
``minerplan evaluate`` of the result reproduces the optimizer's valuation: conversions join the
conversion plan; a fleet row with retirements or moves is split into the units kept and, per
month, the units retired (at the used-market price) or moved away (at their book value,
``sale_price_usd``); purchases and moved machines arriving at their new site are new fleet rows.
As it writes each row it records which rows are decisions
(:class:`minerplan.scenario.plan.PlanDecisions`), so nothing has to tell them apart afterwards.

One row per distinct cohort: rows that come out equal in everything but their count (the kept parts of
two identical entered rows; two sales of identical rows in the same month) are written as one
(:func:`minerplan.scenario.fleet_rows.merge_identical_rows`), but the units the plan decides stay apart
from those the scenario already had (the workbook's Plan sheet links to the decided units alone).
:func:`applied_plan` is the plan as the scenario a user goes on with: there the decisions are no longer
apart, so it merges those too. Neither changes what the plan is worth.
"""

from __future__ import annotations

import numpy as np

from minerplan.scenario.catalog import load_catalog
from minerplan.scenario.files import scenario_from_dict
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.fleet_rows import cohort_key, merge_identical_rows
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
    roles: list[tuple | None] = []           # None: as entered; else the decision's kind (a move's: and its pair)
    row_of: dict[int, int] = {}              # decision variable -> the fleet row it wrote
    for c, co in enumerate(sc.fleet):
        parts = retired.get(c, [])
        left = co.count - sum(u for _, u, _, _ in parts)
        if left > 1e-9:
            new_fleet.append(co.model_copy(update={"count": left}))
            roles.append(None)
        for month, units, sale, j in parts:
            row_of[j] = len(new_fleet)
            new_fleet.append(co.model_copy(update={"count": units, "retire_month": month, "sale_price_usd": sale}))
            roles.append(_role(space, j))
    for cohort, j in added:
        row_of[j] = len(new_fleet)
        new_fleet.append(cohort)
        roles.append(_role(space, j))
    new_fleet, where = merge_identical_rows(new_fleet, roles)
    row_of = {j: where[row] for j, row in row_of.items()}
    data = sc.model_dump(mode="json", exclude_none=True)
    data["fleet"] = [c.model_dump(mode="json", exclude_none=True) for c in new_fleet]
    data["conversion_plan"] = [c.model_dump(mode="json", exclude_none=True) for c in conversions]
    data["name"] = f"{sc.name} (optimized plan)"
    return scenario_from_dict(data, "optimizer plan"), _decisions(t["kind"].to_numpy(), t["link"].to_numpy(), row_of,
                                                                 new_conversions)


def applied_plan(plan: Scenario) -> Scenario:
    """The planned scenario as a user goes on with it: rows equal in all but their count merged, whether the
    scenario or the plan wrote them (the engine values it as ``plan``)."""
    fleet, _ = merge_identical_rows(plan.fleet)
    if len(fleet) == len(plan.fleet):
        return plan
    return plan.model_copy(update={"fleet": fleet})


def _role(space: DecisionSpace, j: int) -> tuple:
    """What the row decision ``j`` writes is, for merging: rows merge only with rows of the same role. A move's
    leaving row names the machines as they arrive and its arriving row the machines as they leave, so two
    moves' rows merge on both sides or on neither (each merged leaving row pairs with one arriving row)."""
    t = space.table
    kind = t["kind"].iat[j]
    if kind not in ("move_out", "move_in"):
        return (kind,)
    link = t["link"].to_numpy()
    other = next(int(k) for k in np.flatnonzero(link == link[j]) if k != j)
    if kind == "move_out":
        return (kind, cohort_key(space.move_arrivals[other]))
    row = t.iloc[other]
    leaving = space.scenario.fleet[int(row.cohort)].model_copy(
        update={"retire_month": row.month, "sale_price_usd": space.move_sale_usd[other]})
    return (kind, cohort_key(leaving))


def _decisions(kind: np.ndarray, link: np.ndarray, row_of: dict[int, int], conversions: list[int]) -> PlanDecisions:
    """The fleet rows each kind of decision wrote (``row_of``: variable -> fleet row, merged rows shared by
    several variables listed once), a move's two sides paired."""
    arriving = {int(link[j]): row for j, row in row_of.items() if kind[j] == "move_in"}
    out = PlanDecisions(conversions=conversions)
    seen: set[int] = set()
    for j, row in sorted(row_of.items(), key=lambda item: item[1]):
        if row in seen or kind[j] == "move_in":
            continue
        seen.add(row)
        if kind[j] == "retire":
            out.retirements.append(row)
        elif kind[j] == "buy":
            out.purchases.append(row)
        elif kind[j] == "move_out":
            out.moves.append((row, arriving[int(link[j])]))
    return out
