"""Breakevens on the What-if view as a CFO uses them (pytest-qt, offscreen).

"What BTC price do we need?": the panel's numbers are checked against the solvers in
minerplan.analysis.sensitivity called directly; the run must stay off the GUI thread, cancel cleanly,
and turn stale (not recompute) when the scenario is edited afterwards.
"""

import threading

import pytest

from minerplan.scenario.files import load_scenario
from minerplan.analysis.root_finding import NoRootError
from minerplan.analysis.sensitivity import (breakeven_btc_price, conversion_breakeven_lease_rate,
                                            curtailment_power_price)
from tests.gate import Gate, deliver_posted_events, settle
from minerplan.analysis.breakevens import LeaseCase, compute_breakevens, lease_cases
from ui.document import ScenarioDocument
from ui.evaluation import Evaluation
from ui.views.whatif.breakevens_panel import BREAKEVENS_STALE_TEXT

WAIT_MS = 30_000


@pytest.fixture
def doc_eval(qtbot):
    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    yield doc, ev
    ev.wait_idle()
    doc.undo_stack.setClean()       # see tests/test_ui_market.py: a dirty document's cleanChanged lambda


@pytest.fixture
def whatif(qtbot, doc_eval):
    from ui.views.whatif.view import WhatIfView

    doc, ev = doc_eval
    view = WhatIfView(doc, ev)
    qtbot.addWidget(view)
    yield view, view.breakevens, doc
    view.shutdown()


def compute(panel, qtbot):
    with qtbot.waitSignal(panel.computed, timeout=WAIT_MS):
        assert panel.compute()
    assert panel.state == "done"


# --------------------------------------------------------------------------- the numbers

def test_breakevens_match_the_solvers_on_the_default_scenario(whatif, qtbot):
    view, panel, doc = whatif
    assert panel.btc_text() == "-" and panel.results is None
    assert panel.compute_button.isEnabled() and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.computed, timeout=WAIT_MS):
        assert view.compute_breakevens()
        assert not panel.compute_button.isEnabled() and panel.cancel_button.isEnabled()   # while running
        assert not panel.compute()                                                        # one run at a time
    assert panel.compute_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.progress.value() == 1000 and not panel.stale
    sc = doc.scenario

    # BTC price for NPV 0 (first month, whole path scaled)
    btc = breakeven_btc_price(sc)
    assert panel.btc_text() == f"${btc:,.0f} USD/BTC"
    assert 50_000 < btc < 200_000

    # North Dakota: 100 MW convertible, 40 MW already planned -> 60 MW from the month after the start
    [(site, mw, start, text, value)] = panel.lease_rows()
    assert (site, mw, start) == ("North Dakota", 60.0, "2026-01")
    lease = conversion_breakeven_lease_rate(sc, "North Dakota", 60, "2026-01")
    assert text == f"${lease:,.2f} USD/kW-month"
    assert value == pytest.approx(lease, abs=0.005)

    # one curtailment row per cohort, the same numbers as curtailment_power_price per site
    rows = panel.curtailment_rows()
    assert len(rows) == len(sc.fleet)
    expected = [(s.name, r) for s in sc.sites for r in curtailment_power_price(sc, s.name, 0).itertuples()]
    assert [r[0] for r in rows] == [name for name, _ in expected]
    for (site, cohort, model, text, value), (name, r) in zip(rows, expected):
        assert (site, cohort, model) == (name, r.cohort, r.model)
        assert value == pytest.approx(r.curtail_above_usd_per_mwh, rel=1e-12)
        assert text == f"${r.curtail_above_usd_per_mwh:,.2f} USD/MWh"
    assert {r[0] for r in rows} == {"Texas", "Georgia", "North Dakota"}
    # the tables are read-only
    item = panel.curtailment_table.item(0, 3)
    assert not (item.flags() & item.flags().ItemIsEditable)


def test_no_breakeven_shows_the_reason_in_place_of_a_number(whatif, qtbot, monkeypatch):
    from minerplan.analysis import breakevens

    view, panel, doc = whatif
    btc_msg = "NPV is positive even at a first-month BTC price of $1 (5,000,000 USD): no breakeven BTC price"
    lease_msg = "the conversion adds 1,000 USD of NPV even at a lease rate of $0/kW-month: no breakeven lease rate"

    def no_root(msg):
        def f(*a, **k):
            raise NoRootError(msg)
        return f

    monkeypatch.setattr(breakevens, "breakeven_btc_price", no_root(btc_msg))
    monkeypatch.setattr(breakevens, "conversion_breakeven_lease_rate", no_root(lease_msg))
    compute(panel, qtbot)
    assert panel.btc_text() == btc_msg and "$1" in panel.btc_text()
    [(site, mw, start, text, value)] = panel.lease_rows()
    assert site == "North Dakota" and text == lease_msg and value is None
    assert len(panel.curtailment_rows()) == 6            # the rest is still computed


def test_failure_is_reported_and_the_button_comes_back(whatif, qtbot, monkeypatch):
    from minerplan.analysis import breakevens

    view, panel, doc = whatif

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(breakevens, "curtailment_power_price", boom)
    with qtbot.waitSignal(panel.state_changed, timeout=WAIT_MS, check_params_cb=lambda s: s == "failed"):
        panel.compute()
    assert "boom" in panel.status_label.text() and "Traceback" not in panel.status_label.text()
    assert panel.compute_button.isEnabled() and panel.results is None


