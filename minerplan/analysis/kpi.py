"""The Overview's headline metrics of one engine result, computed without Qt.

- :func:`breakeven_hashprice_usd_per_ph_day`: per cohort, the hashprice (USD per PH/s per day) below
  which its first-month revenue net of pool fee no longer pays its energy (at the site's average
  price and PUE); the Overview draws them as lines under the hashprice.
- :func:`fleet_breakeven_power_usd_per_kwh`: the power-weighted breakeven power price of the fleet
  (USD/kWh) and the price it pays.
- :func:`margin_vs_ai_per_gross_mw_month`: mining margin against AI lease income per gross MW-month.
- :func:`headline_years`: the calendar-year rows (of :func:`minerplan.analysis.periods.period_table`) the
  Overview shows: the first full year and the year after the halving.

Per-cohort efficiency, site power price and breakeven power price are read from
:func:`minerplan.analysis.report.cohort_breakevens`, the same figures the Fleet table, the CLI and the
workbook show, so the Overview never computes a breakeven of its own.
"""

from __future__ import annotations

import numpy as np

from minerplan.analysis.periods import halving_year
from minerplan.analysis.report import cohort_breakevens
from minerplan.engine.evaluate import EngineResult
from minerplan.scenario.fleet_rows import model_site_groups

#: kWh per day drawn by one watt: 24 h / 1000.
KWH_PER_W_DAY = 0.024


def breakeven_hashprice_usd_per_ph_day(res: EngineResult) -> list[tuple[str, float]]:
    """``("model @ site", USD/PH/day)`` per model and site: the hashprice at which first-month revenue net of
    pool fee equals the energy cost, 0.024 kWh/W-day x J/TH x PUE x USD/kWh / (1 - fee) x 1000 TH/PH.

    One entry per ``model @ site`` (a legend shows a cohort a plan split into kept and sold rows once):
    rows of the same model at one site are averaged weighted by their wall power (count x W); split rows
    of the same machines have the same breakeven, so their level is unchanged."""
    sc = res.scenario
    if not sc.fleet:
        return []
    fee = sc.finance.pool_fee_pct / 100.0
    be = cohort_breakevens(res, 0)
    out = []
    for name, rows in model_site_groups(sc.fleet).items():
        level = np.array([KWH_PER_W_DAY * float(be.efficiency_j_per_th.iat[i]) * sc.sites[res.fleet.site[i]].pue
                          * float(be.site_power_usd_per_kwh.iat[i]) / (1 - fee) * 1000.0 for i in rows])
        w = np.array([sc.fleet[i].count * sc.fleet[i].power_w for i in rows])
        out.append((name, float(np.average(level, weights=w)) if w.sum() > 0 else float(level.mean())))
    return out


def fleet_breakeven_power_usd_per_kwh(res: EngineResult) -> tuple[float, float] | None:
    """(breakeven power price, price paid), USD/kWh, both weighted by each cohort's wall power (MW);
    None without machines. The breakeven is :func:`~minerplan.analysis.report.cohort_breakevens`'."""
    if not res.scenario.fleet:
        return None
    be = cohort_breakevens(res)
    if not len(be) or be.mining_power_mw.sum() <= 0:
        return None
    w = be.mining_power_mw.to_numpy()
    return (float(np.average(be.breakeven_power_usd_per_kwh, weights=w)),
            float(np.average(be.site_power_usd_per_kwh, weights=w)))


def margin_vs_ai_per_gross_mw_month(res: EngineResult) -> tuple[float | None, float | None]:
    """(mining, AI) net USD per gross MW per month, on the same footing (after site opex).

    Mining: next 12 months of mining revenue + credits - power - take-or-pay shortfall - mining opex,
    divided by the gross MW the machines occupy (ASIC load x PUE). AI: the best convertible site's
    colocation rent less landlord opex per gross MW (critical MW per gross MW), first year.
    None where there is nothing to measure (no machines running; no convertible site).
    """
    sc = res.scenario
    n = min(12, sc.horizon_months)
    pue = np.array([s.pue for s in sc.sites])
    gross_mw = (res.fleet.running_units * (res.fleet.power_w_per_unit * pue[res.fleet.site] / 1e6)[None, :])[:n]
    margin = (res.mining_revenue_usd + res.curtailment_credit_usd - res.mining_power_cost_usd
              - res.take_or_pay_shortfall_usd)[0, :n].sum() - res.mining_opex_usd[:n].sum()
    mining = float(margin / gross_mw.sum()) if gross_mw.sum() > 0 else None
    ai = [(s.ai.colocation.rate_usd_per_kw_month - s.ai.colocation.opex_usd_per_kw_month) * 1000.0
          * s.ai.critical_mw_per_gross_mw for s in sc.sites if s.ai is not None]
    return mining, (max(ai) if ai else None)


def headline_years(res: EngineResult, doc: dict) -> tuple[dict | None, dict | None]:
    """The period rows the Overview shows: the first full calendar year with BTC mined, and the year after
    the halving (None when outside the horizon). ``doc`` is :func:`~minerplan.analysis.report.summary`'s."""
    years = [r for r in doc.get("periods") or [] if r.get("kind") == "year"]
    full = [r for r in years if r["months"] == 12] or years
    now = next((r for r in full if r.get("btc_mined")), None)
    h = halving_year(res)
    after = next((r for r in years if h is not None and r["period"] == str(h + 1)), None)
    return now, after
