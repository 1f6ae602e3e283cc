"""The Risk view (pytest-qt, offscreen): hedge table, background evaluation, stale marking, hedge files.

The numbers shown are checked against minerplan.analysis.hedges.compare on run_engine with the same
paths and seed; the run stays off the GUI thread and cancels cleanly.
"""

import json
import threading

import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.analysis.hedges import compare
from minerplan.scenario.hedges import hedges_from_dict, load_hedges
from minerplan.scenario.months import add_months
from minerplan.markets.prices import deterministic_path
from minerplan.formats import usd
from tests.gate import Gate, deliver_posted_events
from ui.document import ScenarioDocument
from ui.evaluation import Evaluation
from ui.views.risk.results import METRICS, format_metric, metric_label
from ui.views.risk.view import RISK_STALE_TEXT

WAIT_MS = 30_000
PATHS, SEED = 60, 7


@pytest.fixture
def view(qtbot):
    from ui.views.risk.view import RiskView

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths, ev.mc.seed = PATHS, SEED
    ev.refresh()
    v = RiskView(doc, ev)
    qtbot.addWidget(v)
    yield v
    v.shutdown()
    ev.wait_idle()
    doc.undo_stack.setClean()


def evaluate(v, qtbot):
    with qtbot.waitSignal(v.evaluated, timeout=WAIT_MS):
        assert v.evaluate()
    assert v.state == "done"


def test_add_put_has_scenario_defaults(view):
    sc = view.doc.scenario
    assert view.model.rowCount() == 0 and view.evaluate_button.isEnabled()
    r = view.model.add("btc_put")
    row = view.model.rows[r]
    btc0 = float(deterministic_path(sc)[0])
    assert row["strike_usd"] == pytest.approx(round(0.85 * btc0))
    assert row["expiry_month"] == add_months(sc.start_month, 6)
    assert (row["implied_vol_pct"], row["risk_free_pct"]) == (50.0, 4.0)
    f = view.model.rows[view.model.add("hashprice_forward")]
    hp = view.evaluation.result.hashprice_usd_per_th_day[0, 0] * 1000
    assert f["start_month"] == sc.start_month and f["fixed_usd_per_ph_day"] == round(hp)
    view.model.set_kind(1, "btc_collar")           # switching kind gives the kind's fields
    assert set(view.model.rows[1]) == {"kind", "put_strike_usd", "call_strike_usd", "btc_amount", "expiry_month",
                                       "implied_vol_pct", "risk_free_pct"}
    assert view.book is not None and len(view.book.hedges) == 2
    view.model.remove(0)
    assert [h.kind for h in view.book.hedges] == ["btc_collar"]


def test_evaluate_matches_compare_on_run_engine(view, qtbot):
    view.model.add("btc_put")
    view.model.set_value(0, "strike_usd", "90,000")           # typed in the cell
    view.model.set_value(0, "btc_amount", "250")
    evaluate(view, qtbot)
    sc = view.doc.scenario
    book = hedges_from_dict(view.model.to_dict())
    assert book.hedges[0].strike_usd == 90_000.0
    expected = compare(run_engine(sc, n_paths=PATHS, seed=SEED), book)
    rows = view.summary_rows()
    assert [r[0] for r in rows] == [metric_label(key, PATHS) for key, _ in METRICS]
    for (key, _), (_, unhedged, hedged) in zip(METRICS, rows):
        assert unhedged == format_metric(key, expected["unhedged"][key])
        assert hedged == format_metric(key, expected["hedged"][key])
    assert expected["unhedged"]["n_paths"] == PATHS
    [(idx, kind, premium, value)] = view.hedge_rows()
    assert (idx, kind) == ("1", "BTC put")
    assert premium == usd(expected["hedges"][0]["premium_usd"])
    assert value == usd(expected["hedges"][0]["mean_pv_after_tax_usd"])
    assert len(view.chart._series) == 2 and view.chart._series[0][1].size == PATHS
    assert not view.stale and view.stale_label.isHidden()


def test_edits_mark_results_stale(view, qtbot):
    view.model.add("btc_put")
    evaluate(view, qtbot)
    view.model.set_value(0, "btc_amount", "10")
    assert view.stale and not view.stale_label.isHidden() and view.stale_label.text() == RISK_STALE_TEXT
    assert view.summary_table.item(0, 1).foreground().color().name() == "#9aa0a6"
    view.model.set_value(0, "btc_amount", "100")               # back to what was evaluated
    assert not view.stale
    view.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")
    assert view.stale
    view.doc.undo_stack.undo()
    assert not view.stale


