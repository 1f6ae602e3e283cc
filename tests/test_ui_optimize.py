"""Optimizer view: background run with progress and cancel, results, frontier, apply/undo, infeasible, failures."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from minerplan.scenario.files import load_scenario  # noqa: E402
from tests.gate import Gate  # noqa: E402
from ui.document import ScenarioDocument  # noqa: E402
from ui.evaluation import Evaluation  # noqa: E402
from minerplan.formats import parse_usd  # noqa: E402
from ui.kit import job_panel  # noqa: E402
from ui.kit.tables import FrameModel  # noqa: E402
from ui.views.optimize import confidence as confidence_tab  # noqa: E402
from ui.views.optimize import work  # noqa: E402
from ui.views.optimize.tables import PURCHASE_COLUMNS, ShadowPriceModel  # noqa: E402
from ui.views.optimize.view import OptimizeView  # noqa: E402

FINISHED = ("done", "no_plan", "failed", "cancelled")


@pytest.fixture
def doc():
    d = ScenarioDocument(load_scenario("default"))
    yield d
    # Empty the undo stack while the document is alive: a dirty stack emits cleanChanged when it is
    # destroyed, after its document's C++ object is gone (see the report on ui/document.py).
    d.undo_stack.clear()


@pytest.fixture
def view(qtbot, doc):
    ev = Evaluation(doc)
    ev.mc.paths = 1          # no Monte Carlo task in the background of these tests
    v = OptimizeView(doc, ev)
    v.confidence_paths = v.confidence_replications = 0   # on only in the tests of the confidence tab
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.show()
    yield v
    v.shutdown()


def small(view: OptimizeView, paths: int = 10) -> None:
    view.paths.setValue(paths)
    view.hall.setValue(0)            # continuous conversions: an LP
    view.time_limit.setValue(30)


def run_and_wait(qtbot, view: OptimizeView, timeout: int = 60_000) -> None:
    view.run_button.click()
    assert view.state == "running"
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=timeout)


def test_small_run_completes_and_fills_results(qtbot, view):
    small(view)
    assert view.cancel_button.isEnabled() is False
    view.run_button.click()
    assert view.state == "running"
    assert not view.run_button.isEnabled() and not view.frontier_button.isEnabled()
    assert view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    assert view.state == "done", view.status_label.text()
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    assert view.progress.value() == 1000
    res = view.result
    assert res is not None and res.ok
    # recommendation and KPI line
    text = view.recommendation_label.text()
    assert text.strip() and "Deliver the signed" in text
    kpi = view.kpi_label.text()
    assert "Expected NPV" in kpi and "CVaR" in kpi and "MIP gap" in kpi and "optimal" in kpi
    # tables
    assert view.shadow_model.rowCount() == len(res.shadow_prices) > 0
    assert view.conversion_model.rowCount() == len(res.conversions) > 0
    assert view.retirement_model.rowCount() == len(res.retirements)
    # every header carries a unit or names a thing (no bare numbers)
    assert view.shadow_model.headerData(2, Qt.Orientation.Horizontal) == "Value (USD)"
    # stacked MW chart has data, and sums to site capacity for each site
    items = view.allocation_chart.item.listDataItems()
    assert items and any(i.getData()[1] is not None and len(i.getData()[1]) == view.doc.scenario.horizon_months
                         and np.max(i.getData()[1]) > 0 for i in items)
    months, series = view.allocation_series("Texas")
    total = sum(series.values())
    cap = next(s.capacity_mw for s in view.doc.scenario.sites if s.name == "Texas")
    np.testing.assert_allclose(total, cap, rtol=1e-9)
    assert view.site_combo.count() == 1 + len(view.doc.scenario.sites)
    view.site_combo.setCurrentText("North Dakota")
    _, nd = view.allocation_series("North Dakota")
    assert nd["AI/HPC (MW)"].max() > 0                  # the signed conversion shows up
    assert "North Dakota" in view.allocation_chart.title.text()
    # capex bars: the engine's capex of the plan, signed conversion capex in 2026
    assert view.output.capex_usd is not None and view.output.capex_usd.sum() > 200e6
    assert view.capex_chart.item.items


def test_second_run_cancelled_right_after_start(qtbot, view):
    small(view)
    run_and_wait(qtbot, view)
    first = view.result
    assert view.state == "done"
    view.paths.setValue(300)
    view.hall.setValue(10)               # a MIP: seconds of work, so the cancel lands mid-run at the latest
    view.run_button.click()
    assert view.state == "running" and not view.run_button.isEnabled()
    view.cancel_button.click()           # the cancel flag is set before the worker can finish
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    assert view.state == "cancelled"
    assert "cancelled" in view.status_label.text().lower()
    assert view.run_button.isEnabled() and view.frontier_button.isEnabled() and not view.cancel_button.isEnabled()
    assert view.result is first          # the previous results stay on screen
    # and a new run works afterwards
    small(view)
    run_and_wait(qtbot, view)
    assert view.state == "done"


def test_apply_plan_is_undoable(qtbot, view, doc):
    original = doc.scenario
    assert not view.apply_button.isEnabled()
    small(view)
    run_and_wait(qtbot, view)
    assert view.apply_button.isEnabled()
    view.apply_button.click()
    assert doc.scenario is view.result.plan_scenario
    assert doc.scenario != original and doc.dirty
    assert doc.undo_stack.undoText() == "Apply optimizer plan"
    assert not view.apply_button.isEnabled()            # already applied
    assert "applied" in view.stale_label.text()
    doc.undo_stack.undo()
    assert doc.scenario is original and not doc.dirty
    assert view.apply_button.isEnabled()
    # an unrelated edit makes the results stale: applying would throw the edit away
    doc.edit_dict(lambda d: d.update(name="edited"), "Rename")
    assert not view.apply_button.isEnabled()
    assert "changed" in view.stale_label.text()


def test_table_models_pass_modeltester(qtbot, qtmodeltester, view):
    qtmodeltester.check(ShadowPriceModel())            # empty
    small(view)
    run_and_wait(qtbot, view)
    assert view.shadow_model.rowCount() > 0
    qtmodeltester.check(view.shadow_model)
    qtmodeltester.check(view.shadow_proxy)
    qtmodeltester.check(view.conversion_model)
    qtmodeltester.check(view.retirement_model)
    qtmodeltester.check(view.purchase_model)
    m = view.shadow_model
    for c in range(m.columnCount()):
        assert m.headerData(c, Qt.Orientation.Horizontal)
    # sorting the shadow prices by value uses the raw numbers
    view.tables["shadow"].sortByColumn(2, Qt.SortOrder.DescendingOrder)
    p = view.shadow_proxy
    vals = [p.data(p.index(r, 2), Qt.ItemDataRole.UserRole) for r in range(p.rowCount())]
    assert vals == sorted(vals, reverse=True)


def test_frame_model_handles_missing_and_numpy_values(qtmodeltester):
    import pandas as pd
    m = FrameModel(PURCHASE_COLUMNS)
    m.set_frame(pd.DataFrame({"site": ["A"], "month": ["2026-03"], "model": ["S21"], "units": [np.float64(1500.4)],
                              "mw": [np.nan], "capex_usd": [np.int64(12_000_000)]}))
    qtmodeltester.check(m)
    assert m.data(m.index(0, 3)) == "1,500"
    assert m.data(m.index(0, 4)) == ""
    assert m.data(m.index(0, 5)) == "12.00"
    m.set_frame(None)
    assert m.rowCount() == 0


def test_infeasible_budget_shows_explanation(qtbot, view):
    small(view)
    view.budget.setText("50e6")
    run_and_wait(qtbot, view)
    assert view.state == "no_plan"
    text = view.recommendation_label.text()
    assert "capex budget 2026" in text and "$216.0M more" in text
    assert "Traceback" not in text
    assert "infeasible" in view.kpi_label.text()
    assert not view.apply_button.isEnabled()
    assert view._error_box is None                       # an answer, not a failure
    assert view.allocation_chart.item.listDataItems() == []
    assert view.shadow_model.rowCount() == 0


def held_optimize(monkeypatch, gate: Gate, **at) -> None:
    """The view's optimize() holds on ``gate`` right after a progress report (see tests/gate.py)."""
    original = work.optimize

    def held(sc, st, progress=None, cancel=None, **kwargs):
        return original(sc, st, progress=gate.progress(progress, cancel, **at), cancel=cancel, **kwargs)
    monkeypatch.setattr(work, "optimize", held)


