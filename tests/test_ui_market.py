"""Market, what-if and compare views as a person uses them (pytest-qt, offscreen).

Every scenario edit is checked against the document (value, undo) and the evaluation (the engine
result follows); what-ifs are checked against direct engine runs; invalid input must be flagged
where it was typed and leave the scenario alone.
"""

import json

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.months import add_months
from minerplan.markets.prices import PRESETS, deterministic_path
from minerplan.analysis.report import summary
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, scenario_from_dict, scenario_to_dict
from tests.gate import settle
from ui.charts import month_ts
from ui.document import ScenarioDocument
from ui.evaluation import Evaluation


@pytest.fixture
def doc_eval(qtbot):
    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    yield doc, ev
    ev.mc.paths = 1
    ev.wait_idle()
    # ScenarioDocument's cleanChanged lambda fires on a deleted object when a dirty document is
    # destroyed (reported, not ours to fix): leave it clean, as tests/test_ui_main.py does.
    doc.undo_stack.setClean()


@pytest.fixture
def market(qtbot, doc_eval):
    from ui.views.market.view import MarketView

    doc, ev = doc_eval
    view = MarketView(doc, ev)
    qtbot.addWidget(view)
    return view, doc, ev


@pytest.fixture
def whatif(qtbot, doc_eval):
    from ui.views.whatif.view import WhatIfView

    doc, ev = doc_eval
    view = WhatIfView(doc, ev)
    qtbot.addWidget(view)
    return view, doc, ev


@pytest.fixture
def compare(qtbot, doc_eval):
    from ui.views.compare import CompareView

    doc, ev = doc_eval
    view = CompareView(doc, ev)
    qtbot.addWidget(view)
    return view, doc, ev


def npv_of(sc) -> float:
    return float(run_engine(sc).npv_usd[0])


def with_dict(sc, mutate):
    d = scenario_to_dict(sc)
    mutate(d)
    return scenario_from_dict(d)


# --------------------------------------------------------------------------- market view

def test_views_follow_the_view_protocol(market, whatif, compare):
    for view, *_ in (market, whatif, compare):
        assert view.charts() and all(hasattr(c, "export_png") for c in view.charts())
        view.set_presentation(True)
        view.set_presentation(False)


def test_points_model_passes_the_model_tester(market, qtmodeltester):
    view, doc, _ = market
    qtmodeltester.check(view.points_model)               # no points yet
    view.apply_preset("capitulation")
    assert view.points_model.rowCount() == 3
    qtmodeltester.check(view.points_model)
    # a flagged cell must not break the model either
    view.points_model.setData(view.points_model.index(1, 1), "-5")
    qtmodeltester.check(view.points_model)


def test_price_kind_growth_changes_scenario_and_result_and_undoes(market):
    view, doc, ev = market
    before = ev.result.btc_price_usd[0].copy()
    i = view.kind.findData("growth")
    view.kind.setCurrentIndex(i)
    view.kind.activated.emit(i)
    assert doc.scenario.price_path.kind == "growth"
    growth = view.fields["price_path.growth_pct_per_month"]
    assert growth.isEnabled()
    assert growth.set_value_text("2")
    assert doc.scenario.price_path.growth_pct_per_month == 2.0
    expected = 91_500 * 1.02 ** np.arange(doc.scenario.horizon_months)
    np.testing.assert_allclose(ev.result.btc_price_usd[0], expected, rtol=1e-12)
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.scenario.price_path.kind == "flat"
    assert view.kind.currentData() == "flat"
    np.testing.assert_array_equal(ev.result.btc_price_usd[0], before)


def test_switching_to_points_seeds_points_from_the_current_path(market):
    view, doc, ev = market
    assert view.set_kind("points")
    pts = doc.scenario.price_path.points
    assert [p.month for p in pts] == ["2025-12", add_months("2025-12", 59)]
    assert all(p.btc_price_usd == 91_500 for p in pts)
    assert view.points_model.rowCount() == 2 and len(view.targets) == 2


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_button_writes_points_undoably(market, qtbot, name):
    view, doc, ev = market
    npv0 = ev.summary["npv_usd"]
    qtbot.mouseClick(view.preset_buttons[name], Qt.MouseButton.LeftButton)
    sc = doc.scenario
    assert sc.price_path.kind == "points"
    assert [(p.month, p.btc_price_usd) for p in sc.price_path.points] == \
        [(add_months(sc.start_month, m), usd) for m, usd in PRESETS[name].points]
    # the engine now sees exactly the preset's path, and the NPV moved with it
    np.testing.assert_allclose(ev.result.btc_price_usd[0], deterministic_path(sc, preset=name))
    np.testing.assert_allclose(view._path_item.yData, deterministic_path(sc, preset=name))     # the chart too
    assert len(view.targets) == len(PRESETS[name].points)
    assert ev.summary["npv_usd"] == pytest.approx(summary(run_engine(sc))["npv_usd"])
    assert ev.summary["npv_usd"] != npv0
    doc.undo_stack.undo()
    assert doc.scenario.price_path.kind == "flat"
    assert ev.summary["npv_usd"] == pytest.approx(npv0)


