"""The main window as a person uses it: files, undo, dirty marker, autosave, errors, presentation."""

import json

import pytest
from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QMessageBox

from minerplan.scenario.files import load_scenario

QStandardPaths.setTestModeEnabled(True)


def set_fee(w, pct):
    w.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=pct), "Edit pool fee")


def test_opens_default_with_views(window):
    assert "Mid-size miner" in window.windowTitle() or "unsaved" in window.windowTitle()
    assert window.tabs.count() == 9 and window.tabs.tabText(0) == "Overview"
    # views are built when their tab is first shown, and follow the document afterwards
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
    assert len(window.views) == 9
    set_fee(window, 4.0)
    assert window.evaluation.summary is not None
    assert window.evaluation.summary["npv_usd"] is not None


def test_edit_marks_dirty_and_undo_restores(window):
    npv0 = window.evaluation.summary["npv_usd"]
    set_fee(window, 5.0)
    assert window.windowTitle().split(" — ")[0].endswith("*")
    assert window.evaluation.summary["npv_usd"] < npv0          # a higher pool fee lowers the NPV
    window.act_undo.trigger()
    assert window.evaluation.summary["npv_usd"] == pytest.approx(npv0)
    assert not window.doc.dirty
    window.act_redo.trigger()
    assert window.doc.scenario.finance.pool_fee_pct == 5.0


def test_save_and_open_round_trip(window, tmp_path):
    set_fee(window, 3.0)
    path = tmp_path / "plan.json"
    assert window._write(str(path))
    assert not window.doc.dirty and window.doc.path == str(path)
    assert str(path.resolve()) in window.recent_files()
    assert load_scenario(path) == window.doc.scenario
    set_fee(window, 4.0)
    window.doc.undo_stack.setClean()
    assert window.load(str(path))
    assert window.doc.scenario.finance.pool_fee_pct == 3.0
    assert not list(tmp_path.glob(".plan.json.*.tmp"))      # the atomic write left no temp file


def test_bad_file_shows_dialog_naming_the_field(window, tmp_path, monkeypatch):
    doc = json.loads(open("assets/default_scenario.json").read())
    doc["fleet"][0]["count"] = -5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    shown = []
    monkeypatch.setattr(window, "show_error", lambda title, msg: shown.append(msg))
    before = window.doc.scenario
    assert not window.load(str(bad))
    assert shown and "fleet[0].count" in shown[0] and "Traceback" not in shown[0]
    assert window.doc.scenario is before


def test_autosave_and_recovery(window, qtbot, tmp_path, monkeypatch):
    set_fee(window, 7.5)
    window.autosave()
    saved = list((tmp_path / "autosave").glob("*.json"))
    assert len(saved) == 1
    # The window's process "crashes": its file now names a process that has ended.
    payload = json.loads(saved[0].read_text())
    payload["pid"] = _ended_pid()
    saved[0].write_text(json.dumps(payload))
    window._autosave_id = "gone"                     # the crashed window must not touch the file again
    # A new window finds it and, on Recover, recovers the edit.
    from ui import autosave, main_window as mw
    monkeypatch.setattr(autosave, "ask_recovery", lambda *a, **k: autosave.RECOVER)
    settings = QSettings(str(tmp_path / "settings2.ini"), QSettings.Format.IniFormat)
    w2 = mw.MainWindow("default", settings=settings, check_recovery=False)
    w2.evaluation.mc.paths = 1
    qtbot.addWidget(w2, before_close_func=lambda w: w.doc.undo_stack.setClean())
    w2.offer_recovery()
    assert w2.doc.scenario.finance.pool_fee_pct == 7.5
    assert w2.doc.dirty
    assert not saved[0].exists()
    assert list((tmp_path / "autosave").glob("*.json")) == [w2.autosave_path()]   # the recovered work, autosaved
    w2.doc.undo_stack.setClean()
    assert not w2.autosave_path().exists()


def _ended_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_close_prompt_cancel_keeps_window(window, monkeypatch):
    set_fee(window, 6.0)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not window.close()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_presentation_mode_toggles(window):
    window.act_present.setChecked(True)
    window.toggle_presentation()
    window.act_present.setChecked(False)
    window.toggle_presentation()


def test_chart_export_png_and_svg(window, tmp_path):
    chart = window.ensure_view("Overview").charts()[0]
    chart.export_png(str(tmp_path / "c.png"))
    chart.export_svg(str(tmp_path / "c.svg"))
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "c.svg").read_text()


def test_many_void_calls_do_not_crash(qtbot):
    """PySide6 6.12.0 on Python 3.11 aborted after ~5,000 void calls or ~60 plot() calls (pinned below it)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    qtbot.addWidget(w)
    for i in range(6000):
        w.setWindowTitle("x")
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    for i in range(200):
        plot.plot([0, 1, 2], [i, i + 1, i])
    assert w.windowTitle() == "x"


def test_no_display_message(monkeypatch, capsys):
    from ui import app

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert "xvfb-run" in err and "QT_QPA_PLATFORM=offscreen" in err and "minerplan evaluate" in err


def test_settings_remember_layout_and_monte_carlo(qtbot, tmp_path, monkeypatch):
    from ui import autosave, main_window as mw

    monkeypatch.setattr(autosave, "autosave_dir", lambda: tmp_path)
    ini = str(tmp_path / "s.ini")
    w = mw.MainWindow("default", settings=QSettings(ini, QSettings.Format.IniFormat), check_recovery=False)
    qtbot.addWidget(w)
    w.evaluation.mc.paths, w.evaluation.mc.seed = 1, 42
    w.tabs.setCurrentIndex(3)
    assert w.close()
    w2 = mw.MainWindow("default", settings=QSettings(ini, QSettings.Format.IniFormat), check_recovery=False)
    qtbot.addWidget(w2, before_close_func=lambda w: w.doc.undo_stack.setClean())
    assert w2.tabs.currentIndex() == 3
    assert (w2.evaluation.mc.paths, w2.evaluation.mc.seed) == (1, 42)


def test_margin_card_puts_mining_and_ai_on_the_same_footing():
    from minerplan.engine.evaluate import run_engine
    from minerplan.analysis.kpi import margin_vs_ai_per_gross_mw_month

    sc = load_scenario("default")
    mining, ai = margin_vs_ai_per_gross_mw_month(run_engine(sc))
    # North Dakota lease: ($140 - $20) per kW-month x 1,000 kW x 0.7 critical per gross MW = $84,000
    assert ai == pytest.approx(84_000)
    assert 0 < mining < ai          # late-2025 hashprice: mining earns far less per MW than the lease


def test_values_beyond_their_plausible_range_are_named_in_the_status_bar(window):
    # Plausibility (issue 11): a soft-range value loads, and the window says which field and why.
    label = window._plausibility
    assert label.isHidden()                                   # the shipped scenario is plausible
    assert window.doc.try_edit(lambda d: d["market"].update(btc_price_usd=3_000_000.0), "price") is None
    assert not label.isHidden() and "1 value outside the plausible range" in label.text()
    assert "market.btc_price_usd: 3,000,000 USD is above the plausible range" in label.toolTip()
    window.doc.undo_stack.undo()
    assert label.isHidden()
