"""Take-or-pay sites in the extensive form: each path's dispatch as variables and rows (USD millions).

In units (U[m, k] installed units of the slot, N MWh the largest minimum):
U y[p, m, k] + (units of the slot's fleet row retired by month m) <= U (= when curtailment is off);
N s[p, m] + sum_k energy[m, k] U y[p, m, k] + AI draw(x) >= minimum. The variables are shares (y of
the installed units, s of N), not units and MWh, and each row is divided by its scale: one unit's
monthly margin on one path is a few cents in USD millions / paths, below HiGHS's optimality
tolerance (1e-7), while a whole slot's is not. (The plan's value is computed from the exact
dispatch afterwards, :func:`solvers.valuation.take_or_pay_dispatch`.)

Rows per block b (a take-or-pay site): ``top_units_b`` (site, path, month, slot; duals USD per
machine), ``top_retired_b`` (site, month, slot: the share of the slot's units retired by a month,
the same on every path; USD per machine) and ``top_shortfall_b`` (site, path, month; USD per MWh).
The dispatch's NPV enters each path's NPV (:class:`~solvers.model.parts.PathTerm`). The
decomposition's master has none of these: :mod:`solvers.recourse` values the dispatch in closed form.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)

from ..decisions.space import TopBlock, retirement_slots
from .parts import USD_M, BuiltModel, PathTerm, TopVars
from .sparse import csr_from_coo

COMPONENT = "take-or-pay"


def add_take_or_pay(built: BuiltModel) -> None:
    """Each take-or-pay block's variables, rows and NPV terms (extensive form only)."""
    space = built.space
    if built.recourse != "extensive":
        return
    built.stop_if_asked("building the take-or-pay rows")
    if not space.top_blocks:
        return
    m = built.model
    m.top = pyo.Block(range(len(space.top_blocks)))
    for b, blk in enumerate(space.top_blocks):
        tv = _add_block(built, b, blk)
        built.take_or_pay.append(tv)
        built.path_terms += [PathTerm(tv.y, tv.y_value), PathTerm(tv.s, tv.s_value)]