def test_dragging_a_point_snaps_to_a_month_and_is_undoable(market, qtbot):
    view, doc, ev = market
    view.apply_preset("capitulation")
    target = view.targets[2]                             # 2026-02, $73,000
    x = month_ts(["2026-06"])[0] + 9 * 86_400            # 9 days into June: snaps to 2026-06
    target.setPos(x, 60_000.4)
    target.sigPositionChangeFinished.emit(target)        # what the end of a mouse drag emits
    qtbot.waitUntil(lambda: doc.scenario.price_path.points[2].month == "2026-06", timeout=30_000)
    assert doc.scenario.price_path.points[2].btc_price_usd == 60_000.0
    assert ev.result.btc_price_usd[0][6] == pytest.approx(60_000.0)
    # linear from 2026-01 ($79,750, month 1) to 2026-06 ($60,000, month 6)
    assert ev.result.btc_price_usd[0][4] == pytest.approx(79_750 + (60_000 - 79_750) * 3 / 5)
    # a point cannot pass its neighbour: the month is clamped between them
    t1 = view.targets[1]
    t1.setPos(month_ts(["2027-01"])[0], 80_000)
    t1.sigPositionChangeFinished.emit(t1)
    qtbot.waitUntil(lambda: doc.scenario.price_path.points[1].btc_price_usd == 80_000, timeout=30_000)
    assert doc.scenario.price_path.points[1].month == "2026-05"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.scenario.price_path.points[2].month == "2026-02"


def test_table_edit_changes_the_point_and_invalid_cells_are_flagged(market):
    view, doc, ev = market
    view.apply_preset("capitulation")
    m = view.points_model
    assert m.setData(m.index(1, 1), "$75,000")
    assert doc.scenario.price_path.points[1].btc_price_usd == 75_000
    assert ev.result.btc_price_usd[0][1] == 75_000
    sc, n = doc.scenario, doc.undo_stack.count()
    for cell, text, rule in (((1, 1), "-5", "Price points row 2, BTC price: must be at least 1"),
                             ((0, 0), "2024-01", "before start_month"),
                             ((1, 0), "2026-13", "YYYY-MM"),
                             ((2, 0), "2026-01", "increasing month order"),
                             ((2, 1), "lots", "must be a number")):
        idx = m.index(*cell)
        assert not m.setData(idx, text)
        assert doc.scenario is sc and doc.undo_stack.count() == n       # nothing changed
        assert m.data(idx) == text                                     # the typed value stays in place...
        assert m.data(idx, Qt.ItemDataRole.BackgroundRole) is not None  # ...in red...
        assert rule in m.data(idx, Qt.ItemDataRole.ToolTipRole)        # ...naming the rule
    doc.undo_stack.undo()                                              # any document change clears the flags
    assert not m.flagged_cells()


def test_invalid_market_field_is_flagged_and_does_not_change_the_scenario(market):
    view, doc, ev = market
    f = view.fields["market.btc_price_usd"]
    sc, npv = doc.scenario, ev.summary["npv_usd"]
    assert not f.set_value_text("-5")
    assert doc.scenario is sc and doc.undo_stack.count() == 0 and ev.summary["npv_usd"] == npv
    assert "fde2e1" in f.styleSheet()
    assert "Field: market.btc_price_usd" in f.toolTip() and "Market, BTC price (USD): must be at least 1" in f.toolTip()
    assert f.text() == "-5"
    height = view.fields["market.block_height"]
    assert not height.set_value_text("925000.5")
    assert "must be a whole number" in height.toolTip()
    # another edit leaves the flagged fields alone; a valid value clears the flag and is undoable
    assert view.fields["market.fees_btc_per_block"].set_value_text("0.03")
    assert f.text() == "-5" and f.error
    assert f.set_value_text("100,000")
    assert f.error is None and f.styleSheet() == ""
    assert doc.scenario.market.btc_price_usd == 100_000
    assert ev.result.btc_price_usd[0][0] == 100_000
    doc.undo_stack.undo()
    assert doc.scenario.market.btc_price_usd == 91_500 and f.text() == "91,500"


