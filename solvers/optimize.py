"""Public API: ``optimize(scenario, settings, progress, cancel) -> OptimizationResult``.

Long work with a progress callback ``progress(fraction, text)`` and a cancel
check ``cancel() -> bool``; ``ui/`` runs it off the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from minerplan.engine.evaluate import Cancelled, progress_step
from minerplan.engine.finance import tax_with_carryforward
from minerplan.scenario.months import add_months, month_index
from minerplan.scenario.model import Conversion, Scenario

from .benders import solve_decomposed
from .decisions import DecisionSpace, TopBlock, build_decision_space, retirement_slots
from .highs_backend import MIN_RUN_S, HighsModel, SolveOutcome, to_matrix_form
from .model import USD_M, BuiltModel, build_model
from .settings import OptimizerSettings

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def cvar_of_loss(npv: np.ndarray, level: float) -> float:
    """CVaR (USD) of the loss -NPV at ``level``: the mean loss over the worst (1 - level) share of paths.

    Computed as min over eta of eta + E[(loss - eta)+] / (1 - level) (Rockafellar-Uryasev), which
    handles a tail that splits a path exactly as the optimizer's linear program does.
    """
    loss = np.sort(-np.asarray(npv, dtype=float))[::-1]
    n = loss.size
    tail = (1 - level) * n
    k = int(np.floor(tail))
    total = loss[:k].sum() + (tail - k) * (loss[k] if k < n else 0.0)
    return float(total / tail)


@dataclass
class OptimizationResult:
    """The recommendation: tables in tidy pandas form, USD and gross MW unless named otherwise."""

    status: str
    objective_usd: float | None
    expected_npv_usd: float | None
    cvar_usd: float | None
    mip_gap: float | None              # (best bound - objective) / |objective|; None: unknown (no bound)
    npv_by_path_usd: np.ndarray | None
    allocation: pd.DataFrame
    conversions: pd.DataFrame
    purchases: pd.DataFrame
    retirements: pd.DataFrame
    shadow_prices: pd.DataFrame
    plan_scenario: Scenario | None
    settings: OptimizerSettings
    timings_s: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    cash: pd.DataFrame | None = None   # liquidity views: view, month, cash_usd (before credit), credit_usd
    #: The best bound HiGHS proved on the objective (USD): no plan is worth more. None without one
    #: (an LP stopped early, a run stopped before its first bound).
    bound_usd: float | None = None
    #: objective of the plan in whole machines minus that of the solver's fractional one (USD, see whole_units)
    rounding_value_usd: float = 0.0
    #: HiGHS's own outcome; ``status`` differs from it only when the engine check failed.
    solver_status: str | None = None
    check: "EngineCheck | None" = None   # the engine's valuation of the plan (see check_plan)
    #: How the decomposition ran (rounds, cuts, final gap), None when the extensive form was solved.
    decomposition: dict | None = None
    #: Machines moved between sites (see _moves_table); empty without moves.
    moves: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """A plan to show as the answer: solved (optimal or time-limited) and, if checked, agreeing with the
        engine. A time-limited plan is ``ok`` but never unlabelled: see :func:`solvers.report.plan_label`."""
        return self.status in ("optimal", "time_limit") and self.plan_scenario is not None


#: How closely the engine must reproduce the optimizer's valuation of its plan: 1e-6 of the total
#: cash flow (see :class:`EngineCheck`). Beyond it the result is an error (status ``check_failed``).
CHECK_RTOL = 1e-6


@dataclass(frozen=True)
class EngineCheck:
    """``minerplan evaluate`` of the plan against the optimizer's own valuation, on the same paths (USD).

    *Total cash flow* of a path: the sum over months of the absolute net cash flow plus the absolute
    present value of the value past the horizon, as the engine computes them for the plan; the
    scale of a plan's money, which (unlike its NPV) is not near zero when inflows and outflows
    cancel. The plan passes when every path's NPV difference is within ``CHECK_RTOL`` of that
    path's total cash flow and the expected NPVs are within ``CHECK_RTOL`` of the mean total cash
    flow (``tolerance_usd``).
    """

    optimizer_npv_usd: float          # expected NPV, the optimizer's valuation
    engine_npv_usd: float             # expected NPV, the engine's
    difference_usd: float             # optimizer - engine
    total_cash_flow_usd: float        # mean over paths
    tolerance_usd: float              # CHECK_RTOL x total_cash_flow_usd
    worst_path: int                   # the path with the largest difference relative to its cash flow
    worst_path_difference_usd: float
    worst_path_tolerance_usd: float
    ok: bool

    def to_json(self) -> dict:
        return {"ok": self.ok, "optimizer_expected_npv_usd": self.optimizer_npv_usd,
                "engine_expected_npv_usd": self.engine_npv_usd, "difference_usd": self.difference_usd,
                "tolerance_usd": self.tolerance_usd, "relative_tolerance": CHECK_RTOL,
                "total_cash_flow_usd": self.total_cash_flow_usd, "worst_path": self.worst_path,
                "worst_path_difference_usd": self.worst_path_difference_usd,
                "worst_path_tolerance_usd": self.worst_path_tolerance_usd}


def compare_with_engine(npv_by_path_usd: np.ndarray, engine) -> EngineCheck:
    """The check of an optimizer valuation (per path, USD) against an engine result of its plan."""
    opt = np.asarray(npv_by_path_usd, dtype=float)
    eng = np.asarray(engine.npv_usd, dtype=float)
    scale = (np.abs(engine.net_cash_flow_usd).sum(axis=1)
             + np.abs(np.broadcast_to(engine.terminal_value_pv_usd, eng.shape)))          # [path]
    diff = opt - eng
    tol_p = CHECK_RTOL * scale
    worst = int(np.argmax(np.abs(diff) - tol_p)) if diff.size else 0
    mean_scale = float(scale.mean()) if scale.size else 0.0
    d_mean = float(opt.mean() - eng.mean()) if diff.size else 0.0
    ok = bool(diff.size == eng.size and np.all(np.isfinite(diff)) and np.all(np.abs(diff) <= tol_p)
              and abs(d_mean) <= CHECK_RTOL * mean_scale)
    return EngineCheck(float(opt.mean()), float(eng.mean()), d_mean, mean_scale, CHECK_RTOL * mean_scale, worst,
                       float(diff[worst]) if diff.size else 0.0, float(tol_p[worst]) if diff.size else 0.0, ok)


def check_plan(res: "OptimizationResult", *, cancel: CancelFn | None = None) -> EngineCheck | None:
    """Evaluate ``res``'s plan with the engine on the optimizer's own paths and compare (see EngineCheck).

    Records the check in ``res.check``; when it fails, ``res.status`` becomes ``"check_failed"``
    (``res.solver_status`` keeps HiGHS's outcome) and ``res.ok`` is False: the plan is not shown
    as an answer. :func:`optimize` calls it on every plan it finds; a result without a plan is
    left alone (returns None).
    """
    if not res.ok or res.npv_by_path_usd is None:
        return None
    from minerplan.engine.evaluate import run_engine

    st = res.settings
    engine = run_engine(res.plan_scenario, n_paths=st.n_paths, seed=st.seed, preset=st.preset, cancel=cancel)
    check = compare_with_engine(res.npv_by_path_usd, engine)
    res.check = check
    if res.solver_status is None:
        res.solver_status = res.status
    if not check.ok:
        res.status = "check_failed"
    return check


def _empty(cols) -> pd.DataFrame:
    return pd.DataFrame(columns=cols)


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
        res = _no_plan("time_limit", st, ())
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


def _no_plan(status: str, st: OptimizerSettings, notes) -> OptimizationResult:
    """A result without a plan (infeasible, out of time, solver error), with empty tables."""
    return OptimizationResult(status, None, None, None, None, None, plan_scenario=None, settings=st,
                              notes=list(notes), solver_status=status, **_empty_tables())


def _empty_tables() -> dict[str, pd.DataFrame]:
    return dict(allocation=_empty(["site", "month", "mining_mw", "ai_mw", "idle_mw"]),
                conversions=_empty(["site", "start_month", "ready_month", "critical_mw", "gross_mw", "capex_usd",
                                    "business_model", "committed"]),
                purchases=_empty(["site", "month", "model", "units", "mw", "capex_usd"]),
                retirements=_empty(["site", "cohort", "model", "month", "units", "mw", "salvage_usd"]),
                moves=_empty(["from_site", "to_site", "cohort", "model", "month", "arrive_month", "units", "mw",
                              "cost_usd", "book_value_usd_per_unit"]),
                shadow_prices=_empty(["kind", "name", "value_usd", "unit"]))


def _result(space: DecisionSpace, built: BuiltModel, hm: HighsModel, out: SolveOutcome,
            st: OptimizerSettings) -> OptimizationResult:
    base = _empty_tables()
    if out.x is None or out.status not in ("optimal", "time_limit"):
        res = _no_plan(out.status, st, space.notes)
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
    gap, bound_usd = _gap_and_bound(out, hm, objective)
    res = OptimizationResult(out.status, objective, exp_npv, cvar, gap, npv, plan_scenario=None,
                             settings=st, notes=list(space.notes), **base)
    res.bound_usd = bound_usd
    res.rounding_value_usd = rounding_usd
    if rounding_usd:
        res.notes.append(f"Whole machines: the solver's fractional purchases and retirements are rounded (purchases "
                         f"down, retirements up, so no site goes over capacity); that changes the plan's objective "
                         f"by {'-' if rounding_usd < 0 else '+'}${abs(rounding_usd):,.0f}.")
    res.solver_status = out.status
    res.conversions, res.purchases, res.retirements = _decision_tables(space, x)
    res.moves = _moves_table(space, x)
    res.plan_scenario = plan_scenario(space, x)
    res.allocation = _allocation(space, x)
    res.shadow_prices = _shadow_prices(space, built, hm, out)
    res.cash = _cash_table(space, x, dispatch)
    return res


def _gap_and_bound(out: SolveOutcome, hm: HighsModel, objective_usd: float) -> tuple[float | None, float | None]:
    """The MIP gap and best bound (USD) of a plan whose objective is ``objective_usd``.

    The gap is (bound - objective) / |objective| with HiGHS's proven bound and the plan's exact
    objective, so it is the gap between the two numbers reported (HiGHS's own gap uses its valuation
    of its incumbent, which for a heuristic plan can be far below the plan's worth). Without a bound
    (an LP stopped at the time limit proves none, a run stopped before its first bound) both are None.
    """
    bound = out.bound
    if bound is None or not np.isfinite(bound) or (out.status == "time_limit" and not hm.has_integers):
        return (None, None) if out.status == "time_limit" else (out.mip_gap, None)
    bound_usd = float(bound) * USD_M
    return max(bound_usd - objective_usd, 0.0) / max(abs(objective_usd), 1.0), bound_usd


def _cash_table(space: DecisionSpace, x: np.ndarray, dispatch: list) -> pd.DataFrame:
    """Cash balance per liquidity view and month (USD), before and with the credit line."""
    st = space.settings
    n_w, n_m, _ = space.cf_x.shape
    cf = space.cf_base + (space.cf_x @ x if space.n_var else 0.0)                      # [W, M]
    cf = cf - space.cash_weights @ tax_paid_by_month(space, x, dispatch)
    # Take-or-pay dispatch, after tax in linear mode (pre-tax in carry-forward mode, where tax_rate
    # is 0 and the tax is subtracted above).
    cf = cf + space.cash_weights @ ((1 - space.tax_rate) * _top_income_by_month(space, dispatch))
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


def _units_available(space: DecisionSpace, blk: TopBlock, x: np.ndarray) -> np.ndarray:
    """Units of each slot's fleet row installed in each month under plan ``x``, ``[month, slot]``."""
    u = blk.units_base[:, blk.slot_cohort].astype(float)                          # [M, K]
    for j, month, slots in retirement_slots(space, blk):
        if x[j] > 0:
            u[month:, slots] -= x[j]
    return np.maximum(u, 0.0)


def take_or_pay_dispatch(space: DecisionSpace, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each take-or-pay site's best dispatch under plan ``x``, per block: units running in each slot
    ``y [path, month, slot]`` and MWh short of the minimum ``s [path, month]``.

    This is the engine's rule (:mod:`minerplan.engine.evaluate`: the LP optimum of each path, month and
    site), computed exactly as a fractional knapsack: every slot with a positive value runs;
    while the energy drawn is below the minimum, slots whose loss per MWh is below the contract
    price (prepaid energy) run too, best value per MWh first, the last in part. The plan's value
    is computed from this dispatch, never from HiGHS's dispatch variables: their objective
    coefficients are tiny (one path's share of a unit's monthly margin, in USD millions), so
    within HiGHS's tolerances a slot worth a few cents a unit may be left off; at 500 paths that
    under-valued the shipped scenario's plan by $475,000 against the engine.
    """
    out = []
    for blk in space.top_blocks:
        u = _units_available(space, blk, x)                                          # [M, K]
        need = blk.need_mwh - (blk.ai_energy.T @ x if space.n_var else 0.0)          # [M]
        n_p, n_m, k = blk.value.shape
        y = np.empty((n_p, n_m, k))
        step = max(1, DISPATCH_CHUNK // max(n_m * k, 1))                               # paths at a time
        for lo in range(0, n_p, step):
            y[lo:lo + step] = _knapsack(blk.value[lo:lo + step], blk.energy, u, need, blk.contract_usd_per_mwh,
                                        blk.can_curtail)
        s = np.maximum(need[None, :] - (y * blk.energy[None]).sum(axis=2), 0.0)
        out.append((y, s))
    return out


#: Entries (path x month x slot) of the take-or-pay dispatch computed at once: bounds its temporaries.
DISPATCH_CHUNK = 1_000_000


def _knapsack(v: np.ndarray, e: np.ndarray, u: np.ndarray, need: np.ndarray, contract: float,
              can_curtail: bool) -> np.ndarray:
    """Units running per slot, ``[path, month, slot]``, for slot values ``v`` (USD per unit), energy ``e``
    (MWh per unit), units ``u`` and the minimum ``need`` (MWh); see :func:`take_or_pay_dispatch`."""
    if not can_curtail:
        return np.broadcast_to(u, v.shape).copy()
    y = np.where(v > 0, u[None], 0.0)
    short = np.maximum(need[None, :] - (y * e[None]).sum(axis=2), 0.0)             # [P, M] MWh
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mwh = np.where(e[None] > 0, v / e[None], -np.inf)                      # USD per MWh drawn
    fill = (v <= 0) & (per_mwh > -contract)                                          # worth it on prepaid energy
    order = np.argsort(np.where(fill, -per_mwh, np.inf), axis=2, kind="stable")
    room = np.where(fill, (u * e)[None], 0.0)                                        # MWh each such slot can draw
    room_sorted = np.take_along_axis(room, order, axis=2)
    before = np.cumsum(room_sorted, axis=2) - room_sorted
    take = np.clip(short[:, :, None] - before, 0.0, room_sorted)
    share_sorted = np.divide(take, room_sorted, out=np.zeros_like(take), where=room_sorted > 0)
    share = np.empty_like(share_sorted)
    np.put_along_axis(share, order, share_sorted, axis=2)
    return y + share * u[None]


def _top_income_by_month(space: DecisionSpace, dispatch: list) -> np.ndarray:
    """Pre-tax income of the take-or-pay dispatch, ``[path, month]`` USD (0 without such sites)."""
    n_p, n_m = space.prices.shape
    out = np.zeros((n_p, n_m))
    for (y, s), blk in zip(dispatch, space.top_blocks):
        out += (blk.value * y).sum(axis=2) - blk.contract_usd_per_mwh * s
    return out


def tax_paid_by_month(space: DecisionSpace, x: np.ndarray, dispatch: list) -> np.ndarray:
    """Carry-forward tax of the plan per path, paid in each calendar year's last month, ``[path, month]`` USD."""
    n_p, n_m = space.prices.shape
    if not space.carryforward:
        return np.zeros((n_p, n_m))
    income = taxable_income_by_year(space, x, _top_income_by_month(space, dispatch))
    out = np.zeros((n_p, n_m))
    out[:, space.year_ends] = tax_with_carryforward(income, space.tax_rate_statutory)
    return out


def taxable_income_by_year(space: DecisionSpace, x: np.ndarray, top_income: np.ndarray) -> np.ndarray:
    """Plan ``x``'s taxable income per path and calendar year (carry-forward mode), ``[path, year]`` USD:
    the decisions' linear part and the take-or-pay dispatch income ``top_income`` ``[path, month]``."""
    return (space.taxable_base + (space.taxable_x @ x if space.n_var else 0.0)
            + top_income @ space.year_onehot)


def plan_npv_by_path(space: DecisionSpace, x: np.ndarray, dispatch: list | None = None) -> np.ndarray:
    """Each path's NPV (USD) of plan ``x``: the coefficient algebra of :mod:`solvers.decisions`,
    the exact take-or-pay dispatch and the exact carry-forward tax (what ``minerplan evaluate``
    of :func:`plan_scenario` computes)."""
    dispatch = take_or_pay_dispatch(space, x) if dispatch is None else dispatch
    npv = space.base_npv + (space.coef_path @ x if space.n_var else 0.0)
    npv = npv + ((1 - space.tax_rate) * _top_income_by_month(space, dispatch)) @ space.discount
    if space.carryforward:
        npv = npv - tax_paid_by_month(space, x, dispatch) @ space.discount
    return np.asarray(npv, dtype=float)


def whole_units(space: DecisionSpace, x: np.ndarray) -> np.ndarray:
    """``x`` with machine purchases and retirements in whole units (issue 12: "1,348.19 units").

    Purchases round down and retirements up, so the plan never draws more than a site's capacity
    nor spends more than its budget; a cohort's retirements stay within its units (taken in month
    order). The optimizer keeps these continuous (whole-number variables would make a large MIP
    for a difference of a few dollars); the value of rounding is reported with the plan.
    """
    if not space.n_var:
        return x
    t = space.table
    out = x.copy()
    kind = t["kind"].to_numpy()
    units = t["unit"].to_numpy() == "units"
    buy = np.flatnonzero((kind == "buy") & units)
    out[buy] = np.floor(out[buy] + 1e-6)
    retire = np.flatnonzero((kind == "retire") & units)
    left: dict = {}
    # A move's two sides move the same whole units, rounded down (the destination never goes over capacity);
    # they come off the fleet row's units before its retirements are rounded.
    if "link" in t:
        link = t["link"].to_numpy()
        arrive = {int(link[j]): j for j in np.flatnonzero(kind == "move_in")}
        for j in np.flatnonzero(kind == "move_out"):
            whole = float(np.floor(out[j] + 1e-6))
            out[j] = out[arrive[int(link[j])]] = whole
            key = (t["site_idx"].iat[j], t["cohort"].iat[j])
            left[key] = left.get(key, float(t["ub"].iat[j])) - whole
    for j in sorted(retire, key=lambda j: (t["site_idx"].iat[j], t["cohort"].iat[j], t["month_idx"].iat[j])):
        key = (t["site_idx"].iat[j], t["cohort"].iat[j])
        avail = left.setdefault(key, float(t["ub"].iat[j]))
        r = min(float(np.ceil(out[j] - 1e-6)), np.floor(avail + 1e-6)) if out[j] > 1e-9 else 0.0
        out[j] = max(r, 0.0)
        left[key] = avail - out[j]
    return out


def plan_x(space: DecisionSpace, built: BuiltModel, hm: HighsModel, sol: np.ndarray) -> np.ndarray:
    """The decisions of a HiGHS solution, cleaned for the plan: within their bounds, integers
    rounded, specks below 1e-9 dropped (so the plan, its tables and its value agree)."""
    if not space.n_var:
        return np.zeros(0)
    cols = {id(v): i for i, v in enumerate(hm.form.col_vars)}
    x = np.array([sol[cols[id(built.model.x[j])]] for j in range(space.n_var)], dtype=float)
    t = space.table
    x = np.clip(x, t["lb"].to_numpy(float), t["ub"].to_numpy(float))
    x = np.where(np.abs(x) < 1e-9, 0.0, x)
    ints = t["integer"].to_numpy(bool)
    x[ints] = np.round(x[ints])
    return x


def _decision_tables(space: DecisionSpace, x: np.ndarray):
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
            from minerplan.scenario.catalog import load_catalog
            spec = load_catalog()[row.model]
            buys.append(dict(site=row.site, month=row.month, model=row.model, units=x[j], mw=x[j] * row.scale_mw,
                             capex_usd=x[j] * spec.unit_price_usd))
        elif row.kind == "retire":
            # Proceeds at the used-market price of the retirement month, expected over the optimizer's paths.
            rets.append(dict(site=row.site, cohort=int(row.cohort), model=row.model, month=row.month, units=x[j],
                             mw=x[j] * row.scale_mw, salvage_usd=x[j] * space.salvage_unit_usd[j]))
    conv = pd.DataFrame(conv_rows, columns=["site", "start_month", "ready_month", "critical_mw", "gross_mw",
                                            "capex_usd", "business_model", "committed"])
    return (conv.sort_values(["start_month", "site"], kind="stable").reset_index(drop=True),
            pd.DataFrame(buys, columns=["site", "month", "model", "units", "mw", "capex_usd"]),
            pd.DataFrame(rets, columns=["site", "cohort", "model", "month", "units", "mw", "salvage_usd"]))


def _moves_table(space: DecisionSpace, x: np.ndarray) -> pd.DataFrame:
    """The plan's moves of machines between sites: from, to, the month they leave and arrive, units, MW
    (with the destination's PUE), the cost (USD) and the book value per unit they carry."""
    t = space.table
    cols = ["from_site", "to_site", "cohort", "model", "month", "arrive_month", "units", "mw", "cost_usd",
            "book_value_usd_per_unit"]
    if not space.n_var or "link" not in t:
        return _empty(cols)
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
    return pd.DataFrame(out, columns=cols)


def _conversion_row(sc: Scenario, site_name: str, start: int, gross_mw: float, model: str | None, committed: bool):
    site = next(s for s in sc.sites if s.name == site_name)
    ai = site.ai
    crit = gross_mw * ai.critical_mw_per_gross_mw
    return dict(site=site_name, start_month=add_months(sc.start_month, start),
                ready_month=add_months(sc.start_month, start + ai.lead_time_months), critical_mw=crit,
                gross_mw=gross_mw, capex_usd=crit * ai.conversion_capex_usd_per_critical_mw,
                business_model=model or ai.business_model, committed=committed)


def plan_scenario(space: DecisionSpace, x: np.ndarray) -> Scenario:
    """The input scenario with this plan written into it, so ``minerplan evaluate`` reproduces the plan."""
    sc, t = space.scenario, space.table
    fleet = [c.model_copy() for c in sc.fleet]
    conversions = list(sc.conversion_plan)
    retired: dict[int, list[tuple[str, float, float | None]]] = {}   # row -> (month, units, stated sale price)
    added = []
    for j in np.flatnonzero(x > 1e-9):
        row = t.iloc[j]
        if row.kind == "convert":
            conversions.append(Conversion(site=row.site, gross_mw=float(x[j] * row.scale_mw), start_month=row.month,
                                          business_model=row.business_model))
        elif row.kind == "retire":
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), None))
        elif row.kind == "move_out":
            # the units leave at their book value (a sale to the company itself: no gain, no loss) ...
            retired.setdefault(int(row.cohort), []).append((row.month, float(x[j]), space.move_sale_usd[j]))
        elif row.kind == "move_in":
            # ... and arrive at the destination, degraded by their age, at that value plus the move's cost
            added.append(space.move_arrivals[j].model_copy(update={"count": float(x[j])}))
        else:
            from minerplan.scenario.catalog import load_catalog
            spec = load_catalog()[row.model]
            st = space.settings
            from minerplan.scenario.model import Cohort
            added.append(Cohort(model=row.model, count=float(x[j]), hashrate_ths=spec.hashrate_ths,
                                power_w=spec.power_w, site=row.site, uptime_pct=st.purchase_uptime_pct,
                                degradation_pct_per_year=st.purchase_degradation_pct_per_year,
                                purchase_price_usd=spec.unit_price_usd, useful_life_months=st.purchase_useful_life_months,
                                purchase_month=row.month))
    new_fleet = []
    for c, co in enumerate(fleet):
        parts = retired.get(c, [])
        left = co.count - sum(u for _, u, _ in parts)
        if left > 1e-9:
            new_fleet.append(co.model_copy(update={"count": left}))
        for month, units, sale in parts:
            new_fleet.append(co.model_copy(update={"count": units, "retire_month": month, "sale_price_usd": sale}))
    data = sc.model_dump(mode="json", exclude_none=True)
    data["fleet"] = [c.model_dump(mode="json", exclude_none=True) for c in new_fleet + added]
    data["conversion_plan"] = [c.model_dump(mode="json", exclude_none=True) for c in conversions]
    data["name"] = f"{sc.name} (optimized plan)"
    from minerplan.scenario.files import scenario_from_dict
    return scenario_from_dict(data, "optimizer plan")


