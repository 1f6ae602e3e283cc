"""The scenario as given, on the optimizer's price paths: per-machine economics and the base plan's value.

:func:`scenario_economics` computes once what every family of candidate decisions needs: the
price paths and the network on each (:func:`minerplan.markets.prices.market_draw`), each fleet
row's monthly margin per unit (:func:`minerplan.engine.unit_economics.unit_margins`, USD per unit
and month, less mining opex), the committed AI/HPC halls, and the value of the scenario exactly as
entered with every machine placed: its NPV per path (``base_npv``, USD), its gross MW per site and
month, its capex per calendar year, its cash per liquidity view and month (the expected cash, and
the path at a low quantile of average BTC price) and, with carry-forward tax, its taxable income per
path and calendar year. All amounts in USD, energy in MWh, power in gross MW (with PUE).

Tax inside the horizon: in linear mode (``finance.tax_mode = "linear"``) every coefficient is after
tax at the statutory rate (``tax_rate``); in carry-forward mode they stay pre-tax (``tax_rate`` 0)
and the model adds the exact annual tax per path (:mod:`solvers.model.tax`). Terminal values are
after tax at the statutory rate in both (``tax_rate_statutory``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from minerplan.engine.ai import ai_arrays
from minerplan.engine.evaluate import (ai_class_values, asic_residual_after_tax_by_row, asic_salvage_by_row,
                                       salvage_by_month, scenario_network, site_price_matrix)
from minerplan.engine.finance import discount_factors
from minerplan.engine.fleet import fleet_arrays
from minerplan.engine.unit_economics import UnitSpec, unit_margins
from minerplan.markets.prices import market_draw, with_preset_market
from minerplan.scenario.model import Scenario
from minerplan.scenario.months import add_months, month_index, parse_month

from ..settings import OptimizerSettings

ProgressFn = Callable[[float, str], None]


@dataclass
class Economics:
    """What the candidate families share (shapes: P paths, M months, S sites, C fleet rows, Y years, W views)."""

    sc: Scenario
    st: OptimizerSettings
    n_p: int
    n_m: int
    n_s: int
    tax_rate: float                    # in the coefficients: the statutory rate (linear mode) or 0 (carry-forward)
    tax_rate_statutory: float          # terminal values are after tax at it
    carryforward: bool
    df: np.ndarray                     # [M] end-of-month discount factors
    prices: np.ndarray                 # [P, M] BTC USD
    gpu_dev: np.ndarray | None         # [P, M] GPU rental price factor - 1 (None: the scenario's prices)
    net: Any                           # minerplan.engine.network result on the paths
    days: np.ndarray                   # [M] days in each month
    hour_price: np.ndarray             # [M, S, hour] USD/MWh
    avg_price: np.ndarray              # [M, S] USD/MWh
    pue: np.ndarray                    # [S]
    opex_mw: np.ndarray                # [S] mining opex, USD per MW and month
    has_top: np.ndarray                # [S] bool: a take-or-pay contract
    decided: np.ndarray                # [S] bool: the model decides here
    notes: list[str]
    big_cap: np.ndarray                # [M, S] infinite capacity: every machine placed
    fl: Any                            # fleet_arrays of the scenario's fleet
    units_base: np.ndarray             # [M, C] installed units
    mining_unit: np.ndarray            # [P, M, C] USD per unit and month (margin less opex; at take-or-pay sites
                                       # the credit on the energy it does not draw, less opex)
    on: np.ndarray                     # [M, C] share of the month each unit runs
    e_unit: np.ndarray                 # [M, C] MWh per unit and month
    hp_usd: np.ndarray                 # [P, M] hashprice, USD per TH/s per day
    ai: Any                            # ai_arrays of the committed conversions
    load_mw: np.ndarray                # [C] gross MW per unit
    years: list[int]
    year_of: np.ndarray                # [M] calendar year
    to_year: np.ndarray                # [M, Y] one-hot: monthly @ to_year sums by year
    month_labels: list[str]            # [M] YYYY-MM
    commit_starts: list[int]           # start month of each committed conversion
    views: list[str]                   # liquidity views: "expected", "P10 price path"
    W: np.ndarray                      # [W, P] weights of each view over the paths
    base_npv: np.ndarray               # [P] USD
    cap_base: np.ndarray               # [S, M] gross MW used by the fleet and commitments
    capex_base_year: np.ndarray        # [Y] USD
    cf_base: np.ndarray                # [W, M] cash flow, USD
    ti_base: np.ndarray | None         # [P, Y] taxable income, USD (carry-forward mode)

    @property
    def n_w(self) -> int:
        return len(self.views)

    def residual(self, f) -> np.ndarray:
        """After-tax resale value at the horizon's end per path and fleet row, discounted to today, [P, row]."""
        return _residual(self.sc, f, self.tax_rate_statutory, self.hp_usd, self.df, self.n_p)

    def salvage(self, f) -> np.ndarray:
        """Proceeds of each row's sale at its retirement month on each path (USD, undiscounted), [P, row]."""
        return _salvage(self.sc, f, self.hp_usd, self.net, self.n_p)


