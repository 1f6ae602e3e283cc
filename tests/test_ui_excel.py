"""Excel in the app: background export with progress and cancel, fleet/site import as one undoable step, template."""

from __future__ import annotations

import csv
import threading

import pytest

pytest.importorskip("pytestqt")
openpyxl = pytest.importorskip("openpyxl")

from PySide6.QtCore import QSettings, QStandardPaths  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from minerplan.scenario.fields import FLEET_COLUMNS, SITE_COLUMNS  # noqa: E402
from tests.gate import Gate  # noqa: E402
from ui import excel_actions  # noqa: E402
from ui.kit.jobs import live_jobs  # noqa: E402
from ui.kit.settings import MC_PATHS  # noqa: E402

QStandardPaths.setTestModeEnabled(True)

FLEET_HEADERS = {c.field: c.header for c in FLEET_COLUMNS}
PATHS = 20          # Monte Carlo paths for the exports here: enough for a Scenarios sheet, fast


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from ui import autosave, main_window as mw

    monkeypatch.setattr(autosave, "autosave_dir", lambda: tmp_path / "autosave")
    (tmp_path / "autosave").mkdir()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(MC_PATHS.key, 1)      # no Monte Carlo fan in the background of these tests
    w = mw.MainWindow("default", settings=settings, check_recovery=False)
    qtbot.addWidget(w, before_close_func=lambda w: w.doc.undo_stack.setClean())
    yield w
    excel_actions.shutdown_exports(w)
    w.evaluation.wait_idle()


@pytest.fixture
def messages(monkeypatch):
    """The message boxes shown (title, text), instead of showing them."""
    shown: list[tuple[str, str]] = []

    def fake_open(box):
        shown.append((box.windowTitle(), box.text()))
    monkeypatch.setattr(QMessageBox, "open", fake_open)
    return shown


def wait_done(qtbot, job, timeout=60_000):
    qtbot.waitUntil(lambda: job.state != "running", timeout=timeout)


def out_dir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    return d


def write_fleet_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([FLEET_HEADERS[k] for k in ("model", "site", "count", "hashrate_ths", "power_w")])
        w.writerows(rows)


# ---------------------------------------------------------------- export
def test_export_action_runs_in_background_and_writes_the_workbook(qtbot, window, tmp_path, monkeypatch):
    from minerplan.sheets.export import workbook as xlsx_export

    folder = out_dir(tmp_path)
    asked = []

    def fake_dialog(parent, title, suggested, file_filter):
        asked.append((title, suggested, file_filter))
        return str(folder / "my plan")              # no suffix typed: .xlsx is added
    monkeypatch.setattr(excel_actions, "ask_save_path", fake_dialog)
    monkeypatch.setattr(excel_actions, "PROGRESS_SHOW_AFTER_MS", 0)
    # Hold the export on a gate after its first progress report (before any sheet is written) until the
    # test opens it, so what follows is checked mid-export, however fast this machine is.
    gate = Gate()
    original = xlsx_export.export_workbook

    def held(*args, progress=None, cancel=None, **kwargs):
        report = gate.progress(progress, cancel, at=lambda frac, text: 0 < frac < excel_actions.WRITE_FRACTION)
        return original(*args, progress=report, cancel=cancel, **kwargs)
    monkeypatch.setattr(xlsx_export, "export_workbook", held)
    window.evaluation.mc.paths, window.evaluation.mc.seed = PATHS, 7
    assert window.act_export_excel.shortcut() == QKeySequence("Ctrl+E")
    with gate.ticking() as ticks:   # one per timer tick: was the worker at the gate then?
        window.act_export_excel.trigger()
        assert not gate.passed.is_set()             # the slot returned before the export could finish
        jobs = live_jobs(window)
        assert len(jobs) == 1 and jobs[0].running
        job = jobs[0]
        bar = []
        job.progress.connect(lambda f, what: bar.append(job.dialog.bar.value() if job.dialog else None))
        qtbot.waitUntil(gate.reached.is_set, timeout=10_000)
        assert gate.thread is not threading.main_thread()
        # mid-export: the progress dialog is up (window-modal, not blocking) and shows the progress so far,
        # and the event loop keeps turning
        qtbot.waitUntil(lambda: job.dialog is not None and job.dialog.isVisible(), timeout=10_000)
        assert job.dialog.isModal()
        qtbot.waitUntil(lambda: 0 < job.dialog.bar.value() < 1000, timeout=10_000)
        qtbot.waitUntil(lambda: ticks.count(True) >= 5, timeout=10_000)
        assert gate.holding and job.running and not (folder / "my plan.xlsx").exists()
    wait_done(qtbot, job)
    assert bar and max(v for v in bar if v is not None) >= 900      # the dialog's bar followed the export
    assert job.dialog is None                       # closed when the export ended
    assert job.state == "done", job.error
    assert not gate.timed_out
    assert asked[0][1].endswith("Mid-size miner, late November 2025.xlsx") and "xlsx" in asked[0][2]
    target = folder / "my plan.xlsx"
    wb = openpyxl.load_workbook(target, read_only=True)
    assert {"Summary", "Inputs", "Cash Flow"} <= set(wb.sheetnames)
    assert "Scenarios" in wb.sheetnames
    wb.close()
    assert sorted(p.name for p in folder.iterdir()) == ["my plan.xlsx"]      # no temp file left
    msg = window.statusBar().currentMessage()
    assert str(target) in msg and " s " in msg
    assert job.result.path == target


