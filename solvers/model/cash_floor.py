"""The cash floor: cash at or above ``min_cash_usd`` in every month, on each liquidity view, with a credit line.

cash_t = start + sum_{tau<=t} CF_tau(x) - monthly interest on credit drawn before t; the row is
cash_t + D_t >= floor with 0 <= D_t <= credit line. Interest is financing: it reduces cash but not
the (unlevered) NPV. The views are the expected cash and the path at a low quantile of average BTC
price (:mod:`solvers.decisions.economics`).

Rows, in USD millions (duals: USD of objective per USD): ``cash_floor`` (view, month) and, in the
extensive form with take-or-pay sites, ``top_cash_def`` (view, month: the dispatch's cash). In the
decomposition's master the recourse's cash through month t (take-or-pay dispatch less carry-forward
tax, :func:`solvers.recourse.cash_recourse`) is one variable ``rho[w, t]`` per row, bounded by cuts
while solving.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)

from ..decisions.space import DecisionSpace
from .parts import USD_M, BuiltModel
from .sparse import csr_from_coo, csr_from_matrix

COMPONENT = "cash floor"


def add_cash_floor(built: BuiltModel) -> None:
    """Credit drawn per view and month, the floor rows and (extensive form) the dispatch's cash rows."""
    space = built.space
    st = space.settings
    if st.min_cash_usd is None:
        return
    built.stop_if_asked("building the cash floor")
    m, xs = built.model, built.xs
    n_w, n_m, n_var = space.cf_x.shape
    n_p = built.n_paths
    i_m = (1 + st.credit_line_rate_pct / 100.0) ** (1 / 12) - 1
    m.credit = pyo.Var(range(n_w * n_m), domain=pyo.NonNegativeReals, bounds=(0.0, st.credit_line_usd / USD_M))
    dv = [m.credit[i] for i in range(n_w * n_m)]
    view_month = {"view": [space.cash_views[w] for w in range(n_w) for _ in range(n_m)],
                  "month": np.tile(np.arange(n_m), n_w)}
    tc_vars = _top_cash(built, view_month)
    rho = []
    if built.recourse == "cuts":
        ub = _rho_upper_bound(space) / USD_M                                         # [W, M]
        m.rho = pyo.Var(range(n_w * n_m), domain=pyo.Reals, bounds=lambda _, i: (None, float(ub.ravel()[i])))
        rho = [m.rho[i] for i in range(n_w * n_m)]
        built.rho_vars = rho
    # Floor rows: cumulative cash flow of x (dense over x), cumulative take-or-pay cash, credit and interest.
    cum_x = np.cumsum(space.cf_x, axis=1) / USD_M                                    # [W, M, n_var]
    rows = []
    lower = []
    for w in range(n_w):
        base_cum = st.starting_cash_usd + np.cumsum(space.cf_base[w])
        for t in range(n_m):
            row_tc = np.zeros(n_w * n_m)
            if tc_vars:
                row_tc[w * n_m: w * n_m + t + 1] = 1.0
            row_d = np.zeros(n_w * n_m)
            row_d[w * n_m + t] = 1.0
            row_d[w * n_m: w * n_m + t] -= i_m
            rows.append(np.concatenate([cum_x[w, t], row_tc if tc_vars else np.zeros(0), row_d]))
            lower.append(float((st.min_cash_usd - base_cum[t]) / USD_M))
    mat = np.vstack(rows)
    cols = xs + tc_vars + dv
    if built.tax_vars:
        # Tax paid by the end of month t on a view: sum_p w_p K[p, last year ended by t].
        n_y = space.year_ends.size
        paid_year = space.last_year_paid
        kmat = np.zeros((n_w * n_m, n_p * n_y))
        for w in range(n_w):
            for t_ in range(n_m):
                if paid_year[t_] >= 0:
                    kmat[w * n_m + t_, np.arange(n_p) * n_y + paid_year[t_]] = -space.cash_weights[w]
        mat = np.concatenate([mat, kmat], axis=1)
        cols = cols + built.tax_vars
    if rho:
        mat = np.concatenate([mat, np.eye(n_w * n_m)], axis=1)
        cols = cols + rho
    built.add_rows("cash_floor", COMPONENT, csr_from_matrix(mat), lower, [None] * len(lower), cols,
                   keys=("view", "month"), labels=view_month, unit="USD", per_unit=1.0 / USD_M)
    built.credit_vars = dv


def _top_cash(built: BuiltModel, view_month: dict) -> list:
    """The take-or-pay dispatch's cash per view and month as variables with one defining row each (extensive
    form with take-or-pay sites; none otherwise)."""
    space, m = built.space, built.model
    if not built.take_or_pay:
        return []
    n_w, n_m, _ = space.cf_x.shape
    m.top_cash = pyo.Var(range(n_w * n_m), domain=pyo.Reals)
    tc = [m.top_cash[i] for i in range(n_w * n_m)]
    rr, cc, vv, cols = [], [], [], list(tc)
    r = space.tax_rate
    for tv, blk in zip(built.take_or_pay, space.top_blocks):
        k = blk.energy.shape[1]
        y0, s0 = len(cols), len(cols) + len(tv.y)
        cols += tv.y + tv.s
        for w in range(n_w):
            for p in np.flatnonzero(space.cash_weights[w]):
                wt = space.cash_weights[w, p]
                mm = np.repeat(np.arange(n_m), k)
                rr.append(w * n_m + mm)
                cc.append(y0 + p * n_m * k + np.arange(n_m * k))
                vv.append(-(1 - r) * wt * (blk.value[p] * tv.unit).ravel() / USD_M)
                rr.append(w * n_m + np.arange(n_m))
                cc.append(s0 + p * n_m + np.arange(n_m))
                vv.append(np.full(n_m, (1 - r) * wt * blk.contract_usd_per_mwh * tv.need_unit / USD_M))
    rr.append(np.arange(n_w * n_m))
    cc.append(np.arange(n_w * n_m))
    vv.append(np.ones(n_w * n_m))
    built.add_rows("top_cash_def", COMPONENT,
                   csr_from_coo(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_w * n_m),
                   [0.0] * (n_w * n_m), [0.0] * (n_w * n_m), cols, keys=("view", "month"), labels=view_month,
                   unit="USD", per_unit=1.0 / USD_M)
    return tc


def _rho_upper_bound(space: DecisionSpace) -> np.ndarray:
    """``[W, M]`` USD: no plan's recourse cash through month t exceeds every profitable slot running
    all its units with no shortfall and no tax (bounds the master's ``rho``)."""
    from ..recourse import max_dispatch_income

    return space.cash_weights @ np.cumsum(max_dispatch_income(space), axis=1)
