"""The status quo on the optimizer's own paths: what doing nothing is worth, and what the plan adds.

"Doing nothing" is the scenario as entered (its fleet, its signed conversions, nothing bought,
converted or retired beyond them), evaluated by the engine on the same ``n_paths`` price paths
and seed as the plan, so the difference is the plan's own, not sampling noise. The optimizer
can always choose the status quo where it meets the constraints (cash floor, budget), so a plan
worse than it by more than the MIP gap points at a fault, and :func:`compare` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.model import Scenario

from .confidence import objective_usd
from .result import OptimizationResult
from .settings import OptimizerSettings


@dataclass(frozen=True)
class Baseline:
    expected_npv_usd: float          # the status quo's expected NPV (mean of the plan's paths)
    objective_usd: float             # the optimizer's objective for it (NPV minus risk weight x CVaR)
    incremental_expected_npv_usd: float | None     # plan minus status quo, expected NPV
    incremental_objective_usd: float | None
    worse_than_status_quo: bool      # the plan's objective is below the status quo's by more than the MIP gap

    def to_json(self) -> dict:
        return {"baseline": {"expected_npv_usd": self.expected_npv_usd, "objective_usd": self.objective_usd,
                             "what": "the scenario as entered (nothing bought, converted or retired beyond it), "
                                     "on the plan's price paths"},
                "incremental_expected_npv_usd": self.incremental_expected_npv_usd,
                "worse_than_status_quo": self.worse_than_status_quo}


def compare(sc: Scenario, res: OptimizationResult, settings: OptimizerSettings | None = None) -> Baseline:
    """The status quo's value on the plan's paths and the plan's increment over it."""
    st = settings or res.settings
    base = run_engine(sc, n_paths=st.n_paths, seed=st.seed, preset=st.preset)
    base_npv = float(base.npv_usd.mean())
    base_obj = objective_usd(base.npv_usd, st)
    if not res.ok or res.npv_by_path_usd is None:
        return Baseline(base_npv, base_obj, None, None, False)
    plan_obj = objective_usd(res.npv_by_path_usd, st)
    gap_usd = (res.mip_gap or 0.0) * max(abs(plan_obj), abs(base_obj)) + 1e-6 * max(abs(base_obj), 1.0)
    return Baseline(base_npv, base_obj, float(res.expected_npv_usd) - base_npv, plan_obj - base_obj,
                    plan_obj < base_obj - gap_usd)