@pytest.mark.parametrize("path, text, value", [
    ("market.hashrate_growth_pct_per_month", "2.5", 2.5),
    ("market.fee_growth_pct_per_month", "1", 1.0),
    ("market.block_height", "1,000,000", 1_000_000),
    ("monte_carlo.drift_pct_per_year", "10", 10.0),
    ("monte_carlo.volatility_pct_per_year", "80", 80.0),
])
def test_network_and_mc_fields_edit_the_scenario(market, path, text, value):
    view, doc, ev = market
    assert view.fields[path].set_value_text(text)
    section, key = path.split(".")
    assert getattr(getattr(doc.scenario, section), key) == value
    assert doc.undo_stack.count() == 1


def test_hashrate_growth_field_moves_the_engine(market):
    view, doc, ev = market
    field = view.fields["market.hashrate_growth_pct_per_month"]
    assert doc.scenario.market.network_model == "supply" and not field.isEnabled()   # the supply model has no trend
    assert view.set_network_model("trend")
    assert field.isEnabled()
    npv0 = ev.summary["npv_usd"]
    field.set_value_text("2")
    assert ev.summary["npv_usd"] < npv0                   # faster network growth, less BTC for us
    assert ev.result.network.network_hashrate_ehs[0][-1] > 1_040 * 1.02 ** 50


def test_difficulty_and_online_hashrate_fields(market):
    view, doc, ev = market
    mk = doc.scenario.market
    assert mk.difficulty == pytest.approx(149.3e12, rel=1e-3) and mk.network_hashrate_ehs == 1040
    hp0 = ev.summary["hashprice_usd_per_ph_day"]
    btc0 = ev.result.btc_mined[0, 0].sum()
    # Less hashrate online at the same difficulty: slower blocks, so the next retarget comes later and lower,
    # and hashprice per TH (set by difficulty) ends the first month at least as high.
    assert view.fields["market.network_hashrate_ehs"].set_value_text("950")
    assert ev.summary["hashprice_usd_per_ph_day"] >= hp0
    # Blank: what the difficulty implies (H = D x 2^32 / 600, ~1,069 EH/s).
    assert view.fields["market.network_hashrate_ehs"].set_value_text("")
    assert doc.scenario.market.network_hashrate_ehs is None
    assert doc.scenario.market.online_hashrate_ehs == pytest.approx(mk.difficulty * 2**32 / 600 / 1e18)
    # Both blank is refused, named.
    assert not view.fields["market.difficulty"].set_value_text("")
    assert "difficulty" in view.fields["market.difficulty"].toolTip()
    view.fields["market.difficulty"].load()
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.scenario.market.network_hashrate_ehs == 1040
    assert ev.result.btc_mined[0, 0].sum() == pytest.approx(btc0)


def test_add_and_remove_points(market):
    view, doc, ev = market
    view.apply_preset("capitulation")
    assert view.add_point(12, 100_000)
    assert [p.month for p in doc.scenario.price_path.points][-1] == "2026-12"
    assert ev.result.btc_price_usd[0][12] == 100_000
    assert view.remove_points([0, 1])
    assert len(doc.scenario.price_path.points) == 2
    assert ev.result.btc_price_usd[0][0] == 91_500       # the start price anchors month 0 again
    assert not view.remove_points([0, 1])                # kind 'points' needs a point: refused, explained
    assert "at least one" in view.status.text() and len(doc.scenario.price_path.points) == 2


def test_monte_carlo_settings_go_to_the_evaluation_and_draw_a_fan(market, qtbot):
    view, doc, ev = market
    view.paths_spin.setValue(64)
    view.seed_spin.setValue(7)
    view.apply_mc_settings()
    assert (ev.mc.paths, ev.mc.seed) == (64, 7)
    # not ev.wait_idle(): the worker thread only quits once the GUI thread handles its result
    qtbot.waitUntil(lambda: view._current_mc() is not None, timeout=30_000)
    assert ev.mc_result.n_paths == 64 and doc.undo_stack.count() == 0     # settings, not scenario edits
    assert any(isinstance(it, pg.FillBetweenItem) for it in view.chart.item.items)
    view.paths_spin.setValue(1)
    view.apply_mc_settings()
    assert not any(isinstance(it, pg.FillBetweenItem) for it in view.chart.item.items)