def test_export_cancelled_immediately_leaves_nothing(qtbot, window, tmp_path, messages, monkeypatch):
    from minerplan.sheets.export import workbook as xlsx_export

    folder = out_dir(tmp_path)
    window.evaluation.mc.paths = PATHS
    # The worker starts the export only once the cancel is in, so a quick export cannot get past its
    # last cancel check (and write the file) before the next line here runs.
    gate = Gate()
    original = xlsx_export.export_workbook

    def held(*args, cancel=None, **kwargs):
        gate.hold(cancel)
        return original(*args, cancel=cancel, **kwargs)
    monkeypatch.setattr(xlsx_export, "export_workbook", held)
    job = excel_actions.export_to_excel(window, str(folder / "plan.xlsx"))
    job.cancel()
    wait_done(qtbot, job)
    assert job.state == "cancelled" and gate.passed.is_set() and not gate.timed_out
    assert list(folder.iterdir()) == []
    assert "cancelled" in window.statusBar().currentMessage()
    assert messages == []                           # a cancel is not an error


def test_export_cancel_button_mid_run(qtbot, window, tmp_path, monkeypatch):
    from minerplan.sheets.export import workbook as xlsx_export

    folder = out_dir(tmp_path)
    window.evaluation.mc.paths = PATHS
    # Hold the worker before the Dispatch sheet until the click has happened, so the test does not
    # depend on how fast the export runs on this machine.
    clicked = threading.Event()
    original = xlsx_export._Export.sheet_dispatch

    def held(self):
        clicked.wait(20)
        return original(self)

    monkeypatch.setattr(xlsx_export._Export, "sheet_dispatch", held)
    job = excel_actions.export_to_excel(window, str(folder / "plan.xlsx"))
    button = job.dialog.cancel_button
    assert button.text() == "Cancel"
    stages = []

    def on_progress(frac, what):
        stages.append(what)
        if what == "cohorts" and job.dialog is not None:
            button.click()                          # as the user would, while sheets are being built
            clicked.set()
    job.progress.connect(on_progress)
    wait_done(qtbot, job)
    assert "cohorts" in stages and job.state == "cancelled"
    assert list(folder.iterdir()) == []
    assert job.dialog is None


def test_export_failure_shows_the_message_without_traceback(qtbot, window, tmp_path, messages):
    window.evaluation.mc.paths = 1
    bad = tmp_path / "no such folder" / "plan.xlsx"
    job = excel_actions.export_to_excel(window, str(bad))
    wait_done(qtbot, job)
    assert job.state == "failed"
    assert len(messages) == 1
    title, text = messages[0]
    assert title == "Export to Excel" and str(bad) in text and "Traceback" not in text
    assert "ExportFailed" not in text
    assert "failed" in window.statusBar().currentMessage()


