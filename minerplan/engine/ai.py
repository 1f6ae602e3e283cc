"""AI/HPC conversions: capacity taken from mining, capex, revenue and costs per site and month.

Everything here is deterministic (``[month, site]`` arrays): lease and GPU
rates do not follow the BTC price paths. A conversion takes its gross MW out
of mining at ``start_month``, spends its capex evenly over the lead time and
earns from ``start_month + lead_time_months``.

A colocation lease earns its rent for the term; after it, with the lease's
``renewal_probability_pct``, until the facility's life ends (an expected
value: every renewed month counts at that probability, inside the horizon and
after it). What a conversion is worth past the horizon (``after_horizon_usd``,
before tax, at the horizon's end, discounted at the conversion's own class
rate, see :mod:`minerplan.engine.valuation`) follows ``finance.terminal_value``:
nothing; the lease cash still under contract; or that, the renewal, and a GPU
hall's installed GPUs over their remaining life. Capex still to spend past the
horizon is subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minerplan.scenario.months import month_index
from minerplan.scenario.model import Scenario
from minerplan.engine.valuation import conversion_monthly_rate

#: Hours in an average month, for cash past the horizon (365.25 x 24 / 12).
HOURS_PER_MONTH = 730.5


@dataclass(frozen=True)
class ConversionValue:
    """One conversion of the plan: its site, business model, monthly discount rate and monthly effect."""

    site: int
    business_model: str
    monthly_discount_rate: float
    effect: "ConversionEffect"


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
    after_horizon_usd: np.ndarray    # [site] value at the horizon's end of cash past it, before tax (see module)
    gpu_revenue_usd: np.ndarray | None = None  # [month, site] the part of revenue_usd from GPU cloud halls
    conversions: list[ConversionValue] = field(default_factory=list)


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
    after_horizon_usd: float
    monthly_discount_rate: float = 0.0


def lease_weight(months: np.ndarray, ready: np.ndarray, term_months: int, life_months: int,
                 renewal: float) -> np.ndarray:
    """Share of a colocation hall's lease cash earned in each month (``months`` against ``ready``, broadcast):
    1 under contract, ``renewal`` after the term until the facility's life ends, else 0."""
    contracted = (months >= ready) & (months < ready + term_months)
    renewed = (months >= ready + term_months) & (months < ready + max(life_months, term_months))
    return np.where(contracted, 1.0, np.where(renewed, renewal, 0.0))


