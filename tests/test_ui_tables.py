"""Editable tables (fleet, sites, conversion plan) and the AI form: every edit is one undoable command that
changes the scenario, the engine result and the charts; rejected edits are flagged in place."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QLineEdit, QStyleOptionViewItem  # noqa: E402
from pytestqt.modeltest import ModelTester  # noqa: E402

from minerplan.formats import parse_number  # noqa: E402
from minerplan.scenario.catalog import load_catalog  # noqa: E402
from minerplan.sheets.profile_csv import parse_profile_csv, read_profile_csv  # noqa: E402
from ui.charts import Chart  # noqa: E402
from ui.document import ScenarioDocument  # noqa: E402
from ui.evaluation import Evaluation  # noqa: E402
from ui.views.ai import AiView, ConversionTableModel  # noqa: E402
from ui.kit.tables import INVALID_BG  # noqa: E402
from ui.views.fleet import CatalogDialog, FleetTableModel, FleetView  # noqa: E402
from ui.views.sites import SitesTableModel, SitesView  # noqa: E402

H = Qt.Orientation.Horizontal
DISPLAY, EDIT, TIP, BG = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.ToolTipRole,
                          Qt.ItemDataRole.BackgroundRole)


@pytest.fixture
def env(qtbot):
    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1  # no background Monte Carlo runs
    ev.refresh()
    yield doc, ev
    # ui/document.py: a dirty QUndoStack emits cleanChanged while the document is being destroyed, and the
    # lambda connected to it then raises "Signal source has been deleted"; a clean stack emits nothing.
    doc.undo_stack.setClean()


@pytest.fixture
def fleet(env, qtbot):
    doc, ev = env
    view = FleetView(doc, ev)
    qtbot.addWidget(view)
    return doc, ev, view


@pytest.fixture
def sites(env, qtbot):
    doc, ev = env
    view = SitesView(doc, ev)
    qtbot.addWidget(view)
    return doc, ev, view


@pytest.fixture
def ai(env, qtbot):
    doc, ev = env
    view = AiView(doc, ev)
    qtbot.addWidget(view)
    return doc, ev, view


def col(model, key: str) -> int:
    return model.column_index(key)


def series(chart: Chart) -> dict[str, np.ndarray]:
    """What a chart currently plots: name -> y values."""
    return {name: y.copy() for name, _x, y in chart._series}


def is_flagged(model, row: int, key: str) -> bool:
    idx = model.index(row, col(model, key))
    return model.flag(row, key) is not None and model.data(idx, BG) == INVALID_BG


# --------------------------------------------------------------------------- model tester

def _exercise(doc, model, key: str, value):
    """Edit, reject, undo and redo with the model testers attached."""
    idx = model.index(0, col(model, key))
    assert model.setData(idx, value)
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    model.setData(idx, "not a number" if key != "name" else "")
    doc.undo_stack.undo()


@pytest.mark.parametrize("which", ["fleet", "sites", "plan"])
def test_models_pass_modeltester(env, qtmodeltester, qtlog, which):
    doc, ev = env
    if which == "fleet":
        model, key, value = FleetTableModel(doc, ev), "count", "12000"
    elif which == "sites":
        model, key, value = SitesTableModel(doc, ev), "power_price_usd_per_mwh", "45"
    else:
        model, key, value = ConversionTableModel(doc, ev), "gross_mw", "30"
    qtmodeltester.check(model)                     # Qt's C++ QAbstractItemModelTester (reports via qWarning)
    ModelTester(None).check(model, force_py=True)  # pytest-qt's Python checks (assert)
    _exercise(doc, model, key, value)
    # Structural changes (rows appear and disappear) under the testers too.
    doc.edit_dict(lambda d: d["conversion_plan"].append({"site": "North Dakota", "gross_mw": 5,
                                                         "start_month": "2026-06"}), "add")
    doc.edit_dict(lambda d: d["fleet"].pop(), "remove")
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    failures = [r.message for r in qtlog.records if "FAIL" in r.message]
    assert failures == []


def test_headers_carry_units(env):
    doc, ev = env
    for model in (FleetTableModel(doc, ev), SitesTableModel(doc, ev)):
        headers = [model.headerData(c, H) for c in range(model.columnCount())]
        numeric = [h for c, h in zip(model.columns, headers) if c.kind in ("float", "int", "computed")]
        assert all("(" in h and h.endswith(")") for h in numeric), numeric
    fleet_model = FleetTableModel(doc, ev)
    fleet_headers = [fleet_model.headerData(c, H) for c in range(fleet_model.columnCount())]
    for unit in ("TH/s", "(W", "J/TH", "(%)", "%/yr", "USD/unit", "months", "USD/kWh", "USD/BTC"):
        assert any(unit in h for h in fleet_headers), unit


# --------------------------------------------------------------------------- fleet

def test_count_edit_changes_scenario_result_and_chart_and_undoes(fleet):
    doc, ev, view = fleet
    model = view.model
    before_sc, before_btc = doc.scenario, ev.result.btc_mined.sum()
    before_bars = series(view.hashrate_chart)["Nameplate hashrate (PH/s)"]
    n = doc.undo_stack.count()

    assert model.setData(model.index(0, col(model, "count")), "20,000")
    assert doc.scenario.fleet[0].count == 20000
    assert doc.undo_stack.count() == n + 1 and doc.undo_stack.text(n) == "Edit fleet[0].count"
    assert ev.result.btc_mined.sum() > before_btc
    bars = series(view.hashrate_chart)["Nameplate hashrate (PH/s)"]
    assert bars[0] == pytest.approx(20000 * 270 / 1000) and bars[0] > before_bars[0]
    assert model.data(model.index(0, col(model, "count")), DISPLAY) == "20,000"

    doc.undo_stack.undo()
    assert doc.scenario == before_sc
    assert ev.result.btc_mined.sum() == pytest.approx(before_btc)
    assert np.allclose(series(view.hashrate_chart)["Nameplate hashrate (PH/s)"], before_bars)
    doc.undo_stack.redo()
    assert doc.scenario.fleet[0].count == 20000
    assert ev.result.btc_mined.sum() > before_btc


def test_power_edit_moves_computed_columns(fleet):
    doc, ev, view = fleet
    model = view.model
    eff = model.index(0, col(model, "efficiency_j_per_th"))
    be = model.index(0, col(model, "breakeven_btc_price_usd"))
    old_be = model.data(be, DISPLAY)
    assert model.data(eff, DISPLAY) == "13.50"
    assert not model.flags(eff) & Qt.ItemFlag.ItemIsEditable
    assert not model.flags(be) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(be, "1")
    assert model.setData(model.index(0, col(model, "power_w")), "4050")
    assert model.data(eff, DISPLAY) == "15"
    assert model.data(be, DISPLAY) != old_be
    series_be = series(view.breakeven_chart)["Breakeven BTC price (USD/BTC)"]
    assert series_be[0] == pytest.approx(model.breakevens["breakeven_btc_price_usd"][0])


def test_negative_count_is_flagged_and_scenario_unchanged(fleet):
    doc, ev, view = fleet
    model = view.model
    sc, n, btc = doc.scenario, doc.undo_stack.count(), ev.result.btc_mined.sum()
    idx = model.index(2, col(model, "count"))
    assert not model.setData(idx, "-5")
    assert doc.scenario is sc and doc.undo_stack.count() == n and ev.result.btc_mined.sum() == btc
    assert model.data(idx, DISPLAY) == "-5" and model.data(idx, EDIT) == "-5"
    assert model.data(idx, BG) == INVALID_BG
    tip = model.data(idx, TIP)
    # In people's words, rows counted from 1; the dotted path stays in the tooltip for tooling.
    assert "Fleet row 3, Count: must be at least 0 (got -5)" in tip and "Field: fleet[2].count" in tip
    assert "Fleet row 3, Count: must be at least 0" in view.status.text()
    # Other cells are not flagged; a valid edit elsewhere keeps this flag.
    assert model.setData(model.index(0, col(model, "uptime_pct")), "96")
    assert is_flagged(model, 2, "count")
    # A valid value clears it.
    assert model.setData(idx, "9000")
    assert model.flag(2, "count") is None and model.data(idx, BG) is None
    assert doc.scenario.fleet[2].count == 9000


def test_typing_in_the_table_flags_in_place(fleet, qtbot):
    """Through the real editor: type a negative count, press Enter; the typed text stays, flagged."""
    doc, _ev, view = fleet
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    model, table = view.model, view.table
    sc = doc.scenario
    idx = model.index(2, col(model, "count"))
    table.setCurrentIndex(idx)
    table.edit(idx)
    editor = table.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "10000"
    editor.selectAll()
    qtbot.keyClicks(editor, "-5")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits through a queued call
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)
    assert doc.scenario is sc
    assert model.data(idx, DISPLAY) == "-5" and model.data(idx, BG) == INVALID_BG
    # Editing again starts from the typed text; a valid value commits and clears the flag.
    table.edit(idx)
    editor = table.focusWidget()
    assert editor.text() == "-5"
    editor.selectAll()
    qtbot.keyClicks(editor, "8000")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)
    assert doc.scenario.fleet[2].count == 8000 and model.flag(2, "count") is None


def test_text_that_is_not_a_number_is_flagged(fleet):
    doc, _ev, view = fleet
    model = view.model
    sc = doc.scenario
    idx = model.index(1, col(model, "hashrate_ths"))
    assert not model.setData(idx, "fast")
    assert doc.scenario is sc
    assert model.data(idx, DISPLAY) == "fast"
    assert "fleet[1].hashrate_ths" in model.data(idx, TIP) and "not a number" in model.data(idx, TIP)


def test_fractional_age_is_flagged_by_the_integer_rule(fleet):
    doc, _ev, view = fleet
    model = view.model
    sc = doc.scenario
    assert not model.setData(model.index(0, col(model, "age_months")), "6.5")
    assert doc.scenario is sc
    assert "Fleet row 1, Age: must be a whole number" in model.flag(0, "age_months")
    assert model.setData(model.index(0, col(model, "age_months")), "7")
    assert doc.scenario.fleet[0].age_months == 7 and type(doc.scenario.fleet[0].age_months) is int


def test_row_exceeding_site_capacity_is_flagged_and_undo_clears_the_flag(fleet):
    doc, _ev, view = fleet
    model = view.model
    assert model.setData(model.index(0, col(model, "uptime_pct")), "95")  # something to undo
    sc, n = doc.scenario, doc.undo_stack.count()
    idx = model.index(0, col(model, "count"))
    assert not model.setData(idx, "100000")
    assert doc.scenario is sc and doc.undo_stack.count() == n
    assert model.data(idx, DISPLAY) == "100000"
    tip = model.data(idx, TIP)
    assert "Sites row 1, Capacity" in tip and "above its capacity" in tip and "'Texas'" in tip
    doc.undo_stack.undo()
    assert model.flag(0, "count") is None
    assert model.data(idx, DISPLAY) == "18,000"


def test_site_column_uses_a_combo_of_site_names(fleet):
    doc, ev, view = fleet
    model = view.model
    idx = model.index(0, col(model, "site"))
    delegate = view.table.itemDelegate()
    editor = delegate.createEditor(view.table.viewport(), QStyleOptionViewItem(), idx)
    assert isinstance(editor, QComboBox)
    assert [editor.itemText(i) for i in range(editor.count())] == ["Texas", "Georgia", "North Dakota"]
    delegate.setEditorData(editor, idx)
    assert editor.currentText() == "Texas"
    texas = ev.result.btc_mined[0, :, 0].sum()
    editor.setCurrentText("North Dakota")  # 18,000 S21 XP do not fit next to the ND fleet: rejected
    delegate.setModelData(editor, model, idx)
    assert doc.scenario.fleet[0].site == "Texas" and model.flag(0, "site") is not None
    assert "Sites row 3, Capacity" in model.flag(0, "site")
    # Move a smaller cohort instead.
    assert model.setData(model.index(1, col(model, "count")), "1000")
    assert model.setData(model.index(1, col(model, "site")), "Georgia")
    assert model.flag(0, "site") is not None  # the other cell's flag stays
    assert doc.scenario.fleet[1].site == "Georgia"
    assert ev.result.btc_mined[0, :, 0].sum() < texas
    # A line edit for numbers.
    num = delegate.createEditor(view.table.viewport(), QStyleOptionViewItem(), model.index(0, col(model, "count")))
    assert isinstance(num, QLineEdit)


def test_add_from_catalog_adds_a_cohort(fleet):
    doc, ev, view = fleet
    n_rows, btc = view.model.rowCount(), ev.result.btc_mined.sum()
    assert view.add_from_catalog("Antminer S21 XP", "North Dakota", 100) is None
    assert view.model.rowCount() == n_rows + 1
    c = doc.scenario.fleet[-1]
    cat = load_catalog()["Antminer S21 XP"]
    assert (c.model, c.site, c.count, c.hashrate_ths, c.power_w) == ("Antminer S21 XP", "North Dakota", 100,
                                                                     cat.hashrate_ths, cat.power_w)
    assert c.purchase_price_usd == pytest.approx(cat.unit_price_usd)
    assert ev.result.btc_mined.sum() > btc
    assert len(series(view.hashrate_chart)["Nameplate hashrate (PH/s)"]) == n_rows + 1
    assert doc.undo_stack.text(doc.undo_stack.count() - 1) == "Add 100 x Antminer S21 XP at North Dakota"
    doc.undo_stack.undo()
    assert view.model.rowCount() == n_rows
    # Too many to fit: rejected with the capacity rule, nothing added.
    sc = doc.scenario
    err = view.add_from_catalog("Antminer S21 XP", "Georgia", 50_000)
    assert err is not None and doc.scenario is sc and "capacity" in view.status.text()
    assert view.add_from_catalog("No such miner", "Texas", 1) is not None and doc.scenario is sc


def test_catalog_dialog_lists_models_with_specs_and_prices(fleet, qtbot):
    doc, _ev, view = fleet
    dlg = CatalogDialog(doc.scenario, load_catalog(), view)
    qtbot.addWidget(dlg)
    cat = load_catalog()
    assert dlg.table.rowCount() == len(cat)
    headers = [dlg.table.horizontalHeaderItem(c).text() for c in range(dlg.table.columnCount())]
    assert headers[:5] == ["Model", "Hashrate (TH/s)", "Power (W)", "Efficiency (J/TH)", "Price (USD/TH)"]
    dlg.select_model("Avalon A16XP")
    dlg.site.setCurrentText("North Dakota")
    assert dlg.count.value() == dlg.fitting_units() > 0
    dlg.count.setValue(250)
    model, site, count, month = dlg.choice()
    assert (model, site, count, month) == ("Avalon A16XP", "North Dakota", 250, doc.scenario.start_month)
    assert view.add_from_catalog(model, site, count, month) is None
    assert doc.scenario.fleet[-1].purchase_month == doc.scenario.start_month


def test_remove_selected_is_one_undoable_edit(fleet):
    doc, _ev, view = fleet
    n = doc.undo_stack.count()
    view.table.selectRow(1)
    assert view.remove_selected() is None
    assert [c.model for c in doc.scenario.fleet][:2] == ["Antminer S21 XP", "Antminer S19j Pro"]
    assert doc.undo_stack.count() == n + 1
    doc.undo_stack.undo()
    assert len(doc.scenario.fleet) == 6


# --------------------------------------------------------------------------- sites

def test_power_price_edit_changes_result_and_site_chart(sites):
    doc, ev, view = sites
    model = view.model
    view.select_site(1)
    before = series(view.pnl_chart)
    assert view.pnl_chart.title.text() == "Monthly P&L: Georgia"
    assert set(before) == {"Mining revenue", "Power cost", "AI revenue", "EBITDA"}
    assert model.setData(model.index(1, col(model, "power_price_usd_per_mwh")), "70")
    assert doc.scenario.sites[1].power_price_usd_per_mwh == 70
    after = series(view.pnl_chart)
    assert after["Power cost"].sum() > before["Power cost"].sum()
    assert after["EBITDA"].sum() < before["EBITDA"].sum()
    assert np.allclose(after["EBITDA"], ev.result.ebitda_usd[0, :, 1])
    doc.undo_stack.undo()
    assert np.allclose(series(view.pnl_chart)["EBITDA"], before["EBITDA"])
    view.select_site(2)
    assert series(view.pnl_chart)["AI revenue"].sum() > 0


def test_rename_site_renames_fleet_and_plan_references(sites):
    doc, _ev, view = sites
    model = view.model
    n = doc.undo_stack.count()
    assert model.setData(model.index(2, col(model, "name")), "Dakota North")
    sc = doc.scenario
    assert sc.sites[2].name == "Dakota North"
    assert [c.site for c in sc.fleet][4:] == ["Dakota North", "Dakota North"]
    assert sc.conversion_plan[0].site == "Dakota North"
    assert doc.undo_stack.count() == n + 1
    assert doc.undo_stack.text(n) == "Rename site 'North Dakota' to 'Dakota North'"
    doc.undo_stack.undo()
    assert doc.scenario.sites[2].name == "North Dakota" and doc.scenario.fleet[5].site == "North Dakota"
    assert doc.scenario.conversion_plan[0].site == "North Dakota"


def test_rename_to_an_existing_name_is_flagged(sites):
    doc, _ev, view = sites
    model = view.model
    sc = doc.scenario
    idx = model.index(1, col(model, "name"))
    assert not model.setData(idx, "Texas")
    assert doc.scenario is sc and model.data(idx, DISPLAY) == "Texas"
    assert "duplicate site name 'Texas'" in model.data(idx, TIP)
    assert not model.setData(idx, "")
    assert "sites[1].name" in model.data(idx, TIP)


def test_capacity_below_fleet_load_is_flagged(sites):
    doc, _ev, view = sites
    model = view.model
    sc = doc.scenario
    assert not model.setData(model.index(0, col(model, "capacity_mw")), "50")
    assert doc.scenario is sc and "above its capacity" in model.flag(0, "capacity_mw")


def test_convertible_mw_creates_the_ai_section(sites):
    doc, _ev, view = sites
    model = view.model
    crit = model.index(0, col(model, "ai.critical_mw_per_gross_mw"))
    assert doc.scenario.sites[0].ai is None
    assert not model.flags(crit) & Qt.ItemFlag.ItemIsEditable
    assert "convertible MW first" in model.data(crit, TIP)
    assert model.setData(model.index(0, col(model, "ai.convertible_gross_mw")), "30")
    ai = doc.scenario.sites[0].ai
    assert ai is not None and ai.convertible_gross_mw == 30 and ai.lead_time_months == 12
    assert model.flags(crit) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(model.index(0, col(model, "ai.lead_time_months")), "9")
    assert doc.scenario.sites[0].ai.lead_time_months == 9
    # Above capacity: flagged with the rule.
    assert not model.setData(model.index(0, col(model, "ai.convertible_gross_mw")), "500")
    assert "exceeds capacity_mw" in model.flag(0, "ai.convertible_gross_mw")
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.scenario.sites[0].ai is None
    # Clearing convertible MW on a site the plan uses is rejected (the plan needs the ai section).
    sc = doc.scenario
    assert not model.setData(model.index(2, col(model, "ai.convertible_gross_mw")), "")
    assert doc.scenario is sc and "no ai section" in model.flag(2, "ai.convertible_gross_mw")


def test_curtailment_checkbox(sites):
    doc, _ev, view = sites
    model = view.model
    idx = model.index(0, col(model, "curtailment_enabled"))
    assert model.flags(idx) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.data(idx, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.setData(idx, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert doc.scenario.sites[0].curtailment_enabled is False
    assert model.data(idx, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    doc.undo_stack.undo()
    assert doc.scenario.sites[0].curtailment_enabled is True


def _profile_csv(rows=12, cols=24, header=True, bad=None) -> str:
    lines = [",".join(f"h{h}" for h in range(cols))] if header else []
    for m in range(rows):
        cells = [f"{30 + m + h * 0.5:g}" for h in range(cols)]
        if bad and bad[0] == m:
            cells[bad[1]] = bad[2]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def test_profile_csv_loads_and_clears(sites, tmp_path):
    doc, ev, view = sites
    model = view.model
    path = tmp_path / "profile.csv"
    path.write_text(_profile_csv(), encoding="utf-8")
    view.select_site(1)
    cost = ev.result.power_cost_usd[0, :, 1].sum()
    prof_idx = model.index(1, col(model, "hourly_price_usd_per_mwh"))
    assert model.data(prof_idx, DISPLAY) == "no"
    assert view.load_profile_from_file(path) is None
    prof = doc.scenario.sites[1].hourly_price_usd_per_mwh
    assert len(prof) == 12 and all(len(r) == 24 for r in prof) and prof[3][2] == 34
    assert model.data(prof_idx, DISPLAY) == "yes"
    assert ev.result.power_cost_usd[0, :, 1].sum() != pytest.approx(cost)
    assert view.clear_profile() is None
    assert doc.scenario.sites[1].hourly_price_usd_per_mwh is None
    doc.undo_stack.undo()
    assert doc.scenario.sites[1].hourly_price_usd_per_mwh == prof


@pytest.mark.parametrize("text, expected", [
    (_profile_csv(bad=(2, 6, "abc")), "row 4 (March), column 7: 'abc' is not a number"),
    (_profile_csv(header=False, bad=(0, 0, "")), "row 1 (January), column 1: is empty"),
    (_profile_csv(rows=11), "found 11 data rows, expected 12"),
    (_profile_csv(cols=23), "row 2 (January): has 23 values, expected 24"),
    (_profile_csv(bad=(11, 23, "1e9")), "row 13 (December), column 24: 1e+09 USD/MWh is out of range"),
    (_profile_csv(bad=(5, 1, "nan")), "row 7 (June), column 2: 'nan' is not a finite number"),
    ("", "is empty"),
])
def test_profile_csv_errors_name_row_and_column(text, expected):
    with pytest.raises(Exception) as info:
        parse_profile_csv(text, "p.csv")
    assert expected in str(info.value)


def test_profile_csv_accepts_labels_and_semicolons():
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    text = "\n".join(";".join([m] + [str(40 + h) for h in range(24)]) for m in months)
    prof = parse_profile_csv(text)
    assert len(prof) == 12 and prof[11][23] == 63


def test_bad_profile_file_leaves_the_scenario_and_says_where(sites, tmp_path):
    doc, _ev, view = sites
    path = tmp_path / "bad.csv"
    path.write_text(_profile_csv(bad=(0, 3, "12.5x")), encoding="utf-8")
    sc, n = doc.scenario, doc.undo_stack.count()
    msg = view.load_profile_from_file(path, row=0)
    assert msg is not None and "row 2 (January), column 4" in msg and "bad.csv" in msg
    assert doc.scenario is sc and doc.undo_stack.count() == n
    assert "row 2" in view.status.text()
    with pytest.raises(Exception, match="cannot be read"):
        read_profile_csv(tmp_path / "missing.csv")


def test_add_and_remove_site(sites):
    doc, _ev, view = sites
    assert view.add_site() is None
    assert doc.scenario.sites[-1].name == "Site 4" and view.model.rowCount() == 4
    assert view.remove_site(0) is None
    assert [s.name for s in doc.scenario.sites] == ["Georgia", "North Dakota", "Site 4"]
    assert all(c.site != "Texas" for c in doc.scenario.fleet)
    doc.undo_stack.undo()
    assert doc.scenario.sites[0].name == "Texas" and len(doc.scenario.fleet) == 6


# --------------------------------------------------------------------------- AI view

def test_ai_form_edit_changes_revenue_and_chart(ai):
    doc, ev, view = ai
    assert view.site_combo.currentText() == "North Dakota"
    assert view.fields["colocation.rate_usd_per_kw_month"].text() == "140"
    rev = series(view.chart)["AI revenue"].sum()
    n = doc.undo_stack.count()
    assert view.set_field("colocation.rate_usd_per_kw_month", "180") is None
    assert doc.scenario.sites[2].ai.colocation.rate_usd_per_kw_month == 180
    assert doc.undo_stack.count() == n + 1
    assert doc.undo_stack.text(n) == "Edit sites[2].ai.colocation.rate_usd_per_kw_month"
    assert ev.result.ai.revenue_usd.sum() > 0
    assert series(view.chart)["AI revenue"].sum() > rev
    doc.undo_stack.undo()
    assert view.fields["colocation.rate_usd_per_kw_month"].text() == "140"
    assert series(view.chart)["AI revenue"].sum() == pytest.approx(rev)
    doc.undo_stack.redo()
    assert view.fields["colocation.rate_usd_per_kw_month"].text() == "180"


def test_ai_invalid_field_is_flagged(ai):
    doc, _ev, view = ai
    sc = doc.scenario
    err = view.set_field("gpu_cloud.utilization_pct", "150")
    assert err is not None and doc.scenario is sc
    w = view.fields["gpu_cloud.utilization_pct"]
    assert w.text() == "150" and "#f8d7da" in w.styleSheet()
    assert "Sites row 3, Utilization: must be at most 100" in w.toolTip()
    assert "Field: sites[2].ai.gpu_cloud.utilization_pct" in w.toolTip()
    assert view.set_field("colocation.term_months", "ten") is not None
    assert "not a number" in view.fields["colocation.term_months"].toolTip()
    # A valid value clears the flag; undo clears the other one.
    assert view.set_field("gpu_cloud.utilization_pct", "75") is None
    assert w.styleSheet() == "" and "utilization" not in str(view.flags)
    doc.undo_stack.undo()
    assert view.flags == {} and view.fields["colocation.term_months"].text() == "120"


def test_ai_business_model_and_checkbox(ai):
    doc, ev, view = ai
    plan = view.plan_model
    # The shipped plan names colocation for its conversion; let it follow the site's model.
    assert plan.setData(plan.index(0, col(plan, "business_model")), "(site's model)")
    rev = ev.result.ai.revenue_usd.sum()
    assert view.set_field("business_model", "gpu_cloud") is None
    assert doc.scenario.sites[2].ai.business_model == "gpu_cloud"
    assert ev.result.ai.revenue_usd.sum() != pytest.approx(rev)
    assert "(in use)" in view.gpu_box.title()
    doc.undo_stack.undo()
    assert view.fields["business_model"].currentText() == "colocation"
    assert view.set_field("colocation.tenant_pays_power", False) is None
    assert doc.scenario.sites[2].ai.colocation.tenant_pays_power is False


def test_conversion_plan_table(ai):
    doc, ev, view = ai
    model = view.plan_model
    capex = series(view.chart)["AI capex"].sum()
    assert model.setData(model.index(0, col(model, "gross_mw")), "60")
    assert doc.scenario.conversion_plan[0].gross_mw == 60
    assert series(view.chart)["AI capex"].sum() > capex
    sc = doc.scenario
    assert not model.setData(model.index(0, col(model, "gross_mw")), "150")
    assert doc.scenario is sc and "above its convertible_gross_mw" in model.flag(0, "gross_mw")
    assert not model.setData(model.index(0, col(model, "start_month")), "2026-13")
    assert "YYYY-MM" in model.flag(0, "start_month")
    assert not model.setData(model.index(0, col(model, "start_month")), "2020-01")
    assert "before start_month" in model.flag(0, "start_month")
    assert model.setData(model.index(0, col(model, "business_model")), "gpu_cloud")
    assert doc.scenario.conversion_plan[0].business_model == "gpu_cloud"
    assert model.setData(model.index(0, col(model, "business_model")), "(site's model)")
    assert doc.scenario.conversion_plan[0].business_model is None
    # Add (defaults: the form's site, the MW still free up to 10, the first month) and remove.
    assert view.add_conversion() is None
    new = doc.scenario.conversion_plan[-1]
    assert (new.site, new.gross_mw, new.start_month) == ("North Dakota", 10, doc.scenario.start_month)
    assert model.rowCount() == 2
    view.plan_table.selectRow(0)
    assert view.remove_selected() is None
    assert model.rowCount() == 1 and doc.scenario.conversion_plan[0].gross_mw == 10
    doc.undo_stack.undo()
    assert model.rowCount() == 2


def test_ai_view_without_ai_sites(env, qtbot):
    doc, ev = env
    doc.edit_dict(lambda d: (d.pop("conversion_plan"), d["sites"][2].pop("ai")), "no AI")
    view = AiView(doc, ev)
    qtbot.addWidget(view)
    assert view.site_combo.count() == 0 and not view.colo_box.isEnabled()
    assert "No site has an AI section" in view.note.text()
    doc.undo_stack.undo()
    assert view.site_combo.currentText() == "North Dakota" and view.colo_box.isEnabled()


# --------------------------------------------------------------------------- protocol

def test_views_follow_the_view_protocol(env, qtbot):
    doc, ev = env
    for cls in (FleetView, SitesView, AiView):
        view = cls(doc, ev)
        qtbot.addWidget(view)
        charts = view.charts()
        assert charts and all(isinstance(c, Chart) for c in charts)
        view.set_presentation(True)
        assert charts[0]._font_pt == 16
        view.set_presentation(False)
        view.resize(1200, 800)
        assert not view.grab().isNull()


def test_parse_number():
    assert parse_number("18,000") == 18000 and parse_number(" 12.5 % ") == 12.5
    assert parse_number("$1,200") == 1200 and parse_number("", optional=True) is None
    for bad in ("", "abc", "inf", True):
        with pytest.raises(ValueError):
            parse_number(bad)


def test_every_cohort_shows_its_breakevens(env):
    # The breakeven columns once read only as many rows as there are breakeven kinds (2).
    from minerplan.analysis.report import cohort_breakevens

    doc, ev = env
    model = FleetTableModel(doc, ev)
    be = cohort_breakevens(ev.result)
    col = model.column_index("breakeven_btc_price_usd")
    assert model.rowCount() == len(be) > 2
    for r in range(model.rowCount()):
        assert model.data(model.index(r, col), DISPLAY) == f"{be.breakeven_btc_price_usd[r]:,.0f}"
