"""The L-shaped decomposition (solvers/benders.py) and its closed-form recourse (solvers/recourse.py).

The recourse is checked against the exact plan valuation and against concavity (a cut that cuts
off any feasible plan's true value would let the optimizer miss the optimum); the decomposition is
checked against the extensive form, which HiGHS solves whole, on the same paths.
"""

from dataclasses import replace

import numpy as np
import pytest

from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.files import load_scenario, scenario_from_dict, scenario_to_dict
from solvers.decisions.build import build_decision_space
from solvers.optimize import optimize, uses_decomposition
from solvers.recourse import recourse, recourse_upper_bound
from solvers.valuation import plan_npv_by_path
from solvers.settings import OptimizerSettings


def variant(tax_mode: str = "carryforward", curtail: bool = True):
    d = scenario_to_dict(load_scenario("default"))
    d["finance"]["tax_mode"] = tax_mode
    for s in d["sites"]:
        if s["name"] == "Georgia":
            s["curtailment_enabled"] = curtail
    return scenario_from_dict(d)


def feasible_random_plans(space, sc, rng, n):
    """Random plans within the decisions' bounds and each fleet row's units (what the master allows)."""
    t = space.table
    ub = t["ub"].to_numpy(float)
    ub = np.where(np.isfinite(ub), ub, 50.0)
    ret = (t["kind"] == "retire").to_numpy()
    cohort = t["cohort"].to_numpy()
    out = []
    for _ in range(n):
        x = rng.uniform(0, 1, space.n_var) * ub * (rng.uniform(size=space.n_var) < 0.15)
        for c in np.unique(cohort[ret]):
            sel = ret & (cohort == c)
            total, units = x[sel].sum(), sc.fleet[int(c)].count
            if total > units:
                x[sel] *= units / total
        out.append(x)
    return out


@pytest.mark.parametrize("tax_mode,curtail", [("carryforward", True), ("linear", True), ("carryforward", False)])
def test_recourse_is_the_exact_value_and_its_cuts_never_cut_off_a_plan(tax_mode, curtail):
    sc = variant(tax_mode, curtail)
    space = build_decision_space(sc, OptimizerSettings(n_paths=30, seed=4, hall_critical_mw=10.0))
    assert space.top_blocks, "Georgia's take-or-pay gives the default scenario a recourse"
    rng = np.random.default_rng(11)
    plans = feasible_random_plans(space, sc, rng, 40)
    ub = recourse_upper_bound(space)
    for x0 in plans[:6]:
        q0, g0 = recourse(space, x0)
        exact = plan_npv_by_path(space, x0) - space.base_npv - space.coef_path @ x0
        np.testing.assert_allclose(q0, exact, rtol=1e-9, atol=1e-3)
        assert np.all(q0 <= ub + 1e-3)
        for x1 in plans:
            q1, _ = recourse(space, x1, gradient=False)
            # concave: the tangent at x0 lies above the value everywhere (to rounding, USD)
            assert np.all(q1 <= q0 + (x1 - x0) @ g0.T + 1e-4 * (1 + np.abs(q1))), "a cut would cut off a plan"


def test_supergradient_is_the_slope_where_the_value_is_smooth():
    sc = variant()
    space = build_decision_space(sc, OptimizerSettings(n_paths=10, seed=4, hall_critical_mw=10.0))
    x0 = feasible_random_plans(space, sc, np.random.default_rng(3), 1)[0]
    q0, g0 = recourse(space, x0)
    t = space.table
    checked = 0
    for j in np.flatnonzero((t["kind"] == "retire").to_numpy())[:12]:
        h = 1e-3   # a thousandth of a machine: no kink in between on almost every path
        up, down = x0.copy(), x0.copy()
        up[j] += h
        down[j] = max(down[j] - h, 0.0)
        qu, _ = recourse(space, up, gradient=False)
        qd, _ = recourse(space, down, gradient=False)
        right, left = (qu - q0) / h, (q0 - qd) / max(x0[j] - down[j], 1e-12)
        smooth = np.abs(right - left) <= 1e-6 * (1 + np.abs(right))
        if x0[j] > h and smooth.any():
            np.testing.assert_allclose(g0[smooth, j], right[smooth], rtol=1e-5, atol=1e-3)
            checked += 1
    assert checked >= 1


@pytest.mark.parametrize("kw", [dict(hall_critical_mw=10.0), dict(hall_critical_mw=None),
                                dict(hall_critical_mw=10.0, risk_aversion=0.5)])
