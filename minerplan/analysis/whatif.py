"""What-if: one point of the What-if view's controls, the scenario it makes, and its KPIs and tornado.

A :class:`WhatIf` holds the handful of inputs the What-if view moves (the first month's BTC price,
the network's growth trend or build cost, the power price as a % of every contract, the AI lease
rate). :func:`whatif_scenario` writes them into a copy of a scenario (validated), leaving every
input equal to the scenario's untouched, so the baseline what-if reproduces the scenario exactly;
:func:`apply_whatif` is the same write on the scenario's JSON dict, which the view pushes as one
undoable edit. :func:`kpis` gives the KPIs the view shows for a 1-path run and :func:`tornado` the
NPV swing of each major input. No Qt here: the view only lays these out.

Units: BTC price USD/BTC, hashrate trend %/month, power price % of contract (USD/MWh scaled),
lease rate USD/kW-month of critical IT, network build cost USD per W, money USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.analysis.one_path import scale_power
from minerplan.analysis.report import cost_per_btc
from minerplan.analysis.tornado import tornado as sensitivity_tornado
from minerplan.engine.evaluate import EngineResult
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.model import Scenario


@dataclass(frozen=True)
class WhatIf:
    """One what-if point. ``btc_price_usd`` is the first month's price (the whole path scales with it)."""

    btc_price_usd: float
    hashrate_growth_pct_per_month: float                # the trend (trend and capitulation network models)
    power_price_pct: float = 100.0                      # of every site's contract (and hourly) price
    lease_rate_usd_per_kw_month: float | None = None    # every site with an ai section; None: no such site
    network_build_cost_usd_per_w: float | None = None   # the supply model's build cost; None: another model


def baseline(sc: Scenario) -> WhatIf:
    """The what-if that reproduces ``sc`` exactly."""
    rates = [s.ai.colocation.rate_usd_per_kw_month for s in sc.sites if s.ai is not None]
    supply = sc.market.network_model == "supply"
    return WhatIf(btc_price_usd=float(deterministic_path(sc)[0]),
                  hashrate_growth_pct_per_month=sc.market.hashrate_growth_pct_per_month,
                  power_price_pct=100.0, lease_rate_usd_per_kw_month=rates[0] if rates else None,
                  network_build_cost_usd_per_w=sc.market.network_supply.new_capex_usd_per_w if supply else None)


def scale_btc(d: dict, factor: float) -> None:
    """Scale the start price and every point: the whole deterministic path scales by ``factor``."""
    d["market"]["btc_price_usd"] = d["market"]["btc_price_usd"] * factor
    for p in d.get("price_path", {}).get("points", []):
        p["btc_price_usd"] = p["btc_price_usd"] * factor


def set_lease_rate(d: dict, rate: float) -> None:
    """Set the colocation lease rate (USD/kW-month) of every site with an ai section."""
    for s in d["sites"]:
        if s.get("ai") is not None:
            s["ai"].setdefault("colocation", {})["rate_usd_per_kw_month"] = rate


def apply_whatif(d: dict, sc: Scenario, w: WhatIf) -> None:
    """Write what-if ``w`` into the scenario dict ``d`` of ``sc``; inputs equal to ``sc``'s stay untouched."""
    base = baseline(sc)
    if w.btc_price_usd != base.btc_price_usd:
        if sc.price_path.kind != "points" and w.btc_price_usd > 0:
            d["market"]["btc_price_usd"] = float(w.btc_price_usd)    # flat/growth: month 0 is the start price
        else:
            scale_btc(d, w.btc_price_usd / base.btc_price_usd)
    if w.hashrate_growth_pct_per_month != base.hashrate_growth_pct_per_month:
        d["market"]["hashrate_growth_pct_per_month"] = float(w.hashrate_growth_pct_per_month)
    if w.network_build_cost_usd_per_w is not None and \
            w.network_build_cost_usd_per_w != base.network_build_cost_usd_per_w:
        d["market"].setdefault("network_supply", {})["new_capex_usd_per_w"] = float(w.network_build_cost_usd_per_w)
    if w.power_price_pct != 100.0:
        scale_power(d, w.power_price_pct / 100.0)
    if w.lease_rate_usd_per_kw_month is not None and w.lease_rate_usd_per_kw_month != base.lease_rate_usd_per_kw_month:
        set_lease_rate(d, float(w.lease_rate_usd_per_kw_month))


def whatif_scenario(sc: Scenario, w: WhatIf) -> Scenario:
    """``sc`` with what-if ``w`` (validated; raises ScenarioError naming the field)."""
    if w == baseline(sc):
        return sc
    d = scenario_to_dict(sc)
    apply_whatif(d, sc, w)
    return scenario_from_dict(d, "what-if")


def kpis(res: EngineResult) -> dict[str, float]:
    """NPV (USD), cost per BTC cash / all-in (USD/BTC), first-month hashprice (USD/PH/day) of a 1-path run.

    The same figures as :func:`minerplan.analysis.report.summary`, without its monthly tables (which cost ~12 ms).
    """
    cash, all_in = cost_per_btc(res)
    return {"npv_usd": float(res.npv_usd[0]), "cost_per_btc_cash_usd": float(cash[0]),
            "cost_per_btc_all_in_usd": float(all_in[0]),
            "hashprice_usd_per_ph_day": float(res.hashprice_usd_per_th_day[0, 0] * 1000.0)}


@dataclass(frozen=True)
class TornadoRow:
    """One bar of the tornado: the NPV (USD) at an input's low and high case; None when out of range."""

    name: str              # with the unit of the input
    low_label: str
    high_label: str
    npv_low_usd: float | None
    npv_high_usd: float | None
    base_npv_usd: float

    @property
    def swing_usd(self) -> float:
        if self.npv_low_usd is None or self.npv_high_usd is None:
            return 0.0
        return abs(self.npv_high_usd - self.npv_low_usd)


#: The inputs the what-if tornado shows (see :func:`minerplan.analysis.tornado.tornado`).
WHATIF_TORNADO_INPUTS = ("btc_price", "hashrate_growth", "power_price", "lease_rate", "discount_rate", "pool_fee")


def tornado(sc: Scenario, base_npv_usd: float | None = None) -> list[TornadoRow]:
    """NPV at the low and high case of each major input, sorted by swing (widest first).

    BTC price +-20% (the whole path), the network (growth trend +-1 pt, or the supply model's build cost
    +-20%), power price +-20% (every
    site, hourly profiles too), AI lease rate +-20% (every site with an ai section), discount rate
    +-2 pt, pool fee +-1 pt; each on the deterministic path, the others held. Computed by
    :func:`minerplan.analysis.tornado.tornado`; a case outside an input's valid range has no NPV (None).
    """
    df = sensitivity_tornado(sc, inputs=WHATIF_TORNADO_INPUTS, swing_pct=20.0, base_npv_usd=base_npv_usd)

    def npv(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return [TornadoRow(r.name, r.low_label, r.high_label, npv(r.npv_low_usd), npv(r.npv_high_usd),
                       float(r.base_npv_usd)) for r in df.itertuples(index=False)]
