"""The capital-allocation optimizer against hand-solved cases and the engine."""

import json
import subprocess
import sys
from pathlib import Path

import highspy
import numpy as np
import pytest

from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.scenario.files import load_scenario, scenario_from_dict, scenario_to_dict
from solvers.frontier import efficient_frontier
from solvers.optimize import optimize
from solvers.settings import OptimizerSettings
from solvers.valuation import cvar_of_loss
from tests.builders import HP_BTC_PER_TH_DAY as BTC_PER_TH_DAY_REF, base_dict

ROOT = Path(__file__).resolve().parent.parent


def linear_tax_default():
    d = scenario_to_dict(load_scenario("default"))
    d["finance"]["tax_mode"] = "linear"
    return scenario_from_dict(d)


def lease_case(**site_kw):
    """One 30 MW site with 5 MW of old machines at $60/MWh (they never earn) and 20 MW convertible."""
    site = {"name": "A", "capacity_mw": 30, "power_price_usd_per_mwh": 60, "pue": 1.0,
            "ai": {"convertible_gross_mw": 20, "critical_mw_per_gross_mw": 0.7,
                   "conversion_capex_usd_per_critical_mw": 2e6, "lead_time_months": 3,
                   "colocation": {"rate_usd_per_kw_month": 300, "escalator_pct_per_year": 0, "term_months": 12,
                                  "opex_usd_per_kw_month": 10}}}
    site.update(site_kw)
    fleet = [{"model": "Antminer S19j Pro", "count": 1630, "hashrate_ths": 104, "power_w": 3068, "site": "A",
              "uptime_pct": 100, "degradation_pct_per_year": 0}]
    d = base_dict(horizon_months=24, sites=[site], fleet=fleet)
    d["finance"].update(discount_rate_pct=10, tax_rate_pct=0, tax_mode="linear")
    return scenario_from_dict(d)


def settings(**kw):
    base = dict(n_paths=20, seed=3, hall_critical_mw=None, allow_purchases=False, time_limit_s=30)
    base.update(kw)
    return OptimizerSettings(**base)


@pytest.mark.parametrize("hall", [None, 10.0])
def test_plan_round_trips_through_the_engine(hall):
    sc = linear_tax_default()
    st = OptimizerSettings(n_paths=60, seed=5, hall_critical_mw=hall, risk_aversion=0.3)
    res = optimize(sc, st)
    assert res.status == "optimal"
    eng = run_engine(res.plan_scenario, n_paths=60, seed=5)
    assert eng.npv_usd.mean() == pytest.approx(res.expected_npv_usd, rel=1e-6)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-6, atol=1e-3)
    # every installed machine fits its site in the plan
    assert eng.fleet.placed_fraction[eng.fleet.active].min() == pytest.approx(1.0)


def test_lease_that_beats_mining_gets_the_convertible_mw_after_the_lead_time():
    res = optimize(lease_case(), settings())
    conv = res.conversions
    assert len(conv) == 1
    row = conv.iloc[0]
    assert row.gross_mw == pytest.approx(20.0)
    assert row.start_month == "2026-01" and row.ready_month == "2026-04"
    alloc = res.allocation.set_index(["site", "month"])
    assert alloc.loc[("A", "2026-06"), "ai_mw"] == pytest.approx(20.0)


def test_zero_budget_converts_nothing():
    res = optimize(lease_case(), settings(capex_budget_usd_per_year=0.0))
    assert res.status == "optimal"
    assert len(res.conversions) == 0
    assert len(res.purchases) == 0


def test_high_btc_price_keeps_mining():
    site = {"name": "A", "capacity_mw": 12, "power_price_usd_per_mwh": 20, "pue": 1.0,
            "ai": {"convertible_gross_mw": 10, "lead_time_months": 3}}
    fleet = [{"model": "Antminer S21 XP", "count": 3000, "hashrate_ths": 270, "power_w": 3645, "site": "A",
              "uptime_pct": 100, "degradation_pct_per_year": 0}]
    # 24 months, before the 2028 halving: past it, at $400k the machines would rather be sold at the used
    # market's pre-halving price (the index follows the month's hashprice) than mine at half the subsidy.
    d = base_dict(horizon_months=24, sites=[site], fleet=fleet)
    d["market"]["btc_price_usd"] = 400_000
    # Machines kept to the end are worth their used-market price then, like machines sold before it
    # (with no value at the end, selling before the horizon ends would always win).
    d["finance"].update(tax_mode="linear", asic_residual_value="market")
    res = optimize(scenario_from_dict(d), settings(n_paths=1))
    assert len(res.conversions) == 0
    assert len(res.retirements) == 0


