"""One labelled vocabulary for value figures, and presets that say what they switch on (issue 14).

Three different NPVs stood on three tabs with no word saying which was which; a stress preset switched
miner capitulation on without a word. Here every tab, the CLI and the reports name their NPV with
:mod:`minerplan.analysis.vocabulary`'s words, and every place a preset is offered or applied says
what it switches on. Figures are checked against the engine's own arrays (mean, median, percentiles
taken here with numpy), not against the code that prints them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from minerplan.analysis.vocabulary import (NPV_ON_PATH, ON_PATH, expected_npv, median_npv, npv_label, p5_npv,
                                           p95_npv)
from minerplan.cli.main import main
from minerplan.engine.evaluate import run_engine
from minerplan.formats import usd, usd_m
from minerplan.markets.prices import PRESETS
from minerplan.scenario.files import load_scenario, scenario_from_dict


def has(text: str, label: str) -> bool:
    """``label`` in ``text``, also when it starts a line or a title (first letter upper case)."""
    return label in text or (label[:1].upper() + label[1:]) in text


def trend_file(tmp_path) -> str:
    """The shipped scenario on the trend network (hashrate grows whatever hashprice does)."""
    data = load_scenario("default").model_dump(mode="json", exclude_none=True)
    data["market"]["network_model"] = "trend"
    path = tmp_path / "trend.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- the words

def test_the_labels_are_the_words_of_the_issue():
    assert NPV_ON_PATH == "NPV on the entered price path" and ON_PATH == "on the entered price path"
    assert expected_npv(1000) == "expected NPV (mean of 1,000 paths)"
    assert median_npv(500) == "median NPV (of 500 paths)"
    assert (p5_npv(500), p95_npv(500)) == ("P5 NPV (of 500 paths)", "P95 NPV (of 500 paths)")
    assert npv_label("median", 1) == NPV_ON_PATH          # a fan of one path is that path
    with pytest.raises(ValueError):
        npv_label("mode", 10)


# --------------------------------------------------------------------------- the CLI

def test_evaluate_names_its_npv_on_one_path(capsys):
    assert main(["evaluate", "default"]) == 0
    out = capsys.readouterr().out
    want = float(run_engine(load_scenario("default")).npv_usd[0])
    assert f"{NPV_ON_PATH}  {usd(want)}" in out
    assert "expected NPV" not in out and "median NPV" not in out


def test_evaluate_names_median_mean_and_percentiles_of_the_paths(capsys):
    assert main(["evaluate", "default", "--paths", "40", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    npv = run_engine(load_scenario("default"), n_paths=40, seed=3).npv_usd
    for label, value in ((median_npv(40), np.median(npv)), (expected_npv(40), npv.mean()),
                         (p5_npv(40), np.percentile(npv, 5)), (p95_npv(40), np.percentile(npv, 95))):
        line = next(s for s in out.splitlines() if s.strip().startswith(label))
        assert usd(float(value)) in line, line
    assert NPV_ON_PATH not in out


def test_optimize_text_names_the_expected_npv(capsys):
    args = ["optimize", "default", "--paths", "8", "--seed", "1", "--hall-mw", "0", "--replications", "0",
            "--oos-paths", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"  {expected_npv(8)}   $" in out
    assert f"status quo {expected_npv(8)} $" in out


# --------------------------------------------------------------------------- presets say what they switch on

def test_presets_list_says_what_each_switches_on(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for p in PRESETS.values():
        k = next(i for i, line in enumerate(lines) if line.startswith(p.name + " "))
        said = lines[k + 2].strip()
        assert said.startswith("switches on: " + ("miner capitulation: a scenario on the trend network runs on the "
                                                  "capitulation model" if p.hashrate_capitulation else "nothing"))
    assert main(["presets", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cap = next(d for d in doc if d["name"] == "capitulation")
    assert cap["switches_on"] and cap["switches_on"][0].startswith("miner capitulation")


def test_scenarios_show_says_the_network_switch_and_its_share_of_the_npv(capsys, tmp_path):
    """On a trend scenario the capitulation story also switches the network to the capitulation model; the text
    says so and gives the three NPVs that separate the price story from the switch (engine values by hand)."""
    path = trend_file(tmp_path)
    assert main(["scenarios", "show", "capitulation", "--scenario", path]) == 0
    out = capsys.readouterr().out
    assert "switched from the trend model to the capitulation model" in out
    sc = load_scenario(path)
    switched = run_engine(sc, preset="capitulation")
    data = sc.model_dump(mode="json", exclude_none=True)
    data["market"]["network_model"] = "capitulation"
    own_prices = run_engine(scenario_from_dict(data, "x"))
    assert f"{NPV_ON_PATH} (the preset's path): {usd(float(switched.npv_usd[0]))}" in out
    assert usd(float(own_prices.npv_usd[0])) in out
    assert f"(trend network, no preset): {usd(float(run_engine(sc).npv_usd[0]))}" in out
    # on the shipped (supply) scenario nothing but the price changes, and it says that too
    assert main(["scenarios", "show", "capitulation"]) == 0
    assert "supply model is kept" in capsys.readouterr().out


def test_evaluate_with_a_preset_says_what_it_switches_on(capsys, tmp_path):
    assert main(["evaluate", trend_file(tmp_path), "--preset", "capitulation"]) == 0
    out = capsys.readouterr().out
    assert "preset capitulation switches on: miner capitulation" in out
    assert "network: hashrate trend with miner capitulation" in out


def test_app_preset_buttons_and_status_say_what_they_switch_on(qtbot, monkeypatch, tmp_path):
    from ui.document import ScenarioDocument
    from ui.evaluation import Evaluation
    from ui.views.market import path_editing
    from ui.views.market.view import MarketView

    doc = ScenarioDocument(load_scenario(trend_file(tmp_path)))
    ev = Evaluation(doc)
    ev.mc.paths = 1
    view = MarketView(doc, ev)
    qtbot.addWidget(view)
    for name, button in view.preset_buttons.items():
        assert "Also switches on: miner capitulation" in button.toolTip(), name
    shown = []
    monkeypatch.setattr(path_editing, "show_status", lambda _w, text, *a: shown.append(text))
    assert view.apply_preset("capitulation")
    assert doc.scenario.market.network_model == "capitulation"
    assert shown and shown[-1].startswith("Applied preset capitulation: BTC price path: month 0 $86,500")
    assert "network: switched from the trend model to the capitulation model" in shown[-1]
    doc.undo_stack.clear()


# --------------------------------------------------------------------------- the tabs

@pytest.fixture
def app_doc():
    from ui.document import ScenarioDocument
    from ui.evaluation import Evaluation

    doc = ScenarioDocument(load_scenario("default"))
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    yield doc, ev
    doc.undo_stack.clear()


def test_overview_names_the_entered_path_then_the_fan(qtbot, app_doc):
    from ui.evaluation import MonteCarloFan, fan_summary
    from ui.views.overview import OverviewView

    doc, ev = app_doc
    view = OverviewView(ev)
    qtbot.addWidget(view)
    card = view.cards["npv"]
    on_path = float(run_engine(doc.scenario).npv_usd[0])
    assert has(card.title.text(), NPV_ON_PATH) and card.value.text() == usd(on_path)
    fan = run_engine(doc.scenario, n_paths=30, seed=2)
    view.on_mc(MonteCarloFan.of(fan), fan_summary(fan, 2))
    assert has(card.title.text(), median_npv(30)) and card.value.text() == usd(float(np.median(fan.npv_usd)))
    detail = card.detail.text()
    assert f"{expected_npv(30)} {usd(float(fan.npv_usd.mean()))}" in detail
    assert f"{NPV_ON_PATH} {usd(on_path)}" in detail
    assert ON_PATH in view.cards["increment"].detail.text()


def test_optimize_kpi_line_names_the_expected_npv():
    from solvers.optimize import optimize
    from solvers.settings import OptimizerSettings
    from ui.views.optimize.texts import kpi_text

    res = optimize(load_scenario("default"), OptimizerSettings(n_paths=8, seed=1, hall_critical_mw=None))
    text = kpi_text(res, from_run=True)
    engine = float(run_engine(res.plan_scenario, n_paths=8, seed=1).npv_usd.mean())    # the mean of the 8 paths
    assert has(text, f"{expected_npv(8)} {usd_m(engine)} (USD)"), text


def test_compare_whatif_risk_and_status_bar_name_their_npv(qtbot, app_doc, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    from minerplan.analysis.hedges import compare
    from ui.views.compare import CompareView
    from ui.views.risk.results import RiskResults, distribution_curve, fill_results
    from ui.views.whatif.view import WhatIfView

    doc, ev = app_doc
    cmp_view = CompareView(doc, ev)
    qtbot.addWidget(cmp_view)
    assert cmp_view.model.headerData(0, Qt.Orientation.Vertical) == f"{NPV_ON_PATH} (USD)"
    whatif = WhatIfView(doc, ev)
    qtbot.addWidget(whatif)
    assert any(w.text() == f"{NPV_ON_PATH} (USD)" for w in whatif.findChildren(QLabel))

    from PySide6.QtWidgets import QTableWidget

    from ui.charts import Chart

    run = run_engine(doc.scenario, n_paths=25, seed=4)
    res = RiskResults(doc.scenario, None, 25, 4, None, compare(run, []), distribution_curve(run.npv_usd),
                      distribution_curve(run.npv_usd))
    table, hedges, chart = QTableWidget(), QTableWidget(), Chart("t", "USD")
    table.setColumnCount(4)
    hedges.setColumnCount(4)
    qtbot.addWidget(chart)
    fill_results(res, table, hedges, chart)
    labels = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert labels[:4] == [expected_npv(25), p5_npv(25), median_npv(25), p95_npv(25)]
    assert table.item(0, 1).text() == usd(float(run.npv_usd.mean()))


def test_main_window_status_names_the_entered_path(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow("default", settings=settings, check_recovery=False)
    qtbot.addWidget(win)
    win.evaluation.mc.paths = 1
    win.evaluation.refresh()
    on_path = float(run_engine(load_scenario("default")).npv_usd[0])
    assert win._status.text().startswith(f"{NPV_ON_PATH} {usd(on_path)}")
    win.doc.undo_stack.clear()
