"""The What-if model (minerplan.analysis.whatif) against hand calculations, without Qt."""

import pytest

from minerplan.analysis.one_path import scale_power
from minerplan.analysis.whatif import WhatIf, apply_whatif, baseline, kpis, set_lease_rate, whatif_scenario
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import scenario_to_dict
from tests.builders import HP_BTC_PER_TH_DAY, PRICE, base_dict, scenario

AI = {"convertible_gross_mw": 5, "critical_mw_per_gross_mw": 0.7, "conversion_capex_usd_per_critical_mw": 9.5e6,
      "lead_time_months": 2, "colocation": {"rate_usd_per_kw_month": 150, "opex_usd_per_kw_month": 25}}
PROFILE = [[20.0] * 12 + [80.0] * 12 for _ in range(12)]


def test_baseline_reproduces_the_scenario():
    sc = scenario()
    w = baseline(sc)
    assert w == WhatIf(btc_price_usd=PRICE, hashrate_growth_pct_per_month=0.0, power_price_pct=100.0,
                       lease_rate_usd_per_kw_month=None, network_build_cost_usd_per_w=None)
    assert whatif_scenario(sc, w) is sc                     # nothing to change: the very same scenario
    d = scenario_to_dict(sc)
    apply_whatif(d, sc, w)
    assert d == scenario_to_dict(sc)


def test_btc_price_power_and_growth_are_written_into_a_copy():
    sc = scenario(sites=[{"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0,
                          "hourly_price_usd_per_mwh": PROFILE}])
    w = WhatIf(btc_price_usd=100_000.0, hashrate_growth_pct_per_month=1.5, power_price_pct=150.0)
    wsc = whatif_scenario(sc, w)
    assert wsc.market.btc_price_usd == 100_000.0           # a flat path: month 0 is the start price
    assert wsc.market.hashrate_growth_pct_per_month == 1.5
    assert wsc.sites[0].power_price_usd_per_mwh == pytest.approx(60.0)      # $40 x 150%
    assert wsc.sites[0].hourly_price_usd_per_mwh[5][3] == pytest.approx(30.0)   # $20 x 150%
    assert wsc.sites[0].hourly_price_usd_per_mwh[5][20] == pytest.approx(120.0)  # $80 x 150%
    assert sc.market.btc_price_usd == PRICE and sc.sites[0].power_price_usd_per_mwh == 40   # untouched


def test_a_points_path_scales_as_a_whole():
    d = base_dict(horizon_months=6, price_path={"kind": "points", "points": [
        {"month": "2026-01", "btc_price_usd": 80_000}, {"month": "2026-06", "btc_price_usd": 120_000}]})
    sc = scenario(**d)
    assert baseline(sc).btc_price_usd == 80_000.0           # the first point anchors month 0
    wsc = whatif_scenario(sc, WhatIf(btc_price_usd=100_000.0, hashrate_growth_pct_per_month=0.0))
    # x 1.25: every point and the start price
    assert [p.btc_price_usd for p in wsc.price_path.points] == pytest.approx([100_000, 150_000])
    assert wsc.market.btc_price_usd == pytest.approx(PRICE * 1.25)


def test_lease_rate_is_set_on_every_ai_site():
    d = base_dict()
    d["sites"] += [{"name": "B", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "ai": AI},
                   {"name": "C", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "ai": {**AI, "colocation": {}}}]
    sc = scenario(**d)
    assert baseline(sc).lease_rate_usd_per_kw_month == 150   # the first AI site's
    wsc = whatif_scenario(sc, WhatIf(PRICE, 0.0, lease_rate_usd_per_kw_month=170.0))
    assert [s.ai.colocation.rate_usd_per_kw_month for s in wsc.sites if s.ai] == [170.0, 170.0]
    assert wsc.sites[1].ai.colocation.opex_usd_per_kw_month == 25     # the rest of the lease stays


def test_helpers_on_the_json_dict():
    d = {"sites": [{"power_price_usd_per_mwh": 50.0, "hourly_price_usd_per_mwh": [[10.0, 20.0]]},
                   {"power_price_usd_per_mwh": 30.0, "ai": {}}]}
    scale_power(d, 0.5)
    assert d["sites"][0] == {"power_price_usd_per_mwh": 25.0, "hourly_price_usd_per_mwh": [[5.0, 10.0]]}
    set_lease_rate(d, 99.0)
    assert d["sites"][1]["ai"] == {"colocation": {"rate_usd_per_kw_month": 99.0}}
    assert "ai" not in d["sites"][0]


def test_kpis_by_hand():
    # One month, no discounting: revenue 100,000 TH/s x 31 days x HP x $91,500; power 3 MW x 744 h x $40
    k = kpis(run_engine(scenario(), n_paths=1))
    btc = 100_000 * 31 * HP_BTC_PER_TH_DAY
    assert k["hashprice_usd_per_ph_day"] == pytest.approx(HP_BTC_PER_TH_DAY * PRICE * 1000, rel=1e-9)   # $38.08
    assert k["npv_usd"] == pytest.approx(btc * PRICE - 89_280, rel=1e-9)
    assert k["cost_per_btc_cash_usd"] == pytest.approx(89_280 / btc, rel=1e-9)
    assert k["cost_per_btc_all_in_usd"] == pytest.approx(89_280 / btc, rel=1e-9)    # owned machines: no depreciation
