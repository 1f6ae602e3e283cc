"""Salvage at retirement follows the used-ASIC price index (issue 12, item 3), never a constant.

A row retired in month t sells its units in month t at: units x the TH/s a unit makes then x the index's
price per TH/s for its efficiency tier (its J/TH against the frontier of month t) x month t's hashprice
on the path / the index's hashprice ($0.03982 per TH/s per day), x salvage_usd / (the same value of a
unit in the first month) when the row has a quote. Tier prices: minerplan/valuation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from minerplan.engine import run_engine
from minerplan.network_supply import frontier_j_per_th
from minerplan.scenario_io import load_scenario, scenario_from_dict
from minerplan.valuation import ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY
from tests.builders import HP_BTC_PER_TH_DAY, PRICE, base_dict

HP_USD = PRICE * HP_BTC_PER_TH_DAY      # $0.0380848 per TH/s per day: 144 blocks a day, 3.145 BTC each


def one_row(retire_month: str | None = "2026-07", horizon: int = 12, **row) -> dict:
    """1,000 machines of 100 TH/s at 3,000 W (30 J/TH), no degradation, on the reference market."""
    d = base_dict(horizon_months=horizon)
    d["fleet"][0].update(retire_month=retire_month, **row)
    return d


def test_one_retirement_by_hand():
    sc = scenario_from_dict(one_row())
    res = run_engine(sc)
    t = sc.months.index("2026-07")
    # The frontier in 2026-07: 12.8 J/TH in 2025-10 (Avalon A16XP), 10%/yr better after: 12.8 x 0.9^(9/12).
    frontier = 12.8 * 0.9 ** (9 / 12)                                    # 11.83 J/TH
    assert frontier_j_per_th("2026-07")[0] == pytest.approx(frontier, rel=1e-12)
    assert 25 / 13.5 < 30 / frontier <= 38 / 13.5                      # 2.54x: the 25-38 J/TH tier, $3.50/TH
    want = 1000 * 100 * 3.5 * HP_USD / 0.03982                           # $334,748.64
    assert want == pytest.approx(334_748.64, abs=0.01)
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
    assert sale[1] == pytest.approx(sale[0] / 2, rel=1e-12)          # same tier: the price moves with hashprice
    np.testing.assert_allclose(sale / hp, 1000 * 100 * 3.5 / ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, rtol=1e-12)
    # ... and on Monte Carlo paths, path by path.
    mc = run_engine(sc, n_paths=40, seed=3)
    np.testing.assert_allclose(mc.salvage_usd[:, t, 0] / mc.hashprice_usd_per_th_day[:, t],
                               1000 * 100 * 3.5 / ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, rtol=1e-12)
    assert mc.salvage_usd[:, t, 0].std() > 0


def test_an_older_machine_sells_for_less():
    """Obsolescence: the same machine sold later is judged against a better frontier and drops tiers;
    wear: it sells for the TH/s it still makes."""
    def sale(month: str, horizon: int = 12, **row) -> tuple[float, float]:
        res = run_engine(scenario_from_dict(one_row(month, horizon=horizon, hashrate_ths=200, power_w=3500, **row)))
        t = res.scenario.months.index(month)
        return float(res.salvage_usd[0, t, 0]), float(res.hashprice_usd_per_th_day[0, t])

    # 17.5 J/TH (an S21): 1.40x the frontier in 2026-01 (under 19/13.5 = 1.41: $15/TH), 1.42x in 2026-02
    # ($6.50/TH), 2.24x in 2030-06 ($3.50/TH, and after the 2028 halving).
    assert 17.5 / frontier_j_per_th("2026-01")[0] <= 19 / 13.5 < 17.5 / frontier_j_per_th("2026-02")[0]
    assert 25 / 13.5 < 17.5 / frontier_j_per_th("2030-06")[0] <= 38 / 13.5
    first, hp1 = sale("2026-01")
    second, hp2 = sale("2026-02")
    last, hp3 = sale("2030-06", horizon=60)
    assert (hp1, hp2) == (pytest.approx(HP_USD, rel=1e-12), pytest.approx(HP_USD, rel=1e-12))
    assert first == pytest.approx(1000 * 200 * 15.0 * HP_USD / 0.03982, rel=1e-12)
    assert second == pytest.approx(1000 * 200 * 6.5 * HP_USD / 0.03982, rel=1e-12)
    assert hp3 < 0.6 * HP_USD                                           # the subsidy halved in 2028
    assert last == pytest.approx(1000 * 200 * 3.5 * hp3 / 0.03982, rel=1e-12)
    assert first > second > last > 0
    worn = run_engine(scenario_from_dict(one_row(degradation_pct_per_year=5.0, age_months=12)))
    ths = 100 * 0.95 ** ((12 + 6) / 12)                                  # 18 months old in 2026-07: 92.6 TH/s
    assert 25 / 13.5 < 3000 / ths / frontier_j_per_th("2026-07")[0] <= 38 / 13.5     # 32.4 J/TH: still $3.50
    assert worn.salvage_usd[0, 6, 0] == pytest.approx(1000 * ths * 3.5 * HP_USD / 0.03982, rel=1e-12)


def test_a_quote_is_honoured_at_the_start_and_follows_the_index_after():
    # Sold in the start month at the quote, whatever the path's hashprice then.
    start = scenario_from_dict(one_row("2026-01", salvage_usd=500.0))
    res = run_engine(start, prices=np.array([np.full(12, PRICE), np.full(12, PRICE / 3)]))
    np.testing.assert_allclose(res.salvage_usd[:, 0, 0], 1000 * 500.0, rtol=1e-12)
    # Sold in 2026-07 after BTC halved: the quote x the index's move (same tier, half the hashprice).
    later = scenario_from_dict(one_row("2026-07", salvage_usd=500.0))
    prices = np.full(12, PRICE)
    prices[3:] = PRICE / 2
    res = run_engine(later, prices=prices[None, :])
    assert res.salvage_usd[0, 6, 0] == pytest.approx(1000 * 500.0 / 2, rel=1e-12)
    # Without a quote (0, as older files have it) the index alone: never $0.
    plain = run_engine(scenario_from_dict(one_row("2026-07", salvage_usd=0.0)), prices=prices[None, :])
    assert plain.salvage_usd[0, 6, 0] == pytest.approx(1000 * 100 * 3.5 * HP_USD / 2 / 0.03982, rel=1e-12)


def test_retired_in_the_start_month_sells_and_writes_off_the_book_value():
    d = one_row("2026-01", purchase_price_usd=3000.0, age_months=12, useful_life_months=36)
    res = run_engine(scenario_from_dict(d))
    assert res.salvage_usd[0, 0, 0] == pytest.approx(1000 * 100 * 3.5 * HP_USD / 0.03982, rel=1e-12)
    assert res.asic_depreciation_usd[0, 0] == pytest.approx(1000 * 3000.0 * (1 - 12 / 36), rel=1e-12)


def test_the_residual_follows_the_quote_too_and_salvage_mode_is_market():
    d = one_row(None, salvage_usd=500.0)
    d["finance"]["asic_residual_value"] = "market"
    market = run_engine(scenario_from_dict(d))
    d["finance"]["asic_residual_value"] = "salvage"
    salvage = run_engine(scenario_from_dict(d))
    # Flat market, no degradation, the same tier at the end as at the start: worth the quote at the end.
    assert 30 / frontier_j_per_th("2027-01")[0] <= 38 / 13.5
    assert market.terminal_value_usd[0] == pytest.approx(1000 * 500.0, rel=1e-12)
    assert salvage.npv_usd[0] == market.npv_usd[0]


def test_s21s_retired_in_2028_sell_for_a_clearly_positive_price():
    """Issue 12: '14,000 S21s scrapped in 2028 for $0'. On the shipped scenario's entered path they now sell
    at the index: 17.5 J/TH, two years older, against the 2028 frontier, at that month's hashprice."""
    d = load_scenario("default").model_dump(mode="json", exclude_none=True)
    assert d["fleet"][5]["model"] == "Antminer S21" and d["fleet"][5]["count"] == 14_000
    d["fleet"][5]["retire_month"] = "2028-06"
    sc = scenario_from_dict(d)
    res = run_engine(sc)
    t = sc.months.index("2028-06")
    sale = res.salvage_usd[0, t].sum()
    ths = 200 * 0.98 ** ((18 + t) / 12)                                  # 18 months old at the start
    ratio = 3500 / ths / frontier_j_per_th("2028-06")[0]
    assert 25 / 13.5 < ratio <= 38 / 13.5                                # 1.96x the frontier: $3.50/TH
    want = 14_000 * ths * 3.5 * res.hashprice_usd_per_th_day[0, t] / 0.03982
    assert sale == pytest.approx(want, rel=1e-12)
    assert sale > 3e6 and sale / 14_000 > 200                           # ~$280 a machine after the halving


