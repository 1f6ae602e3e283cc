"""Sensitivity of the NPV: a tornado over major inputs and breakeven solvers that invert the engine.

Everything runs the engine on the deterministic BTC price path (one path). The
breakeven solvers bracket a sign change and close it with :func:`find_root`
(Brent's method: inverse quadratic / secant steps guarded by bisection), to a
tolerance on the *function value*: the engine at the answer meets the condition to
``rel_tol`` (default 1e-6) of the problem's NPV scale. When no root exists in the
search range they raise :class:`NoRootError` saying why.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from minerplan.engine.evaluate import CancelFn, Cancelled, ProgressFn, progress_step, run_engine
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.months import month_index
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict

__all__ = ["Cancelled", "NoRootError", "find_root", "tornado", "TORNADO_INPUTS", "POINT_STEPS",
           "breakeven_btc_price", "curtailment_power_price", "conversion_breakeven_lease_rate"]


class NoRootError(ValueError):
    """The condition has no solution in the range searched (e.g. NPV positive even at $1/BTC)."""


# --------------------------------------------------------------------------- root finding

_EPS = np.finfo(float).eps


def find_root(f: Callable[[float], float], a: float, b: float, *, fa: float | None = None,
              fb: float | None = None, ftol: float = 0.0, xtol: float = 0.0,
              maxiter: int = 200) -> tuple[float, float]:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` differ in sign: ``(x, f(x))``.

    Brent's method: each step tries inverse quadratic interpolation (secant when only
    two points are distinct) and falls back to bisection whenever that step would
    leave the bracket or shrink it too slowly, so it converges like the secant method
    on smooth functions and never slower than bisection. Stops when ``|f(x)| <= ftol``
    or the bracket is narrower than ``xtol`` (plus a few ulps of ``x``); then ``x`` is
    the bracket end with the smaller ``|f|``. Raises :class:`NoRootError` when the ends
    do not bracket a sign change.
    """
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    if not (math.isfinite(fa) and math.isfinite(fb)):
        raise NoRootError(f"function is not finite at the bracket ends ({fa}, {fb})")
    if fa == 0.0:
        return a, fa
    if fb == 0.0:
        return b, fb
    if (fa > 0) == (fb > 0):
        raise NoRootError(f"no sign change between {a:g} ({fa:g}) and {b:g} ({fb:g})")
    c, fc = b, fb
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):             # keep the root between b and c
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):                # b is the best estimate so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol1 = 2.0 * _EPS * abs(b) + 0.5 * xtol
        xm = 0.5 * (c - b)
        if abs(fb) <= ftol or fb == 0.0 or abs(xm) <= tol1:
            return b, fb
        if abs(e) >= tol1 and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:                       # secant
                p, q = 2.0 * xm * s, 1.0 - s
            else:                            # inverse quadratic interpolation
                q, r = fa / fc, fb / fc
                p = s * (2.0 * xm * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            p = abs(p)
            if 2.0 * p < min(3.0 * xm * q - abs(tol1 * q), abs(e * q)):
                e, d = d, p / q              # accept the interpolation
            else:
                d = e = xm                   # bisection
        else:
            d = e = xm
        a, fa = b, fb
        b += d if abs(d) > tol1 else math.copysign(tol1, xm)
        fb = f(b)
        if not math.isfinite(fb):
            raise NoRootError(f"function is not finite at {b:g}")
    return b, fb


def _solve(f: Callable[[float], float], lo: float, hi: float, f_lo: float, f_hi: float, scale: float,
           rel_tol: float, what: str) -> float:
    """Root of ``f`` in a bracket, checked: ``|f(x)| <= rel_tol x scale`` unless the bracket hit machine precision."""
    ftol = rel_tol * scale
    x, fx = find_root(f, lo, hi, fa=f_lo, fb=f_hi, ftol=0.1 * ftol)
    if abs(fx) > ftol and abs(fx) > 1e-9 * max(abs(f_lo), abs(f_hi)):
        raise NoRootError(f"{what}: the NPV jumps across zero near {x:,.6g} (|gap| {abs(fx):,.0f} USD); "
                          "no exact breakeven")
    return x


def _npv(sc: Scenario, prices: np.ndarray | None = None) -> float:
    return float(run_engine(sc, n_paths=1, prices=prices).npv_usd[0])


def _edited(sc: Scenario, mutate: Callable[[dict], None], source: str) -> Scenario:
    d = scenario_to_dict(sc)
    mutate(d)
    return scenario_from_dict(d, source)


# --------------------------------------------------------------------------- tornado

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


def _scale_power(d: dict, factor: float) -> None:
    for s in d["sites"]:
        s["power_price_usd_per_mwh"] = s["power_price_usd_per_mwh"] * factor
        if s.get("hourly_price_usd_per_mwh") is not None:
            s["hourly_price_usd_per_mwh"] = [[x * factor for x in row] for row in s["hourly_price_usd_per_mwh"]]


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
        return lambda: _npv(sc, (path * factor)[None, :])

    def edit(mutate):
        def run():
            try:
                return _npv(_edited(sc, mutate, "tornado"))
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
                               edit(lambda d: _scale_power(d, lo_f)), edit(lambda d: _scale_power(d, hi_f)))
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
        base_npv_usd = _npv(sc)
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


