"""AI/HPC conversions: capacity taken from mining, capex, revenue and costs per site and month.

Everything here is deterministic (``[month, site]`` arrays): lease and GPU
rates do not follow the BTC price paths. A conversion takes its gross MW out
of mining at ``start_month``, spends its capex evenly over the lead time and
earns from ``start_month + lead_time_months``. Amounts past the horizon are
not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .months import month_index
from .scenario import Scenario


@dataclass(frozen=True)
class AIArrays:
    """Monthly AI/HPC figures per site, each ``[month, site]`` (USD, MW, MWh)."""

    converted_gross_mw: np.ndarray   # gross MW out of mining (under construction or live)
    live_critical_mw: np.ndarray     # critical IT MW earning revenue
    revenue_usd: np.ndarray
    opex_usd: np.ndarray
    energy_mwh: np.ndarray           # drawn at the site's meter (counts toward take-or-pay)
    energy_paid_by_miner_mwh: np.ndarray
    capex_usd: np.ndarray
    depreciation_usd: np.ndarray
    contracted_after_horizon_usd: np.ndarray  # [site] PV at the horizon's end of lease net cash still under contract
    gpu_revenue_usd: np.ndarray | None = None  # [month, site] the part of revenue_usd from GPU cloud halls


@dataclass(frozen=True)
class ConversionEffect:
    """What one conversion adds at its site, each ``[month]`` (USD, MW, MWh); linear in ``gross_mw``."""

    converted_gross_mw: np.ndarray
    live_critical_mw: np.ndarray
    revenue_usd: np.ndarray
    opex_usd: np.ndarray
    energy_mwh: np.ndarray
    energy_paid_by_miner_mwh: np.ndarray
    capex_usd: np.ndarray
    depreciation_usd: np.ndarray
    contracted_after_horizon_usd: float


def conversion_effect(sc: Scenario, s: int, start, gross_mw: float, model: str | None, days: np.ndarray,
                      monthly_discount_rate: float = 0.0) -> ConversionEffect:
    """Monthly effect of converting ``gross_mw`` at site index ``s`` from month offset ``start``.

    ``start`` may be an array of start months: every field then gains a leading
    ``[start]`` axis (the optimizer prices all start months at once).
    """
    starts = np.atleast_1d(np.asarray(start, dtype=int))
    n_m = sc.horizon_months
    ai = sc.sites[s].ai
    assert ai is not None  # guaranteed by check_consistency
    model = model or ai.business_model
    months = np.arange(n_m)[None, :]
    st_ = starts[:, None]
    hours = 24.0 * days[None, :]
    lead = ai.lead_time_months
    ready = st_ + lead
    crit_mw = gross_mw * ai.critical_mw_per_gross_mw
    live = months >= ready
    converted = np.where(months >= st_, gross_mw, 0.0)
    critical = np.where(live, crit_mw, 0.0)

    conv_capex = crit_mw * ai.conversion_capex_usd_per_critical_mw
    build = (months >= st_) & (months < st_ + max(lead, 1))
    capex = np.where(build, conv_capex / max(lead, 1), 0.0)
    in_life = live & (months < ready + ai.facility_life_months)
    dep = np.where(in_life, conv_capex / ai.facility_life_months, 0.0)

    draw_mwh = np.where(live, gross_mw * ai.load_factor_pct / 100.0 * hours, 0.0)
    after_horizon = np.zeros(starts.size)
    if model == "colocation":
        lease = ai.colocation
        years_live = np.floor(np.maximum(months - ready, 0) / 12.0)
        rate = lease.rate_usd_per_kw_month * (1 + lease.escalator_pct_per_year / 100.0) ** years_live
        revenue = np.where(live, crit_mw * 1000.0 * rate, 0.0)
        opex = np.where(live, crit_mw * 1000.0 * lease.opex_usd_per_kw_month, 0.0)
        paid = np.zeros_like(draw_mwh) if lease.tenant_pays_power else draw_mwh
        after_horizon = _lease_after_horizon_usd(sc, s, crit_mw, starts + lead, gross_mw, monthly_discount_rate)
    else:
        gpu = ai.gpu_cloud
        n_gpus = crit_mw * gpu.gpus_per_critical_mw
        # Older GPU generations rent for less: the price falls with the age of the GPUs installed, and a
        # replacement (every useful life) earns the new-GPU price again.
        age_years = np.mod(np.maximum(months - ready, 0), gpu.useful_life_months) / 12.0
        decline = (1.0 - gpu.rate_decline_pct_per_year / 100.0) ** age_years
        revenue = np.where(live, n_gpus * gpu.usd_per_gpu_hour * hours * gpu.utilization_pct / 100.0 * decline, 0.0)
        opex = np.where(live, n_gpus * gpu.opex_usd_per_gpu_month, 0.0)
        paid = draw_mwh
        # GPUs are bought when the hall is ready and replaced at the end of each useful life.
        since = months - ready
        buy = live & (since % gpu.useful_life_months == 0)
        capex = capex + np.where(buy, n_gpus * gpu.gpu_capex_usd, 0.0)
        dep = dep + np.where(live, n_gpus * gpu.gpu_capex_usd / gpu.useful_life_months, 0.0)
    fields = [converted, critical, revenue, opex, draw_mwh, paid, capex, dep]
    if np.ndim(start) == 0:
        return ConversionEffect(*(f[0] for f in fields), float(after_horizon[0]))
    return ConversionEffect(*fields, after_horizon)


def ai_arrays(sc: Scenario, days: np.ndarray, monthly_discount_rate: float = 0.0) -> AIArrays:
    """Sum of the effects of every conversion in the scenario's plan, per site."""
    n_m, n_s = sc.horizon_months, len(sc.sites)
    fields = ("converted_gross_mw", "live_critical_mw", "revenue_usd", "opex_usd", "energy_mwh",
              "energy_paid_by_miner_mwh", "capex_usd", "depreciation_usd")
    totals = {f: np.zeros((n_m, n_s)) for f in fields}
    gpu_revenue = np.zeros((n_m, n_s))
    after_horizon = np.zeros(n_s)
    sidx = sc.site_index()
    for cv in sc.conversion_plan:
        s = sidx[cv.site]
        eff = conversion_effect(sc, s, month_index(sc.start_month, cv.start_month), cv.gross_mw,
                                cv.business_model, days, monthly_discount_rate)
        for f in fields:
            totals[f][:, s] += getattr(eff, f)
        if (cv.business_model or sc.sites[s].ai.business_model) == "gpu_cloud":
            gpu_revenue[:, s] += eff.revenue_usd
        after_horizon[s] += eff.contracted_after_horizon_usd
    return AIArrays(**totals, contracted_after_horizon_usd=after_horizon, gpu_revenue_usd=gpu_revenue)


