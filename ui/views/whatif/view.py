"""What-if: sliders for BTC price, hashrate growth, power price and AI lease rate.

Moving a control re-runs the engine on the deterministic path (~10 ms, on the GUI thread) for a
copy of the scenario (:func:`minerplan.analysis.whatif.whatif_scenario`) and redraws the KPIs and
the monthly net cash flow (base vs what-if). The document is never touched: what-ifs are not edits
until "Apply to scenario" writes them as one undoable command. A tornado chart shows how far the
NPV swings when each major input moves. The Breakevens panel (:mod:`.breakevens_panel`) computes
the scenario's own breakevens in the background, on request.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSplitter, QVBoxLayout, QWidget)

from minerplan.analysis.vocabulary import NPV_ON_PATH
from minerplan.analysis.whatif import TornadoRow, WhatIf, apply_whatif, baseline, kpis, tornado, whatif_scenario
from minerplan.engine.evaluate import EngineResult, run_engine
from minerplan.formats import usd
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario

from ...charts import Chart, month_ts
from ...lazy import when_shown
from .breakevens_panel import BreakevensPanel
from .slider import SliderSpin
from .tornado_chart import draw_tornado

TORNADO_DEBOUNCE_MS = 250


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
        for key, title in (("npv", f"{NPV_ON_PATH} (USD)"), ("cost", "Cost per BTC, cash / all-in (USD/BTC)"),
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
        # The unit sits above the plot like every chart's (a bottom-axis label overlapped the tick numbers).
        self.tornado_chart = Chart("NPV sensitivity (tornado), around the what-if case",
                                   "change in NPV (USD millions), across", dates=False)
        self._base_item = None
        self._whatif_item = None
        self._tornado_timer = QTimer(self)
        self._tornado_timer.setSingleShot(True)
        self._tornado_timer.setInterval(TORNADO_DEBOUNCE_MS)
        self._tornado_timer.timeout.connect(self._tornado_due)

        # ---- breakevens (the scenario's, computed on request in the background)
        self.breakevens = BreakevensPanel(doc)

        # The two charts side by side: stacked, each got ~150 px, too little for the tornado's rows.
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.cash_chart)
        charts.addWidget(self.tornado_chart)
        charts.setStretchFactor(0, 4)
        charts.setStretchFactor(1, 5)
        # The Breakevens panel scrolls rather than holding its full height: at 14 pt its (often near-empty)
        # tables kept ~230 px and left the charts ~200 px of a 1000 px screen in presentation mode.
        self.breakevens_scroll = QScrollArea()
        self.breakevens_scroll.setWidgetResizable(True)
        self.breakevens_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.breakevens_scroll.setWidget(self.breakevens)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(charts)
        self.split.addWidget(self.breakevens_scroll)
        self.split.setChildrenCollapsible(False)
        for i, stretch in enumerate((3, 2)):
            self.split.setStretchFactor(i, stretch)
        lay = QVBoxLayout(self)
        lay.addWidget(box)
        lay.addLayout(kpi_row)
        lay.addWidget(self.split, 1)

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
        # Larger inputs and KPIs take height from the splitter: the charts keep three quarters of what is left
        # (relative weights; the splitter scales them to its height and shares later changes the same way).
        weights = (3, 1) if on else (3, 2)
        for i, stretch in enumerate(weights):
            self.split.setStretchFactor(i, stretch)
        self.split.setSizes(list(weights))

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
        draw_tornado(self.tornado_chart, rows)
        base = rows[0].base_npv_usd if rows else float("nan")
        self.tornado_chart.readout.setText(f"what-if NPV {usd(base)} USD; bars: NPV change at each input's "
                                           "low/high case")

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