def _add_block(built: BuiltModel, b: int, blk: TopBlock) -> TopVars:
    space, xs = built.space, built.xs
    n_p = built.n_paths
    df, r = space.discount, space.tax_rate
    site = space.site_names[blk.site]
    n_m, k = blk.energy.shape
    sub = built.model.top[b]
    sub.y = pyo.Var(range(n_p * n_m * k), domain=pyo.NonNegativeReals)
    sub.s = pyo.Var(range(n_p * n_m), domain=pyo.NonNegativeReals)
    yv = [sub.y[i] for i in range(n_p * n_m * k)]
    sv = [sub.s[i] for i in range(n_p * n_m)]
    # units rows: one per (p, m, k): y[p, m, k] + q[m, k] <= 1 (= when curtailment is off), where
    # q[m, k] is the share of the slot's units retired by month m, the same on every path. q is
    # one variable per (m, k), defined once from the retirement decisions (``top_retired`` rows):
    # writing those decisions into every path's row instead repeats ~10 terms per row, which at
    # 500 paths was 750k of the model's 1.3M nonzeros.
    n_y = n_p * n_m * k
    ub = blk.units_base[:, blk.slot_cohort].astype(float)                      # [M, K]
    unit = np.where(ub > 0, ub, 1.0)                                           # units per 1.0 of y
    need_unit = max(float(np.max(np.abs(blk.need_mwh), initial=0.0)), 1.0)    # MWh per 1.0 of s
    upper = np.tile((ub / unit).ravel(), n_p)
    q_r, q_c, q_v = [], [], []                                                 # q[m, k] = sum_j coef x_j
    for j, month_j, slots in retirement_slots(space, blk):
        mm = np.arange(month_j, n_m)
        q_r.append((mm[:, None] * k + slots[None, :]).ravel())
        q_c.append(np.full(mm.size * slots.size, j))
        q_v.append((1.0 / unit[mm][:, slots]).ravel())
    rows_r, rows_c, rows_v = [np.arange(n_y)], [np.arange(n_y)], [np.ones(n_y)]
    cols = yv
    per_machine = 1.0 / unit.ravel()                                           # shares per machine, [M * K]
    if q_r:
        n_q = n_m * k
        sub.q = pyo.Var(range(n_q), domain=pyo.NonNegativeReals)
        qv = [sub.q[i] for i in range(n_q)]
        # definition rows: q[i] - sum_j coef x_j = 0; columns [q..., x...]
        qr = np.concatenate(q_r)
        dr = np.concatenate([np.arange(n_q), qr])
        dc = np.concatenate([np.arange(n_q), n_q + np.concatenate(q_c)])
        dv = np.concatenate([np.ones(n_q), -np.concatenate(q_v)])
        i = np.arange(n_q)
        built.add_rows(f"top_retired_{b}", COMPONENT, csr_from_coo(dr, dc, dv, n_q), [0.0] * n_q, [0.0] * n_q, qv + xs,
                       keys=("site", "month", "slot"),
                       labels={"site": [site] * n_q, "month": i // k, "slot": i % k},
                       unit="machine", per_unit=per_machine)
        used = np.unique(qr)                                                   # (m, k) with a retirement
        rr = (np.arange(n_p)[:, None] * (n_m * k) + used[None, :]).ravel()
        rows_r.append(rr)
        rows_c.append(n_y + np.tile(used, n_p))
        rows_v.append(np.ones(rr.size))
        cols = yv + qv
    lower = upper.tolist() if not blk.can_curtail else [None] * n_y
    i = np.arange(n_y)
    built.add_rows(f"top_units_{b}", COMPONENT,
                   csr_from_coo(np.concatenate(rows_r), np.concatenate(rows_c), np.concatenate(rows_v), n_y),
                   lower, upper.tolist(), cols, keys=("site", "path", "month", "slot"),
                   labels={"site": [site] * n_y, "path": i // (n_m * k), "month": (i // k) % n_m, "slot": i % k},
                   unit="machine", per_unit=np.tile(per_machine, n_p))
    # shortfall rows: s[p, m] + sum_k e[m, k] y[p, m, k] + sum_j ai[j, m] x_j >= need[m], in y and s
    # shares and divided by N: s' + sum_k (e U / N) y' + sum_j (ai / N) x_j >= need / N
    n_s_rows = n_p * n_m
    rr = [np.arange(n_s_rows)]
    cc = [np.arange(n_s_rows)]
    vv = [np.ones(n_s_rows)]
    pm = np.arange(n_s_rows)
    rr.append(np.repeat(pm, k))
    cc.append(n_s_rows + np.arange(n_y))
    vv.append(np.tile((blk.energy * unit).ravel() / need_unit, n_p))
    ai_nz = np.nonzero(blk.ai_energy.T)                                        # (month, var)
    if ai_nz[0].size:
        mm_, jj = ai_nz
        rr.append((np.arange(n_p)[:, None] * n_m + mm_[None, :]).ravel())
        cc.append(np.tile(n_s_rows + n_y + jj, n_p))
        vv.append(np.tile(blk.ai_energy.T[mm_, jj] / need_unit, n_p))
    built.add_rows(f"top_shortfall_{b}", COMPONENT,
                   csr_from_coo(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_s_rows),
                   np.tile(blk.need_mwh / need_unit, n_p).tolist(), [None] * n_s_rows, sv + yv + xs,
                   keys=("site", "path", "month"),
                   labels={"site": [site] * n_s_rows, "path": pm // n_m, "month": pm % n_m},
                   unit="MWh", per_unit=1.0 / need_unit)
    yval = (1 - r) * blk.value * unit[None] * df[None, :, None] / USD_M        # [P, M, K] per share
    sval = -(1 - r) * blk.contract_usd_per_mwh * need_unit * df / USD_M        # [M] per share
    return TopVars(yv, sv, yval.reshape(n_p, n_m * k), sval, unit, need_unit)
