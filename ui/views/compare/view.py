"""Compare: the current document next to snapshots, scenario files and the scenario before an applied plan.

Each scenario is evaluated on the entered price path (with the run-time preset when one is set). A KPI
table (:mod:`.table`: rows are KPIs with units; columns the scenarios, then one difference column per
scenario against the baseline) and overlaid monthly charts. When the Optimize view applies a plan,
the scenario just before it joins as "Before plan" and becomes the baseline, so ``Δ Current − Before
plan`` is the plan minus the scenario before it (:mod:`ui.kit.plan_baseline`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from minerplan.analysis.report import summary
from minerplan.analysis.vocabulary import ON_PATH
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.files import load_scenario
from minerplan.scenario.model import Scenario

from ...charts import Chart, month_ts
from ...kit.plan_baseline import plan_baseline
from ...lazy import when_shown
from .table import KPIS, Entry, KpiTableModel

BEFORE_PLAN = "Before plan"


class CompareView(QWidget):
    """The current document against snapshots, scenario files and the scenario before an applied plan."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._snapshots = 0
        self.entries: list[Entry] = [Entry("Current", "current document (follows every edit)", doc.scenario, live=True)]
        self.baseline = 0                   # the entry every difference is taken against
        self.model = KpiTableModel(self)

        self.add_file_btn = QPushButton("Add scenario file…")
        self.add_file_btn.clicked.connect(self.add_file_dialog)
        self.snapshot_btn = QPushButton("Add current as snapshot")
        self.snapshot_btn.setToolTip("Freeze the scenario as it is now, to compare with later edits")
        self.snapshot_btn.clicked.connect(self.add_snapshot)
        self.remove_btn = QPushButton("Remove selected")
        self.remove_btn.clicked.connect(self.remove_selected)
        self.baseline_btn = QPushButton("Use selected as baseline")
        self.baseline_btn.setToolTip("Take every difference against the scenario selected in the list")
        self.baseline_btn.clicked.connect(self.baseline_from_selection)
        buttons = QHBoxLayout()
        for b in (self.add_file_btn, self.snapshot_btn, self.remove_btn, self.baseline_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.list = QListWidget()
        self.list.setMaximumHeight(self.list.fontMetrics().lineSpacing() * 4 + 8)   # four scenarios, then scroll
        self.note = QLabel("")
        self.note.setWordWrap(True)
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
        plans = plan_baseline(doc)
        plans.applied.connect(self.keep_before_plan)
        if plans.before is not None:        # a plan applied before this tab was first shown
            self.keep_before_plan(plans.before, plans.plan)

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
        if not 0 <= self.baseline < len(self.entries):
            self.baseline = 0
        self.model.set_entries(self.entries, self.baseline)
        self._fit_table()
        self.list.clear()
        for i, e in enumerate(self.entries):
            base = " (baseline)" if i == self.baseline and len(self.entries) > 1 else ""
            it = QListWidgetItem(f"{e.label}{base}: {e.scenario.name} — {e.source}")
            it.setToolTip(e.source)
            self.list.addItem(it)
        preset = self.evaluation.mc.preset
        base = self.entries[self.baseline]
        if len(self.entries) == 1:
            self.note.setText("Add a snapshot of the current scenario or a scenario file to compare with it; "
                              "applying an optimizer plan keeps the scenario before it here.")
        else:
            plan = (f" Δ Current − {base.label} is the applied plan minus the scenario before it."
                    if base.before_plan else "")
            self.note.setText(f"Every figure is {ON_PATH}{f' (preset {preset})' if preset else ''}. Δ columns are "
                              f"each scenario minus the baseline, {base.label}, in each row's unit: positive means "
                              f"higher than {base.label}.{plan}")
        self._draw()

    def _fit_table(self) -> None:
        """Room for every KPI row without scrolling (the charts take the rest)."""
        t = self.table
        t.resizeRowsToContents()
        t.setMinimumHeight(t.verticalHeader().length() + t.horizontalHeader().sizeHint().height() + 2 * t.frameWidth()
                           + 2)

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

    def keep_before_plan(self, before: Scenario, plan: Scenario | None = None) -> bool:
        """An optimizer plan was applied: keep the scenario just before it as "Before plan" (replacing the one
        kept for an earlier plan) and make it the baseline, so the differences are the plan minus it."""
        self.entries = [e for e in self.entries if not e.before_plan]
        when = plan_baseline(self.doc).when
        e = Entry(BEFORE_PLAN, f"the scenario before the optimizer plan was applied{f' at {when}' if when else ''}",
                  before, before_plan=True)
        try:
            self._evaluate(e)
        except Exception as err:  # noqa: BLE001 - shown to the user without a traceback
            self._warn(f"The scenario before the plan could not be evaluated: {type(err).__name__}: {err}")
            return False
        self.entries.insert(1, e)
        self.baseline = 1
        self._update()
        return True

    def set_baseline(self, index: int) -> None:
        """Take every difference against entry ``index`` (0: the current document)."""
        if 0 <= index < len(self.entries):
            self.baseline = index
            self._update()

    def baseline_from_selection(self) -> None:
        rows = [self.list.row(it) for it in self.list.selectedItems()]
        if rows:
            self.set_baseline(rows[0])

    def remove(self, column: int) -> None:
        if 1 <= column < len(self.entries):
            self._remove([column])

    def remove_selected(self) -> None:
        self._remove([r for r in {self.list.row(it) for it in self.list.selectedItems()} if r >= 1])

    def _remove(self, rows: list[int]) -> None:
        """Drop entries ``rows`` (never the current document); the baseline stays with its entry, or goes
        back to the current document when it is removed."""
        if not rows:
            return
        kept = self.entries[self.baseline]
        for r in sorted(set(rows), reverse=True):
            del self.entries[r]
        self.baseline = next((i for i, e in enumerate(self.entries) if e is kept), 0)
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