# --------------------------------------------------------------------------- breakeven BTC price

#: Upper end of the BTC price search, USD (first month).
MAX_BTC_PRICE_USD = 1e9


def breakeven_btc_price(sc: Scenario, *, rel_tol: float = 1e-6, progress: ProgressFn | None = None,
                        cancel: CancelFn | None = None) -> float:
    """First-month BTC price (USD) at which the deterministic NPV is 0, the whole path scaled proportionally.

    The NPV of the path ``path x (P / path[0])`` is bracketed by halving (or doubling) the
    price from the scenario's until it changes sign, down to $1 and up to
    :data:`MAX_BTC_PRICE_USD`, then solved with :func:`find_root` until
    ``|NPV| <= rel_tol x |NPV at the scenario's price|``. Raises :class:`NoRootError` when
    the NPV is positive even at $1/BTC or still negative at the upper end.
    """
    step = progress_step(progress, cancel)
    path = deterministic_path(sc)
    p0 = float(path[0])
    calls = [0]

    def npv_at(price: float) -> float:
        calls[0] += 1
        step(min(calls[0] / 60.0, 0.99), f"BTC price ${price:,.2f}: engine run {calls[0]}")
        return _npv(sc, (path * (price / p0))[None, :])

    base = npv_at(p0)
    if base == 0.0:
        return p0
    lo, f_lo, hi, f_hi = p0, base, p0, base
    if base > 0:
        while f_lo > 0:
            if lo <= 1.0:
                raise NoRootError(f"NPV is positive even at a first-month BTC price of $1 "
                                  f"({f_lo:,.0f} USD): no breakeven BTC price")
            hi, f_hi = lo, f_lo
            lo = max(lo / 2.0, 1.0)
            f_lo = npv_at(lo)
    else:
        while f_hi < 0:
            if hi >= MAX_BTC_PRICE_USD:
                raise NoRootError(f"NPV is still negative at a first-month BTC price of ${hi:,.0f} "
                                  f"({f_hi:,.0f} USD): no breakeven BTC price")
            lo, f_lo = hi, f_hi
            hi = min(hi * 2.0, MAX_BTC_PRICE_USD)
            f_hi = npv_at(hi)
    x = _solve(npv_at, lo, hi, f_lo, f_hi, abs(base), rel_tol, "breakeven BTC price")
    step(1.0, "done")
    return float(x)


# --------------------------------------------------------------------------- curtailment price

def _site_index(sc: Scenario, site: str | int) -> int:
    if isinstance(site, bool):
        raise ValueError("site must be a site name or index")
    if isinstance(site, int):
        if not 0 <= site < len(sc.sites):
            raise ValueError(f"site index {site} is out of range (0..{len(sc.sites) - 1})")
        return site
    idx = sc.site_index()
    if site not in idx:
        names = ", ".join(repr(s.name) for s in sc.sites[:20])
        raise ValueError(f"no site named {site!r} (sites: {names})")
    return idx[site]


