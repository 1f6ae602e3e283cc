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

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)
from pyomo.core.base.matrix_constraint import MatrixConstraint
from pyomo.core.expr.numeric_expr import LinearExpression

from .decisions import DecisionSpace

USD_M = 1e6  # the model works in USD millions for numerical scale


@dataclass
class BuiltModel:
    model: pyo.ConcreteModel
    space: DecisionSpace
    row_labels: dict[str, list[tuple]] = field(default_factory=dict)   # block name -> key per row
    risk_aversion: float = 0.0
    cvar_level: float = 0.95


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


def build_model(space: DecisionSpace, risk_aversion: float, cvar_level: float) -> BuiltModel:
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
    converted_fixed = space.cap_base  # placeholder to keep names short below
    for s, site in enumerate(sc.sites):
        sel = conv & (t["site_idx"].to_numpy() == s)
        if not sel.any():
            continue
        fixed_mw = sum(c.gross_mw for c in sc.conversion_plan if c.site == site.name)
        rows.append(np.where(sel, scale, 0.0))
        upper.append(float(site.ai.convertible_gross_mw - fixed_mw))
        labels.append((site.name,))
    add_block("convertible", rows, [None] * len(rows), upper, labels)
    del converted_fixed

    # Construction crews: gross MW starting conversion each month, company-wide.
    if st.max_conversion_mw_per_month is not None and conv.any():
        rows, upper, labels = [], [], []
        fixed_by_month = np.zeros(sc.horizon_months)
        from minerplan.months import month_index
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

    # A fleet row cannot sell more units than it has.
    ret = (t["kind"] == "retire").to_numpy()
    rows, upper, labels = [], [], []
    for c in sorted(set(t.loc[ret, "cohort"].tolist())):
        sel = ret & (t["cohort"].to_numpy() == c)
        rows.append(sel.astype(float))
        upper.append(float(sc.fleet[c].count))
        labels.append((c,))
    add_block("retire_limit", rows, [None] * len(rows), upper, labels)

    # Objective and risk.
    coef_mean = space.coef_path.mean(axis=0) / USD_M if n_var else np.zeros(0)
    const = float(space.base_npv.mean() / USD_M)
    obj_terms = list(coef_mean)
    obj_vars = list(xs)
    if risk_aversion > 0:
        n_p = space.prices.shape[0]
        m.P = pyo.RangeSet(0, n_p - 1)
        m.eta = pyo.Var(domain=pyo.Reals)
        m.z = pyo.Var(m.P, domain=pyo.NonNegativeReals)
        m.det = pyo.Var(domain=pyo.Reals)
        # det = sum of the path-independent (conversion) terms, so each path row stays short.
        det_row = np.where(conv, space.coef_path[0] / USD_M, 0.0) if n_var else np.zeros(0)
        data, idx, ptr = _csr([np.concatenate([det_row, [-1.0]])])
        m.det_def = MatrixConstraint(data, idx, ptr, [0.0], [0.0], xs + [m.det])
        built.row_labels["det_def"] = [("det",)]
        # z_p + eta + det + sum_j coef[p, j] x_j >= -base_p   (z_p >= loss_p - eta)
        pathdep = ~conv
        a = space.coef_path[:, pathdep] / USD_M
        n_pd = int(pathdep.sum())
        block = np.concatenate([a, np.ones((n_p, 1)), np.ones((n_p, 1)), np.eye(n_p)], axis=1) if n_p <= 2000 else None
        cols = [xs[j] for j in np.flatnonzero(pathdep)] + [m.eta, m.det] + [m.z[p] for p in range(n_p)]
        if block is not None:
            data, idx, ptr = _csr_from_matrix(block)
        else:  # avoid an n_p x n_p identity for very many paths
            data, idx, ptr = _cvar_csr(a, n_pd, n_p)
        m.cvar = MatrixConstraint(np.asarray(data), np.asarray(idx), np.asarray(ptr),
                                  (-space.base_npv / USD_M).tolist(), [None] * n_p, cols)
        built.row_labels["cvar"] = [(p,) for p in range(n_p)]
        weight = risk_aversion / ((1 - cvar_level) * n_p)
        obj_terms += [-risk_aversion] + [-weight] * n_p
        obj_vars += [m.eta] + [m.z[p] for p in range(n_p)]
    # The objective's linear part is defined by one CSR row (objective_def: value = c.x), which is
    # far cheaper to build than a Pyomo expression with thousands of terms.
    m.value = pyo.Var(domain=pyo.Reals)
    data, idx, ptr = _csr_from_matrix(np.concatenate([np.asarray(obj_terms, dtype=float), [-1.0]])[None, :])
    m.objective_def = MatrixConstraint(data, idx, ptr, [0.0], [0.0], obj_vars + [m.value])
    built.row_labels["objective_def"] = [("objective",)]
    m.obj = pyo.Objective(expr=LinearExpression(constant=const, linear_coefs=[1.0], linear_vars=[m.value]),
                          sense=pyo.maximize)
    return built


def _cvar_csr(a: np.ndarray, n_pd: int, n_p: int):
    data, idx, ptr = [], [], [0]
    for p in range(n_p):
        nz = np.flatnonzero(a[p])
        data.extend(a[p, nz].tolist() + [1.0, 1.0, 1.0])
        idx.extend(nz.tolist() + [n_pd, n_pd + 1, n_pd + 2 + p])
        ptr.append(len(data))
    return data, idx, ptr
