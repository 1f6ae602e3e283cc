"""Risk: hedges (hashprice forwards, BTC puts and collars) and what they do to the NPV distribution.

The hedge table edits a hedge book in the schema of :mod:`minerplan.analysis.hedges` (Load/Save as JSON).
Every edit is validated with :func:`~minerplan.analysis.hedges.hedges_from_dict` (and against the
scenario's months); a problem shows in the status line naming the field (``hedges[1].strike_usd``)
and disables Evaluate. "Evaluate" runs the engine on the app's Monte Carlo settings and
:func:`~minerplan.analysis.hedges.compare` off the GUI thread (:mod:`ui.hedge_job`), with progress and
Cancel. Results turn stale (grey) when the scenario or the hedge table changes afterwards.

A run on up to 100,000 paths is big while it runs; afterwards the view keeps only what it shows
(:class:`RiskResults`: the comparison's figures and the two sorted-NPV curves, thinned to at most
``CURVE_POINTS`` points each), so what stays in memory does not grow with the number of paths.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QProgressBar, QPushButton, QSplitter, QStyledItemDelegate,
                               QTableView, QVBoxLayout, QWidget)

from minerplan.scenario.errors import ScenarioError, escape_control
from minerplan.analysis.hedges import HEDGE_SCHEMA_VERSION, HedgeBook, hedges_from_dict, load_hedges
from minerplan.scenario.plausibility import hedge_warnings
from minerplan.scenario.months import add_months
from minerplan.markets.prices import deterministic_path
from minerplan.analysis.report import format_usd
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import atomic_write_text

from ..charts import Chart
from ..dialogs import error_box
from ..hedge_job import HedgeJob, HedgeResults, check_fits_scenario
from ..workers import show_progress
from .whatif import _cell, _table

RISK_STALE_TEXT = "(scenario or hedges changed: evaluate again)"

#: The most points each NPV-distribution curve keeps: more than a chart can show across its width, and
#: 16 kB per curve however many paths were run.
CURVE_POINTS = 2_001
_GREY = "#9aa0a6"
_INK = "#202124"

KIND_LABELS = {"hashprice_forward": "hashprice forward", "btc_put": "BTC put", "btc_collar": "BTC collar"}
_LABEL_KINDS = {v.lower(): k for k, v in KIND_LABELS.items()} | {k: k for k in KIND_LABELS}

# (column key, header); the key maps to a schema field per kind (None: not used by that kind)
COLUMNS = [("kind", "Kind"), ("fixed", "Fixed (USD per PH/s per day)"), ("notional", "Notional (PH/s)"),
           ("start", "Start month"), ("tenor", "Tenor (months)"), ("strike", "Strike / put strike (USD)"),
           ("call", "Call strike (USD)"), ("btc", "BTC amount"), ("expiry", "Expiry month"),
           ("vol", "Implied vol (%)"), ("rf", "Risk-free (%)")]
FIELDS = {
    "hashprice_forward": {"fixed": "fixed_usd_per_ph_day", "notional": "notional_ph", "start": "start_month",
                          "tenor": "tenor_months"},
    "btc_put": {"strike": "strike_usd", "btc": "btc_amount", "expiry": "expiry_month", "vol": "implied_vol_pct",
                "rf": "risk_free_pct"},
    "btc_collar": {"strike": "put_strike_usd", "call": "call_strike_usd", "btc": "btc_amount",
                   "expiry": "expiry_month", "vol": "implied_vol_pct", "rf": "risk_free_pct"},
}
_INT_FIELDS = {"tenor_months"}
_TEXT_FIELDS = {"start_month", "expiry_month"}

METRICS = [("mean_usd", "Mean NPV"), ("p5_usd", "P5"), ("p50_usd", "P50 (median)"), ("p95_usd", "P95"),
           ("cvar95_usd", "CVaR 95% (mean of worst 5%)"), ("prob_npv_negative", "P(NPV < 0)")]


def format_metric(key: str, value: float) -> str:
    if key == "prob_npv_negative":
        return f"{value * 100:.1f}%"
    return format_usd(value)


def _num_text(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "" if v is None else str(v)
    if isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def _parse(field: str, text: str) -> Any:
    """Cell text -> a value for the schema; text that is not a number stays text (the validator names it)."""
    t = text.strip().replace(",", "")
    if field in _TEXT_FIELDS:
        return text.strip()
    try:
        if field in _INT_FIELDS:
            return int(t)
        v = float(t)
        return v if math.isfinite(v) else text.strip()
    except ValueError:
        return text.strip()


# --------------------------------------------------------------------------- defaults from the scenario

def scenario_defaults(sc: Scenario, *, preset: str | None = None, hashprice_usd_per_ph_day: float | None = None
                      ) -> dict[str, Any]:
    """Month and price defaults for a new hedge row (first-month BTC price and hashprice of ``sc``)."""
    btc0 = float(deterministic_path(sc, preset=preset)[0])
    if hashprice_usd_per_ph_day is None:
        from minerplan.engine.evaluate import run_engine
        res = run_engine(sc, n_paths=1, preset=preset)
        hashprice_usd_per_ph_day = float(res.hashprice_usd_per_th_day[0, 0]) * 1000.0
    last = sc.horizon_months - 1
    return {"start_month": sc.start_month, "tenor_months": max(1, min(12, sc.horizon_months)),
            "expiry_month": add_months(sc.start_month, min(6, last)), "btc0": btc0,
            "hashprice": float(hashprice_usd_per_ph_day)}


def default_hedge(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    if kind == "hashprice_forward":
        return {"kind": kind, "fixed_usd_per_ph_day": float(max(1, round(d["hashprice"]))), "notional_ph": 1000.0,
                "start_month": d["start_month"], "tenor_months": d["tenor_months"]}
    put = float(max(1, round(0.85 * d["btc0"])))
    common = {"btc_amount": 100.0, "expiry_month": d["expiry_month"], "implied_vol_pct": 50.0, "risk_free_pct": 4.0}
    if kind == "btc_put":
        return {"kind": kind, "strike_usd": put, **common}
    if kind == "btc_collar":
        return {"kind": kind, "put_strike_usd": put, "call_strike_usd": float(round(1.2 * d["btc0"])), **common}
    raise ValueError(f"unknown hedge kind {kind!r}")


# --------------------------------------------------------------------------- the hedge table model

class HedgeTableModel(QAbstractTableModel):
    """Rows of hedges as schema dicts; edits emit ``edited``. ``errors`` maps (row, column key) -> message."""

    edited = Signal()

    def __init__(self, defaults_fn, parent=None):
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.errors: dict[tuple[int, str], str] = {}
        self._defaults_fn = defaults_fn       # () -> scenario_defaults(...) (computed when a row is added)

    # ---- Qt model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return str(section + 1)

    def field(self, row: int, col: int) -> str | None:
        key = COLUMNS[col][0]
        if key == "kind":
            return "kind"
        return FIELDS.get(self.rows[row].get("kind"), {}).get(key)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.field(index.row(), index.column()) is None:
            return Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        f = self.field(r, c)
        row, key = self.rows[r], COLUMNS[c][0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if f is None:
                return ""
            if f == "kind":
                return KIND_LABELS.get(row.get("kind"), str(row.get("kind")))
            return _num_text(row.get(f))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.errors.get((r, key)) or (f if f not in (None, "kind") else None)
        if role == Qt.ItemDataRole.BackgroundRole:
            if (r, key) in self.errors:
                return QBrush(QColor("#f8d7da"))
            if f is None:
                return QBrush(QColor("#f1f3f4"))
        if role == Qt.ItemDataRole.TextAlignmentRole and key not in ("kind", "start", "expiry"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        r, c = index.row(), index.column()
        f = self.field(r, c)
        if f is None:
            return False
        if f == "kind":
            kind = _LABEL_KINDS.get(str(value).strip().lower())
            if kind is None:
                return False
            self.set_kind(r, kind)
            return True
        self.rows[r][f] = _parse(f, str(value)) if isinstance(value, str) else value
        self.dataChanged.emit(index, index)
        self.edited.emit()
        return True

    # ---- editing API (buttons, tests)
    def set_kind(self, r: int, kind: str) -> None:
        old = self.rows[r]
        if old.get("kind") == kind:
            return
        new = default_hedge(kind, self._defaults_fn())
        for k in ("btc_amount", "expiry_month", "implied_vol_pct", "risk_free_pct"):
            if k in old and k in new:
                new[k] = old[k]
        put = old.get("strike_usd", old.get("put_strike_usd"))
        if put is not None:
            new["strike_usd" if kind == "btc_put" else "put_strike_usd"] = put
        if kind == "hashprice_forward":
            new = default_hedge(kind, self._defaults_fn())
        self.rows[r] = {k: v for k, v in new.items() if k in ("kind", *FIELDS[kind].values())}
        self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))
        self.edited.emit()

    def add(self, kind: str = "btc_put") -> int:
        row = default_hedge(kind, self._defaults_fn())
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.rows.append(row)
        self.endInsertRows()
        self.edited.emit()
        return n

    def remove(self, r: int) -> None:
        if 0 <= r < len(self.rows):
            self.beginRemoveRows(QModelIndex(), r, r)
            del self.rows[r]
            self.endRemoveRows()
            self.edited.emit()

    def set_value(self, r: int, field: str, value: Any) -> None:
        """Set a schema field of row ``r`` (as typed in the cell when ``value`` is text)."""
        cols = [c for c in range(len(COLUMNS)) if self.field(r, c) == field]
        if not cols:
            raise KeyError(f"{self.rows[r].get('kind')} has no field {field}")
        self.setData(self.index(r, cols[0]), value)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": HEDGE_SCHEMA_VERSION, "hedges": [dict(r) for r in self.rows]}

    def set_book(self, book: HedgeBook) -> None:
        self.beginResetModel()
        self.rows = [h.model_dump() for h in book.hedges]
        self.errors = {}
        self.endResetModel()
        self.edited.emit()

    def set_errors(self, errors: dict[tuple[int, str], str]) -> None:
        self.errors = errors
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))


class KindDelegate(QStyledItemDelegate):
    """A drop-down of the three hedge kinds in the Kind column."""

    def createEditor(self, parent, option, index):  # noqa: N802
        box = QComboBox(parent)
        box.addItems(list(KIND_LABELS.values()))
        return box

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole))

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.currentText())


def _problem_cell(path: str) -> tuple[int, str] | None:
    """``hedges[1].strike_usd`` -> (1, column key)."""
    if not path.startswith("hedges["):
        return None
    try:
        i = int(path[len("hedges["):path.index("]")])
    except ValueError:
        return None
    rest = path[path.index("]") + 1:].lstrip(".")
    name = rest.split(".")[0].split("[")[0]
    if name == "kind":
        return i, "kind"
    for fields in FIELDS.values():
        for key, f in fields.items():
            if f == name:
                return i, key
    return None


# --------------------------------------------------------------------------- what a run leaves

def distribution_curve(npv: np.ndarray, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(share of paths in %, NPV in USD) of the paths sorted worst to best, at most ``points`` of them.

    With more paths than ``points``, the curve keeps the order statistics at evenly spaced ranks, the
    worst and the best path included: the same curve as every path drawn, at the chart's resolution.
    """
    ranked = np.sort(np.asarray(npv, float))
    n = ranked.size
    idx = np.arange(n) if n <= points else np.unique(np.round(np.linspace(0, n - 1, points)).astype(np.int64))
    return (idx + 0.5) / n * 100.0, ranked[idx].copy()


