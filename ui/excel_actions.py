"""Excel in the app: export the plan workbook in the background, import fleet and sites, write the template.

The work lives in :mod:`minerplan.sheets.export.workbook` and :mod:`minerplan.sheets.importing`;
this module is the Qt side. An export always runs as a background :class:`~ui.kit.jobs.Job`
with a progress dialog and a working Cancel (the GUI never waits on it); an
import replaces the fleet or the sites through the document, so it is one
undoable step, and a bad file changes nothing and shows every problem.

File dialogs are only opened by :func:`ask_save_path` / :func:`ask_open_path`
(tests replace them) and only when the caller gives no path; they open in the last Excel folder
(the setting :data:`ui.kit.settings.EXCEL_DIR`).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario

from .kit import settings
from .kit.jobs import Job, live_jobs
from .kit.messages import show_message, show_status

log = logging.getLogger(__name__)

XLSX_FILTER = "Excel workbook (*.xlsx)"
IMPORT_FILTER = "Tables (*.csv *.xlsx);;CSV (*.csv);;Excel workbook (*.xlsx)"
DEFAULT_N_PATHS, DEFAULT_SEED = 500, 0
WRITE_FRACTION = 0.9            # export_workbook reports this just before it writes the file
PROGRESS_SHOW_AFTER_MS = 300    # a quicker export does not flash a progress dialog
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


# ---------------------------------------------------------------- dialogs (tests replace these two)
def ask_save_path(parent: QWidget | None, title: str, suggested: str, file_filter: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    return path


def ask_open_path(parent: QWidget | None, title: str, directory: str, file_filter: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, directory, file_filter)
    return path


# ---------------------------------------------------------------- small helpers
def safe_filename(name: str, fallback: str = "scenario", max_len: int = 120) -> str:
    """``name`` as a file name valid on Windows, macOS and Linux (no extension added)."""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r'[<>:"/\\|?*]+', "_", text)
    text = re.sub(r"\s+", " ", text).strip().strip(".").strip()
    text = text[:max_len].rstrip(" .")
    if not text:
        return fallback
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text


def with_suffix(path: str, suffix: str) -> str:
    return path if path.lower().endswith(suffix) else path + suffix


def monte_carlo_settings(evaluation) -> tuple[int, int]:
    """Paths and seed of the app's Monte Carlo (500 and 0 when there are none)."""
    mc = getattr(evaluation, "mc", None)
    try:
        return int(mc.paths), int(mc.seed)
    except (AttributeError, TypeError, ValueError):
        return DEFAULT_N_PATHS, DEFAULT_SEED


def start_dir(widget: QWidget, doc=None) -> str:
    """Where a file dialog opens: the last Excel folder, else the scenario's folder, else home."""
    store = settings.window_settings(widget)
    last = settings.read(store, settings.EXCEL_DIR) if store is not None else ""
    if last and Path(last).is_dir():
        return last
    doc_path = getattr(doc, "path", None)
    if doc_path and Path(doc_path).parent.is_dir():
        return str(Path(doc_path).parent)
    return str(Path.home())


def remember_dir(widget: QWidget, path: str) -> None:
    store = settings.window_settings(widget)
    if store is not None:
        settings.write(store, settings.EXCEL_DIR, str(Path(path).parent))


@contextmanager
def _busy():
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


# ---------------------------------------------------------------- export in the background
class ExportFailed(RuntimeError):
    """The workbook could not be written (the message names the file and the reason)."""