# --------------------------------------------------------------------------- what-if view

def test_whatif_slider_changes_npv_and_chart_but_not_the_document(whatif):
    view, doc, ev = whatif
    sc, n = doc.scenario, doc.undo_stack.count()
    label0 = view.kpi_labels["npv"].text()
    base_cf, what_cf = view.cash_flow_series()
    np.testing.assert_allclose(base_cf, what_cf)
    count = view.redraw_count
    view.controls["btc"].slider.setValue(120_000 // 500)           # the user drags the slider
    assert view.redraw_count == count + 1
    assert view.controls["btc"].value() == 120_000
    assert doc.scenario is sc and doc.undo_stack.count() == n
    expected = with_dict(sc, lambda d: d["market"].update(btc_price_usd=120_000.0))
    assert view.kpis["npv_usd"] == pytest.approx(npv_of(expected))
    assert view.kpi_labels["npv"].text() != label0
    assert "USD" in view.kpi_labels["npv"].text()
    assert "USD/BTC" in view.kpi_labels["cost"].text() and "USD/PH/day" in view.kpi_labels["hashprice"].text()
    base_cf2, what_cf2 = view.cash_flow_series()
    np.testing.assert_allclose(base_cf2, base_cf)
    np.testing.assert_allclose(what_cf2, run_engine(expected).net_cash_flow_usd[0] / 1e6)
    assert what_cf2.sum() > base_cf.sum()
    # the KPIs are the CLI's figures
    s = summary(run_engine(expected))
    for k in ("npv_usd", "cost_per_btc_cash_usd", "cost_per_btc_all_in_usd", "hashprice_usd_per_ph_day"):
        assert view.kpis[k] == pytest.approx(s[k])


def test_whatif_other_controls_match_direct_runs(whatif):
    from minerplan.analysis.one_path import scale_power

    view, doc, ev = whatif
    sc = doc.scenario
    view.set_power_price_pct(120)
    assert view.kpis["npv_usd"] == pytest.approx(npv_of(with_dict(sc, lambda d: scale_power(d, 1.2))))
    view.set_power_price_pct(100)
    view.set_lease_rate(168)
    leased = with_dict(sc, lambda d: d["sites"][2]["ai"]["colocation"].update(rate_usd_per_kw_month=168.0))
    assert view.kpis["npv_usd"] == pytest.approx(npv_of(leased))
    view.set_lease_rate(140)
    # The supply network has no growth trend: the network control is its build cost.
    assert view.controls["growth"].isHidden() and not view.controls["build"].isHidden()
    view.set_network_build_cost(1.2)
    cheap = with_dict(sc, lambda d: d["market"].setdefault("network_supply", {}).update(new_capex_usd_per_w=1.2))
    assert view.kpis["npv_usd"] == pytest.approx(npv_of(cheap))
    assert npv_of(cheap) < npv_of(sc)               # cheaper machines for everyone: more hashrate, less BTC for us
    view.set_network_build_cost(1.58)
    assert doc.scenario is sc
    # On the trend network the control is the growth trend.
    doc.edit_dict(lambda d: d["market"].update(network_model="trend"), "trend")
    sc = doc.scenario
    assert not view.controls["growth"].isHidden() and view.controls["build"].isHidden()
    view.set_hashrate_growth(0.5)
    slow = with_dict(sc, lambda d: d["market"].update(hashrate_growth_pct_per_month=0.5))
    assert view.kpis["npv_usd"] == pytest.approx(npv_of(slow))
    assert doc.scenario is sc


def test_whatif_on_a_points_path_scales_the_whole_path(whatif):
    view, doc, ev = whatif
    doc.edit_dict(lambda d: d.update(price_path={"kind": "points", "points": [
        {"month": "2026-06", "btc_price_usd": 80_000}, {"month": "2027-06", "btc_price_usd": 120_000}]}), "points")
    path = deterministic_path(doc.scenario)
    assert view.controls["btc"].value() == path[0] == 91_500
    view.set_btc_price(91_500 * 1.1)
    np.testing.assert_allclose(view.result.btc_price_usd[0], path * 1.1)


def test_apply_whatif_is_one_undoable_edit(whatif):
    view, doc, ev = whatif
    npv0 = ev.summary["npv_usd"]
    view.set_btc_price(110_000)
    view.set_power_price_pct(90)
    npv_whatif = view.kpis["npv_usd"]
    assert view.apply_to_scenario()
    assert doc.undo_stack.count() == 1
    assert doc.scenario.market.btc_price_usd == 110_000
    assert doc.scenario.sites[1].power_price_usd_per_mwh == pytest.approx(55 * 0.9)
    assert doc.scenario.sites[0].hourly_price_usd_per_mwh[0][0] == pytest.approx(22 * 0.9)
    assert ev.summary["npv_usd"] == pytest.approx(npv_whatif)
    assert view.controls["power"].value() == 100                   # the scenario now holds the what-if
    assert view.kpis["npv_usd"] == pytest.approx(npv_whatif)
    doc.undo_stack.undo()
    assert ev.summary["npv_usd"] == pytest.approx(npv0)
    assert view.controls["btc"].value() == 91_500
    assert not view.apply_to_scenario()                            # nothing to apply


def test_tornado_one_bar_per_input_sorted_btc_widest(whatif):
    view, doc, ev = whatif
    view.update_tornado()
    rows = view.tornado_rows
    names = [r.name for r in rows]
    assert len(rows) == 6 and len(set(names)) == 6
    # On the supply network model the network row is its build cost (there is no growth trend).
    for word in ("BTC price", "Network build cost", "Power price", "AI lease", "Discount rate", "Pool fee"):
        assert sum(word in n for n in names) == 1
    swings = [r.swing_usd for r in rows]
    assert swings == sorted(swings, reverse=True)
    # hand computation: the whole deterministic path at 80% and 120%
    btc = next(r for r in rows if "BTC price" in r.name)
    sc = doc.scenario
    path = deterministic_path(sc)
    lo = run_engine(sc, prices=(path * 0.8)[None]).npv_usd[0]
    hi = run_engine(sc, prices=(path * 1.2)[None]).npv_usd[0]
    assert btc.npv_low_usd == pytest.approx(lo) and btc.npv_high_usd == pytest.approx(hi)
    assert btc.swing_usd == pytest.approx(hi - lo)
    fee = next(r for r in rows if "Pool fee" in r.name)
    assert fee.npv_high_usd == pytest.approx(npv_of(with_dict(sc, lambda d: d["finance"].update(pool_fee_pct=2.5))))
    # drawn: one tick per input on the left axis, labelled bars in USD
    ticks = view.tornado_chart.item.getAxis("left")._tickLevels[0]
    assert [t[1] for t in sorted(ticks, key=lambda t: -t[0])] == names
    texts = [it.toPlainText() for it in view.tornado_chart.item.items if isinstance(it, pg.TextItem)]
    assert len(texts) == 12 and all("$" in t for t in texts)  # every bar label is in USD ($)
    assert view.tornado_chart.y_label.startswith("change in NPV (USD")          # the unit, above the plot


def test_tornado_follows_the_whatif_after_the_debounce(whatif, qtbot):
    view, doc, ev = whatif
    view.set_btc_price(100_000)
    assert view._tornado_timer.isActive()             # the debounce is armed...
    settle(qtbot, view)                               # ...and has fired (no fixed wait)
    assert view.tornado_rows == []                    # a hidden view spends nothing on the tornado
    view.show()
    qtbot.waitUntil(lambda: len(view.tornado_rows) == 6, timeout=30_000)   # computed once the view shows
    base = view.tornado_rows[0].base_npv_usd
    view.set_btc_price(150_000)
    qtbot.waitUntil(lambda: view.tornado_rows[0].base_npv_usd != base, timeout=30_000)
    assert view.tornado_rows[0].base_npv_usd == pytest.approx(view.kpis["npv_usd"])


# --------------------------------------------------------------------------- compare view

def write_json(path, d):
    path.write_text(json.dumps(d), encoding="utf-8")
    return str(path)


def test_compare_snapshot_and_file_difference_column(compare, tmp_path, qtmodeltester):
    view, doc, ev = compare
    qtmodeltester.check(view.model)
    assert view.add_snapshot()
    doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "fee")
    d = json.loads(DEFAULT_SCENARIO_PATH.read_text())
    d["market"]["btc_price_usd"] = 120_000
    assert view.add_file(write_json(tmp_path / "bull.json", d))
    m = view.model
    qtmodeltester.check(m)
    assert m.columnCount() == 5                    # Current, Snapshot 1, bull, two differences
    headers = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(5)]
    assert headers[:3] == ["Current", "Snapshot 1", "bull"]
    assert headers[3] == "Δ Snapshot 1 − Current" and headers[4] == "Δ bull − Current"
    rows = [m.headerData(r, Qt.Orientation.Vertical) for r in range(m.rowCount())]
    assert all("(" in r and ")" in r for r in rows)             # every KPI label carries its unit
    # hand computation, straight from the engine
    cur = summary(run_engine(doc.scenario))
    snap = summary(run_engine(load_scenario(DEFAULT_SCENARIO_PATH)))
    bull = summary(run_engine(load_scenario(tmp_path / "bull.json")))
    from minerplan.scenario.dotted import get_path
    from ui.views.compare import KPIS

    keys = [k[0] for k in KPIS]
    assert keys[:3] == ["npv_usd", "terminal_value_pv_usd", "incremental.npv_usd"]   # value, then the plan's own
    for r, key in enumerate(keys):
        want = get_path(cur, key)
        got = m.data(m.index(r, 0), Qt.ItemDataRole.UserRole)
        assert got is None if want is None else got == pytest.approx(want)
        for col, other in ((3, snap), (4, bull)):
            theirs = get_path(other, key)
            if theirs is None or want is None:      # e.g. no company IRR without an initial outlay
                assert m.data(m.index(r, col), Qt.ItemDataRole.UserRole) is None
            else:
                assert m.data(m.index(r, col), Qt.ItemDataRole.UserRole) == pytest.approx(theirs - want, abs=1e-9)
    assert m.data(m.index(0, 4)) == f"{bull['npv_usd'] - cur['npv_usd']:+,.0f}"
    # overlaid charts: one line per scenario in each
    assert len(view.cash_chart._series) == 3 and len(view.btc_chart._series) == 3
    bull_cash = np.array([r["net_cash_flow_usd"] for r in bull["monthly"]])
    np.testing.assert_allclose(view.cash_chart._series[2][2], bull_cash / 1e6)


