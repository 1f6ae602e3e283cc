"""An optimizer plan in whole machines and one row per distinct cohort (issue 14).

A plan splits a cohort when it sells or moves part of it; applied to a fleet with identical rows, or
applied twice, that used to leave the same machines written in several rows ("four Antminer S19j Pro @
Georgia rows"), and a fractional entered count left a stub of a fraction of a machine behind a sale.
Counts below are worked by hand from the plan's decisions; values against the engine.
"""

from __future__ import annotations

import numpy as np
import pytest

from minerplan.analysis.kpi import breakeven_hashprice_usd_per_ph_day
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.files import load_scenario, scenario_from_dict
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.fleet_rows import cohort_key, merge_identical_rows, model_site_groups, row_labels
from solvers.decisions.build import build_decision_space
from solvers.plan import applied_plan, write_plan
from solvers.settings import OptimizerSettings
from solvers.valuation import whole_units

S19J = "Antminer S19j Pro @ Georgia"
SETTINGS = OptimizerSettings(n_paths=8, seed=3, allow_moves=False, allow_purchases=False)


def _with_fleet(rows: list[dict]):
    """The shipped scenario with its fleet replaced by ``rows`` (dicts of the shipped rows, changed)."""
    data = load_scenario("default").model_dump(mode="json", exclude_none=True)
    data["fleet"] = rows
    return scenario_from_dict(data, "test")


def _shipped_rows() -> list[dict]:
    return load_scenario("default").model_dump(mode="json", exclude_none=True)["fleet"]


def _retire(space, cohort: int, month: str) -> int:
    """The decision variable that sells units of fleet row ``cohort`` in ``month``."""
    t = space.table
    hit = t.index[(t["kind"] == "retire") & (t["cohort"] == cohort) & (t["month"] == month)]
    assert len(hit) == 1, (cohort, month)
    return int(hit[0])


def _rows_of(sc, label: str):
    return [c for c in sc.fleet if f"{c.model} @ {c.site}" == label]


def _georgia_split():
    """The shipped fleet with its 10,000 S19j Pro in Georgia entered as two identical rows of 6,000 and 4,000."""
    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S19j Pro")
    rows[k:k + 1] = [{**rows[k], "count": 6000.0}, {**rows[k], "count": 4000.0}]
    return _with_fleet(rows), k


def test_sales_of_identical_rows_in_one_month_are_one_row():
    """Selling 500 of the 6,000-row and 300 of the 4,000-row in 2026-06: the plan keeps 10,000 - 800 = 9,200
    in one row and sells 800 in one row (it wrote four rows: 5,500, 500, 3,700, 300)."""
    sc, k = _georgia_split()
    space = build_decision_space(sc, SETTINGS)
    x = np.zeros(space.n_var)
    x[_retire(space, k, "2026-06")] = 500.0
    x[_retire(space, k + 1, "2026-06")] = 300.0
    plan, decisions = write_plan(space, x)
    rows = _rows_of(plan, S19J)
    assert [(c.count, c.retire_month) for c in rows] == [(9200.0, None), (800.0, "2026-06")]
    assert [plan.fleet[i].count for i in decisions.retirements] == [800.0]
    # the same value as the four rows written apart
    rows = [c.model_dump(mode="json", exclude_none=True) for c in plan.fleet]
    g = next(i for i, c in enumerate(plan.fleet) if f"{c.model} @ {c.site}" == S19J)
    kept, sold = rows[g], rows[g + 1]
    rows[g:g + 2] = [{**kept, "count": 5500.0}, {**sold, "count": 500.0}, {**kept, "count": 3700.0},
                     {**sold, "count": 300.0}]
    data = plan.model_dump(mode="json", exclude_none=True)
    apart = scenario_from_dict({**data, "fleet": rows}, "apart")
    np.testing.assert_allclose(run_engine(plan, n_paths=4, seed=2).npv_usd, run_engine(apart, n_paths=4, seed=2).npv_usd,
                               rtol=1e-9)


def test_a_sale_of_a_fractional_row_leaves_no_fraction_of_a_machine_behind():
    """An entered count of 1,348.19 S19j Pro: the solver sells all of it (1,348.19) in 2026-06. Whole machines
    round sales up: all 1,348.19 go, not 1,348 with a stub of 0.19 machines kept running."""
    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S19j Pro")
    rows[k]["count"] = 1348.19
    sc = _with_fleet(rows)
    space = build_decision_space(sc, SETTINGS)
    x = np.zeros(space.n_var)
    x[_retire(space, k, "2026-06")] = 1348.19
    plan, _ = write_plan(space, whole_units(space, x))
    assert [(c.count, c.retire_month) for c in _rows_of(plan, S19J)] == [(1348.19, "2026-06")]


