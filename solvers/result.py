"""The optimizer's answer: :class:`OptimizationResult`, and the engine's check of its plan.

A result holds the plan's decisions as tidy tables (USD and gross MW unless named otherwise), its
value per path, the solver's status, gap and bound, and every constraint family's duals
(``duals``: one named frame per family, :func:`solvers.model.duals.assign_duals`) with the
shadow-price summary people read. :func:`check_plan` evaluates the plan with the engine on the
optimizer's own paths (:class:`EngineCheck`); a disagreement makes the result an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from minerplan.scenario.model import Scenario
from minerplan.scenario.plan import PlanDecisions

from .highs_backend import HighsModel, SolveOutcome
from .model.duals import SHADOW_COLUMNS
from .model.parts import USD_M
from .settings import OptimizerSettings
from .tables import (ALLOCATION_COLUMNS, CONVERSION_COLUMNS, MOVE_COLUMNS, PURCHASE_COLUMNS,
                     RETIREMENT_COLUMNS)

CancelFn = Callable[[], bool]


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
    #: Machines moved between sites (see solvers.tables.moves_table); empty without moves.
    moves: pd.DataFrame | None = None
    #: Every constraint family's duals, one frame per family name (see solvers.model.duals); empty
    #: without duals (no plan, a frontier point, no time left for the duals' re-solve).
    duals: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Which rows of ``plan_scenario`` are the plan's decisions (see solvers.plan.write_plan); None without a plan.
    decisions: PlanDecisions | None = None

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


def no_plan(status: str, st: OptimizerSettings, notes) -> OptimizationResult:
    """A result without a plan (infeasible, out of time, solver error), with empty tables."""
    return OptimizationResult(status, None, None, None, None, None, plan_scenario=None, settings=st,
                              notes=list(notes), solver_status=status, **empty_tables())


def empty_tables() -> dict[str, pd.DataFrame]:
    """The result's tables with their columns and no rows."""
    return dict(allocation=pd.DataFrame(columns=ALLOCATION_COLUMNS),
                conversions=pd.DataFrame(columns=CONVERSION_COLUMNS),
                purchases=pd.DataFrame(columns=PURCHASE_COLUMNS),
                retirements=pd.DataFrame(columns=RETIREMENT_COLUMNS),
                moves=pd.DataFrame(columns=MOVE_COLUMNS),
                shadow_prices=pd.DataFrame(columns=SHADOW_COLUMNS))


def gap_and_bound(out: SolveOutcome, hm: HighsModel, objective_usd: float) -> tuple[float | None, float | None]:
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
