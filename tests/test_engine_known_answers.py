"""Engine results against hand calculations on one-site, one-month cases.

Reference (tests/builders.py): 144 blocks a day, 3.145 BTC per block, network
1,088,058.38 PH/s, so one TH/s earns 4.162277e-7 BTC = $0.0380848 a day at
$91,500. A 30 J/TH machine burns 0.72 kWh per TH/s per day, so it earns
0.0380848 / 0.72 * 1000 = $52.896 per MWh. The test fleet is 1,000 x 100 TH/s
x 3,000 W = 3 MW, 100,000 TH/s; January has 31 days = 744 hours.
"""

import numpy as np
import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.analysis.report import cohort_breakevens, summary
from tests.builders import base_dict, edit, scenario
from minerplan.scenario.files import scenario_from_dict

BTC_PER_TH_DAY = 144 * 3.145 / 1_088_058.3816533 / 1e3
USD_PER_TH_DAY = BTC_PER_TH_DAY * 91_500          # 0.0380848
REV_PER_MWH = USD_PER_TH_DAY / 0.72 * 1000         # 52.896
FLEET_TH = 100_000
FULL_MWH = 3 * 744                                 # 2,232 MWh
FULL_BTC = FLEET_TH * 31 * BTC_PER_TH_DAY          # 1.290306 BTC

PROFILE = [[20.0] * 12 + [80.0] * 12 for _ in range(12)]


