"""What-if: sliders for BTC price, hashrate growth, power price and AI lease rate.

Moving a control re-runs the engine on the deterministic path (~10 ms, on the GUI thread) for a
copy of the scenario and redraws the KPIs and the monthly net cash flow (base vs what-if). The
document is never touched: what-ifs are not edits until "Apply to scenario" writes them as one
undoable command. A tornado chart shows how far the NPV swings when each major input moves.

The Breakevens panel answers "what BTC price do we need?" for the scenario itself (not the
what-if): on request it computes, off the GUI thread (:mod:`ui.breakevens`), the BTC price for
NPV 0, each cohort's curtailment energy price and each AI site's conversion lease breakeven.
An edit afterwards marks those results stale; they are only recomputed on request.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDoubleSpinBox, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSlider, QSplitter, QVBoxLayout, QWidget)

from minerplan.analysis.whatif import TornadoRow, WhatIf, apply_whatif, baseline, kpis, tornado, whatif_scenario
from minerplan.engine.evaluate import EngineResult, run_engine
from minerplan.formats import usd
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario

from minerplan.analysis.breakevens import Breakevens, format_btc, format_curtailment, format_lease
from ..breakevens import BreakevensJob
from ..charts import Chart, color, month_ts
from ..kit.tables import read_only_cell, results_table
from ..lazy import when_shown
from ..kit.job_panel import show_progress

TORNADO_DEBOUNCE_MS = 250


# --------------------------------------------------------------------------- widgets

class SliderSpin(QWidget):
    """A slider and a spin box showing one value; the slider covers the usual range, the box any valid value."""

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, step: float, box_lo: float, box_hi: float, decimals: int,
                 suffix: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.step = step
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(lo / step), round(hi / step))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(box_lo, box_hi)
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(step)
        self.spin.setSuffix(suffix)
        self.spin.setGroupSeparatorShown(True)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(150)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self.slider.valueChanged.connect(self._from_slider)
        self.spin.valueChanged.connect(self._from_spin)

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, v: float, *, silent: bool = False) -> None:
        if silent:
            self.spin.blockSignals(True)
            self.slider.blockSignals(True)
        try:
            self.spin.setValue(v)
            if silent:
                self.slider.setValue(self._position(v))
        finally:
            if silent:
                self.spin.blockSignals(False)
                self.slider.blockSignals(False)

    def _from_slider(self, i: int) -> None:
        self.spin.setValue(i * self.step)     # emits through _from_spin

    def _position(self, v: float) -> int:
        """The slider position showing ``v``, clamped to the slider's range before it becomes an int.

        The box takes any valid value, the slider only the usual range: a value far outside it (a price
        at the schema's cap, a scenario from before a cap) must pin the slider to its end, not reach
        QSlider.setValue as a number past a C int, which raised OverflowError inside the slot and left
        the view's refresh half-done.
        """
        lo, hi = self.slider.minimum(), self.slider.maximum()
        x = v / self.step
        if math.isnan(x):
            return lo
        return int(round(min(max(x, float(lo)), float(hi))))

    def _from_spin(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._position(v))
        self.slider.blockSignals(False)
        self.valueChanged.emit(float(v))


BREAKEVENS_STALE_TEXT = "(scenario changed: compute again)"
_GREY = "#9aa0a6"
_INK = "#202124"


class BreakevensPanel(QGroupBox):
    """"What BTC price do we need?": the scenario's breakevens, computed on request in the background.

    "Compute breakevens" runs :func:`ui.breakevens.compute_breakevens` for the document's scenario in a
    :class:`~ui.breakevens.BreakevensJob` (progress bar, Cancel; the button is disabled meanwhile). Results
    keep the scenario they belong to: after an edit they turn grey with "(scenario changed: compute
    again)" and are not recomputed until asked. ``state``: idle, running, done, cancelled, failed.
    """

    state_changed = Signal(str)
    computed = Signal(object)       # Breakevens, when a run has finished and is shown

    def __init__(self, doc, parent: QWidget | None = None):
        super().__init__("Breakevens: the scenario on its deterministic price path (not the what-if inputs)", parent)
        self.doc = doc
        self.state = "idle"
        self.results: Breakevens | None = None
        self.stale = False
        self.job: BreakevensJob | None = None
        self._presentation = False

        self.compute_button = QPushButton("Compute breakevens")
        self.compute_button.setToolTip("BTC price for NPV 0, curtailment energy prices and AI lease breakevens "
                                       "of the scenario (in the background; about a second)")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status_label = QLabel("Not computed yet.")
        self.status_label.setWordWrap(True)
        self.stale_label = QLabel(BREAKEVENS_STALE_TEXT)
        self.stale_label.setStyleSheet("color: #b06000; font-weight: 600;")
        self.stale_label.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.compute_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.stale_label)

        self.btc_title = QLabel("BTC price for NPV = 0 (first month; the whole price path scales with it):")
        self.btc_label = QLabel("-")
        self.btc_label.setWordWrap(True)
        self.btc_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        btc_row = QHBoxLayout()
        btc_row.addWidget(self.btc_title)
        btc_row.addWidget(self.btc_label, 1)

        self.curtailment_table = results_table(["Site", "Cohort", "Model", "Curtails above (USD/MWh, first month)",
                                         "Note"], wrap=False)          # the whole note is in its tooltip
        self.lease_table = results_table(["Site", "Convert (gross MW)", "From", "Beats mining above (USD/kW-month)"],
                                  wrap=True)                           # a "no breakeven" reason reads in full
        self.lease_note = QLabel("")
        self.lease_note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(QLabel("Energy price above which each cohort curtails"))
        left.addWidget(self.curtailment_table, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Lease rate above which converting an AI site's remaining MW beats mining"))
        right.addWidget(self.lease_table, 1)
        right.addWidget(self.lease_note)
        tables = QHBoxLayout()
        tables.addLayout(left, 3)
        tables.addLayout(right, 2)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status_label)
        lay.addLayout(btc_row)
        lay.addLayout(tables, 1)
        self._style_btc()

        doc.changed.connect(self._on_doc_changed)       # cheap: only compares scenarios, never recomputes

    # ---- public API (tests) ----
    @property
    def running(self) -> bool:
        return self.state == "running"

    def btc_text(self) -> str:
        return self.btc_label.text()

    def curtailment_rows(self) -> list[tuple[str, int, str, str, float]]:
        """(site, cohort, model, text shown, USD/MWh) per row."""
        t = self.curtailment_table
        return [(t.item(r, 0).text(), int(t.item(r, 1).data(Qt.ItemDataRole.UserRole)), t.item(r, 2).text(),
                 t.item(r, 3).text(), float(t.item(r, 3).data(Qt.ItemDataRole.UserRole)))
                for r in range(t.rowCount())]

    def lease_rows(self) -> list[tuple[str, float, str, str, float | None]]:
        """(site, gross MW, start month, text shown, USD/kW-month or None) per row."""
        t = self.lease_table
        return [(t.item(r, 0).text(), float(t.item(r, 1).data(Qt.ItemDataRole.UserRole)), t.item(r, 2).text(),
                 t.item(r, 3).text(), t.item(r, 3).data(Qt.ItemDataRole.UserRole)) for r in range(t.rowCount())]

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        self._style_btc()

    # ---- actions ----
    def compute(self) -> bool:
        """Start computing the document scenario's breakevens in the background (False when already running)."""
        if self.running:
            return False
        job = BreakevensJob(self.doc.scenario, owner=self)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.progress.setValue(0)
        self.progress.setFormat("%p%  starting")
        self._set_state("running", "Computing breakevens..." +
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
        """Cancel a running computation and wait for its thread (before the window closes)."""
        if self.job is not None and self.job.running:
            self.job.shutdown(ms)

    # ---- state ----
    def _set_state(self, state: str, text: str, error: bool = False) -> None:
        self.state = state
        running = state == "running"
        self.compute_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #c00000;" if error else "")
        if not running:
            self.progress.setFormat({"done": "%p%  done", "cancelled": "cancelled", "failed": "failed"}.get(state, ""))
        self.state_changed.emit(state)

    def _on_progress(self, frac: float, text: str) -> None:
        if not self.running or (self.job is not None and self.job.cancel_requested):
            return
        show_progress(self.progress, frac, text)

    def _on_finished(self, res: Breakevens) -> None:
        self.results = res
        self.progress.setValue(1000)
        self._fill(res)
        self._set_state("done", f"Computed in {res.seconds:.1f} s for \"{res.scenario.name}\".")
        self._update_stale()
        self.computed.emit(res)

    def _on_cancelled(self) -> None:
        self.progress.setValue(0)
        kept = " The results shown are from the previous run." if self.results is not None else ""
        self._set_state("cancelled", "Cancelled." + kept)

    def _on_failed(self, message: str) -> None:
        self.progress.setValue(0)
        self._set_state("failed", "Breakevens failed: " + message.splitlines()[0], error=True)

    # ---- showing results ----
    def _fill(self, res: Breakevens) -> None:
        self.btc_label.setText(format_btc(res.btc))
        self.btc_label.setToolTip(res.btc.note)
        t = self.curtailment_table
        t.setRowCount(len(res.curtailment))
        for r, row in enumerate(res.curtailment):
            t.setItem(r, 0, read_only_cell(row.site))
            t.setItem(r, 1, read_only_cell(str(row.cohort + 1), row.cohort, "fleet row (1-based)", right=True))
            t.setItem(r, 2, read_only_cell(row.model, tooltip=f"{row.efficiency_j_per_th:.2f} J/TH at the wall this month"))
            t.setItem(r, 3, read_only_cell(format_curtailment(row.curtail_above_usd_per_mwh), row.curtail_above_usd_per_mwh,
                                  right=True))
            t.setItem(r, 4, read_only_cell(row.note, tooltip=row.note))
        t = self.lease_table
        t.setRowCount(len(res.lease))
        for r, row in enumerate(res.lease):
            t.setItem(r, 0, read_only_cell(row.site))
            t.setItem(r, 1, read_only_cell(f"{row.gross_mw:,.4g} MW", row.gross_mw, right=True))
            t.setItem(r, 2, read_only_cell(row.start_month))
            t.setItem(r, 3, read_only_cell(format_lease(row), row.usd_per_kw_month, row.note,
                                  right=row.usd_per_kw_month is not None))
        self.lease_note.setText("" if res.lease else
                                "No AI-capable site with convertible MW left: nothing to convert.")
        for table in (self.curtailment_table, self.lease_table):
            table.resizeRowsToContents()

    def _on_doc_changed(self, _sc=None) -> None:
        self._update_stale()

    def _update_stale(self) -> None:
        res, sc = self.results, self.doc.scenario
        self.stale = res is not None and res.scenario is not sc and res.scenario != sc
        self.stale_label.setVisible(self.stale)
        ink = QBrush(QColor(_GREY if self.stale else _INK))
        for table in (self.curtailment_table, self.lease_table):
            for r in range(table.rowCount()):
                for c in range(table.columnCount()):
                    item = table.item(r, c)
                    if item is not None:
                        item.setForeground(ink)
        self.btc_title.setStyleSheet(f"color: {_GREY};" if self.stale else "")
        self.lease_note.setStyleSheet(f"color: {_GREY};" if self.stale else "")
        self._style_btc()

    def _style_btc(self) -> None:
        size = 24 if self._presentation else 16
        ink = _GREY if self.stale else "#1f4e79"
        self.btc_label.setStyleSheet(f"font-size: {size}px; font-weight: 600; color: {ink};")


class WhatIfView(QWidget):
    """Sliders -> instant recompute of a scenario copy; KPIs, base-vs-what-if cash flow, tornado."""

    redrawn = Signal()   # after the KPIs and the cash-flow chart show the current controls

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.redraw_count = 0
        self.last_latency_ms: float | None = None
        self.base_result: EngineResult | None = None
        self.base_kpis: dict | None = None
        self.result: EngineResult | None = None
        self.kpis: dict | None = None
        self.scenario: Scenario | None = None      # the what-if scenario last evaluated
        self.tornado_rows: list[TornadoRow] = []
        self._base_whatif: WhatIf | None = None
        self._shown: dict[str, float] = {}
        self._tornado_scenario: Scenario | None = None

        # ---- controls
        box = QGroupBox("What-if inputs (not edits: the scenario changes only with \"Apply to scenario\")")
        grid = QGridLayout(box)
        self.controls = {
            "btc": SliderSpin(40_000, 200_000, 500, 1, 100_000_000, 0, " USD/BTC"),   # the schema's range
            "growth": SliderSpin(-5, 10, 0.1, -50, 50, 2, " %/month"),
            "build": SliderSpin(0.3, 5, 0.05, 0.01, 50, 2, " USD/W"),
            "power": SliderSpin(25, 300, 1, 0, 1_000, 0, " % of contract"),
            "lease": SliderSpin(0, 400, 1, 0, 10_000, 0, " USD/kW-month"),
        }
        labels = {"btc": "BTC price, first month (USD/BTC; the path scales with it)",
                  "growth": "Network hashrate trend (%/month)",
                  "build": "Network build cost (USD per W; cheaper: the network grows faster)",
                  "power": "Power price, every site (% of contract, USD/MWh)",
                  "lease": "AI lease rate, every AI site (USD/kW-month)"}
        self.control_labels = {}
        for r, (k, w) in enumerate(self.controls.items()):
            self.control_labels[k] = QLabel(labels[k])
            grid.addWidget(self.control_labels[k], r, 0)
            grid.addWidget(w, r, 1)
            w.valueChanged.connect(self._on_control)
        self.controls["build"].setToolTip("What new capacity costs the network's builders (supply network model): "
                                          "below the calibrated $1.58/W the network grows faster and hashprice "
                                          "falls further; above it, slower.")
        buttons = QHBoxLayout()
        self.apply_btn = QPushButton("Apply to scenario")
        self.apply_btn.setToolTip("Write these values into the scenario as one undoable edit")
        self.apply_btn.clicked.connect(self.apply_to_scenario)
        self.reset_btn = QPushButton("Reset to scenario")
        self.reset_btn.clicked.connect(self.reset)
        buttons.addWidget(self.apply_btn)
        buttons.addWidget(self.reset_btn)
        buttons.addStretch(1)
        grid.addLayout(buttons, len(self.controls), 0, 1, 2)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c00000;")
        grid.addWidget(self.message, len(self.controls) + 1, 0, 1, 2)

        # ---- KPIs
        kpi_row = QHBoxLayout()
        self.kpi_labels: dict[str, QLabel] = {}
        for key, title in (("npv", "NPV (USD)"), ("cost", "Cost per BTC, cash / all-in (USD/BTC)"),
                           ("hashprice", "Hashprice, first month (USD/PH/day)")):
            frame = QFrame()
            frame.setObjectName("kpi")
            frame.setStyleSheet("#kpi { background: #ffffff; border: 1px solid #d0d4da; border-radius: 6px; }")
            fl = QVBoxLayout(frame)
            t = QLabel(title)
            t.setStyleSheet("color: #5f6368;")
            v = QLabel("-")
            v.setStyleSheet("font-size: 18px; font-weight: 600; color: #1f4e79;")
            v.setWordWrap(True)
            fl.addWidget(t)
            fl.addWidget(v)
            kpi_row.addWidget(frame)
            self.kpi_labels[key] = v

        # ---- charts
        self.cash_chart = Chart("Monthly net cash flow: scenario vs what-if", "USD millions per month")
        self.tornado_chart = Chart("NPV sensitivity (tornado), around the what-if case", "input", dates=False)
        self.tornado_chart.item.setLabel("bottom", "change in NPV (USD millions)")
        self.tornado_chart.item.getAxis("left").setWidth(250)
        self.tornado_chart.legend.anchor((1, 1), (1, 1), offset=(-10, -10))
        self._base_item = None
        self._whatif_item = None
        self._tornado_timer = QTimer(self)
        self._tornado_timer.setSingleShot(True)
        self._tornado_timer.setInterval(TORNADO_DEBOUNCE_MS)
        self._tornado_timer.timeout.connect(self._tornado_due)

        # ---- breakevens (the scenario's, computed on request in the background)
        self.breakevens = BreakevensPanel(doc)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.cash_chart)
        split.addWidget(self.tornado_chart)
        split.addWidget(self.breakevens)
        for i, stretch in enumerate((3, 3, 3)):
            split.setStretchFactor(i, stretch)
        lay = QVBoxLayout(self)
        lay.addWidget(box)
        lay.addLayout(kpi_row)
        lay.addWidget(split, 1)

        doc.changed.connect(when_shown(self, self._on_doc_changed))
        self._on_doc_changed(doc.scenario)

    # ---- public API (tests, benchmarks) ----
    def charts(self) -> list[Chart]:
        return [self.cash_chart, self.tornado_chart]

    def set_presentation(self, on: bool) -> None:
        for c in self.charts():
            c.set_presentation(on)
        for v in self.kpi_labels.values():
            v.setStyleSheet(f"font-size: {28 if on else 18}px; font-weight: 600; color: #1f4e79;")
        self.breakevens.set_presentation(on)

    def compute_breakevens(self) -> bool:
        """Start the Breakevens panel's background run for the scenario (False when one is running)."""
        return self.breakevens.compute()

    def shutdown(self, ms: int = 30_000) -> None:
        """Cancel a running breakevens computation and wait for its thread (the main window calls this)."""
        self.breakevens.shutdown(ms)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)

    def set_btc_price(self, usd_per_btc: float) -> None:
        self.controls["btc"].set_value(usd_per_btc)

    def set_network_build_cost(self, usd_per_w: float) -> None:
        self.controls["build"].set_value(usd_per_w)

    def set_hashrate_growth(self, pct_per_month: float) -> None:
        self.controls["growth"].set_value(pct_per_month)

    def set_power_price_pct(self, pct_of_contract: float) -> None:
        self.controls["power"].set_value(pct_of_contract)

    def set_lease_rate(self, usd_per_kw_month: float) -> None:
        self.controls["lease"].set_value(usd_per_kw_month)

    def whatif(self) -> WhatIf:
        """The controls' what-if; a control still showing the scenario's (rounded) value means the exact value."""
        base = self._base_whatif or baseline(self.doc.scenario)
        exact = {"btc": base.btc_price_usd, "growth": base.hashrate_growth_pct_per_month, "power": 100.0,
                 "lease": base.lease_rate_usd_per_kw_month, "build": base.network_build_cost_usd_per_w}
        v = {k: (exact[k] if c.value() == self._shown.get(k) else c.value()) for k, c in self.controls.items()}
        lease = v["lease"] if base.lease_rate_usd_per_kw_month is not None else None
        build = v["build"] if base.network_build_cost_usd_per_w is not None else None
        return WhatIf(v["btc"], v["growth"], v["power"], lease, build)

    def cash_flow_series(self) -> tuple[np.ndarray, np.ndarray]:
        """(scenario, what-if) monthly net cash flow, USD millions, as drawn."""
        return (np.asarray(self._base_item.yData, float).copy(), np.asarray(self._whatif_item.yData, float).copy())

    # ---- document ----
    def _on_doc_changed(self, sc: Scenario) -> None:
        """A new scenario (edit, undo, load, apply): the controls return to its values."""
        self._base_whatif = base = baseline(sc)
        c = self.controls
        c["btc"].set_value(base.btc_price_usd, silent=True)
        c["growth"].set_value(base.hashrate_growth_pct_per_month, silent=True)
        supply = base.network_build_cost_usd_per_w is not None
        c["build"].set_value(base.network_build_cost_usd_per_w or 1.0, silent=True)
        for key, show in (("growth", not supply), ("build", supply)):
            c[key].setVisible(show)
            self.control_labels[key].setVisible(show)
        c["power"].set_value(100.0, silent=True)
        has_ai = base.lease_rate_usd_per_kw_month is not None
        c["lease"].set_value(base.lease_rate_usd_per_kw_month or 0.0, silent=True)
        c["lease"].setEnabled(has_ai)
        c["lease"].setToolTip("" if has_ai else "no site has an ai section")
        self._shown = {k: w.value() for k, w in c.items()}
        self.base_result = self._base_run(sc)
        self.base_kpis = kpis(self.base_result)
        self._draw_base()
        self.recompute()

    def _base_run(self, sc: Scenario) -> EngineResult:
        ev = self.evaluation.result
        if ev is not None and ev.scenario is sc and not self.evaluation.mc.preset and ev.n_paths == 1:
            return ev
        return run_engine(sc, n_paths=1)

    # ---- recompute ----
    def _on_control(self, _value: float) -> None:
        self.recompute()

    def recompute(self) -> None:
        t0 = time.perf_counter()
        sc = self.doc.scenario
        try:
            wsc = whatif_scenario(sc, self.whatif())
        except ScenarioError as e:
            self.message.setText("What-if not valid: " + "; ".join(str(p) for p in e.problems[:3]))
            return
        self.message.setText("")
        self.scenario = wsc
        self.result = self.base_result if wsc is sc else run_engine(wsc, n_paths=1)
        self.kpis = kpis(self.result)
        self._draw_whatif()
        self.redraw_count += 1
        self.last_latency_ms = (time.perf_counter() - t0) * 1000.0
        self.redrawn.emit()
        self._tornado_timer.start()

    def _draw_base(self) -> None:
        res = self.base_result
        x = month_ts(res.months)
        ch = self.cash_chart
        ch.clear()
        ch.item.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#9aa0a6", width=1)))
        self._base_item = ch.line("scenario (USD M/month)", x, res.net_cash_flow_usd[0] / 1e6, 0, dash=True)
        self._whatif_item = ch.line("what-if (USD M/month)", x, res.net_cash_flow_usd[0] / 1e6, 1)

    def _draw_whatif(self) -> None:
        res = self.result
        x = month_ts(res.months)
        y = res.net_cash_flow_usd[0] / 1e6
        self._whatif_item.setData(x, y)
        if len(self.cash_chart._series) >= 2:        # keep the hover readout in step
            self.cash_chart._series[1] = (self.cash_chart._series[1][0], x, np.asarray(y, float))
        k, b = self.kpis, self.base_kpis
        d = k["npv_usd"] - b["npv_usd"]
        self.kpi_labels["npv"].setText(f"{usd(k['npv_usd'])} USD\nscenario {usd(b['npv_usd'])}, "
                                       f"change {'+' if d >= 0 else '-'}{usd(abs(d))}")
        self.kpi_labels["cost"].setText(f"{usd(k['cost_per_btc_cash_usd'])} / {usd(k['cost_per_btc_all_in_usd'])}"
                                        f" USD/BTC\nscenario {usd(b['cost_per_btc_cash_usd'])} / "
                                        f"{usd(b['cost_per_btc_all_in_usd'])}")
        self.kpi_labels["hashprice"].setText(f"${k['hashprice_usd_per_ph_day']:,.2f} USD/PH/day\n"
                                             f"scenario ${b['hashprice_usd_per_ph_day']:,.2f}")

    # ---- tornado ----
    def _tornado_due(self) -> None:
        """Debounced: only a visible view spends the ~0.1 s; a hidden one catches up when shown."""
        if self.isVisible():
            self.update_tornado()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.scenario is not None and self.scenario is not self._tornado_scenario:
            QTimer.singleShot(0, self._tornado_due)     # (start(0) would also change the debounce interval)

    def update_tornado(self) -> None:
        """Recompute (12 engine runs, ~0.1 s) and redraw the tornado around the current what-if case."""
        self._tornado_timer.stop()
        if self.scenario is None or self.result is None:
            return
        if self.scenario is not self._tornado_scenario:
            self.tornado_rows = tornado(self.scenario, float(self.result.npv_usd[0]))
            self._tornado_scenario = self.scenario
        self._draw_tornado()

    def _draw_tornado(self) -> None:
        rows = self.tornado_rows
        ch = self.tornado_chart
        ch.clear()
        n = len(rows)
        ys = np.arange(n)[::-1].astype(float)       # widest bar on top
        lo = np.array([(r.npv_low_usd - r.base_npv_usd) / 1e6 if r.npv_low_usd is not None else 0.0 for r in rows])
        hi = np.array([(r.npv_high_usd - r.base_npv_usd) / 1e6 if r.npv_high_usd is not None else 0.0 for r in rows])
        ch.item.addItem(pg.BarGraphItem(x0=np.minimum(lo, 0), x1=np.maximum(lo, 0), y=ys, height=0.36,
                                        brush=pg.mkBrush(color(6, 200)), pen=pg.mkPen(color(6))))
        ch.item.addItem(pg.BarGraphItem(x0=np.minimum(hi, 0), x1=np.maximum(hi, 0), y=ys + 0.0, height=0.36,
                                        brush=pg.mkBrush(color(0, 170)), pen=pg.mkPen(color(0))))
        ch.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(6, 200), width=8)), "low case of the input")
        ch.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(0, 170), width=8)), "high case of the input")
        ch.item.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#202124", width=1)))
        for y, r, a, b in zip(ys, rows, lo, hi):
            for v, case in ((a, r.low_label), (b, r.high_label)):
                if r.npv_low_usd is None or r.npv_high_usd is None:
                    txt = "n/a (input out of range)"
                else:
                    txt = f"{'+' if v >= 0 else '-'}${abs(v):,.1f}M ({case})"
                t = pg.TextItem(txt, color="#202124", anchor=(0, 0.5) if v >= 0 else (1, 0.5))
                t.setPos(v, y)
                ch.item.addItem(t)
        ch.item.getAxis("left").setTicks([[(float(y), r.name) for y, r in zip(ys, rows)]])
        span = float(max(np.max(np.abs(lo)) if n else 1.0, np.max(np.abs(hi)) if n else 1.0, 1e-3))
        ch.item.setXRange(-span * 1.9, span * 1.9, padding=0)
        ch.item.setYRange(-0.8, n - 0.2, padding=0)
        base = rows[0].base_npv_usd if rows else float("nan")
        ch.readout.setText(f"what-if NPV {usd(base)} USD; bars: NPV change at each input's low/high case")

    def tornado_bars(self) -> list[tuple[str, float, float]]:
        """(input, NPV change at the low case, at the high case), USD, top bar first."""
        def d(v, r):
            return float("nan") if v is None else v - r.base_npv_usd
        return [(r.name, d(r.npv_low_usd, r), d(r.npv_high_usd, r)) for r in self.tornado_rows]

    # ---- apply / reset ----
    def apply_to_scenario(self) -> bool:
        sc = self.doc.scenario
        w = self.whatif()
        if w == baseline(sc):
            self.message.setText("Nothing to apply: the what-if equals the scenario.")
            return False
        network = (f"network build cost ${w.network_build_cost_usd_per_w:.2f}/W"
                   if w.network_build_cost_usd_per_w is not None else
                   f"hashrate {w.hashrate_growth_pct_per_month:g} %/month")
        parts = [f"BTC ${w.btc_price_usd:,.0f}", network, f"power {w.power_price_pct:g} %"]
        if w.lease_rate_usd_per_kw_month is not None:
            parts.append(f"lease ${w.lease_rate_usd_per_kw_month:g}/kW-month")
        err = self.doc.try_edit(lambda d: apply_whatif(d, sc, w), "What-if: " + ", ".join(parts))
        if err is not None:
            self.message.setText("Not applied: " + "; ".join(str(p) for p in err.problems[:3]))
            return False
        self.message.setText("")
        return True

    def reset(self) -> None:
        self._on_doc_changed(self.doc.scenario)
