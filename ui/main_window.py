"""The MinerPlan main window: views in tabs, files, undo, settings, autosave and presentation mode.

Autosave is per window: each window writes its unsaved work, every ``AUTOSAVE_MS`` while the document
is dirty, to its own file in :func:`autosave_dir`, naming the document (its file, or the scenario's
name when untitled), the time and the process. The file goes as soon as the document is clean again
(saved, or undone back to the saved state) and when the window closes. So after a crash every file
left by a process that is no longer running is unsaved work: the next start offers each of them,
newest first, and deletes one only when the user has answered for it (recovered or discarded).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from minerplan.analysis.vocabulary import NPV_ON_PATH
from minerplan.formats import usd
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.file_io import clean_stale_temps_in

from . import autosave as autosaves
from . import excel_actions
from .autosave import LATER, LIVE_WINDOWS, RECOVER, Autosave
from .document import ScenarioDocument
from .evaluation import Evaluation
from .kit import settings as app_settings
from .kit.jobs import shutdown_jobs
from .kit.messages import ask_save_with_rejections, error_box
from .kit.wheel import install_wheel_guard

MAX_RECENT = 8
AUTOSAVE_MS = 30_000


VIEWS = [("Overview", "overview", "OverviewView"), ("Fleet", "fleet", "FleetView"),
         ("Sites & power", "sites", "SitesView"), ("Market", "market.view", "MarketView"), ("AI/HPC", "ai", "AiView"),
         ("Optimize", "optimize.view", "OptimizeView"), ("Compare", "compare", "CompareView"),
         ("What-if", "whatif.view", "WhatIfView"), ("Risk", "risk.view", "RiskView")]


def _view_class(module: str, cls: str):
    """Import a view's module only when its tab is first shown (the optimizer view loads Pyomo)."""
    mod = __import__(f"ui.views.{module}", fromlist=[cls])
    return getattr(mod, cls)


