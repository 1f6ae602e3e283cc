"""Properties of the engine that must hold for any inputs (hypothesis)."""

import numpy as np
from hypothesis import given, settings, strategies as st

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import scenario_from_dict
from tests.builders import base_dict

prices_st = st.floats(5_000, 400_000)
power_st = st.floats(0, 200)


@st.composite
def sites_and_fleet(draw):
    n_cohorts = draw(st.integers(1, 3))
    fleet = []
    for i in range(n_cohorts):
        fleet.append({"model": f"M{i}", "count": draw(st.integers(0, 2000)),
                      "hashrate_ths": draw(st.floats(50, 400)), "power_w": draw(st.floats(1500, 6000)),
                      "site": "A", "uptime_pct": draw(st.floats(50, 100)),
                      "degradation_pct_per_year": draw(st.floats(0, 10))})
    site = {"name": "A", "capacity_mw": 40, "power_price_usd_per_mwh": draw(power_st), "pue": draw(st.floats(1, 1.4)),
            "curtailment_credit_usd_per_mwh": draw(st.floats(0, 50)),
            "take_or_pay_mwh_per_month": draw(st.sampled_from([0.0, 500.0, 5000.0, 20000.0]))}
    if draw(st.booleans()):
        site["hourly_price_usd_per_mwh"] = [[draw(st.floats(-20, 300)) for _ in range(24)]] * 12
    return [site], fleet


def make(sites, fleet, months=3, **fin):
    d = base_dict(sites=sites, fleet=fleet, horizon_months=months)
    d["finance"].update(fin)
    return scenario_from_dict(d)


@settings(max_examples=40)
@given(sites_and_fleet(), st.lists(prices_st, min_size=3, max_size=3), st.floats(1.01, 5))
def test_hashprice_scales_linearly_with_price(sf, prices, k):
    sc = make(*sf)
    p = np.array([prices])
    a = run_engine(sc, prices=p).hashprice_usd_per_th_day
    b = run_engine(sc, prices=p * k).hashprice_usd_per_th_day
    np.testing.assert_allclose(b, a * k, rtol=1e-12)


@settings(max_examples=30)
@given(sites_and_fleet(), prices_st, st.floats(1e13, 5e14), st.floats(1.0, 3.0))
def test_more_difficulty_never_raises_revenue(sf, price, d1, k):
    sites, fleet = sf
    d = base_dict(sites=sites, fleet=fleet, horizon_months=3)
    d["market"]["difficulty"] = d1
    lo = scenario_from_dict(d)
    d["market"]["difficulty"] = d1 * k
    hi = scenario_from_dict(d)
    p = np.full((1, 3), price)
    r_lo, r_hi = run_engine(lo, prices=p), run_engine(hi, prices=p)
    assert np.all(r_hi.mining_revenue_usd <= r_lo.mining_revenue_usd * (1 + 1e-12) + 1e-9)
    assert np.all(r_hi.ebitda_usd <= r_lo.ebitda_usd + 1e-6 * (1 + np.abs(r_lo.ebitda_usd)))


@settings(max_examples=60)
@given(sites_and_fleet(), st.lists(prices_st, min_size=3, max_size=3))
def test_curtailment_never_lowers_margin(sf, prices):
    sites, fleet = sf
    p = np.array([prices])
    on = run_engine(make(sites, fleet), prices=p)
    off_sites = [dict(sites[0], curtailment_enabled=False)]
    always = run_engine(make(off_sites, fleet), prices=p)
    tol = 1e-7 * (1 + np.abs(always.ebitda_usd))
    assert np.all(on.ebitda_usd >= always.ebitda_usd - tol)


@settings(max_examples=40)
@given(sites_and_fleet(), prices_st, st.data())
def test_dispatch_beats_any_other_dispatch(sf, price, data):
    """The engine's per-month margin is at least that of random fractional dispatches (LP optimality)."""
    sites, fleet = sf
    sc = make(sites, fleet, months=1)
    r = run_engine(sc, prices=np.array([[price]]))
    site = sc.sites[0]
    prof = (np.asarray(site.hourly_price_usd_per_mwh)[0] if site.hourly_price_usd_per_mwh is not None
            else np.full(24, site.power_price_usd_per_mwh))
    fl = r.fleet
    hp_btc = r.network.hashprice_btc_per_th_day[0, 0]
    units = fl.running_units[0] * fl.uptime
    th_hour = units * fl.hashrate_ths_per_unit[0] * 31 / 24          # TH-days per hour bucket
    e_hour = units * fl.power_w_per_unit * site.pue / 1e6 * 31         # MWh per hour bucket
    for _ in range(5):
        x = np.array(data.draw(st.lists(st.floats(0, 1), min_size=24 * len(fleet), max_size=24 * len(fleet))))
        x = x.reshape(len(fleet), 24)
        btc = float((x * th_hour[:, None]).sum() * hp_btc)
        e_run = float((x * e_hour[:, None]).sum())
        cost = float((x * e_hour[:, None] * prof[None, :]).sum())
        curtailed = float(e_hour.sum() * 24 - e_run)
        short = max(site.take_or_pay_mwh_per_month - e_run, 0) * site.power_price_usd_per_mwh
        margin = btc * price + curtailed * site.curtailment_credit_usd_per_mwh - cost - short
        assert r.ebitda_usd[0, 0, 0] >= margin - 1e-6 * (1 + abs(margin))


@settings(max_examples=30)
@given(sites_and_fleet(), st.lists(prices_st, min_size=3, max_size=3), st.floats(1.0, 2.0))
def test_npv_never_falls_when_btc_rises(sf, prices, k):
    sites, fleet = sf
    sc = make(sites, fleet, tax_rate_pct=21, discount_rate_pct=12)
    p = np.array([prices])
    a = run_engine(sc, prices=p).npv_usd[0]
    b = run_engine(sc, prices=p * k).npv_usd[0]
    assert b >= a - 1e-6 * (1 + abs(a))


@settings(max_examples=20)
@given(st.integers(2, 30), st.integers(0, 10_000))
def test_paths_are_independent_of_each_other(n, seed):
    """Evaluating paths together or one by one gives the same per-path results (no cross-path leakage)."""
    d = base_dict(horizon_months=4)
    d["sites"][0]["take_or_pay_mwh_per_month"] = 1500
    d["sites"][0]["power_price_usd_per_mwh"] = 55
    sc = scenario_from_dict(d)
    rng = np.random.default_rng(seed)
    p = rng.uniform(30_000, 150_000, size=(n, 4))
    together = run_engine(sc, prices=p)
    for i in (0, n - 1):
        alone = run_engine(sc, prices=p[i:i + 1])
        np.testing.assert_allclose(together.net_cash_flow_usd[i], alone.net_cash_flow_usd[0], rtol=1e-12, atol=1e-6)
