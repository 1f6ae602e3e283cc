"""Valuation by cash-flow class, residual values, and the statistics of evaluate --json: hand calculations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from minerplan.cli.main import main
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.months import days_in_months
from minerplan.markets.prices import market_draw
from minerplan.analysis.report import summary
from minerplan.scenario.files import load_scenario
from minerplan.engine.valuation import LEASE_DISCOUNT_RATE_PCT, asic_market_value_usd_per_th

from tests.builders import HP_BTC_PER_TH_DAY, PRICE, scenario

TREND = {"btc_price_usd": PRICE, "difficulty": 1.52e14, "fees_btc_per_block": 0.02, "block_height": 925_000,
         "hashrate_growth_pct_per_month": 0.0, "network_model": "trend"}


def monthly(annual_pct: float) -> float:
    return (1 + annual_pct / 100) ** (1 / 12) - 1


def lease_site(term_months: int, life_months: int, renewal_pct: float, **colo) -> dict:
    return {"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0,
            "ai": {"convertible_gross_mw": 10, "critical_mw_per_gross_mw": 0.5,
                   "conversion_capex_usd_per_critical_mw": 2e6, "lead_time_months": 2,
                   "facility_life_months": life_months,
                   "colocation": {"rate_usd_per_kw_month": 100, "escalator_pct_per_year": 0,
                                  "term_months": term_months, "opex_usd_per_kw_month": 10,
                                  "renewal_probability_pct": renewal_pct, **colo}}}


def finance(**kw) -> dict:
    base = {"pool_fee_pct": 0, "discount_rate_pct": 12, "tax_rate_pct": 0, "terminal_value": "ai_residual",
            "asic_residual_value": "none"}
    return {**base, **kw}


# --------------------------------------------------------------------------- classes and renewal

def test_lease_cash_at_the_tenant_rate_with_renewal_inside_the_horizon():
    """10 MW x 0.5 = 5 MW critical: capex $10M over months 1-2, rent $500k and opex $50k a month from month 3
    for 12 months, then 70% of that until the facility's 18-month life ends (months 15-20); nothing after.
    No mining, no tax: NPV is that cash at 7.75%/yr (investment-grade tenant), not the company's 12%."""
    sc = scenario(horizon_months=24, market=TREND, sites=[lease_site(12, 18, 70.0)], fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-02"}], finance=finance())
    res = run_engine(sc)
    r = monthly(7.75)
    want = 0.0
    for m in range(24):
        cash = -5e6 if m in (1, 2) else 0.0
        w = 1.0 if 3 <= m < 15 else (0.7 if 15 <= m < 21 else 0.0)
        cash += w * (500_000 - 50_000)
        want += cash / (1 + r) ** (m + 1)
    assert res.npv_usd[0] == pytest.approx(want, rel=1e-12)
    assert res.ai.revenue_usd[16, 0] == pytest.approx(0.7 * 500_000)
    assert float(res.terminal_value_usd[0]) == 0.0                # the facility's life ends inside the horizon
    # The same cash at the company's rate when the lease rate is set to it.
    sc12 = scenario(horizon_months=24, market=TREND, sites=[lease_site(12, 18, 70.0)], fleet=[],
                    conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-02"}],
                    finance=finance(lease_discount_rate_pct=12))
    r12 = monthly(12)
    want12 = sum(((-5e6 if m in (1, 2) else 0.0) + (1.0 if 3 <= m < 15 else (0.7 if 15 <= m < 21 else 0.0))
                  * 450_000) / (1 + r12) ** (m + 1) for m in range(24))
    assert run_engine(sc12).npv_usd[0] == pytest.approx(want12, rel=1e-12)
    assert want > want12


def test_high_yield_tenant_discounts_at_9_25():
    site = lease_site(12, 18, 0.0, tenant_credit="high_yield")
    sc = scenario(horizon_months=24, market=TREND, sites=[site], fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-02"}], finance=finance())
    r = monthly(LEASE_DISCOUNT_RATE_PCT["high_yield"])
    assert LEASE_DISCOUNT_RATE_PCT == {"investment_grade": 7.75, "high_yield": 9.25}
    want = sum(((-5e6 if m in (1, 2) else 0.0) + (450_000 if 3 <= m < 15 else 0.0)) / (1 + r) ** (m + 1)
               for m in range(24))
    assert run_engine(sc).npv_usd[0] == pytest.approx(want, rel=1e-12)


def test_terminal_value_of_a_lease_past_the_horizon_contracted_and_renewed():
    """Term 24 months from month 3 (months 3-26), facility life 36 (to month 38): past the 12-month horizon,
    months 12-26 are contracted and 27-38 renewed at 60%. Value at the horizon's end, discounted at 7.75%/yr
    from there; tax 21% on it; its present value discounted again to today at 7.75%."""
    fin = finance(tax_rate_pct=21, tax_mode="linear")
    sc = scenario(horizon_months=12, market=TREND, sites=[lease_site(24, 36, 60.0)], fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-02"}], finance=fin)
    res = run_engine(sc)
    r = monthly(7.75)
    after = sum((1.0 if m < 27 else 0.6) * 450_000 / (1 + r) ** (m - 12 + 1) for m in range(12, 39))
    assert float(res.terminal_value_usd[0]) == pytest.approx(after * 0.79, rel=1e-12)
    assert float(res.terminal_value_pv_usd[0]) == pytest.approx(after * 0.79 / (1 + r) ** 12, rel=1e-12)
    doc = summary(res)
    assert doc["terminal_value_pv_usd"] == pytest.approx(after * 0.79 / (1 + r) ** 12, rel=1e-12)
    # contracted only: the renewal is not valued
    sc_c = scenario(horizon_months=12, market=TREND, sites=[lease_site(24, 36, 60.0)], fleet=[],
                    conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-02"}],
                    finance={**fin, "terminal_value": "contracted_ai"})
    contracted = sum(450_000 / (1 + r) ** (m - 12 + 1) for m in range(12, 27))
    assert float(run_engine(sc_c).terminal_value_usd[0]) == pytest.approx(contracted * 0.79, rel=1e-12)


def test_gpu_hall_residual_is_its_installed_gpus_remaining_life():
    """GPU cloud from month 2 (lead 1, start month 1), GPUs live 12 months: at the 20-month horizon's end the
    second generation (bought at month 14) has 6 months left (ages 6-11). Their net cash over those months
    (730.5 h a month, 25%/yr decline with age, opex, power at the site's price) at 15%/yr, after 21% tax."""
    site = {"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0,
            "ai": {"convertible_gross_mw": 10, "critical_mw_per_gross_mw": 0.5, "lead_time_months": 1,
                   "business_model": "gpu_cloud", "load_factor_pct": 80,
                   "gpu_cloud": {"gpus_per_critical_mw": 100, "usd_per_gpu_hour": 2.0, "utilization_pct": 50,
                                 "useful_life_months": 12, "rate_decline_pct_per_year": 25,
                                 "opex_usd_per_gpu_month": 100, "gpu_capex_usd": 30_000}}}
    sc = scenario(horizon_months=20, market=TREND, sites=[site], fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 4, "start_month": "2026-02"}],
                  finance=finance(tax_rate_pct=21, tax_mode="linear"))
    res = run_engine(sc)
    gpus = 4 * 0.5 * 100
    r = monthly(15.0)
    value = 0.0
    for k, age in enumerate(range(6, 12)):
        cash = gpus * (2.0 * 730.5 * 0.5 * 0.75 ** (age / 12) - 100) - 4 * 0.8 * 730.5 * 40
        value += cash / (1 + r) ** (k + 1)
    assert float(res.terminal_value_usd[0]) == pytest.approx(value * 0.79, rel=1e-12)


def test_asic_market_residual_by_efficiency_and_hashprice():
    """1,000 units of 100 TH/s at 2,000 W (20 J/TH) still installed at the end, priced at 663 days of their
    margin at a buyer's $0.05/kWh (the fit to the late-2025 index tiers) on the flat network's hashprice.
    No tax, so the value is the price; its present value at 12%/yr."""
    fleet = [{"model": "X", "count": 1000, "hashrate_ths": 100, "power_w": 2000, "site": "A", "uptime_pct": 100,
              "degradation_pct_per_year": 0}]
    sc = scenario(horizon_months=12, market=TREND, fleet=fleet, finance=finance(asic_residual_value="market"))
    res = run_engine(sc)
    hp = HP_BTC_PER_TH_DAY * PRICE                          # USD per TH/s per day, every month
    assert res.hashprice_usd_per_th_day[0, -1] == pytest.approx(hp, rel=1e-9)
    # 663 days of margin at a buyer's $0.05/kWh: 663 x (0.0380848 - 0.05 x 0.024 x 20) = $9.338 per TH/s
    want = 1000 * 100 * 663.0 * (hp - 0.05 * 0.024 * 20.0)
    assert float(res.terminal_value_usd[0]) == pytest.approx(want, rel=1e-6)
    assert float(res.terminal_value_pv_usd[0]) == pytest.approx(want / 1.12, rel=1e-6)
    assert asic_market_value_usd_per_th(13.5, 0.03982) == pytest.approx(663.0 * (0.03982 - 0.0162))   # S21 XP
    assert asic_market_value_usd_per_th(50.0, 0.03982) == 0.5         # scrap


# --------------------------------------------------------------------------- statistics

def test_expected_npv_interval_and_loss_probability_by_hand():
    """Three price paths; the summary's mean, 95% interval (1.959964 x sd / sqrt(3)) and P(NPV < 0)."""
    sc = scenario(horizon_months=3, market=TREND, finance=finance(discount_rate_pct=0, terminal_value="none"))
    prices = np.array([[91_500.0] * 3, [30_000.0] * 3, [150_000.0] * 3])
    res = run_engine(sc, prices=prices)
    # By hand: 1,000 units x 100 TH/s, 3 kW each at $40/MWh, 144 blocks a day, no fees to the pool.
    days = days_in_months(sc.start_month, 3)
    th_days = 1000 * 100 * days
    energy_cost = 1000 * 3.0 / 1000 * 24 * days * 40
    npv = []
    for p in prices[:, 0]:
        margin = th_days * HP_BTC_PER_TH_DAY * p - energy_cost
        npv.append(float(np.sum(np.maximum(margin, 0.0))))            # a cohort below breakeven is curtailed
    np.testing.assert_allclose(res.npv_usd, npv, rtol=1e-9)
    doc = summary(res, with_incremental=False)
    mean = sum(npv) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in npv) / 2)
    assert doc["statistic"] == "median of 3 paths"
    assert doc["npv_usd"] == pytest.approx(sorted(npv)[1])
    assert doc["expected_npv_usd"] == pytest.approx(mean)
    lo, hi = doc["expected_npv_ci95_usd"]
    assert lo == pytest.approx(mean - 1.959964 * sd / math.sqrt(3)) and hi == pytest.approx(mean + 1.959964 * sd / math.sqrt(3))
    assert doc["p_npv_negative"] == pytest.approx(sum(x < 0 for x in npv) / 3)
    p = doc["monthly_percentiles"]["btc_price_usd"]
    assert p["p50"] == [91_500.0] * 3 and p["p5"][0] == pytest.approx(np.percentile([91_500, 30_000, 150_000], 5))
    one = summary(run_engine(sc), with_incremental=False)
    assert one["statistic"] == "on the entered price path"
    assert one["expected_npv_usd"] == one["npv_usd"] and one["expected_npv_ci95_usd"] == [one["npv_usd"]] * 2


