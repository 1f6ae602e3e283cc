"""The status quo on the plan's own paths (issue 12, item 3: `baseline`, `incremental_expected_npv_usd`)."""

from __future__ import annotations

import json

import pytest

from minerplan.cli.main import main
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import scenario_from_dict
from solvers.baseline import compare
from solvers.optimize import optimize
from solvers.settings import OptimizerSettings
from tests.builders import HP_BTC_PER_TH_DAY, PRICE, base_dict


def test_with_nothing_to_decide_the_plan_is_the_status_quo():
    sc = scenario_from_dict(base_dict(horizon_months=12, monte_carlo={"volatility_pct_per_year": 40.0}), "t")
    st = OptimizerSettings(n_paths=15, seed=2, allow_purchases=False, allow_retirements=False)
    res = optimize(sc, st)
    b = compare(sc, res, st)
    # hand: the status quo is the scenario itself on the same 15 paths
    assert b.expected_npv_usd == pytest.approx(run_engine(sc, n_paths=15, seed=2).npv_usd.mean(), rel=1e-12)
    assert b.incremental_expected_npv_usd == pytest.approx(0.0, abs=1e-6 * abs(b.expected_npv_usd))
    assert not b.worse_than_status_quo


def test_a_retirement_that_pays_is_worth_its_saving_over_the_status_quo():
    # One site, power at $120/MWh: the machines (30 J/TH) never pay for their power at $91,500
    # (hashprice $0.038 per TH-day against $0.086 of power), so they sit curtailed, but the site pays
    # $10,000 per MW-month of fixed opex on their 3 MW. Retiring them at the start (no tax, no
    # discounting) saves 6 months x 3 MW x $10,000 = $180,000 over doing nothing, and sells them at
    # the start at the used-ASIC market price: 663 days of margin at a buyer's $0.05/kWh,
    # 663 x (0.0380848 - 0.05 x 0.024 x 30) = $1.382 per TH/s.
    d = base_dict(horizon_months=6)
    d["sites"][0].update(power_price_usd_per_mwh=120, mining_opex_usd_per_mw_month=10_000)
    sc = scenario_from_dict(d, "t")
    st = OptimizerSettings(n_paths=1, seed=0, allow_purchases=False)
    res = optimize(sc, st)
    b = compare(sc, res, st)
    salvage = 1000 * 100 * 663.0 * (PRICE * HP_BTC_PER_TH_DAY - 0.05 * 0.024 * 30)   # $138,224
    assert res.retirements[["month", "units"]].values.tolist() == [["2026-01", 1000.0]]
    assert res.retirements["salvage_usd"].sum() == pytest.approx(salvage, rel=1e-9)
    assert b.expected_npv_usd == pytest.approx(-180_000.0)
    assert b.incremental_expected_npv_usd == pytest.approx(180_000.0 + salvage)
    assert not b.worse_than_status_quo


def test_cli_reports_the_baseline(capsys):
    assert main(["optimize", "default", "--paths", "8", "--replications", "0", "--oos-paths", "0", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["incremental_expected_npv_usd"] == pytest.approx(doc["expected_npv_usd"]
                                                                - doc["baseline"]["expected_npv_usd"])
    assert doc["incremental_expected_npv_usd"] >= -doc["mip_gap"] * abs(doc["objective_usd"])
    assert doc["worse_than_status_quo"] is False
    # the shipped scenario is solved by the decomposition, which says how it ran
    assert doc["decomposition"]["method"] == "L-shaped (multi-cut)" and doc["decomposition"]["cuts"] > 0
