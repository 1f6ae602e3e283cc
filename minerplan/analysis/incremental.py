"""Every plan against the status quo: the NPV, IRR and payback of what the plan changes.

A miner's own cash flows usually start positive (the machines it owns earn
from month 0), so their IRR and payback describe nothing (the summary says
n/a). What a board decides is the plan: the conversions, purchases and
retirements inside the horizon. :func:`status_quo` is the scenario without
them (retired machines keep running), and :func:`incremental` prices the
difference on the SAME price paths (and random fees), so the increment is
the plan's effect and not a different draw of the market.

USD throughout; ``[path, month]`` arrays, vectorized over paths. With several
paths the increment's NPV is the plan's median NPV minus the status quo's
median NPV, the same statistic as the summary's headline (so the two agree
exactly); ``expected_npv_usd`` is the mean of the per-path differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.engine.evaluate import EngineResult, run_engine
from minerplan.engine.finance import irr_annual, payback_months
from minerplan.formats import fixed
from minerplan.scenario.months import month_index
from minerplan.analysis.report import json_number as _num, starts_with_outlay, statistic_label
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.model import Scenario
from minerplan.scenario.sites import Conversion
from minerplan.scenario.files import scenario_from_dict

#: Items named per kind in :func:`baseline_description` before "and N more".
LISTED_PER_KIND = 3


@dataclass(frozen=True)
class HorizonDecisions:
    """What the plan does inside the horizon: the entries :func:`status_quo` removes."""

    conversions: tuple[Conversion, ...]
    purchases: tuple[Cohort, ...]      # fleet rows delivered inside the horizon (dropped)
    retirements: tuple[Cohort, ...]    # fleet rows retired inside the horizon (kept running)

    @property
    def empty(self) -> bool:
        return not (self.conversions or self.purchases or self.retirements)


def horizon_decisions(sc: Scenario) -> HorizonDecisions:
    """Conversions starting, cohorts bought and cohorts retired in ``[start_month, start_month + horizon)``.

    A cohort bought inside the horizon is a purchase even when it is also
    retired inside it (the status quo never has it).
    """
    def inside(month: str | None) -> bool:
        return month is not None and 0 <= month_index(sc.start_month, month) < sc.horizon_months

    purchases = tuple(c for c in sc.fleet if inside(c.purchase_month))
    return HorizonDecisions(
        conversions=tuple(cv for cv in sc.conversion_plan if inside(cv.start_month)),
        purchases=purchases,
        retirements=tuple(c for c in sc.fleet if inside(c.retire_month) and not inside(c.purchase_month)))


def status_quo(sc: Scenario) -> Scenario:
    """``sc`` without conversions, purchases or retirements inside the horizon, named "... (status quo)".

    Conversions starting inside the horizon and cohorts delivered inside it
    are dropped; cohorts retired inside it lose their ``retire_month`` (they
    keep running). Entries dated at or after the horizon's end stay: they do
    not act inside it (a lease starting later can still count in the terminal value).
    """
    def inside(month: str | None) -> bool:
        return month is not None and 0 <= month_index(sc.start_month, month) < sc.horizon_months

    data = sc.model_dump(mode="json", exclude_none=True)
    data["name"] = f"{sc.name} (status quo)"
    data["conversion_plan"] = [row for row, cv in zip(data["conversion_plan"], sc.conversion_plan)
                               if not inside(cv.start_month)]
    fleet = []
    for row, c in zip(data["fleet"], sc.fleet):
        if inside(c.purchase_month):
            continue
        if inside(c.retire_month):
            del row["retire_month"]
        fleet.append(row)
    data["fleet"] = fleet
    return scenario_from_dict(data, data["name"])


def _listed(kind: str, items: list[str]) -> str:
    """``the 2 purchases (a; b)``; past :data:`LISTED_PER_KIND` items, ``...; and 4 more``."""
    n = len(items)
    shown = items[:LISTED_PER_KIND] + ([f"and {n - LISTED_PER_KIND} more"] if n > LISTED_PER_KIND else [])
    return f"the {n} {kind}{'' if n == 1 else 's'} ({'; '.join(shown)})"


def baseline_description(sc: Scenario) -> str:
    """What the status quo is, in words: the plan's conversions, purchases and retirements it leaves out."""
    dec = horizon_decisions(sc)
    if dec.empty:
        return "the plan itself: it has no conversions, purchases or retirements inside the horizon"
    parts = []
    if dec.conversions:
        parts.append(_listed("conversion", [f"{cv.gross_mw:g} MW at {cv.site} from {cv.start_month}"
                                            for cv in dec.conversions]))
    if dec.purchases:
        parts.append(_listed("purchase", [f"{fixed(c.count, 2)} x {c.model} at {c.site} in {c.purchase_month}"
                                          for c in dec.purchases]))
    if dec.retirements:
        parts.append(_listed("retirement", [f"{fixed(c.count, 2)} x {c.model} at {c.site} from {c.retire_month}, "
                                            "kept running" for c in dec.retirements]))
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"the same scenario without {listed} inside the horizon, on the same price paths"


