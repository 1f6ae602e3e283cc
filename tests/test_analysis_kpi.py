"""The Overview's metrics (minerplan.analysis.kpi) against hand calculations, without Qt.

Reference (tests/builders.py, tests/test_engine_known_answers.py): one TH/s earns 4.162277e-7 BTC =
$0.0380848 a day at $91,500; the test fleet is 1,000 x 100 TH/s x 3,000 W (30 J/TH) = 3 MW at $40/MWh;
January has 744 hours.
"""

import pytest

from minerplan.analysis.kpi import (breakeven_hashprice_usd_per_ph_day, fleet_breakeven_power_usd_per_kwh,
                                    headline_years, margin_vs_ai_per_gross_mw_month)
from minerplan.analysis.report import summary
from minerplan.engine.evaluate import run_engine
from tests.builders import HP_BTC_PER_TH_DAY, PRICE, base_dict, scenario

USD_PER_TH_DAY = HP_BTC_PER_TH_DAY * PRICE          # 0.0380848
AI = {"convertible_gross_mw": 5, "critical_mw_per_gross_mw": 0.7, "conversion_capex_usd_per_critical_mw": 9.5e6,
      "lead_time_months": 2, "colocation": {"rate_usd_per_kw_month": 150, "opex_usd_per_kw_month": 25}}


def two_sites():
    """Site A: $40/MWh, PUE 1.0, 1,000 x 30 J/TH (3 MW); site B: $60/MWh, PUE 1.2, 500 x 35 J/TH (1.75 MW)."""
    d = base_dict()
    d["sites"].append({"name": "B", "capacity_mw": 10, "power_price_usd_per_mwh": 60, "pue": 1.2,
                       "curtailment_enabled": False, "ai": AI})
    d["fleet"].append({"model": "Y", "count": 500, "hashrate_ths": 100, "power_w": 3500, "site": "B",
                       "uptime_pct": 100, "degradation_pct_per_year": 0})
    d["finance"]["pool_fee_pct"] = 2.0
    return scenario(**d)


def test_breakeven_hashprice_by_hand():
    rows = breakeven_hashprice_usd_per_ph_day(run_engine(two_sites()))
    # 0.024 kWh per W-day x J/TH x PUE x $/kWh / (1 - 2% fee) x 1,000 TH/PH
    assert [name for name, _ in rows] == ["X @ A", "Y @ B"]
    assert rows[0][1] == pytest.approx(0.024 * 30 * 1.0 * 0.040 / 0.98 * 1000, rel=1e-12)    # $29.39
    assert rows[1][1] == pytest.approx(0.024 * 35 * 1.2 * 0.060 / 0.98 * 1000, rel=1e-12)    # $61.71


def test_fleet_breakeven_power_is_weighted_by_wall_power():
    be, pays = fleet_breakeven_power_usd_per_kwh(run_engine(two_sites()))
    # breakeven power of a cohort: hashprice net of fee / (0.024 x J/TH); weights 3 MW and 1.75 MW
    net = USD_PER_TH_DAY * 0.98
    assert be == pytest.approx((3 * net / (0.024 * 30) + 1.75 * net / (0.024 * 35)) / 4.75, rel=1e-9)
    assert pays == pytest.approx((3 * 0.040 + 1.75 * 0.060) / 4.75, rel=1e-12)
    assert fleet_breakeven_power_usd_per_kwh(run_engine(scenario(fleet=[]))) is None


def test_margin_and_ai_per_gross_mw_month_by_hand():
    mining, ai = margin_vs_ai_per_gross_mw_month(run_engine(scenario()))
    # one month: 100,000 TH/s x 31 days x $0.0380848 = $118,063 revenue; 3 MW x 744 h x $40 = $89,280 power
    assert mining == pytest.approx((100_000 * 31 * USD_PER_TH_DAY - 89_280) / 3, rel=1e-9)
    assert ai is None                                # no convertible site
    _, ai = margin_vs_ai_per_gross_mw_month(run_engine(two_sites()))
    # ($150 - $25) per kW-month x 1,000 kW per MW x 0.7 critical MW per gross MW
    assert ai == pytest.approx(87_500)


def test_headline_years_are_the_first_full_year_and_the_year_after_the_halving():
    # 125,000 blocks from height 925,000 to the halving at 144 a day: 868 days, in 2028
    res = run_engine(scenario(horizon_months=48))
    now, after = headline_years(res, summary(res))
    assert now["period"] == "2026" and now["months"] == 12
    assert after["period"] == "2029"
    res = run_engine(scenario(horizon_months=36))
    assert headline_years(res, summary(res))[1] is None      # 2029 is past the horizon
