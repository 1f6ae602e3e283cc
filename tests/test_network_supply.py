"""The supply network model (the default): entry when hashprice pays for new machines, switch-off when it does not."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from minerplan.cli.main import main
from minerplan.engine.evaluate import run_engine
from minerplan.engine.network import hashrate_hs_from_difficulty
from minerplan.markets.network_backtest import (DIFFICULTY_CSV, PRICES_CSV, HistoryError, load_history, load_shocks,
                                        run_backtest)
from minerplan.markets.network_supply import (DEFAULT_SUPPLY, FRONTIER, entry_ratio, frontier_j_per_th,
                                      installed_base_tiers, order_share, simulate_supply_network)
from minerplan.scenario.market import NetworkSupply
from minerplan.scenario.files import load_scenario, scenario_from_dict

START = dict(start_month="2025-12", difficulty=149.3e12, block_height=925_941, fees_btc_per_block=0.02,
             pool_fee_pct=1.5)


def _run(prices, **kw):
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    args = {**START, **kw}
    return simulate_supply_network(horizon_months=prices.shape[1], prices_usd=prices, **args)


def test_default_network_at_a_flat_price_ends_in_a_sane_band():
    """Issue 10 proof: at a flat $91.5k the default network ends the 60-month horizon with hashprice between
    ~$15 and ~$45 per PH/s per day and hashrate under 1.6x the start (the old trend model reached ~1,970 EH/s
    and ~$10.7/PH/day)."""
    sc = load_scenario("default")
    assert sc.market.network_model == "supply" and sc.price_path.kind == "flat"
    assert sc.market.btc_price_usd == 91_500 and sc.horizon_months == 60
    res = run_engine(sc)
    hp_end = res.hashprice_usd_per_th_day[0, -1] * 1000.0
    start_ehs = sc.market.online_hashrate_ehs
    end_ehs = res.network.network_hashrate_ehs[0, -1]
    assert 15.0 <= hp_end <= 45.0, hp_end
    assert end_ehs < 1.6 * start_ehs, (end_ehs, start_ehs)
    # ... and hashprice stays above the cash cost of the best machines on cheap power throughout
    # (13.5 J/TH at $0.035/kWh: 0.024 x 13.5 x 0.035 = $11.3 per PH/s per day).
    assert (res.hashprice_usd_per_th_day[0] * 1000.0).min() > 0.024 * 13.5 * 0.035 * 1000


def test_a_doubling_price_roughly_doubles_difficulty_as_in_2023():
    """2023: BTC doubled (~$16.5k -> ~$42k) and difficulty roughly doubled (37.6T -> 73T). Replayed from
    2023-01 on the realized prices, the model's December 2023 difficulty is 1.5-2.5x its January value."""
    res = run_backtest(load_history(), "2023-01", "2023-12", replace(DEFAULT_SUPPLY, shocks=load_shocks()))
    growth = res.predicted_difficulty[-1] / res.predicted_difficulty[0]
    realized = res.realized_difficulty[-1] / res.realized_difficulty[0]
    assert 1.75 < realized < 2.0                      # the shipped history: 36.1T -> 68.8T (monthly means)
    assert 1.5 < growth < 2.5, growth


def test_a_price_collapse_shrinks_the_network_and_a_rally_grows_it():
    flat = _run([[91_500] * 24])                    # two years: before the 2028 halving
    low = _run([[91_500] + [45_000] * 23])
    high = _run([[91_500] + [180_000] * 23])
    assert low.hashrate_hs[0, -1] < 0.8 * flat.hashrate_hs[0, -1]
    assert high.hashrate_hs[0, -1] > 1.3 * flat.hashrate_hs[0, -1]
    # Miners switch off within weeks; difficulty follows at the next retargets and gives the survivors'
    # hashprice part of the shock back.
    assert low.hashrate_hs[0, 1] < 0.75 * flat.hashrate_hs[0, 1]
    hp = low.hashprice_btc_per_th_day[0] * 45_000 * 1000
    assert hp[2] > 1.05 * hp[1]


def test_entry_ratio_and_order_share_by_hand():
    p = DEFAULT_SUPPLY
    # hashprice $40/PH/day = 0.04 USD per TH/s per day; a 14 J/TH machine at $0.045/kWh costs 0.024 x 14 x 0.045
    # = 0.01512 USD per TH/s per day to run and 14 x 1.58 = 22.12 USD per TH/s to buy; over 24 average months
    # (730.5 days) it earns (0.04 - 0.01512) x 730.5 = 18.175 USD: ratio 0.8217.
    r = entry_ratio(0.04, 14.0, p)
    assert r == pytest.approx((0.04 - 0.024 * 14 * 0.045) * 24 * 365.25 / 12 / (14 * 1.58), rel=1e-12)
    assert r == pytest.approx(0.8217, abs=1e-4)
    # At the midpoint (ratio 1) orders run at half the ceiling (2 x 5.3% of the installed base a month).
    assert order_share(1.0, p) == pytest.approx(0.5 * 2 * 0.053)
    assert order_share(-0.5, p) == 0.0
    assert order_share(100.0, p) == pytest.approx(2 * 0.053 / (1 + 100 ** (-1 / 0.52)), rel=1e-12)