@dataclass(frozen=True)
class RiskResults:
    """What the view shows of a finished run (no per-path arrays: those go with the run)."""

    scenario: Scenario
    book: HedgeBook
    paths: int
    seed: int | None
    preset: str | None
    comparison: dict[str, Any]                       # hedges.compare(...): figures only
    unhedged_curve: tuple[np.ndarray, np.ndarray]    # distribution_curve of the unhedged NPVs
    hedged_curve: tuple[np.ndarray, np.ndarray]
    seconds: float = 0.0

    @classmethod
    def of(cls, res: HedgeResults) -> "RiskResults":
        return cls(res.scenario, res.book, res.paths, res.seed, res.preset, res.comparison,
                   distribution_curve(res.unhedged_npv), distribution_curve(res.hedged_npv), res.seconds)


# --------------------------------------------------------------------------- the view

class RiskView(QWidget):
    """Hedge table, background evaluation (progress, Cancel), hedged-vs-unhedged table and chart."""

    state_changed = Signal(str)
    evaluated = Signal(object)        # RiskResults

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.state = "idle"
        self.results: RiskResults | None = None
        self.job: HedgeJob | None = None
        self.book: HedgeBook | None = HedgeBook(schema_version=1, hedges=[])
        self.error = ""
        self.stale = False
        self._defaults_cache: tuple[Scenario, str | None, dict] | None = None

        # ---- hedges
        self.model = HedgeTableModel(self._defaults, self)
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

        # ---- run
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Run the Monte Carlo paths (the app's paths, seed and preset) with and "
                                        "without the hedges, in the background")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.stale_label = QLabel(RISK_STALE_TEXT)
        self.stale_label.setStyleSheet("color: #b06000; font-weight: 600;")
        self.stale_label.setVisible(False)
        run = QHBoxLayout()
        run.addWidget(self.evaluate_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress, 1)
        run.addWidget(self.stale_label)
        self.status_label = QLabel("Not evaluated yet.")
        self.status_label.setWordWrap(True)

        # ---- results
        self.summary_table = _table(["Measure", "Unhedged", "Hedged", "Change"], wrap=False)
        self.hedge_results_table = _table(["#", "Kind", "Premium (month 0)", "Mean value after tax (PV)"],
                                          wrap=False)
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
        lay.addLayout(run)
        lay.addWidget(self.status_label)

        self.model.edited.connect(self._on_edited)
        doc.changed.connect(self._on_doc_changed)      # cheap: validation and a stale check, no engine run
        self._validate()

    # ---- public API (tests) ----
    @property
    def running(self) -> bool:
        return self.state == "running"

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
            rows = [self.table.currentIndex().row() if self.table.currentIndex().isValid() else len(self.model.rows) - 1]
        for r in rows:
            self.model.remove(r)

    def load_file(self, path: str) -> bool:
        try:
            book = load_hedges(path)
        except ScenarioError as e:
            self.show_error("Cannot load hedges", e.describe())
            return False
        self.model.set_book(book)
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
                cell = _problem_cell(p.path)
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
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.running
        self.evaluate_button.setEnabled(not running and self.book is not None)
        self.cancel_button.setEnabled(running and not (self.job is not None and self.job.cancel_requested))
        self.save_button.setEnabled(self.book is not None)

    def _on_edited(self) -> None:
        self._validate()
        self._update_stale()

    def _on_doc_changed(self, _sc=None) -> None:
        self._validate()
        self._update_stale()

    # ---- run
    def evaluate(self) -> bool:
        """Start the background run (False when running or the hedge table is invalid)."""
        if self.running or self.book is None:
            return False
        mc = self.evaluation.mc
        job = HedgeJob(self.doc.scenario, self.book, paths=max(1, int(mc.paths)), seed=mc.seed, preset=mc.preset,
                       owner=self)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.progress.setValue(0)
        self.progress.setFormat("%p%  starting")
        self._set_state("running", f"Evaluating {job.paths:,} paths (seed {job.seed})..." +
                        (" The results shown are from the previous run." if self.results is not None else ""))
        job.start()
        return True

    def cancel(self) -> None:
        if self.running and self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling...")
            self.progress.setFormat("%p%  cancelling")

    def shutdown(self, ms: int = 30_000) -> None:
        if self.job is not None and self.job.running:
            self.job.shutdown(ms)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def _set_state(self, state: str, text: str, error: bool = False) -> None:
        self.state = state
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #c00000;" if error else "")
        self._update_buttons()
        self.state_changed.emit(state)

    def _on_progress(self, frac: float, text: str) -> None:
        show_progress(self.progress, frac, text)

    def _on_finished(self, full: HedgeResults) -> None:
        # Keep what is shown; the run's per-path arrays go with ``full`` (the job lets go of it too).
        self.results = res = RiskResults.of(full)
        if self.job is not None and self.job.result is full:
            self.job.result = None
        self.progress.setValue(1000)
        self.progress.setFormat("%p%  done")
        self._fill(res)
        self._set_state("done", f"{res.paths:,} paths (seed {res.seed}{', preset ' + res.preset if res.preset else ''})"
                                f" in {res.seconds:.2f} s; hedge P&L taxed at {res.comparison['tax_rate'] * 100:g}%.")
        self._update_stale()
        self.evaluated.emit(res)

    def _on_cancelled(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("")
        kept = " The results shown are from the previous run." if self.results is not None else ""
        self._set_state("cancelled", "Cancelled." + kept)

    def _on_failed(self, message: str) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._set_state("failed", "Evaluation failed: " + message.splitlines()[0], error=True)

    # ---- results
    def _fill(self, res: RiskResults) -> None:
        cmp = res.comparison
        t = self.summary_table
        t.setRowCount(len(METRICS))
        for r, (key, label) in enumerate(METRICS):
            u, h = cmp["unhedged"][key], cmp["hedged"][key]
            d = h - u
            change = (f"{d * 100:+.1f} pp" if key == "prob_npv_negative"
                      else ("+" if d > 0 else "") + format_usd(d))
            t.setItem(r, 0, _cell(label))
            t.setItem(r, 1, _cell(format_metric(key, u), u, right=True))
            t.setItem(r, 2, _cell(format_metric(key, h), h, right=True))
            t.setItem(r, 3, _cell(change, d, right=True))
        t = self.hedge_results_table
        t.setRowCount(len(cmp["hedges"]))
        for r, row in enumerate(cmp["hedges"]):
            prem = row.get("premium_usd")
            t.setItem(r, 0, _cell(str(row["index"] + 1), row["index"], right=True))
            t.setItem(r, 1, _cell(KIND_LABELS.get(row["kind"], row["kind"])))
            t.setItem(r, 2, _cell("-" if prem is None else format_usd(prem), prem,
                                  "forwards have no premium" if prem is None else "", right=True))
            t.setItem(r, 3, _cell(format_usd(row["mean_pv_after_tax_usd"]), row["mean_pv_after_tax_usd"], right=True))
        self.chart.clear()
        self.chart.line("Unhedged", *res.unhedged_curve, 0)
        self.chart.line("Hedged", *res.hedged_curve, 1)
        self.chart.item.setLabel("bottom", "share of paths (%), worst to best")
        self.chart.hline(0.0, "NPV 0", i=6)

    def _update_stale(self) -> None:
        res = self.results
        if res is None:
            self.stale = False
        else:
            sc = self.doc.scenario
            scenario_moved = res.scenario is not sc and res.scenario != sc
            self.stale = scenario_moved or self.book is None or self.book != res.book
        self.stale_label.setVisible(self.stale)
        ink = QBrush(QColor(_GREY if self.stale else _INK))
        for table in (self.summary_table, self.hedge_results_table):
            for r in range(table.rowCount()):
                for c in range(table.columnCount()):
                    item = table.item(r, c)
                    if item is not None:
                        item.setForeground(ink)


__all__ = ["RiskView", "RiskResults", "HedgeTableModel", "RISK_STALE_TEXT", "CURVE_POINTS", "distribution_curve",
           "scenario_defaults", "default_hedge", "format_metric"]