def test_a_partial_sale_rounds_up_to_whole_machines_and_keeps_the_entered_fraction():
    """The solver sells 500.4 of 1,348.19: 501 go (sales round up); the 847.19 kept carry the entered fraction."""
    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S19j Pro")
    rows[k]["count"] = 1348.19
    sc = _with_fleet(rows)
    space = build_decision_space(sc, SETTINGS)
    x = np.zeros(space.n_var)
    x[_retire(space, k, "2026-06")] = 500.4
    plan, _ = write_plan(space, whole_units(space, x))
    got = [(round(c.count, 6), c.retire_month) for c in _rows_of(plan, S19J)]
    assert got == [(847.19, None), (501.0, "2026-06")]


def test_applied_plan_merges_what_the_scenario_already_sells_with_what_the_plan_sells():
    """The scenario sells 9,489 S21 in North Dakota in 2025-12 and 4,511 in 2026-01; a plan that sells one more
    of the second row in 2025-12 writes it apart (a decision: the workbook's Plan sheet links to it), but the
    scenario it applies has one row of 9,490 sold in 2025-12 and 4,510 in 2026-01, and the same value."""
    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S21" and r["site"] == "North Dakota")
    rows[k:k + 1] = [{**rows[k], "count": 9489.0, "retire_month": "2025-12"},
                     {**rows[k], "count": 4511.0, "retire_month": "2026-01"}]
    sc = _with_fleet(rows)
    space = build_decision_space(sc, SETTINGS)
    x = np.zeros(space.n_var)
    x[_retire(space, k + 1, "2025-12")] = 1.0
    plan, decisions = write_plan(space, x)
    label = "Antminer S21 @ North Dakota"
    assert [(c.count, c.retire_month) for c in _rows_of(plan, label)] == [
        (9489.0, "2025-12"), (4510.0, "2026-01"), (1.0, "2025-12")]
    assert [plan.fleet[i].count for i in decisions.retirements] == [1.0]
    applied = applied_plan(plan)
    assert [(c.count, c.retire_month) for c in _rows_of(applied, label)] == [(9490.0, "2025-12"),
                                                                           (4510.0, "2026-01")]
    a = run_engine(applied, n_paths=4, seed=2)
    b = run_engine(plan, n_paths=4, seed=2)
    np.testing.assert_allclose(a.npv_usd, b.npv_usd, rtol=1e-9)


def test_row_labels_say_how_split_rows_differ():
    """A row alone at its model and site is "model @ site"; split rows say when they arrive or leave."""
    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S19j Pro")
    rows[k:k + 1] = [{**rows[k], "count": 6855.0}, {**rows[k], "count": 3145.0, "retire_month": "2026-06"}]
    rows.append({**{k: v for k, v in rows[0].items() if k != "age_months"}, "count": 100.0,
                 "purchase_month": "2026-03"})
    rows.append({**rows[0], "count": 50.0, "site": "Georgia", "moved_from": "Texas", "purchase_month": "2026-01"})
    rows.append({**rows[0], "count": 10.0, "retire_month": "2027-01", "sale_price_usd": 833.33})
    labels = row_labels([Cohort(**r) for r in rows])
    assert labels[k:k + 2] == [S19J, f"{S19J}, sold 2026-06"]
    assert labels[-3:] == ["Antminer S21 XP @ Texas, bought 2026-03", "Antminer S21 XP @ Georgia, moved from Texas "
                           "2026-01", "Antminer S21 XP @ Texas, leaves 2027-01 at $833 each"]
    assert len(set(labels)) == len(labels)


def test_identical_rows_get_distinct_labels_by_age_then_row():
    rows = _shipped_rows()[:1]
    rows = [rows[0], {**rows[0], "age_months": 3}, {**rows[0], "age_months": 3}]
    assert row_labels([Cohort(**r) for r in rows]) == [
        "Antminer S21 XP @ Texas, age 6 months", "Antminer S21 XP @ Texas, age 3 months, row 2",
        "Antminer S21 XP @ Texas, age 3 months, row 3"]


