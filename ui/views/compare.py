"""Compare: the current document next to snapshots and other scenario files.

Each scenario is evaluated on its deterministic price path (with the run-time preset when one is
set). A KPI table (rows: KPIs with units; columns: scenarios, then one difference column per
scenario against the first, the current document) and overlaid monthly charts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from minerplan.engine.evaluate import EngineResult, run_engine
from minerplan.scenario.dotted import get_path
from minerplan.scenario.errors import ScenarioError
from minerplan.analysis.report import summary
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import load_scenario

from ..lazy import when_shown
from ..charts import Chart, month_ts

#: (summary key, label, unit, scale for display, format of a value, format of a difference)
KPIS: list[tuple[str, str, str, float, str, str]] = [
    ("npv_usd", "NPV, on the entered price path", "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("terminal_value_pv_usd", "of which terminal value (present value)", "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("incremental.npv_usd", "Plan vs status quo: NPV added", "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("incremental.irr", "Plan vs status quo: IRR of the increment", "%/yr", 100.0, "{:,.2f}", "{:+,.2f} pt"),
    ("incremental.payback_months", "Plan vs status quo: payback of the increment", "months", 1.0, "{:,.0f}",
     "{:+,.0f}"),
    ("irr", "IRR (company)", "%/yr", 100.0, "{:,.2f}", "{:+,.2f} pt"),
    ("payback_months", "Payback (company)", "months", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("btc_mined", "BTC mined", "BTC", 1.0, "{:,.1f}", "{:+,.1f}"),
    ("cost_per_btc_cash_usd", "Cost per BTC, cash", "USD/BTC", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("cost_per_btc_all_in_usd", "Cost per BTC, all-in", "USD/BTC", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("hashprice_usd_per_ph_day", "Hashprice, first month", "USD/PH/day", 1.0, "{:,.2f}", "{:+,.2f}"),
]
MISSING = {"irr": "n/a (no initial outlay or no sign change)", "payback_months": "n/a or not within horizon",
           "incremental.irr": "n/a (see the plan's note)", "incremental.payback_months": "not within horizon"}


@dataclass
class Entry:
    label: str
    source: str                         # "current document", "snapshot at 14:02:11", or the file path
    scenario: Scenario
    live: bool = False                  # the current document (follows every edit)
    result: EngineResult | None = None
    summary: dict | None = None
    preset: str | None = None           # the run-time preset it was evaluated with


def _value(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class KpiTableModel(QAbstractTableModel):
    """Rows: KPIs (with units). Columns: the scenarios, then "Δ X − first" for each other scenario.

    DisplayRole is formatted text in the row's unit; UserRole is the raw number (the summary's
    unit: USD, IRR as a fraction, months, BTC, USD/BTC, USD/PH/day), None when undefined.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[Entry] = []

    def set_entries(self, entries: list[Entry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def refresh_values(self) -> None:
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    # ---- shape ----
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or not self.entries else len(KPIS)

    def columnCount(self, parent=QModelIndex()) -> int:
        if parent.isValid() or not self.entries:
            return 0
        return len(self.entries) + max(len(self.entries) - 1, 0)

    def is_difference(self, column: int) -> bool:
        return column >= len(self.entries)

    def _entry_of(self, column: int) -> Entry:
        return self.entries[column if column < len(self.entries) else column - len(self.entries) + 1]

    # ---- values ----
    def raw(self, row: int, column: int) -> float | None:
        key = KPIS[row][0]
        e = self._entry_of(column)
        v = _value(get_path(e.summary, key))
        if not self.is_difference(column):
            return v
        first = self.entries[0]
        v0 = _value(get_path(first.summary, key))
        return None if v is None or v0 is None else v - v0

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Vertical:
            if 0 <= section < len(KPIS):
                _, label, unit, *_ = KPIS[section]
                if role == Qt.ItemDataRole.DisplayRole:
                    return f"{label} ({unit})"
                if role == Qt.ItemDataRole.ToolTipRole:
                    return {"npv_usd": "net present value incl. terminal value, on the entered price path; "
                                       "each cash-flow class at its own discount rate",
                            "terminal_value_pv_usd": "what the value past the horizon adds to NPV today",
                            "incremental.npv_usd": "NPV minus the same scenario without its conversions, purchases "
                                                   "and retirements inside the horizon, on the same price path",
                            "incremental.irr": "annual IRR of the plan's own extra cash flows (against the status "
                                               "quo)",
                            "irr": "internal rate of return of the company's cash flows, annual; n/a when they do "
                                   "not start with an outlay",
                            "payback_months": "months until cumulative net cash (without terminal value) turns "
                                              "positive; n/a without an initial outlay",
                            "btc_mined": "net of pool fee, over the horizon",
                            "hashprice_usd_per_ph_day": "USD per PH/s per day, first month"}.get(KPIS[section][0])
            return None
        if not (0 <= section < self.columnCount()):
            return None
        e = self._entry_of(section)
        if role == Qt.ItemDataRole.DisplayRole:
            if self.is_difference(section):
                return f"Δ {e.label} − {self.entries[0].label}"
            return e.label
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.is_difference(section):
                return f"{e.label} minus {self.entries[0].label}, in each row's unit (IRR in percentage points)"
            return f"{e.scenario.name}\n{e.source}"
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < self.rowCount()) or \
                not (0 <= index.column() < self.columnCount()):
            return None
        r, c = index.row(), index.column()
        key, label, unit, scale, fmt, dfmt = KPIS[r]
        v = self.raw(r, c)
        diff = self.is_difference(c)
        if role == Qt.ItemDataRole.DisplayRole:
            if v is None:
                return "n/a" if diff else MISSING.get(key, "n/a")
            return (dfmt if diff else fmt).format(v * scale)
        if role == Qt.ItemDataRole.UserRole:
            return v
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{label}, {unit}" + (" (difference vs the first column)" if diff else "")
        if role == Qt.ItemDataRole.ForegroundRole and diff and v:
            good = v > 0 if key in ("npv_usd", "irr", "btc_mined", "hashprice_usd_per_ph_day", "terminal_value_pv_usd",
                                    "incremental.npv_usd", "incremental.irr") else v < 0
            return QColor("#2e7d32" if good else "#c00000")
        return None


class CompareView(QWidget):
    """The current document against snapshots and scenario files."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._snapshots = 0
        self.entries: list[Entry] = [Entry("Current", "current document (follows every edit)", doc.scenario, live=True)]
        self.model = KpiTableModel(self)

        self.add_file_btn = QPushButton("Add scenario file…")
        self.add_file_btn.clicked.connect(self.add_file_dialog)
        self.snapshot_btn = QPushButton("Add current as snapshot")
        self.snapshot_btn.setToolTip("Freeze the scenario as it is now, to compare with later edits")
        self.snapshot_btn.clicked.connect(self.add_snapshot)
        self.remove_btn = QPushButton("Remove selected")
        self.remove_btn.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for b in (self.add_file_btn, self.snapshot_btn, self.remove_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        self.note = QLabel("")
        self.note.setStyleSheet("color: #5f6368;")

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cash_chart = Chart("Monthly net cash flow by scenario", "USD millions per month")
        self.btc_chart = Chart("BTC mined per month by scenario", "BTC per month")
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.cash_chart)
        charts.addWidget(self.btc_chart)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(charts)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(self.list)
        lay.addWidget(self.note)
        lay.addWidget(split, 1)

        evaluation.updated.connect(when_shown(self, lambda *_: self._refresh_current()))
        self._refresh_current()

    # ---- view protocol ----
    def charts(self) -> list[Chart]:
        return [self.cash_chart, self.btc_chart]

    def set_presentation(self, on: bool) -> None:
        for c in self.charts():
            c.set_presentation(on)
        f = QFont(self.table.font())
        f.setPointSize(14 if on else QFont().pointSize())
        self.table.setFont(f)

    # ---- evaluation ----
    def _evaluate(self, e: Entry) -> None:
        preset = self.evaluation.mc.preset
        ev = self.evaluation
        if e.live and ev.result is not None and ev.result.scenario is e.scenario and ev.result.n_paths == 1 \
                and ev.summary is not None:
            e.result, e.summary = ev.result, ev.summary
        else:
            e.result = run_engine(e.scenario, n_paths=1, preset=preset)
            e.summary = summary(e.result, preset=preset)
        e.preset = preset

    def _refresh_current(self) -> None:
        cur = self.entries[0]
        preset = self.evaluation.mc.preset
        if cur.result is not None and cur.scenario is self.doc.scenario and cur.preset == preset:
            return
        cur.scenario = self.doc.scenario
        self._evaluate(cur)
        for e in self.entries[1:]:
            if e.preset != preset:
                self._evaluate(e)
        self._update()

    def _update(self) -> None:
        self.model.set_entries(self.entries)
        self.list.clear()
        for i, e in enumerate(self.entries):
            it = QListWidgetItem(f"{e.label}: {e.scenario.name} — {e.source}")
            it.setToolTip(e.source)
            if e.live:
                it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.list.addItem(it)
        preset = self.evaluation.mc.preset
        if len(self.entries) == 1:
            self.note.setText("Add a snapshot of the current scenario or a scenario file to compare with it.")
        else:
            self.note.setText(f"On the entered price path{f' (preset {preset})' if preset else ''}; differences "
                              f"are each scenario minus {self.entries[0].label}, in each row's unit.")
        self._draw()

    def _draw(self) -> None:
        for ch in self.charts():
            ch.clear()
        for i, e in enumerate(self.entries):
            if e.result is None:
                continue
            x = month_ts(e.result.months)
            self.cash_chart.line(f"{e.label} (USD M/month)", x, e.result.net_cash_flow_usd[0] / 1e6, i,
                                 dash=not e.live)
            self.btc_chart.line(f"{e.label} (BTC/month)", x, e.result.btc_mined[0].sum(axis=1), i, dash=not e.live)

    # ---- adding and removing ----
    def _add(self, e: Entry) -> bool:
        try:
            self._evaluate(e)
        except ScenarioError as err:
            self._warn(f"{e.source} could not be evaluated:\n\n{err.describe()}")
            return False
        except Exception as err:  # noqa: BLE001 - shown to the user without a traceback
            self._warn(f"{e.source} could not be evaluated: {type(err).__name__}: {err}")
            return False
        self.entries.append(e)
        self._update()
        return True

    def add_snapshot(self) -> bool:
        self._snapshots += 1
        return self._add(Entry(f"Snapshot {self._snapshots}", f"snapshot at {time.strftime('%H:%M:%S')}",
                               self.doc.scenario))

    def add_file(self, path: str) -> bool:
        """Load, validate and add a scenario file; a bad file shows a message naming the field."""
        try:
            sc = load_scenario(path)
        except ScenarioError as err:
            self._warn(f"{Path(path).name} is not a valid scenario, so it was not added.\n\n{err.describe()}")
            return False
        except Exception as err:  # noqa: BLE001 - never a traceback in front of the user
            self._warn(f"{Path(path).name} could not be read: {type(err).__name__}: {err}")
            return False
        names = {e.label for e in self.entries}
        label, k = Path(path).stem or "scenario", 2
        while label in names:
            label, k = f"{Path(path).stem} ({k})", k + 1
        return self._add(Entry(label, str(path), sc))

    def add_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add scenario to compare", "",
                                              "Scenario files (*.json);;All files (*)")
        if path:
            self.add_file(path)

    def remove(self, column: int) -> None:
        if 1 <= column < len(self.entries):
            del self.entries[column]
            self._update()

    def remove_selected(self) -> None:
        rows = sorted({self.list.row(it) for it in self.list.selectedItems()}, reverse=True)
        for r in rows:
            if r >= 1:
                del self.entries[r]
        if rows:
            self._update()

    def _warn(self, text: str) -> None:
        QMessageBox.warning(self, "Cannot add scenario", text)

    # ---- for tests ----
    def kpi(self, key: str, column: int) -> float | None:
        row = [k[0] for k in KPIS].index(key)
        return self.model.raw(row, column)

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per scenario label: (net cash flow USD, BTC mined) per month, as drawn."""
        return {e.label: (e.result.net_cash_flow_usd[0].copy(), e.result.btc_mined[0].sum(axis=1))
                for e in self.entries if e.result is not None}
