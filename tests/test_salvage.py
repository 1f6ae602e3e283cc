"""Salvage at retirement follows the used-ASIC market (issue 12, item 3), never a constant.

A row retired in month t sells its units in month t at: units x the TH/s a unit makes then x the
used-market price per TH/s of its J/TH: ASIC_MARGIN_DAYS (663) days of margin at a buyer's power price
(ASIC_BUYER_POWER_USD_PER_KWH, $0.050/kWh), margin = hashprice x (the halving ahead) - 0.05 x 0.024 x J/TH,
at least scrap ($0.50 per TH/s); x salvage_usd / (the same value of a unit in the first month at the
index month's hashprice, late 2025) when the row has a quote. The constants are a fit to Luxor's ASIC price index tiers (minerplan/engine/valuation.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import load_scenario, scenario_from_dict
from minerplan.engine.valuation import (ASIC_BUYER_POWER_USD_PER_KWH, ASIC_MARGIN_DAYS, ASIC_SCRAP_USD_PER_TH,
                                 SALE_FORESIGHT_MONTHS, asic_market_value_usd_per_th, halving_ahead_factor)
from tests.builders import HP_BTC_PER_TH_DAY, PRICE, base_dict

HP_USD = PRICE * HP_BTC_PER_TH_DAY      # $0.0380848 per TH/s per day: 144 blocks a day, 3.145 BTC each


def price_per_th(j_per_th: float, hp: float) -> float:
    """The hand formula: 663 days of margin at $0.05/kWh, at least $0.50 per TH/s."""
    return max(663.0 * (hp - 0.05 * 0.024 * j_per_th), 0.5)


def one_row(retire_month: str | None = "2026-07", horizon: int = 12, **row) -> dict:
    """1,000 machines of 100 TH/s at 2,000 W (20 J/TH), no degradation, on the reference market."""
    d = base_dict(horizon_months=horizon)
    d["fleet"][0].update({"retire_month": retire_month, "power_w": 2000, **row})
    return d


def test_the_price_is_a_fit_to_the_published_index_tiers():
    """Luxor's ASIC price index, late 2025, at November 2025's hashprice ($39.82 per PH/s per day):
    under 19 J/TH $13-17 per TH/s, 19-25 J/TH $5-8, 25-38 J/TH $2-5 (midpoints at ~16, 22 and 30 J/TH)."""
    hp = 0.03982
    eff = np.array([16.0, 22.0, 30.0])
    mid = np.array([15.0, 6.5, 3.5])
    slope, intercept = np.polyfit(eff, mid, 1)                           # price = k hp - k 0.024 p eff
    k = intercept / hp
    p = -slope / (k * 0.024)
    assert ASIC_MARGIN_DAYS == pytest.approx(k, abs=1.0)
    assert ASIC_BUYER_POWER_USD_PER_KWH == pytest.approx(p, abs=5e-4)
    fitted = asic_market_value_usd_per_th(eff, hp)
    for f, lo, hi in zip(fitted, (13.0, 5.0, 2.0), (17.0, 8.0, 5.0)):
        assert lo - 1.0 <= f <= hi + 1.0                                  # within $1 of each published tier
    # A 13.5 J/TH S21 XP used: below its $25.70/TH new price (Luxor, 2025-11-03), above the <19 J/TH tier's low.
    assert 13.0 < asic_market_value_usd_per_th(13.5, hp) < 25.70
    assert asic_market_value_usd_per_th(50.0, hp) == ASIC_SCRAP_USD_PER_TH


def test_one_retirement_by_hand():
    sc = scenario_from_dict(one_row())
    res = run_engine(sc)
    t = sc.months.index("2026-07")
    # 0.0380848 - 0.05 x 0.024 x 20 = 0.0140848 USD per TH/s per day of margin, x 663 days = $9.338 per TH/s
    want = 1000 * 100 * price_per_th(20.0, HP_USD)
    assert want == pytest.approx(933_824.32, abs=0.01)
    got = res.salvage_usd[0, :, 0]
    assert got[t] == pytest.approx(want, rel=1e-12)
    assert np.count_nonzero(got) == 1
    # No tax, no discounting: the sale is cash in its month, and the machines earn nothing after it.
    mining = res.ebitda_usd[0, :, 0]
    assert res.net_cash_flow_usd[0, t] == pytest.approx(mining[t] + want, rel=1e-12)
    assert mining[t:] == pytest.approx(0.0, abs=1e-6)


def test_salvage_falls_when_hashprice_falls_on_a_path():
    sc = scenario_from_dict(one_row())
    t = sc.months.index("2026-07")
    flat = np.full(12, PRICE)
    crash = flat.copy()
    crash[t - 2:] = PRICE / 2                      # BTC halves two months before the sale
    rally = flat.copy()
    rally[t] = PRICE * 1.5
    res = run_engine(sc, prices=np.array([flat, crash, rally]))
    sale = res.salvage_usd[:, t, 0]
    hp = res.hashprice_usd_per_th_day[:, t]
    assert sale[1] < sale[0] < sale[2]
    # a margin falls faster than hashprice: half the hashprice is less than half the price
    assert sale[1] < 0.5 * sale[0]
    np.testing.assert_allclose(sale, [1000 * 100 * price_per_th(20.0, h) for h in hp], rtol=1e-12)
    # ... and on Monte Carlo paths, path by path.
    mc = run_engine(sc, n_paths=40, seed=3)
    want = [1000 * 100 * price_per_th(20.0, h) for h in mc.hashprice_usd_per_th_day[:, t]]
    np.testing.assert_allclose(mc.salvage_usd[:, t, 0], want, rtol=1e-12)
    assert mc.salvage_usd[:, t, 0].std() > 0


def test_an_older_machine_sells_for_less():
    """Wear: it sells for the TH/s it still makes, at a worse J/TH; an inefficient one only for scrap."""
    fresh = run_engine(scenario_from_dict(one_row()))
    worn = run_engine(scenario_from_dict(one_row(degradation_pct_per_year=5.0, age_months=12)))
    ths = 100 * 0.95 ** ((12 + 6) / 12)                                  # 18 months old in 2026-07: 92.6 TH/s
    assert worn.salvage_usd[0, 6, 0] == pytest.approx(1000 * ths * price_per_th(2000 / ths, HP_USD), rel=1e-12)
    assert worn.salvage_usd[0, 6, 0] < fresh.salvage_usd[0, 6, 0]
    old = run_engine(scenario_from_dict(one_row(power_w=4000)))          # 40 J/TH: no buyer runs it
    assert old.salvage_usd[0, 6, 0] == pytest.approx(1000 * 100 * 0.5, rel=1e-12)


def test_a_halving_ahead_is_in_the_price():
    """A machine sold six months before the April 2028 halving: its buyer prices the next 22 months of
    subsidy (6 at 3.125 BTC, 16 at 1.5625: 0.64 of today's), not today's hashprice alone."""
    d = load_scenario("default").model_dump(mode="json", exclude_none=True)
    d["fleet"][5]["retire_month"] = "2027-10"                             # the 14,000 S21s at North Dakota
    sc = scenario_from_dict(d)
    res = run_engine(sc)
    t = sc.months.index("2027-10")
    sub = res.network.subsidy_btc[0]
    factor = sub[t:t + SALE_FORESIGHT_MONTHS].mean() / sub[t]
    assert 0.60 < factor < 0.68
    assert halving_ahead_factor(sub)[0, t] == pytest.approx(factor, rel=1e-12)
    ths = 200 * 0.98 ** ((18 + t) / 12)                                   # 18 months old at the start
    hp = res.hashprice_usd_per_th_day[0, t]
    want = 14_000 * ths * price_per_th(3500 / ths, hp * factor)
    assert res.salvage_usd[0, t].sum() == pytest.approx(want, rel=1e-12)
    # far from a halving the factor is 1
    assert halving_ahead_factor(sub)[0, 0] == pytest.approx(1.0, abs=1e-12)


def test_a_quote_scales_the_market_price_of_its_machine():
    """A quote is read as a price in the index's market (late 2025, $39.82 per PH/s per day): it scales
    the model's price of that machine, which then follows each path's hashprice."""
    ref = 0.03982
    scale = 5000.0 / (100 * price_per_th(20.0, ref))                       # quote / the model's price then
    start = scenario_from_dict(one_row("2026-01", salvage_usd=5000.0))
    res = run_engine(start, prices=np.array([np.full(12, PRICE), np.full(12, PRICE / 3)]))
    hp = res.hashprice_usd_per_th_day[:, 0]
    np.testing.assert_allclose(res.salvage_usd[:, 0, 0], [1000 * scale * 100 * price_per_th(20.0, h) for h in hp],
                               rtol=1e-12)
    assert res.salvage_usd[1, 0, 0] < res.salvage_usd[0, 0, 0]             # a lower BTC price: a lower price
    # at the index's hashprice the machine sells for the quote
    assert 1000 * scale * 100 * price_per_th(20.0, ref) == pytest.approx(1000 * 5000.0, rel=1e-12)
    # Without a quote (0, as older files have it) the market alone: never $0.
    plain = run_engine(scenario_from_dict(one_row("2026-07", salvage_usd=0.0)))
    assert plain.salvage_usd[0, 6, 0] == pytest.approx(1000 * 100 * price_per_th(20.0, HP_USD), rel=1e-12)


def test_retired_in_the_start_month_sells_and_writes_off_the_book_value():
    d = one_row("2026-01", purchase_price_usd=3000.0, age_months=12, useful_life_months=36)
    res = run_engine(scenario_from_dict(d))
    assert res.salvage_usd[0, 0, 0] == pytest.approx(1000 * 100 * price_per_th(20.0, HP_USD), rel=1e-12)
    assert res.asic_depreciation_usd[0, 0] == pytest.approx(1000 * 3000.0 * (1 - 12 / 36), rel=1e-12)


def test_the_residual_follows_the_quote_too_and_salvage_mode_is_market():
    d = one_row(None, salvage_usd=5000.0)
    d["finance"]["asic_residual_value"] = "market"
    market = run_engine(scenario_from_dict(d))
    d["finance"]["asic_residual_value"] = "salvage"
    salvage = run_engine(scenario_from_dict(d))
    # Flat market, no degradation: the quote, moved from the index's hashprice to this market's.
    scale = price_per_th(20.0, HP_USD) / price_per_th(20.0, 0.03982)
    assert market.terminal_value_usd[0] == pytest.approx(1000 * 5000.0 * scale, rel=1e-12)
    assert salvage.npv_usd[0] == market.npv_usd[0]


def test_s21s_retired_in_2028_sell_for_a_positive_price():
    """Issue 12: '14,000 S21s scrapped in 2028 for $0'. On the shipped scenario's entered path they now sell
    at the market: 17.5 J/TH, two years older, at that month's hashprice (after the halving)."""
    d = load_scenario("default").model_dump(mode="json", exclude_none=True)
    assert d["fleet"][5]["model"] == "Antminer S21" and d["fleet"][5]["count"] == 14_000
    d["fleet"][5]["retire_month"] = "2028-06"
    sc = scenario_from_dict(d)
    res = run_engine(sc)
    t = sc.months.index("2028-06")
    sale = res.salvage_usd[0, t].sum()
    ths = 200 * 0.98 ** ((18 + t) / 12)
    want = 14_000 * ths * price_per_th(3500 / ths, res.hashprice_usd_per_th_day[0, t])
    assert sale == pytest.approx(want, rel=1e-12)
    assert sale >= 14_000 * ths * 0.5 > 1e6                              # at least scrap: never $0


def test_optimizer_retirement_proceeds_are_the_engines():
    """The optimizer's retirement coefficients come from the engine's salvage: the plan's value equals the
    engine's on every path, and the retirement table's salvage is the engine's mean over the paths.

    A signed conversion takes 2 of the site's 3 MW in 2026-07, so 2/3 of the (profitable) machines must go
    by then: they are sold in 2026-07, at that month's hashprice on each path."""
    from solvers.optimize import optimize
    from solvers.settings import OptimizerSettings

    d = base_dict(horizon_months=12)
    d["fleet"][0].update(power_w=2000)
    d["sites"][0].update(capacity_mw=2, ai={"convertible_gross_mw": 1.34, "lead_time_months": 3})
    d["conversion_plan"] = [{"site": "A", "gross_mw": 1.34, "start_month": "2026-07"}]
    d["finance"].update(tax_mode="linear", tax_rate_pct=21, discount_rate_pct=12, asic_residual_value="market")
    d["monte_carlo"] = {"volatility_pct_per_year": 60.0}
    sc = scenario_from_dict(d)
    st = OptimizerSettings(n_paths=12, seed=4, allow_purchases=False, hall_critical_mw=None)
    res = optimize(sc, st)
    assert res.ok
    assert res.retirements[["month", "units"]].values.tolist() == [["2026-07", 670.0]]
    eng = run_engine(res.plan_scenario, n_paths=12, seed=4)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-9)
    sold = eng.salvage_usd[:, 6, :].sum(axis=1)                          # [path]
    assert eng.salvage_usd.sum() == pytest.approx(sold.sum(), rel=1e-12)
    assert res.retirements.salvage_usd.sum() == pytest.approx(sold.mean(), rel=1e-9)
    assert sold.std() > 0.1 * sold.mean()                                # it follows each path's hashprice
