"""Purchase candidates: units of a catalog ASIC model delivered at a site in a month.

For every site without a take-or-pay contract, every model of ``purchase_models`` and every
``purchase_step_months`` from the earliest delivery (``purchase_lead_time_months``): one machine at
the catalog's price (``assets/asic_catalog.csv``) with the settings' uptime, degradation and useful
life, valued by :func:`solvers.decisions.new_machines.new_machine_columns`. Up to the units that
fill the site's capacity.
"""

from __future__ import annotations

from typing import Callable

from minerplan.scenario.catalog import load_catalog
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.months import add_months

from .columns import Columns, grid
from .economics import Economics
from .new_machines import new_machine_columns


def add_purchases(eco: Economics, cols: Columns, progress: Callable[[float, str], None] | None = None) -> None:
    """Append the purchase candidates to ``cols``; an unknown model is a named error."""
    sc, st = eco.sc, eco.st
    if not (st.allow_purchases and st.purchase_models):
        return
    if progress:
        progress(0.5, "purchase options")
    catalog = load_catalog()
    missing = [m for m in st.purchase_models if m not in catalog]
    if missing:
        raise ScenarioError([Problem("purchase_models", f"{m!r} is not in the ASIC catalog "
                                                        f"(assets/asic_catalog.csv)") for m in missing])
    buys, buy_of = [], []
    for s, site in enumerate(sc.sites):
        if eco.has_top[s]:
            continue
        for model in st.purchase_models:
            spec_m = catalog[model]
            for t in grid(st.purchase_lead_time_months, st.purchase_step_months, eco.n_m):
                buys.append(Cohort(model=model, count=1.0, hashrate_ths=spec_m.hashrate_ths, power_w=spec_m.power_w,
                                   site=site.name, uptime_pct=st.purchase_uptime_pct,
                                   degradation_pct_per_year=st.purchase_degradation_pct_per_year,
                                   purchase_price_usd=spec_m.unit_price_usd,
                                   useful_life_months=st.purchase_useful_life_months,
                                   purchase_month=add_months(sc.start_month, t)))
                buy_of.append((s, model, t))
    for k, col_k in enumerate(new_machine_columns(eco, buys)):
        s, model, t = buy_of[k]
        site = sc.sites[s]
        cols.add(dict(kind="buy", site=site.name, site_idx=s, month_idx=t, month=add_months(sc.start_month, t),
                      business_model="", cohort=-1, model=model, unit="units", scale_mw=col_k["load_mw"],
                      lb=0.0, ub=float(site.capacity_mw / col_k["load_mw"]), integer=False, dest="", link=-1),
                 coef=col_k["coef"], cap=col_k["cap"], capex=col_k["capex_year"], cf=col_k["cf"], ti=col_k["ti"])