def test_compare_current_column_follows_edits(compare):
    view, doc, ev = compare
    view.add_snapshot()
    assert view.kpi("npv_usd", 2) == 0                          # snapshot == current
    doc.edit_dict(lambda d: d["finance"].update(discount_rate_pct=8.0), "rate")
    assert view.kpi("npv_usd", 0) == pytest.approx(ev.summary["npv_usd"])
    assert view.kpi("npv_usd", 2) == pytest.approx(view.kpi("npv_usd", 1) - ev.summary["npv_usd"])
    view.remove(1)
    assert view.model.columnCount() == 1


@pytest.mark.parametrize("content, field", [
    (lambda d: d["fleet"][1].update(site="Nowhere"), "fleet[1].site"),
    (lambda d: d["market"].update(btc_price_usd="lots"), "market.btc_price_usd"),
    (lambda d: d["sites"][0].update(capacity_mw=-1), "sites[0].capacity_mw"),
])
def test_compare_bad_file_shows_a_message_naming_the_field(compare, tmp_path, monkeypatch, content, field):
    from ui.views import compare as compare_module

    view, doc, ev = compare
    shown = []
    monkeypatch.setattr(compare_module.QMessageBox, "warning", lambda *a, **k: shown.append(a))
    d = json.loads(DEFAULT_SCENARIO_PATH.read_text())
    content(d)
    assert not view.add_file(write_json(tmp_path / "bad.json", d))
    assert len(shown) == 1
    text = shown[0][2]
    assert field in text and "Traceback" not in text
    assert view.model.columnCount() == 1


def test_compare_unreadable_files_show_a_message(compare, tmp_path, monkeypatch):
    from ui.views import compare as compare_module

    view, doc, ev = compare
    shown = []
    monkeypatch.setattr(compare_module.QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    (tmp_path / "broken.json").write_text("{\"schema_version\": 1, ", encoding="utf-8")
    assert not view.add_file(str(tmp_path / "broken.json"))
    assert not view.add_file(str(tmp_path / "missing.json"))
    assert not view.add_file(str(tmp_path))
    assert len(shown) == 3 and not any("Traceback" in s for s in shown)
    assert "broken.json" in shown[0]
