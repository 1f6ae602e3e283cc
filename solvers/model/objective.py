"""The objective and the risk: E[NPV] - risk_aversion * CVaR_alpha(loss), loss = -NPV (USD millions, maximized).

Each path's NPV is one linear row over the first-stage decisions (the compact two-stage form:
operations per path are already inside the coefficients) plus the path terms other families add
(:class:`~solvers.model.parts.PathTerm`: the take-or-pay dispatch, the carry-forward tax, the
decomposition's recourse ``theta[p]``). CVaR uses the Rockafellar-Uryasev linearization
CVaR = eta + sum_p z_p / ((1 - alpha) P), z_p >= loss_p - eta, z_p >= 0.

Rows, in USD millions (duals: USD per USD): ``objective_def`` (the objective's linear part, defined
by one row so a Pyomo expression with thousands of terms is never built), and with a risk weight
``cvar`` (path: z_p + eta + NPV_p >= 0) and ``det_def`` (the path-independent conversion terms,
summed once so each path's row stays short). The risk terms stay in the objective itself, so a
frontier re-weights them by changing column costs only.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)
from pyomo.core.expr.numeric_expr import LinearExpression

from .parts import USD_M, BuiltModel, PathTerm
from .sparse import csr_from_matrix, csr_from_rows

COMPONENT = "objective"


def add_recourse_bound(built: BuiltModel) -> None:
    """The decomposition's master: ``theta[p]``, each path's recourse (USD M), bounded above by the most any
    plan's recourse can be and, while solving, by cuts (:mod:`solvers.benders`)."""
    if built.recourse != "cuts":
        return
    from ..recourse import recourse_upper_bound

    n_p = built.n_paths
    ub_theta = recourse_upper_bound(built.space) / USD_M
    m = built.model
    m.theta = pyo.Var(range(n_p), domain=pyo.Reals, bounds=lambda _, p: (None, float(ub_theta[p])))
    built.theta_vars = [m.theta[p] for p in range(n_p)]
    built.path_terms.append(PathTerm(built.theta_vars, np.ones(1)))


def add_objective(built: BuiltModel) -> None:
    """The objective: the mean over paths of each path's NPV, less the risk weight times CVaR."""
    built.stop_if_asked("building the objective")
    space, m, xs = built.space, built.model, built.xs
    n_var, n_p = space.n_var, built.n_paths
    coef_mean = space.coef_path.mean(axis=0) / USD_M if n_var else np.zeros(0)
    const = float(space.base_npv.mean() / USD_M)
    obj_terms = [coef_mean]
    obj_vars = list(xs)
    for term in built.path_terms:
        obj_terms.append((term.coef.ravel() if term.coef.ndim == 2 else np.tile(term.coef, n_p)) / n_p)
        obj_vars += term.vars
    risk_coefs, risk_vars = _add_cvar(built) if built.risk_aversion > 0 else ([], [])
    # The objective's linear part is defined by one CSR row (objective_def: value = c.x), which is
    # far cheaper to build than a Pyomo expression with thousands of terms.
    m.value = pyo.Var(domain=pyo.Reals)
    coefs = np.concatenate([np.asarray(t_, dtype=float).ravel() for t_ in obj_terms] + [[-1.0]])
    built.add_rows("objective_def", COMPONENT, csr_from_matrix(coefs[None, :]), [0.0], [0.0], obj_vars + [m.value],
                   keys=("term",), labels={"term": ["objective"]}, unit="USD", per_unit=1.0 / USD_M)
    m.obj = pyo.Objective(expr=LinearExpression(constant=const, linear_coefs=[1.0] + risk_coefs,
                                                linear_vars=[m.value] + risk_vars), sense=pyo.maximize)


def _add_cvar(built: BuiltModel) -> tuple[list[float], list]:
    """eta, z[p], det and the ``det_def`` and ``cvar`` rows; returns the risk terms' objective coefficients and
    variables (-risk_aversion on eta, -weight on each z)."""
    space, m, xs = built.space, built.model, built.xs
    n_var, n_p = space.n_var, built.n_paths
    conv = (space.table["kind"] == "convert").to_numpy()
    m.P = pyo.RangeSet(0, n_p - 1)
    m.eta = pyo.Var(domain=pyo.Reals)
    m.z = pyo.Var(m.P, domain=pyo.NonNegativeReals)
    m.det = pyo.Var(domain=pyo.Reals)
    # det = sum of the path-independent (conversion) terms, so each path row stays short.
    det_row = np.where(conv, space.coef_path[0] / USD_M, 0.0) if n_var else np.zeros(0)
    built.add_rows("det_def", "risk", csr_from_rows([np.concatenate([det_row, [-1.0]])]), [0.0], [0.0],
                   xs + [m.det], keys=("term",), labels={"term": ["det"]}, unit="USD", per_unit=1.0 / USD_M)
    # z_p + eta + det + sum_j coef[p, j] x_j + (the path terms of path p) >= -base_p
    pathdep = ~conv
    a = space.coef_path[:, pathdep] / USD_M
    cols = [xs[j] for j in np.flatnonzero(pathdep)] + [m.eta, m.det] + [m.z[p] for p in range(n_p)]
    parts = []
    base_col = len(cols)
    for term in built.path_terms:
        parts.append((base_col, term.width, term.coef))
        cols += term.vars
        base_col += term.width * n_p
    built.add_rows("cvar", "risk", _cvar_rows(a, n_p, parts), (-space.base_npv / USD_M).tolist(), [None] * n_p, cols,
                   keys=("path",), labels={"path": np.arange(n_p)}, unit="USD", per_unit=1.0 / USD_M)
    weight = built.risk_aversion / ((1 - built.cvar_level) * n_p)
    return [-built.risk_aversion] + [-weight] * n_p, [m.eta] + [m.z[p] for p in range(n_p)]


def _cvar_rows(a: np.ndarray, n_p: int, extra: list):
    """CSR of the CVaR rows: [a | eta | det | z (identity)] then each path term's columns of path p
    (``extra``: (first column, width, coefficients [P, width] or [width]) per term)."""
    n_pd = a.shape[1]
    mask = a != 0
    r, c = np.nonzero(mask)
    blocks = [(r, c, a[r, c])]
    p = np.arange(n_p)
    blocks.append((p, np.full(n_p, n_pd), np.ones(n_p)))
    blocks.append((p, np.full(n_p, n_pd + 1), np.ones(n_p)))
    blocks.append((p, n_pd + 2 + p, np.ones(n_p)))
    for start, width, val in extra:
        # path p's columns are start + p*width + k
        rr = np.repeat(p, width)
        cc = start + (p[:, None] * width + np.arange(width)[None, :]).ravel()
        blocks.append((rr, cc, val.ravel() if val.ndim == 2 else np.tile(val, n_p)))
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
