"""Summaries of an engine run: the JSON the CLI prints and the text a person reads.

With several price paths every figure is the median across paths, and
``percentiles`` gives P5/P50/P95 of the NPV (and of the cost per BTC).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:   # pandas costs ~0.7 s to import: loaded when a table is built, not at app start
    import pandas as pd

from .engine import EngineResult, site_price_matrix
from .finance import irr_annual, payback_months
from .network import block_subsidy_btc


def _num(x) -> float | None:
    """A JSON-safe number: NaN/inf become null."""
    x = float(x)
    return x if math.isfinite(x) else None


def _median(a: np.ndarray, axis=0):
    a = np.asarray(a, dtype=float)
    if np.all(np.isnan(a)):
        return np.nan
    return np.nanmedian(a, axis=axis)


def cohort_breakevens(res: EngineResult, month: int = 0) -> pd.DataFrame:
    """Per cohort in ``month``: J/TH, breakeven power price (USD/kWh) and breakeven BTC price (USD).

    Breakeven power = hashprice net of pool fee (USD per TH/s per day) / (0.024 x J/TH);
    breakeven BTC price = energy cost per TH/s per day at the site's average price
    and PUE / BTC earned per TH/s per day net of pool fee. Both are power-only
    (no opex, no depreciation). Uses the median path's hashprice.
    """
    sc = res.scenario
    fee = sc.finance.pool_fee_pct / 100.0
    hp_usd = float(_median(res.hashprice_usd_per_th_day[:, month])) * (1 - fee)
    hp_btc = float(_median(res.network.hashprice_btc_per_th_day[:, month])) * (1 - fee)
    prices, _ = site_price_matrix(sc)
    avg_price_kwh = prices[month].mean(axis=1) / 1000.0
    rows = []
    for i, c in enumerate(sc.fleet):
        s = res.fleet.site[i]
        eff = c.power_w / res.fleet.hashrate_ths_per_unit[month, i]
        cost_per_th_day = 0.024 * eff * sc.sites[s].pue * avg_price_kwh[s]
        rows.append({
            "cohort": i, "model": c.model, "site": c.site, "count": c.count,
            "efficiency_j_per_th": eff,
            "breakeven_power_usd_per_kwh": hp_usd / (0.024 * eff),
            "breakeven_btc_price_usd": cost_per_th_day / hp_btc if hp_btc > 0 else np.inf,
            "site_power_usd_per_kwh": avg_price_kwh[s],
            "mining_power_mw": c.count * c.power_w / 1e6,
        })
    import pandas as pd

    return pd.DataFrame(rows)


def model_breakevens(res: EngineResult) -> list[dict[str, Any]]:
    """One row per ASIC model (nameplate J/TH; BTC breakeven weighted by each cohort's power)."""
    sc = res.scenario
    fee = sc.finance.pool_fee_pct / 100.0
    hp_usd = float(_median(res.hashprice_usd_per_th_day[:, 0])) * (1 - fee)
    df = cohort_breakevens(res, 0)
    out = []
    for model in dict.fromkeys(c.model for c in sc.fleet):
        first = next(c for c in sc.fleet if c.model == model)
        eff = first.power_w / first.hashrate_ths
        rows = df[df.model == model]
        w = rows.mining_power_mw.to_numpy()
        btc_be = float(np.average(rows.breakeven_btc_price_usd, weights=w)) if w.sum() > 0 else float(
            rows.breakeven_btc_price_usd.mean())
        out.append({"name": model, "efficiency_j_per_th": eff,
                    "breakeven_power_usd_per_kwh": hp_usd / (0.024 * eff),
                    "breakeven_btc_price_usd": _num(btc_be)})
    return out


def monthly_frame(res: EngineResult, path: int | None = None) -> pd.DataFrame:
    """Company totals per month; the median across paths when ``path`` is None."""

    def pick(a):
        a = np.asarray(a, dtype=float)
        if a.ndim == 3:
            a = a.sum(axis=2)
        if a.ndim == 1:
            return a
        if a.shape[0] == 1:          # one row for every path (the trend network)
            return a[0]
        return a[path] if path is not None else np.median(a, axis=0)

    net = res.network
    import pandas as pd

    df = pd.DataFrame({
        "month": res.months,
        "btc_price_usd": pick(res.btc_price_usd),
        "network_hashrate_ehs": pick(net.network_hashrate_ehs),
        "difficulty": pick(net.difficulty),
        "block_subsidy_btc": pick(net.subsidy_btc),
        "fees_btc_per_block": pick(net.fees_btc_per_block),
        "hashprice_usd_per_ph_day": pick(res.hashprice_usd_per_th_day) * 1000.0,
        "hashprice_btc_per_ph_day": pick(net.hashprice_btc_per_ph_day),
        "btc_mined": pick(res.btc_mined),
        "mining_revenue_usd": pick(res.mining_revenue_usd),
        "power_cost_usd": pick(res.power_cost_usd),
        "take_or_pay_shortfall_usd": pick(res.take_or_pay_shortfall_usd),
        "curtailment_credit_usd": pick(res.curtailment_credit_usd),
        "curtailed_energy_mwh": pick(res.curtailed_energy_mwh),
        "ai_revenue_usd": res.ai.revenue_usd.sum(axis=1),
        "opex_usd": res.mining_opex_usd.sum(axis=1) + res.ai.opex_usd.sum(axis=1) + res.g_and_a_usd,
        "ebitda_usd": pick(res.ebitda_usd) - res.g_and_a_usd,
        "capex_usd": res.capex_usd.sum(axis=1),
        "tax_usd": pick(res.tax_usd),
        "net_cash_flow_usd": pick(res.net_cash_flow_usd),
    })
    return df


def _cost_per_btc(res: EngineResult) -> tuple[np.ndarray, np.ndarray]:
    """Cash and all-in cost per BTC mined over the horizon, per path (USD/BTC).

    Cash: mining power, take-or-pay shortfall, mining opex and G&A, less
    curtailment credits. All-in adds ASIC depreciation (CoinShares' split).
    """
    btc = res.btc_mined.sum(axis=(1, 2))
    cash = (res.mining_power_cost_usd.sum(axis=(1, 2)) + res.take_or_pay_shortfall_usd.sum(axis=(1, 2))
            - res.curtailment_credit_usd.sum(axis=(1, 2)) + res.mining_opex_usd.sum() + res.g_and_a_usd.sum())
    all_in = cash + res.asic_depreciation_usd.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(btc > 0, cash / btc, np.nan), np.where(btc > 0, all_in / btc, np.nan)


def summary(res: EngineResult, *, seed: int | None = None, preset: str | None = None,
            with_irr: bool = True) -> dict[str, Any]:
    """The ``minerplan evaluate --json`` document (medians across paths).

    ``with_irr=False`` skips the per-path IRR search (``irr`` is then None), which
    interactive views that do not show it use to stay fast.
    """
    sc = res.scenario
    net = res.network
    cf = res.net_cash_flow_usd.copy()
    cf[:, -1] += res.terminal_value_usd
    irr = irr_annual(cf) if with_irr else np.full(cf.shape[0], np.nan)
    payback = payback_months(res.net_cash_flow_usd)  # cash actually received: the terminal value is not
    cash_cost, all_in_cost = _cost_per_btc(res)
    capacity = np.array([s.capacity_mw for s in sc.sites])
    site_ebitda = np.median(res.ebitda_usd, axis=0)  # [month, site]
    sites = []
    for s, site in enumerate(sc.sites):
        sites.append({
            "name": site.name, "capacity_mw": site.capacity_mw,
            "ebitda_usd_per_mw_month": _num(site_ebitda[:, s].mean() / capacity[s]) if capacity[s] > 0 else None,
            "mining_revenue_usd": _num(np.median(res.mining_revenue_usd[:, :, s].sum(axis=1))),
            "ai_revenue_usd": _num(res.ai.revenue_usd[:, s].sum()),
            "capex_usd": _num(res.capex_usd[:, s].sum()),
            "btc_mined": _num(np.median(res.btc_mined[:, :, s].sum(axis=1))),
        })
    monthly = monthly_frame(res)
    out: dict[str, Any] = {
        "scenario": sc.name,
        "start_month": sc.start_month,
        "horizon_months": sc.horizon_months,
        "paths": res.n_paths,
        "seed": seed if res.n_paths > 1 else None,
        "preset": preset,
        "miner_capitulation": sc.market.hashrate_response is not None,
        "price_model": sc.monte_carlo.model if res.n_paths > 1 else None,
        "hashprice_usd_per_ph_day": _num(_median(res.hashprice_usd_per_th_day[:, 0]) * 1000.0),
        "hashprice_btc_per_ph_day": _num(_median(net.hashprice_btc_per_ph_day[:, 0])),
        "network_hashrate_ehs": _num(_median(net.network_hashrate_ehs[:, 0])),
        "difficulty": _num(sc.market.difficulty_value),
        "block_subsidy_btc": block_subsidy_btc(sc.market.block_height),
        "fleet_hashrate_ehs": _num(sum(c.count * c.hashrate_ths for c in sc.fleet if not c.purchase_month) / 1e6),
        "models": model_breakevens(res) if sc.fleet else [],
        "npv_usd": _num(np.median(res.npv_usd)),
        "irr": _num(_median(irr)),
        "payback_months": _num(_median(payback)),
        "terminal_value_usd": _num(res.terminal_value_usd),
        "btc_mined": _num(np.median(res.btc_mined.sum(axis=(1, 2)))),
        "cost_per_btc_cash_usd": _num(_median(cash_cost)),
        "cost_per_btc_all_in_usd": _num(_median(all_in_cost)),
        "ebitda_usd_per_mw_month": _num(np.median(res.ebitda_usd.sum(axis=2), axis=0).mean() / capacity.sum())
        if capacity.sum() > 0 else None,
        "sites": sites,
        "monthly": [{k: (_num(v) if k != "month" else v) for k, v in row.items()}
                    for row in monthly.to_dict(orient="records")],
    }
    if res.n_paths > 1:
        q = lambda a: {f"p{p}": _num(np.nanpercentile(a, p)) if not np.all(np.isnan(a)) else None  # noqa: E731
                       for p in (5, 50, 95)}
        out["percentiles"] = {"npv_usd": q(res.npv_usd), "cost_per_btc_all_in_usd": q(all_in_cost),
                              "btc_mined": q(res.btc_mined.sum(axis=(1, 2)))}
    return out


def format_usd(x: float | None, digits: int = 0) -> str:
    """``-$23.4M``, ``$1.25B``, ``$91,500``: money as people read it (``n/a`` for None or not finite)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign, x = ("-" if x < 0 else ""), abs(x)
    if x >= 1e9:
        return f"{sign}${x / 1e9:,.2f}B"
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.1f}M"
    return f"{sign}${x:,.{digits}f}"


def format_summary(doc: dict[str, Any]) -> str:
    """The readable text ``minerplan evaluate`` prints."""
    lines = []
    paths = doc["paths"]
    what = f"{paths:,} price paths (medians)" if paths > 1 else "deterministic price path"
    if paths > 1 and doc.get("price_model"):
        what += f", {doc['price_model']} model"
    if doc.get("preset"):
        what += f", preset {doc['preset']}"
    lines.append(f"{doc['scenario']} - {doc['start_month']}, {doc['horizon_months']} months, {what}")
    lines.append("network: hashrate answers hashprice (miner capitulation)" if doc.get("miner_capitulation")
                 else "network: hashrate follows its trend (no miner capitulation)")
    lines.append("")
    lines.append("Network, first month")
    lines.append(f"  hashprice            {doc['hashprice_usd_per_ph_day']:,.2f} USD/PH/day"
                 f"  ({doc['hashprice_btc_per_ph_day'] * 1e3:,.4f} mBTC/PH/day)")
    lines.append(f"  network hashrate     {doc['network_hashrate_ehs']:,.0f} EH/s   (difficulty {doc['difficulty'] / 1e12:,.1f}T)")
    lines.append(f"  block subsidy        {doc['block_subsidy_btc']:g} BTC")
    lines.append(f"  fleet hashrate       {doc['fleet_hashrate_ehs']:,.2f} EH/s")
    lines.append("")
    lines.append("Value")
    npv_line = f"  NPV                  {format_usd(doc['npv_usd'])}"
    if "percentiles" in doc:
        p = doc["percentiles"]["npv_usd"]
        npv_line += f"   (P5 {format_usd(p['p5'])}, P95 {format_usd(p['p95'])})"
    lines.append(npv_line)
    lines.append(f"    of which terminal  {format_usd(doc['terminal_value_usd'])} (contracted AI leases past the horizon, ASIC resale)")
    irr = doc["irr"]
    lines.append(f"  IRR                  {'n/a (cash flows never change sign)' if irr is None else f'{irr * 100:,.1f} %/yr'}")
    pb = doc["payback_months"]
    lines.append(f"  payback              {'not within the horizon' if pb is None else f'{pb:,.0f} months'}"
                 " (cumulative net cash, without the terminal value)")
    lines.append(f"  BTC mined            {doc['btc_mined']:,.1f} BTC")
    lines.append(f"  cost per BTC         {format_usd(doc['cost_per_btc_cash_usd'])} cash, "
                 f"{format_usd(doc['cost_per_btc_all_in_usd'])} all-in")
    lines.append("")
    lines.append("Breakevens by model (first month, power only)")
    lines.append(f"  {'model':<24}{'J/TH':>7}{'power USD/kWh':>16}{'BTC price USD':>16}")
    for m in doc["models"]:
        be = m["breakeven_btc_price_usd"]
        lines.append(f"  {m['name']:<24}{m['efficiency_j_per_th']:>7.1f}{m['breakeven_power_usd_per_kwh']:>16.4f}"
                     f"{(f'{be:,.0f}' if be is not None else 'n/a'):>16}")
    lines.append("")
    lines.append("Sites")
    lines.append(f"  {'site':<20}{'MW':>7}{'EBITDA USD/MW-mo':>18}{'BTC mined':>11}{'AI revenue':>13}{'capex':>11}")
    for s in doc["sites"]:
        e = s["ebitda_usd_per_mw_month"]
        lines.append(f"  {s['name']:<20}{s['capacity_mw']:>7,.0f}{(f'{e:,.0f}' if e is not None else 'n/a'):>18}"
                     f"{s['btc_mined']:>11,.1f}{format_usd(s['ai_revenue_usd']):>13}{format_usd(s['capex_usd']):>11}")
    lines.append("")
    lines.append("Monthly (first 12 months; --json for all)")
    lines.append(f"  {'month':<8}{'BTC USD':>9}{'EH/s':>7}{'USD/PH/d':>9}{'BTC':>8}{'mining rev':>12}"
                 f"{'power':>10}{'AI rev':>10}{'capex':>10}{'net cash':>11}")
    for r in doc["monthly"][:12]:
        lines.append(f"  {r['month']:<8}{r['btc_price_usd']:>9,.0f}{r['network_hashrate_ehs']:>7,.0f}"
                     f"{r['hashprice_usd_per_ph_day']:>9.2f}{r['btc_mined']:>8.1f}{format_usd(r['mining_revenue_usd']):>12}"
                     f"{format_usd(r['power_cost_usd']):>10}{format_usd(r['ai_revenue_usd']):>10}{format_usd(r['capex_usd']):>10}"
                     f"{format_usd(r['net_cash_flow_usd']):>11}")
    return "\n".join(lines)