def test_optimizer_retirement_proceeds_are_the_engines():
    """The optimizer's retirement coefficients come from the engine's salvage: the plan's value equals the
    engine's on every path, and the retirement table's salvage is the engine's mean over the paths.

    A signed conversion takes 2 of the site's 3 MW in 2026-07, so 2/3 of the (profitable) machines must go
    by then: they are sold in 2026-07, at that month's hashprice on each path."""
    from solvers.optimize import optimize
    from solvers.settings import OptimizerSettings

    d = base_dict(horizon_months=12)
    d["sites"][0].update(capacity_mw=3, ai={"convertible_gross_mw": 2, "lead_time_months": 3})
    d["conversion_plan"] = [{"site": "A", "gross_mw": 2, "start_month": "2026-07"}]
    d["finance"].update(tax_mode="linear", tax_rate_pct=21, discount_rate_pct=12, asic_residual_value="market")
    d["monte_carlo"] = {"volatility_pct_per_year": 60.0}
    sc = scenario_from_dict(d)
    st = OptimizerSettings(n_paths=12, seed=4, allow_purchases=False, hall_critical_mw=None)
    res = optimize(sc, st)
    assert res.ok
    assert res.retirements[["month", "units"]].values.tolist() == [["2026-07", 667.0]]
    eng = run_engine(res.plan_scenario, n_paths=12, seed=4)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-9)
    sold = eng.salvage_usd[:, 6, :].sum(axis=1)                          # [path]
    assert eng.salvage_usd.sum() == pytest.approx(sold.sum(), rel=1e-12)
    assert res.retirements.salvage_usd.sum() == pytest.approx(sold.mean(), rel=1e-9)
    assert sold.std() > 0.1 * sold.mean()                                # it follows each path's hashprice