def _residual(sc: Scenario, f, r_tv: float, hp_usd: np.ndarray, df: np.ndarray, n_p: int) -> np.ndarray:
    return np.broadcast_to(asic_residual_after_tax_by_row(sc, f, r_tv, hp_usd) * df[-1], (n_p, f.count.size))


def _salvage(sc: Scenario, f, hp_usd: np.ndarray, net, n_p: int) -> np.ndarray:
    return np.broadcast_to(asic_salvage_by_row(sc, f, hp_usd, net.subsidy_btc), (n_p, f.count.size))


def scenario_economics(sc: Scenario, st: OptimizerSettings, progress: ProgressFn | None = None) -> Economics:
    """The base plan's economics on ``st``'s paths (``st`` already completed for ``sc`` and checked)."""
    n_m, n_s = sc.horizon_months, len(sc.sites)
    fin = sc.finance
    r_tv = fin.tax_rate_pct / 100.0          # statutory rate: terminal values are after tax at it
    carry = fin.tax_mode == "carryforward"
    r = 0.0 if carry else r_tv
    df = discount_factors(fin.discount_rate_pct / 100.0, n_m)                  # [month]
    draw = market_draw(sc, n_paths=st.n_paths, seed=st.seed, preset=st.preset)
    prices = draw.btc_price_usd
    gpu_dev = None if draw.gpu_rate_factor is None else draw.gpu_rate_factor - 1.0   # [path, month]
    n_p = prices.shape[0]
    # per path with miner capitulation or random fees
    net = scenario_network(with_preset_market(sc, st.preset), prices, draw.fees_btc_per_block)
    days = net.days[0]
    hour_price, _ = site_price_matrix(sc)
    avg_price = hour_price.mean(axis=2)                                        # [month, site] USD/MWh
    pue = np.array([s.pue for s in sc.sites])
    opex_mw = np.array([s.mining_opex_usd_per_mw_month for s in sc.sites])
    has_top = np.array([s.take_or_pay_mwh_per_month > 0 for s in sc.sites])
    decided = np.ones(n_s, dtype=bool)
    notes = [f"site {s.name}: take-or-pay contract, so dispatch there is optimized path by path; the optimizer "
             "does not buy machines for it" for s in sc.sites if s.take_or_pay_mwh_per_month > 0]
    if progress:
        progress(0.05, "per-machine economics")

    # ---- the scenario as given, every machine installed and placed ----
    big_cap = np.full((n_m, n_s), np.inf)
    fl = fleet_arrays(sc, big_cap)
    units_base = fl.count[None, :] * fl.active                                  # [month, cohort]
    spec = UnitSpec(fl.site, fl.power_w_per_unit, fl.uptime, fl.hashrate_ths_per_unit, fl.active)
    um = unit_margins(sc, spec, net, prices, margin_only=True)
    opex_unit = (opex_mw[fl.site] * fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :] * fl.active  # [M, C]
    mining_unit = um.margin_usd - opex_unit[None]                              # [P, M, C] USD per unit
    # At take-or-pay sites the dispatch is a per-path decision (TopBlock); an installed unit itself
    # only earns the credit on energy it does not draw, minus opex.
    credit_s = np.array([s.curtailment_credit_usd_per_mwh for s in sc.sites])
    on = fl.active * fl.uptime[None, :]
    e_unit = on * (fl.power_w_per_unit * pue[fl.site] / 1e6)[None, :] * 24.0 * days[:, None]        # [M, C] MWh
    at_top = has_top[fl.site]
    if at_top.any():
        mining_unit[:, :, at_top] = (credit_s[fl.site][None, at_top] * e_unit[:, at_top] - opex_unit[:, at_top])[None]
    base_mining = np.einsum("pmc,mc,m->p", mining_unit, units_base, df)
    hp_usd = np.broadcast_to(prices * net.hashprice_btc_per_th_day, (n_p, n_m))   # USD per TH/s per day
    no_sale = np.zeros(fl.count.size, dtype=int)
    salv_base = salvage_by_month(fl, _salvage(sc, fl, hp_usd, net, n_p), n_m, no_sale, 1)[:, :, 0]   # [P, M]
    base_det = (df @ (r * fl.depreciation_usd.sum(1) - fl.capex_usd.sum(1)) + (1 - r) * (salv_base @ df)
                + _residual(sc, fl, r_tv, hp_usd, df, n_p).sum(axis=1))                          # [P]
    base_npv = (1 - r) * base_mining + base_det
    ai = ai_arrays(sc, days)
    ai_ebitda = (ai.revenue_usd - ai.opex_usd - ai.energy_paid_by_miner_mwh * avg_price).sum(axis=1)
    base_npv = base_npv + df @ ((1 - r) * ai_ebitda + r * ai.depreciation_usd.sum(1) - ai.capex_usd.sum(1))
    base_npv = base_npv - (1 - r) * fin.g_and_a_usd_per_month * df.sum()
    # Each committed conversion's pre-tax cash at its own class rate, and its value past the horizon.
    class_adj, _, ai_terminal_pv = ai_class_values(ai, df, avg_price, r_tv,
                                                   None if gpu_dev is None else gpu_dev + 1.0)
    base_npv = base_npv + class_adj + ai_terminal_pv

    load_mw = fl.power_w_per_unit * pue[fl.site] / 1e6                          # [cohort] MW per unit
    cap_base = np.zeros((n_s, n_m))
    for s in range(n_s):
        cap_base[s] = (units_base[:, fl.site == s] * load_mw[fl.site == s][None, :]).sum(1)
    cap_base += ai.converted_gross_mw.T
    y0, m0 = parse_month(sc.start_month)
    year_of = np.array([y0 + (m0 - 1 + i) // 12 for i in range(n_m)])
    years = sorted(set(year_of.tolist()))
    to_year = (year_of[:, None] == np.array(years)[None, :]).astype(float)   # [month, year]
    capex_base_year = (fl.capex_usd.sum(1) + ai.capex_usd.sum(1)) @ to_year

    views, W = _liquidity_views(st, prices)
    cf_base = ((1 - r) * np.einsum("wp,pmc,mc->wm", W, mining_unit, units_base)
               + (r * fl.depreciation_usd.sum(1) - fl.capex_usd.sum(1))[None] + (1 - r) * (W @ salv_base)
               + ((1 - r) * ai_ebitda + r * ai.depreciation_usd.sum(1) - ai.capex_usd.sum(1))[None]
               - (1 - r) * fin.g_and_a_usd_per_month)
    # Taxable income by calendar year (carry-forward mode), [P, Y].
    ti_base = None
    if carry:
        ti_month = (np.einsum("pmc,mc->pm", mining_unit, units_base) + salv_base
                    + (ai_ebitda - ai.depreciation_usd.sum(1) - fin.g_and_a_usd_per_month
                       - fl.depreciation_usd.sum(1))[None])
        ti_base = ti_month @ to_year
    if gpu_dev is not None:
        # Random GPU rental prices: the scenario's own GPU halls earn more or less on each path.
        extra = ai.gpu_revenue_usd.sum(axis=1)[None, :] * gpu_dev                   # [path, month]
        base_npv = base_npv + (1 - r) * (extra @ df)
        cf_base = cf_base + (1 - r) * (W @ extra)
        if carry:
            ti_base = ti_base + extra @ to_year
    return Economics(sc=sc, st=st, n_p=n_p, n_m=n_m, n_s=n_s, tax_rate=r, tax_rate_statutory=r_tv,
                     carryforward=carry, df=df, prices=prices, gpu_dev=gpu_dev, net=net, days=days,
                     hour_price=hour_price, avg_price=avg_price, pue=pue, opex_mw=opex_mw, has_top=has_top,
                     decided=decided, notes=notes, big_cap=big_cap, fl=fl, units_base=units_base,
                     mining_unit=mining_unit, on=on, e_unit=e_unit, hp_usd=hp_usd, ai=ai, load_mw=load_mw,
                     years=years, year_of=year_of, to_year=to_year,
                     month_labels=[add_months(sc.start_month, i) for i in range(n_m)],
                     commit_starts=[month_index(sc.start_month, c.start_month) for c in sc.conversion_plan],
                     views=views, W=W, base_npv=base_npv, cap_base=cap_base, capex_base_year=capex_base_year,
                     cf_base=cf_base, ti_base=ti_base)


def _liquidity_views(st: OptimizerSettings, prices: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Liquidity views and their weights over the paths ``[W, P]``: expected cash, and the path at a low
    quantile of average BTC price (``st.liquidity_quantile``)."""
    n_p = prices.shape[0]
    views, W = ["expected"], [np.full(n_p, 1.0 / n_p)]
    if st.liquidity_quantile is not None and n_p > 1:
        avg = prices.mean(axis=1)
        target = np.quantile(avg, st.liquidity_quantile)
        pick = int(np.argmin(np.abs(avg - target)))
        views.append(f"P{st.liquidity_quantile * 100:g} price path")
        W.append(np.eye(n_p)[pick])
    return views, np.array(W)