def test_binding_site_cap_shadow_price_is_the_marginal_margin_per_mw():
    # 1 month, 12 MW of 3 kW machines on a 10 MW site: 2 MW must go. One more MW keeps
    # 333.3 machines running, each earning 100 TH/s x 31 days x 4.162277e-7 BTC x $91,500
    # = $118.063 for 2.232 MWh x $40 = $89.28 of power: $28.783 x 333.33 = $9,594.4 per MW.
    fleet = [{"model": "X", "count": 4000, "hashrate_ths": 100, "power_w": 3000, "site": "A", "uptime_pct": 100,
              "degradation_pct_per_year": 0}]
    d = base_dict(sites=[{"name": "A", "capacity_mw": 12, "power_price_usd_per_mwh": 40, "pue": 1.0}], fleet=fleet)
    # A machine kept is worth its used-market price at the end, the price it sells for at the start (same
    # tier, same hashprice): a sale is worth no more than keeping it, so only the 2 MW over capacity go.
    d["finance"].update(tax_mode="linear", asic_residual_value="market")
    sc = scenario_from_dict(d)
    sc = sc.model_copy(update={"sites": [sc.sites[0].model_copy(update={"capacity_mw": 10.0})]})
    res = optimize(sc, settings(n_paths=1))
    margin_per_unit = 100 * 31 * BTC_PER_TH_DAY_REF * 91_500 - 3 * 0.744 * 40
    sp = res.shadow_prices.set_index(["kind", "name"]).value_usd
    assert sp[("site_capacity", "A")] == pytest.approx(margin_per_unit * 1000 / 3, rel=1e-6)
    # 2 MW over capacity = 666.7 machines; whole machines: 667 sold (rounded up, so the site fits)
    assert res.retirements.units.sum() == 667
    assert res.retirements.mw.sum() == pytest.approx(667 * 3000 / 1e6, rel=1e-9)
    # the 0.33 extra machine sold gives up one third of a month's margin per month left (hand check)
    assert res.rounding_value_usd == pytest.approx(-(667 - 2000 / 3) * margin_per_unit, rel=1e-3)


def test_capacity_duals_are_named_and_signed():
    # The case above: the site's one capacity row is binding; its dual, as a named frame, is the same
    # $9,594 per MW (d objective / d capacity, positive for a binding <= row) as the shadow price.
    fleet = [{"model": "X", "count": 4000, "hashrate_ths": 100, "power_w": 3000, "site": "A", "uptime_pct": 100,
              "degradation_pct_per_year": 0}]
    d = base_dict(sites=[{"name": "A", "capacity_mw": 12, "power_price_usd_per_mwh": 40, "pue": 1.0}], fleet=fleet)
    d["finance"].update(tax_mode="linear", asic_residual_value="market")
    sc = scenario_from_dict(d)
    sc = sc.model_copy(update={"sites": [sc.sites[0].model_copy(update={"capacity_mw": 10.0})]})
    res = optimize(sc, settings(n_paths=1))
    cap = res.duals["capacity"]
    assert list(cap.columns) == ["site", "month", "dual_usd", "relax_usd"]
    assert cap.attrs == {"component": "site power", "unit": "MW", "sense": "<="}
    margin_per_unit = 100 * 31 * BTC_PER_TH_DAY_REF * 91_500 - 3 * 0.744 * 40
    assert (cap.site.tolist(), cap.month.tolist()) == (["A"], [0])
    assert cap.dual_usd.iloc[0] == pytest.approx(margin_per_unit * 1000 / 3, rel=1e-6)
    assert cap.relax_usd.iloc[0] == cap.dual_usd.iloc[0]
    sp = res.shadow_prices.set_index(["kind", "name"]).value_usd
    assert sp[("site_capacity", "A")] == cap.relax_usd.sum()
    # the fleet row may sell all its units: that limit does not bind
    assert res.duals["retire_limit"].relax_usd.tolist() == [0.0]