class ExportProgressDialog(QDialog):
    """Progress of one export: what is being built, a bar and Cancel. Window-modal, shown only when the export
    takes longer than ``show_after_ms``; Esc and the close button cancel like the Cancel button.

    (A QProgressDialog would do, but its setValue() runs a nested event loop when modal, which re-enters the
    job's slots.)
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget, title: str, text: str, show_after_ms: int | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(420)
        self.label = QLabel(text)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addLayout(buttons)
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.timeout.connect(self.show)
        self._show_timer.start(PROGRESS_SHOW_AFTER_MS if show_after_ms is None else show_after_ms)

    def set_progress(self, frac: float, text: str) -> None:
        self.bar.setValue(int(round(max(0.0, min(1.0, frac)) * 1000)))
        self.label.setText(text)

    def reject(self) -> None:           # Cancel, Esc, the close button: ask; the job closes the dialog when it ends
        self.cancel_button.setEnabled(False)
        self.cancel_requested.emit()

    def finish(self) -> None:
        self._show_timer.stop()
        self.hide()
        self.deleteLater()


class ExportJob(Job):
    """One workbook export as a background :class:`~ui.kit.jobs.Job`, with a progress dialog and Cancel.

    A cancel is honoured until the file is being written; after that the (atomic) write completes and
    the job is done, so "cancelled" always means no file was written and no temp file is left.
    ``finished`` carries the :class:`~minerplan.sheets.export.workbook.ExportReport`.
    """

    def __init__(self, sc: Scenario, path: str | Path, *, plan=None, n_paths: int = DEFAULT_N_PATHS,
                 seed: int = DEFAULT_SEED, owner: QWidget | None = None, title: str = "Export to Excel"):
        super().__init__(self._export, owner, name="excel-export", failure_text="The export failed",
                         expected=(ExportFailed,), drop_late_result=False)
        self.scenario = sc
        self.path = Path(path)
        self.plan, self.n_paths, self.seed = plan, int(n_paths), seed
        self._writing = threading.Event()
        self.dialog: ExportProgressDialog | None = None
        if owner is not None:
            self.dialog = ExportProgressDialog(owner, title, f"Exporting {self.path.name}...")
            self.dialog.cancel_requested.connect(self.cancel)
        self.progress.connect(self._on_progress)

    def _export(self, progress, cancel):
        from minerplan.sheets.export.workbook import export_workbook

        def report(frac: float, what: str) -> None:
            if frac >= WRITE_FRACTION:
                self._writing.set()       # past the last cancel check before the write: finish it
            progress(frac, what)

        try:
            return export_workbook(self.scenario, self.path, plan=self.plan, n_paths=self.n_paths, seed=self.seed,
                                   progress=report, cancel=lambda: cancel() and not self._writing.is_set())
        except OSError as e:
            raise ExportFailed(f"Cannot write {self.path}: {e.strerror or e}") from None

    def cancel(self) -> None:
        if not self.running:
            return
        super().cancel()
        if self._dialog_ok():
            self.dialog.label.setText("Finishing the file..." if self._writing.is_set() else "Cancelling...")

    def _dialog_ok(self) -> bool:
        return self.dialog is not None and isValid(self.dialog)

    def _on_progress(self, frac: float, what: str) -> None:
        if self._dialog_ok():
            self.dialog.set_progress(frac, f"Exporting {self.path.name}: {what}")

    def on_end(self) -> None:
        if self._dialog_ok():
            self.dialog.cancel_requested.disconnect(self.cancel)
            self.dialog.finish()
        self.dialog = None


def start_export(owner: QWidget, sc: Scenario, path: str | Path, *, plan=None, n_paths: int = DEFAULT_N_PATHS,
                 seed: int = DEFAULT_SEED, title: str = "Export to Excel", status=None) -> ExportJob:
    """Export ``sc`` to ``path`` in the background; the outcome goes to ``status(text)`` (default: the status bar)
    and a failure to a message box."""
    say = status or (lambda text: show_status(owner, text))
    job = ExportJob(sc, path, plan=plan, n_paths=n_paths, seed=seed, owner=owner, title=title)
    job.finished.connect(lambda r: say(f"Exported {r.path} in {r.seconds:.1f} s ({len(r.sheets)} sheets)"))
    job.failed.connect(lambda msg: say(f"Excel export failed: {msg.splitlines()[0]}"))
    job.show_failure(owner, title)
    job.cancelled.connect(lambda: say(f"Excel export cancelled; {Path(path).name} was not written"))
    return job.start()


def shutdown_exports(owner: QWidget, ms: int = 30_000) -> None:
    """Stop every export started from ``owner`` (or its children) and wait for its thread."""
    for job in live_jobs(owner):
        if isinstance(job, ExportJob):
            job.shutdown(ms)


def _ask_xlsx(owner: QWidget, title: str, name: str, doc=None) -> str | None:
    path = ask_save_path(owner, title, str(Path(start_dir(owner, doc)) / f"{safe_filename(name)}.xlsx"),
                         XLSX_FILTER)
    if not path:
        return None
    remember_dir(owner, path)
    return with_suffix(path, ".xlsx")


def export_to_excel(window, path: str | None = None) -> ExportJob | None:
    """File > Export to Excel: the document's scenario, with the app's Monte Carlo paths and seed."""
    sc = window.doc.scenario
    path = path or _ask_xlsx(window, "Export to Excel", sc.name, window.doc)
    if not path:
        return None
    n_paths, seed = monte_carlo_settings(getattr(window, "evaluation", None))
    return start_export(window, sc, path, n_paths=n_paths, seed=seed)


# ---------------------------------------------------------------- the optimizer's plan
def plan_note(res) -> str:
    """One line for the Plan sheet: the optimizer's headline figures and what it recommends."""
    from solvers.report import recommendation

    st = res.settings
    parts = [f"Optimizer ({res.status.replace('_', ' ')}, risk weight {st.risk_aversion:g}, "
             f"{st.n_paths:,} price paths, seed {st.seed})"]
    if res.expected_npv_usd is not None:
        parts.append(f"expected NPV ${res.expected_npv_usd / 1e6:,.1f}M")
    if res.cvar_usd is not None:
        parts.append(f"CVaR of NPV loss ${res.cvar_usd / 1e6:,.1f}M")
    line = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
    try:
        advice = [s for s in recommendation(res) if not s.startswith("Deliver the signed")]
    except Exception:  # noqa: BLE001 - the note is a courtesy; the export must not fail over it
        log.exception("no recommendation text for the plan note")
        advice = []
    if advice:
        line += ". " + " ".join(advice[:3]) + (f" (+{len(advice) - 3} more)" if len(advice) > 3 else "")
    return " ".join(line.split())