def test_decomposition_finds_the_extensive_forms_optimum(kw):
    sc = load_scenario("default")
    st = OptimizerSettings(n_paths=40, seed=7, mip_gap=1e-4, time_limit_s=120, **kw)
    space = build_decision_space(sc, st)
    assert uses_decomposition(space)
    dec = optimize(sc, st)
    ext = optimize(sc, replace(st, method="extensive"))
    assert dec.decomposition is not None and ext.decomposition is None
    assert dec.status == ext.status == "optimal"
    assert dec.check.ok and ext.check.ok
    tol = 2e-4 * abs(ext.objective_usd) + 1.0
    assert dec.objective_usd == pytest.approx(ext.objective_usd, abs=tol)
    # each method's bound holds for the other's plan
    assert dec.bound_usd >= ext.objective_usd - tol and ext.bound_usd >= dec.objective_usd - tol


def test_linear_tax_with_take_or_pay_uses_decomposition_and_agrees():
    sc = variant("linear")
    st = OptimizerSettings(n_paths=30, seed=2, mip_gap=1e-4, hall_critical_mw=10.0)
    dec = optimize(sc, st)
    ext = optimize(sc, replace(st, method="extensive"))
    assert dec.decomposition is not None
    assert dec.objective_usd == pytest.approx(ext.objective_usd, rel=2e-4)


@pytest.mark.parametrize("tax_mode", ["carryforward", "linear"])
def test_cash_recourse_is_exact_and_concave(tax_mode):
    from solvers.valuation import take_or_pay_dispatch, tax_paid_by_month, top_income_by_month
    from solvers.recourse import cash_recourse

    sc = variant(tax_mode)
    space = build_decision_space(sc, OptimizerSettings(n_paths=20, seed=4, cash_floor=False))
    plans = feasible_random_plans(space, sc, np.random.default_rng(5), 30)
    for x0 in plans[:4]:
        v0, h0 = cash_recourse(space, x0)
        d = take_or_pay_dispatch(space, x0)
        per_month = (1 - space.tax_rate) * top_income_by_month(space, d) - tax_paid_by_month(space, x0, d)
        np.testing.assert_allclose(v0, space.cash_weights @ np.cumsum(per_month, axis=1), rtol=1e-9, atol=1e-3)
        for x1 in plans:
            v1, _ = cash_recourse(space, x1)
            assert np.all(v1 <= v0 + np.einsum("wmj,j->wm", h0, x1 - x0) + 1e-4 * (1 + np.abs(v1)))


def test_the_shipped_scenario_keeps_its_cash_floor_by_default_and_both_methods_agree():
    sc = load_scenario("default")
    assert sc.finance.starting_cash_usd == 250e6 and sc.finance.credit_line_usd == 100e6
    st = OptimizerSettings(n_paths=40, seed=1, mip_gap=1e-4)
    assert st.for_scenario(sc).min_cash_usd == 0.0                           # on by default
    assert OptimizerSettings(cash_floor=False).for_scenario(sc).min_cash_usd is None
    dec = optimize(sc, st)
    ext = optimize(sc, replace(st, method="extensive"))
    assert dec.decomposition is not None and dec.status == ext.status == "optimal"
    assert dec.objective_usd == pytest.approx(ext.objective_usd, rel=2e-4)
    for res in (dec, ext):
        have = res.cash["cash_usd"] + res.cash["credit_usd"]
        assert have.min() >= -1.0                                              # the floor, after credit
        assert res.cash["credit_usd"].max() <= 100e6 + 1.0
    free = optimize(sc, replace(st, cash_floor=False))
    assert (free.cash["cash_usd"] + free.cash["credit_usd"]).min() < -1e6     # without it, cash goes negative
    assert free.objective_usd >= dec.objective_usd - 2e-4 * abs(dec.objective_usd)


def test_cancel_stops_the_decomposition():
    sc = load_scenario("default")
    seen = []

    def progress(frac, text):
        seen.append(text)

    def cancel():
        return any(t.startswith("decomposition") for t in seen)

    with pytest.raises(Cancelled):
        optimize(sc, OptimizerSettings(n_paths=30, seed=1), progress=progress, cancel=cancel)
    assert any(t.startswith("decomposition, LP round 1") for t in seen)


