"""Miner capitulation: hashrate answers hashprice, difficulty follows at retargets (network_response)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.errors import ScenarioError
from minerplan.engine.network import hashrate_hs_from_difficulty
from minerplan.markets.network_response import DEFAULT_TIERS, Tier, online_share, simulate_responsive_network
from minerplan.scenario.files import resolve_scenario_path, scenario_from_dict

OCT_2025 = dict(start_month="2025-10", difficulty=1.55e14, block_height=918_000, fees_btc_per_block=0.02,
                hashrate_growth_pct_per_month=1.0, pool_fee_pct=2.0)


def _run(prices, **kw):
    args = {**OCT_2025, **kw}
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    return simulate_responsive_network(horizon_months=prices.shape[1], prices_usd=prices, **args)


def test_a_tier_at_its_breakeven_is_half_on():
    # 0.024 x 20 J/TH x 0.05 USD/kWh = 0.024 USD per TH/s per day: the logistic's midpoint.
    tier = (Tier(100.0, 20.0, 0.05),)
    assert online_share(np.array([0.024]), tier)[0] == pytest.approx(0.5)
    assert online_share(np.array([0.024 * np.exp(0.15)]), tier, 15.0)[0] == pytest.approx(1 / (1 + np.exp(-1)))


def test_late_2025_capitulation_size_and_direction():
    """BTC -25% ($120k -> $90k) switches off 10-20% of hashrate within two retargets (about a month).

    Documented parameters: DEFAULT_TIERS, a 0.25-month lag, a 15% switch width. Seen in late 2025: the
    7-day hashrate ~15% below the Oct 19 peak within ~5 weeks, hashprice $35-40 per PH/s per day.
    """
    fall = _run([[120_000] + [90_000] * 3])
    hold = _run([[120_000] * 4])
    drop = 1 - fall.hashrate_hs[0, 1] / hold.hashrate_hs[0, 1]
    assert 0.10 <= drop <= 0.20, drop
    hp_usd_ph = fall.hashprice_btc_per_th_day[0] * 90_000 * 1000
    assert 35 <= hp_usd_ph[1] <= 42          # Nov 2025: $35-40 per PH/s per day
    # Difficulty follows down at the retargets, which gives the survivors part of the hashprice back.
    assert fall.difficulty[0, 2] < fall.difficulty[0, 0] * 0.93
    assert hp_usd_ph[2] > hp_usd_ph[1]


def test_flat_price_at_equilibrium_keeps_144_blocks_a_day():
    net = _run([[100_000] * 6], hashrate_growth_pct_per_month=0.0)
    h0 = hashrate_hs_from_difficulty(1.55e14)
    assert np.allclose(net.hashrate_hs[0], h0, rtol=1e-9)
    assert np.allclose(net.blocks[0] / net.days[0], 144.0, rtol=1e-9)
    assert np.allclose(net.difficulty[0], 1.55e14, rtol=1e-9)


def test_retarget_is_clamped_to_a_quarter():
    """A collapse that switches off nearly everything: difficulty falls at most x0.25 per retarget."""
    net = _run([[120_000] + [2_000] * 5])
    d = net.difficulty[0]
    assert net.hashrate_hs[0, 2] < 0.05 * net.hashrate_hs[0, 0]
    assert np.all(d[1:] >= 0.25 * d[:-1] * 0.999)


def test_faster_blocks_bring_the_halving_forward():
    """Block 1,050,000: a price rally (more hashrate) reaches it earlier than a slump."""
    start = dict(start_month="2026-06", block_height=990_000, difficulty=1.6e14, fees_btc_per_block=0.02,
                 hashrate_growth_pct_per_month=3.0, pool_fee_pct=2.0)

    def halving_time_months(price):
        """Months from the start to block 1,050,000: whole months plus the share of the month before it."""
        path = np.concatenate([[100_000.0], np.full(23, price)])[None, :]
        net = simulate_responsive_network(horizon_months=24, prices_usd=path, **start)
        m = int(np.argmax(net.subsidy_btc[0] < 3.1))
        before = (net.subsidy_btc[0, m] - 1.5625) / (3.125 - 1.5625)   # share of the month's blocks at 3.125
        return m + before

    early, late = halving_time_months(250_000), halving_time_months(50_000)
    assert early < late - 0.1, (early, late)


def test_paths_do_not_leak_into_each_other():
    prices = np.array([[120_000] * 6, [120_000, 60_000, 60_000, 90_000, 150_000, 150_000]], dtype=float)
    both = _run(prices)
    for p in range(2):
        alone = _run(prices[p:p + 1])
        for field in ("hashrate_hs", "difficulty", "blocks", "subsidy_btc", "hashprice_btc_per_th_day"):
            assert np.allclose(getattr(both, field)[p], getattr(alone, field)[0], rtol=1e-12), field


def _default(**market):
    d = json.loads(resolve_scenario_path("default").read_text())
    d["market"].update(market)
    return d


def test_engine_uses_the_response_per_path():
    sc = scenario_from_dict(_default(hashrate_response={}))
    res = run_engine(sc, n_paths=200, seed=3)
    assert res.network.hashrate_hs.shape == (200, 60)
    low = np.argmin(res.btc_price_usd[:, 24])
    high = np.argmax(res.btc_price_usd[:, 24])
    assert res.network.hashrate_hs[low, 24] < res.network.hashrate_hs[high, 24]
    # Each path's BTC uses its own hashprice: a path re-run alone gives the same NPV.
    alone = run_engine(sc, prices=res.btc_price_usd[low:low + 1])
    assert alone.npv_usd[0] == pytest.approx(res.npv_usd[low], rel=1e-10)


def test_default_tiers_survive_a_round_trip_and_bad_tiers_are_named():
    sc = scenario_from_dict(_default(hashrate_response={}))
    assert [t.efficiency_j_per_th for t in sc.market.hashrate_response.tiers] == [t.efficiency_j_per_th
                                                                                 for t in DEFAULT_TIERS]
    with pytest.raises(ScenarioError, match=r"market\.hashrate_response\.tiers\[0\]\.share_pct"):
        scenario_from_dict(_default(hashrate_response={"tiers": [{"share_pct": -1, "efficiency_j_per_th": 20,
                                                                  "power_usd_per_kwh": 0.05}]}))
    with pytest.raises(ScenarioError, match="lag_months"):
        scenario_from_dict(_default(hashrate_response={"lag_months": 0}))


def test_capitulation_preset_from_the_late_november_state():
    """From late November (the network already ~15% below its October peak, so at equilibrium at ~$86.5k),
    the slide to $73k (-16%) switches off a further ~6% of hashrate within two retargets."""
    d = json.loads(resolve_scenario_path("default").read_text())
    d["market"]["network_model"] = "capitulation"       # this file tests the capitulation model
    d["market"].pop("network_hashrate_ehs", None)       # at equilibrium with difficulty
    sc = scenario_from_dict(d)
    res = run_engine(sc, preset="capitulation")
    h = res.network.hashrate_hs[0]
    drop = 1 - h[2] / h[0]
    assert 0.03 <= drop <= 0.12, drop
    # and every stress story runs on that same network model, so they rank as their prices do
    npv = {name: float(run_engine(sc, preset=name).npv_usd[0])
           for name in ("recovery", "base", "gamma-flip", "capitulation")}
    assert npv["recovery"] > npv["base"] > npv["gamma-flip"] > npv["capitulation"]