def test_gui_stays_responsive_during_a_run(qtbot, view, monkeypatch):
    # The run is held on a gate right after its first progress report until the test opens it, so
    # everything below is checked while the run provably has not finished, however fast the machine.
    gate = Gate()
    held_optimize(monkeypatch, gate)
    small(view)
    with gate.ticking() as ticks:   # one per timer tick: was the worker at the gate then?
        view.run_button.click()
        assert not gate.passed.is_set()      # the click returned before the run could finish: the work is elsewhere
        assert view.running and not view.run_button.isEnabled() and view.cancel_button.isEnabled()
        qtbot.waitUntil(gate.reached.is_set, timeout=60_000)
        assert gate.thread is not threading.main_thread()
        # the worker sits mid-run at the gate; meanwhile the GUI thread's event loop keeps turning
        qtbot.waitUntil(lambda: ticks.count(True) >= 5, timeout=60_000)
        qtbot.waitUntil(lambda: 0 < view.progress.value() < 1000, timeout=60_000)   # progress arrived meanwhile
        assert gate.holding and view.running and view.result is None
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    assert view.state == "done", view.status_label.text()
    assert not gate.timed_out and view.result is not None and view.result.ok


def test_progress_text_reaches_the_bar(qtbot, view, monkeypatch):
    seen = []
    orig = job_panel.show_progress

    def spy(bar, frac, text):
        if bar is view.progress:
            seen.append((frac, text))
        orig(bar, frac, text)

    monkeypatch.setattr(job_panel, "show_progress", spy)
    small(view)
    run_and_wait(qtbot, view)
    assert view.state == "done"
    texts = [t for _, t in seen]
    assert "solving with HiGHS" in texts
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and 0 <= fracs[0] and fracs[-1] <= 1