def conversion_effect(sc: Scenario, s: int, start, gross_mw: float, model: str | None,
                      days: np.ndarray) -> ConversionEffect:
    """Monthly effect of converting ``gross_mw`` at site index ``s`` from month offset ``start``.

    ``start`` may be an array of start months: every field then gains a leading
    ``[start]`` axis (the optimizer prices all start months at once).
    """
    starts = np.atleast_1d(np.asarray(start, dtype=int))
    n_m = sc.horizon_months
    site = sc.sites[s]
    ai = site.ai
    assert ai is not None  # guaranteed by check_consistency
    model = model or ai.business_model
    rate_m = conversion_monthly_rate(sc, site, model)
    months = np.arange(n_m)[None, :]
    st_ = starts[:, None]
    hours = 24.0 * days[None, :]
    lead = ai.lead_time_months
    ready = st_ + lead
    crit_mw = gross_mw * ai.critical_mw_per_gross_mw
    live = months >= ready
    converted = np.where(months >= st_, gross_mw, 0.0)

    conv_capex = crit_mw * ai.conversion_capex_usd_per_critical_mw
    build = (months >= st_) & (months < st_ + max(lead, 1))
    capex = np.where(build, conv_capex / max(lead, 1), 0.0)
    in_life = live & (months < ready + ai.facility_life_months)
    dep = np.where(in_life, conv_capex / ai.facility_life_months, 0.0)

    if model == "colocation":
        lease = ai.colocation
        # a colocation hall runs for the share of each month under lease (contracted, or renewed with its
        # probability); the miner pays its power only when the tenant does not
        running = lease_weight(months, ready, lease.term_months, ai.facility_life_months,
                               lease.renewal_probability_pct / 100.0)
        years_live = np.floor(np.maximum(months - ready, 0) / 12.0)
        rate = lease.rate_usd_per_kw_month * (1 + lease.escalator_pct_per_year / 100.0) ** years_live
        revenue = running * crit_mw * 1000.0 * rate
        opex = running * crit_mw * 1000.0 * lease.opex_usd_per_kw_month
        paid_share = 0.0 if lease.tenant_pays_power else 1.0
    else:
        gpu = ai.gpu_cloud
        n_gpus = crit_mw * gpu.gpus_per_critical_mw
        running = live.astype(float)
        # Older GPU generations rent for less: the price falls with the age of the GPUs installed, and a
        # replacement (every useful life) earns the new-GPU price again.
        age_years = np.mod(np.maximum(months - ready, 0), gpu.useful_life_months) / 12.0
        decline = (1.0 - gpu.rate_decline_pct_per_year / 100.0) ** age_years
        revenue = np.where(live, n_gpus * gpu.usd_per_gpu_hour * hours * gpu.utilization_pct / 100.0 * decline, 0.0)
        opex = np.where(live, n_gpus * gpu.opex_usd_per_gpu_month, 0.0)
        paid_share = 1.0
        # GPUs are bought when the hall is ready and replaced at the end of each useful life.
        since = months - ready
        buy = live & (since % gpu.useful_life_months == 0)
        capex = capex + np.where(buy, n_gpus * gpu.gpu_capex_usd, 0.0)
        dep = dep + np.where(live, n_gpus * gpu.gpu_capex_usd / gpu.useful_life_months, 0.0)
    critical = running * crit_mw
    draw_mwh = running * gross_mw * ai.load_factor_pct / 100.0 * hours
    paid = draw_mwh * paid_share
    after = _after_horizon_usd(sc, s, model, crit_mw, starts, gross_mw, rate_m)
    fields = [converted, critical, revenue, opex, draw_mwh, paid, capex, dep]
    if np.ndim(start) == 0:
        return ConversionEffect(*(f[0] for f in fields), float(after[0]), rate_m)
    return ConversionEffect(*fields, after, rate_m)


def ai_arrays(sc: Scenario, days: np.ndarray) -> AIArrays:
    """Sum of the effects of every conversion in the scenario's plan, per site (and each conversion's own)."""
    n_m, n_s = sc.horizon_months, len(sc.sites)
    fields = ("converted_gross_mw", "live_critical_mw", "revenue_usd", "opex_usd", "energy_mwh",
              "energy_paid_by_miner_mwh", "capex_usd", "depreciation_usd")
    totals = {f: np.zeros((n_m, n_s)) for f in fields}
    gpu_revenue = np.zeros((n_m, n_s))
    after_horizon = np.zeros(n_s)
    conversions = []
    sidx = sc.site_index()
    for cv in sc.conversion_plan:
        s = sidx[cv.site]
        model = cv.business_model or sc.sites[s].ai.business_model
        eff = conversion_effect(sc, s, month_index(sc.start_month, cv.start_month), cv.gross_mw, model, days)
        for f in fields:
            totals[f][:, s] += getattr(eff, f)
        if model == "gpu_cloud":
            gpu_revenue[:, s] += eff.revenue_usd
        after_horizon[s] += eff.after_horizon_usd
        conversions.append(ConversionValue(s, model, eff.monthly_discount_rate, eff))
    return AIArrays(**totals, after_horizon_usd=after_horizon, gpu_revenue_usd=gpu_revenue, conversions=conversions)