def test_cancel_leaves_no_results(view, qtbot):
    view.model.add("btc_put")
    with qtbot.waitSignal(view.state_changed, timeout=WAIT_MS, check_params_cb=lambda s: s != "running"):
        assert view.evaluate()
        assert not view.evaluate()                             # one run at a time
        view.cancel()
        assert not view.cancel_button.isEnabled() and not view.evaluate_button.isEnabled()
    assert view.state == "cancelled" and "Cancelled" in view.status_label.text()
    assert view.results is None and view.summary_table.rowCount() == 0 and view.hedge_results_table.rowCount() == 0
    assert not view.job.thread_alive                          # its thread has ended: nothing more can come
    deliver_posted_events()                                    # and what it sent before has been handled
    assert view.results is None and view.state == "cancelled" and view.evaluate_button.isEnabled()


def test_bad_hedge_names_the_field_and_disables_evaluate(view):
    view.model.add("hashprice_forward")
    view.model.add("btc_put")
    view.model.set_value(1, "strike_usd", "-5")
    assert "hedges[1].strike_usd" in view.validation_label.text()
    assert not view.evaluate_button.isEnabled() and not view.evaluate()
    assert (1, "strike") in view.model.errors
    view.model.set_value(1, "strike_usd", "80000")
    assert view.evaluate_button.isEnabled() and view.validation_label.text().startswith("2 hedges")
    last = add_months(view.doc.scenario.start_month, view.doc.scenario.horizon_months)   # one past the horizon
    view.model.set_value(1, "expiry_month", last)
    assert "hedges[1].expiry_month" in view.validation_label.text() and not view.evaluate_button.isEnabled()


def test_save_load_round_trip_and_bad_file(view, tmp_path):
    view.model.add("btc_put")
    view.model.add("btc_collar")
    view.model.add("hashprice_forward")
    view.model.set_value(0, "implied_vol_pct", "62.5")
    path = tmp_path / "hedges.json"
    assert view.save_file(str(path))
    saved = load_hedges(path)
    assert saved == view.book and json.loads(path.read_text())["schema_version"] == 1
    rows = [dict(r) for r in view.model.rows]
    view.model.remove(0)
    assert view.load_file(str(path))
    assert view.model.rows == rows and view.book == saved

    errors = []
    view.show_error = lambda title, msg: errors.append(msg)
    bad = tmp_path / "bad.json"
    doc = saved.model_dump(mode="json")
    doc["hedges"][1]["btc_amount"] = -1
    bad.write_text(json.dumps(doc))
    assert not view.load_file(str(bad))
    assert len(errors) == 1 and "hedges[1].btc_amount" in errors[0]
    assert view.model.rows == rows                            # the table is kept


def test_gui_thread_keeps_ticking_while_evaluating(view, qtbot, monkeypatch):
    # The run is held on a gate right after its first progress report until the test opens it, so
    # everything below is checked while the run provably has not finished, however fast the machine.
    from ui.views.risk import view as risk_view

    gate = Gate()
    original = risk_view.evaluate_hedges

    def held(sc, book, *, progress=None, cancel=None, **kw):
        return original(sc, book, progress=gate.progress(progress, cancel), cancel=cancel, **kw)

    monkeypatch.setattr(risk_view, "evaluate_hedges", held)
    view.evaluation.mc.paths = 200
    view.model.add("btc_put")
    with gate.ticking() as ticks:   # one per timer tick: was the worker at the gate then?
        assert view.evaluate()
        assert not gate.passed.is_set()      # evaluate() returned before the run could finish: the work is elsewhere
        assert view.running and not view.evaluate_button.isEnabled() and view.cancel_button.isEnabled()
        qtbot.waitUntil(gate.reached.is_set, timeout=WAIT_MS)
        assert gate.thread is not threading.main_thread()
        # the worker sits mid-run at the gate; meanwhile the GUI thread's event loop keeps turning
        qtbot.waitUntil(lambda: ticks.count(True) >= 5, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: 0 < view.progress.value() < 1000, timeout=WAIT_MS)   # progress arrived meanwhile
        assert gate.holding and view.running and view.results is None
    qtbot.waitUntil(lambda: view.state != "running", timeout=WAIT_MS)
    assert view.state == "done" and not gate.timed_out
    assert view.progress.value() == 1000 and view.results.paths == 200


def _arrays_held_by(view) -> list:
    """Every numpy array reachable from the view's own Python objects (its widgets, chart items, results,
    job), not through the document or the app's evaluation, which the view shares with the others."""
    import gc
    import types

    import numpy as np

    shared = {id(view.doc), id(view.evaluation)}
    seen, todo, found = set(), [view], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen or id(obj) in shared:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            found.append(obj)
            continue
        if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, str, bytes)):
            continue
        todo.extend(gc.get_referents(obj))
    return found