def test_frontier_points_load_their_plan(qtbot, view, doc):
    small(view)
    view.frontier_button.click()
    assert view.state == "running" and not view.run_button.isEnabled()
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    assert view.state == "done", view.status_label.text()
    pts = view.frontier_points()
    assert len(pts) >= 2
    t = view.frontier.table
    k = int(pts[-1].data())
    # a click on a point (the scatter's own signal) loads that plan
    view._frontier_scatter.sigClicked.emit(view._frontier_scatter, [pts[-1]], None)
    res = view.result
    assert res.ok and res.plan_scenario is not None
    assert res.settings.risk_aversion == t["risk_aversion"].iloc[k]
    assert res.expected_npv_usd == pytest.approx(t["expected_npv_usd"].iloc[k])
    assert "frontier point" in view.kpi_label.text()
    assert view.risk.value() == pytest.approx(t["risk_aversion"].iloc[k])
    assert view.allocation_chart.item.listDataItems()
    assert view.recommendation_label.text().strip()
    assert view.apply_button.isEnabled()
    view.apply_button.click()
    assert doc.scenario is res.plan_scenario
    doc.undo_stack.undo()
    # the loaded plan is exact: the engine on the same paths reproduces the point's expected NPV
    from minerplan.engine.evaluate import run_engine
    st = view.frontier.settings
    eng = run_engine(res.plan_scenario, n_paths=st.n_paths, seed=st.seed, preset=st.preset)
    assert float(eng.npv_usd.mean()) == pytest.approx(res.expected_npv_usd, rel=1e-6)


def test_frontier_risk_neutral_point_matches_a_plain_run(qtbot, view):
    small(view)
    view.frontier_button.click()
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    t = view.frontier.table
    k0 = int(np.flatnonzero(t["risk_aversion"].to_numpy() == 0.0)[0])
    view.select_frontier_point(k0)
    npv0 = view.result.expected_npv_usd
    view.risk.setValue(0.0)
    run_and_wait(qtbot, view)
    # the plain run may solve by decomposition (take-or-pay at Georgia): proven within its gap, not to 1e-6
    assert view.result.expected_npv_usd == pytest.approx(npv0, rel=max(1e-6, view.result.mip_gap))


