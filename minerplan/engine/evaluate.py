"""The monthly miner-economics engine, vectorized over BTC price paths.

Shapes: ``[path, month, site]`` for results. The dispatch (which cohort runs in
which hour bucket on each path, with take-or-pay minimums filled exactly) is in
:mod:`minerplan.engine.dispatch`; this module turns it into revenue, costs, taxes and
value, with no Python loop over months or paths.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from minerplan.engine.ai import AIArrays, ai_arrays
from minerplan.engine.dispatch import mining_dispatch
from minerplan.engine.finance import annual_tax_with_carryforward, discount_factors, tax_year_index
from minerplan.engine.fleet import FleetArrays, fleet_arrays
from minerplan.scenario.months import calendar_month_numbers
from minerplan.engine.network import NetworkPath, simulate_network
from minerplan.markets.prices import market_draw, with_preset_market
from minerplan.scenario.model import Scenario

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised when a long computation's cancel check returns True."""


def progress_step(progress: ProgressFn | None, cancel: CancelFn | None) -> Callable[[float, str], None]:
    """``step(fraction, what)`` for long work: raise :class:`Cancelled` if asked to, else report progress.

    The one progress-and-cancel protocol of the engine, export, sensitivity and optimizer runs;
    fractions are clamped to [0, 1].
    """
    def step(frac: float, what: str) -> None:
        if cancel is not None and cancel():
            raise Cancelled(what)
        if progress is not None:
            progress(min(max(frac, 0.0), 1.0), what)
    return step


def progress_span(progress: ProgressFn | None, cancel: CancelFn | None, lo: float, hi: float,
                  what: str = "") -> Callable[..., None]:
    """``report(fraction, text="")`` for one part of a longer job: the part's [0, 1] is shown as
    [lo, hi] of the whole bar (clamped), its text as ``"what: text"`` (or either alone), and
    :class:`Cancelled` is raised first when ``cancel()`` says so (``cancel`` None: the caller checks)."""
    def report(frac: float, text: str = "") -> None:
        if cancel is not None and cancel():
            raise Cancelled(what)
        if progress is not None:
            progress(lo + (hi - lo) * min(max(float(frac), 0.0), 1.0),
                     f"{what}: {text}" if what and text else (text or what))
    return report


@dataclass
class EngineResult:
    """Everything the engine computed; USD unless the name says otherwise.

    ``[path, month, site]`` arrays: ``btc_mined`` (net of pool fee),
    ``mining_revenue_usd``, ``mining_power_cost_usd``, ``take_or_pay_shortfall_usd``,
    ``curtailment_credit_usd``, ``mining_energy_mwh``, ``curtailed_energy_mwh``.
    ``[path, month]``: company totals and finance.
    """

    scenario: Scenario
    months: list[str]
    btc_price_usd: np.ndarray            # [path, month]
    network: NetworkPath
    fleet: FleetArrays
    ai: AIArrays
    hashprice_usd_per_th_day: np.ndarray  # [path, month]
    btc_mined: np.ndarray
    mining_revenue_usd: np.ndarray
    mining_power_cost_usd: np.ndarray
    take_or_pay_shortfall_usd: np.ndarray
    curtailment_credit_usd: np.ndarray
    mining_energy_mwh: np.ndarray
    curtailed_energy_mwh: np.ndarray
    mining_opex_usd: np.ndarray          # [month, site]
    ai_power_cost_usd: np.ndarray        # [month, site] AI/HPC energy the miner pays (flat-load average price)
    asic_capex_usd: np.ndarray           # [month, site]
    asic_depreciation_usd: np.ndarray    # [month, site]
    salvage_usd: np.ndarray              # [path, month, site] proceeds of retired ASICs (used-market price)
    ebitda_usd: np.ndarray               # [path, month, site]
    capex_usd: np.ndarray                # [month, site]
    g_and_a_usd: np.ndarray              # [month]
    tax_usd: np.ndarray                  # [path, month]
    net_cash_flow_usd: np.ndarray        # [path, month] (excludes the terminal value)
    terminal_value_usd: np.ndarray       # [path] at the horizon's end, after tax: AI/HPC past the horizon and ASIC
                                         # resale; in npv_usd, not in the monthly rows
    npv_usd: np.ndarray                  # [path]
    ai_revenue_path_usd: np.ndarray | None = None   # [path or 1, month, site] AI/HPC revenue on each path (GPU rates)
    terminal_value_pv_usd: np.ndarray | None = None  # [path] the terminal value's contribution to npv_usd
    random_fees_btc_per_block: np.ndarray | None = None  # [path, month] the draw's fees, when random (else None)
    gpu_rate_factor: np.ndarray | None = None            # [path, month] the draw's GPU rental index, when random

    @property
    def n_paths(self) -> int:
        return self.btc_price_usd.shape[0]

    @property
    def power_cost_usd(self) -> np.ndarray:
        """All energy paid at the site meters, ``[path, month, site]``: mining, take-or-pay shortfall, AI."""
        return self.mining_power_cost_usd + self.take_or_pay_shortfall_usd + self.ai_power_cost_usd[None, :, :]


