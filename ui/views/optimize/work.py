"""What the Optimize view runs in the background, and what a run hands back to the GUI thread. No Qt here.

``_run_work`` and ``_frontier_work`` make the functions a :class:`~ui.kit.jobs.Job` runs
(``work(progress, cancel)``): one optimizer run (:func:`solvers.optimize.optimize`) with the plan's
capex schedule from the engine, or the efficient frontier (:func:`solvers.frontier.efficient_frontier`)
over :data:`FRONTIER_WEIGHTS` and the run's own risk weight. :func:`frontier_result` loads one point
of a frontier as a result (:func:`solvers.frontier.frontier_plan`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.scenario.model import Scenario
from solvers.decisions.build import build_decision_space
from solvers.decisions.space import DecisionSpace
from solvers.frontier import efficient_frontier, frontier_plan
from solvers.optimize import optimize
from solvers.result import OptimizationResult
from solvers.settings import OptimizerSettings

#: The risk weights a frontier is traced over (the form's own weight is added).
FRONTIER_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass
class RunOutput:
    """What a background optimizer run hands back to the GUI thread."""

    result: OptimizationResult
    source: Scenario                    # the scenario it was computed from
    capex_months: list[str]
    capex_usd: np.ndarray | None        # capex per month (USD), from the engine on plan_scenario
    origin: str = "run"                 # run | frontier


@dataclass
class FrontierOutput:
    """A traced frontier: one row per risk weight (see efficient_frontier), and what its plans are read with."""

    table: pd.DataFrame
    space: DecisionSpace
    source: Scenario
    settings: OptimizerSettings


def capex_by_month(plan: Scenario) -> tuple[list[str], np.ndarray]:
    """Capex per month (USD: AI/HPC conversions spread over lead time, ASIC purchases), exact from the engine."""
    res = run_engine(plan)
    return list(res.months), np.asarray(res.capex_usd, float).sum(axis=1)


def _run_work(sc: Scenario, st: OptimizerSettings):
    """One optimizer run of ``sc`` with ``st``, and its plan's capex by month."""
    def work(progress, cancel) -> RunOutput:
        res = optimize(sc, st, progress=lambda f, s: progress(0.97 * f, s), cancel=cancel)
        months, capex = ([], None)
        if res.ok:
            progress(0.98, "capex schedule from the engine")
            months, capex = capex_by_month(res.plan_scenario)
        return RunOutput(res, sc, months, capex)
    return work


def _frontier_work(sc: Scenario, st: OptimizerSettings, weights):
    """The efficient frontier of ``sc`` over ``weights``, with the decision space its plans are read with."""
    def work(progress, cancel) -> FrontierOutput:
        def prep(f, s):
            if cancel():
                raise Cancelled(s)
            progress(0.15 * f, s)
        progress(0.0, "preparing decisions")
        space = build_decision_space(sc, st, progress=prep)
        progress(0.15, "tracing the frontier (one solve per risk weight)")
        table = efficient_frontier(sc, st, weights, progress=lambda f, s: progress(0.15 + 0.85 * f, s),
                                   cancel=cancel)
        return FrontierOutput(table, space, sc, st)
    return work


def frontier_result(out: FrontierOutput, k: int) -> OptimizationResult:
    """The plan of frontier row ``k`` as an OptimizationResult (no duals: shadow prices need a full run)."""
    return frontier_plan(out.space, out.settings, out.table.iloc[k])


def frontier_valid(table: pd.DataFrame) -> np.ndarray:
    """Rows of a frontier with a plan: solved (optimal or time-limited) and valued."""
    npv = pd.to_numeric(table["expected_npv_usd"], errors="coerce")
    return npv.notna().to_numpy() & table["status"].isin(["optimal", "time_limit"]).to_numpy()