def export_plan(view, path: str | None = None) -> ExportJob | None:
    """Optimize view > Export plan to Excel: the planned scenario with its decisions on the Plan sheet."""
    from dataclasses import replace

    res = view.result
    if res is None or not res.ok or res.plan_scenario is None:
        return None
    planned = res.plan_scenario
    path = path or _ask_xlsx(view, "Export plan to Excel", f"{planned.name} plan", view.doc)
    if not path:
        return None
    plan = replace(res.decisions, note=plan_note(res))   # the rows the optimizer wrote as its decisions
    n_paths, seed = monte_carlo_settings(getattr(view, "evaluation", None))

    def say(text: str) -> None:
        view.status_label.setText(text)
        show_status(view, text)
    return start_export(view, planned, path, plan=plan, n_paths=n_paths, seed=seed, title="Export plan to Excel",
                        status=say)


# ---------------------------------------------------------------- import and template
IMPORT_KINDS = {"fleet": ("fleet", "fleet rows"), "sites": ("sites", "sites")}


def import_table(window, kind: str, path: str | None = None) -> bool:
    """File > Import fleet / sites: replace them in the document as one undoable step.

    A file with problems shows every one (sheet, row, column) and changes nothing.
    """
    from minerplan.sheets.importing import fleet_and_sites as ti

    what, rows_word = IMPORT_KINDS[kind]
    title = f"Import {what}"
    if path is None:
        path = ask_open_path(window, title, start_dir(window, window.doc), IMPORT_FILTER)
        if not path:
            return False
        remember_dir(window, path)
    read, into = (ti.read_fleet, ti.import_fleet_into) if kind == "fleet" else (ti.read_sites, ti.import_sites_into)
    doc = window.doc
    notes: list[str] = []
    try:
        with _busy():
            rows = read(path)
            new = into(doc.scenario, rows, notes)
    except ScenarioError as e:
        show_message(window, f"Cannot import {what}", e.describe())
        return False
    except Exception as e:  # noqa: BLE001 - any other failure is shown, and the scenario stays as it was
        log.exception("import of %s from %s failed", what, path)
        show_message(window, f"Cannot import {what}", f"{Path(path).name}: {type(e).__name__}: {e}")
        return False
    doc.replace(new, f"Import {what} from {Path(path).name}")
    show_status(window, f"Imported {len(rows)} {rows_word} from {path} (Edit > Undo restores the previous {what})"
                        + "".join(f"; {n}" for n in notes))
    return True


def save_template(window, path: str | None = None) -> Path | None:
    """File > Save import template: an .xlsx with Fleet, Sites and Hourly prices sheets and examples."""
    from minerplan.sheets.importing.template import write_template

    if path is None:
        path = _ask_xlsx(window, "Save import template", "minerplan_import_template", window.doc)
        if not path:
            return None
    try:
        with _busy():
            write_template(path, window.doc.scenario)
    except (OSError, ScenarioError) as e:
        msg = e.describe() if isinstance(e, ScenarioError) else f"{path}: {e.strerror or e}"
        show_message(window, "Cannot save the import template", msg)
        return None
    show_status(window, f"Saved the import template to {path}")
    return Path(path)