def scenario_network(sc: Scenario, prices: np.ndarray | None = None,
                     fees_btc_per_block: np.ndarray | None = None) -> NetworkPath:
    """The network a scenario's market assumptions imply (one place for engine and optimizer).

    Arrays are ``[1, month]`` for the trend network, or ``[path, month]`` for the
    supply (default) and capitulation models: there hashrate answers each path's
    hashprice, so the BTC price paths ``prices`` ``[path, month]`` are needed.
    Random fees ``fees_btc_per_block`` ``[path, month]`` (Monte Carlo) make the
    fee and hashprice rows per path too.
    """
    mk = sc.market
    if mk.network_model in ("supply", "capitulation"):
        if prices is None:
            raise ValueError(f"the {mk.network_model} network model needs the BTC price paths")
        from minerplan.markets.network_response import Tier, simulate_responsive_network

        fees = mk.fees_btc_per_block * (1 + mk.fee_growth_pct_per_month / 100.0) ** np.arange(sc.horizon_months)
        fees = fees[None, :] if fees_btc_per_block is None else fees_btc_per_block
        if mk.network_model == "supply":
            from minerplan.markets.network_supply import simulate_supply_network

            return simulate_supply_network(
                start_month=sc.start_month, horizon_months=sc.horizon_months, difficulty=mk.difficulty_value,
                block_height=mk.block_height, prices_usd=prices, fees_btc_per_block=fees,
                params=supply_params(sc), pool_fee_pct=sc.finance.pool_fee_pct, hashrate_ehs=mk.online_hashrate_ehs)
        hr = mk.capitulation_params
        return simulate_responsive_network(
            start_month=sc.start_month, horizon_months=sc.horizon_months, difficulty=mk.difficulty_value,
            block_height=mk.block_height, prices_usd=prices, fees_btc_per_block=fees,
            hashrate_growth_pct_per_month=mk.hashrate_growth_pct_per_month,
            tiers=tuple(Tier(t.share_pct, t.efficiency_j_per_th, t.power_usd_per_kwh) for t in hr.tiers),
            lag_months=hr.lag_months, switch_width_pct=hr.switch_width_pct, pool_fee_pct=sc.finance.pool_fee_pct,
            hashrate_ehs=mk.online_hashrate_ehs)
    net = simulate_network(start_month=sc.start_month, horizon_months=sc.horizon_months,
                           difficulty=mk.difficulty_value, block_height=mk.block_height,
                           fees_btc_per_block=mk.fees_btc_per_block,
                           hashrate_growth_pct_per_month=mk.hashrate_growth_pct_per_month,
                           fee_growth_pct_per_month=mk.fee_growth_pct_per_month,
                           hashrate_hs=mk.online_hashrate_ehs * 1e18)
    if fees_btc_per_block is None:
        return net
    # Random fees on the trend network: blocks and subsidy stay, hashprice moves with each path's fees.
    fees = np.asarray(fees_btc_per_block, dtype=float)
    hp = net.blocks / net.days * (net.subsidy_btc + fees) / (net.hashrate_hs / 1e12)
    return replace(net, fees_btc_per_block=fees, hashprice_btc_per_th_day=hp)