def test_task_failure_shows_message_box(qtbot, view, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("solver exploded\nsecond line")
    monkeypatch.setattr(work, "optimize", boom)
    small(view)
    run_and_wait(qtbot, view)
    assert view.state == "failed"
    box = view._error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "RuntimeError: solver exploded"
    assert "Traceback" in box.detailedText()
    assert view.run_button.isEnabled()
    box.close()


def test_bad_settings_are_flagged_without_running(qtbot, view):
    view.budget.setText("lots")
    view.run_button.click()
    assert view.state == "idle" and view.panel.job is None
    assert "Capex budget" in view.form_error.text()
    view.budget.setText("")
    assert view.form_error.text() == ""


def test_settings_from_form(view):
    small(view)
    view.budget.setText("$150M")
    view.crews.setText("20")
    view.floor.setText("10,000,000")
    view.credit.setText("25e6")
    view.cvar.setValue(90)
    view.gap.setValue(1.0)
    view.retirements.setChecked(False)
    st = view.settings()
    assert st.n_paths == 10 and st.hall_critical_mw is None and st.time_limit_s == 30
    assert st.capex_budget_usd_per_year == 150e6 and st.max_conversion_mw_per_month == 20
    # a blank starting cash is the scenario's (finance.starting_cash_usd), resolved when the model is built
    assert st.min_cash_usd == 10e6 and st.credit_line_usd == 25e6 and st.starting_cash_usd is None
    assert st.cvar_level == pytest.approx(0.90) and st.mip_gap == pytest.approx(0.01)
    assert st.allow_retirements is False and st.allow_purchases is True
    view.hall.setValue(10)
    assert view.settings().hall_critical_mw == 10


@pytest.mark.parametrize("text,value", [("", None), ("50e6", 50e6), ("50,000,000", 50e6), ("$50M", 50e6),
                                        ("1.5B", 1.5e9), ("250k", 250e3)])
def test_parse_usd(text, value):
    assert parse_usd(text) == value


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "1e400"])
def test_parse_usd_rejects(text):
    with pytest.raises(ValueError):
        parse_usd(text)


def test_presentation_and_charts(view):
    assert len(view.charts()) == 3
    view.set_presentation(True)
    view.set_presentation(False)


def test_price_story_follows_the_app_settings(view):
    view.evaluation.mc.preset = "capitulation"
    assert view.settings().preset == "capitulation"
    assert view.preset_label.text() == "capitulation"
    view.evaluation.mc.preset = None
    assert view.settings().preset is None


def test_shutdown_mid_run_stops_the_thread(qtbot, view, monkeypatch):
    # The run is held on a gate at its first HiGHS step (the gate lets go when the cancel comes), so the
    # shutdown lands mid-run however fast the machine is: the run cannot have ended by itself before.
    gate = Gate()
    held_optimize(monkeypatch, gate, at=lambda frac, text: "HiGHS" in text)
    small(view)
    view.run_button.click()
    qtbot.waitUntil(lambda: "HiGHS" in view.status_label.text(), timeout=60_000)
    assert gate.holding and view.running
    task = view.panel.job
    view.shutdown()
    assert not task.running
    assert gate.passed.is_set() and not gate.timed_out and not gate.opened.is_set()   # let go by the cancel
    qtbot.waitUntil(lambda: view.state == "cancelled", timeout=10_000)


# --------------------------------------------------------------------------- labelled and failed plans
def _dressed_optimize(monkeypatch, dress) -> None:
    """The view's optimize() runs for real, then its result is dressed as another outcome (a stand-in:
    time limits are faked, never measured)."""
    original = work.optimize

    def dressed(sc, st, progress=None, cancel=None, **kwargs):
        return dress(original(sc, st, progress=progress, cancel=cancel, **kwargs))
    monkeypatch.setattr(work, "optimize", dressed)


def test_time_limited_plan_at_a_huge_gap_is_labelled_a_draft_everywhere(qtbot, view, monkeypatch):
    from dataclasses import replace

    _dressed_optimize(monkeypatch, lambda res: replace(res, status="time_limit", mip_gap=4.26,
                                                       bound_usd=res.objective_usd * 5.26))
    small(view)
    run_and_wait(qtbot, view)
    assert view.state == "done"
    status = view.status_label.text()
    assert "NOT proven optimal: gap 426%" in status and "treat as a draft" in status
    assert view.kpi_label.text().startswith("DRAFT, NOT a recommendation")
    assert "MIP gap 426.00 % (best bound $" in view.kpi_label.text()
    rec = view.recommendation_label.text().splitlines()
    assert rec[0].startswith("- Plan found within the time limit of 30 s, NOT proven optimal: gap 426%")
    plan_lines = [line for line in rec[1:] if line.startswith("- ")]
    assert plan_lines and all(line.startswith("- DRAFT: ") for line in plan_lines)
    assert "#b3261e" in view.recommendation_label.styleSheet()      # in red
    assert view.apply_button.isEnabled()                             # a draft may still be applied, labelled