def test_a_cash_floor_the_commitments_break_is_explained_with_the_scenarios_cash():
    """The signed conversion alone needs more than $250M and the $100M line: no plan, and the reason names
    the scenario's fields and what to change (the shortfall is a lower bound under the decomposition)."""
    d = scenario_to_dict(load_scenario("default"))
    d["finance"]["starting_cash_usd"] = 50e6
    d["finance"]["credit_line_usd"] = 0.0
    res = optimize(scenario_from_dict(d), OptimizerSettings(n_paths=10, seed=1))
    assert res.status == "infeasible" and not res.ok
    text = " ".join(res.explanation)
    assert "cash floor, expected: cash falls below the $0.0M floor" in text and "at least $" in text
    assert "starts with $50.0M (finance.starting_cash_usd)" in text and "--no-cash-floor" in text
    assert optimize(scenario_from_dict(d), OptimizerSettings(n_paths=10, seed=1, cash_floor=False)).ok


def _two_sites(**settings_kw):
    """1,000 machines (100 TH/s, 2,000 W: 20 J/TH) at site A, whose $90/MWh power costs more than they earn
    ($0.043 per TH/s-day against a $0.038 hashprice), and site B with 5 MW empty at $25/MWh (a margin of
    $0.026 per TH/s-day: ~$950 a machine a year, against ~$930 for selling one now). Nothing to buy."""
    from tests.builders import base_dict

    d = base_dict(horizon_months=24)
    d["sites"] = [{"name": "A", "capacity_mw": 5, "power_price_usd_per_mwh": 90, "pue": 1.0},
                  {"name": "B", "capacity_mw": 5, "power_price_usd_per_mwh": 25, "pue": 1.0}]
    d["fleet"][0].update(power_w=2000, site="A")
    d["finance"].update(asic_residual_value="market")
    sc = scenario_from_dict(d)
    st = OptimizerSettings(n_paths=8, seed=3, allow_purchases=False, hall_critical_mw=None, **settings_kw)
    return sc, st


def test_a_move_between_sites_that_is_clearly_right_is_made_and_the_engine_agrees():
    from minerplan.engine.evaluate import run_engine

    sc, st = _two_sites()
    res = optimize(sc, st)
    assert res.ok and res.check.ok
    # every machine goes to B at once, is offline one month, and arrives in the second month
    assert res.moves[["from_site", "to_site", "month", "arrive_month", "units"]].values.tolist() == \
        [["A", "B", "2026-01", "2026-02", 1000.0]]
    assert res.moves.cost_usd.sum() == pytest.approx(1000 * 150.0)
    assert len(res.retirements) == 0
    # the plan scenario: the machines leave A at their book value (no gain, no loss) and run at B
    plan = res.plan_scenario
    left = [c for c in plan.fleet if c.site == "A"]
    arrived = [c for c in plan.fleet if c.site == "B"]
    assert [(c.count, c.retire_month, c.sale_price_usd) for c in left] == [(1000.0, "2026-01", 0.0)]
    assert [(c.count, c.purchase_month, c.hashrate_ths) for c in arrived] == [(1000.0, "2026-02", 100.0)]
    eng = run_engine(plan, n_paths=8, seed=3)
    np.testing.assert_allclose(eng.npv_usd, res.npv_by_path_usd, rtol=1e-9)
    # worth more than selling them, and than leaving them at A (with moves off, the best is one of those)
    stay_or_sell = optimize(sc, replace(st, allow_moves=False))
    assert len(stay_or_sell.moves) == 0
    assert res.expected_npv_usd > stay_or_sell.expected_npv_usd + 500_000


def test_moves_are_in_the_json_and_the_recommendation():
    from solvers.report import recommendation, result_to_json

    sc, st = _two_sites()
    res = optimize(sc, st)
    lines = recommendation(res)
    assert lines[0] == "Move 1,000 X from A to B in 2026-Q1 (2.0 MW at B; offline until 2026-02; cost $150,000)."
    assert lines[1].startswith("A stops mining in 2026-Q1: the plan moves or retires every machine there")
    doc = result_to_json(res)
    assert doc["moves"][0]["from_site"] == "A" and doc["moves"][0]["units"] == 1000.0


def test_the_optimize_view_lists_the_moves(qtbot):
    """The Optimize view's Moves tab shows a plan's moves (from, to, months, units, cost)."""
    from ui.kit.tables import FrameModel
    from ui.views.optimize.tables import MOVE_COLUMNS

    sc, st = _two_sites()
    res = optimize(sc, st)
    model = FrameModel(MOVE_COLUMNS)
    model.set_frame(res.moves)
    assert model.rowCount() == 1
    cells = [model.data(model.index(0, k)) for k in range(model.columnCount())]
    assert cells[:5] == ["A", "B", "X", "2026-01", "2026-02"]
    assert "150,000" in cells[-1]
