"""A plan's tables for people: decisions, moves, MW by use per site and month (with why MW stand idle), cash.

Tidy pandas frames of plan ``x`` (one value per row of the decision table), in USD and gross MW
unless a column names another unit:

- :func:`decision_tables`: conversions (the signed ones too, ``committed``), purchases, retirements;
- :func:`moves_table`: machines moved between sites;
- :func:`allocation_table`: gross MW per site and month to mining, AI/HPC and idle, with the reason
  idle MW stand idle (:mod:`solvers.idle`);
- :func:`cash_table`: cash per liquidity view and month, before and with the credit line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minerplan.scenario.catalog import load_catalog
from minerplan.scenario.model import Scenario
from minerplan.scenario.months import add_months, month_index

from .decisions.space import DecisionSpace
from .idle import IDLE_MIN_MW, explain_idle, idle_by_month
from .valuation import purchase_margins, take_or_pay_dispatch, tax_paid_by_month, top_income_by_month

CONVERSION_COLUMNS = ["site", "start_month", "ready_month", "critical_mw", "gross_mw", "capex_usd", "business_model",
                      "committed"]
PURCHASE_COLUMNS = ["site", "month", "model", "units", "mw", "capex_usd"]
RETIREMENT_COLUMNS = ["site", "cohort", "model", "month", "units", "mw", "salvage_usd"]
MOVE_COLUMNS = ["from_site", "to_site", "cohort", "model", "month", "arrive_month", "units", "mw", "cost_usd",
                "book_value_usd_per_unit"]
ALLOCATION_COLUMNS = ["site", "month", "mining_mw", "ai_mw", "idle_mw"]


def decision_tables(space: DecisionSpace, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Plan ``x``'s conversions (the signed ones first, then the plan's; sorted by start month and site),
    purchases (units, MW, capex) and retirements (units, MW, expected salvage over the paths)."""
    sc, t = space.scenario, space.table
    conv_rows = []
    for cv in sc.conversion_plan:
        conv_rows.append(_conversion_row(sc, cv.site, month_index(sc.start_month, cv.start_month), cv.gross_mw,
                                         cv.business_model, committed=True))
    buys, rets = [], []
    for j in np.flatnonzero(x > 1e-9):
        row = t.iloc[j]
        if row.kind == "convert":
            conv_rows.append(_conversion_row(sc, row.site, int(row.month_idx), x[j] * row.scale_mw, row.business_model,
                                             committed=False))
        elif row.kind == "buy":
            spec = load_catalog()[row.model]
            buys.append(dict(site=row.site, month=row.month, model=row.model, units=x[j], mw=x[j] * row.scale_mw,
                             capex_usd=x[j] * spec.unit_price_usd))
        elif row.kind == "retire":
            # Proceeds at the used-market price of the retirement month, expected over the optimizer's paths.
            rets.append(dict(site=row.site, cohort=int(row.cohort), model=row.model, month=row.month, units=x[j],
                             mw=x[j] * row.scale_mw, salvage_usd=x[j] * space.salvage_unit_usd[j]))
    conv = pd.DataFrame(conv_rows, columns=CONVERSION_COLUMNS)
    return (conv.sort_values(["start_month", "site"], kind="stable").reset_index(drop=True),
            pd.DataFrame(buys, columns=PURCHASE_COLUMNS), pd.DataFrame(rets, columns=RETIREMENT_COLUMNS))


def moves_table(space: DecisionSpace, x: np.ndarray) -> pd.DataFrame:
    """The plan's moves of machines between sites: from, to, the month they leave and arrive, units, MW
    (with the destination's PUE), the cost (USD) and the book value per unit they carry."""
    t = space.table
    if not space.n_var or "link" not in t:
        return pd.DataFrame(columns=MOVE_COLUMNS)
    kind, link = t["kind"].to_numpy(), t["link"].to_numpy()
    arrive = {int(link[j]): j for j in np.flatnonzero(kind == "move_in")}
    st = space.settings
    out = []
    for j in np.flatnonzero((kind == "move_out") & (x > 1e-9)):
        row, j_in = t.iloc[j], arrive[int(link[j])]
        arrival = space.move_arrivals[j_in]
        out.append(dict(from_site=row.site, to_site=row.dest, cohort=int(row.cohort), model=row.model, month=row.month,
                        arrive_month=arrival.purchase_month, units=x[j], mw=x[j] * float(t["scale_mw"].iat[j_in]),
                        cost_usd=x[j] * st.move_cost_usd_per_unit, book_value_usd_per_unit=space.move_sale_usd[j]))
    return pd.DataFrame(out, columns=MOVE_COLUMNS)


def _conversion_row(sc: Scenario, site_name: str, start: int, gross_mw: float, model: str | None, committed: bool):
    site = next(s for s in sc.sites if s.name == site_name)
    ai = site.ai
    crit = gross_mw * ai.critical_mw_per_gross_mw
    return dict(site=site_name, start_month=add_months(sc.start_month, start),
                ready_month=add_months(sc.start_month, start + ai.lead_time_months), critical_mw=crit,
                gross_mw=gross_mw, capex_usd=crit * ai.conversion_capex_usd_per_critical_mw,
                business_model=model or ai.business_model, committed=committed)