def test_every_constraint_family_has_named_duals():
    """The extensive form of the shipped scenario with every limit on: one frame per row family, keyed as
    the family names its rows; loosening a limit is never worth less than zero (up to HiGHS's tolerances),
    and a definition (an equality) has no direction to loosen."""
    sc = load_scenario("default")
    st = OptimizerSettings(n_paths=10, seed=2, method="extensive", risk_aversion=0.5,
                           capex_budget_usd_per_year=400e6, max_conversion_mw_per_month=60)
    res = optimize(sc, st)
    assert res.ok
    assert set(res.duals) == {"capacity", "convertible", "crews", "budget", "retire_limit", "move_link",
                              "top_units_0", "top_retired_0", "top_shortfall_0", "tax_due", "tax_monotone",
                              "tax_det_def", "tax_top_def", "cash_floor", "top_cash_def", "cvar", "det_def",
                              "objective_def"}
    keys = {"capacity": ["site", "month"], "budget": ["year"], "cash_floor": ["view", "month"], "cvar": ["path"],
            "top_units_0": ["site", "path", "month", "slot"], "tax_due": ["path", "year"], "crews": ["month"]}
    for name, cols in keys.items():
        assert list(res.duals[name].columns) == cols + ["dual_usd", "relax_usd"], name
    for name, frame in res.duals.items():
        sense = frame.attrs["sense"]
        relax, dual = frame.relax_usd.to_numpy(float), frame.dual_usd.to_numpy(float)
        if sense == "=":
            assert np.isnan(relax).all(), name
            continue
        assert sense in ("<=", ">="), name
        np.testing.assert_array_equal(relax, dual if sense == "<=" else -dual)
        assert relax.min() >= -1e-6 * max(1.0, np.abs(relax).max()), name
    assert res.duals["cash_floor"].attrs["unit"] == "USD"
    assert set(res.duals["cash_floor"].view) == {"expected", "P10 price path"}
    assert sorted(res.duals["budget"].year) == sorted(set(int(m[:4]) for m in sc.months))
    assert res.duals["top_units_0"].site.unique().tolist() == [s.name for s in sc.sites if s.take_or_pay_mwh_per_month > 0]


def test_the_plan_says_which_of_its_rows_are_decisions():
    """The optimizer records its decisions as it writes the plan: the shipped scenario's plan converts,
    retires and moves, and every other row is the scenario as entered."""
    sc = load_scenario("default")
    res = optimize(sc, OptimizerSettings(n_paths=20, seed=1))
    plan, dec = res.plan_scenario, res.decisions
    assert res.ok and dec.conversions and dec.retirements and dec.moves and dec.note == ""
    n0 = len(sc.conversion_plan)
    assert dec.conversions == list(range(n0, len(plan.conversion_plan)))
    assert sorted(plan.conversion_plan[j].gross_mw for j in dec.conversions) == \
        sorted(res.conversions.loc[~res.conversions.committed.astype(bool), "gross_mw"])
    for i in dec.retirements:
        assert plan.fleet[i].retire_month is not None and plan.fleet[i].sale_price_usd is None
    assert sum(plan.fleet[i].count for i in dec.retirements) == pytest.approx(res.retirements.units.sum())
    for away, arrive in dec.moves:
        assert plan.fleet[away].sale_price_usd is not None and plan.fleet[arrive].moved_from == plan.fleet[away].site
        assert plan.fleet[away].count == plan.fleet[arrive].count
    assert sum(plan.fleet[a].count for a, _ in dec.moves) == pytest.approx(res.moves.units.sum())
    assert dec.leaving() == sorted(dec.retirements + [a for a, _ in dec.moves])
    assert dec.arriving() == sorted(dec.purchases + [b for _, b in dec.moves])
    assert dec.count == len(dec.conversions) + len(dec.leaving()) + len(dec.arriving())
    # the rows that are no decision are the scenario's own rows (the units a row keeps)
    def key(c):
        return (c.model, c.site, c.purchase_month, c.retire_month, c.sale_price_usd)
    decided = set(dec.leaving()) | set(dec.arriving())
    assert {key(c) for i, c in enumerate(plan.fleet) if i not in decided} <= {key(c) for c in sc.fleet}


def test_risk_aversion_never_raises_cvar():
    sc = linear_tax_default()
    neutral = optimize(sc, OptimizerSettings(n_paths=80, seed=2, hall_critical_mw=None))
    averse = optimize(sc, OptimizerSettings(n_paths=80, seed=2, hall_critical_mw=None, risk_aversion=2.0))
    assert averse.cvar_usd <= neutral.cvar_usd + 1e-6 * abs(neutral.cvar_usd)
    assert averse.expected_npv_usd <= neutral.expected_npv_usd + 1e-6 * abs(neutral.expected_npv_usd)


def test_frontier_is_monotone():
    sc = linear_tax_default()
    fr = efficient_frontier(sc, OptimizerSettings(n_paths=60, seed=4, hall_critical_mw=None),
                            weights=(0.0, 0.5, 2.0, 8.0))
    assert list(fr.status) == ["optimal"] * 4
    assert np.all(np.diff(fr.expected_npv_usd) <= 1e-6 * abs(fr.expected_npv_usd).max())
    assert np.all(np.diff(fr.cvar_usd) <= 1e-6 * abs(fr.cvar_usd).max())


