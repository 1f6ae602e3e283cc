"""Market: the BTC price path (flat / growth / draggable points, late-2025 presets), Monte Carlo
settings and the network assumptions. Every scenario field edit is one undoable document command;
an invalid value stays in its field, shown in red with a tooltip naming the rule it breaks, and the
scenario does not change.

"Update market data" fetches price, difficulty, block height and fees from mempool.space in the
background (falling back to the cache, then the shipped snapshot; see :mod:`ui.market_update`),
shows the values and where they came from, and applies them as one undoable edit.

The forms are laid out by :mod:`.forms`, the path's chart edits live in :mod:`.path_editing`.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from minerplan.scenario.model import Scenario

from ... import market_update
from ...charts import Chart
from ...kit.fit import fit_scroll_area
from ...kit.messages import show_message, show_status
from ...lazy import when_shown
from .editors import FieldEdit
from .forms import model_hint, monte_carlo_box, network_box, price_path_box
from .path_editing import PricePathEditing


class MarketView(PricePathEditing, QWidget):
    """Price path editor (chart with draggable points + table + presets), Monte Carlo and network."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.fields: dict[str, FieldEdit] = {}
        self.targets: list[pg.TargetItem] = []
        self._path_item = None
        self._presentation = False
        self.market_job: market_update.MarketUpdateJob | None = None

        path_box = price_path_box(self)
        mc_box = monte_carlo_box(self)
        net_box = network_box(self)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #c00000;")

        left = QWidget()
        ll = QVBoxLayout(left)
        for w in (path_box, mc_box, net_box, self.status):
            ll.addWidget(w)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        # as wide as the panel's content and a vertical scroll bar, again after presentation mode's larger
        # font: nothing is cut off on the right and the panel never scrolls sideways (the chart gives way)
        fit_scroll_area(scroll)

        self.chart = Chart("BTC price path (drag the points; x snaps to months)", "USD per BTC")
        self.chart.plot.scene().sigMouseClicked.connect(self._on_chart_click)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(self.chart)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        doc.changed.connect(when_shown(self, self._on_doc_changed))
        evaluation.mc_updated.connect(when_shown(self, lambda *_: self._draw()))
        evaluation.mc_progress.connect(lambda f, s: self.mc_status.setText(f"running: {f * 100:.0f}% ({s})"))
        evaluation.mc_failed.connect(lambda msg: self.mc_status.setText(f"failed: {msg.splitlines()[0]}"))
        self._on_doc_changed(doc.scenario)

    # ---- building blocks ----
    def _field(self, path: str, tip: str) -> FieldEdit:
        return FieldEdit(self.doc, path, tip)

    def charts(self) -> list[Chart]:
        return [self.chart]

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        self.chart.set_presentation(on)
        f = QApplication.font()
        if on:
            f.setPointSize(14)
        for w in (self.table, self.status, self.mc_status, self.market_label):
            w.setFont(f)

    # ---- document -> widgets ----
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.paths_spin.setValue(int(self.evaluation.mc.paths))    # settings may have changed elsewhere
        self.seed_spin.setValue(int(self.evaluation.mc.seed))
        if self.evaluation.mc.paths <= 1:
            self.mc_status.setText("the entered price path only (1 path)")
        self._draw()

    def _on_doc_changed(self, sc: Scenario) -> None:
        i = self.kind.findData(sc.price_path.kind)
        self.kind.setCurrentIndex(i)
        self.fields["price_path.growth_pct_per_month"].setEnabled(sc.price_path.kind == "growth")
        points = sc.price_path.kind == "points"
        self.table.setEnabled(points)
        self.add_btn.setEnabled(points)
        self.remove_btn.setEnabled(points)
        for f in self.fields.values():
            if f.error is None:
                f.load()
        self.mc_model.setCurrentIndex(self.mc_model.findData(sc.monte_carlo.model))
        self.mc_model_hint.setText(model_hint(sc))
        self.mc_model_hint.setVisible(bool(self.mc_model_hint.text()))
        self.network_model.setCurrentIndex(self.network_model.findData(sc.market.network_model))
        self.fields["market.hashrate_growth_pct_per_month"].setEnabled(sc.market.network_model != "supply")
        self._draw()


    # ---- Monte Carlo ----
    def set_mc_model(self, model: str) -> bool:
        """Price model of the Monte Carlo (gbm / merton / regime): one undoable edit."""
        sc = self.doc.scenario
        if model == sc.monte_carlo.model:
            return True

        def mutate(d):
            d.setdefault("monte_carlo", {})["model"] = model

        ok = self._edit(mutate, f"Price model: {model}")
        if not ok:
            self.mc_model.setCurrentIndex(self.mc_model.findData(sc.monte_carlo.model))
        return ok

    def set_network_model(self, model: str) -> bool:
        """The network model (supply / capitulation / trend): one undoable edit."""
        sc = self.doc.scenario
        if model == sc.market.network_model:
            return True

        def mutate(d):
            d["market"]["network_model"] = model

        ok = self._edit(mutate, f"Network model: {model}")
        if not ok:
            self.network_model.setCurrentIndex(self.network_model.findData(sc.market.network_model))
        return ok

    def _mc_settings_edited(self) -> None:
        """Leaving a spin box restarts the fan only when a setting really changed."""
        if (self.paths_spin.value(), self.seed_spin.value()) != (self.evaluation.mc.paths, self.evaluation.mc.seed):
            self.apply_mc_settings()

    def apply_mc_settings(self) -> None:
        self.evaluation.mc.paths = int(self.paths_spin.value())
        self.evaluation.mc.seed = int(self.seed_spin.value())
        if self.evaluation.mc.paths <= 1:
            self.mc_status.setText("the entered price path only (1 path)")
            self._draw()
        else:
            self.mc_status.setText(f"running {self.evaluation.mc.paths:,} paths...")
        self.evaluation.start_monte_carlo()

    # ---- market data ----
    def update_market_data(self) -> market_update.MarketUpdateJob | None:
        """Fetch the market in the background (the button is disabled until it ends); None when one is running."""
        if self.market_job is not None and self.market_job.running:
            return None
        job = market_update.start_update(self)
        job.finished.connect(self._on_market_data)
        job.failed.connect(self._on_market_data_failed)
        job.done.connect(self._on_market_job_done)
        self.market_job = job
        self.update_market_btn.setEnabled(False)
        text = f"Fetching from {market_update.host_of(job.url)}\u2026"
        self.market_label.setStyleSheet("color: #5f6368;")
        self.market_label.setText(text)
        self.market_label.setToolTip(f"Fetching {job.url}; each request may take up to {job.timeout_s:g} s")
        show_status(self, text)
        return job

    def _on_market_data(self, snap, warnings: list[str]) -> None:
        if market_update.updated_market(self.doc.scenario, snap) is None:
            outcome = "unchanged"
        else:
            def mutate(d):
                d["market"] = snap.apply_to_market(d["market"])

            outcome = "applied" if self._edit(mutate, market_update.edit_text(snap)) else "refused"
        self.market_label.setStyleSheet("color: #5f6368;" if snap.source == "live" and not warnings
                                        else "color: #8a5a00;")
        self.market_label.setText(market_update.result_text(snap, warnings, outcome))
        self.market_label.setToolTip(market_update.tooltip_text(snap, warnings))
        show_status(self, f"Market data ({snap.source}): {snap.describe()}"
                    + ("" if outcome == "applied" else "; the scenario did not change"))

    def _on_market_data_failed(self, message: str) -> None:
        first = message.splitlines()[0] if message else "failed"
        self.market_label.setStyleSheet("color: #c00000;")
        self.market_label.setText(f"Market data not updated: {first}")
        self.market_label.setToolTip(message)
        show_status(self, f"Market data not updated: {first}")
        show_message(self, market_update.TITLE, message)

    def _on_market_job_done(self) -> None:
        self.update_market_btn.setEnabled(True)

    def shutdown(self, ms: int = 60_000) -> None:
        """Drop a running market update's result (before the window closes); never waits for the fetch.
        ``ms`` is ignored (kept for callers): the update's thread ends on its own after its deadline."""
        market_update.shutdown_updates(self, ms)

