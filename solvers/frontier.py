"""The efficient frontier: expected NPV against CVaR over risk weights, and the plan of each point.

:func:`efficient_frontier` builds the model once with the CVaR rows and re-solves it warm in one
HiGHS instance for each risk weight (each weight only changes the objective costs of eta and z;
HiGHS keeps its basis between solves). Each point's plan is valued exactly
(:func:`solvers.valuation.plan_npv_by_path`). :func:`frontier_plan` turns one row of the frontier
into an :class:`~solvers.result.OptimizationResult` (its tables and plan scenario; no duals: shadow
prices need a full run).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.model import Scenario

from .decisions.build import build_decision_space
from .decisions.space import DecisionSpace
from .highs_backend import HighsModel
from .highs_form import to_matrix_form
from .model.build import build_model
from .model.duals import SHADOW_COLUMNS
from .plan import write_plan
from .result import OptimizationResult, gap_and_bound
from .settings import OptimizerSettings
from .tables import allocation_table, decision_tables, moves_table
from .valuation import cvar_of_loss, plan_npv_by_path, plan_x, whole_units

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def efficient_frontier(sc: Scenario, settings: OptimizerSettings, weights=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0), *,
                       progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> pd.DataFrame:
    """Expected NPV against CVaR over risk weights, re-solved warm in one HiGHS instance.

    One row per weight: status, expected NPV and CVaR (USD, from the exact valuation of the plan),
    the MIP gap and best bound of that weight's objective, the plan's decisions (``plan_x``) and its
    NPV per path.

    The model is built once with the CVaR rows; each weight only changes the
    objective costs of eta and z (HiGHS keeps its basis between solves).
    """
    st = settings.for_scenario(sc)
    space = build_decision_space(sc, st)
    first = max(w for w in weights) or 1.0
    built = build_model(space, first, st.cvar_level)
    form = to_matrix_form(built.model)
    hm = HighsModel(form, time_limit_s=st.time_limit_s, mip_gap=st.mip_gap)
    col = {id(v): i for i, v in enumerate(form.col_vars)}
    n_p = space.prices.shape[0]
    eta = np.array([col[id(built.model.eta)]])
    zs = np.array([col[id(built.model.z[p])] for p in range(n_p)])
    rows = []
    for k, w in enumerate(weights):
        if cancel is not None and cancel():
            raise Cancelled("frontier cancelled")
        hm.set_cost(eta, np.array([-w]))
        hm.set_cost(zs, np.full(n_p, -w / ((1 - st.cvar_level) * n_p)))
        t0 = time.perf_counter()
        out = hm.solve(duals=False)
        secs = time.perf_counter() - t0
        if out.x is None:
            rows.append(dict(risk_aversion=w, status=out.status, expected_npv_usd=None, cvar_usd=None, seconds=secs))
            continue
        x = whole_units(space, plan_x(space, built, hm, out.x))
        npv = plan_npv_by_path(space, x)
        cvar = cvar_of_loss(npv, st.cvar_level)
        gap, bound_usd = gap_and_bound(out, hm, float(npv.mean()) - w * cvar)
        rows.append(dict(risk_aversion=w, status=out.status, expected_npv_usd=float(npv.mean()), cvar_usd=cvar,
                         seconds=secs, plan_x=x, mip_gap=gap, bound_usd=bound_usd, npv_by_path_usd=npv))
        if progress is not None:
            progress((k + 1) / len(weights), f"risk weight {w:g}")
    return pd.DataFrame(rows)


def frontier_plan(space: DecisionSpace, settings: OptimizerSettings, row: pd.Series) -> OptimizationResult:
    """The plan of a frontier row (of :func:`efficient_frontier` on ``space`` with ``settings``) as an
    OptimizationResult at that row's risk weight: its decisions, tables, plan scenario, value, gap and
    bound; no shadow prices (they need a full run)."""
    x = np.asarray(row["plan_x"], float)
    st_k = replace(settings, risk_aversion=float(row["risk_aversion"]))
    conv, buys, rets = decision_tables(space, x)
    exp_npv, cvar = float(row["expected_npv_usd"]), float(row["cvar_usd"])
    npv = row["npv_by_path_usd"] if "npv_by_path_usd" in row.index else None
    plan, decisions = write_plan(space, x)
    return OptimizationResult(
        status=str(row["status"]), objective_usd=exp_npv - st_k.risk_aversion * cvar, expected_npv_usd=exp_npv,
        cvar_usd=cvar, mip_gap=_optional(row, "mip_gap"),
        npv_by_path_usd=None if npv is None else np.asarray(npv, float),
        allocation=allocation_table(space, x), conversions=conv, purchases=buys, retirements=rets,
        moves=moves_table(space, x), shadow_prices=pd.DataFrame(columns=SHADOW_COLUMNS),
        plan_scenario=plan, settings=st_k, notes=list(space.notes), bound_usd=_optional(row, "bound_usd"),
        solver_status=str(row["status"]), decisions=decisions)


def _optional(row: pd.Series, key: str) -> float | None:
    """A number from a frontier row, None when the row has none (missing or NaN)."""
    v = row[key] if key in row.index else None
    return None if v is None or not math.isfinite(float(v)) else float(v)
