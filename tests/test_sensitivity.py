"""Tornado and breakeven solvers (minerplan.analysis.sensitivity) against hand calculations and engine runs.

Reference (tests/builders.py, see test_engine_known_answers): one TH/s earns 4.162277e-7 BTC
= $0.0380848 a day at $91,500; the test fleet (1,000 x 100 TH/s x 3,000 W, 30 J/TH) burns
0.72 MWh per TH/s-day / 1000, so it earns $52.896 per MWh; January: 31 days, 2,232 MWh,
1.290306 BTC mined when always on.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.files import load_scenario, scenario_from_dict, scenario_to_dict
from minerplan.analysis.root_finding import NoRootError, find_root
from minerplan.analysis.sensitivity import (breakeven_btc_price, conversion_breakeven_lease_rate,
                                            curtailment_power_price, with_flat_site_price)
from minerplan.analysis.tornado import TORNADO_INPUTS, tornado
from tests.builders import base_dict

BTC_PER_TH_DAY = 144 * 3.145 / 1_088_058.3816533 / 1e3
USD_PER_TH_DAY = BTC_PER_TH_DAY * 91_500          # 0.0380848
FULL_BTC = 100_000 * 31 * BTC_PER_TH_DAY          # 1.290306 BTC in January
FULL_MWH = 3 * 744                                # 2,232 MWh
E_TH = 3000 / 1e6 * 24 / 100                      # 0.00072 MWh per TH/s-day


@pytest.fixture(scope="module")
def default_sc():
    return load_scenario("default")


def npv(sc, prices=None) -> float:
    return float(run_engine(sc, prices=prices).npv_usd[0])


def with_dict(sc, mutate):
    d = scenario_to_dict(sc)
    mutate(d)
    return scenario_from_dict(d)


# --------------------------------------------------------------------------- root finder

def test_find_root_known_roots():
    x, fx = find_root(lambda x: x**3 - 2, 0.0, 5.0, xtol=1e-15)
    assert x == pytest.approx(2 ** (1 / 3), rel=1e-14)
    x, _ = find_root(lambda x: math.cos(x) - x, 0.0, 1.0, xtol=1e-15)
    assert x == pytest.approx(0.7390851332151607, rel=1e-14)
    x, _ = find_root(lambda x: x - 0.3, 0.0, 1.0, ftol=1e-3)       # stops once |f| <= ftol
    assert abs(x - 0.3) <= 1e-3


def test_find_root_step_function_narrows_to_the_jump_and_no_sign_change_is_an_error():
    x, fx = find_root(lambda x: 1.0 if x > 0.25 else -1.0, 0.0, 1.0)
    assert x == pytest.approx(0.25, abs=1e-15) and abs(fx) == 1.0
    calls = []
    x, _ = find_root(lambda x: calls.append(x) or math.exp(x) - 1e6, 0.0, 700.0, xtol=1e-12)
    assert x == pytest.approx(math.log(1e6), rel=1e-12) and len(calls) < 60    # bisection guard: never stalls
    with pytest.raises(NoRootError, match="no sign change"):
        find_root(lambda x: x * x + 1, -1.0, 1.0)


# --------------------------------------------------------------------------- breakeven BTC price

def test_breakeven_btc_price_by_hand():
    d = base_dict()
    d["finance"]["g_and_a_usd_per_month"] = 50_000
    sc = scenario_from_dict(d)
    # revenue = cost + G&A: 1.290306 BTC x P = 89,280 + 50,000  ->  P = $107,942.6
    want = (FULL_MWH * 40 + 50_000) / FULL_BTC
    assert want == pytest.approx(107_942.6, rel=1e-5)
    got = breakeven_btc_price(sc)
    assert got == pytest.approx(want, rel=1e-6)


def test_breakeven_btc_price_meets_npv_zero_on_the_default(default_sc):
    base = npv(default_sc)
    p = breakeven_btc_price(default_sc)
    path = deterministic_path(default_sc)
    at = npv(default_sc, (path * (p / path[0]))[None, :])
    assert abs(at) <= 1e-6 * abs(base)
    # The default is worth more than zero at $91,500 (its lease is valued at the lease's own rate and the
    # network shrinks when the price falls), so the breakeven lies below the entered price.
    assert base > 0 and 30_000 < p < 91_500
    # on a points path the whole path scales: same answer through the scenario's own price fields
    scaled = with_dict(default_sc, lambda d: d["market"].update(btc_price_usd=p))
    assert abs(npv(scaled)) <= 1e-6 * abs(base)


def test_breakeven_btc_price_no_root_errors():
    d = base_dict()
    d["sites"][0]["curtailment_credit_usd_per_mwh"] = 10.0   # curtailed energy earns $10/MWh, whatever BTC does
    with pytest.raises(NoRootError, match=r"positive even at a first-month BTC price of \$1"):
        breakeven_btc_price(scenario_from_dict(d))
    d = base_dict(fleet=[])
    d["finance"]["g_and_a_usd_per_month"] = 1_000
    with pytest.raises(NoRootError, match="still negative"):
        breakeven_btc_price(scenario_from_dict(d))


def test_breakeven_cancel_raises_cancelled(default_sc):
    n = [0]

    def cancel():
        n[0] += 1
        return n[0] > 3
    with pytest.raises(Cancelled):
        breakeven_btc_price(default_sc, cancel=cancel)


# --------------------------------------------------------------------------- curtailment price

def site_energy(sc, s, month, price):
    return float(run_engine(with_flat_site_price(sc, s, price)).mining_energy_mwh[0, month, s])


def test_curtailment_price_by_hand_and_engine():
    sc = scenario_from_dict(base_dict())
    df = curtailment_power_price(sc, "A")
    p = df.curtail_above_usd_per_mwh[0]
    assert p == pytest.approx(USD_PER_TH_DAY / E_TH, rel=1e-12)      # $52.896/MWh
    assert p == pytest.approx(52.896, rel=1e-4)
    assert site_energy(sc, 0, 0, p - 0.01) == pytest.approx(FULL_MWH)
    assert site_energy(sc, 0, 0, p + 0.01) == 0.0


def test_curtailment_price_with_pool_fee_and_credit_by_hand():
    d = base_dict()
    d["finance"]["pool_fee_pct"] = 2.0
    d["sites"][0]["curtailment_credit_usd_per_mwh"] = 5.0
    sc = scenario_from_dict(d)
    p = curtailment_power_price(sc, 0).curtail_above_usd_per_mwh[0]
    assert p == pytest.approx(52.896 * 0.98 - 5.0, rel=1e-4)        # $46.838/MWh
    assert site_energy(sc, 0, 0, p - 0.01) == pytest.approx(FULL_MWH)
    assert site_energy(sc, 0, 0, p + 0.01) == 0.0


def test_curtailment_price_per_cohort_on_the_default(default_sc):
    sc = default_sc
    s = sc.site_index()["Texas"]
    for month in (0, 7):
        df = curtailment_power_price(sc, "Texas", month)
        assert list(df.cohort) == [i for i, c in enumerate(sc.fleet) if c.site == "Texas"]
        days = [31, 31, 29, 31, 30, 31, 30, 31][month]               # from 2025-12
        for row in df.itertuples():
            c = sc.fleet[row.cohort]
            # this cohort's full-month energy at the meter: units x uptime x W x PUE x hours
            e = c.count * c.uptime_pct / 100 * c.power_w * sc.sites[s].pue / 1e6 * 24 * days
            below = site_energy(sc, s, month, row.curtail_above_usd_per_mwh - 0.01)
            above = site_energy(sc, s, month, row.curtail_above_usd_per_mwh + 0.01)
            assert below - above == pytest.approx(e, rel=1e-9)     # it runs just below, stops just above
    assert (curtailment_power_price(sc, "Georgia").note.str.contains("take-or-pay")).all()


def test_curtailment_price_not_running_and_not_curtailable():
    d = base_dict(horizon_months=3)
    d["fleet"].append(dict(d["fleet"][0], purchase_month="2026-03", count=10))
    sc = scenario_from_dict(d)
    df = curtailment_power_price(sc, "A", "2026-02")
    assert math.isnan(df.curtail_above_usd_per_mwh[1]) and "not running" in df.note[1]
    d["sites"][0]["curtailment_enabled"] = False
    df = curtailment_power_price(scenario_from_dict(d), "A")
    assert df.curtail_above_usd_per_mwh[0] == math.inf
    with pytest.raises(ValueError, match="no site named 'Z'"):
        curtailment_power_price(sc, "Z")
    with pytest.raises(ValueError, match="outside"):
        curtailment_power_price(sc, "A", 3)


# --------------------------------------------------------------------------- lease-rate breakeven

def ai_dict(**colocation):
    d = base_dict(horizon_months=24)
    d["sites"][0]["ai"] = {"convertible_gross_mw": 5, "lead_time_months": 6,
                           "colocation": dict({"escalator_pct_per_year": 0.0, "opex_usd_per_kw_month": 20.0},
                                              **colocation)}
    return d


def test_lease_breakeven_by_hand():
    sc = scenario_from_dict(ai_dict())
    # 5 gross MW -> 3.5 critical MW; capex 3.5 x $9.5M, rent and opex for 18 live months (Jul 2026..Dec 2027);
    # mining keeps its 3 MW in the 5 MW left; no tax, no discounting, no terminal value:
    # 3,500 kW x (r - 20) x 18 = 3.5 x 9.5M  ->  r = 20 + 9.5M / 18,000 = 547.78 USD/kW-month
    want = 20 + 9_500_000 / 18_000
    got = conversion_breakeven_lease_rate(sc, "A", 5.0, "2026-01")
    assert got == pytest.approx(want, rel=1e-6)


def test_lease_breakeven_npvs_equal_on_the_default(default_sc):
    sc = default_sc
    rate = conversion_breakeven_lease_rate(sc, "North Dakota", 20.0, "2026-06")

    def at(r, add):
        def m(d):
            site = next(s for s in d["sites"] if s["name"] == "North Dakota")
            site["ai"]["colocation"]["rate_usd_per_kw_month"] = r
            if add:
                d["conversion_plan"].append({"site": "North Dakota", "gross_mw": 20.0, "start_month": "2026-06",
                                             "business_model": "colocation"})
        return npv(with_dict(sc, m))

    without = at(rate, False)            # the site's existing 40 MW lease is re-rated too (one rate per site)
    assert abs(at(rate, True) - without) <= 1e-6 * abs(npv(sc))
    assert at(rate * 1.01, True) > at(rate * 1.01, False)
    assert 50 < rate < 400


def test_lease_breakeven_errors():
    sc = scenario_from_dict(base_dict())
    with pytest.raises(ValueError, match="no ai section"):
        conversion_breakeven_lease_rate(sc, "A", 1.0, "2026-01")
    # capex 0 and opex 0 and a lease ready only after the horizon: the rate changes nothing
    d = ai_dict(opex_usd_per_kw_month=0.0)
    d["horizon_months"] = 3
    with pytest.raises(NoRootError, match="does not depend on the lease rate"):
        conversion_breakeven_lease_rate(scenario_from_dict(d), "A", 5.0, "2026-01")
    # displacing machines with a high fixed opex: converting pays even at $0
    d = ai_dict()
    d["sites"][0].update(capacity_mw=3, mining_opex_usd_per_mw_month=1e6)
    d["sites"][0]["ai"].update(convertible_gross_mw=3, conversion_capex_usd_per_critical_mw=0)
    d["sites"][0]["ai"]["colocation"]["opex_usd_per_kw_month"] = 0
    with pytest.raises(NoRootError, match=r"even at a lease rate of \$0"):
        conversion_breakeven_lease_rate(scenario_from_dict(d), "A", 3.0, "2026-01")


# --------------------------------------------------------------------------- tornado

def test_tornado_on_the_default_sorted_with_btc_row_by_hand(default_sc):
    sc = default_sc
    df = tornado(sc)
    assert list(df.columns[:6]) == ["input", "low_value", "high_value", "npv_low_usd", "npv_high_usd", "unit"]
    assert set(df.key) == set(TORNADO_INPUTS)                        # the default has an AI/HPC site
    assert list(df.swing_usd) == sorted(df.swing_usd, reverse=True)
    np.testing.assert_allclose(df.swing_usd, (df.npv_high_usd - df.npv_low_usd).abs())
    btc = df[df.key == "btc_price"].iloc[0]
    # by hand: the scenario's flat price $91,500 at 80% and 120%, set in the scenario itself
    lo = npv(with_dict(sc, lambda d: d["market"].update(btc_price_usd=91_500 * 0.8)))
    hi = npv(with_dict(sc, lambda d: d["market"].update(btc_price_usd=91_500 * 1.2)))
    assert btc.npv_low_usd == pytest.approx(lo, rel=1e-12) and btc.npv_high_usd == pytest.approx(hi, rel=1e-12)
    assert (btc.low_value, btc.high_value) == (pytest.approx(73_200), pytest.approx(109_800))
    assert df.base_npv_usd.iloc[0] == pytest.approx(npv(sc))
    fee = df[df.key == "pool_fee"].iloc[0]
    assert (fee.low_value, fee.high_value) == (0.5, 2.5)
    assert fee.npv_high_usd == pytest.approx(npv(with_dict(sc, lambda d: d["finance"].update(pool_fee_pct=2.5))))
    power = df[df.key == "power_price"].iloc[0]
    texas_hourly = sc.sites[0].hourly_price_usd_per_mwh

    def scaled(d):
        for s in d["sites"]:
            s["power_price_usd_per_mwh"] *= 1.2
        d["sites"][0]["hourly_price_usd_per_mwh"] = [[x * 1.2 for x in row] for row in texas_hourly]
    assert power.npv_high_usd == pytest.approx(npv(with_dict(sc, scaled)))


def test_tornado_rows_by_hand_on_a_one_month_case():
    d = base_dict()
    d["finance"]["g_and_a_usd_per_month"] = 100_000
    sc = scenario_from_dict(d)
    df = tornado(sc, swing_pct=20).set_index("key")
    assert "lease_rate" not in df.index and "conversion_capex" not in df.index    # no AI/HPC site
    base = FULL_BTC * 91_500 - FULL_MWH * 40 - 100_000
    assert df.base_npv_usd.iloc[0] == pytest.approx(base, rel=1e-9)
    # G&A 80k / 120k: NPV moves by -/+ $20,000 (no tax, no discounting)
    assert df.loc["g_and_a", "npv_low_usd"] == pytest.approx(base + 20_000, rel=1e-9)
    assert df.loc["g_and_a", "npv_high_usd"] == pytest.approx(base - 20_000, rel=1e-9)
    # BTC at $73,200 still runs (52.896 x 0.8 = $42.3/MWh > $40): revenue scales by 0.8
    assert df.loc["btc_price", "npv_low_usd"] == pytest.approx(FULL_BTC * 73_200 - FULL_MWH * 40 - 100_000,
                                                               rel=1e-9)
    # power at $48/MWh: still below $52.896, so it runs and pays 2,232 x 48
    assert df.loc["power_price", "npv_high_usd"] == pytest.approx(FULL_BTC * 91_500 - FULL_MWH * 48 - 100_000,
                                                                  rel=1e-9)
    assert df.loc["asic_prices", "swing_usd"] == 0.0                 # nothing bought in the horizon


def test_tornado_inputs_progress_and_cancel(default_sc):
    seen = []
    df = tornado(default_sc, inputs=["pool_fee", "btc_price"], swing_pct=10,
                 progress=lambda f, t: seen.append((f, t)))
    assert list(df.key) == ["btc_price", "pool_fee"]
    assert df.name.iloc[0] == "BTC price ±10% (USD/BTC)"
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and len(seen) == 6
    with pytest.raises(Cancelled):
        tornado(default_sc, cancel=lambda: len(seen) > 7, progress=lambda f, t: seen.append(f))
    with pytest.raises(ValueError, match="unknown tornado input"):
        tornado(default_sc, inputs=["btc"])
    with pytest.raises(ValueError, match="swing_pct"):
        tornado(default_sc, swing_pct=0)
