"""Tornado of the NPV over the major inputs: each moved down and up, one deterministic engine run per case.

Every run is on the deterministic BTC price path (one path). Scaled inputs move by
``swing_pct`` % of their value each side; rates move by fixed points
(:data:`POINT_STEPS`). Rows come widest swing first, in USD of NPV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd

from minerplan.analysis.one_path import edited, npv_one_path, scale_power
from minerplan.engine.evaluate import CancelFn, ProgressFn, progress_step
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario


#: Every tornado input, in the order rows are built (ties in swing keep this order).
TORNADO_INPUTS = ("btc_price", "hashrate_growth", "power_price", "fees_per_block", "lease_rate",
                  "conversion_capex", "discount_rate", "pool_fee", "g_and_a", "asic_prices")
#: Inputs moved by percentage points (each side) rather than by ``swing_pct`` of their value.
POINT_STEPS = {"hashrate_growth": 1.0, "discount_rate": 2.0, "pool_fee": 1.0}
_POINT_RANGE = {"hashrate_growth": (-50.0, 50.0), "discount_rate": (0.0, 100.0), "pool_fee": (0.0, 100.0)}

TORNADO_COLUMNS = ["input", "low_value", "high_value", "npv_low_usd", "npv_high_usd", "unit", "swing_usd",
                   "base_npv_usd", "key", "name", "low_label", "high_label"]


@dataclass(frozen=True)
class _Case:
    key: str
    input: str
    name: str
    unit: str
    low_value: float
    high_value: float
    low_label: str
    high_label: str
    low: Callable[[], float]
    high: Callable[[], float]


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _scale_ai(d: dict, section: str | None, key: str, factor: float, default: float) -> None:
    for s in d["sites"]:
        if s.get("ai") is not None:
            target = s["ai"] if section is None else s["ai"].setdefault(section, {})
            target[key] = target.get(key, default) * factor


def _cases(sc: Scenario, swing: float) -> dict[str, _Case]:
    """Low/high cases of every applicable input (no AI/HPC site: no lease or conversion capex rows)."""
    path = deterministic_path(sc)
    mk, fin = sc.market, sc.finance
    pct = f"{swing * 100:g}%"
    lo_f, hi_f = 1.0 - swing, 1.0 + swing

    def prices(factor):
        return lambda: npv_one_path(sc, (path * factor)[None, :])

    def edit(mutate):
        def run():
            try:
                return npv_one_path(edited(sc, mutate, "tornado"))
            except ScenarioError:       # the moved input is out of its valid range
                return float("nan")
        return run

    def setter(section, key, v):
        return lambda d: d[section].__setitem__(key, v)

    def scaler(section, key, f):
        return lambda d: d[section].__setitem__(key, d[section].get(key, getattr(getattr(sc, section), key)) * f)

    def points(key, value, section, field):
        step = POINT_STEPS[key]
        lo, hi = _POINT_RANGE[key]
        return (_clamp(value - step, lo, hi), _clamp(value + step, lo, hi), f"±{step:g} pt",
                lambda v: edit(setter(section, field, v)))

    out: dict[str, _Case] = {}
    p0 = float(path[0])
    out["btc_price"] = _Case("btc_price", "BTC price", f"BTC price ±{pct} (USD/BTC)",
                             "USD/BTC (first month; the whole deterministic path scales)",
                             p0 * lo_f, p0 * hi_f, f"${p0 * lo_f:,.0f}", f"${p0 * hi_f:,.0f}",
                             prices(lo_f), prices(hi_f))
    if mk.network_model == "supply":
        # The supply model has no growth trend: what new capacity costs the builders sets how far the
        # network grows (cheaper: more hashrate, lower hashprice).
        c0 = mk.network_supply.new_capex_usd_per_w

        def build_cost(f):
            return edit(lambda d: d["market"].setdefault("network_supply", {}).__setitem__(
                "new_capex_usd_per_w", c0 * f))

        out["hashrate_growth"] = _Case(
            "hashrate_growth", "Network build cost", f"Network build cost ±{pct} (USD/W)",
            "USD per W the network's builders pay for new capacity (supply model; cheaper: faster growth)",
            c0 * lo_f, c0 * hi_f, f"${c0 * lo_f:.2f}/W", f"${c0 * hi_f:.2f}/W", build_cost(lo_f), build_cost(hi_f))
    else:
        g_lo, g_hi, tag, run = points("hashrate_growth", mk.hashrate_growth_pct_per_month, "market",
                                      "hashrate_growth_pct_per_month")
        out["hashrate_growth"] = _Case("hashrate_growth", "Hashrate growth", f"Hashrate growth {tag} (%/mo)",
                                       "%/month (network hashrate trend)", g_lo, g_hi, f"{g_lo:g} %/month",
                                       f"{g_hi:g} %/month", run(g_lo), run(g_hi))
    out["power_price"] = _Case("power_price", "Power price", f"Power price ±{pct} (USD/MWh)",
                               "% of every site's energy price (USD/MWh; hourly profiles too)",
                               100 * lo_f, 100 * hi_f, f"{100 * lo_f:g} % of contract",
                               f"{100 * hi_f:g} % of contract",
                               edit(lambda d: scale_power(d, lo_f)), edit(lambda d: scale_power(d, hi_f)))
    fees = mk.fees_btc_per_block
    out["fees_per_block"] = _Case("fees_per_block", "Fees per block", f"Fees per block ±{pct} (BTC/block)",
                                  "BTC/block (start month)", fees * lo_f, fees * hi_f,
                                  f"{fees * lo_f:.4g} BTC/block", f"{fees * hi_f:.4g} BTC/block",
                                  edit(scaler("market", "fees_btc_per_block", lo_f)),
                                  edit(scaler("market", "fees_btc_per_block", hi_f)))
    ai_sites = [s for s in sc.sites if s.ai is not None]
    if ai_sites:
        rate = ai_sites[0].ai.colocation.rate_usd_per_kw_month
        out["lease_rate"] = _Case(
            "lease_rate", "AI lease rate", f"AI lease ±{pct} (USD/kW-mo)",
            "USD/kW-month (first AI site; every AI site's rate scales)", rate * lo_f, rate * hi_f,
            f"{rate * lo_f:,.0f} USD/kW-mo", f"{rate * hi_f:,.0f} USD/kW-mo",
            edit(lambda d: _scale_ai(d, "colocation", "rate_usd_per_kw_month", lo_f, 140.0)),
            edit(lambda d: _scale_ai(d, "colocation", "rate_usd_per_kw_month", hi_f, 140.0)))
        capex = ai_sites[0].ai.conversion_capex_usd_per_critical_mw
        out["conversion_capex"] = _Case(
            "conversion_capex", "Conversion capex", f"Conversion capex ±{pct} (USD/critical MW)",
            "USD per critical MW (first AI site; every AI site's capex scales)", capex * lo_f, capex * hi_f,
            f"${capex * lo_f / 1e6:,.2f}M/MW", f"${capex * hi_f / 1e6:,.2f}M/MW",
            edit(lambda d: _scale_ai(d, None, "conversion_capex_usd_per_critical_mw", lo_f, 9_500_000.0)),
            edit(lambda d: _scale_ai(d, None, "conversion_capex_usd_per_critical_mw", hi_f, 9_500_000.0)))
    r_lo, r_hi, tag, run = points("discount_rate", fin.discount_rate_pct, "finance", "discount_rate_pct")
    out["discount_rate"] = _Case("discount_rate", "Discount rate", f"Discount rate {tag} (%/yr)", "%/year",
                                 r_lo, r_hi, f"{r_lo:g} %/yr", f"{r_hi:g} %/yr", run(r_lo), run(r_hi))
    f_lo, f_hi, tag, run = points("pool_fee", fin.pool_fee_pct, "finance", "pool_fee_pct")
    out["pool_fee"] = _Case("pool_fee", "Pool fee", f"Pool fee {tag} (%)", "% of mined BTC",
                            f_lo, f_hi, f"{f_lo:g} %", f"{f_hi:g} %", run(f_lo), run(f_hi))
    ga = fin.g_and_a_usd_per_month
    out["g_and_a"] = _Case("g_and_a", "G&A", f"G&A ±{pct} (USD/mo)", "USD/month", ga * lo_f, ga * hi_f,
                           f"${ga * lo_f:,.0f}/mo", f"${ga * hi_f:,.0f}/mo",
                           edit(scaler("finance", "g_and_a_usd_per_month", lo_f)),
                           edit(scaler("finance", "g_and_a_usd_per_month", hi_f)))

    def asic(f):
        def m(d):
            for c in d["fleet"]:
                c["purchase_price_usd"] = c.get("purchase_price_usd", 0.0) * f
        return m

    out["asic_prices"] = _Case("asic_prices", "ASIC prices", f"ASIC prices ±{pct} (USD/unit)",
                               "% of every cohort's purchase price (USD/unit; resale values held)",
                               100 * lo_f, 100 * hi_f, f"{100 * lo_f:g} % of price", f"{100 * hi_f:g} % of price",
                               edit(asic(lo_f)), edit(asic(hi_f)))
    return out


def tornado(sc: Scenario, *, inputs: Sequence[str] | None = None, swing_pct: float = 20.0,
            base_npv_usd: float | None = None, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> pd.DataFrame:
    """NPV at the low and high case of each input, one deterministic engine run each; widest swing first.

    Inputs (keys of :data:`TORNADO_INPUTS`): ``btc_price`` (the whole deterministic path
    scaled), ``hashrate_growth`` (±1 pt of %/month on the trend and capitulation network
    models; on the supply model, the network's build cost ±``swing_pct``), ``power_price`` (every site's price and
    hourly profile scaled), ``fees_per_block``, ``lease_rate`` (every AI site's colocation
    rate), ``conversion_capex`` (every AI site's USD per critical MW), ``discount_rate``
    (±2 pt), ``pool_fee`` (±1 pt), ``g_and_a``, ``asic_prices`` (every cohort's purchase
    price; salvage held). Scaled inputs move by ``swing_pct`` % each side; point-moved
    ones by :data:`POINT_STEPS`, clamped to the field's range. Lease and conversion-capex
    rows exist only when a site has an ``ai`` section. A case the schema rejects gets NaN
    NPVs (swing 0). Rows are sorted by swing ``|NPV high - NPV low|``, widest first (ties
    keep the order of :data:`TORNADO_INPUTS`).

    Columns: ``input``, ``low_value``, ``high_value`` (in ``unit``), ``npv_low_usd``,
    ``npv_high_usd``, ``unit``, ``swing_usd``, ``base_npv_usd``, ``key``, ``name`` (with the
    move and unit, for a chart axis), ``low_label``, ``high_label``.
    ``progress(frac, text)`` is called before each run; ``cancel()`` returning True raises
    :class:`~minerplan.engine.evaluate.Cancelled`.
    """
    if not (math.isfinite(swing_pct) and 0 < swing_pct < 100):
        raise ValueError(f"swing_pct must be between 0 and 100 (exclusive), got {swing_pct!r}")
    keys = list(TORNADO_INPUTS if inputs is None else inputs)
    unknown = [k for k in keys if k not in TORNADO_INPUTS]
    if unknown:
        raise ValueError(f"unknown tornado input(s) {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(TORNADO_INPUTS)}")
    step = progress_step(progress, cancel)
    cases = _cases(sc, swing_pct / 100.0)
    chosen = [cases[k] for k in dict.fromkeys(keys) if k in cases]
    n_runs = 2 * len(chosen) + (base_npv_usd is None)
    done = 0
    if base_npv_usd is None:
        step(0.0, "base case")
        base_npv_usd = npv_one_path(sc)
        done = 1
    rows = []
    for case in chosen:
        step(done / n_runs, f"{case.input}: low case")
        low = case.low()
        step((done + 1) / n_runs, f"{case.input}: high case")
        high = case.high()
        done += 2
        swing = abs(high - low) if math.isfinite(low) and math.isfinite(high) else 0.0
        rows.append({"input": case.input, "low_value": case.low_value, "high_value": case.high_value,
                     "npv_low_usd": low, "npv_high_usd": high, "unit": case.unit, "swing_usd": swing,
                     "base_npv_usd": float(base_npv_usd), "key": case.key, "name": case.name,
                     "low_label": case.low_label, "high_label": case.high_label})
    step(1.0, "done")
    rows = sorted(rows, key=lambda r: r["swing_usd"], reverse=True)     # stable: ties keep input order
    return pd.DataFrame(rows, columns=TORNADO_COLUMNS)