def site(**kw):
    s = {"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0}
    s.update(kw)
    return [s]


def test_constants_by_hand():
    assert USD_PER_TH_DAY == pytest.approx(0.0380848, rel=1e-5)
    assert REV_PER_MWH == pytest.approx(52.896, rel=1e-4)
    assert FULL_BTC == pytest.approx(1.290306, rel=1e-5)


def test_always_on_at_a_price_below_revenue():
    r = run_engine(scenario())
    assert r.btc_mined[0, 0, 0] == pytest.approx(FULL_BTC, rel=1e-9)
    assert r.mining_revenue_usd[0, 0, 0] == pytest.approx(FULL_BTC * 91_500, rel=1e-9)     # $118,063
    assert r.mining_energy_mwh[0, 0, 0] == pytest.approx(FULL_MWH, rel=1e-12)
    assert r.mining_power_cost_usd[0, 0, 0] == pytest.approx(FULL_MWH * 40, rel=1e-12)      # $89,280
    assert r.net_cash_flow_usd[0, 0] == pytest.approx(FULL_BTC * 91_500 - 89_280, rel=1e-9)


def test_pool_fee_and_uptime_and_pue():
    d = edit(edit(base_dict(sites=site(pue=1.1)), "finance.pool_fee_pct", 2.0), "fleet[0].uptime_pct", 90)
    r = run_engine(scenario_from_dict(d))
    assert r.btc_mined[0, 0, 0] == pytest.approx(FULL_BTC * 0.9 * 0.98, rel=1e-9)
    assert r.mining_energy_mwh[0, 0, 0] == pytest.approx(FULL_MWH * 0.9 * 1.1, rel=1e-12)


def test_unprofitable_machines_are_curtailed_on_a_flat_price():
    r = run_engine(scenario(sites=site(power_price_usd_per_mwh=60)))  # 60 > 52.896 $/MWh earned
    assert r.btc_mined[0, 0, 0] == 0
    assert r.curtailed_energy_mwh[0, 0, 0] == pytest.approx(FULL_MWH)
    r_on = run_engine(scenario(sites=site(power_price_usd_per_mwh=60, curtailment_enabled=False)))
    assert r_on.mining_power_cost_usd[0, 0, 0] == pytest.approx(FULL_MWH * 60)


def test_hourly_profile_curtails_expensive_hours_and_earns_credit():
    r = run_engine(scenario(sites=site(hourly_price_usd_per_mwh=PROFILE, curtailment_credit_usd_per_mwh=10)))
    # 12 cheap hours run ($20 < $52.9); 12 at $80 + $10 credit forgone are curtailed.
    assert r.btc_mined[0, 0, 0] == pytest.approx(FULL_BTC / 2, rel=1e-9)
    assert r.mining_energy_mwh[0, 0, 0] == pytest.approx(1116)
    assert r.mining_power_cost_usd[0, 0, 0] == pytest.approx(1116 * 20)                     # $22,320
    assert r.curtailment_credit_usd[0, 0, 0] == pytest.approx(1116 * 10)                    # $11,160
    margin = FULL_BTC / 2 * 91_500 + 11_160 - 22_320
    assert r.ebitda_usd[0, 0, 0] == pytest.approx(margin, rel=1e-9)                          # $47,872


def test_take_or_pay_fills_exactly_to_the_minimum():
    # Minimum 2,000 MWh at the $50 contract price. Curtailing the $80 hours would leave
    # 884 MWh unused but paid ($44,200). Each of those MWh run instead earns $52.896, costs $80,
    # forgoes a $10 credit and saves $50: +$12.896/MWh, so run exactly 884 MWh of them.
    sc = scenario(sites=site(hourly_price_usd_per_mwh=PROFILE, curtailment_credit_usd_per_mwh=10,
                             power_price_usd_per_mwh=50, take_or_pay_mwh_per_month=2000))
    r = run_engine(sc)
    assert r.mining_energy_mwh[0, 0, 0] == pytest.approx(2000)
    assert r.take_or_pay_shortfall_usd[0, 0, 0] == pytest.approx(0, abs=1e-6)
    assert r.curtailment_credit_usd[0, 0, 0] == pytest.approx(232 * 10)
    assert r.mining_power_cost_usd[0, 0, 0] == pytest.approx(1116 * 20 + 884 * 80)
    expected = (FULL_BTC / 2 * 91_500 + 11_160 - 22_320) - 884 * 50 + 884 * (REV_PER_MWH - 80 - 10 + 50)
    assert r.ebitda_usd[0, 0, 0] == pytest.approx(expected, rel=1e-9)                        # $15,071


def test_take_or_pay_runs_losing_machines_up_to_the_minimum():
    # At $60/MWh the machines lose $7.10 per MWh, but an unused MWh of the 1,000 MWh minimum costs $60.
    sc = scenario(sites=site(power_price_usd_per_mwh=60, take_or_pay_mwh_per_month=1000))
    r = run_engine(sc)
    assert r.mining_energy_mwh[0, 0, 0] == pytest.approx(1000)
    assert r.ebitda_usd[0, 0, 0] == pytest.approx(1000 * (REV_PER_MWH - 60), rel=1e-9)      # -$7,104


def test_take_or_pay_shortfall_paid_when_nothing_is_worth_running():
    # Contract price $10 but hourly prices are $200: even prepaid energy loses money ($190 > $52.9).
    prof = [[200.0] * 24 for _ in range(12)]
    sc = scenario(sites=site(hourly_price_usd_per_mwh=prof, power_price_usd_per_mwh=10,
                             take_or_pay_mwh_per_month=500))
    r = run_engine(sc)
    assert r.mining_energy_mwh[0, 0, 0] == 0
    assert r.take_or_pay_shortfall_usd[0, 0, 0] == pytest.approx(500 * 10)


def test_conversion_stands_down_the_least_efficient_cohort():
    fleet = [{"model": "new", "count": 1000, "hashrate_ths": 270, "power_w": 3645, "site": "A",
              "uptime_pct": 100, "degradation_pct_per_year": 0},
             {"model": "old", "count": 2000, "hashrate_ths": 104, "power_w": 3068, "site": "A",
              "uptime_pct": 100, "degradation_pct_per_year": 0}]
    ai = {"convertible_gross_mw": 5, "lead_time_months": 0}
    sc = scenario(sites=site(ai=ai), fleet=fleet,
                  conversion_plan=[{"site": "A", "gross_mw": 4, "start_month": "2026-01"}])
    r = run_engine(sc)
    # 10 - 4 = 6 MW left: the 3.645 MW of new machines fit, old get (6 - 3.645) / 6.136 = 0.38380
    assert r.fleet.placed_fraction[0] == pytest.approx([1.0, (6 - 3.645) / 6.136], rel=1e-9)


def test_colocation_lease_revenue_capex_and_escalator():
    ai = {"convertible_gross_mw": 5, "critical_mw_per_gross_mw": 0.7, "conversion_capex_usd_per_critical_mw": 9.5e6,
          "lead_time_months": 2, "colocation": {"rate_usd_per_kw_month": 140, "escalator_pct_per_year": 3,
                                                "opex_usd_per_kw_month": 20, "tenant_pays_power": True}}
    sc = scenario(horizon_months=16, sites=site(ai=ai), fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 4, "start_month": "2026-01"}])
    r = run_engine(sc)
    # 4 MW gross x 0.7 = 2.8 MW critical; capex 2.8 x $9.5M = $26.6M over 2 months
    assert r.capex_usd[:3, 0] == pytest.approx([13.3e6, 13.3e6, 0])
    # live from month 2: 2,800 kW x $140 = $392,000; from month 14 (second lease year) x 1.03 = $403,760
    assert r.ai.revenue_usd[:, 0] == pytest.approx([0, 0] + [392_000] * 12 + [403_760] * 2)
    assert r.ai.opex_usd[5, 0] == pytest.approx(2800 * 20)