def test_written_model_resolves_to_the_same_objective(tmp_path):
    sc = linear_tax_default()
    for suffix in (".mps", ".lp"):
        path = tmp_path / f"plan{suffix}"
        res = optimize(sc, OptimizerSettings(n_paths=30, seed=1, hall_critical_mw=None, risk_aversion=0.5),
                       write_model=str(path))
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        # the model is in USD millions; the objective includes the constant expected base NPV; the plan
        # reported is the solver's in whole machines, whose value differs by rounding_value_usd
        assert h.getInfo().objective_function_value * 1e6 == pytest.approx(res.objective_usd - res.rounding_value_usd,
                                                                           rel=1e-6)


def test_infeasible_budget_is_explained_in_business_terms():
    sc = linear_tax_default()  # it has a signed 40 MW conversion whose capex falls in 2026
    res = optimize(sc, settings(capex_budget_usd_per_year=50e6))
    assert res.status == "infeasible"
    assert any("capex budget 2026" in m and "commitments need" in m for m in res.explanation)


def test_progress_and_cancel():
    seen = []
    optimize(lease_case(), settings(), progress=lambda f, s: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        optimize(lease_case(), settings(), cancel=cancel)


def test_cvar_of_loss_hand_calculation():
    # 10 paths, level 0.8: mean loss of the worst 2 paths (losses 9 and 8) = 8.5
    npv = -np.arange(10.0)
    assert cvar_of_loss(npv, 0.8) == pytest.approx(8.5)
    # level 0.85: 1.5 paths: (9 + 0.5 * 8) / 1.5
    assert cvar_of_loss(npv, 0.85) == pytest.approx((9 + 4) / 1.5)


def test_cli_optimize_json():
    out = subprocess.run([sys.executable, "-m", "minerplan.cli.main", "optimize", "default", "--paths", "20", "--json"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for key in ("status", "objective_usd", "expected_npv_usd", "cvar_usd", "mip_gap", "allocation", "conversions",
                "purchases", "retirements", "shadow_prices", "plan_scenario"):
        assert key in doc
    assert {"site", "month", "mining_mw", "ai_mw", "idle_mw"} <= doc["allocation"][0].keys()
    assert {"site", "start_month", "ready_month", "critical_mw", "capex_usd", "business_model"} <= \
        doc["conversions"][0].keys()
    assert doc["plan_scenario"]["schema_version"] == 1


def test_solvers_import_after_pyside6():
    """PySide6's import hook once broke `import pyomo.environ` (a deferred matplotlib import)."""
    code = "import PySide6.QtWidgets\nimport solvers.optimize\nprint('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_optimize_is_not_loaded_by_evaluate():
    code = ("import sys, io, contextlib\nfrom minerplan.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['evaluate', 'default'])\n"
            "sys.exit(1 if 'solvers' in sys.modules or 'pyomo' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_cash_floor_limits_conversion_and_credit_line_relieves_it():
    # Converting 20 MW costs 14 MW critical x $2M = $28M over three months; $5M of cash and a $0 floor
    # cannot fund it all, a $40M credit line can.
    tight = optimize(lease_case(), settings(starting_cash_usd=5e6, min_cash_usd=0.0, liquidity_quantile=None))
    assert tight.status == "optimal"
    assert 0 < tight.conversions.gross_mw.sum() < 20.0 - 1e-6
    assert tight.cash.cash_usd.min() >= -1e-3
    eng = run_engine(tight.plan_scenario, n_paths=20, seed=3)
    assert eng.npv_usd.mean() == pytest.approx(tight.expected_npv_usd, rel=1e-6)
    loose = optimize(lease_case(), settings(starting_cash_usd=5e6, min_cash_usd=0.0, credit_line_usd=40e6,
                                            liquidity_quantile=None))
    assert loose.conversions.gross_mw.sum() == pytest.approx(20.0)
    balance = loose.cash.cash_usd + loose.cash.credit_usd
    assert balance.min() >= -1e-3 and loose.cash.credit_usd.max() > 0


def test_cash_floor_explained_when_commitments_break_it():
    sc = linear_tax_default()
    res = optimize(sc, settings(starting_cash_usd=0.0, min_cash_usd=100e6, liquidity_quantile=None))
    assert res.status == "infeasible"
    assert any("cash floor" in m for m in res.explanation)


def test_fixed_decisions_are_honoured(tmp_path):
    from solvers.settings import FixedDecision, load_fixed_decisions
    fix = (FixedDecision(kind="convert", site="A", month="2026-03", value=5.0, business_model="colocation"),)
    res = optimize(lease_case(), settings(fixed=fix))
    row = res.conversions[res.conversions.start_month == "2026-03"]
    assert row.gross_mw.sum() == pytest.approx(5.0)
    f = tmp_path / "fix.json"
    f.write_text(json.dumps([{"kind": "convert", "site": "A", "month": "2026-03", "value": 5}]))
    assert load_fixed_decisions(str(f))[0].value == 5.0
    f.write_text(json.dumps([{"kind": "sell", "month": "2026-03", "value": 5}]))
    from minerplan.scenario.errors import ScenarioError
    with pytest.raises(ScenarioError, match=r"\[0\]\.kind"):
        load_fixed_decisions(str(f))
    with pytest.raises(ScenarioError, match="no convert option"):
        optimize(lease_case(), settings(fixed=(FixedDecision(kind="convert", site="Nowhere", month="2026-03",
                                                             value=5.0),)))


def test_cli_optimize_bad_settings_exit_2():
    for args in (["--cvar-level", "1.5"], ["--paths", "0"], ["--risk-aversion", "-1"], ["--fix", "/nonexistent.json"]):
        out = subprocess.run([sys.executable, "-m", "minerplan.cli.main", "optimize", "default", *args], cwd=ROOT,
                             capture_output=True, text=True)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize("hall,risk", [(None, 0.0), (10.0, 0.5)])
def test_default_scenario_round_trips_with_carryforward_tax(hall, risk):
    """The shipped scenario (annual tax, losses carried forward) : optimizer NPV == engine NPV per path."""
    sc = load_scenario("default")
    assert sc.finance.tax_mode == "carryforward"
    res = optimize(sc, OptimizerSettings(n_paths=40, seed=9, hall_critical_mw=hall, risk_aversion=risk))
    assert res.status == "optimal"
    eng = run_engine(res.plan_scenario, n_paths=40, seed=9)
    assert eng.npv_usd.mean() == pytest.approx(res.expected_npv_usd, rel=1e-6)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-6, atol=10.0)
    assert res.cvar_usd == pytest.approx(cvar_of_loss(eng.npv_usd, 0.95), rel=1e-6)


def test_take_or_pay_site_with_conversion_round_trips():
    """AI/HPC draw at a take-or-pay site counts toward the minimum in both the model and the engine."""
    sc = lease_case(take_or_pay_mwh_per_month=6000)
    res = optimize(sc, settings(n_paths=8, risk_aversion=0.3))
    assert res.status == "optimal" and len(res.conversions) == 1
    eng = run_engine(res.plan_scenario, n_paths=8, seed=3)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-6, atol=10.0)
    assert eng.take_or_pay_shortfall_usd.sum() > 0   # the minimum binds in some months


def test_frontier_points_equal_plain_runs_at_their_weight():
    """Each frontier point is the plan a plain run at that risk weight finds (the warm re-solve is exact).

    Both solve the extensive form: a plain run on its own would use the decomposition here (take-or-pay
    at Georgia), which stops within its gap tolerance, not at 1e-6 of the optimum."""
    sc = linear_tax_default()
    st = OptimizerSettings(n_paths=30, seed=4, hall_critical_mw=None)
    fr = efficient_frontier(sc, st, weights=(0.0, 1.0, 4.0))
    for w, npv in zip(fr.risk_aversion, fr.expected_npv_usd):
        plain = optimize(sc, OptimizerSettings(n_paths=30, seed=4, hall_critical_mw=None, risk_aversion=w,
                                               method="extensive"))
        assert npv == pytest.approx(plain.expected_npv_usd, rel=1e-6, abs=1.0)


def test_round_trip_with_miner_capitulation():
    """With market.hashrate_response each path has its own network; optimizer and engine still agree per path."""
    sc = load_scenario("default")
    data = sc.model_dump(mode="json", exclude_none=True)
    data["market"]["hashrate_response"] = {}
    from minerplan.scenario.files import scenario_from_dict

    sc = scenario_from_dict(data, "capitulation")
    res = optimize(sc, OptimizerSettings(n_paths=30, seed=2, hall_critical_mw=None))
    assert res.status == "optimal"
    eng = run_engine(res.plan_scenario, n_paths=30, seed=2)
    assert eng.network.hashrate_hs.shape[0] == 30
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-6, atol=10.0)