def test_lease_cases_follow_the_cli_and_a_scenario_without_ai_has_none(whatif, qtbot):
    view, panel, doc = whatif
    assert lease_cases(doc.scenario) == [LeaseCase("North Dakota", 60.0, "2026-01")]
    doc.edit_dict(lambda d: d.update(conversion_plan=[]), "no conversions")
    assert lease_cases(doc.scenario) == [LeaseCase("North Dakota", 100.0, "2026-01")]

    def no_ai(d):
        d["conversion_plan"] = []
        for s in d["sites"]:
            s.pop("ai", None)
    doc.edit_dict(no_ai, "no AI sites")
    assert lease_cases(doc.scenario) == []
    compute(panel, qtbot)
    assert panel.lease_rows() == [] and "No AI-capable site" in panel.lease_note.text()
    assert panel.btc_text().endswith(" USD/BTC")


def test_compute_breakevens_reports_progress_in_order_and_cancels():
    sc = load_scenario("default")
    seen = []
    res = compute_breakevens(sc, progress=lambda f, t: seen.append(f))
    assert seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)                          # the bar never goes back
    assert res.scenario is sc and len(res.lease) == 1
    from minerplan.engine.evaluate import Cancelled
    with pytest.raises(Cancelled):
        compute_breakevens(sc, cancel=lambda: True)


# --------------------------------------------------------------------------- background run

def test_cancel_right_after_start_leaves_no_results(whatif, qtbot):
    view, panel, doc = whatif
    with qtbot.waitSignal(panel.state_changed, timeout=WAIT_MS, check_params_cb=lambda s: s != "running"):
        assert panel.compute()
        panel.cancel()
        assert not panel.cancel_button.isEnabled() and not panel.compute_button.isEnabled()
    assert panel.state == "cancelled" and "Cancelled" in panel.status_label.text()
    assert panel.results is None and panel.btc_text() == "-"
    assert panel.curtailment_table.rowCount() == 0 and panel.lease_table.rowCount() == 0
    assert panel.compute_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert not panel.job.thread_alive                   # its thread has ended: nothing more can come
    deliver_posted_events()                              # and what it sent before has been handled
    assert panel.results is None and panel.state == "cancelled" and panel.btc_text() == "-"


def test_closing_the_view_while_computing_stops_the_thread(whatif, qtbot):
    view, panel, doc = whatif
    panel.compute()
    job = panel.job
    view.shutdown()
    assert not job.running and not job.thread_alive and panel.results is None


def test_editing_after_a_run_marks_results_stale_without_recomputing(whatif, qtbot):
    view, panel, doc = whatif
    compute(panel, qtbot)
    job, btc_text, rows = panel.job, panel.btc_text(), panel.curtailment_rows()
    assert not panel.stale and panel.stale_label.isHidden()
    doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")
    assert panel.stale and not panel.stale_label.isHidden()
    assert panel.stale_label.text() == BREAKEVENS_STALE_TEXT == "(scenario changed: compute again)"
    grey = panel.curtailment_table.item(0, 3).foreground().color().name()
    assert grey == "#9aa0a6" and panel.lease_table.item(0, 3).foreground().color().name() == grey
    assert "#9aa0a6" in panel.btc_label.styleSheet()
    settle(qtbot, view)                                                 # all the edit set going has happened
    assert panel.job is job and panel.state == "done"                   # no automatic recomputation
    assert panel.btc_text() == btc_text and panel.curtailment_rows() == rows
    doc.undo_stack.undo()                                               # back to the scenario computed
    assert not panel.stale and panel.stale_label.isHidden()
    assert panel.curtailment_table.item(0, 3).foreground().color().name() != grey
    doc.undo_stack.redo()
    assert panel.stale
    compute(panel, qtbot)                                               # on request: fresh numbers
    assert not panel.stale and panel.stale_label.isHidden()
    assert panel.btc_text() == f"${breakeven_btc_price(doc.scenario):,.0f} USD/BTC" != btc_text


def test_edit_during_the_run_shows_the_results_as_stale(whatif, qtbot):
    view, panel, doc = whatif
    with qtbot.waitSignal(panel.computed, timeout=WAIT_MS):
        panel.compute()
        doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")
    assert panel.results.scenario is not doc.scenario and panel.stale


def test_gui_thread_keeps_ticking_while_computing(whatif, qtbot, monkeypatch):
    # The run is held on a gate right after its first progress report until the test opens it, so
    # everything below is checked while the run provably has not finished, however fast the machine.
    from minerplan.analysis import breakevens

    view, panel, doc = whatif
    gate = Gate()
    original = breakevens.compute_breakevens

    def held(sc, progress=None, cancel=None):
        return original(sc, gate.progress(progress, cancel), cancel)

    monkeypatch.setattr(breakevens, "compute_breakevens", held)
    with gate.ticking() as ticks:   # one per timer tick: was the worker at the gate then?
        assert panel.compute()
        assert not gate.passed.is_set()      # compute() returned before the run could finish: the work is elsewhere
        assert panel.running and not panel.compute_button.isEnabled() and panel.cancel_button.isEnabled()
        qtbot.waitUntil(gate.reached.is_set, timeout=WAIT_MS)
        assert gate.thread is not threading.main_thread()
        # the worker sits mid-run at the gate; meanwhile the GUI thread's event loop keeps turning
        qtbot.waitUntil(lambda: ticks.count(True) >= 5, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: 0 < panel.progress.value() < 1000, timeout=WAIT_MS)   # progress arrived meanwhile
        assert gate.holding and panel.running and panel.results is None
    qtbot.waitUntil(lambda: panel.state != "running", timeout=WAIT_MS)
    assert panel.state == "done" and not gate.timed_out
    assert panel.progress.value() == 1000 and panel.results.scenario is doc.scenario
