"""Breakevens that invert the engine: the BTC price for NPV 0, each cohort's curtailment price, a lease rate.

Everything runs the engine on the deterministic BTC price path (one path). The
breakeven solvers bracket a sign change and close it with
:func:`~minerplan.analysis.root_finding.find_root` (scipy's Brent method, stopped on the
*function value*): the engine at the answer meets the condition to ``rel_tol`` (default
1e-6) of the problem's NPV scale. When no root exists in the search range they raise
:class:`~minerplan.analysis.root_finding.NoRootError` saying why. The tornado of the NPV
over the major inputs is in :mod:`minerplan.analysis.tornado`.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from minerplan.analysis.one_path import edited, npv_one_path
from minerplan.analysis.root_finding import NoRootError, solve_checked
from minerplan.engine.evaluate import CancelFn, ProgressFn, progress_step, run_engine
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.model import Scenario
from minerplan.scenario.months import month_index


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
        return npv_one_path(sc, (path * (price / p0))[None, :])

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
    x = solve_checked(npv_at, lo, hi, f_lo, f_hi, abs(base), rel_tol, "breakeven BTC price")
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
    return edited(sc, m, "flat site price")


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
    npv_without_base = npv_one_path(sc)

    def gain(rate: float) -> float:
        calls[0] += 1
        step(min(calls[0] / 60.0, 0.99), f"lease ${rate:,.2f}/kW-month: engine run {calls[0]}")
        without = npv_one_path(scenario_at(rate, False)) if others else npv_without_base
        return npv_one_path(scenario_at(rate, True)) - without

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
    x = solve_checked(gain, lo, hi, f_lo, f_hi, scale, rel_tol, "breakeven lease rate")
    step(1.0, "done")
    return float(x)