def test_merge_keeps_roles_apart_and_maps_old_rows():
    fleet = _with_fleet(_shipped_rows()).fleet
    same = [fleet[0], fleet[1], fleet[0], fleet[0]]
    merged, where = merge_identical_rows(same)
    assert [c.count for c in merged] == [3 * fleet[0].count, fleet[1].count] and where == [0, 1, 0, 0]
    merged, where = merge_identical_rows(same, roles=[None, None, None, "retire"])
    assert [c.count for c in merged] == [2 * fleet[0].count, fleet[1].count, fleet[0].count]
    assert where == [0, 1, 0, 2]


def test_legend_shows_a_split_cohort_once_with_its_power_weighted_breakeven():
    """The Overview's breakeven lines: one per model @ site. Split rows of the same machines have the same
    breakeven, so merging them changes no level."""
    sc, _ = _georgia_split()
    shipped = dict(breakeven_hashprice_usd_per_ph_day(run_engine(load_scenario("default"))))
    got = breakeven_hashprice_usd_per_ph_day(run_engine(sc))
    names = [n for n, _ in got]
    assert names.count(S19J) == 1 and len(names) == len(set(names))
    assert dict(got)[S19J] == pytest.approx(shipped[S19J], rel=1e-12)
    assert list(model_site_groups(sc.fleet))[:3] == ["Antminer S21 XP @ Texas", "Antminer S21 Pro @ Texas", S19J]


def test_the_shipped_plan_keeps_its_value_in_whole_machines_and_distinct_rows():
    """The engine check: the shipped scenario's plan at 100 paths, seed 1 is worth $215,425,216 expected;
    every count is whole and no two rows of the plan are the same machines in the same role; applied, no two
    rows are the same machines."""
    from solvers.optimize import optimize

    res = optimize(load_scenario("default"), OptimizerSettings(n_paths=100, seed=1))
    assert res.ok and round(res.expected_npv_usd) == 215_425_216
    assert res.check is not None and res.check.ok
    fleet = res.plan_scenario.fleet
    assert all(float(c.count).is_integer() for c in fleet)
    applied = applied_plan(res.plan_scenario)
    keys = [cohort_key(c) for c in applied.fleet]
    assert len(keys) == len(set(keys))
    assert round(float(run_engine(applied, n_paths=100, seed=1).npv_usd.mean())) == 215_425_216


# --------------------------------------------------------------------------- applying a plan in the app

