"""Carry-forward tax in the extensive form: the exact calendar-year tax with losses carried forward, per path.

``K[p, y]`` (USD millions) is the cumulative tax paid through year y: K >= rate * cumulative taxable
income, K[p, y] >= K[p, y-1], K >= 0. Tax paid in year y is K[p, y] - K[p, y-1], at that year's last
month; in the NPV that is -sum_y g_y K[p, y] with g_y = df(end y) - df(end y+1) > 0, so the optimum
sets K to rate * max(0, running max of cumulative income): the engine's rule.

Rows, all in USD millions (duals: USD per USD): ``tax_due`` (path, year), ``tax_monotone`` (path,
year), and the defining rows ``tax_det_def`` (year: the path-independent conversions' taxable income)
and ``tax_top_def`` (path, year: the take-or-pay dispatch's income). The decomposition's master has
none of these: :mod:`solvers.recourse` computes the tax in closed form.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)

from .parts import USD_M, BuiltModel, PathTerm
from .sparse import csr_from_coo, csr_from_matrix

COMPONENT = "carry-forward tax"


def add_carryforward_tax(built: BuiltModel) -> None:
    """K[p, y], its rows, and its NPV term -g_y K[p, y] (extensive form, carry-forward mode only)."""
    space = built.space
    if built.recourse != "extensive":
        return
    built.stop_if_asked("building the tax rows")
    if not space.carryforward:
        return
    m, xs = built.model, built.xs
    n_p, n_y, n_var = space.taxable_x.shape
    rate = space.tax_rate_statutory
    ym = space.year_of_month
    n_m = ym.size
    years = np.array(space.years)
    m.K = pyo.Var(range(n_p * n_y), domain=pyo.NonNegativeReals)
    kv = [m.K[i] for i in range(n_p * n_y)]
    t = space.table
    conv = (t["kind"] == "convert").to_numpy() if n_var else np.zeros(0, bool)
    cum_x = np.cumsum(space.taxable_x, axis=1) / USD_M                                # [P, Y, n_var]
    cum_base = np.cumsum(space.taxable_base, axis=1) / USD_M                         # [P, Y]
    path_year = {"path": np.repeat(np.arange(n_p), n_y), "year": np.tile(years, n_p)}
    # Path-independent (conversion) taxable income through each year: one defining row per year.
    m.tax_det = pyo.Var(range(n_y), domain=pyo.Reals)
    dvars = [m.tax_det[y] for y in range(n_y)]
    det = np.where(conv[None, :], cum_x[0], 0.0)                                     # [Y, n_var]
    built.add_rows("tax_det_def", COMPONENT, csr_from_matrix(np.concatenate([det, -np.eye(n_y)], axis=1)),
                   [0.0] * n_y, [0.0] * n_y, xs + dvars, keys=("year",), labels={"year": years},
                   unit="USD", per_unit=1.0 / USD_M)
    # Take-or-pay dispatch income per path and year, through defining rows.
    tt_vars = []
    if built.take_or_pay:
        m.tax_top = pyo.Var(range(n_p * n_y), domain=pyo.Reals)
        tt_vars = [m.tax_top[i] for i in range(n_p * n_y)]
        rr, cc, vv, cols = [np.arange(n_p * n_y)], [np.arange(n_p * n_y)], [np.full(n_p * n_y, -1.0)], list(tt_vars)
        for tv, blk in zip(built.take_or_pay, space.top_blocks):
            k = blk.energy.shape[1]
            y0 = len(cols)
            cols += tv.y
            s0 = len(cols)
            cols += tv.s
            p_idx = np.repeat(np.arange(n_p), n_m * k)
            m_idx = np.tile(np.repeat(np.arange(n_m), k), n_p)
            rr.append(p_idx * n_y + ym[m_idx])
            cc.append(y0 + np.arange(n_p * n_m * k))
            vv.append((blk.value * tv.unit[None]).ravel() / USD_M)
            p2 = np.repeat(np.arange(n_p), n_m)
            m2 = np.tile(np.arange(n_m), n_p)
            rr.append(p2 * n_y + ym[m2])
            cc.append(s0 + np.arange(n_p * n_m))
            vv.append(np.full(n_p * n_m, -blk.contract_usd_per_mwh * tv.need_unit / USD_M))
        built.add_rows("tax_top_def", COMPONENT,
                       csr_from_coo(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_p * n_y),
                       [0.0] * (n_p * n_y), [0.0] * (n_p * n_y), cols, keys=("path", "year"), labels=path_year,
                       unit="USD", per_unit=1.0 / USD_M)
    # K[p, y] - rate * (sum_j cum_x[p, y, j] x_j + det_y + sum_{y'<=y} top[p, y']) >= rate * cum_base[p, y]
    pd_cols = np.flatnonzero(~conv)
    a = cum_x[:, :, pd_cols]                                                          # [P, Y, n_pd]
    n_pd = pd_cols.size
    rows_r, rows_c, rows_v = [], [], []
    pp, yy = np.meshgrid(np.arange(n_p), np.arange(n_y), indexing="ij")
    row = (pp * n_y + yy).ravel()
    nz = np.nonzero(a)
    rows_r.append(nz[0] * n_y + nz[1])
    rows_c.append(nz[2])
    rows_v.append(-rate * a[nz])
    rows_r.append(row)
    rows_c.append(n_pd + row)                                                         # K[p, y]
    rows_v.append(np.ones(row.size))
    rows_r.append(row)
    rows_c.append(n_pd + n_p * n_y + yy.ravel())                                      # det_y
    rows_v.append(np.full(row.size, -rate))
    cols = [xs[j] for j in pd_cols] + kv + dvars
    if tt_vars:
        for y2 in range(n_y):                                                         # top income of years <= y
            sel = yy.ravel() >= y2
            rows_r.append(row[sel])
            rows_c.append(n_pd + n_p * n_y + n_y + (pp.ravel()[sel] * n_y + y2))
            rows_v.append(np.full(int(sel.sum()), -rate))
        cols += tt_vars
    built.add_rows("tax_due", COMPONENT,
                   csr_from_coo(np.concatenate(rows_r), np.concatenate(rows_c), np.concatenate(rows_v), n_p * n_y),
                   (rate * cum_base).ravel().tolist(), [None] * (n_p * n_y), cols, keys=("path", "year"),
                   labels=path_year, unit="USD", per_unit=1.0 / USD_M)
    # K[p, y] >= K[p, y-1]
    if n_y > 1:
        r_ = np.arange(n_p * (n_y - 1))
        p_ = r_ // (n_y - 1)
        y_ = r_ % (n_y - 1) + 1
        csr = csr_from_coo(np.concatenate([r_, r_]), np.concatenate([p_ * n_y + y_, p_ * n_y + y_ - 1]),
                           np.concatenate([np.ones(r_.size), -np.ones(r_.size)]), r_.size)
        built.add_rows("tax_monotone", COMPONENT, csr, [0.0] * r_.size, [None] * r_.size, kv, keys=("path", "year"),
                       labels={"path": p_, "year": years[y_]}, unit="USD", per_unit=1.0 / USD_M)
    built.tax_vars = kv
    built.path_terms.append(PathTerm(kv, -space.tax_npv_weights))
