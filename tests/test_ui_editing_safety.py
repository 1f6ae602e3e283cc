"""Editing safely (issue 14): the wheel never edits an unfocused control, Save lists every rejected value,
problems are said in people's words with rows counted from 1, Ctrl+Y redoes, and the Optimize settings
panel fits without scrolling sideways."""

from __future__ import annotations

import copy
import json

import pytest
from PySide6.QtCore import QPoint, QPointF, QStandardPaths, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtWidgets import (QApplication, QComboBox, QLabel, QLineEdit, QMessageBox, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from minerplan.scenario.errors import Problem, ScenarioError, field_words
from minerplan.scenario.files import load_scenario, scenario_from_dict, scenario_to_dict

QStandardPaths.setTestModeEnabled(True)
EDIT, TIP, DISPLAY = Qt.ItemDataRole.EditRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DisplayRole


def show_tab(win, title: str):
    titles = [win.tabs.tabText(i).replace("&&", "&") for i in range(win.tabs.count())]
    win.tabs.setCurrentIndex(titles.index(title))
    return win.ensure_view(title)


def wheel(widget: QWidget, notches: int = -1) -> None:
    """One wheel notch (down by default) over the middle of ``widget``, as the window system delivers it."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def focus(qtbot, widget: QWidget) -> None:
    win = widget.window()
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(widget.hasFocus)


# --------------------------------------------------------------------------- 1. the wheel

def test_wheel_over_unfocused_settings_changes_nothing_and_makes_no_undo_entry(window, qtbot):
    """The reported case: one notch over the price model switched GBM to Merton (and re-ran Monte Carlo);
    another switched the network model; each was an undo entry."""
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    view = show_tab(window, "Market")
    doc = window.doc
    before, steps = doc.scenario, doc.undo_stack.count()
    for combo in (view.mc_model, view.network_model):
        assert not combo.hasFocus()
        index = combo.currentIndex()
        wheel(combo)
        assert combo.currentIndex() == index
    for spin in (view.paths_spin, view.seed_spin):
        value = spin.value()
        wheel(spin, +1)
        assert spin.value() == value
    assert doc.scenario is before and doc.undo_stack.count() == steps
    assert doc.scenario.monte_carlo.model == "gbm" and doc.scenario.market.network_model == "supply"
    # The wheel alone never focuses them: Qt's WheelFocus is replaced by StrongFocus.
    assert view.mc_model.focusPolicy() == Qt.FocusPolicy.StrongFocus
    assert view.paths_spin.focusPolicy() == Qt.FocusPolicy.StrongFocus
    # Clicked into, the combo box takes the wheel as before: one edit, one undo entry.
    focus(qtbot, view.mc_model)
    wheel(view.mc_model)
    assert view.mc_model.currentIndex() == 1 and doc.scenario.monte_carlo.model == "merton"
    assert doc.undo_stack.count() == steps + 1


def test_wheel_over_an_unfocused_control_scrolls_the_panel(window, qtbot):
    """A combo box and a spin box inside a scroll area: unfocused, the wheel scrolls the area; focused, it edits."""
    panel = QScrollArea()
    panel.setWidgetResizable(True)
    inner = QWidget()
    lay = QVBoxLayout(inner)
    combo, spin = QComboBox(), QSpinBox()
    combo.addItems(["gbm", "merton", "regime"])
    spin.setRange(0, 100)
    spin.setValue(50)
    lay.addWidget(combo)
    lay.addWidget(spin)
    for _ in range(40):
        lay.addWidget(QLabel("a row of the panel"))
    panel.setWidget(inner)
    panel.resize(300, 200)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    wheel(combo)
    assert combo.currentIndex() == 0 and bar.value() > 0          # the panel scrolled instead
    scrolled = bar.value()
    wheel(spin)
    assert spin.value() == 50 and bar.value() > scrolled
    focus(qtbot, spin)
    wheel(spin, +1)
    assert spin.value() == 51
    focus(qtbot, combo)
    wheel(combo)
    assert combo.currentIndex() == 1


# --------------------------------------------------------------------------- 2. Save with rejected values

def _reject_three(win):
    """Two rejected fleet cells and a rejected Market field, as a person would leave them."""
    fleet = show_tab(win, "Fleet")
    m = fleet.model
    cols = {c.key: i for i, c in enumerate(m.columns)}
    assert not m.setData(m.index(5, cols["count"]), "-5")
    assert not m.setData(m.index(1, cols["power_w"]), "lots")
    market = show_tab(win, "Market")
    assert not market.fields["market.btc_price_usd"].set_value_text("0")
    return fleet, market


def test_save_lists_every_rejected_value_and_go_back_writes_nothing(window, tmp_path, monkeypatch):
    from ui import main_window as mw

    path = tmp_path / "plan.json"
    assert window._write(str(path))
    window.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")  # an accepted edit
    _reject_three(window)
    written = path.read_text(encoding="utf-8")
    asked = []
    monkeypatch.setattr(mw, "ask_save_with_rejections", lambda _p, rej, action: asked.append((action, rej)) or False)
    assert window.save() is False
    assert path.read_text(encoding="utf-8") == written and window.doc.dirty
    (action, rejected), = asked
    assert action == "Save"
    assert [r.line for r in rejected] == [
        "Fleet row 2, Power: typed lots, 'lots' is not a number",
        "Fleet row 6, Count: typed -5, must be at least 0",
        "Market, BTC price (USD): typed 0, must be at least 1",
    ]
    assert [r.path for r in rejected] == ["fleet[1].power_w", "fleet[5].count", "market.btc_price_usd"]
    assert "Not saved: 3 values not accepted" in window._status.text()
    # Save As asks first too, before any file dialog.
    monkeypatch.setattr(mw.QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("no file dialog"))
    assert window.save_as() is False and asked[-1][0] == "Save As"
    # "Save accepted values": the accepted edit is written, none of the rejected ones.
    monkeypatch.setattr(mw, "ask_save_with_rejections", lambda *_a: True)
    assert window.save() is True and not window.doc.dirty
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["finance"]["pool_fee_pct"] == 3.0
    assert saved["fleet"][5]["count"] > 0 and saved["market"]["btc_price_usd"] > 1


def test_close_with_save_goes_back_when_values_are_rejected(window, monkeypatch):
    from ui import main_window as mw

    window.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "Edit pool fee")
    _reject_three(window)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    monkeypatch.setattr(mw, "ask_save_with_rejections", lambda *_a: False)
    monkeypatch.setattr(mw.QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("no file dialog"))
    assert not window.close()          # back to the window, the red cells still there
    assert window.doc.dirty and len(window.doc.rejections()) == 3


def test_the_dialog_lists_all_rejected_values_and_defaults_to_go_back():
    from ui.kit.messages import GO_BACK, SAVE_ACCEPTED, Rejection, rejected_values_box

    rejected = [Rejection(f"Fleet row {i}, Count", "-5", f"Fleet row {i}, Count: must be at least 0 (got -5)",
                          f"fleet[{i - 1}].count") for i in range(1, 31)]
    box = rejected_values_box(None, rejected, "Save")
    text = box.text()
    assert text.startswith("30 values you typed were not accepted and are still shown in red:")
    assert "- Fleet row 1, Count: typed -5, must be at least 0\n" in text
    assert "... and 5 more under Show Details" in text
    assert all(f"Fleet row {i}, Count: typed -5" in box.detailedText() for i in range(1, 31))
    roles = {b.text(): box.buttonRole(b) for b in box.buttons()}
    assert roles[SAVE_ACCEPTED] == QMessageBox.ButtonRole.AcceptRole
    assert roles[GO_BACK] == QMessageBox.ButtonRole.RejectRole
    assert box.defaultButton().text() == GO_BACK and box.escapeButton().text() == GO_BACK


def test_the_status_line_reports_every_rejected_cell_not_only_the_first(window):
    fleet, _market = _reject_three(window)
    show_tab(window, "Fleet")
    text, tip = fleet.status.text(), fleet.status.toolTip()
    assert text.startswith("Rejected 2 values (red): Fleet row 2, Power: 'lots' is not a number")
    assert "and 1 more" in text
    assert tip.splitlines() == ["Fleet row 2, Power: typed lots, 'lots' is not a number",
                                "Fleet row 6, Count: typed -5, must be at least 0"]


# --------------------------------------------------------------------------- 3. problems in people's words

def _seven_rows_with_a_negative_count():
    d = scenario_to_dict(load_scenario("default"))
    d["fleet"].append(copy.deepcopy(d["fleet"][0]))
    d["fleet"][6]["count"] = -5
    return d


def test_a_problem_in_peoples_words_with_rows_from_one():
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_seven_rows_with_a_negative_count())
    (p,) = info.value.problems
    assert p.text == "Fleet row 7, Count: must be at least 0 (got -5)"
    assert str(p) == "fleet[6].count: must be at least 0 (got -5)"        # the dotted path, for tooling and the CLI


@pytest.mark.parametrize("path, words", [
    ("fleet[6].count", "Fleet row 7, Count"),
    ("fleet[0].uptime_pct", "Fleet row 1, Uptime"),
    ("sites[2].capacity_mw", "Sites row 3, Capacity"),
    ("sites[2].ai.gpu_cloud.utilization_pct", "Sites row 3, Utilization"),
    ("sites[0].hourly_price_usd_per_mwh[3][5]", "Sites row 1, Hourly profile, month 4, hour 05"),
    ("conversion_plan[0].start_month", "Conversion plan row 1, Start month"),
    ("price_path.points[1].btc_price_usd", "Price points row 2, BTC price"),
    ("market.btc_price_usd", "Market, BTC price (USD)"),
    ("market.hashrate_growth_pct_per_month", "Market, Hashrate growth (% per month)"),
    ("monte_carlo.volatility_pct_per_year", "Monte Carlo, Volatility (% per year)"),
    ("finance.g_and_a_usd_per_month", "Finance, G&A (USD per month)"),
    ("horizon_months", "Horizon (months)"),
    ("hedges[1].strike_usd", "Hedges row 2, Strike (USD)"),
])
def test_field_paths_in_peoples_words(path, words):
    assert field_words(path) == words


def test_a_sheet_cell_is_not_read_as_a_field_path():
    assert field_words("Fleet!F10 (Uptime [%])") is None
    assert Problem("Fleet!F10 (Uptime [%])", "must be at most 100").text == "Fleet!F10 (Uptime [%]): must be at most 100"


@pytest.mark.parametrize("mutate, text", [
    (lambda d: d["fleet"][0].update(uptime_pct=150), "Fleet row 1, Uptime: must be at most 100 (got 150)"),
    (lambda d: d["fleet"][1].update(hashrate_ths="fast"), "Fleet row 2, Hashrate: must be a number (got 'fast')"),
    (lambda d: d["fleet"][0].update(age_months=6.5), "Fleet row 1, Age: must be a whole number (got 6.5)"),
    (lambda d: d["sites"][0].update(power_price_usd_per_mwh=-1), "Sites row 1, Power price: must be at least 0 "
                                                                 "(got -1)"),
    (lambda d: d["monte_carlo"].update(model="jumpy"), "Monte Carlo, Model: must be one of gbm, merton, regime "
                                                       "(got 'jumpy')"),
    (lambda d: d.update(horizon_months=0), "Horizon (months): must be at least 1 (got 0)"),
])
def test_pydantic_phrases_become_plain_ones(mutate, text):
    d = scenario_to_dict(load_scenario("default"))
    mutate(d)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    assert [p.text for p in info.value.problems] == [text]
    assert not any("Input should" in p.message for p in info.value.problems)


def test_tables_count_rows_from_one_and_flag_in_peoples_words(window):
    fleet = show_tab(window, "Fleet")
    m = fleet.model
    assert [m.headerData(r, Qt.Orientation.Vertical) for r in range(3)] == ["1", "2", "3"]
    sites = show_tab(window, "Sites & power")
    assert sites.model.headerData(0, Qt.Orientation.Vertical) == "1"
    col = next(i for i, c in enumerate(m.columns) if c.key == "count")
    assert not m.setData(m.index(2, col), "-5")
    tip = m.data(m.index(2, col), TIP)
    assert tip.startswith("Not accepted: Fleet row 3, Count: must be at least 0 (got -5)")
    assert tip.endswith("Field: fleet[2].count")                          # the dotted path, for tooling
    assert "fleet[2]" not in fleet.status.text() and "Fleet row 3, Count" in fleet.status.text()


# --------------------------------------------------------------------------- 4. Ctrl+Y

@pytest.fixture
def x11_redo(monkeypatch):
    """The platform's Redo as on X11 and GNOME (Ctrl+Shift+Z only), where Ctrl+Y did nothing. The offscreen
    platform of the tests binds Redo to Ctrl+Y as Windows does, which would hide the bug."""
    from ui import main_window as mw

    real = QKeySequence.keyBindings

    def bindings(key):
        if key == QKeySequence.StandardKey.Redo:
            return [QKeySequence("Ctrl+Shift+Z")]
        return real(key)

    monkeypatch.setattr(mw.QKeySequence, "keyBindings", staticmethod(bindings))


def test_ctrl_y_redoes(x11_redo, window, qtbot):
    assert [k.toString() for k in window.act_redo.shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    fee = window.doc.scenario.finance.pool_fee_pct
    window.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=fee + 1), "Edit pool fee")
    window.doc.undo_stack.undo()
    assert window.doc.scenario.finance.pool_fee_pct == fee
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.doc.scenario.finance.pool_fee_pct == fee + 1
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.doc.scenario.finance.pool_fee_pct == fee                 # Ctrl+Z still undoes
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.doc.scenario.finance.pool_fee_pct == fee + 1             # and the platform's redo still redoes


# --------------------------------------------------------------------------- 5. the Optimize settings panel

def _settings_panel_fits(form) -> None:
    area = form.parentWidget().parentWidget()
    assert isinstance(area, QScrollArea)
    assert area.horizontalScrollBar().maximum() == 0
    for label in form.findChildren(QLabel):
        if label.isVisible() and label.text() and not label.wordWrap():
            assert label.width() >= label.sizeHint().width(), label.text()   # never cut
    for edit in form.findChildren(QLineEdit):
        if edit.isVisible() and edit.placeholderText():
            assert edit.width() > edit.fontMetrics().horizontalAdvance(edit.placeholderText()), edit.placeholderText()


def test_optimize_settings_fit_without_sideways_scrolling(window, qtbot):
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    view = show_tab(window, "Optimize")
    qtbot.waitUntil(lambda: view.form.parentWidget().parentWidget().horizontalScrollBar().maximum() == 0)
    _settings_panel_fits(view.form)
    # Presentation mode enlarges the fonts: the panel grows with them.
    window.act_present.setChecked(True)
    window.toggle_presentation()
    assert view.form.font().pointSize() == 14
    area = view.form.parentWidget().parentWidget()
    qtbot.waitUntil(lambda: area.width() >= view.form.sizeHint().width())
    _settings_panel_fits(view.form)
    window.act_present.setChecked(False)
    window.toggle_presentation()