def _allocation(space: DecisionSpace, x: np.ndarray) -> pd.DataFrame:
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
    from .idle import IDLE_MIN_MW, explain_idle, idle_by_month

    if not (idle > IDLE_MIN_MW).any():
        return [None] * idle.size
    t = space.table
    idle_sites = np.flatnonzero((idle > IDLE_MIN_MW).any(axis=1))
    cands = (np.flatnonzero((t["kind"].to_numpy() == "buy") & np.isin(t["site_idx"].to_numpy(), idle_sites))
             if space.n_var else np.zeros(0, int))
    dispatch = take_or_pay_dispatch(space, x)
    value, tail = _purchase_margins(space, x, dispatch, cands)
    headroom = None
    st = space.settings
    if st.min_cash_usd is not None and cands.size:
        cash = _cash_table(space, x, dispatch)
        n_w = len(space.cash_views)
        bal = cash["cash_usd"].to_numpy(float).reshape(n_w, -1)
        headroom = bal + (st.credit_line_usd or 0.0) - st.min_cash_usd   # USD above the floor, credit line undrawn
    runs = explain_idle(space, x, ai, idle, value, tail, headroom)
    return idle_by_month(runs, space.site_names, months)


def _purchase_margins(space: DecisionSpace, x: np.ndarray, dispatch: list,
                      cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What one more unit of each purchase candidate in ``cands`` adds to plan ``x``'s NPV (USD):
    ``(expected, tail)`` arrays ``[n_var]``, NaN outside ``cands``; ``tail`` is the mean over the plan's
    worst ``1 - cvar_level`` of paths. Exact: purchases never change the take-or-pay dispatch
    (none at those sites), and the carry-forward tax is recomputed with the unit's taxable income."""
    value = np.full(space.n_var, np.nan)
    tail = np.full(space.n_var, np.nan)
    if not len(cands):
        return value, tail
    npv = plan_npv_by_path(space, x, dispatch)
    n_p = npv.size
    worst = np.argsort(npv, kind="stable")[:max(int(np.ceil((1 - space.settings.cvar_level) * n_p)), 1)]
    if space.carryforward:
        income = taxable_income_by_year(space, x, _top_income_by_month(space, dispatch))   # [P, Y]
        df_y = space.discount[space.year_ends]

        def tax_pv(inc: np.ndarray) -> np.ndarray:
            """Discounted carry-forward tax of each path (USD), as tax_paid_by_month computes it."""
            return tax_with_carryforward(inc, space.tax_rate_statutory) @ df_y

        base_tax = tax_pv(income)
    for j in cands:
        delta = space.coef_path[:, j]
        if space.carryforward:
            delta = delta - (tax_pv(income + space.taxable_x[:, :, j]) - base_tax)
        value[j] = float(delta.mean())
        tail[j] = float(delta[worst].mean())
    return value, tail


def _shadow_prices(space: DecisionSpace, built: BuiltModel, hm: HighsModel, out: SolveOutcome) -> pd.DataFrame:
    """What one more MW per site (all months) and one more budget dollar per year are worth (USD)."""
    if out.row_dual is None:
        return _empty(["kind", "name", "value_usd", "unit"])
    dual = out.row_dual
    # Duals of the maximization in USD millions per unit of the row; sign made "value of relaxing".
    rows = []
    offsets, k = {}, 0
    for name, i in hm.form.row_block:
        offsets.setdefault(name, k)
        k += 1
    cap_labels = built.row_labels.get("capacity", [])
    per_site: dict[str, float] = {}
    for i, (site, month) in enumerate(cap_labels):
        per_site[site] = per_site.get(site, 0.0) + abs(dual[offsets["capacity"] + i]) * USD_M
    for site in space.site_names:
        if site in per_site:
            rows.append(dict(kind="site_capacity", name=site, value_usd=per_site[site], unit="USD per MW (every month)"))
    for i, (year,) in enumerate(built.row_labels.get("budget", [])):
        rows.append(dict(kind="capex_budget", name=str(year), value_usd=abs(dual[offsets["budget"] + i]),
                         unit="USD per USD of budget"))
    for i, (site, month) in enumerate(cap_labels):
        v = abs(dual[offsets["capacity"] + i]) * USD_M
        if v > 1e-6:
            rows.append(dict(kind="site_capacity_month", name=f"{site} {add_months(space.scenario.start_month, month)}",
                             value_usd=v, unit="USD per MW in that month"))
    return pd.DataFrame(rows, columns=["kind", "name", "value_usd", "unit"])


def explain_infeasibility(space: DecisionSpace, built: BuiltModel, hm: HighsModel, iis_rows: list[int],
                          slack: dict[int, float] | None = None) -> list[str]:
    """Business-language reasons: the limits that must give way, and by how much.

    ``slack`` (from an elastic re-solve) says how far each limit must be relaxed; without
    it, the rows of HiGHS's irreducible infeasible subset are named.
    """
    sc = space.scenario
    st = space.settings
    msgs = []
    rows = sorted(slack) if slack else (iis_rows or [])
    cap = {s.name: s.capacity_mw for s in sc.sites}
    cash_short: dict[str, list[tuple[int, float | None]]] = {}
    for r in rows:
        block, i = hm.form.row_block[r]
        label = built.row_labels.get(block, [None] * (i + 1))[i]
        amount = slack.get(r) if slack else None
        if block == "capacity":
            site, m = label
            s = space.site_names.index(site)
            ai = sum(c.gross_mw for c in sc.conversion_plan if c.site == site
                     and month_index(sc.start_month, c.start_month) <= m)
            need = f"; {amount:,.1f} MW short" if amount else ""
            msgs.append(f"site {site}: in {add_months(sc.start_month, m)} machines ({space.cap_base[s, m] - ai:,.1f} MW "
                        f"with PUE) and AI/HPC commitments ({ai:,.1f} MW) exceed its {cap[site]:,.1f} MW capacity{need}")
        elif block == "budget":
            (year,) = label
            k = space.years.index(year)
            more = f"; needs ${amount:,.1f}M more" if amount else ""
            msgs.append(f"capex budget {year}: commitments need ${space.capex_base_year[k] / 1e6:,.1f}M, "
                        f"above the ${st.capex_budget_usd_per_year / 1e6:,.1f}M budget{more}")
        elif block == "crews":
            (m,) = label
            msgs.append(f"construction crews {add_months(sc.start_month, m)}: committed conversions exceed "
                        f"{st.max_conversion_mw_per_month:,.1f} MW a month")
        elif block == "cash_floor":
            view, m = label
            cash_short.setdefault(view, []).append((m, amount))
        elif block == "convertible":
            (site,) = label
            msgs.append(f"site {site}: fixed conversions exceed its convertible MW")
        elif block.startswith("top_"):
            msgs.append(f"site {sc.sites[label[0]].name}: its take-or-pay dispatch cannot satisfy the other limits")
        else:
            msgs.append(f"constraint {block}{label} cannot be met")
    for view, items in cash_short.items():
        months = sorted(m for m, _ in items)
        worst_m, worst = max(items, key=lambda it: it[1] or 0.0)
        span = (f"in {len(months)} months from {add_months(sc.start_month, months[0])} to "
                f"{add_months(sc.start_month, months[-1])}") if len(months) > 1 else f"in {add_months(sc.start_month, months[0])}"
        # Solved by decomposition, the master only knows the recourse's cash from above (its cuts), so
        # the shortfall it finds is a lower bound.
        least = "at least " if built.theta_vars else ""
        amount = f", at worst {least}${worst:,.1f}M short in {add_months(sc.start_month, worst_m)}" if worst else ""
        msgs.append(f"cash floor, {view}: cash falls below the ${st.min_cash_usd / 1e6:,.1f}M floor {span}{amount}, "
                    f"even with the ${st.credit_line_usd / 1e6:,.1f}M credit line and the best plan")
    if cash_short:
        fin = sc.finance
        if fin.starting_cash_usd is not None and st.starting_cash_usd == fin.starting_cash_usd:
            msgs.append(f"the cash floor comes from the scenario: it starts with ${st.starting_cash_usd / 1e6:,.1f}M "
                        f"(finance.starting_cash_usd) and keeps cash at or above ${st.min_cash_usd / 1e6:,.1f}M "
                        "(finance.min_cash_usd); raise the starting cash or the credit line, lower the floor, or "
                        "plan without it (minerplan optimize --no-cash-floor)")
    msgs = list(dict.fromkeys(msgs))  # one line per distinct reason, in order
    if len(msgs) > 12:
        msgs = msgs[:12] + [f"... and {len(msgs) - 12} more"]
    return msgs or ["HiGHS reports the model infeasible but found no limit to name"]


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
        gap, bound_usd = _gap_and_bound(out, hm, float(npv.mean()) - w * cvar)
        rows.append(dict(risk_aversion=w, status=out.status, expected_npv_usd=float(npv.mean()), cvar_usd=cvar,
                         seconds=secs, plan_x=x, mip_gap=gap, bound_usd=bound_usd, npv_by_path_usd=npv))
        if progress is not None:
            progress((k + 1) / len(weights), f"risk weight {w:g}")
    return pd.DataFrame(rows)