def test_frontier_follows_the_published_generations_then_improves_10_pct_a_year():
    for month, j in FRONTIER:
        assert frontier_j_per_th(month)[0] == pytest.approx(j)
    assert frontier_j_per_th("2025-03")[0] == pytest.approx(13.5)             # Antminer S21 XP
    last_month, last_j = FRONTIER[-1]
    assert frontier_j_per_th("2026-10")[0] == pytest.approx(last_j * 0.9)    # a year after the last point
    mid = frontier_j_per_th("2023-06")[0]
    assert 17.5 < mid < 21.5


def test_installed_base_of_late_2025_spans_the_generations_in_use():
    tiers = installed_base_tiers("2025-11")
    share = np.array([t.share_pct for t in tiers])
    eff = np.array([t.efficiency_j_per_th for t in tiers])
    assert share.sum() == pytest.approx(100.0)
    mean_eff = float(np.average(eff, weights=share))
    assert 17.0 < mean_eff < 26.0          # S21-class new machines with S19-class ones still running
    assert eff.min() < 16.0 and eff.max() > 40.0


def test_start_hashrate_below_what_difficulty_implies_slows_blocks_and_lowers_the_next_retarget():
    implied_ehs = float(hashrate_hs_from_difficulty(149.3e12)) / 1e18
    prices = [[91_500] * 2]
    no_pipe = replace(DEFAULT_SUPPLY, pipeline_growth_pct_per_month=0.0, attrition_pct_per_month=0.0)
    below = _run(prices, hashrate_ehs=implied_ehs * 0.9, params=no_pipe)
    at = _run(prices, hashrate_ehs=implied_ehs, params=no_pipe)
    # 597 blocks into the epoch at the start: 1,419 blocks to the retarget at ~130 a day, then 144 a day.
    assert below.blocks[0, 0] / below.days[0, 0] < 144 * 0.98
    assert at.blocks[0, 0] / at.days[0, 0] == pytest.approx(144, rel=0.01)
    assert below.difficulty[0, 1] < 0.95 * 149.3e12
    assert at.difficulty[0, 1] == pytest.approx(149.3e12, rel=0.01)


def test_scenario_defaults_match_the_model_defaults():
    ns = NetworkSupply()
    for name, value in ns.model_dump().items():
        if name == "installed_base":
            assert value is None and DEFAULT_SUPPLY.tiers is None
            continue
        assert getattr(DEFAULT_SUPPLY, name) == value, name


def test_network_model_choice_and_old_capitulation_files():
    sc = load_scenario("default")
    data = sc.model_dump(mode="json", exclude_none=True)
    trend = json.loads(json.dumps(data))
    trend["market"]["network_model"] = "trend"
    t = run_engine(scenario_from_dict(trend))
    s = run_engine(sc)
    assert t.network.hashrate_hs.shape[0] == 1 and s.network.hashrate_hs.shape[0] == 1
    assert not np.allclose(t.network.hashrate_hs, s.network.hashrate_hs)
    old = json.loads(json.dumps(data))
    old["market"].pop("network_model")
    old["market"]["hashrate_response"] = {}
    assert scenario_from_dict(old).market.network_model == "capitulation"   # files written before issue 10


# --------------------------------------------------------------------------- the shipped history

def test_shipped_history_matches_published_figures():
    h = load_history()
    # Luxor's November 2025 lookback: average difficulty 153.33T.
    assert h.difficulty["2025-11"] == pytest.approx(153.33e12, rel=0.002)
    # Block 840,000 (the fourth halving) was mined on 2024-04-20; 630,000 (the third) on 2020-05-11.
    assert 836_000 < h.block_height["2024-04"] < 840_000 < h.block_height["2024-05"]
    assert 625_000 < h.block_height["2020-05"] < 630_000 < h.block_height["2020-06"]
    # 2023: difficulty roughly doubled from ~37.6T (the shipped monthly means: 36.1T in January, 68.8T in December).
    assert h.difficulty["2023-01"] == pytest.approx(36.1e12, rel=0.01)
    assert h.difficulty["2023-12"] == pytest.approx(68.8e12, rel=0.01)
    assert set(h.fees_btc_per_block) == set(h.difficulty)
    assert len(h.difficulty) == 84     # 2019-01 .. 2025-12


