"""How far to trust a plan: its value on fresh paths, the sampling gap, and how stable its decisions are.

The optimizer solves a sample-average approximation (SAA): it maximizes the mean over N price
paths, so on those paths the plan looks better than it is (it was fitted to them), and another
N paths could give another plan. Three numbers put a size on that (Mak, Morton and Wood 1999,
"Monte Carlo bounding techniques for determining solution quality in stochastic programs",
Operations Research Letters 24(1-2):47-56):

* **out of sample**: the plan evaluated by the engine on fresh paths (default 10,000) that the
  optimizer never saw. Its mean, with a 95% confidence interval, is an unbiased estimate of
  what the plan is worth; it is a *lower* bound on the best plan's value.
* **SAA gap**: M independent replications, each a fresh sample of N paths. On each the
  optimizer finds its best plan (value ``v_m``) and the engine evaluates *our* plan on the
  same paths (``f_m``). Since the best plan of a sample is at least as good there as ours,
  ``v_m - f_m >= 0``, and its mean over replications, ``E[v_N] - f(x)``, bounds from above how
  much better than ours the true optimum can be (``E[v_N]`` is biased upward, so the bound is
  conservative). The pairing on common paths makes its variance small. Reported with a 95%
  t-interval over the M replications.
* **stability**: for every decision (a conversion, a purchase, a retirement, by site and
  quarter), the share of the M re-solves that make it too.

The objective is the optimizer's own: expected NPV minus the risk weight times CVaR (with no
risk weight, the expected NPV). Long work: ``progress(fraction, what)`` and ``cancel()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from minerplan.engine.evaluate import progress_step, run_engine
from minerplan.formats import usd_m
from minerplan.scenario.model import Scenario

from .optimize import optimize
from .report import quarter
from .result import OptimizationResult
from .valuation import cvar_of_loss
from .settings import OptimizerSettings

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

#: Fresh paths for the out-of-sample value, and how many the engine evaluates at once (memory:
#: ~18 kB a path for the shipped scenario, so a chunk holds ~36 MB).
OUT_OF_SAMPLE_PATHS = 10_000
CHUNK_PATHS = 2_000
#: Independent re-solves for the gap and the stability shares.
REPLICATIONS = 10
#: Seeds: in-sample paths use ``settings.seed``; replication m uses ``seed + REPLICATION_SEED + m``,
#: out-of-sample chunk k uses ``seed + OUT_OF_SAMPLE_SEED + k`` (never the same paths twice).
REPLICATION_SEED = 1_000_003
OUT_OF_SAMPLE_SEED = 7_000_001


@dataclass
class PlanConfidence:
    """The three measures of one plan, in USD (see the module docstring)."""

    out_of_sample_paths: int
    out_of_sample_npv_usd: float | None            # expected NPV on fresh paths
    out_of_sample_ci95_usd: tuple[float, float] | None
    out_of_sample_objective_usd: float | None      # the optimizer's objective on those paths
    replications: int
    gap_usd: float | None                          # mean of v_m - f_m
    gap_ci95_usd: tuple[float, float] | None
    replication_values_usd: list[float] = field(default_factory=list)    # v_m
    plan_values_usd: list[float] = field(default_factory=list)           # f_m
    stability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["decision", "site", "quarter", "model", "in_plan", "share"]))
    failed_replications: int = 0

    def to_json(self) -> dict:
        def pair(p):
            return None if p is None else [float(p[0]), float(p[1])]

        return {
            "out_of_sample": {"paths": self.out_of_sample_paths, "expected_npv_usd": self.out_of_sample_npv_usd,
                              "ci95_usd": pair(self.out_of_sample_ci95_usd),
                              "objective_usd": self.out_of_sample_objective_usd},
            "saa_gap": {"replications": self.replications, "gap_usd": self.gap_usd,
                        "ci95_usd": pair(self.gap_ci95_usd), "failed_replications": self.failed_replications},
            "stability": [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                          for r in self.stability.to_dict("records")],
        }


def objective_usd(npv: np.ndarray, st: OptimizerSettings) -> float:
    """The optimizer's objective for per-path NPVs: mean minus risk weight x CVaR of the loss."""
    npv = np.asarray(npv, dtype=float)
    value = float(npv.mean())
    if st.risk_aversion:
        value -= st.risk_aversion * cvar_of_loss(npv, st.cvar_level)
    return value