def _month_index(sc: Scenario, month: int | str) -> int:
    m = month_index(sc.start_month, month) if isinstance(month, str) else int(month)
    if not 0 <= m < sc.horizon_months:
        raise ValueError(f"month {month!r} is outside the scenario's {sc.horizon_months} months")
    return m


def curtailment_power_price(sc: Scenario, site: str | int, month: int | str = 0) -> pd.DataFrame:
    """Per cohort at ``site``: the energy price (USD/MWh) above which it stops running in ``month``.

    The engine runs a cohort's slot when hashprice >= (price + credit) x MWh per TH-day /
    (1 - pool fee), MWh per TH-day at the meter (PUE included, the cohort's degraded
    hashrate that month) and hashprice the deterministic path's (USD per TH/s per day).
    So the cohort runs at prices up to ``hashprice x (1 - fee) / MWh per TH-day - credit``
    and is curtailed above it. With an hourly profile that price applies to each hour's
    price. ``month`` is a 0-based index or ``YYYY-MM``.

    Columns: ``cohort`` (fleet index), ``model``, ``efficiency_j_per_th`` (wall, that month),
    ``mwh_per_th_day``, ``hashprice_usd_per_th_day``, ``curtail_above_usd_per_mwh``
    (NaN when the cohort is not installed and placed that month; +inf when the site
    cannot curtail), ``note``. At a site with a take-or-pay minimum a cohort may run
    above this price to draw the minimum (the note says so).
    """
    s = _site_index(sc, site)
    m = _month_index(sc, month)
    res = run_engine(sc, n_paths=1)
    fl = res.fleet
    st = sc.sites[s]
    fee = sc.finance.pool_fee_pct / 100.0
    hp = float(res.hashprice_usd_per_th_day[0, m])
    running = fl.running_units[m] * fl.uptime
    rows = []
    for c in np.flatnonzero(fl.site == s):
        ths = float(fl.hashrate_ths_per_unit[m, c])
        watts = float(fl.power_w_per_unit[c])
        e_th = watts * st.pue / 1e6 * 24.0 / ths
        note = ""
        if running[c] <= 0:
            price = float("nan")
            note = "not running this month (not installed, retired or displaced by a conversion)"
        elif not st.curtailment_enabled:
            price = float("inf")
            note = "curtailment disabled at the site: runs at any price"
        else:
            price = hp * (1.0 - fee) / e_th - st.curtailment_credit_usd_per_mwh
            if st.take_or_pay_mwh_per_month > 0:
                note = "take-or-pay site: may run above this price to draw the monthly minimum"
            elif st.hourly_price_usd_per_mwh is not None:
                note = "hourly profile: runs in the hours priced at or below this"
        rows.append({"cohort": int(c), "model": sc.fleet[c].model, "efficiency_j_per_th": watts / ths,
                     "mwh_per_th_day": e_th, "hashprice_usd_per_th_day": hp,
                     "curtail_above_usd_per_mwh": price, "note": note})
    return pd.DataFrame(rows, columns=["cohort", "model", "efficiency_j_per_th", "mwh_per_th_day",
                                       "hashprice_usd_per_th_day", "curtail_above_usd_per_mwh", "note"])


def with_flat_site_price(sc: Scenario, site: str | int, usd_per_mwh: float) -> Scenario:
    """``sc`` with one flat energy price at ``site`` (its hourly profile removed)."""
    s = _site_index(sc, site)

    def m(d):
        d["sites"][s]["power_price_usd_per_mwh"] = float(usd_per_mwh)
        d["sites"][s].pop("hourly_price_usd_per_mwh", None)
    return _edited(sc, m, "flat site price")


# --------------------------------------------------------------------------- conversion lease breakeven

#: Upper end of the lease-rate search, USD per kW-month.
MAX_LEASE_RATE = 1e6


