"""Risk: hedges (hashprice forwards, BTC puts and collars) and what they do to the NPV distribution.

The hedge table (:mod:`.hedge_table`) edits the scenario's hedge book (``Scenario.hedges``, saved with
the scenario; a separate hedge file can be loaded and saved too). Every edit is validated with
:func:`~minerplan.scenario.hedges.hedges_from_dict` (and against the scenario's months); a problem
shows in the status line naming the field (``hedges[1].strike_usd``) and disables Evaluate, and the
draft stays in the table. A valid edit is one step on the document's undo stack ("Add hedge (BTC
put)"); undo, redo and opening a file show the scenario's book in the table.
"Evaluate" runs :func:`minerplan.analysis.hedged.evaluate_hedges` on the app's Monte Carlo settings
as a background :class:`~ui.kit.jobs.Job`, with progress and Cancel (:class:`~ui.kit.job_panel.JobPanel`).
Results (:mod:`.results`) turn stale (grey) when the scenario or the hedge table changes afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from minerplan.analysis.hedged import HedgeResults, check_fits_scenario, evaluate_hedges
from minerplan.scenario.errors import ScenarioError, escape_control
from minerplan.scenario.file_io import atomic_write_text
from minerplan.scenario.hedges import HedgeBook, hedges_from_dict, load_hedges
from minerplan.scenario.model import Scenario
from minerplan.scenario.plausibility import hedge_warnings

from ...charts import Chart
from ...kit.fit import fit_table_width
from ...kit.job_panel import JobPanel, ShowsJobState, stale_marker
from ...kit.jobs import Job
from ...kit.messages import error_box
from ...kit.tables import results_table
from .hedge_table import KIND_LABELS, HedgeTableModel, KindDelegate, problem_cell, scenario_defaults
from .results import HEDGE_HEADERS, SUMMARY_HEADERS, RiskResults, fill_results, paint

RISK_STALE_TEXT = "(scenario or hedges changed: evaluate again)"


class RiskView(ShowsJobState, QWidget):
    """Hedge table, background evaluation (progress, Cancel), hedged-vs-unhedged table and chart."""

    state_changed = Signal(str)
    evaluated = Signal(object)        # RiskResults

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.results: RiskResults | None = None
        self.job: Job | None = None
        self.book: HedgeBook | None = HedgeBook(schema_version=1, hedges=[])
        self.error = ""
        self.stale = False
        self._defaults_cache: tuple[Scenario, str | None, dict] | None = None
        self._doc_hedges = list(doc.scenario.hedges or [])     # the scenario's book the table last showed

        # ---- hedges
        self.model = HedgeTableModel(self._defaults, self)
        self.model.show_hedges(doc.scenario.hedges)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(0, KindDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.kind_box = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind_box.addItem(label, kind)
        self.kind_box.setCurrentIndex(1)
        self.add_button = QPushButton("Add row")
        self.add_button.clicked.connect(lambda: self.model.add(self.kind_box.currentData()))
        self.remove_button = QPushButton("Remove row")
        self.remove_button.clicked.connect(self.remove_selected)
        self.load_button = QPushButton("Load hedges…")
        self.load_button.clicked.connect(self.load_dialog)
        self.save_button = QPushButton("Save hedges…")
        self.save_button.clicked.connect(self.save_dialog)
        buttons = QHBoxLayout()
        for w in (self.kind_box, self.add_button, self.remove_button, self.load_button, self.save_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        self.validation_label = QLabel("")
        self.validation_label.setWordWrap(True)
        hedge_box = QGroupBox("Hedges")
        hl = QVBoxLayout(hedge_box)
        hl.addLayout(buttons)
        hl.addWidget(self.table, 1)
        hl.addWidget(self.validation_label)

        # ---- run: Evaluate, Cancel, progress, stale marker; the state line below
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Run the Monte Carlo paths (the app's paths, seed and preset) with and "
                                        "without the hedges, in the background")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.stale_label = stale_marker(RISK_STALE_TEXT)
        self.panel = JobPanel("Not evaluated yet.", run_buttons=[self.evaluate_button], trailing=[self.stale_label],
                              can_run=lambda: self.book is not None)
        self.panel.state_changed.connect(self._on_state)
        self.cancel_button, self.progress, self.status_label = (self.panel.cancel_button, self.panel.progress,
                                                                self.panel.status_label)

        # ---- results
        self.summary_table = results_table(SUMMARY_HEADERS, wrap=False)
        self.hedge_results_table = results_table(HEDGE_HEADERS, wrap=False)
        for t in (self.summary_table, self.hedge_results_table):
            fit_table_width(t)      # every column whole, in presentation mode too (the chart gives way)
        self.chart = Chart("NPV distribution: unhedged vs hedged (sorted paths)", "NPV (USD)", dates=False)
        results = QWidget()
        rl = QHBoxLayout(results)
        tables = QVBoxLayout()
        tables.addWidget(self.summary_table, 3)
        tables.addWidget(self.hedge_results_table, 2)
        rl.addLayout(tables, 2)
        rl.addWidget(self.chart, 3)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(hedge_box)
        split.addWidget(results)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(self.panel)

        self.model.edited.connect(self._on_edited)
        doc.changed.connect(self._on_doc_changed)      # cheap: validation and a stale check, no engine run
        self._validate()

    # ---- public API (tests) ----
    def charts(self) -> list[Chart]:
        return [self.chart]

    def set_presentation(self, on: bool) -> None:
        self.chart.set_presentation(on)

    def summary_rows(self) -> list[tuple[str, str, str]]:
        t = self.summary_table
        return [(t.item(r, 0).text(), t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())]

    def hedge_rows(self) -> list[tuple[str, str, str, str]]:
        t = self.hedge_results_table
        return [tuple(t.item(r, c).text() for c in range(4)) for r in range(t.rowCount())]

    # ---- defaults
    def _defaults(self) -> dict:
        sc, preset = self.doc.scenario, self.evaluation.mc.preset
        cached = self._defaults_cache
        if cached is not None and cached[0] is sc and cached[1] == preset:
            return cached[2]
        res = getattr(self.evaluation, "result", None)
        hp = None
        if res is not None and (res.scenario is sc or res.scenario == sc):
            hp = float(res.hashprice_usd_per_th_day[0, 0]) * 1000.0
        d = scenario_defaults(sc, preset=preset, hashprice_usd_per_ph_day=hp)
        self._defaults_cache = (sc, preset, d)
        return d

    # ---- hedge table actions
    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows and self.model.rows:
            current = self.table.currentIndex()
            rows = [current.row() if current.isValid() else len(self.model.rows) - 1]
        for r in rows:
            self.model.remove(r)

    def load_file(self, path: str) -> bool:
        try:
            book = load_hedges(path)
        except ScenarioError as e:
            self.show_error("Cannot load hedges", e.describe())
            return False
        self.model.set_book(book, f"Load hedges from {Path(path).name}")
        return True

    def save_file(self, path: str) -> bool:
        if self.book is None:
            self.show_error("Cannot save hedges", "Fix the hedge table first: " + self.error)
            return False
        try:
            atomic_write_text(path, json.dumps(self.book.model_dump(mode="json"), indent=2) + "\n")
        except OSError as e:
            self.show_error("Cannot save hedges", f"{path}: {e.strerror or e}")
            return False
        return True

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load hedges", "", "Hedges (*.json)")
        if path:
            self.load_file(path)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save hedges", "hedges.json", "Hedges (*.json)")
        if path:
            if not path.endswith(".json"):
                path += ".json"
            self.save_file(path)

    def show_error(self, title: str, message: str) -> None:
        error_box(self, title, message)

    # ---- validation
    def _validate(self) -> None:
        try:
            book = hedges_from_dict(self.model.to_dict())
            check_fits_scenario(book, self.doc.scenario)
        except ScenarioError as e:
            self.book, self.error = None, "\n".join(str(p) for p in e.problems)
            cells = {}
            for p in e.problems:
                cell = problem_cell(p.path)
                if cell is not None:
                    cells.setdefault(cell, str(p))
            self.model.set_errors(cells)
            self.validation_label.setText(self.error)
            self.validation_label.setStyleSheet("color: #c00000;")
        else:
            self.book, self.error = book, ""
            self.model.set_errors({})
            n = len(book.hedges)
            text = (f"{n} hedge{'s' if n != 1 else ''}; tax on hedge P&L at the scenario's "
                    f"rate ({self.doc.scenario.finance.tax_rate_pct:g}%), linearly."
                    if n else "No hedges: add a row or load a hedge file.")
            # Values beyond their plausible range are allowed, and named (amber) so a typo is seen.
            warnings = hedge_warnings(book)
            if warnings:
                text += "\n" + "\n".join(f"Check: {escape_control(str(w))}" for w in warnings[:10])
            self.validation_label.setText(text)
            self.validation_label.setStyleSheet("color: #8a5a00;" if warnings else "")
        self.panel.update_buttons()
        self.save_button.setEnabled(self.book is not None)

    def _on_edited(self, text: str) -> None:
        self._validate()
        if self.book is not None and list(self.book.hedges) != self._doc_hedges:
            self._commit(text)
        self._update_stale()

    def _commit(self, text: str) -> None:
        """The table's (valid) book into the scenario, as one undoable edit named ``text``."""
        hedges = list(self.book.hedges)
        rows = [h.model_dump(mode="json") for h in hedges]

        def mutate(d: dict) -> None:
            if rows:
                d["hedges"] = rows
            else:
                d.pop("hedges", None)       # no book: the scenario saves as it did before it had one
        previous, self._doc_hedges = self._doc_hedges, hedges
        error = self.doc.try_edit(mutate, text)
        if error is not None:               # the scenario refuses it: say why, keep the draft
            self._doc_hedges = previous
            self.book, self.error = None, error.describe()
            self.validation_label.setText(self.error)
            self.validation_label.setStyleSheet("color: #c00000;")
            self.panel.update_buttons()
            self.save_button.setEnabled(False)

    def _on_doc_changed(self, sc: Scenario | None = None) -> None:
        hedges = list(self.doc.scenario.hedges or [])
        if hedges != self._doc_hedges:      # undo, redo, another file: show the scenario's book
            self._doc_hedges = hedges
            self.model.show_hedges(hedges)
        self._validate()
        self._update_stale()

    # ---- run
    def evaluate(self) -> bool:
        """Start the background run (False when running or the hedge table is invalid)."""
        if self.running or self.book is None:
            return False
        mc = self.evaluation.mc
        sc, book, paths, seed, preset = self.doc.scenario, self.book, max(1, int(mc.paths)), mc.seed, mc.preset
        job = Job(lambda progress, cancel: evaluate_hedges(sc, book, paths=paths, seed=seed, preset=preset,
                                                           progress=progress, cancel=cancel),
                  self, name="hedges", failure_text="The hedges could not be evaluated")
        job.finished.connect(self._on_finished)
        job.failed.connect(lambda message: self.panel.set_state(
            "failed", "Evaluation failed: " + message.splitlines()[0], error=True))
        job.cancelled.connect(lambda: self.panel.set_state("cancelled", "Cancelled." + self._kept()))
        self.job = job
        self.panel.start(job, f"Evaluating {paths:,} paths (seed {seed})..." +
                         (" The results shown are from the previous run." if self.results is not None else ""))
        return True

    def _kept(self) -> str:
        return " The results shown are from the previous run." if self.results is not None else ""

    def cancel(self) -> None:
        self.panel.cancel()

    def shutdown(self, ms: int = 30_000) -> None:
        self.panel.shutdown(ms)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def _on_state(self, state: str) -> None:
        self.save_button.setEnabled(self.book is not None)
        self.state_changed.emit(state)

    def _on_finished(self, full: HedgeResults) -> None:
        # Keep what is shown; the run's per-path arrays go with ``full`` (the job lets go of it too).
        self.results = res = RiskResults.of(full)
        if self.job is not None and self.job.result is full:
            self.job.result = None
        fill_results(res, self.summary_table, self.hedge_results_table, self.chart)
        self.panel.set_state("done", f"{res.paths:,} paths (seed {res.seed}"
                                     f"{', preset ' + res.preset if res.preset else ''}) in {res.seconds:.2f} s; "
                                     f"hedge P&L taxed at {res.comparison['tax_rate'] * 100:g}%.")
        self._update_stale()
        self.evaluated.emit(res)

    def _update_stale(self) -> None:
        res = self.results
        if res is None:
            self.stale = False
        else:
            sc = self.doc.scenario
            scenario_moved = res.scenario is not sc and res.scenario != sc
            self.stale = scenario_moved or self.book is None or self.book != res.book
        self.stale_label.setVisible(self.stale)
        paint((self.summary_table, self.hedge_results_table), self.stale)