def test_gpu_cloud_revenue_and_gpu_capex():
    ai = {"convertible_gross_mw": 5, "lead_time_months": 1, "business_model": "gpu_cloud",
          "gpu_cloud": {"gpus_per_critical_mw": 600, "usd_per_gpu_hour": 2.0, "utilization_pct": 70,
                        "gpu_capex_usd": 40_000, "useful_life_months": 72, "opex_usd_per_gpu_month": 150}}
    sc = scenario(horizon_months=3, sites=site(ai=ai), fleet=[],
                  conversion_plan=[{"site": "A", "gross_mw": 4, "start_month": "2026-01"}])
    r = run_engine(sc)
    gpus = 4 * 0.7 * 600  # 1,680
    # February 2026: 672 hours; March: 744 hours, the GPUs a month older: the default rental-price decline of
    # 25%/yr makes that 0.75^(1/12) of the new-GPU price.
    assert r.ai.revenue_usd[:, 0] == pytest.approx([0, gpus * 2 * 672 * 0.7, gpus * 2 * 744 * 0.7 * 0.75 ** (1 / 12)])
    assert r.ai.capex_usd[1, 0] == pytest.approx(gpus * 40_000)           # $67.2M at the ready month
    # Power paid by the miner: 4 MW x 80% load x 672 h x $40
    assert r.power_cost_usd[0, 1, 0] == pytest.approx(4 * 0.8 * 672 * 40)


def test_purchase_capex_depreciation_and_tax():
    fleet = [{"model": "X", "count": 1000, "hashrate_ths": 100, "power_w": 3000, "site": "A", "uptime_pct": 100,
              "degradation_pct_per_year": 0, "purchase_price_usd": 2400, "useful_life_months": 24,
              "purchase_month": "2026-02"}]
    d = edit(base_dict(horizon_months=3, fleet=fleet), "finance.tax_rate_pct", 20)
    r = run_engine(scenario_from_dict(d))
    assert r.asic_capex_usd[:, 0] == pytest.approx([0, 2.4e6, 0])
    assert r.asic_depreciation_usd[:, 0] == pytest.approx([0, 100_000, 100_000])
    # March: 31 days running, taxable = margin - depreciation; February's loss carries forward.
    feb = FLEET_TH * 28 * BTC_PER_TH_DAY * 91_500 - 3 * 672 * 40 - 100_000
    mar = FULL_BTC * 91_500 - FULL_MWH * 40 - 100_000
    assert r.tax_usd[0] == pytest.approx([0, 0.2 * max(feb, 0), 0.2 * max(mar + min(feb, 0), 0)], rel=1e-9)


def test_degradation():
    d = edit(base_dict(horizon_months=13), "fleet[0].degradation_pct_per_year", 10)
    r = run_engine(scenario_from_dict(d))
    assert r.fleet.hashrate_ths_per_unit[12, 0] == pytest.approx(90.0)


def test_breakevens_and_cost_per_btc():
    d = edit(base_dict(sites=site(pue=1.1)), "finance.g_and_a_usd_per_month", 10_000)
    sc = scenario_from_dict(d)
    r = run_engine(sc)
    be = cohort_breakevens(r).iloc[0]
    assert be.breakeven_power_usd_per_kwh == pytest.approx(USD_PER_TH_DAY / (0.024 * 30), rel=1e-9)
    # energy per TH/s per day 0.72 kWh x 1.1 PUE x $0.040 / 4.162277e-7 BTC = $76,114
    assert be.breakeven_btc_price_usd == pytest.approx(0.72 * 1.1 * 0.040 / BTC_PER_TH_DAY, rel=1e-9)
    doc = summary(r)
    cash = (FULL_MWH * 1.1 * 40 + 10_000) / FULL_BTC
    assert doc["cost_per_btc_cash_usd"] == pytest.approx(cash, rel=1e-9)
    assert doc["models"][0]["breakeven_power_usd_per_kwh"] == pytest.approx(REV_PER_MWH / 1000, rel=1e-9)