def test_closing_the_window_stops_a_running_export(qtbot, window, tmp_path):
    folder = out_dir(tmp_path)
    window.evaluation.mc.paths = PATHS
    job = excel_actions.export_to_excel(window, str(folder / "plan.xlsx"))
    window.doc.undo_stack.setClean()
    window.close()
    assert not job.thread_alive                     # closeEvent waited for the thread
    qtbot.waitUntil(lambda: job.state != "running", timeout=10_000)
    assert job.state == "cancelled" or (folder / "plan.xlsx").exists()
    assert not list(folder.glob(".*.tmp"))


@pytest.mark.parametrize("name, expected", [
    ("Mid-size miner, late November 2025", "Mid-size miner, late November 2025"),
    ("a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"),
    ("  ..hidden.  ", "hidden"),
    ("CON", "_CON"),
    ("tab\there\nnewline", "tab here newline"),
    ("", "scenario"),
    ("///", "_"),
    ("x" * 300, "x" * 120),
])
def test_safe_filename(name, expected):
    assert excel_actions.safe_filename(name) == expected


def test_monte_carlo_settings_fall_back():
    assert excel_actions.monte_carlo_settings(None) == (500, 0)


# ---------------------------------------------------------------- import
def test_import_fleet_csv_is_one_undoable_step(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "fleet.csv"
    write_fleet_csv(path, [["S21", "Texas", 100, 200, 3500], ["S19 XP", "Georgia", 50, 140, 3010]])
    monkeypatch.setattr(excel_actions, "ask_open_path", lambda *a: str(path))
    doc = window.doc
    before, steps = doc.scenario, doc.undo_stack.count()
    assert not doc.dirty
    window.act_import_fleet.trigger()
    fleet = doc.scenario.fleet
    assert [(c.model, c.site, c.count) for c in fleet] == [("S21", "Texas", 100), ("S19 XP", "Georgia", 50)]
    assert doc.scenario.sites == before.sites
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Import fleet from fleet.csv"
    assert doc.dirty and window.windowTitle().split(" — ")[0].endswith("*")
    assert "Imported 2 fleet rows" in window.statusBar().currentMessage()
    window.act_undo.trigger()
    assert doc.scenario is before and not doc.dirty
    window.act_redo.trigger()
    assert len(doc.scenario.fleet) == 2


def test_bad_fleet_csv_shows_the_cell_and_changes_nothing(window, tmp_path, messages):
    path = tmp_path / "fleet.csv"
    write_fleet_csv(path, [["S21", "Texas", 100, 200, 3500], ["S19", "Atlantis", 50, 100, 3000]])
    doc = window.doc
    before, steps = doc.scenario, doc.undo_stack.count()
    assert excel_actions.import_table(window, "fleet", str(path)) is False
    assert doc.scenario is before and doc.undo_stack.count() == steps and not doc.dirty
    assert len(messages) == 1
    title, text = messages[0]
    assert title == "Cannot import fleet"
    assert "row 3" in text and "(Site)" in text and "Atlantis" in text and "Traceback" not in text


def test_fleet_csv_with_several_problems_lists_them_all(window, tmp_path, messages):
    path = tmp_path / "fleet.csv"
    write_fleet_csv(path, [["S21", "Texas", "many", 200, 3500], ["S19", "Texas", 50, "fast", 3000]])
    assert not excel_actions.import_table(window, "fleet", str(path))
    text = messages[0][1]
    assert "row 2 (Units)" in text and "row 3 (Hashrate [TH/s per unit])" in text


def _site_row(site) -> list:
    out = []
    for c in SITE_COLUMNS:
        v = site
        for part in c.field.split("."):
            v = getattr(v, part, None) if v is not None else None
        out.append("" if v is None else ("yes" if v is True else "no" if v is False else v))
    return out


def test_import_sites_csv_and_undo(window, tmp_path):
    doc = window.doc
    before = doc.scenario
    path = tmp_path / "sites.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([c.header for c in SITE_COLUMNS])
        for site in before.sites:
            row = _site_row(site)
            if site.name == "Texas":
                row[1] = 123.0                          # Capacity [MW]
            w.writerow(row)
    assert excel_actions.import_table(window, "sites", str(path)), doc.undo_stack.undoText()
    texas = next(s for s in doc.scenario.sites if s.name == "Texas")
    assert texas.capacity_mw == 123.0
    assert doc.undo_stack.undoText() == "Import sites from sites.csv"
    doc.undo_stack.undo()
    assert doc.scenario is before


def test_import_unreadable_file_shows_error(window, tmp_path, messages):
    path = tmp_path / "fleet.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    before = window.doc.scenario
    assert not excel_actions.import_table(window, "fleet", str(path))
    assert window.doc.scenario is before
    assert ".xlsx" in messages[0][1]


def test_import_dialog_cancelled_does_nothing(window, monkeypatch):
    monkeypatch.setattr(excel_actions, "ask_open_path", lambda *a: "")
    steps = window.doc.undo_stack.count()
    window.act_import_sites.trigger()
    assert window.doc.undo_stack.count() == steps


def test_save_template_writes_a_workbook_that_imports(window, tmp_path, monkeypatch):
    monkeypatch.setattr(excel_actions, "ask_save_path", lambda *a: str(tmp_path / "template"))
    window.act_import_template.trigger()
    path = tmp_path / "template.xlsx"
    assert path.exists()
    wb = openpyxl.load_workbook(path, read_only=True)
    assert {"Fleet", "Sites"} <= set(wb.sheetnames)
    wb.close()
    assert str(path) in window.statusBar().currentMessage()
    # the template's example row imports as it is
    assert excel_actions.import_table(window, "fleet", str(path))
    assert len(window.doc.scenario.fleet) == 1


def test_last_folder_is_remembered(window, tmp_path, monkeypatch):
    folder = out_dir(tmp_path)
    monkeypatch.setattr(excel_actions, "ask_save_path", lambda *a: str(folder / "t.xlsx"))
    excel_actions.save_template(window)
    assert excel_actions.start_dir(window) == str(folder)


# ---------------------------------------------------------------- the optimizer's plan
@pytest.fixture
def optimize_view(qtbot):
    from minerplan.scenario.files import load_scenario
    from ui.document import ScenarioDocument
    from ui.evaluation import Evaluation
    from ui.views.optimize.view import OptimizeView

    doc = ScenarioDocument(load_scenario("default"))
    ev = Evaluation(doc)
    ev.mc.paths = 1
    v = OptimizeView(doc, ev)
    qtbot.addWidget(v)
    yield v
    v.shutdown()
    doc.undo_stack.clear()


def test_optimize_view_exports_the_plan(qtbot, optimize_view, tmp_path):
    v = optimize_view
    assert not v.export_plan_button.isEnabled()
    v.paths.setValue(10)
    v.hall.setValue(0)
    v.run_button.click()
    qtbot.waitUntil(lambda: v.state in ("done", "no_plan", "failed", "cancelled"), timeout=60_000)
    assert v.state == "done" and v.export_plan_button.isEnabled()
    v.evaluation.mc.paths = PATHS
    path = tmp_path / "plan.xlsx"
    job = v.export_plan(str(path))
    assert job is not None and job.running
    wait_done(qtbot, job)
    assert job.state == "done", job.error
    wb = openpyxl.load_workbook(path)
    assert "Plan" in wb.sheetnames and {"Summary", "Inputs", "Cash Flow"} <= set(wb.sheetnames)
    note = wb["Plan"]["A2"].value
    assert "Optimizer (optimal" in note and "expected NPV $" in note and "\n" not in note
    assert "Exported" in v.status_label.text()
    # the workbook is of the planned scenario: its conversions include the optimizer's
    assert job.scenario is v.result.plan_scenario