def test_time_limited_plan_within_5_percent_is_labelled_not_proven(qtbot, view, monkeypatch):
    from dataclasses import replace

    _dressed_optimize(monkeypatch, lambda res: replace(res, status="time_limit", mip_gap=0.012,
                                                       bound_usd=res.objective_usd * 1.012))
    small(view)
    run_and_wait(qtbot, view)
    assert "NOT proven optimal: gap 1.20%" in view.status_label.text()
    assert view.kpi_label.text().startswith("NOT proven optimal")
    assert "DRAFT" not in view.recommendation_label.text()


def test_failed_engine_check_is_an_error_not_a_plan(qtbot, view, monkeypatch):
    from dataclasses import replace

    from solvers.result import check_plan

    def wrong_value(res):
        bad = replace(res, npv_by_path_usd=res.npv_by_path_usd + 5e6, expected_npv_usd=res.expected_npv_usd + 5e6,
                      check=None, solver_status=None)
        check_plan(bad)
        return bad

    _dressed_optimize(monkeypatch, wrong_value)
    small(view)
    run_and_wait(qtbot, view)
    assert view.state == "failed"
    assert view.status_label.text().startswith("Engine check failed")
    box = view._error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "No plan: the engine check failed" in box.detailedText() and "must not be used" in box.detailedText()
    assert view.recommendation_label.text().startswith("- No plan: the engine check failed")
    assert view.kpi_label.text().startswith("ENGINE CHECK FAILED")
    assert not view.apply_button.isEnabled() and not view.export_plan_button.isEnabled()
    box.close()


def test_board_pack_note_carries_the_draft_label():
    """The plan exported to Excel (the board pack) says what the view says: a draft is a draft."""
    from dataclasses import replace

    from solvers.optimize import optimize
    from solvers.settings import OptimizerSettings
    from ui.excel_actions import plan_note

    res = optimize(load_scenario("default"), OptimizerSettings(n_paths=5, seed=2))
    draft = replace(res, status="time_limit", mip_gap=4.26, bound_usd=res.objective_usd * 5.26)
    note = plan_note(draft)
    assert "Plan found within the time limit of 60 s, NOT proven optimal: gap 426%" in note
    assert "DRAFT: " in note
    assert "NOT proven" not in plan_note(res) and "DRAFT" not in plan_note(res)


# --------------------------------------------------------------------------- how far to trust it (issue 12, item 2)

def test_after_a_plan_the_confidence_tab_says_how_far_to_trust_it(view, qtbot):
    small(view, paths=10)
    view.confidence_paths, view.confidence_replications = 300, 2
    with qtbot.waitSignal(view.state_changed, timeout=120_000, check_params_cb=lambda s: s != "running"):
        view.run()
    assert view.state == "done"
    # the thread can end before its result is delivered: wait for the result itself, not the thread
    qtbot.waitUntil(lambda: view.confidence is not None, timeout=120_000)
    conf = view.confidence
    assert conf is not None and conf.out_of_sample_paths == 300
    text = view.confidence_label.text()
    assert text.startswith("- This plan is worth $") and "mean of 300 fresh price paths" in text
    assert "re-solves" in text and "Checked on 300 fresh paths and" in view.confidence_status.text()


def test_stop_ends_the_confidence_check_and_a_new_run_cancels_it(view, qtbot, monkeypatch):
    from tests.gate import Gate

    gate = Gate()

    def held(sc, res, st, *, out_of_sample_paths, replications, progress, cancel):
        progress(0.1, "plan on fresh paths")
        gate.hold(cancel)
        from minerplan.engine.evaluate import Cancelled
        if cancel():
            raise Cancelled("stopped")
        raise AssertionError("the gate should have been cancelled")

    monkeypatch.setattr(confidence_tab, "assess_plan", held)
    small(view, paths=10)
    view.confidence_paths, view.confidence_replications = 100, 1
    with qtbot.waitSignal(view.state_changed, timeout=120_000, check_params_cb=lambda s: s != "running"):
        view.run()
    qtbot.waitUntil(lambda: gate.holding, timeout=60_000)
    assert view.confidence_running and view.confidence_stop.isEnabled()
    view.confidence_stop.click()
    qtbot.waitUntil(lambda: view.confidence_status.text() == "Confidence check stopped.", timeout=60_000)
    assert view.confidence is None
    assert not view.confidence_stop.isEnabled()
