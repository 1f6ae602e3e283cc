"""Confidence on every plan (issue 12, item 2): out-of-sample value, SAA gap, stability of decisions."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from minerplan.cli.main import main
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, scenario_from_dict
from solvers.confidence import (OUT_OF_SAMPLE_SEED, REPLICATION_SEED, assess_plan, decision_keys, describe,
                                objective_usd, stability_table)
from solvers.optimize import optimize
from solvers.settings import OptimizerSettings
from tests.builders import base_dict


def _status_quo_only():
    """One site, no AI, nothing to buy or retire: the only plan is the status quo, on every sample."""
    return scenario_from_dict(base_dict(horizon_months=12, monte_carlo={"volatility_pct_per_year": 40.0}), "t")


def test_with_one_possible_plan_the_gap_is_zero_and_nothing_varies():
    sc = _status_quo_only()
    st = OptimizerSettings(n_paths=20, seed=3, allow_purchases=False, allow_retirements=False)
    res = optimize(sc, st)
    assert res.ok
    conf = assess_plan(sc, res, st, out_of_sample_paths=500, replications=3)
    # Every re-solve finds the same (only) plan, so v_m = f_m on each sample: the gap is 0 exactly
    # up to solver tolerance, and there are no decisions to be unstable about.
    assert conf.replications == 3 and conf.failed_replications == 0
    assert conf.gap_usd == pytest.approx(0.0, abs=1e-6 * abs(np.mean(conf.plan_values_usd)))
    assert conf.stability.empty
    # The out-of-sample value is the engine's mean on the fresh paths, with a t-interval (by hand).
    eng = run_engine(res.plan_scenario, n_paths=500, seed=st.seed + OUT_OF_SAMPLE_SEED)
    npv = eng.npv_usd
    half = stats.t.ppf(0.975, 499) * npv.std(ddof=1) / math.sqrt(500)
    assert conf.out_of_sample_npv_usd == pytest.approx(npv.mean(), rel=1e-12)
    assert conf.out_of_sample_ci95_usd == pytest.approx((npv.mean() - half, npv.mean() + half), rel=1e-12)


def test_replications_use_fresh_paths_and_pair_the_plan_on_them():
    sc = load_scenario(DEFAULT_SCENARIO_PATH)
    st = OptimizerSettings(n_paths=12, seed=1)
    res = optimize(sc, st)
    conf = assess_plan(sc, res, st, out_of_sample_paths=0, replications=2)
    assert conf.out_of_sample_npv_usd is None and conf.out_of_sample_paths == 0
    assert conf.replications + conf.failed_replications == 2
    for m, f in enumerate(conf.plan_values_usd):
        mine = run_engine(res.plan_scenario, n_paths=12, seed=1 + REPLICATION_SEED + m)
        assert f == pytest.approx(objective_usd(mine.npv_usd, st), rel=1e-12)
    # each re-solve is optimal on its own sample (to the MIP gap), so it is no worse than our plan there
    for v, f in zip(conf.replication_values_usd, conf.plan_values_usd):
        assert v >= f - st.mip_gap * abs(v) - 1.0
    assert conf.gap_usd == pytest.approx(np.mean(np.subtract(conf.replication_values_usd, conf.plan_values_usd)))
    assert set(conf.stability.columns) == {"decision", "site", "quarter", "model", "in_plan", "share"}
    assert conf.stability.share.between(0, 1).all()
    assert set(conf.stability[conf.stability.in_plan].apply(
        lambda r: (r.decision, r.site, r.quarter, r.model), axis=1)) == decision_keys(res)


def test_objective_includes_the_risk_weight():
    npv = -np.arange(10.0)
    st = OptimizerSettings(risk_aversion=2.0, cvar_level=0.8)
    # mean -4.5; CVaR of the loss at 0.8: mean of the worst 2 losses (9, 8) = 8.5
    assert objective_usd(npv, st) == pytest.approx(-4.5 - 2.0 * 8.5)


def test_stability_shares_and_words():
    plan = {("convert", "North Dakota", "2026-Q1", ""), ("retire", "Georgia", "2026-Q1", "S19")}
    reps = [{("convert", "North Dakota", "2026-Q1", "")}] * 9 + [{("buy", "Texas", "2026-Q2", "S21 XP")}]
    t = stability_table(plan, reps)
    share = {(r.decision, r.site): r.share for r in t.itertuples()}
    assert share == {("convert", "North Dakota"): 0.9, ("retire", "Georgia"): 0.0, ("buy", "Texas"): 0.1}
    assert list(t.in_plan) == [True, True, False]            # the plan's own decisions first

    class Conf:
        out_of_sample_npv_usd = 210.1e6
        out_of_sample_ci95_usd = (208.6e6, 211.6e6)
        out_of_sample_paths = 10_000
        gap_usd = 0.3e6
        gap_ci95_usd = (-0.05e6, 0.6e6)
        replications = 10
        failed_replications = 0
        stability = t

    class Res:
        expected_npv_usd = 208.5e6
        settings = OptimizerSettings(n_paths=60)

    words = describe(Conf, Res)
    assert words[0].startswith("This plan is worth $210.1M ± $1.5M (expected NPV, mean of 10,000 fresh price paths")
    assert "on its own 60 paths it looked like $208.5M" in words[0]
    assert "95% CI -$0.1M to $0.6M" in words[1]
    assert "9 of 10 re-solves convert North Dakota in 2026-Q1." in words
    assert "0 of 10 re-solves retire S19 at Georgia in 2026-Q1." in words


def test_cli_json_has_the_confidence_sections(capsys):
    assert main(["optimize", "default", "--paths", "10", "--replications", "2", "--oos-paths", "300", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["out_of_sample"]["paths"] == 300 and len(doc["out_of_sample"]["ci95_usd"]) == 2
    assert doc["saa_gap"]["replications"] + doc["saa_gap"]["failed_replications"] == 2
    assert isinstance(doc["stability"], list) and doc["confidence"][0].startswith("This plan is worth")
    lo, hi = doc["out_of_sample"]["ci95_usd"]
    assert lo <= doc["out_of_sample"]["expected_npv_usd"] <= hi


def test_assessing_nothing_is_refused():
    sc = _status_quo_only()
    res = optimize(sc, OptimizerSettings(n_paths=5))
    res.plan_scenario = None
    with pytest.raises(ValueError, match="only a plan"):
        assess_plan(sc, res)
