"""Public API: ``optimize(scenario, settings, progress, cancel) -> OptimizationResult``.

Long work with a progress callback ``progress(fraction, text)`` and a cancel check
``cancel() -> bool``; ``ui/`` runs it off the GUI thread. A run builds the decision space
(:mod:`solvers.decisions`), the model (:mod:`solvers.model`), solves it with HiGHS, by the
L-shaped decomposition when there is per-path recourse (:mod:`solvers.benders`) or as the
extensive form, values the plan exactly (:mod:`solvers.valuation`), writes it into a scenario
(:mod:`solvers.plan`, with which rows are its decisions) and its tables (:mod:`solvers.tables`), every family's duals
(:mod:`solvers.model.duals`), and checks it with the engine (:func:`solvers.result.check_plan`).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from minerplan.engine.evaluate import Cancelled, progress_step
from minerplan.scenario.model import Scenario

from .benders import solve_decomposed
from .decisions.build import build_decision_space
from .decisions.space import DecisionSpace
from .highs_backend import MIN_RUN_S, HighsModel, SolveOutcome
from .highs_form import to_matrix_form
from .infeasibility import explain_infeasibility
from .model.build import build_model
from .model.duals import assign_duals, shadow_price_table
from .model.parts import BuiltModel
from .plan import write_plan
from .result import OptimizationResult, check_plan, empty_tables, gap_and_bound, no_plan
from .settings import OptimizerSettings
from .tables import allocation_table, cash_table, decision_tables, moves_table
from .valuation import cvar_of_loss, plan_npv_by_path, plan_x, take_or_pay_dispatch, whole_units

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def optimize(sc: Scenario, settings: OptimizerSettings | None = None, *, progress: ProgressFn | None = None,
             cancel: CancelFn | None = None, write_model: str | None = None, check: bool = True) -> OptimizationResult:
    """The plan for ``sc``; with ``check`` (the default) the engine evaluates it on the same paths
    and a disagreement makes the result an error (:func:`check_plan`), outside the time limit."""
    st = (settings or OptimizerSettings()).for_scenario(sc)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    # The time limit is the whole run's: preparing, building and every HiGHS run end by this
    # deadline (results are read after it, in well under a second).
    deadline = t0 + st.time_limit_s

    def stop() -> bool:
        return (cancel is not None and cancel()) or time.perf_counter() > deadline

    step = progress_step(progress, stop)
    try:
        step(0.0, "preparing decisions")
        space = build_decision_space(sc, st, progress=lambda f, s: step(0.3 * f, s))
        timings["coefficients_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        step(0.3, "building the model")
        # A written model is the whole extensive form (the file an independent solver re-solves to the
        # same objective), so that run solves the extensive form too.
        decompose = uses_decomposition(space) and not write_model
        built = build_model(space, st.risk_aversion, st.cvar_level, cancel=stop,
                            recourse="cuts" if decompose else "extensive")
        step(0.32, "handing the model to HiGHS")
        form = to_matrix_form(built.model)
        step(0.34, "loading HiGHS")
        hm = HighsModel(form, time_limit_s=st.time_limit_s, mip_gap=st.mip_gap)
        hm.soft_blocks = {"capacity", "budget", "crews", "convertible", "cash_floor"}
        hm.deadline = deadline
        timings["build_s"] = time.perf_counter() - t1
        if write_model:
            hm.write(write_model)
        if time.perf_counter() > deadline - MIN_RUN_S:
            raise Cancelled("time limit")
    except Cancelled:
        if cancel is not None and cancel():
            raise
        # Out of time before the search began: say so in business words, not as a plan found in no time.
        res = no_plan("time_limit", st, ())
        res.explanation = [f"Preparing and building the model took the whole time limit of {st.time_limit_s:g} s "
                           f"({st.n_paths:,} price paths), leaving no time to search for a plan. Raise the time "
                           "limit or use fewer price paths."]
        res.timings_s = {**timings, "total_s": time.perf_counter() - t0}
        return res
    step = progress_step(progress, cancel)
    step(0.35, "solving with HiGHS")

    def solve_progress(frac, text):
        if progress is not None:
            progress(0.35 + 0.6 * frac, text)

    decomposition = None
    if decompose:
        out, decomposition = solve_decomposed(space, built, hm, mip_gap=st.mip_gap, risk_aversion=st.risk_aversion,
                                              cvar_level=st.cvar_level, progress=solve_progress, cancel=cancel)
    else:
        out = hm.solve(progress=solve_progress, cancel=cancel)
    timings["highs_s"] = out.highs_seconds
    t2 = time.perf_counter()
    result = _result(space, built, hm, out, st)
    result.decomposition = decomposition.to_json() if decomposition is not None else None
    timings["results_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    result.timings_s = timings
    n_row, n_col, nnz = form.shape
    result.sizes = {"variables": n_col, "constraints": n_row, "nonzeros": nnz,
                    "integer_variables": int(form.integer.sum()), "paths": int(space.prices.shape[0]),
                    "decisions": space.n_var}
    if out.status == "cancelled":
        raise Cancelled("optimization cancelled")
    if check and result.ok:
        step(0.96, "checking the plan with the engine")
        t3 = time.perf_counter()
        check_plan(result, cancel=cancel)
        timings["check_s"] = time.perf_counter() - t3
    step(1.0, "done")
    return result


def uses_decomposition(space: DecisionSpace) -> bool:
    """Whether :func:`optimize` solves ``space`` by the L-shaped decomposition (solvers/benders.py):
    there is per-path recourse (take-or-pay sites or carry-forward tax) and the settings do not ask
    for the extensive form. A cash floor is cut too (:func:`solvers.recourse.cash_recourse`)."""
    st = space.settings
    return st.method == "auto" and space.n_var > 0 and (bool(space.top_blocks) or space.carryforward)


def _result(space: DecisionSpace, built: BuiltModel, hm: HighsModel, out: SolveOutcome,
            st: OptimizerSettings) -> OptimizationResult:
    base = empty_tables()
    if out.x is None or out.status not in ("optimal", "time_limit"):
        res = no_plan(out.status, st, space.notes)
        if out.status == "infeasible":
            res.explanation = explain_infeasibility(space, built, hm, out.iis_rows, out.slack)
        return res
    x_solved = plan_x(space, built, hm, out.x)
    x = whole_units(space, x_solved)
    dispatch = take_or_pay_dispatch(space, x)
    npv = plan_npv_by_path(space, x, dispatch)
    exp_npv = float(npv.mean())
    cvar = cvar_of_loss(npv, st.cvar_level)
    objective = exp_npv - st.risk_aversion * cvar
    rounding_usd = 0.0
    if not np.array_equal(x, x_solved):
        # What whole machines cost against the solver's fractional plan (usually a few dollars).
        npv_f = plan_npv_by_path(space, x_solved, take_or_pay_dispatch(space, x_solved))
        objective_f = float(npv_f.mean()) - st.risk_aversion * cvar_of_loss(npv_f, st.cvar_level)
        rounding_usd = objective - objective_f
    gap, bound_usd = gap_and_bound(out, hm, objective)
    res = OptimizationResult(out.status, objective, exp_npv, cvar, gap, npv, plan_scenario=None,
                             settings=st, notes=list(space.notes), **base)
    res.bound_usd = bound_usd
    res.rounding_value_usd = rounding_usd
    if rounding_usd:
        res.notes.append(f"Whole machines: the solver's fractional purchases and retirements are rounded (purchases "
                         f"down, retirements up, so no site goes over capacity); that changes the plan's objective "
                         f"by {'-' if rounding_usd < 0 else '+'}${abs(rounding_usd):,.0f}.")
    res.solver_status = out.status
    res.conversions, res.purchases, res.retirements = decision_tables(space, x)
    res.moves = moves_table(space, x)
    res.plan_scenario, res.decisions = write_plan(space, x)
    res.allocation = allocation_table(space, x)
    res.duals = assign_duals(built, hm.form, out.row_dual)
    res.shadow_prices = shadow_price_table(space, res.duals)
    res.cash = cash_table(space, x, dispatch)
    return res