def decision_keys(res: OptimizationResult) -> set[tuple[str, str, str, str]]:
    """A plan's decisions as (kind, site, quarter, model) keys: what 'the same decision' means when
    comparing re-solves (a quarter, not a month: a plan that converts in March and one that
    converts in February made the same call)."""
    out: set[tuple[str, str, str, str]] = set()
    for r in res.conversions.itertuples():
        if not getattr(r, "committed", False):
            out.add(("convert", str(r.site), quarter(r.start_month), ""))
    for r in res.purchases.itertuples():
        if r.units > 0:
            out.add(("buy", str(r.site), quarter(r.month), str(r.model)))
    for r in res.retirements.itertuples():
        if r.units > 0:
            out.add(("retire", str(r.site), quarter(r.month), str(r.model)))
    if res.moves is not None:
        for r in res.moves.itertuples():
            if r.units > 0:   # the site of a move is "from -> to"
                out.add(("move", f"{r.from_site} -> {r.to_site}", quarter(r.month), str(r.model)))
    return out


def stability_table(plan: set, replicated: list[set]) -> pd.DataFrame:
    """Every decision of the plan or of any re-solve, with the share of re-solves that make it."""
    keys = sorted(plan | set().union(*replicated) if replicated else plan,
                  key=lambda k: (k not in plan, k[0], k[1], k[2], k[3]))
    m = len(replicated)
    rows = [{"decision": k[0], "site": k[1], "quarter": k[2], "model": k[3], "in_plan": k in plan,
             "share": (sum(k in r for r in replicated) / m) if m else float("nan")} for k in keys]
    return pd.DataFrame(rows, columns=["decision", "site", "quarter", "model", "in_plan", "share"])


