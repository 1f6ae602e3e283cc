"""Summaries of an engine run: the JSON the CLI prints and the text a person reads.

With several price paths every headline figure is the median across paths
(``statistic`` says so: "median of N paths"; "on the entered price path" for
one path); ``expected_npv_usd`` is the mean with its 95% confidence interval,
``percentiles`` gives the mean and P5/P25/P50/P75/P95 of the NPV (and of the
cost per BTC), and ``monthly_percentiles`` the fan of the main monthly series.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:   # pandas costs ~0.7 s to import: loaded when a table is built, not at app start
    import pandas as pd

from minerplan.engine.evaluate import EngineResult, site_price_matrix
from minerplan.engine.finance import irr_annual, payback_months
from minerplan.engine.network import block_subsidy_btc
from minerplan.analysis.vocabulary import ON_PATH, expected, expected_npv, npv_label, p5_npv, p95_npv
from minerplan.formats import usd
from minerplan.markets.prices import PRESETS


def json_number(x) -> float | None:
    """A JSON-safe number: NaN/inf become null (the one rule of every --json document)."""
    x = float(x)
    return x if math.isfinite(x) else None


_num = json_number


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


def cost_per_btc(res: EngineResult) -> tuple[np.ndarray, np.ndarray]:
    """Cash and all-in cost per BTC mined over the whole horizon, per path (USD/BTC).

    Cash: mining power, take-or-pay shortfall, mining opex and mining's share
    of G&A (``finance.g_and_a_mining_share_pct``, else mining's share of revenue
    over the horizon), less curtailment credits. All-in adds ASIC depreciation
    (CoinShares' split). A horizon average spans any halving in it: ``periods``
    gives the same figures by calendar year and quarter, as miners report them.
    """
    from minerplan.analysis.periods import ai_revenue_usd, g_and_a_mining_share

    btc = res.btc_mined.sum(axis=(1, 2))
    share = g_and_a_mining_share(res.scenario.finance.g_and_a_mining_share_pct,
                                 res.mining_revenue_usd.sum(axis=(1, 2)),
                                 np.broadcast_to(ai_revenue_usd(res).sum(axis=1), btc.shape))
    cash = (res.mining_power_cost_usd.sum(axis=(1, 2)) + res.take_or_pay_shortfall_usd.sum(axis=(1, 2))
            - res.curtailment_credit_usd.sum(axis=(1, 2)) + res.mining_opex_usd.sum() + share * res.g_and_a_usd.sum())
    all_in = cash + res.asic_depreciation_usd.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(btc > 0, cash / btc, np.nan), np.where(btc > 0, all_in / btc, np.nan)


def summary(res: EngineResult, *, seed: int | None = None, preset: str | None = None,
            with_irr: bool = True, with_incremental: bool = True) -> dict[str, Any]:
    """The ``minerplan evaluate --json`` document (medians across paths; ``statistic`` says which).

    ``with_irr=False`` skips the per-path IRR search (``irr`` is then None), which
    interactive views that do not show it use to stay fast; ``with_incremental=False``
    skips the status-quo run behind ``incremental``.
    """
    sc = res.scenario
    net = res.network
    cf = res.net_cash_flow_usd.copy()
    cf[:, -1] += res.terminal_value_usd
    outlay = starts_with_outlay(res.net_cash_flow_usd)
    irr = irr_annual(cf) if with_irr else np.full(cf.shape[0], np.nan)
    irr = np.where(outlay, irr, np.nan)
    payback = payback_months(res.net_cash_flow_usd)  # cash actually received: the terminal value is not
    payback = np.where(outlay, payback, np.nan)
    cash_cost, all_in_cost = cost_per_btc(res)
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
        "preset_switches_on": PRESETS[preset].switches_on() if preset else [],
        "network_model": sc.market.network_model,
        "g_and_a_mining_share_pct": sc.finance.g_and_a_mining_share_pct,
        "miner_capitulation": sc.market.network_model != "trend",
        "price_model": sc.monte_carlo.model if res.n_paths > 1 else None,
        "hashprice_usd_per_ph_day": _num(_median(res.hashprice_usd_per_th_day[:, 0]) * 1000.0),
        "hashprice_btc_per_ph_day": _num(_median(net.hashprice_btc_per_ph_day[:, 0])),
        "network_hashrate_ehs": _num(_median(net.network_hashrate_ehs[:, 0])),
        "difficulty": _num(sc.market.difficulty_value),
        "block_subsidy_btc": block_subsidy_btc(sc.market.block_height),
        "fleet_hashrate_ehs": _num(sum(c.count * c.hashrate_ths for c in sc.fleet if not c.purchase_month) / 1e6),
        "models": model_breakevens(res) if sc.fleet else [],
        "statistic": statistic_label(res.n_paths),
        "npv_label": npv_label("median", res.n_paths),
        "npv_usd": _num(np.median(res.npv_usd)),
        **npv_statistics(res.npv_usd),
        "irr": _num(_median(irr)),
        "payback_months": _num(_median(payback[np.isfinite(payback)])) if np.isfinite(payback).any() else None,
        "payback_share_of_paths": _num(np.mean(np.isfinite(payback))) if outlay.any() else None,
        "terminal_value_usd": _num(np.median(res.terminal_value_usd)),
        "terminal_value_pv_usd": _num(np.median(res.terminal_value_pv_usd)),
        "btc_mined": _num(np.median(res.btc_mined.sum(axis=(1, 2)))),
        "cost_per_btc_cash_usd": _num(_median(cash_cost)),
        "cost_per_btc_all_in_usd": _num(_median(all_in_cost)),
        "ebitda_usd_per_mw_month": _num(np.median(res.ebitda_usd.sum(axis=2), axis=0).mean() / capacity.sum())
        if capacity.sum() > 0 else None,
        "sites": sites,
        "monthly": [{k: (_num(v) if k != "month" else v) for k, v in row.items()}
                    for row in monthly.to_dict(orient="records")],
    }
    if not outlay.all():
        out["irr_note"] = ("no initial outlay: the company's cash flows start positive, so an IRR and a payback "
                           "do not describe them" + ("" if not outlay.any() else
                                                     f" on {np.mean(~outlay) * 100:.0f}% of paths")
                           + "; see incremental for the plan's own cash flows")
    if res.n_paths > 1:
        q = lambda a: {**({"mean": _num(np.nanmean(a))} if not np.all(np.isnan(a)) else {"mean": None}),  # noqa: E731
                       **{f"p{p}": _num(np.nanpercentile(a, p)) if not np.all(np.isnan(a)) else None
                          for p in (5, 25, 50, 75, 95)}}
        out["percentiles"] = {"npv_usd": q(res.npv_usd), "cost_per_btc_all_in_usd": q(all_in_cost),
                              "btc_mined": q(res.btc_mined.sum(axis=(1, 2)))}
    out["monthly_percentiles"] = monthly_percentiles(res)
    from minerplan.analysis.periods import period_table

    out["periods"] = period_table(res, statistic="median")
    if with_incremental:
        from minerplan.analysis.incremental import incremental

        out["incremental"] = incremental(res, seed=seed, preset=preset)
    return out


def statistic_label(n_paths: int) -> str:
    """How a headline figure was taken from the paths: the words the CLI, app and workbook use."""
    return "on the entered price path" if n_paths == 1 else f"median of {n_paths:,} paths"


def npv_statistics(npv_usd: np.ndarray) -> dict[str, Any]:
    """Expected (mean) NPV with its 95% confidence interval from the standard error, and P(NPV < 0).

    The standard error is numpy's ``std(ddof=1) / sqrt(n)`` (what ``scipy.stats.sem`` computes) and
    z = 1.959964 the 97.5% normal quantile: ``minerplan evaluate`` loads no scipy, and importing
    ``scipy.stats`` costs ~0.5 s (532 ms measured after numpy and pandas).
    """
    v = np.asarray(npv_usd, dtype=float)
    mean = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
    return {"expected_npv_usd": _num(mean),
            "expected_npv_ci95_usd": [_num(mean - 1.959964 * se), _num(mean + 1.959964 * se)],
            "p_npv_negative": _num(np.mean(v < 0))}


#: Series ``monthly_percentiles`` reports, with the [path, month(, site)] array they come from.
PERCENTILE_SERIES = ("btc_price_usd", "hashprice_usd_per_ph_day", "network_hashrate_ehs", "net_cash_flow_usd")


def monthly_percentiles(res: EngineResult) -> dict[str, dict[str, list]]:
    """P5, P25, P50, P75 and P95 across paths of each month, for :data:`PERCENTILE_SERIES`."""
    n = res.n_paths
    arrays = {
        "btc_price_usd": res.btc_price_usd,
        "hashprice_usd_per_ph_day": res.hashprice_usd_per_th_day * 1000.0,
        "network_hashrate_ehs": np.broadcast_to(res.network.network_hashrate_ehs, (n, len(res.months))),
        "net_cash_flow_usd": res.net_cash_flow_usd,
    }
    out = {}
    for key in PERCENTILE_SERIES:
        q = np.percentile(np.asarray(arrays[key], dtype=float), [5, 25, 50, 75, 95], axis=0)
        out[key] = {f"p{p}": [_num(x) for x in row] for p, row in zip((5, 25, 50, 75, 95), q)}
    return out


def _fmt(x, pattern: str) -> str:
    # Not formats.fixed: a missing value reads "n/a" in the summary (fixed gives ""), and decimals are kept.
    return "n/a" if x is None else pattern.format(x)


def _payback_text(pb, share, paths: int) -> str:
    if share is None:
        return "n/a (no initial outlay)"
    if paths == 1:
        text = "not within the horizon" if pb is None else f"{pb:,.0f} months"
    else:
        text = (f"{share * 100:.0f}% of paths pay back within the horizon"
                + (f"; median month among them {pb:,.0f}" if pb is not None else ""))
    return text + " (cumulative net cash, without the terminal value)"


def _headline_periods(periods: list[dict]) -> list[dict]:
    """The calendar-year rows of ``periods`` (the text and the app show years; --json has quarters too)."""
    return [r for r in periods if r.get("kind") == "year"]


def starts_with_outlay(net_cash_flow_usd: np.ndarray) -> np.ndarray:
    """Per path: the first month with a cash flow (|flow| > $1) is an outlay (negative).

    An IRR and a payback period describe an investment: money out first, then back.
    Flows that start positive have no such shape (their "IRR" is meaningless), so
    the summary reports them as n/a with the reason.
    """
    cf = np.atleast_2d(np.asarray(net_cash_flow_usd, dtype=float))
    nz = np.abs(cf) > 1.0
    first = np.argmax(nz, axis=1)
    return nz.any(axis=1) & (cf[np.arange(cf.shape[0]), first] < 0)


NETWORK_MODEL_TEXT = {
    "supply": "network: supply model (new machines when hashprice pays for them, old ones off when it does not)",
    "capitulation": "network: hashrate trend with miner capitulation (switch-off only, installs follow the trend)",
    "trend": "network: hashrate follows its trend whatever hashprice does (no response)",
}


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
    lines.append(NETWORK_MODEL_TEXT.get(doc.get("network_model"), "network: hashrate follows its trend"))
    if doc.get("preset"):
        lines.append(f"preset {doc['preset']} switches on: "
                     + ("; ".join(doc.get("preset_switches_on") or []) or "nothing besides its BTC price path"))
    lines.append("")
    lines.append("Network, first month")
    lines.append(f"  hashprice            {doc['hashprice_usd_per_ph_day']:,.2f} USD/PH/day"
                 f"  ({doc['hashprice_btc_per_ph_day'] * 1e3:,.4f} mBTC/PH/day)")
    lines.append(f"  network hashrate     {doc['network_hashrate_ehs']:,.0f} EH/s   (difficulty {doc['difficulty'] / 1e12:,.1f}T)")
    lines.append(f"  block subsidy        {doc['block_subsidy_btc']:g} BTC")
    lines.append(f"  fleet hashrate       {doc['fleet_hashrate_ehs']:,.2f} EH/s")
    lines.append("")
    lines.append("Value" + (f" ({paths:,} price paths; other figures: {doc.get('statistic')})" if paths > 1 else
                            f" ({ON_PATH})"))
    width = 34 if paths > 1 else 30
    lines.append(f"  {npv_label('median', paths):<{width}} {usd(doc['npv_usd'])}")
    if paths > 1:
        lo, hi = doc["expected_npv_ci95_usd"]
        lines.append(f"  {expected_npv(paths):<{width}} {usd(doc['expected_npv_usd'])} (95% CI {usd(lo)} to {usd(hi)})")
        p = doc["percentiles"]["npv_usd"]
        lines.append(f"  {p5_npv(paths):<{width}} {usd(p['p5'])}")
        lines.append(f"  {p95_npv(paths):<{width}} {usd(p['p95'])}")
        lines.append(f"  {'P(NPV < 0)':<{width}} {doc['p_npv_negative'] * 100:.1f}% of the paths")
    if doc.get("terminal_value_pv_usd") is not None:
        lines.append(f"    of which terminal (present value) {usd(doc['terminal_value_pv_usd'])}; "
                     f"{usd(doc['terminal_value_usd'])} at the horizon's end")
    else:
        lines.append(f"    of which terminal  {usd(doc['terminal_value_usd'])} at the horizon's end "
                     "(contracted AI leases past the horizon, ASIC resale)")
    irr = doc["irr"]
    if irr is None:
        irr_text = f"n/a ({doc['irr_note']})" if doc.get("irr_note") else "n/a (the cash flows never change sign)"
    else:
        irr_text = f"{irr * 100:,.1f} %/yr" + (" (median)" if paths > 1 else "")
    lines.append(f"  IRR                  {irr_text}")
    pb, share = doc["payback_months"], doc.get("payback_share_of_paths")
    lines.append(f"  payback              {_payback_text(pb, share, paths)}")
    lines.append(f"  BTC mined            {doc['btc_mined']:,.1f} BTC")
    lines.append(f"  cost per BTC         {usd(doc['cost_per_btc_cash_usd'])} cash, "
                 f"{usd(doc['cost_per_btc_all_in_usd'])} all-in (horizon average; by year below)")
    inc = doc.get("incremental")
    if inc is not None:
        lines.append("")
        lines.append(f"The plan against the status quo ({doc.get('statistic', statistic_label(paths))})")
        lines.append(f"  status quo           {inc['baseline']}")
        lines.append(f"  status quo NPV       {usd(inc['baseline_npv_usd'])}")
        extra = f"; {expected(paths)} {usd(inc['expected_npv_usd'])}" if paths > 1 else ""
        lines.append(f"  plan adds            {usd(inc['npv_usd'])} of NPV{extra}")
        irr = inc["irr"]
        lines.append("  increment IRR        " + (f"n/a ({inc['irr_note']})" if irr is None else
                                                  f"{irr * 100:,.1f} %/yr" + (" (median)" if paths > 1 else "")))
        lines.append(f"  increment payback    {_payback_text(inc['payback_months'], inc['payback_share_of_paths'], paths)}")
    periods = doc.get("periods") or []
    shown = _headline_periods(periods)
    if shown:
        lines.append("")
        lines.append(f"By calendar year ({doc.get('statistic', statistic_label(paths))}; G&A split by "
                     + ("the input share" if doc.get("g_and_a_mining_share_pct") is not None else "revenue") + ")")
        lines.append(f"  {'year':<8}{'months':>7}{'BTC':>9}{'energy/BTC':>12}{'cash/BTC':>11}{'all-in/BTC':>12}"
                     f"{'USD/PH/d':>10}{'EBITDA':>10}{'AI rev':>10}")
        for r in shown:
            lines.append(f"  {r['period']:<8}{r['months']:>7}{_fmt(r['btc_mined'], '{:,.0f}'):>9}"
                         f"{usd(r['cost_per_btc_energy_usd']):>12}{usd(r['cost_per_btc_cash_usd']):>11}"
                         f"{usd(r['cost_per_btc_all_in_usd']):>12}{_fmt(r['cost_usd_per_ph_day'], '{:,.1f}'):>10}"
                         f"{usd(r['ebitda_usd']):>10}{usd(r['ai_revenue_usd']):>10}")
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
                     f"{s['btc_mined']:>11,.1f}{usd(s['ai_revenue_usd']):>13}{usd(s['capex_usd']):>11}")
    lines.append("")
    lines.append("Monthly (first 12 months; --json for all)")
    lines.append(f"  {'month':<8}{'BTC USD':>9}{'EH/s':>7}{'USD/PH/d':>9}{'BTC':>8}{'mining rev':>12}"
                 f"{'power':>10}{'AI rev':>10}{'capex':>10}{'net cash':>11}")
    for r in doc["monthly"][:12]:
        lines.append(f"  {r['month']:<8}{r['btc_price_usd']:>9,.0f}{r['network_hashrate_ehs']:>7,.0f}"
                     f"{r['hashprice_usd_per_ph_day']:>9.2f}{r['btc_mined']:>8.1f}{usd(r['mining_revenue_usd']):>12}"
                     f"{usd(r['power_cost_usd']):>10}{usd(r['ai_revenue_usd']):>10}{usd(r['capex_usd']):>10}"
                     f"{usd(r['net_cash_flow_usd']):>11}")
    return "\n".join(lines)