def test_the_entered_path_is_the_median_of_2000_paths():
    """Issue 10 proof: with 2,000 paths (seed 1) the month-60 median BTC price is within 5% of the entered
    $91,500 (the old zero-drift default let it fall to ~$46k)."""
    sc = load_scenario("default")
    draw = market_draw(sc, n_paths=2000, seed=1)
    assert np.median(draw.btc_price_usd[:, 59]) == pytest.approx(91_500, rel=0.05)
    assert np.median(draw.btc_price_usd[:, 12]) == pytest.approx(91_500, rel=0.05)


def test_evaluate_json_has_every_statistic(capsys):
    assert main(["evaluate", "default", "--json", "--paths", "2000", "--seed", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("expected_npv_usd", "expected_npv_ci95_usd", "p_npv_negative", "incremental", "periods",
                "terminal_value_pv_usd", "monthly_percentiles", "statistic"):
        assert key in doc, key
    assert doc["statistic"] == "median of 2,000 paths"
    mp = doc["monthly_percentiles"]
    assert set(mp) == {"btc_price_usd", "hashprice_usd_per_ph_day", "network_hashrate_ehs", "net_cash_flow_usd"}
    assert all(len(mp[k][q]) == 60 for k in mp for q in ("p5", "p25", "p50", "p75", "p95"))
    assert mp["btc_price_usd"]["p50"][-1] == pytest.approx(91_500, rel=0.05)
    lo, hi = doc["expected_npv_ci95_usd"]
    assert lo < doc["expected_npv_usd"] < hi
    inc = doc["incremental"]
    assert inc["npv_usd"] == pytest.approx(doc["npv_usd"] - inc["baseline_npv_usd"], abs=1e-6)
    assert {r["kind"] for r in doc["periods"]} == {"year", "quarter"}
    assert doc["terminal_value_pv_usd"] < doc["terminal_value_usd"]