class MainWindow(QMainWindow):
    def __init__(self, path: str = "default", *, settings: QSettings | None = None, check_recovery: bool = True):
        super().__init__()
        install_wheel_guard()          # the wheel scrolls panels; it changes only a control the user chose
        self.settings = settings or QSettings(app_settings.ORG, app_settings.APP)
        startup_error = None
        try:
            self.doc = ScenarioDocument.open(path, self)
        except ScenarioError as e:   # a bad file on the command line: open the default, then say why
            startup_error = e.describe()
            self.doc = ScenarioDocument.open("default", self)
        self.evaluation = Evaluation(self.doc, self)
        self._restore_monte_carlo()
        self._autosave_id = uuid.uuid4().hex[:12]
        LIVE_WINDOWS.add(self._autosave_id)
        self.destroyed.connect(lambda _=None, i=self._autosave_id: LIVE_WINDOWS.discard(i))
        self.recovered_windows: list[MainWindow] = []     # opened for autosaves this window could not take
        self.tabs = QTabWidget()
        self.views: dict[str, QWidget] = {}
        self._factories: dict[str, tuple[str, str]] = {}
        self._pages: dict[str, QWidget] = {}
        self._presenting = False
        for title, module, cls in VIEWS:
            # Each tab gets an empty page; its view is built the first time the tab is shown
            # (start-up then pays for one view, not eight).
            page = QWidget()
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self._factories[title] = (module, cls)
            self._pages[title] = page
            self.tabs.addTab(page, title.replace("&", "&&"))  # a lone & would be a mnemonic
        self.tabs.currentChanged.connect(lambda i: self.ensure_view(self.tabs.tabText(i).replace("&&", "&")))
        self.setCentralWidget(self.tabs)
        self._build_actions()
        self._status = QLabel("")
        self._mc_bar = QProgressBar()
        self._mc_bar.setMaximumWidth(180)
        self._mc_bar.setRange(0, 100)
        self._mc_bar.setFormat("Monte Carlo %p%")
        # wide enough for its text: a narrow status bar squeezed it to "Monte" over "Carlo 50%"
        self._mc_bar.setMinimumWidth(self._mc_bar.fontMetrics().horizontalAdvance("Monte Carlo 100%") + 24)
        self._mc_bar.hide()
        self._mc_cancel = QToolButton()
        self._mc_cancel.setText("Cancel")
        self._mc_cancel.setToolTip("Stop the Monte Carlo run (the fan keeps its last result)")
        self._mc_cancel.clicked.connect(self._cancel_mc)
        self._mc_cancel.hide()
        # Values beyond their plausible (soft) range load, but the user is told which and why.
        self._plausibility = QLabel("")
        self._plausibility.setStyleSheet("QLabel { color: #8a5a00; background: #fff4d6; padding: 1px 6px; }")
        self._plausibility.hide()
        self.statusBar().addWidget(self._status, 1)
        self.statusBar().addPermanentWidget(self._plausibility)
        self.statusBar().addPermanentWidget(self._mc_bar)
        self.statusBar().addPermanentWidget(self._mc_cancel)
        self.doc.dirty_changed.connect(lambda _: self._update_title())
        self.doc.dirty_changed.connect(self._on_dirty_changed)
        self.doc.path_changed.connect(lambda _: self._update_title())
        self.doc.changed.connect(lambda _: self._update_title())
        self.doc.changed.connect(self._check_plausibility)
        self._check_plausibility(self.doc.scenario)
        self.evaluation.updated.connect(self._on_evaluated)
        self.evaluation.mc_progress.connect(self._on_mc_progress)
        self.evaluation.mc_updated.connect(lambda *_: self._hide_mc())
        self.evaluation.mc_failed.connect(
            lambda msg: self._status.setText(f"Monte Carlo failed: {msg.splitlines()[0]}"))
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(AUTOSAVE_MS)
        self._restore_layout()
        self.ensure_view(self.tabs.tabText(self.tabs.currentIndex()).replace("&&", "&"))
        self._update_title()
        self.evaluation.refresh()
        if check_recovery:
            QTimer.singleShot(0, self.offer_recovery)
        if startup_error:
            QTimer.singleShot(0, lambda: self.show_error("Cannot open scenario", startup_error))

    def _check_plausibility(self, sc) -> None:
        """Show how many values lie beyond their plausible range; the tooltip names each one."""
        from minerplan.scenario.errors import escape_control
        from minerplan.scenario.plausibility import scenario_warnings

        problems = scenario_warnings(sc)
        self._plausibility.setVisible(bool(problems))
        if problems:
            n = len(problems)
            self._plausibility.setText(f"\u26a0 {n} value{'s' if n != 1 else ''} outside the plausible range")
            shown = [escape_control(str(p)) for p in problems[:20]]
            more = [f"... and {n - 20} more"] if n > 20 else []
            self._plausibility.setToolTip("\n".join(shown + more))

    def ensure_view(self, title: str) -> QWidget:
        """The view of tab ``title``, built on first use."""
        view = self.views.get(title)
        if view is None:
            cls = _view_class(*self._factories[title])
            view = cls(self.evaluation) if title == "Overview" else cls(self.doc, self.evaluation)
            self._pages[title].layout().addWidget(view)
            self.views[title] = view
            if self._presenting and hasattr(view, "set_presentation"):
                view.set_presentation(True)
        return view

    # ---- actions and menus ----
    def _build_actions(self) -> None:
        m = self.menuBar()
        file_menu = m.addMenu("&File")
        self.act_new = self._action("&New", QKeySequence.StandardKey.New, self.new_file, file_menu)
        self.act_open = self._action("&Open…", QKeySequence.StandardKey.Open, self.open_dialog, file_menu)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent()
        self.act_save = self._action("&Save", QKeySequence.StandardKey.Save, lambda: self.save(), file_menu)
        self.act_save_as = self._action("Save &As…", QKeySequence.StandardKey.SaveAs, lambda: self.save_as(),
                                        file_menu)
        file_menu.addSeparator()
        self._action("Export current view's charts…", None, self.export_charts, file_menu)
        self.act_export_excel = self._action("Export to &Excel…", QKeySequence("Ctrl+E"),
                                             lambda: excel_actions.export_to_excel(self), file_menu)
        self.act_board_pack = self._action("Export &board pack (PDF)…", None, self.export_board_pack, file_menu)
        file_menu.addSeparator()
        self.act_import_fleet = self._action("Import &fleet…", None,
                                             lambda: excel_actions.import_table(self, "fleet"), file_menu)
        self.act_import_sites = self._action("Import s&ites…", None,
                                             lambda: excel_actions.import_table(self, "sites"), file_menu)
        self.act_import_template = self._action("Save import &template…", None,
                                                lambda: excel_actions.save_template(self), file_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, file_menu)
        edit = m.addMenu("&Edit")
        undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        # Ctrl+Y as well as the platform's redo (Ctrl+Shift+Z on some), which people expect on every one.
        redo_keys = [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo) if not k.isEmpty()]
        ctrl_y = QKeySequence("Ctrl+Y")
        redo.setShortcuts(redo_keys + ([ctrl_y] if ctrl_y not in redo_keys else []))
        edit.addAction(undo)
        edit.addAction(redo)
        self.act_undo, self.act_redo = undo, redo
        view = m.addMenu("&View")
        self.act_present = self._action("&Presentation mode", QKeySequence(Qt.Key.Key_F11), self.toggle_presentation,
                                        view)
        self.act_present.setCheckable(True)

    def _action(self, text, shortcut, slot, menu) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(shortcut)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    # ---- title, status ----
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.doc.title}{'*' if self.doc.dirty else ''} — MinerPlan")

    def _on_evaluated(self, res, doc) -> None:
        months = res.scenario.horizon_months
        self._status.setText(f"{NPV_ON_PATH} {usd(doc['npv_usd'])} · hashprice "
                             f"{doc['hashprice_usd_per_ph_day']:,.2f} USD/PH/day · {months} month"
                             f"{'s' if months != 1 else ''} from {res.scenario.start_month}")

    def _on_mc_progress(self, frac: float, text: str) -> None:
        self._mc_bar.show()
        self._mc_cancel.show()
        self._mc_bar.setValue(int(frac * 100))
        if frac >= 1.0:
            QTimer.singleShot(300, self, lambda: None if self.evaluation.monte_carlo_running else self._hide_mc())

    def _hide_mc(self) -> None:
        self._mc_bar.hide()
        self._mc_cancel.hide()

    def _cancel_mc(self) -> None:
        self.evaluation.cancel_monte_carlo()
        self._hide_mc()
        self._status.setText("Monte Carlo cancelled; the fan shows the last finished run")

    # ---- files ----
    def maybe_save(self) -> bool:
        """Ask to save unsaved work; False means the user cancelled."""
        if not self.doc.dirty:
            return True
        answer = QMessageBox.question(self, "Unsaved changes",
                                      f"Save the changes to {self.doc.title} before closing it?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_file(self) -> None:
        if self.maybe_save():
            self.load("default")
            self.doc.path = None
            self._update_title()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", self._last_dir(), "Scenario (*.json)")
        if path:
            self.load(path)

    def load(self, path: str) -> bool:
        """Open ``path``; a bad file shows a dialog naming the field, and the current scenario stays."""
        try:
            self.doc.load(path)
        except ScenarioError as e:
            if path != "default" and not Path(path).exists():
                self._remove_recent(path)
            self.show_error("Cannot open scenario", e.describe())
            return False
        if path != "default":
            self._add_recent(path)
        return True

    def save(self) -> bool:
        if not self.confirm_rejected("Save"):
            return False
        if not self.doc.path:
            return self.save_as(confirmed=True)
        return self._write(self.doc.path)

    def confirm_rejected(self, action: str) -> bool:
        """Before a save: list every typed value the scenario rejected (still red) and let the user save the
        accepted values anyway (True) or go back to fix them (False). True when there are none."""
        rejected = self.doc.rejections()
        if not rejected:
            return True
        if ask_save_with_rejections(self, rejected, action):
            return True
        n = len(rejected)
        self._status.setText(f"Not saved: {n} value{'s' if n != 1 else ''} not accepted (shown in red); "
                             "fix or undo them, or save the accepted values")
        return False

    def save_as(self, *, confirmed: bool = False) -> bool:
        if not confirmed and not self.confirm_rejected("Save As"):
            return False
        path, _ = QFileDialog.getSaveFileName(self, "Save scenario as", self._last_dir(), "Scenario (*.json)")
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._write(path)

    def _write(self, path: str) -> bool:
        try:
            self.doc.save(path)
        except OSError as e:
            self.show_error("Cannot save", f"{path}: {e.strerror or e}")
            return False
        self._add_recent(path)
        self._clear_autosave()
        return True

    def show_error(self, title: str, message: str) -> None:
        error_box(self, title, message)

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def recent_files(self) -> list[str]:
        return app_settings.read(self.settings, app_settings.RECENT_FILES)

    def _add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        app_settings.write(self.settings, app_settings.RECENT_FILES, files[:MAX_RECENT])
        self._rebuild_recent()

    def _remove_recent(self, path: str) -> None:
        gone = str(Path(path).resolve())
        app_settings.write(self.settings, app_settings.RECENT_FILES, [p for p in self.recent_files() if p != gone])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.maybe_save() and self.load(p))
        self.recent_menu.setEnabled(bool(files))

    # ---- autosave and recovery ----
    def autosave_path(self) -> Path:
        return autosaves.autosave_dir() / f"{self._autosave_id}.json"

    def autosave(self) -> None:
        """Write unsaved work aside (atomically), so a crash loses at most ``AUTOSAVE_MS``; nothing while clean."""
        if not self.doc.dirty:
            return
        autosaves.write_autosave(self.autosave_path(), self.doc.scenario, self.doc.title, self.doc.path)

    def _on_dirty_changed(self, dirty: bool) -> None:
        # Clean again (saved, or undone back to the saved state): what the autosave holds is saved.
        if not dirty:
            self._clear_autosave()

    def _clear_autosave(self) -> None:
        try:
            self.autosave_path().unlink()
        except FileNotFoundError:
            pass

    def orphaned_autosaves(self) -> list[Autosave]:
        """Autosaves left by processes that are no longer running, newest first (see ui.autosave)."""
        return autosaves.orphaned_autosaves(autosaves.autosave_dir(), self.autosave_path())

    def offer_recovery(self) -> None:
        """After a crash, offer every orphaned autosave, newest first, one at a time.

        Recover opens the work (in this window while it is as it started, else in a new window) and
        Discard drops it; either way that autosave is deleted. "Decide later" (or Escape) keeps it and
        every one not yet asked about for the next start.
        """
        clean_stale_temps_in(autosaves.autosave_dir())   # temp files of autosaves a killed process was writing
        entries = self.orphaned_autosaves()
        for i, a in enumerate(entries, 1):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.saved_at))
            here = self._fresh_for(a)
            text = (f"MinerPlan closed unexpectedly. Unsaved changes to {a.document} were autosaved at {when}."
                    + (f"\n\nFile: {a.original_path}" if a.original_path else "") + "\n\nRecover them?")
            detail = (f"Recover opens them in {'this window' if here else 'a new window'}; Discard deletes them; "
                      "Decide later keeps them for the next start"
                      + (f" (autosave {i} of {len(entries)}, newest first)." if len(entries) > 1 else "."))
            answer = autosaves.ask_recovery(self, text, detail)
            if answer == LATER:
                return
            if answer == RECOVER:
                (self if here else self._new_window()).recover(a)
            a.path.unlink(missing_ok=True)

    def _fresh_for(self, a: Autosave) -> bool:
        """This window can take ``a``: nothing edited or recovered here yet, and no other file open."""
        return (self.doc.undo_stack.count() == 0 and not self.doc.dirty
                and (self.doc.path is None or self.doc.path == a.original_path))

    def _new_window(self) -> "MainWindow":
        w = MainWindow("default", settings=self.settings, check_recovery=False)
        self.recovered_windows.append(w)
        w.show()
        return w

    def recover(self, a: Autosave) -> None:
        """Take autosaved work into this window, unsaved. Work on a file that still opens is recovered
        against that file (undo returns to what is saved in it; Save writes to it); else it is untitled."""
        orig, sc = a.original_path, a.scenario
        against = None
        if orig and Path(orig).is_file():
            try:
                self.doc.load(orig)
                against = orig
            except ScenarioError:
                pass
        self.doc.replace(sc, "Recover autosaved work")
        if against is None:
            self.doc.path = None
            self.doc.path_changed.emit("")
        else:
            self._add_recent(against)
        self._update_title()
        self.autosave()            # protected at once: the orphan it came from is deleted next
        if orig and against is None:
            self._status.setText(f"Recovered; {orig} could not be opened, so this is untitled: Save As to keep it")
        else:
            self._status.setText(f"Recovered unsaved work on {self.doc.title}: save it to keep it")

    # ---- layout, presentation ----
    def _restore_layout(self) -> None:
        geo = app_settings.read(self.settings, app_settings.GEOMETRY)
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 900)
        self.tabs.setCurrentIndex(app_settings.read(self.settings, app_settings.TAB))

    def _restore_monte_carlo(self) -> None:
        """Monte Carlo paths and seed as the user left them (within sane bounds)."""
        paths = app_settings.read(self.settings, app_settings.MC_PATHS)
        seed = app_settings.read(self.settings, app_settings.MC_SEED)
        self.evaluation.mc.paths = min(max(paths, 1), 100_000)
        self.evaluation.mc.seed = max(seed, 0)

    def toggle_presentation(self) -> None:
        on = self.act_present.isChecked()
        self._presenting = on
        for view in self.views.values():
            if hasattr(view, "set_presentation"):
                view.set_presentation(on)
        f = QApplication.font()
        f.setPointSize(14 if on else 10)
        self.tabs.setFont(f)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def export_board_pack(self):
        """File > Export board pack: a PDF for the board, built in the background with progress and Cancel."""
        from .board_pack.actions import export_board_pack   # board pack modules load on first use
        return export_board_pack(self)

    def export_charts(self) -> None:
        view = self.ensure_view(self.tabs.tabText(self.tabs.currentIndex()).replace("&&", "&"))
        charts = view.charts() if hasattr(view, "charts") else []
        if not charts:
            self._status.setText("This view has no charts to export")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export charts to folder", self._last_dir())
        if not folder:
            return
        from .charts import export_charts_to      # every failure is shown in a message, the others written
        written, failures = export_charts_to(charts, folder, self)
        self._status.setText(f"Exported {written} chart files to {folder}"
                             + (f" ({len(failures)} failed)" if failures else ""))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        app_settings.write(self.settings, app_settings.GEOMETRY, self.saveGeometry())
        app_settings.write(self.settings, app_settings.TAB, self.tabs.currentIndex())
        app_settings.write(self.settings, app_settings.MC_PATHS, self.evaluation.mc.paths)
        app_settings.write(self.settings, app_settings.MC_SEED, self.evaluation.mc.seed)
        self._clear_autosave()
        LIVE_WINDOWS.discard(self._autosave_id)
        for view in self.views.values():
            if hasattr(view, "shutdown"):
                view.shutdown()
        shutdown_jobs(self)             # every job started here: exports, the Monte Carlo, the views' runs
        event.accept()