def ai_class_values(ai: AIArrays, company_factors: np.ndarray, avg_price_usd_per_mwh: np.ndarray, tax_rate: float,
                    gpu_rate_factor: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What discounting each conversion at its own class rate adds, and the AI/HPC terminal value.

    Returns ``(adjustment, terminal, terminal_pv)``, each USD ``[path or 1]``: ``adjustment`` =
    sum over conversions of pre-tax cash x (its discount factors - the company's), so
    ``company-rate NPV + adjustment`` discounts that cash at its class rate; ``terminal`` the
    after-tax value past the horizon at the horizon's end; ``terminal_pv`` that discounted at
    each conversion's rate. Pre-tax cash: revenue - opex - power the miner pays (the site's
    average price) - capex; GPU halls' revenue moves with ``gpu_rate_factor`` ``[path, month]``.
    """
    n_m = company_factors.size
    t = np.arange(n_m) + 1.0
    adj = np.zeros(1)
    terminal = np.zeros(1)
    terminal_pv = np.zeros(1)
    for cv in ai.conversions:
        eff = cv.effect
        df = (1.0 + cv.monthly_discount_rate) ** -t
        cash = (eff.revenue_usd - eff.opex_usd - eff.energy_paid_by_miner_mwh * avg_price_usd_per_mwh[:, cv.site]
                - eff.capex_usd)
        adj = adj + cash @ (df - company_factors)
        if gpu_rate_factor is not None and cv.business_model == "gpu_cloud":
            extra = eff.revenue_usd[None, :] * (np.asarray(gpu_rate_factor) - 1.0)          # [path, month]
            adj = adj + extra @ (df - company_factors)
        after = eff.after_horizon_usd * (1.0 - tax_rate)
        terminal = terminal + after
        terminal_pv = terminal_pv + after * df[-1]
    return adj, terminal, terminal_pv


def supply_params(sc: Scenario):
    """The supply model's parameters from a scenario's ``market.network_supply``."""
    from minerplan.markets.network_response import Tier
    from minerplan.markets.network_supply import SupplyParams

    ns = sc.market.network_supply
    tiers = None if ns.installed_base is None else tuple(
        Tier(t.share_pct, t.efficiency_j_per_th, t.power_usd_per_kwh) for t in ns.installed_base)
    return SupplyParams(
        frontier_improvement_pct_per_year=ns.frontier_improvement_pct_per_year,
        new_power_usd_per_kwh=ns.new_power_usd_per_kwh, new_capex_usd_per_w=ns.new_capex_usd_per_w,
        payback_months=ns.payback_months, max_growth_pct_per_month=ns.max_growth_pct_per_month,
        entry_midpoint=ns.entry_midpoint, entry_width=ns.entry_width, delivery_lag_months=ns.delivery_lag_months,
        attrition_pct_per_month=ns.attrition_pct_per_month, halving_foresight=ns.halving_foresight,
        pipeline_growth_pct_per_month=ns.pipeline_growth_pct_per_month, lag_months=ns.lag_months,
        switch_width_pct=ns.switch_width_pct, tiers=tiers)


def asic_residual_after_tax_by_row(sc: Scenario, fl: FleetArrays, tax_rate: float,
                                   hashprice_usd_per_th_day: np.ndarray) -> np.ndarray:
    """Per path and fleet row, ``[path or 1, row]``: what the units left at the horizon's end sell for, less
    tax on the gain over book value (USD).

    ``hashprice_usd_per_th_day`` is ``[path or 1, month]``. ``finance.asic_residual_value``: ``market`` (the
    default) prices each unit at the used-market price of its J/TH at that path's hashprice in the last
    month (:func:`minerplan.engine.valuation.asic_market_value_usd_per_th`), and by the row's salvage quote when it has
    one (:func:`asic_quote_scale`), like a sale at retirement; ``salvage`` is the same (kept so older files
    load: a row's salvage follows the index now); ``none`` at nothing.
    """
    mode = sc.finance.asic_residual_value
    n_rows = fl.count.size
    if mode == "none" or n_rows == 0:
        return np.zeros((1, n_rows))
    hp = np.atleast_2d(np.asarray(hashprice_usd_per_th_day, dtype=float))
    value = asic_market_residual_usd(sc, fl, hp[:, -1]) * asic_quote_scale(sc, fl)
    return value - tax_rate * (value - fl.residual_book_usd[None, :])


def asic_market_residual_usd(sc: Scenario, fl: FleetArrays, hashprice_end_usd_per_th_day) -> np.ndarray:
    """Used-market value (USD) at the index alone of the units installed at the horizon's end, ``[path, row]``."""
    from minerplan.engine.valuation import asic_unit_value_usd

    n_m = sc.horizon_months
    at_end = fl.active[-1] if n_m else np.zeros(fl.count.size, dtype=bool)
    ths = fl.hashrate_ths_per_unit[-1]
    hp = np.atleast_1d(np.asarray(hashprice_end_usd_per_th_day, dtype=float))[:, None]
    per_unit = asic_unit_value_usd(fl.power_w_per_unit[None, :], ths[None, :], hp)
    return np.where(at_end[None, :], fl.count[None, :] * per_unit, 0.0)


def asic_quote_scale(sc: Scenario, fl: FleetArrays) -> np.ndarray:
    """Each row's salvage quote over the market model's value of its unit at the start, ``[1, row]`` (1 for a
    row without a quote): the model's price of that machine is scaled to the quote.

    The model's value is one unit as it is in the first month (its degraded TH/s then) at the hashprice of
    the index's month (:data:`minerplan.engine.valuation.ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY`, late 2025): a quote
    is read as a price in that market, so a what-if at a lower BTC price lowers the quoted machine's price
    with the market (a scale taken at the what-if's own start price would explode as its margin nears 0).
    """
    from minerplan.engine.valuation import ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, asic_unit_value_usd, salvage_quote_scale

    if fl.count.size == 0 or sc.horizon_months == 0 or not (fl.salvage_quote_usd > 0).any():
        return np.ones((1, fl.count.size))
    v0 = asic_unit_value_usd(fl.power_w_per_unit[None, :], fl.hashrate_ths_per_unit[0][None, :],
                             ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY)
    return salvage_quote_scale(fl.salvage_quote_usd[None, :], v0)


def asic_salvage_by_row(sc: Scenario, fl: FleetArrays, hashprice_usd_per_th_day: np.ndarray,
                        subsidy_btc_per_block: np.ndarray | None = None) -> np.ndarray:
    """What each fleet row's units sell for when retired, USD ``[path or 1, row]`` (0 for rows not sold).

    The sale is in the row's retirement month ``t = fl.retire_index`` (inside the horizon, after its
    delivery): units x the TH/s a unit makes in month t (degraded) x the used-market price per TH/s of
    its J/TH at month t's hashprice on the path
    (``hashprice_usd_per_th_day`` ``[path or 1, month]``, USD per TH/s per day), x the row's quote scale
    (:func:`asic_quote_scale`); a row with a stated ``sale_price_usd`` sells at it instead (a signed sale,
    or an optimizer plan's move at book value). See :mod:`minerplan.engine.valuation` for the price. With
    ``subsidy_btc_per_block`` ``[path or 1, month]`` the sale month's hashprice is what a buyer prices: x
    :func:`minerplan.engine.valuation.halving_ahead_factor` (a halving within the next 12 months is in the price).
    """
    from minerplan.engine.valuation import asic_unit_value_usd, halving_ahead_factor

    hp = np.atleast_2d(np.asarray(hashprice_usd_per_th_day, dtype=float))
    hp_sale = hp if subsidy_btc_per_block is None else hp * halving_ahead_factor(subsidy_btc_per_block)
    n_c = fl.count.size
    sold = fl.retire_index >= 0
    if not sold.any():
        return np.zeros((1, n_c))
    t = np.where(sold, fl.retire_index, 0)
    ths = fl.hashrate_ths_per_unit[t, np.arange(n_c)]
    per_unit = asic_unit_value_usd(fl.power_w_per_unit[None, :], ths[None, :], hp_sale[:, t])
    market = fl.count[None, :] * per_unit * asic_quote_scale(sc, fl)
    stated = fl.sale_price_usd if fl.sale_price_usd is not None else np.full(n_c, np.nan)
    value = np.where(np.isfinite(stated)[None, :], fl.count[None, :] * np.nan_to_num(stated)[None, :], market)
    return np.where(sold[None, :], value, 0.0)


def salvage_by_month(fl: FleetArrays, salvage_by_row: np.ndarray, n_months: int, groups: np.ndarray,
                     n_groups: int) -> np.ndarray:
    """Salvage of :func:`asic_salvage_by_row` ``[path, row]`` put in each row's retirement month and summed by
    ``groups`` (e.g. ``fl.site``), USD ``[path, month, group]``."""
    out = np.zeros((salvage_by_row.shape[0], n_months, n_groups))
    rows = np.flatnonzero(fl.retire_index >= 0)
    if rows.size:
        np.add.at(out, (slice(None), fl.retire_index[rows], np.asarray(groups)[rows]), salvage_by_row[:, rows])
    return out


def site_price_matrix(sc: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Energy prices per site, month and hour bucket: ``([month, site, 24], buckets[site])`` USD/MWh."""
    cal = calendar_month_numbers(sc.start_month, sc.horizon_months)
    prices = np.empty((sc.horizon_months, len(sc.sites), 24))
    buckets = np.ones(len(sc.sites), dtype=int)
    for s, site in enumerate(sc.sites):
        if site.hourly_price_usd_per_mwh is not None:
            prof = np.asarray(site.hourly_price_usd_per_mwh, dtype=float)
            prices[:, s, :] = prof[cal, :]
            buckets[s] = 24
        else:
            prices[:, s, :] = site.power_price_usd_per_mwh
    return prices, buckets


def run_engine(sc: Scenario, *, n_paths: int = 1, seed: int | None = 0, preset: str | None = None,
               prices: np.ndarray | None = None, fees_btc_per_block: np.ndarray | None = None,
               gpu_rate_factor: np.ndarray | None = None, progress: ProgressFn | None = None,
               cancel: CancelFn | None = None) -> EngineResult:
    """Evaluate a scenario on ``n_paths`` Monte Carlo paths (or on given ``prices`` ``[path, month]``).

    The paths follow the scenario's ``monte_carlo`` model (prices, and fees
    when they are random); given ``prices`` may come with their own
    ``fees_btc_per_block`` ``[path, month]`` and ``gpu_rate_factor`` ``[path, month]``
    (GPU rental prices relative to the assumed path).
    """

    step = progress_step(progress, cancel)
    step(0.0, "prices and network")
    if prices is None:
        draw = market_draw(sc, n_paths=n_paths, seed=seed, preset=preset)
        prices, fees_btc_per_block, gpu_rate_factor = draw.btc_price_usd, draw.fees_btc_per_block, draw.gpu_rate_factor
    sc = with_preset_market(sc, preset)
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 2 or prices.shape[1] != sc.horizon_months:
        raise ValueError(f"prices must be [path, {sc.horizon_months}] USD, got shape {prices.shape}")
    net = scenario_network(sc, prices, fees_btc_per_block)
    step(0.1, "fleet and AI/HPC")

    n_m, n_s = sc.horizon_months, len(sc.sites)
    days = net.days[0]
    ai = ai_arrays(sc, days)
    capacity = np.array([s.capacity_mw for s in sc.sites], dtype=float)
    mining_cap_mw = np.maximum(capacity[None, :] - ai.converted_gross_mw, 0.0)
    fl = fleet_arrays(sc, mining_cap_mw)

    fee = sc.finance.pool_fee_pct / 100.0
    pue = np.array([s.pue for s in sc.sites])
    credit = np.array([s.curtailment_credit_usd_per_mwh for s in sc.sites])
    contract = np.array([s.power_price_usd_per_mwh for s in sc.sites])
    top_mwh = np.array([s.take_or_pay_mwh_per_month for s in sc.sites])
    can_curtail = np.array([s.curtailment_enabled for s in sc.sites])
    opex_per_mw = np.array([s.mining_opex_usd_per_mw_month for s in sc.sites])

    # Per cohort and month, if it ran every hour: TH/s-days and MWh at the meter (with PUE).
    units = fl.running_units * fl.uptime[None, :]
    th_days = units * fl.hashrate_ths_per_unit * days[:, None]
    energy_mwh = units * (fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :] * 24.0 * days[:, None]
    mwh_per_th_day = np.divide(energy_mwh, th_days, out=np.zeros_like(energy_mwh), where=th_days > 0)

    hour_price, buckets = site_price_matrix(sc)
    hp_usd = prices * net.hashprice_btc_per_th_day  # [path, month], USD per TH/s per day
    th_run, e_run, cost_run, energy_total = mining_dispatch(  # each [path, month, site]; [month, site]
        n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract, can_curtail,
        top_mwh, ai.energy_mwh, hp_usd, step)
    btc = th_run * net.hashprice_btc_per_th_day[:, :, None] * (1.0 - fee)   # [1 or path, month]
    revenue = btc * prices[:, :, None]
    curtailed = np.maximum(energy_total[None, :, :] - e_run, 0.0)
    credit_usd = curtailed * credit[None, None, :]
    shortfall_usd = (np.maximum(top_mwh[None, None, :] - e_run - ai.energy_mwh[None, :, :], 0.0)
                     * contract[None, None, :])
    step(0.7, "cash flows")

    def by_site(a_mc: np.ndarray) -> np.ndarray:
        out = np.zeros((n_m, n_s))
        for s in range(n_s):
            out[:, s] = a_mc[:, fl.site == s].sum(axis=1)
        return out

    placed_load_mw = fl.running_units * (fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :]
    mining_opex = by_site(placed_load_mw) * opex_per_mw[None, :]
    asic_capex = by_site(fl.capex_usd)
    asic_dep = by_site(fl.depreciation_usd)
    salvage = salvage_by_month(fl, asic_salvage_by_row(sc, fl, hp_usd, net.subsidy_btc), n_m, fl.site, n_s)
    salvage = np.broadcast_to(salvage, (prices.shape[0], n_m, n_s)).copy()
    ai_power_usd = ai.energy_paid_by_miner_mwh * hour_price.mean(axis=2)
    g_and_a = np.full(n_m, sc.finance.g_and_a_usd_per_month)

    ai_revenue = ai.revenue_usd[None]
    if gpu_rate_factor is not None:   # GPU rental prices per path scale the GPU halls' revenue
        ai_revenue = ai_revenue + ai.gpu_revenue_usd[None] * (np.asarray(gpu_rate_factor)[:, :, None] - 1.0)
    ebitda = (revenue + credit_usd + ai_revenue - cost_run - shortfall_usd
              - ai_power_usd[None] - mining_opex[None] - ai.opex_usd[None])
    capex = asic_capex + ai.capex_usd
    depreciation = asic_dep + ai.depreciation_usd
    ebitda_total = ebitda.sum(axis=2) - g_and_a[None, :]
    taxable = ebitda_total - depreciation.sum(axis=1)[None, :] + salvage.sum(axis=2)
    rate = sc.finance.tax_rate_pct / 100.0
    if sc.finance.tax_mode == "carryforward":
        # Calendar-year tax, paid in each year's last modelled month; losses carry forward.
        tax = annual_tax_with_carryforward(taxable, tax_year_index(sc.start_month, n_m)[0], rate)
    else:
        tax = rate * taxable
    net_cf = ebitda_total - capex.sum(axis=1)[None, :] + salvage.sum(axis=2) - tax
    # Value past the horizon, at the horizon's end (after tax at the statutory rate).
    factors = discount_factors(sc.finance.discount_rate_pct / 100.0, n_m)
    class_adj, ai_terminal, ai_terminal_pv = ai_class_values(ai, factors, hour_price.mean(axis=2), rate,
                                                             gpu_rate_factor)
    asic_terminal = asic_residual_after_tax_by_row(sc, fl, rate, hp_usd).sum(axis=1)     # [path or 1]
    n_p = prices.shape[0]
    terminal = np.broadcast_to(asic_terminal + ai_terminal, (n_p,)).astype(float)
    terminal_pv = np.broadcast_to(asic_terminal * factors[-1] + ai_terminal_pv, (n_p,)).astype(float)
    # The company's flows at its rate; each AI/HPC conversion's pre-tax cash at its own class rate.
    npv = net_cf @ factors + class_adj + terminal_pv
    step(1.0, "done")
    return EngineResult(
        scenario=sc, months=sc.months, btc_price_usd=prices, network=net, fleet=fl, ai=ai,
        hashprice_usd_per_th_day=hp_usd, btc_mined=btc, mining_revenue_usd=revenue,
        mining_power_cost_usd=cost_run, take_or_pay_shortfall_usd=shortfall_usd, curtailment_credit_usd=credit_usd,
        mining_energy_mwh=e_run, curtailed_energy_mwh=curtailed, mining_opex_usd=mining_opex, ai_power_cost_usd=ai_power_usd,
        asic_capex_usd=asic_capex, asic_depreciation_usd=asic_dep, salvage_usd=salvage, ebitda_usd=ebitda,
        capex_usd=capex, g_and_a_usd=g_and_a, tax_usd=tax, net_cash_flow_usd=net_cf, terminal_value_usd=terminal,
        npv_usd=npv, ai_revenue_path_usd=ai_revenue, terminal_value_pv_usd=terminal_pv,
        random_fees_btc_per_block=None if fees_btc_per_block is None else np.asarray(fees_btc_per_block, dtype=float),
        gpu_rate_factor=None if gpu_rate_factor is None else np.asarray(gpu_rate_factor, dtype=float))