def test_monte_carlo_paths_median_and_percentiles():
    sc = scenario(horizon_months=12)
    r = run_engine(sc, n_paths=501, seed=7)
    doc = summary(r, seed=7)
    p = doc["percentiles"]["npv_usd"]
    assert p["p5"] < p["p50"] < p["p95"]
    assert doc["npv_usd"] == pytest.approx(np.median(r.npv_usd))
    assert r.btc_price_usd[:, 0] == pytest.approx(np.full(501, 91_500))


def test_presets_give_the_late_2025_prices():
    sc = scenario(horizon_months=6)
    cap = run_engine(sc, preset="capitulation").btc_price_usd[0]
    assert cap[0] < 87_000 and 72_000 <= cap[2] <= 74_000 and cap[5] == cap[2]
    assert run_engine(sc, preset="gamma-flip").btc_price_usd[0, 0] == 88_000
    assert run_engine(sc, preset="base").btc_price_usd[0, 3] == 91_000
    rec = run_engine(sc, preset="recovery").btc_price_usd[0]
    assert rec[0] == 91_000 and rec[1] == rec[5] == 100_000


def test_annual_tax_with_loss_carryforward():
    # Dec 2025 - Feb 2026 at $200,000: 2025's tax is paid in December, 2026's (Jan + Feb) in February.
    d = base_dict(start_month="2025-12", horizon_months=3)
    d["market"]["btc_price_usd"] = 200_000
    d["finance"]["tax_rate_pct"] = 20
    margin = lambda days: FLEET_TH * days * BTC_PER_TH_DAY * 200_000 - 3 * 24 * days * 40  # noqa: E731
    r = run_engine(scenario_from_dict(d))
    assert r.tax_usd[0] == pytest.approx([0.2 * margin(31), 0.0, 0.2 * (margin(31) + margin(28))], rel=1e-9)
    # BTC at $100,000 in December and $300,000 after, with $100k of overhead a month: December is a
    # loss that 2026's profit absorbs before any tax is due.
    d["price_path"] = {"kind": "points", "points": [{"month": "2025-12", "btc_price_usd": 100_000},
                                                    {"month": "2026-01", "btc_price_usd": 300_000}]}
    d["finance"]["g_and_a_usd_per_month"] = 100_000
    m = lambda days, usd: FLEET_TH * days * BTC_PER_TH_DAY * usd - 3 * 24 * days * 40 - 100_000  # noqa: E731
    dec, jan, feb = m(31, 100_000), m(31, 300_000), m(28, 300_000)
    assert dec < 0 < jan
    r = run_engine(scenario_from_dict(d))
    assert r.tax_usd[0] == pytest.approx([0.0, 0.0, 0.2 * (dec + jan + feb)], rel=1e-9)
    # linear mode: every month taxed at once, a loss month earns a credit
    d["finance"]["tax_mode"] = "linear"
    r = run_engine(scenario_from_dict(d))
    assert r.tax_usd[0] == pytest.approx([0.2 * dec, 0.2 * jan, 0.2 * feb], rel=1e-9)


def test_gpu_rental_price_declines_with_the_age_of_the_gpus():
    """H100-style: $2.00/GPU-hour new, 25%/yr decline; 24-month life, so the replacement earns $2.00 again."""
    from minerplan.engine.ai import ai_arrays
    from minerplan.scenario.months import days_in_months

    sc = scenario(horizon_months=40, sites=[{"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40,
                                              "pue": 1.0, "ai": {"convertible_gross_mw": 10, "lead_time_months": 0,
                                                                 "business_model": "gpu_cloud",
                                                                 "critical_mw_per_gross_mw": 0.5,
                                                                 "gpu_cloud": {"gpus_per_critical_mw": 100,
                                                                               "usd_per_gpu_hour": 2.0,
                                                                               "utilization_pct": 50,
                                                                               "useful_life_months": 24,
                                                                               "rate_decline_pct_per_year": 25}}}],
                  fleet=[], conversion_plan=[{"site": "A", "gross_mw": 10, "start_month": "2026-01"}])
    days = days_in_months(sc.start_month, 40)
    ai = ai_arrays(sc, days)
    gpus = 10 * 0.5 * 100   # 500 GPUs
    # Month 0: new GPUs, $2.00; month 12: one year old, $1.50; month 24: replaced, $2.00 again.
    for m, rate in ((0, 2.0), (12, 1.5), (18, 2.0 * 0.75 ** 1.5), (24, 2.0)):
        assert ai.revenue_usd[m, 0] == pytest.approx(gpus * rate * 24 * days[m] * 0.5, rel=1e-12)