def test_a_big_run_leaves_only_what_the_view_shows(view, qtbot):
    # Issue 11 (a 100,000-path run kept its arrays): what the view keeps must not grow with the paths. No
    # array longer than the chart's curve (before: two [path] arrays in the results, two in the job, and
    # the chart's), the job's reference dropped, and the memory left behind far below what the run used.
    import gc
    import tracemalloc

    import numpy as np

    from ui.views.risk.results import CURVE_POINTS

    paths = 5_000                                       # more paths than CURVE_POINTS: the curves are thinned
    view.model.add("btc_put")                           # an edit of the scenario: the app's fan runs again ...
    view.evaluation.wait_idle()                         # ... (60 paths) and is done before measuring
    deliver_posted_events()
    view.evaluation.mc.paths = paths
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        evaluate(view, qtbot)
        assert not view.job.thread_alive
        deliver_posted_events()
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert view.results.paths == paths and view.job.result is None
    arrays = _arrays_held_by(view)
    assert arrays and max(a.nbytes for a in arrays) <= CURVE_POINTS * 8
    used = peak - before                                # the engine's [path, month] arrays while it ran
    assert used > 20_000_000 and kept - before < used / 20
    # the curves still span every path, worst to best
    x, npv = view.chart._series[0][1], view.chart._series[0][2]
    assert x.size == CURVE_POINTS and x[0] == pytest.approx(50 / paths) and x[-1] == pytest.approx(100 - 50 / paths)
    unhedged = view.results.comparison["unhedged"]
    assert np.all(np.diff(npv) >= 0) and npv[0] < unhedged["p5_usd"] < npv[CURVE_POINTS // 2] < unhedged["p95_usd"]


def test_distribution_curve_keeps_the_extremes_and_the_order():
    import numpy as np

    from ui.views.risk.results import distribution_curve

    rng = np.random.default_rng(3)
    npv = rng.normal(size=10_007)
    x, y = distribution_curve(npv, points=101)
    ranked = np.sort(npv)
    assert x.size == y.size == 101 and y[0] == ranked[0] and y[-1] == ranked[-1] and np.all(np.diff(y) >= 0)
    assert np.all(np.isin(y, ranked))                  # order statistics, not interpolated values
    x, y = distribution_curve(npv[:50], points=101)    # fewer paths than points: every path
    assert np.array_equal(y, np.sort(npv[:50])) and np.allclose(x, (np.arange(50) + 0.5) / 50 * 100)


def test_a_hedge_beyond_its_plausible_range_is_named_but_allowed(view, tmp_path):
    # Plausibility (issue 11): a fixed hashprice of $900/PH/day (the 2021-2025 range was ~$35-400)
    # loads and can be evaluated, and the panel names the field and the range in amber.
    view.model.add("hashprice_forward")
    assert view.book is not None and "Check:" not in view.validation_label.text()
    doc = view.book.model_dump(mode="json")
    doc["hedges"][0]["fixed_usd_per_ph_day"] = 900
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    assert view.load_file(str(path))
    text = view.validation_label.text()
    assert view.book is not None and view.evaluate_button.isEnabled()
    assert "Check: hedges[0].fixed_usd_per_ph_day: 900 USD per PH/s per day is above the plausible range" in text
    assert "8a5a00" in view.validation_label.styleSheet()


def test_hedge_edits_are_undoable_saved_with_the_scenario_and_shown_when_opened(view, tmp_path):
    doc, stack = view.doc, view.doc.undo_stack
    assert doc.scenario.hedges is None and view.model.rows == []
    view.model.add("btc_put")
    view.model.set_value(0, "strike_usd", "80,000")
    assert [stack.text(i) for i in range(stack.count())] == ["Add hedge (BTC put)", "Edit hedge 1 strike_usd"]
    assert [h.strike_usd for h in doc.scenario.hedges] == [80_000.0]

    # an invalid value stays a draft in the table (named, Evaluate off); the scenario keeps its book
    view.model.set_value(0, "strike_usd", "-5")
    assert stack.count() == 2 and doc.scenario.hedges[0].strike_usd == 80_000.0
    assert (0, "strike") in view.model.errors and not view.evaluate_button.isEnabled()
    doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")    # another edit keeps it
    assert view.model.rows[0]["strike_usd"] == -5.0 and (0, "strike") in view.model.errors
    stack.undo()                                             # the pool fee

    # undo and redo restore the book in the scenario and the table
    stack.undo()
    assert doc.scenario.hedges[0].strike_usd != 80_000.0 and view.model.rows[0]["strike_usd"] != 80_000.0
    assert not view.model.errors and view.evaluate_button.isEnabled()
    stack.undo()
    assert doc.scenario.hedges is None and view.model.rows == [] and view.book.hedges == []
    stack.redo()
    stack.redo()
    assert view.model.rows[0]["strike_usd"] == 80_000.0 and view.book.hedges[0].strike_usd == 80_000.0

    # saving writes the book; opening the file shows it
    path = tmp_path / "with hedges.json"
    doc.save(str(path))
    assert json.loads(path.read_text())["hedges"][0]["strike_usd"] == 80_000.0
    view.model.remove(0)
    assert doc.scenario.hedges is None and stack.undoText() == "Remove hedge 1"
    doc.load(str(path))
    assert [r["strike_usd"] for r in view.model.rows] == [80_000.0] and stack.count() == 0
    assert view.book.hedges == doc.scenario.hedges