def conversion_breakeven_lease_rate(sc: Scenario, site: str | int, gross_mw: float, start_month: str, *,
                                    rel_tol: float = 1e-6, progress: ProgressFn | None = None,
                                    cancel: CancelFn | None = None) -> float:
    """Colocation rate (USD per kW of critical IT per month) at which converting pays exactly nothing.

    The conversion (``gross_mw`` at ``site`` from ``start_month``, colocation) is added to
    the scenario's plan with the site's lease rate set to ``r``; the answer is the ``r``
    where that NPV equals the NPV without the conversion, to ``rel_tol x |NPV without|``.
    The rate is per site in the schema: when the site already has colocation conversions
    the "without" case is also evaluated at ``r``, so the answer is the rate at which the
    *added* conversion breaks even. Raises :class:`NoRootError` when the conversion adds
    value even at $0 or never does up to :data:`MAX_LEASE_RATE`; errors in the inputs
    (unknown site, no ai section, too many MW) raise ValueError / ScenarioError.
    """
    step = progress_step(progress, cancel)
    s = _site_index(sc, site)
    st = sc.sites[s]
    if st.ai is None:
        raise ValueError(f"site {st.name!r} has no ai section, so nothing there is convertible")
    if not (isinstance(gross_mw, (int, float)) and not isinstance(gross_mw, bool)
            and math.isfinite(gross_mw) and gross_mw > 0):
        raise ValueError(f"gross_mw must be a positive number, got {gross_mw!r}")
    base = scenario_to_dict(sc)
    others = any(cv.site == st.name and (cv.business_model or st.ai.business_model) == "colocation"
                 for cv in sc.conversion_plan)

    def scenario_at(rate: float, with_conversion: bool) -> Scenario:
        d = copy.deepcopy(base)
        d["sites"][s]["ai"].setdefault("colocation", {})["rate_usd_per_kw_month"] = float(rate)
        if with_conversion:
            d["conversion_plan"] = d.get("conversion_plan", []) + [
                {"site": st.name, "gross_mw": float(gross_mw), "start_month": start_month,
                 "business_model": "colocation"}]
        return scenario_from_dict(d, "lease-rate breakeven")

    scenario_at(st.ai.colocation.rate_usd_per_kw_month, True)   # input errors now, before any search
    calls = [0]
    npv_without_base = _npv(sc)

    def gain(rate: float) -> float:
        calls[0] += 1
        step(min(calls[0] / 60.0, 0.99), f"lease ${rate:,.2f}/kW-month: engine run {calls[0]}")
        without = _npv(scenario_at(rate, False)) if others else npv_without_base
        return _npv(scenario_at(rate, True)) - without

    f0 = gain(0.0)
    if f0 >= 0:
        if f0 == 0:
            return 0.0
        raise NoRootError(f"the conversion adds {f0:,.0f} USD of NPV even at a lease rate of $0/kW-month: "
                          "no breakeven lease rate")
    hi = max(st.ai.colocation.rate_usd_per_kw_month, 100.0)
    f_hi = gain(hi)
    lo, f_lo = 0.0, f0
    while f_hi < 0:
        if f_hi == f0:
            raise NoRootError("the NPV with the conversion does not depend on the lease rate (no lease month "
                              "falls in the horizon and no contracted terminal value): no breakeven lease rate")
        if hi >= MAX_LEASE_RATE:
            raise NoRootError(f"the conversion still loses {-f_hi:,.0f} USD of NPV at "
                              f"${hi:,.0f}/kW-month: no breakeven lease rate")
        lo, f_lo = hi, f_hi
        hi = min(hi * 4.0, MAX_LEASE_RATE)
        f_hi = gain(hi)
    scale = abs(npv_without_base) if npv_without_base != 0 else max(abs(f_lo), abs(f_hi))
    x = _solve(gain, lo, hi, f_lo, f_hi, scale, rel_tol, "breakeven lease rate")
    step(1.0, "done")
    return float(x)