def test_monthly_difficulty_is_the_block_weighted_mean_of_the_daily_file():
    import csv

    daily = list(csv.DictReader(open(PRICES_CSV, encoding="utf-8")))
    by_month: dict[str, list[tuple[float, float]]] = {}
    for row in daily:
        by_month.setdefault(row["date"][:7], []).append((float(row["blocks"]), float(row["difficulty"])))
    monthly = {r["date"]: float(r["difficulty"]) for r in csv.DictReader(open(DIFFICULTY_CSV, encoding="utf-8"))}
    for month, rows in by_month.items():
        b = np.array(rows)
        assert monthly[month] == pytest.approx((b[:, 0] * b[:, 1]).sum() / b[:, 0].sum(), rel=1e-6), month


def test_backtest_error_in_and_out_of_sample_stays_where_the_readme_says():
    """Regression guard on the README's table (shipped defaults; open loop from the start month)."""
    h = load_history()
    p = replace(DEFAULT_SUPPLY, shocks=load_shocks())
    assert run_backtest(h, "2023-01", "2025-11", p).mape_pct < 12.0
    assert run_backtest(h, "2019-07", "2022-12", p).mape_pct < 15.0


# --------------------------------------------------------------------------- the command

def test_backtest_network_json(capsys):
    rc = main(["backtest-network", "--from", "2024-01", "--to", "2024-06", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["month"] for r in doc["months"]] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    row = doc["months"][3]
    assert set(row) >= {"month", "predicted_difficulty", "realized_difficulty"}
    assert row["realized_difficulty"] == pytest.approx(85.64e12, rel=0.01)
    errs = [abs(r["predicted_difficulty"] / r["realized_difficulty"] - 1) for r in doc["months"][1:]]
    assert doc["mape_pct"] == pytest.approx(100 * np.mean(errs), rel=1e-9)


def test_backtest_network_with_user_files_and_missing_months(tmp_path, capsys):
    prices = tmp_path / "p.csv"
    prices.write_text("date,close\n" + "\n".join(f"2024-{m:02d},{60_000 + 1000 * m}" for m in range(1, 13)) + "\n")
    diff = tmp_path / "d.csv"
    diff.write_text("date,difficulty\n2024-01,7.2e13\n2024-03,8.2e13\n")
    rc = main(["backtest-network", "--prices", str(prices), "--difficulty", str(diff), "--from", "2024-01",
               "--to", "2024-06", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["months"][1]["realized_difficulty"] is None          # no realized value for 2024-02
    assert doc["mape_pct"] == pytest.approx(abs(doc["months"][2]["predicted_difficulty"] / 8.2e13 - 1) * 100)
    rc = main(["backtest-network", "--prices", str(prices), "--difficulty", str(diff), "--from", "2023-06",
               "--to", "2024-06"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--prices" in err and "2023-06" in err
    with pytest.raises(SystemExit) as e:
        main(["backtest-network", "--from", "2024-13", "--to", "2024-06"])
    assert e.value.code == 2
    assert "expected a month as YYYY-MM, got '2024-13'" in capsys.readouterr().err


def test_history_file_errors_name_the_row(tmp_path):
    bad = tmp_path / "d.csv"
    bad.write_text("date,difficulty\n2024-01,7.2e13\n2024-02,lots\n")
    with pytest.raises(HistoryError) as e:
        load_history(PRICES_CSV, bad, None)
    assert "d.csv row 3, column difficulty" in str(e.value)


def test_supply_network_is_vectorized_over_paths():
    rng = np.random.default_rng(3)
    prices = 91_500 * np.exp(np.cumsum(rng.normal(0, 0.1, (50, 24)), axis=1))
    many = _run(prices)
    one = _run(prices[7:8])
    for field in ("difficulty", "hashrate_hs", "blocks", "subsidy_btc"):
        assert np.allclose(getattr(many, field)[7], getattr(one, field)[0], rtol=1e-12), field
    assert math.isfinite(float(many.difficulty.sum()))


def test_npv_has_no_jumps_as_the_price_moves():
    """Retargets and halvings are applied at the exact block inside a step, so one landing at a step's end
    and one at the next step's start give the same network: NPV moves smoothly with the price (a jump here
    once broke the breakeven solver). 2,001 flat prices from $40k to $130k on the default scenario."""
    from minerplan.markets.prices import deterministic_path

    sc = load_scenario("default")
    path = deterministic_path(sc)
    xs = np.linspace(40_000, 130_000, 2001)
    npv = run_engine(sc, prices=path[None, :] * (xs / path[0])[:, None]).npv_usd
    steps = np.abs(np.diff(npv))
    assert steps.max() < 3.0 * np.median(steps), (steps.max(), np.median(steps), xs[np.argmax(steps)])