def _lease_after_horizon_usd(sc: Scenario, s: int, crit_mw: float, ready: np.ndarray, gross_mw: float,
                             monthly_rate: float) -> np.ndarray:
    """PV, at the end of the horizon, of a lease's net cash for its contracted months past the horizon.

    One value per ready month in ``ready``. Net cash is rent minus landlord
    opex minus power when the landlord pays it (at the site's contract price);
    capex still to be spent past the horizon is subtracted, so a lease signed
    late in the horizon is not counted as free.
    """
    site = sc.sites[s]
    ai = site.ai
    lease = ai.colocation
    n = sc.horizon_months
    ready = np.asarray(ready)[:, None]
    lead = max(ai.lead_time_months, 1)
    span = np.arange(n, int(ready.max()) + lease.term_months + lead + 1)[None, :]   # months past the horizon
    disc = (1.0 + monthly_rate) ** -(span - n + 1.0)
    live = (span >= ready) & (span < ready + lease.term_months)
    years_live = np.floor(np.maximum(span - ready, 0) / 12.0)
    rent = crit_mw * 1000.0 * lease.rate_usd_per_kw_month * (1 + lease.escalator_pct_per_year / 100.0) ** years_live
    cash = rent - crit_mw * 1000.0 * lease.opex_usd_per_kw_month
    if not lease.tenant_pays_power:
        cash = cash - gross_mw * ai.load_factor_pct / 100.0 * 730.5 * site.power_price_usd_per_mwh
    value = np.sum(np.where(live, cash, 0.0) * disc, axis=1)
    start = ready - ai.lead_time_months
    building = (span >= start) & (span < start + lead)
    spend = crit_mw * ai.conversion_capex_usd_per_critical_mw / lead
    value = value - np.sum(np.where(building, spend, 0.0) * disc, axis=1)
    # Leases whose whole term ends inside the horizon leave nothing after it.
    return np.where((ready[:, 0] + lease.term_months) > n, value, 0.0)