def _after_horizon_usd(sc: Scenario, s: int, model: str, crit_mw: float, starts: np.ndarray, gross_mw: float,
                       monthly_rate: float) -> np.ndarray:
    """Value at the horizon's end of a conversion's cash past it, before tax, one value per start month.

    ``finance.terminal_value``: ``none`` 0; ``contracted_ai`` a colocation lease's net cash for its
    contracted months past the horizon; ``ai_residual`` that plus the renewal (months after the term,
    at the renewal probability, until the facility's life ends) and, for a GPU hall live at the
    horizon's end, its installed GPUs' net cash until they are due for replacement. Net cash: rent
    less landlord opex, less power the miner pays (at the site's contract price, 730.5 h a month).
    Capex still to spend past the horizon is subtracted, so a hall started late is not free. A
    colocation lease whose term ends inside the horizon leaves nothing under ``contracted_ai``.
    """
    mode = sc.finance.terminal_value
    if mode == "none" or (mode == "contracted_ai" and model != "colocation"):
        return np.zeros(starts.size)
    site = sc.sites[s]
    ai = site.ai
    n = sc.horizon_months
    lead = max(ai.lead_time_months, 1)
    ready = (starts + ai.lead_time_months)[:, None]
    start = starts[:, None]
    if model == "colocation":
        lease = ai.colocation
        end = int(ready.max()) + max(lease.term_months, ai.facility_life_months) + lead + 1
    else:
        end = max(n, int(ready.max())) + ai.gpu_cloud.useful_life_months + lead + 1   # a generation's life at most
    span = np.arange(n, max(end, n + 1))[None, :]                               # months past the horizon
    disc = (1.0 + monthly_rate) ** -(span - n + 1.0)
    building = (span >= start) & (span < start + lead)
    spend = crit_mw * ai.conversion_capex_usd_per_critical_mw / lead
    capex_left = np.sum(np.where(building, spend, 0.0) * disc, axis=1)
    if model == "colocation":
        renewal = lease.renewal_probability_pct / 100.0 if mode == "ai_residual" else 0.0
        weight = lease_weight(span, ready, lease.term_months, ai.facility_life_months, renewal)
        years_live = np.floor(np.maximum(span - ready, 0) / 12.0)
        rent = crit_mw * 1000.0 * lease.rate_usd_per_kw_month * (1 + lease.escalator_pct_per_year / 100.0) ** years_live
        cash = rent - crit_mw * 1000.0 * lease.opex_usd_per_kw_month
        if not lease.tenant_pays_power:
            cash = cash - gross_mw * ai.load_factor_pct / 100.0 * HOURS_PER_MONTH * site.power_price_usd_per_mwh
        value = np.sum(weight * cash * disc, axis=1) - capex_left
        if mode == "contracted_ai":   # leases whose whole term ends inside the horizon leave nothing after it
            value = np.where((ready[:, 0] + lease.term_months) > n, value, 0.0)
        return value
    gpu = ai.gpu_cloud
    n_gpus = crit_mw * gpu.gpus_per_critical_mw
    live_at_end = ready[:, 0] <= n - 1
    # The GPUs installed at the horizon's end: bought at ready + k x life; they earn until the next replacement.
    age = span - ready                                                         # months since the hall was ready
    current_gen = (n - 1 - ready) // gpu.useful_life_months                     # generation live at the end
    in_gen = (age >= 0) & (age // gpu.useful_life_months == current_gen)
    decline = (1.0 - gpu.rate_decline_pct_per_year / 100.0) ** (np.mod(np.maximum(age, 0), gpu.useful_life_months)
                                                                  / 12.0)
    cash = (n_gpus * (gpu.usd_per_gpu_hour * HOURS_PER_MONTH * gpu.utilization_pct / 100.0 * decline
                      - gpu.opex_usd_per_gpu_month)
            - gross_mw * ai.load_factor_pct / 100.0 * HOURS_PER_MONTH * site.power_price_usd_per_mwh)
    value = np.sum(np.where(in_gen & live_at_end[:, None], cash * disc, 0.0), axis=1)
    return value - capex_left