def path_fees(res: EngineResult) -> np.ndarray | None:
    """The random fees per block ``[path, month]`` (BTC) ``res`` ran on, or None when it used the scenario's path.

    A run with random fees has a fee row per path that differs between paths
    (or from the scenario's fee path); passing them to the baseline's run
    makes both runs see the same blocks' fees.
    """
    fees = np.asarray(res.network.fees_btc_per_block, dtype=float)
    if fees.ndim != 2 or fees.shape[0] != res.n_paths:
        return None
    mk = res.scenario.market
    own = mk.fees_btc_per_block * (1 + mk.fee_growth_pct_per_month / 100.0) ** np.arange(fees.shape[1])
    if np.any(fees != fees[:1]) or not np.allclose(fees, own[None, :], rtol=1e-12, atol=0.0):
        return fees
    return None


def _check_same_paths(res: EngineResult, baseline: EngineResult) -> None:
    if baseline.months != res.months or baseline.btc_price_usd.shape != res.btc_price_usd.shape or not np.allclose(
            baseline.btc_price_usd, res.btc_price_usd, rtol=1e-12, atol=0.0):
        raise ValueError("the baseline must run on the plan's months and price paths "
                         f"(plan {res.btc_price_usd.shape}, baseline {baseline.btc_price_usd.shape})")


def incremental(res: EngineResult, *, baseline: EngineResult | None = None, seed: int | None = None,
                preset: str | None = None, gpu_rate_factor: np.ndarray | None = None) -> dict:
    """The plan against its status quo, on the same price paths (USD; JSON-safe, None for no value).

    ``baseline``: the status quo's run, when already computed; otherwise it is
    run on ``res``'s prices, random fees and GPU rental index (as stored in the
    result; ``gpu_rate_factor`` ``[path, month]`` overrides the latter). ``preset`` is passed on (``res.scenario`` already
    carries its network model); ``seed`` too, though given prices make it unused.

    Returns ``baseline`` (in words), ``baseline_npv_usd``, ``npv_usd`` (plan minus
    status quo, each the summary's statistic: the median across paths),
    ``expected_npv_usd`` (mean of per-path differences), ``irr`` (annual fraction,
    median across paths of the increment's IRR, its terminal value difference in
    the last month), ``payback_months`` (median among paths that pay back within
    the horizon, without the terminal value) and ``payback_share_of_paths``,
    ``irr_note`` when ``irr`` is None, and ``statistic``.
    An increment whose first flow (|flow| > $1) is not an outlay has no IRR or
    payback on that path.
    """
    sc = res.scenario
    out = {"baseline": baseline_description(sc), "statistic": statistic_label(res.n_paths)}
    plan_npv = float(np.median(res.npv_usd))
    if horizon_decisions(sc).empty:
        return _ordered({**out, "baseline_npv_usd": _num(plan_npv), "npv_usd": 0.0, "expected_npv_usd": 0.0,
                         "irr": None, "payback_months": None, "payback_share_of_paths": None,
                         "irr_note": "the plan is the status quo (nothing to compare)"})
    if baseline is None:
        fees = res.random_fees_btc_per_block if res.random_fees_btc_per_block is not None else path_fees(res)
        gpu = gpu_rate_factor if gpu_rate_factor is not None else res.gpu_rate_factor
        baseline = run_engine(status_quo(sc), prices=res.btc_price_usd, fees_btc_per_block=fees,
                              gpu_rate_factor=gpu, preset=preset, seed=seed)
    else:
        _check_same_paths(res, baseline)

    d = res.net_cash_flow_usd - baseline.net_cash_flow_usd                       # [path, month]
    with_terminal = d.copy()
    with_terminal[:, -1] += res.terminal_value_usd - baseline.terminal_value_usd
    outlay = starts_with_outlay(d)
    irr = np.where(outlay, irr_annual(with_terminal), np.nan) if outlay.any() else np.full(d.shape[0], np.nan)
    payback = np.where(outlay, payback_months(d), np.nan)
    paid = np.isfinite(payback)
    base_npv = float(np.median(baseline.npv_usd))
    result = {
        **out,
        "baseline_npv_usd": _num(base_npv),
        "npv_usd": _num(plan_npv - base_npv),
        "expected_npv_usd": _num(np.mean(res.npv_usd - baseline.npv_usd)),
        "irr": _num(np.nanmedian(irr)) if np.isfinite(irr).any() else None,
        "payback_months": _num(np.median(payback[paid])) if paid.any() else None,
        "payback_share_of_paths": _num(np.mean(paid)) if outlay.any() else None,
    }
    if result["irr"] is None:
        if not (np.abs(d) > 1.0).any():
            result["irr_note"] = "the plan changes no cash flow inside the horizon"
        elif not outlay.any():
            result["irr_note"] = "the plan's extra cash flows do not start with an outlay"
        else:
            result["irr_note"] = ("no discount rate between -99% and +100% a month makes the plan's extra cash "
                                  "flows worth zero")
    return _ordered(result)


_KEYS = ("baseline", "baseline_npv_usd", "npv_usd", "expected_npv_usd", "irr", "payback_months",
         "payback_share_of_paths", "irr_note", "statistic")


def _ordered(result: dict) -> dict:
    """The result's keys in the documented order (JSON and the app list them so)."""
    return {k: result[k] for k in _KEYS if k in result}
