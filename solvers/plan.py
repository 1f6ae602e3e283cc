"""The plan as a scenario: the input scenario with the optimizer's decisions written into it.

:func:`plan_scenario` writes plan ``x`` (one value per row of the decision table) so that
``minerplan evaluate`` of the result reproduces the optimizer's valuation: conversions join the
conversion plan; a fleet row with retirements or moves is split into the units kept and, per
month, the units retired (at the used-market price) or moved away (at their book value,
``sale_price_usd``); purchases and moved machines arriving at their new site are new fleet rows.
"""

from __future__ import annotations

import numpy as np

from minerplan.scenario.catalog import load_catalog
from minerplan.scenario.files import scenario_from_dict
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.model import Scenario
from minerplan.scenario.sites import Conversion

from .decisions.space import DecisionSpace


def plan_scenario(space: DecisionSpace, x: np.ndarray) -> Scenario:
    """The input scenario with this plan written into it, so ``minerplan evaluate`` reproduces the plan."""
    sc, t = space.scenario, space.table
    fleet = [c.model_copy() for c in sc.fleet]
    conversions = list(sc.conversion_plan)
    retired: dict[int, list[tuple[str, float, float | None]]] = {}   # row -> (month, units, stated sale price)
    added = []
    for j in np.flatnonzero(x > 1e-9):
        row = t.iloc[j]
        if row.kind == "convert":
            conversions.append(Conversion(site=row.site, gross_mw=float(x[j] * row.scale_mw), start_month=row.month,
                                          business_model=row.business_model))
        elif row.kind == "retire":
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), None))
        elif row.kind == "move_out":
            # the units leave at their book value (a sale to the company itself: no gain, no loss) ...
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), space.move_sale_usd[j]))
        elif row.kind == "move_in":
            # ... and arrive at the destination, degraded by their age, at that value plus the move's cost
            added.append(space.move_arrivals[j].model_copy(update={"count": float(x[j])}))
        else:
            spec = load_catalog()[row.model]
            st = space.settings
            added.append(Cohort(model=row.model, count=float(x[j]), hashrate_ths=spec.hashrate_ths,
                                power_w=spec.power_w, site=row.site, uptime_pct=st.purchase_uptime_pct,
                                degradation_pct_per_year=st.purchase_degradation_pct_per_year,
                                purchase_price_usd=spec.unit_price_usd, useful_life_months=st.purchase_useful_life_months,
                                purchase_month=row.month))
    new_fleet = []
    for c, co in enumerate(fleet):
        parts = retired.get(c, [])
        left = co.count - sum(u for _, u, _ in parts)
        if left > 1e-9:
            new_fleet.append(co.model_copy(update={"count": left}))
        for month, units, sale in parts:
            new_fleet.append(co.model_copy(update={"count": units, "retire_month": month, "sale_price_usd": sale}))
    data = sc.model_dump(mode="json", exclude_none=True)
    data["fleet"] = [c.model_dump(mode="json", exclude_none=True) for c in new_fleet + added]
    data["conversion_plan"] = [c.model_dump(mode="json", exclude_none=True) for c in conversions]
    data["name"] = f"{sc.name} (optimized plan)"
    return scenario_from_dict(data, "optimizer plan")
