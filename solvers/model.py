"""The Pyomo model: variables from the decision table, constraint blocks from numpy arrays.

Objective (USD millions, maximized):
    E[NPV] - risk_aversion * CVaR_alpha(loss), loss = -NPV,
with the Rockafellar-Uryasev linearization CVaR = eta + sum_p z_p / ((1 - alpha) P),
z_p >= loss_p - eta, z_p >= 0. Each path's NPV is one linear row over the
first-stage decisions (the compact two-stage form: operations per path are
already inside the coefficients). Large constraint families are Pyomo
``MatrixConstraint`` blocks built from CSR arrays, which bypasses Pyomo's
expression system and keeps the build time small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)
from pyomo.core.base.matrix_constraint import MatrixConstraint
from pyomo.core.expr.numeric_expr import LinearExpression

from minerplan.engine.evaluate import Cancelled

from .decisions import DecisionSpace, retirement_slots

USD_M = 1e6  # the model works in USD millions for numerical scale


@dataclass
class BuiltModel:
    model: pyo.ConcreteModel
    space: DecisionSpace
    row_labels: dict[str, list[tuple]] = field(default_factory=dict)   # block name -> key per row
    risk_aversion: float = 0.0
    cvar_level: float = 0.95
    top_terms: list = field(default_factory=list)   # take-or-pay (y vars, s vars, y value, s value), USD M per share (see top_scales)
    credit_vars: list = field(default_factory=list)  # credit drawn per (view, month), USD M
    tax_vars: list = field(default_factory=list)     # K[p, y], cumulative tax paid, USD M (carry-forward mode)
    #: Per take-or-pay block, the units of its variables: y counts shares of the slot's installed
    #: units (``[month, slot]`` units per 1.0 of y) and s shares of ``need`` MWh (a float).
    top_scales: list = field(default_factory=list)
    #: theta[p], each path's recourse (USD M) in the decomposition's master problem; empty otherwise.
    theta_vars: list = field(default_factory=list)
    #: rho[w, t], the recourse's cash through month t on view w (USD M) in the master's cash floor rows.
    rho_vars: list = field(default_factory=list)


def _csr(dense_rows: list[np.ndarray]):
    """CSR arrays (numpy; MatrixConstraint indexes them like lists) from a list of dense row vectors."""
    if not dense_rows:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    return _csr_from_matrix(np.vstack(dense_rows))


def _csr_from_matrix(mat: np.ndarray):
    """CSR of a 2-D dense numpy matrix, vectorized."""
    mask = mat != 0
    counts = mask.sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    rows, cols = np.nonzero(mask)
    return mat[rows, cols], cols, indptr


def build_model(space: DecisionSpace, risk_aversion: float, cvar_level: float,
                cancel: Callable[[], bool] | None = None, recourse: str = "extensive") -> BuiltModel:
    """The model of ``space``. ``recourse="extensive"`` writes every path's take-or-pay dispatch and
    carry-forward tax as rows; ``"cuts"`` builds the master problem of the decomposition instead
    (:mod:`solvers.benders`): one variable ``theta[p]`` per path (USD millions) stands for that
    path's recourse and is bounded by cuts added while solving."""
    if recourse not in ("extensive", "cuts"):
        raise ValueError(f"recourse must be 'extensive' or 'cuts', got {recourse!r}")
    sc, st, t = space.scenario, space.settings, space.table
    n_var = space.n_var
    m = pyo.ConcreteModel(name="minerplan_capital_allocation")
    m.I = pyo.RangeSet(0, n_var - 1) if n_var else pyo.Set(initialize=[])
    lb, ub, integer = t["lb"].to_numpy(), t["ub"].to_numpy(), t["integer"].to_numpy()

    def bounds(_, j):
        return (float(lb[j]), float(ub[j]))

    def domain(_, j):
        return pyo.NonNegativeIntegers if integer[j] else pyo.NonNegativeReals

    m.x = pyo.Var(m.I, domain=domain, bounds=bounds)
    built = BuiltModel(m, space, risk_aversion=risk_aversion, cvar_level=cvar_level)
    xs = [m.x[j] for j in range(n_var)]

    def add_block(name: str, rows: list[np.ndarray], lower: list, upper: list, labels: list[tuple], cols=None):
        if not rows:
            return
        data, idx, ptr = _csr(rows)
        setattr(m, name, MatrixConstraint(data, idx, ptr, lower, upper, cols if cols is not None else xs))
        built.row_labels[name] = labels

    # Site capacity: installed machines (with PUE) + converted MW <= capacity, each month.
    cap = np.array([s.capacity_mw for s in sc.sites])
    dec = np.flatnonzero(space.decided_sites)
    n_m = sc.horizon_months
    if dec.size:
        mat = space.cap_use[:, dec, :].reshape(n_var, dec.size * n_m).T          # [site-month, var]
        rhs = (cap[dec, None] - space.cap_base[dec]).ravel()
        keep = np.flatnonzero((mat != 0).any(axis=1) | (rhs < -1e-9)) if n_var else np.flatnonzero(rhs < -1e-9)
        if keep.size:
            data, idx, ptr = _csr_from_matrix(mat[keep]) if n_var else ([], [], [0] * (keep.size + 1))
            m.capacity = MatrixConstraint(data, idx, ptr, [None] * keep.size, rhs[keep].tolist(), xs)
            built.row_labels["capacity"] = [(sc.sites[dec[k // n_m]].name, int(k % n_m)) for k in keep]

    conv = (t["kind"] == "convert").to_numpy()
    scale = t["scale_mw"].to_numpy()
    # Convertible MW per site (beyond commitments already in the plan).
    rows, upper, labels = [], [], []
    for s, site in enumerate(sc.sites):
        sel = conv & (t["site_idx"].to_numpy() == s)
        if not sel.any():
            continue
        fixed_mw = sum(c.gross_mw for c in sc.conversion_plan if c.site == site.name)
        rows.append(np.where(sel, scale, 0.0))
        upper.append(float(site.ai.convertible_gross_mw - fixed_mw))
        labels.append((site.name,))
    add_block("convertible", rows, [None] * len(rows), upper, labels)

    # Construction crews: gross MW starting conversion each month, company-wide.
    if st.max_conversion_mw_per_month is not None and conv.any():
        rows, upper, labels = [], [], []
        fixed_by_month = np.zeros(sc.horizon_months)
        from minerplan.scenario.months import month_index
        for c in sc.conversion_plan:
            fixed_by_month[month_index(sc.start_month, c.start_month)] += c.gross_mw
        for mo in range(sc.horizon_months):
            sel = conv & (t["month_idx"].to_numpy() == mo)
            if sel.any() or fixed_by_month[mo] > st.max_conversion_mw_per_month:
                rows.append(np.where(sel, scale, 0.0))
                upper.append(float(st.max_conversion_mw_per_month - fixed_by_month[mo]))
                labels.append((mo,))
        add_block("crews", rows, [None] * len(rows), upper, labels)

    # Capex budget per calendar year (commitments count against it).
    if st.capex_budget_usd_per_year is not None:
        rows, upper, labels = [], [], []
        for k, year in enumerate(space.years):
            rows.append(space.capex_year[:, k] / USD_M if n_var else np.zeros(0))
            upper.append(float((st.capex_budget_usd_per_year - space.capex_base_year[k]) / USD_M))
            labels.append((year,))
        add_block("budget", rows, [None] * len(rows), upper, labels)

    # A fleet row cannot sell or move more units than it has.
    ret = t["kind"].isin(["retire", "move_out"]).to_numpy() if n_var else np.zeros(0, bool)
    rows, upper, labels = [], [], []
    for c in sorted(set(t.loc[ret, "cohort"].tolist())):
        sel = ret & (t["cohort"].to_numpy() == c)
        rows.append(sel.astype(float))
        upper.append(float(sc.fleet[c].count))
        labels.append((c,))
    add_block("retire_limit", rows, [None] * len(rows), upper, labels)

    # A move's two sides are the same units: those leaving equal those arriving.
    if n_var and "link" in t and (t["kind"] == "move_in").any():
        kind, link = t["kind"].to_numpy(), t["link"].to_numpy()
        out_of = {int(link[j]): j for j in np.flatnonzero(kind == "move_out")}
        rows, labels = [], []
        for j in np.flatnonzero(kind == "move_in"):
            row = np.zeros(n_var)
            row[out_of[int(link[j])]] = 1.0
            row[j] = -1.0
            rows.append(row)
            labels.append((int(link[j]),))
        add_block("move_link", rows, [0.0] * len(rows), [0.0] * len(rows), labels)

    def stop_if_asked(what: str) -> None:
        # Building 2,000 paths takes ~1 s: Cancel (or the deadline) is looked at between the blocks.
        if cancel is not None and cancel():
            raise Cancelled(what)

    # Take-or-pay sites: per-path dispatch variables (see decisions.TopBlock).
    n_p = space.prices.shape[0]
    if recourse == "cuts":
        from .recourse import recourse_upper_bound

        ub_theta = recourse_upper_bound(space) / USD_M
        m.theta = pyo.Var(range(n_p), domain=pyo.Reals, bounds=lambda _, p: (None, float(ub_theta[p])))
        built.theta_vars = [m.theta[p] for p in range(n_p)]
        top_terms, tax_terms = [], None
    else:
        stop_if_asked("building the take-or-pay rows")
        top_terms = _add_take_or_pay(m, built, space, xs)   # per block: (y vars, s vars, y value [P, n_y/P], s value)
        stop_if_asked("building the tax rows")
        tax_terms = _add_carryforward_tax(m, built, space, xs, top_terms) if space.carryforward else None
    if st.min_cash_usd is not None:
        stop_if_asked("building the cash floor")
        _add_cash_floor(m, built, space, xs, top_terms, tax_terms, cuts=recourse == "cuts")
    stop_if_asked("building the objective")

    # Objective and risk.
    coef_mean = space.coef_path.mean(axis=0) / USD_M if n_var else np.zeros(0)
    const = float(space.base_npv.mean() / USD_M)
    obj_terms = [coef_mean]
    obj_vars = list(xs)
    for yv, sv, yval, sval in top_terms:
        obj_terms += [yval.ravel() / n_p, np.tile(sval, n_p) / n_p]
        obj_vars += yv + sv
    if tax_terms is not None:
        kv, gk = tax_terms                      # K[p, y] vars (path-major), -g_y per USD M of K
        obj_terms.append(np.tile(gk, n_p) / n_p)
        obj_vars += kv
    if built.theta_vars:
        obj_terms.append(np.full(n_p, 1.0 / n_p))
        obj_vars += built.theta_vars
    if risk_aversion > 0:
        m.P = pyo.RangeSet(0, n_p - 1)
        m.eta = pyo.Var(domain=pyo.Reals)
        m.z = pyo.Var(m.P, domain=pyo.NonNegativeReals)
        m.det = pyo.Var(domain=pyo.Reals)
        # det = sum of the path-independent (conversion) terms, so each path row stays short.
        det_row = np.where(conv, space.coef_path[0] / USD_M, 0.0) if n_var else np.zeros(0)
        data, idx, ptr = _csr([np.concatenate([det_row, [-1.0]])])
        m.det_def = MatrixConstraint(data, idx, ptr, [0.0], [0.0], xs + [m.det])
        built.row_labels["det_def"] = [("det",)]
        # z_p + eta + det + sum_j coef[p, j] x_j + (take-or-pay dispatch of path p) >= -base_p
        pathdep = ~conv
        a = space.coef_path[:, pathdep] / USD_M
        cols = [xs[j] for j in np.flatnonzero(pathdep)] + [m.eta, m.det] + [m.z[p] for p in range(n_p)]
        parts = [(a, np.arange(a.shape[1]))]
        base_col = len(cols)
        for yv, sv, yval, sval in top_terms:
            k_y = yval.shape[1]
            parts.append(("y", base_col, k_y, yval))
            cols += yv
            base_col += k_y * n_p
            parts.append(("s", base_col, sval.size, sval))
            cols += sv
            base_col += sval.size * n_p
        if tax_terms is not None:
            kv, gk = tax_terms
            parts.append(("s", base_col, gk.size, gk))
            cols += kv
            base_col += gk.size * n_p
        if built.theta_vars:
            parts.append(("s", base_col, 1, np.ones(1)))
            cols += built.theta_vars
            base_col += n_p
        data, idx, ptr = _cvar_rows(a, n_p, parts[1:])
        m.cvar = MatrixConstraint(data, idx, ptr, (-space.base_npv / USD_M).tolist(), [None] * n_p, cols)
        built.row_labels["cvar"] = [(p,) for p in range(n_p)]
        weight = risk_aversion / ((1 - cvar_level) * n_p)
        # The risk terms stay in the objective itself (not in objective_def), so a frontier can
        # re-weight them by changing column costs only.
        risk_coefs = [-risk_aversion] + [-weight] * n_p
        risk_vars = [m.eta] + [m.z[p] for p in range(n_p)]
    # The objective's linear part is defined by one CSR row (objective_def: value = c.x), which is
    # far cheaper to build than a Pyomo expression with thousands of terms.
    m.value = pyo.Var(domain=pyo.Reals)
    coefs = np.concatenate([np.asarray(t_, dtype=float).ravel() for t_ in obj_terms] + [[-1.0]])
    data, idx, ptr = _csr_from_matrix(coefs[None, :])
    m.objective_def = MatrixConstraint(data, idx, ptr, [0.0], [0.0], obj_vars + [m.value])
    built.row_labels["objective_def"] = [("objective",)]
    extra_c = risk_coefs if risk_aversion > 0 else []
    extra_v = risk_vars if risk_aversion > 0 else []
    m.obj = pyo.Objective(expr=LinearExpression(constant=const, linear_coefs=[1.0] + extra_c,
                                                linear_vars=[m.value] + extra_v), sense=pyo.maximize)
    built.top_terms = top_terms
    return built


def _cvar_rows(a: np.ndarray, n_p: int, extra: list):
    """CSR of the CVaR rows: [a | eta | det | z (identity)] then per take-or-pay block its y and s of path p."""
    n_pd = a.shape[1]
    mask = a != 0
    r, c = np.nonzero(mask)
    blocks = [(r, c, a[r, c])]
    p = np.arange(n_p)
    blocks.append((p, np.full(n_p, n_pd), np.ones(n_p)))
    blocks.append((p, np.full(n_p, n_pd + 1), np.ones(n_p)))
    blocks.append((p, n_pd + 2 + p, np.ones(n_p)))
    for kind, start, width, val in extra:
        if kind == "y":          # val [P, width]: path p's y columns are start + p*width + k
            rr = np.repeat(p, width)
            cc = start + (p[:, None] * width + np.arange(width)[None, :]).ravel()
            blocks.append((rr, cc, val.ravel()))
        else:                    # val [width]: the same coefficients for each path's s columns
            rr = np.repeat(p, width)
            cc = start + (p[:, None] * width + np.arange(width)[None, :]).ravel()
            blocks.append((rr, cc, np.tile(val, n_p)))
    rr = np.concatenate([b[0] for b in blocks])
    cc = np.concatenate([b[1] for b in blocks])
    vv = np.concatenate([b[2] for b in blocks])
    keep = vv != 0
    rr, cc, vv = rr[keep], cc[keep], vv[keep]
    order = np.lexsort((cc, rr))
    rr, cc, vv = rr[order], cc[order], vv[order]
    counts = np.bincount(rr, minlength=n_p)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    return vv, cc, ptr


def _add_take_or_pay(m, built: BuiltModel, space: DecisionSpace, xs: list) -> list:
    """Variables and rows for each take-or-pay site; returns objective/CVaR terms in USD millions.

    In units (U[m, k] installed units of the slot, N MWh the largest minimum):
    U y[p, m, k] + (units of the slot's fleet row retired by month m) <= U (= when curtailment
    is off); N s[p, m] + sum_k energy[m, k] U y[p, m, k] + AI draw(x) >= minimum. The variables
    are shares (y of the installed units, s of N), not units and MWh, and each row is divided by
    its scale: one unit's monthly margin on one path is a few cents in USD millions / paths, below
    HiGHS's optimality tolerance (1e-7), while a whole slot's is not. (The plan's value is computed
    from the exact dispatch afterwards, :func:`solvers.optimize.take_or_pay_dispatch`.)
    """
    terms = []
    if not space.top_blocks:
        return terms
    n_p = space.prices.shape[0]
    df, r = space.discount, space.tax_rate
    m.top = pyo.Block(range(len(space.top_blocks)))
    for b, blk in enumerate(space.top_blocks):
        n_m, k = blk.energy.shape
        sub = m.top[b]
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
        built.top_scales.append((unit, need_unit))
        upper = np.tile((ub / unit).ravel(), n_p)
        q_r, q_c, q_v = [], [], []                                                 # q[m, k] = sum_j coef x_j
        for j, month_j, slots in retirement_slots(space, blk):
            mm = np.arange(month_j, n_m)
            q_r.append((mm[:, None] * k + slots[None, :]).ravel())
            q_c.append(np.full(mm.size * slots.size, j))
            q_v.append((1.0 / unit[mm][:, slots]).ravel())
        rows_r, rows_c, rows_v = [np.arange(n_y)], [np.arange(n_y)], [np.ones(n_y)]
        cols = yv
        if q_r:
            n_q = n_m * k
            sub.q = pyo.Var(range(n_q), domain=pyo.NonNegativeReals)
            qv = [sub.q[i] for i in range(n_q)]
            # definition rows: q[i] - sum_j coef x_j = 0; columns [q..., x...]
            qr = np.concatenate(q_r)
            dr = np.concatenate([np.arange(n_q), qr])
            dc = np.concatenate([np.arange(n_q), n_q + np.concatenate(q_c)])
            dv = np.concatenate([np.ones(n_q), -np.concatenate(q_v)])
            data, idx, ptr = _coo_to_csr(dr, dc, dv, n_q)
            setattr(m, f"top_retired_{b}", MatrixConstraint(data, idx, ptr, [0.0] * n_q, [0.0] * n_q, qv + xs))
            built.row_labels[f"top_retired_{b}"] = [(blk.site,)] * n_q
            used = np.unique(qr)                                                   # (m, k) with a retirement
            rr = (np.arange(n_p)[:, None] * (n_m * k) + used[None, :]).ravel()
            rows_r.append(rr)
            rows_c.append(n_y + np.tile(used, n_p))
            rows_v.append(np.ones(rr.size))
            cols = yv + qv
        data, idx, ptr = _coo_to_csr(np.concatenate(rows_r), np.concatenate(rows_c), np.concatenate(rows_v), n_y)
        lower = upper.tolist() if not blk.can_curtail else [None] * n_y
        setattr(m, f"top_units_{b}", MatrixConstraint(data, idx, ptr, lower, upper.tolist(), cols))
        built.row_labels[f"top_units_{b}"] = [(blk.site,)] * n_y
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
        data, idx, ptr = _coo_to_csr(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_s_rows)
        setattr(m, f"top_shortfall_{b}", MatrixConstraint(data, idx, ptr, np.tile(blk.need_mwh / need_unit, n_p).tolist(),
                                                           [None] * n_s_rows, sv + yv + xs))
        built.row_labels[f"top_shortfall_{b}"] = [(blk.site,)] * n_s_rows
        yval = (1 - r) * blk.value * unit[None] * df[None, :, None] / USD_M        # [P, M, K] per share
        sval = -(1 - r) * blk.contract_usd_per_mwh * need_unit * df / USD_M        # [M] per share
        terms.append((yv, sv, yval.reshape(n_p, n_m * k), sval))
    return terms


def _add_carryforward_tax(m, built: BuiltModel, space: DecisionSpace, xs: list, top_terms: list):
    """Exact calendar-year tax with loss carry-forward, per path (USD millions).

    K[p, y] is the cumulative tax paid through year y: K >= rate * cumulative taxable income,
    K[p, y] >= K[p, y-1], K >= 0. Tax paid in year y is K[p, y] - K[p, y-1], at that year's
    last month; in the NPV that is -sum_y g_y K[p, y] with g_y = df(end y) - df(end y+1) > 0,
    so the optimum sets K to rate * max(0, running max of cumulative income): the engine's rule.
    Returns (K vars path-major, the NPV coefficient of each K[., y]).
    """
    n_p, n_y, n_var = space.taxable_x.shape
    rate = space.tax_rate_statutory
    ym = space.year_of_month
    n_m = ym.size
    g = space.tax_npv_weights
    m.K = pyo.Var(range(n_p * n_y), domain=pyo.NonNegativeReals)
    kv = [m.K[i] for i in range(n_p * n_y)]
    t = space.table
    conv = (t["kind"] == "convert").to_numpy() if n_var else np.zeros(0, bool)
    cum_x = np.cumsum(space.taxable_x, axis=1) / USD_M                                # [P, Y, n_var]
    cum_base = np.cumsum(space.taxable_base, axis=1) / USD_M                         # [P, Y]
    # Path-independent (conversion) taxable income through each year: one defining row per year.
    m.tax_det = pyo.Var(range(n_y), domain=pyo.Reals)
    dvars = [m.tax_det[y] for y in range(n_y)]
    det = np.where(conv[None, :], cum_x[0], 0.0)                                     # [Y, n_var]
    data, idx, ptr = _csr_from_matrix(np.concatenate([det, -np.eye(n_y)], axis=1))
    m.tax_det_def = MatrixConstraint(data, idx, ptr, [0.0] * n_y, [0.0] * n_y, xs + dvars)
    built.row_labels["tax_det_def"] = [(y,) for y in range(n_y)]
    # Take-or-pay dispatch income per path and year, through defining rows.
    tt_vars = []
    if top_terms:
        m.tax_top = pyo.Var(range(n_p * n_y), domain=pyo.Reals)
        tt_vars = [m.tax_top[i] for i in range(n_p * n_y)]
        rr, cc, vv, cols = [np.arange(n_p * n_y)], [np.arange(n_p * n_y)], [np.full(n_p * n_y, -1.0)], list(tt_vars)
        for (yv, sv, _, _), blk, (unit, need_unit) in zip(top_terms, space.top_blocks, built.top_scales):
            k = blk.energy.shape[1]
            y0 = len(cols)
            cols += yv
            s0 = len(cols)
            cols += sv
            p_idx = np.repeat(np.arange(n_p), n_m * k)
            m_idx = np.tile(np.repeat(np.arange(n_m), k), n_p)
            rr.append(p_idx * n_y + ym[m_idx])
            cc.append(y0 + np.arange(n_p * n_m * k))
            vv.append((blk.value * unit[None]).ravel() / USD_M)
            p2 = np.repeat(np.arange(n_p), n_m)
            m2 = np.tile(np.arange(n_m), n_p)
            rr.append(p2 * n_y + ym[m2])
            cc.append(s0 + np.arange(n_p * n_m))
            vv.append(np.full(n_p * n_m, -blk.contract_usd_per_mwh * need_unit / USD_M))
        data, idx, ptr = _coo_to_csr(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_p * n_y)
        m.tax_top_def = MatrixConstraint(data, idx, ptr, [0.0] * (n_p * n_y), [0.0] * (n_p * n_y), cols)
        built.row_labels["tax_top_def"] = [(p, y) for p in range(n_p) for y in range(n_y)]
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
    data, idx, ptr = _coo_to_csr(np.concatenate(rows_r), np.concatenate(rows_c), np.concatenate(rows_v), n_p * n_y)
    m.tax_due = MatrixConstraint(data, idx, ptr, (rate * cum_base).ravel().tolist(), [None] * (n_p * n_y), cols)
    built.row_labels["tax_due"] = [(p, y) for p in range(n_p) for y in range(n_y)]
    # K[p, y] >= K[p, y-1]
    if n_y > 1:
        r_ = np.arange(n_p * (n_y - 1))
        p_ = r_ // (n_y - 1)
        y_ = r_ % (n_y - 1) + 1
        data, idx, ptr = _coo_to_csr(np.concatenate([r_, r_]), np.concatenate([p_ * n_y + y_, p_ * n_y + y_ - 1]),
                                     np.concatenate([np.ones(r_.size), -np.ones(r_.size)]), r_.size)
        m.tax_monotone = MatrixConstraint(data, idx, ptr, [0.0] * r_.size, [None] * r_.size, kv)
        built.row_labels["tax_monotone"] = [(int(a_), int(b_)) for a_, b_ in zip(p_, y_)]
    built.tax_vars = kv
    return kv, -g


def _add_cash_floor(m, built: BuiltModel, space: DecisionSpace, xs: list, top_terms: list, tax_terms=None,
                   cuts: bool = False) -> None:
    """Cash balance >= floor in every month, on each liquidity view, with an optional credit line.

    cash_t = start + sum_{tau<=t} CF_tau(x) - monthly interest on credit drawn before t; the row is
    cash_t + D_t >= floor with 0 <= D_t <= credit line. Interest is financing: it reduces cash but
    not the (unlevered) NPV. USD millions. With ``cuts`` (the decomposition's master) the recourse's
    cash through month t (take-or-pay dispatch less carry-forward tax, :func:`solvers.recourse.cash_recourse`)
    is one variable ``rho[w, t]`` per row, bounded by cuts while solving.
    """
    st = space.settings
    n_w, n_m, n_var = space.cf_x.shape
    n_p = space.prices.shape[0]
    i_m = (1 + st.credit_line_rate_pct / 100.0) ** (1 / 12) - 1
    m.credit = pyo.Var(range(n_w * n_m), domain=pyo.NonNegativeReals, bounds=(0.0, st.credit_line_usd / USD_M))
    dv = [m.credit[i] for i in range(n_w * n_m)]
    # Take-or-pay dispatch cash per view and month, through one defining row each.
    tc_vars = []
    if top_terms:
        m.top_cash = pyo.Var(range(n_w * n_m), domain=pyo.Reals)
        tc = [m.top_cash[i] for i in range(n_w * n_m)]
        rr, cc, vv, cols = [], [], [], list(tc)
        r = space.tax_rate
        for (yv, sv, _, _), blk, (unit, need_unit) in zip(top_terms, space.top_blocks, built.top_scales):
            k = blk.energy.shape[1]
            y0, s0 = len(cols), len(cols) + len(yv)
            cols += yv + sv
            for w in range(n_w):
                for p in np.flatnonzero(space.cash_weights[w]):
                    wt = space.cash_weights[w, p]
                    mm = np.repeat(np.arange(n_m), k)
                    rr.append(w * n_m + mm)
                    cc.append(y0 + p * n_m * k + np.arange(n_m * k))
                    vv.append(-(1 - r) * wt * (blk.value[p] * unit).ravel() / USD_M)
                    rr.append(w * n_m + np.arange(n_m))
                    cc.append(s0 + p * n_m + np.arange(n_m))
                    vv.append(np.full(n_m, (1 - r) * wt * blk.contract_usd_per_mwh * need_unit / USD_M))
        rr.append(np.arange(n_w * n_m))
        cc.append(np.arange(n_w * n_m))
        vv.append(np.ones(n_w * n_m))
        data, idx, ptr = _coo_to_csr(np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), n_w * n_m)
        m.top_cash_def = MatrixConstraint(data, idx, ptr, [0.0] * (n_w * n_m), [0.0] * (n_w * n_m), cols)
        built.row_labels["top_cash_def"] = [(w, t) for w in range(n_w) for t in range(n_m)]
        tc_vars = tc
    rho = []
    if cuts:
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
    if tax_terms is not None:
        # Tax paid by the end of month t on a view: sum_p w_p K[p, last year ended by t].
        kv, _ = tax_terms
        n_y = space.year_ends.size
        paid_year = space.last_year_paid
        kmat = np.zeros((n_w * n_m, n_p * n_y))
        for w in range(n_w):
            for t_ in range(n_m):
                if paid_year[t_] >= 0:
                    kmat[w * n_m + t_, np.arange(n_p) * n_y + paid_year[t_]] = -space.cash_weights[w]
        mat = np.concatenate([mat, kmat], axis=1)
        cols = cols + kv
    if rho:
        mat = np.concatenate([mat, np.eye(n_w * n_m)], axis=1)
        cols = cols + rho
    data, idx, ptr = _csr_from_matrix(mat)
    m.cash_floor = MatrixConstraint(data, idx, ptr, lower, [None] * len(lower), cols)
    built.row_labels["cash_floor"] = [(space.cash_views[w], t) for w in range(n_w) for t in range(n_m)]
    built.credit_vars = dv


def _rho_upper_bound(space: DecisionSpace) -> np.ndarray:
    """``[W, M]`` USD: no plan's recourse cash through month t exceeds every profitable slot running
    all its units with no shortfall and no tax (bounds the master's ``rho``)."""
    from .recourse import max_dispatch_income

    return space.cash_weights @ np.cumsum(max_dispatch_income(space), axis=1)


def _coo_to_csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int):
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return vals, cols, ptr