def _mean_ci95(x: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Mean and two-sided 95% t-interval (a normal one for large samples)."""
    n = x.size
    mean = float(x.mean())
    if n < 2:
        return mean, (mean, mean)
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, (mean - half, mean + half)


def assess_plan(sc: Scenario, res: OptimizationResult, settings: OptimizerSettings | None = None, *,
                out_of_sample_paths: int = OUT_OF_SAMPLE_PATHS, replications: int = REPLICATIONS,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> PlanConfidence:
    """The confidence measures of ``res`` (a solved plan of ``sc``); see the module docstring.

    Replications re-solve with the same settings on fresh paths; one that finds no plan in its
    time limit is counted in ``failed_replications`` and left out of the gap.
    """
    if not res.ok:
        raise ValueError("only a plan can be assessed (the result has none)")
    st = settings or res.settings
    step = progress_step(progress, cancel)
    plan_sc = res.plan_scenario
    oos_share = 0.3 if replications else 1.0

    # Out of sample: the plan on fresh paths, in chunks so memory stays bounded.
    oos_npv = None
    if out_of_sample_paths > 0:
        parts = []
        done = 0
        k = 0
        while done < out_of_sample_paths:
            n = min(CHUNK_PATHS, out_of_sample_paths - done)
            step(oos_share * done / out_of_sample_paths, f"plan on fresh paths: {done:,} of {out_of_sample_paths:,}")
            r = run_engine(plan_sc, n_paths=n, seed=st.seed + OUT_OF_SAMPLE_SEED + k, preset=st.preset)
            parts.append(r.npv_usd.copy())
            del r
            done += n
            k += 1
        oos_npv = np.concatenate(parts)

    # Replications: re-solve on fresh N-path samples; evaluate our plan on the same paths.
    values, ours, plans, failed = [], [], [], 0
    for m in range(replications):
        step(oos_share + (1 - oos_share) * m / replications, f"re-solve {m + 1} of {replications}")
        rst = OptimizerSettings(**{**vars(st), "seed": st.seed + REPLICATION_SEED + m})

        def sub_progress(f, what, m=m):
            if progress is not None:
                progress(oos_share + (1 - oos_share) * (m + f) / replications, f"re-solve {m + 1}: {what}")

        rep = optimize(sc, rst, progress=sub_progress, cancel=cancel)   # Cancelled propagates
        if not rep.ok or rep.npv_by_path_usd is None:
            failed += 1
            continue
        mine = run_engine(plan_sc, n_paths=rst.n_paths, seed=rst.seed, preset=rst.preset)
        values.append(objective_usd(rep.npv_by_path_usd, rst))
        ours.append(objective_usd(mine.npv_usd, rst))
        plans.append(decision_keys(rep))
    step(1.0, "done")

    oos_mean = oos_ci = oos_obj = None
    if oos_npv is not None:
        oos_mean, oos_ci = _mean_ci95(oos_npv)
        oos_obj = objective_usd(oos_npv, st)
    gap = gap_ci = None
    if values:
        # v_m >= f_m holds up to the MIP gap and solver tolerances; a negative difference is noise.
        gap, gap_ci = _mean_ci95(np.asarray(values) - np.asarray(ours))
    return PlanConfidence(out_of_sample_paths if oos_npv is not None else 0, oos_mean, oos_ci, oos_obj,
                          len(values), gap, gap_ci, [float(v) for v in values], [float(v) for v in ours],
                          stability_table(decision_keys(res), plans), failed)


def describe(conf: PlanConfidence, res: OptimizationResult) -> list[str]:
    """The confidence of a plan in words a CFO reads (USD millions)."""
    lines = []
    if conf.out_of_sample_npv_usd is not None:
        lo, hi = conf.out_of_sample_ci95_usd
        lines.append(f"This plan is worth {usd_m(conf.out_of_sample_npv_usd)} ± {usd_m((hi - lo) / 2)} "
                     f"(expected NPV, mean of {conf.out_of_sample_paths:,} fresh price paths the optimizer never "
                     f"saw, 95% confidence); on its own {res.settings.n_paths:,} paths it looked like "
                     f"{usd_m(res.expected_npv_usd)}.")
    if conf.gap_usd is not None:
        lo, hi = conf.gap_ci95_usd
        lines.append(f"Re-solving on {conf.replications} independent samples of {res.settings.n_paths:,} paths "
                     f"found plans at most {usd_m(max(conf.gap_usd, 0.0))} better on their own paths (95% CI "
                     f"{usd_m(lo)} to {usd_m(hi)}): the room left by solving on a sample.")
    if conf.failed_replications:
        lines.append(f"{conf.failed_replications} re-solve(s) found no plan within the time limit and are left out.")
    n = conf.replications
    if n:
        for r in conf.stability[conf.stability.in_plan].itertuples():
            lines.append(f"{round(r.share * n)} of {n} re-solves {_decision_words(r)}.")
        others = conf.stability[~conf.stability.in_plan & (conf.stability.share >= 0.5)]
        for r in others.itertuples():
            lines.append(f"Not in this plan, but {round(r.share * n)} of {n} re-solves {_decision_words(r)}.")
    return lines


def _decision_words(r) -> str:
    """'convert North Dakota in 2026-Q1', 'buy Antminer S21 XP for Texas in 2026-Q2', 'retire ... at ...'."""
    if r.decision == "convert":
        return f"convert {r.site} in {r.quarter}"
    if r.decision == "buy":
        return f"buy {r.model} for {r.site} in {r.quarter}"
    if r.decision == "move":
        frm, to = str(r.site).split(" -> ")
        return f"move {r.model} from {frm} to {to} in {r.quarter}"
    return f"retire {r.model} at {r.site} in {r.quarter}"