def test_compare_keeps_the_scenario_before_an_applied_plan_as_its_baseline(qtbot):
    """Apply plan: Compare gets "Before plan" (the scenario as it was) as its baseline, and its difference
    column is the plan minus it, said in the header; a Compare tab first built after the apply finds it too."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import Qt

    from solvers.optimize import optimize
    from ui.document import ScenarioDocument
    from ui.evaluation import Evaluation
    from ui.views.compare import CompareView
    from ui.views.optimize.view import OptimizeView
    from ui.views.optimize.work import RunOutput

    original = load_scenario("default")
    doc = ScenarioDocument(original)
    ev = Evaluation(doc)
    ev.mc.paths = 1
    compare = CompareView(doc, ev)
    opt = OptimizeView(doc, ev)
    opt.confidence_paths = opt.confidence_replications = 0
    qtbot.addWidget(compare)
    qtbot.addWidget(opt)
    res = optimize(original, OptimizerSettings(n_paths=10, seed=1, hall_critical_mw=None))
    assert res.ok
    opt.show_result(res, RunOutput(res, original, [], None))
    opt.apply_plan()
    plan = doc.scenario
    assert plan is not original and plan is opt.applied_scenario
    assert [e.label for e in compare.entries] == ["Current", "Before plan"]
    assert compare.entries[1].scenario is original and compare.model.baseline == 1
    m = compare.model
    assert m.headerData(2, Qt.Orientation.Horizontal) == "Δ Current − Before plan"
    assert "plan minus" in m.headerData(2, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    want = float(run_engine(plan).npv_usd[0] - run_engine(original).npv_usd[0])      # the plan minus before
    assert want > 0 and compare.kpi("npv_usd", 2) == pytest.approx(want, rel=1e-9)
    assert "plan minus the scenario before it" in compare.note.text()
    late = CompareView(doc, ev)
    qtbot.addWidget(late)
    assert [e.label for e in late.entries] == ["Current", "Before plan"] and late.kpi("npv_usd", 2) == pytest.approx(want)
    doc.undo_stack.undo()                      # back to the scenario before the plan: no difference left
    assert doc.scenario is original and compare.kpi("npv_usd", 2) == pytest.approx(0.0, abs=1e-6)
    opt.shutdown()
    doc.undo_stack.clear()


def test_fleet_bars_show_a_split_cohort_once(qtbot):
    """The Fleet tab's bars: the S19j Pro in Georgia written as 6,000 kept and 4,000 sold in 2026-06 are one bar of
    10,000 x 104 TH/s = 1,040 PH/s, at the same breakeven as the unsplit row."""
    from minerplan.scenario.fleet_rows import model_site
    from ui.document import ScenarioDocument
    from ui.evaluation import Evaluation
    from ui.views.fleet import FleetView

    rows = _shipped_rows()
    k = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S19j Pro")
    whole_doc = ScenarioDocument(load_scenario("default"))
    whole_ev = Evaluation(whole_doc)
    whole_ev.mc.paths = 1
    whole = FleetView(whole_doc, whole_ev)
    rows[k:k + 1] = [{**rows[k], "count": 6000.0}, {**rows[k], "count": 4000.0, "retire_month": "2026-06"}]
    doc = ScenarioDocument(_with_fleet(rows))
    ev = Evaluation(doc)
    ev.mc.paths = 1
    view = FleetView(doc, ev)
    qtbot.addWidget(view)
    qtbot.addWidget(whole)
    ev.refresh()
    whole_ev.refresh()
    bars = {name: y for name, _x, y in view.hashrate_chart._series}["Nameplate hashrate (PH/s)"]
    assert len(bars) == len(model_site_groups(doc.scenario.fleet)) == 6
    hashrate = load_scenario("default").fleet[k].hashrate_ths
    assert bars[k] == pytest.approx(10_000 * hashrate / 1000.0)
    be = {name: y for name, _x, y in view.breakeven_chart._series}["Breakeven BTC price (USD/BTC)"]
    be_whole = {name: y for name, _x, y in whole.breakeven_chart._series}["Breakeven BTC price (USD/BTC)"]
    np.testing.assert_allclose(be, be_whole, rtol=1e-9)
    assert model_site(doc.scenario.fleet[k]) == S19J
    # the table tells the two rows apart: the retire month, and the model cell's tooltip names each row
    from PySide6.QtCore import Qt

    m = view.model
    retire = next(c for c, col in enumerate(m.columns) if col.key == "retire_month")
    assert [m.data(m.index(r, retire)) for r in (k, k + 1)] == ["", "2026-06"]
    assert [m.data(m.index(r, 0), Qt.ItemDataRole.ToolTipRole) for r in (k, k + 1)] == [S19J, f"{S19J}, sold 2026-06"]
    assert m.setData(m.index(k + 1, retire), "")            # a blank month: the machines never leave
    assert doc.scenario.fleet[k + 1].retire_month is None
    doc.undo_stack.clear()


def test_overview_counts_machines_not_the_rows_a_plan_split_them_into(qtbot):
    """The shipped plan's shape: 3,302 of the 15,000 S21 Pro in Texas sold in 2025-12, the 12,000 M50S++ leave North
    Dakota in 2025-12 and arrive in Texas in 2026-01. The fleet is 79,000 machines at the start and
    79,000 - 3,302 = 75,698 at the horizon's end (the moved machines are counted once), not 91,000."""
    from minerplan.analysis.report import summary
    from ui.evaluation import Evaluation
    from ui.document import ScenarioDocument
    from ui.views.overview import OverviewView

    rows = _shipped_rows()
    pro = next(i for i, r in enumerate(rows) if r["model"] == "Antminer S21 Pro")
    m50 = next(i for i, r in enumerate(rows) if r["model"] == "Whatsminer M50S++")
    moved = {**{k: v for k, v in rows[m50].items() if k != "age_months"}, "site": "Texas", "moved_from": "North Dakota",
             "purchase_month": "2026-01"}
    rows[m50] = {**rows[m50], "retire_month": "2025-12", "sale_price_usd": 833.33}
    rows[pro:pro + 1] = [{**rows[pro], "count": 11698.0}, {**rows[pro], "count": 3302.0, "retire_month": "2025-12"}]
    sc = _with_fleet(rows + [moved])
    assert sum(c.count for c in sc.fleet) == 91_000
    ev = Evaluation(ScenarioDocument(sc))
    view = OverviewView(ev)
    qtbot.addWidget(view)
    res = run_engine(sc)
    view.on_result(res, summary(res))
    assert view.cards["fleet"].detail.text().startswith("79,000 machines at the start, 75,698 at the horizon's end")