def allocation_table(space: DecisionSpace, x: np.ndarray) -> pd.DataFrame:
    """Gross MW per site and month: mining (installed machines with PUE), AI/HPC (converted), idle."""
    sc = space.scenario
    n_m = sc.horizon_months
    use = space.cap_base + (np.tensordot(x, space.cap_use, axes=(0, 0)) if space.n_var else 0.0)  # [site, month]
    ai = np.zeros_like(use)
    for cv in sc.conversion_plan:
        ai[space.site_names.index(cv.site), month_index(sc.start_month, cv.start_month):] += cv.gross_mw
    conv = (space.table["kind"] == "convert").to_numpy() if space.n_var else np.zeros(0, bool)
    if conv.any():
        ai += np.tensordot(x[conv], space.cap_use[conv], axes=(0, 0))
    cap = np.array([s.capacity_mw for s in sc.sites])[:, None]
    mining = np.minimum(np.maximum(use - ai, 0.0), cap - ai)
    idle = np.maximum(cap - mining - ai, 0.0)
    months = [add_months(sc.start_month, m) for m in range(n_m)]
    return pd.DataFrame({"site": np.repeat(space.site_names, n_m), "month": months * len(sc.sites),
                         "mining_mw": mining.ravel(), "ai_mw": ai.ravel(), "idle_mw": idle.ravel(),
                         "idle_reason": _idle_reasons(space, x, ai, idle, months)})


def _idle_reasons(space: DecisionSpace, x: np.ndarray, ai: np.ndarray, idle: np.ndarray,
                  months: list[str]) -> list[str | None]:
    """Why each site-month's idle MW (``idle``, gross MW ``[site, month]``) stand idle under plan ``x``
    (:func:`solvers.idle.explain_idle`), site-major like the allocation table; None where at most
    ``IDLE_MIN_MW`` are idle. Purchase candidates are valued as one more unit added to this plan
    (expected NPV in USD, the take-or-pay dispatch and carry-forward tax included)."""
    if not (idle > IDLE_MIN_MW).any():
        return [None] * idle.size
    t = space.table
    idle_sites = np.flatnonzero((idle > IDLE_MIN_MW).any(axis=1))
    cands = (np.flatnonzero((t["kind"].to_numpy() == "buy") & np.isin(t["site_idx"].to_numpy(), idle_sites))
             if space.n_var else np.zeros(0, int))
    dispatch = take_or_pay_dispatch(space, x)
    value, tail = purchase_margins(space, x, dispatch, cands)
    headroom = None
    st = space.settings
    if st.min_cash_usd is not None and cands.size:
        cash = cash_table(space, x, dispatch)
        n_w = len(space.cash_views)
        bal = cash["cash_usd"].to_numpy(float).reshape(n_w, -1)
        headroom = bal + (st.credit_line_usd or 0.0) - st.min_cash_usd   # USD above the floor, credit line undrawn
    runs = explain_idle(space, x, ai, idle, value, tail, headroom)
    return idle_by_month(runs, space.site_names, months)


def cash_table(space: DecisionSpace, x: np.ndarray, dispatch: list) -> pd.DataFrame:
    """Cash balance per liquidity view and month (USD), before and with the credit line."""
    st = space.settings
    n_w, n_m, _ = space.cf_x.shape
    cf = space.cf_base + (space.cf_x @ x if space.n_var else 0.0)                      # [W, M]
    cf = cf - space.cash_weights @ tax_paid_by_month(space, x, dispatch)
    # Take-or-pay dispatch, after tax in linear mode (pre-tax in carry-forward mode, where tax_rate
    # is 0 and the tax is subtracted above).
    cf = cf + space.cash_weights @ ((1 - space.tax_rate) * top_income_by_month(space, dispatch))
    # The LP only needs some feasible credit balance; report the least that keeps the floor, month by month.
    i_m = (1 + st.credit_line_rate_pct / 100.0) ** (1 / 12) - 1
    floor = st.min_cash_usd if st.min_cash_usd is not None else -np.inf
    credit = np.zeros((n_w, n_m))
    cash = np.zeros((n_w, n_m))
    balance = np.full(n_w, st.starting_cash_usd)
    for m in range(n_m):  # months only: interest on last month's credit links them
        if m:
            balance = balance - i_m * credit[:, m - 1]
        balance = balance + cf[:, m]
        cash[:, m] = balance
        credit[:, m] = np.clip(floor - balance, 0.0, st.credit_line_usd) if np.isfinite(floor) else 0.0
    months = [add_months(space.scenario.start_month, m) for m in range(n_m)]
    return pd.DataFrame({"view": np.repeat(space.cash_views, n_m), "month": months * n_w,
                         "cash_flow_usd": cf.ravel(), "cash_usd": cash.ravel(), "credit_usd": credit.ravel()})
