"""Market: the BTC price path (flat / growth / draggable points, late-2025 presets), Monte Carlo
settings and the network assumptions. Every scenario field edit is one undoable document command;
an invalid value stays in its field, shown in red with a tooltip naming the rule it breaks, and the
scenario does not change.

"Update market data" fetches price, difficulty, block height and fees from mempool.space in the
background (falling back to the cache, then the shipped snapshot; see :mod:`ui.market_update`),
shows the values and where they came from, and applies them as one undoable edit.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QFormLayout, QGridLayout,
                               QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QTableView, QVBoxLayout, QWidget)

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.months import add_months, month_index
from minerplan.markets.prices import PRESETS, deterministic_path
from minerplan.scenario.model import PricePath, PricePoint, Scenario

from .. import market_update
from ..evaluation import MonteCarloFan
from ..lazy import when_shown
from ..charts import Chart, color, month_ts

INVALID_STYLE = "background: #fde2e1; border: 1px solid #c00000;"
INVALID_BRUSH = QColor("#fde2e1")
MODEL_LABELS = {"gbm": "gbm", "merton": "merton (jumps)", "regime": "regime (calm/stressed)"}
NETWORK_MODELS = {
    "supply": ("Supply (answers hashprice both ways)",
               "The default. New machines are ordered when hashprice pays for them (at the efficiency frontier, "
               "delivered after a lag, up to the pipeline's limit); installed tiers switch off when hashprice "
               "falls below their cash cost and back on when it recovers; difficulty follows at the retargets. "
               "Calibrated on 2019-2025 history (README, minerplan backtest-network)."),
    "capitulation": ("Capitulation (trend installs, switch-off)",
                     "Installed hashrate grows at the trend below whatever hashprice does; only switching off and "
                     "back on answers hashprice (market.hashrate_response)."),
    "trend": ("Trend (no response)",
              "Network hashrate grows at the trend below whatever it earns: a network that can grow into "
              "losses. Kept for comparison and for hand calculations."),
}
NETWORK_MODEL_TIP = "Network model: " + " ".join(f"{label}: {tip}" for label, tip in NETWORK_MODELS.values()) + \
    " One undoable edit."
KIND_LABELS = {"flat": "flat (BTC price now, every month)", "growth": "growth (% per month, compounded)",
               "points": "points (linear between, flat after)"}


# --------------------------------------------------------------------------- helpers

def fmt_num(v: float | int | None) -> str:
    """A number as people type it: thousands separators, no trailing zeros, full precision."""
    if v is None:
        return ""
    if isinstance(v, int) or (float(v).is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    return f"{float(v):,.10g}" if abs(v) < 1e15 else f"{float(v):.10g}"


def parse_num(text: str) -> Any:
    """``"$91,500"`` -> 91500; ``"1.5"`` -> 1.5; text that is no number is returned as is, so the
    scenario validator names the rule it breaks ("Input should be a valid number")."""
    t = text.strip().replace(",", "").replace("_", "").replace("$", "").replace(" ", "")
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return text.strip()


def problems_text(err: ScenarioError, prefix: str | None = None) -> str:
    """The problems of ``err`` (those under ``prefix`` when there are any), one per line, with field paths."""
    probs = err.problems
    if prefix:
        mine = [p for p in probs if p.path == prefix or p.path.startswith((prefix + ".", prefix + "["))]
        probs = mine or probs
    return "\n".join(str(p) for p in probs[:10])


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set(d: dict, path: str, value: Any) -> None:
    *head, last = path.split(".")
    for part in head:
        d = d.setdefault(part, {})
    d[last] = value


def _unset(d: dict, path: str) -> None:
    *head, last = path.split(".")
    for part in head:
        d = d.setdefault(part, {})
    d.pop(last, None)


class FieldEdit(QLineEdit):
    """A number field bound to one scenario field (``"market.btc_price_usd"``).

    Committing (Enter or leaving the field) pushes one undoable edit; a value the scenario
    rejects is kept in the field, flagged red with the rule in the tooltip, and nothing changes.
    """

    def __init__(self, doc, path: str, tip: str = "", parent: QWidget | None = None, *, optional: bool = False):
        super().__init__(parent)
        self.doc = doc
        self.path = path
        self.tip = tip
        self.optional = optional      # a blank field removes the value (the scenario's default applies)
        self.error: str | None = None
        self.setToolTip(tip)
        self.editingFinished.connect(self.commit)
        self.load()

    def current(self) -> Any:
        try:
            return _get(self.doc.scenario, self.path)
        except AttributeError:
            return None

    def load(self) -> None:
        """Show the scenario's value (clears a flag)."""
        self.set_error(None)
        self.setText(fmt_num(self.current()))

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.setStyleSheet(INVALID_STYLE if message else "")
        self.setToolTip(f"{self.tip}\n\nNot applied:\n{message}".strip() if message else self.tip)

    def commit(self) -> bool:
        value = parse_num(self.text())
        if value == self.current() and type(value) is not str:
            self.set_error(None)
            self.setText(fmt_num(value))
            return True
        self.set_error(None)   # so the reload after a successful edit shows the stored value
        if self.optional and value == "":
            if self.current() is None:
                return True
            err = self.doc.try_edit(lambda d: _unset(d, self.path), f"Clear {self.path}")
        else:
            err = self.doc.try_edit(lambda d: _set(d, self.path, value), f"Edit {self.path}")
        if err is not None:
            self.set_error(problems_text(err, self.path))
            return False
        return True

    def set_value_text(self, text: str) -> bool:
        """Type ``text`` and commit it (what a person does; used by tests)."""
        self.setText(text)
        return self.commit()


def model_hint(sc: Scenario) -> str:
    """One line on the chosen price model's parameters (empty for gbm)."""
    mc = sc.monte_carlo
    where = "(edit in the scenario file or with minerplan calibrate)"
    if mc.model == "merton":
        return (f"jumps: {mc.jump_intensity_per_year:g}/yr, mean {mc.jump_mean_pct:g}%, "
                f"volatility {mc.jump_volatility_pct:g}% {where}")
    if mc.model == "regime":
        return (f"stressed: drift {mc.stressed_drift_pct_per_year:g}%/yr, volatility "
                f"{mc.stressed_volatility_pct_per_year:g}%/yr; enter {mc.p_enter_stressed_per_month * 100:g}%/mo, "
                f"exit {mc.p_exit_stressed_per_month * 100:g}%/mo {where}")
    return ""


# --------------------------------------------------------------------------- price points table

class PricePointsModel(QAbstractTableModel):
    """The price path's points: month (YYYY-MM) and BTC price (USD). Edits go through the document."""

    HEADERS = ("Month (YYYY-MM)", "BTC price (USD)")

    def __init__(self, doc, parent=None):
        super().__init__(parent)
        self.doc = doc
        self._points = list(doc.scenario.price_path.points)
        self.errors: dict[tuple[int, int], tuple[str, str]] = {}   # (row, col) -> (typed text, rule)
        doc.changed.connect(self._on_changed)

    def _on_changed(self, sc: Scenario) -> None:
        new = list(sc.price_path.points)
        if len(new) != len(self._points):
            self.beginResetModel()
            self._points, self.errors = new, {}
            self.endResetModel()
            return
        self._points, self.errors = new, {}
        if new:
            self.dataChanged.emit(self.index(0, 0), self.index(len(new) - 1, 1))

    # ---- model ----
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._points)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else 2

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < 2 else None
        return str(section + 1)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._points)) or not (0 <= index.column() < 2):
            return None
        pt = self._points[index.row()]
        err = self.errors.get((index.row(), index.column()))
        if role == Qt.ItemDataRole.DisplayRole:
            if err:
                return err[0]
            return pt.month if index.column() == 0 else f"{pt.btc_price_usd:,.0f}"
        if role == Qt.ItemDataRole.EditRole:
            if err:
                return err[0]
            return pt.month if index.column() == 0 else fmt_num(pt.btc_price_usd)
        if role == Qt.ItemDataRole.BackgroundRole and err:
            return QBrush(INVALID_BRUSH)
        if role == Qt.ItemDataRole.ToolTipRole:
            if err:
                return f"Not applied:\n{err[1]}"
            return "calendar month YYYY-MM" if index.column() == 0 else "BTC price at that month, USD"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not (0 <= index.row() < len(self._points)):
            return False
        r, c = index.row(), index.column()
        text = str(value).strip()
        key = "month" if c == 0 else "btc_price_usd"
        new = text if c == 0 else parse_num(text)

        def mutate(d):
            d["price_path"]["points"][r][key] = new

        err = self.doc.try_edit(mutate, f"Edit price point {r + 1}")
        if err is not None:
            self.errors[(r, c)] = (text, problems_text(err, f"price_path.points[{r}]"))
            self.dataChanged.emit(index, index)
            return False
        return True


# --------------------------------------------------------------------------- the view

class MarketView(QWidget):
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

        # ---- price path group
        path_box = QGroupBox("BTC price path")
        pf = QFormLayout(path_box)
        self.kind = QComboBox()
        for k, label in KIND_LABELS.items():
            self.kind.addItem(label, k)
        self.kind.setToolTip("How the deterministic BTC price path (the centre of the Monte Carlo fan) is built")
        self.kind.activated.connect(lambda i: self.set_kind(self.kind.itemData(i)))
        pf.addRow("Kind", self.kind)
        self.fields["price_path.growth_pct_per_month"] = self._field(
            "price_path.growth_pct_per_month",
            "Compounded monthly growth of the BTC price (kind 'growth'), % per month")
        pf.addRow("Growth (% per month)", self.fields["price_path.growth_pct_per_month"])
        self.points_model = PricePointsModel(doc, self)
        self.table = QTableView()
        self.table.setModel(self.points_model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(140)
        points_label = QLabel("Points (drag them on the chart; double-click the chart to add one)")
        points_label.setWordWrap(True)
        pf.addRow(points_label)
        pf.addRow(self.table)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add point")
        self.add_btn.setToolTip("Add a point one month after the last one (kind 'points')")
        self.add_btn.clicked.connect(lambda: self.add_point())
        self.remove_btn = QPushButton("Remove selected")
        self.remove_btn.clicked.connect(self.remove_selected)
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        pf.addRow(row)
        presets = QGridLayout()             # 2 columns: a single row is clipped in a narrow panel
        presets.setContentsMargins(0, 0, 0, 0)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, (name, p) in enumerate(PRESETS.items()):
            b = QPushButton(name)
            pts = ", ".join(f"+{m} mo ${usd:,.0f}" for m, usd in p.points)
            b.setToolTip(f"{p.description}\nPoints: {pts} (flat after)\nSource: {p.source}\n"
                         "Writes these points into the price path (undoable).")
            b.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            presets.addWidget(b, i // 2, i % 2)
            self.preset_buttons[name] = b
        pf.addRow(QLabel("Presets (late 2025)"))
        pf.addRow(presets)

        # ---- Monte Carlo group
        mc_box = QGroupBox("Monte Carlo (random paths around the price path)")
        mf = QFormLayout(mc_box)
        self.mc_model = QComboBox()
        for k, label in MODEL_LABELS.items():
            self.mc_model.addItem(label, k)
        self.mc_model.setToolTip(
            "How the random price paths move around the path: gbm (geometric Brownian motion), merton (gbm "
            "plus sudden jumps) or regime (calm and stressed states switching month to month). Saved in the "
            "scenario; one undoable edit.")
        self.mc_model.activated.connect(lambda i: self.set_mc_model(self.mc_model.itemData(i)))
        mf.addRow("Price model", self.mc_model)
        self.mc_model_hint = QLabel("")
        self.mc_model_hint.setStyleSheet("color: #5f6368;")
        self.mc_model_hint.setWordWrap(True)
        mf.addRow(self.mc_model_hint)
        self.paths_spin = QSpinBox()
        self.paths_spin.setRange(1, 100_000)
        self.paths_spin.setValue(int(evaluation.mc.paths))
        self.paths_spin.setToolTip("Number of price paths; 1 = deterministic only (no fan). Not saved in the scenario.")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setValue(int(evaluation.mc.seed))
        self.seed_spin.setToolTip("Random seed: the same seed gives the same paths. Not saved in the scenario.")
        self.paths_spin.editingFinished.connect(self._mc_settings_edited)
        self.seed_spin.editingFinished.connect(self._mc_settings_edited)
        mf.addRow("Paths (count)", self.paths_spin)
        mf.addRow("Seed (integer)", self.seed_spin)
        self.fields["monte_carlo.drift_pct_per_year"] = FieldEdit(
            doc, "monte_carlo.drift_pct_per_year",
            "Growth of the MEAN price, % per year (-200..200). Blank (the default): the price path you enter is "
            "the fan's MEDIAN path, and the mean grows at volatility^2/2 (12.5%/yr at 50% volatility). A drift "
            "you type moves the median off your path: it grows at drift - volatility^2/2 (with 0% drift and 50% "
            "volatility the median falls about 12% a year).", optional=True)
        self.fields["monte_carlo.drift_pct_per_year"].setPlaceholderText("median = your path")
        self.fields["monte_carlo.volatility_pct_per_year"] = self._field(
            "monte_carlo.volatility_pct_per_year", "Annualized volatility of BTC, % per year (0..500)")
        mf.addRow("Drift of the mean (% per year, optional)", self.fields["monte_carlo.drift_pct_per_year"])
        mf.addRow("Volatility (% per year)", self.fields["monte_carlo.volatility_pct_per_year"])
        self.run_mc_btn = QPushButton("Run Monte Carlo")
        self.run_mc_btn.clicked.connect(self.apply_mc_settings)
        self.mc_status = QLabel("")
        self.mc_status.setStyleSheet("color: #5f6368;")
        self.mc_status.setWordWrap(True)
        mf.addRow(self.run_mc_btn, self.mc_status)

        # ---- network group
        net_box = QGroupBox("Network at the start month")
        nf = QFormLayout(net_box)
        for path, label, tip in (
                ("market.btc_price_usd", "BTC price now (USD)", "BTC spot price at the start month, USD ($1 to $100M)"),
                ("market.block_height", "Block height (blocks)", "Current block height (whole number)"),
                ("market.fees_btc_per_block", "Fees (BTC per block)", "Average transaction fees per block, BTC (>= 0)"),
                ("market.hashrate_growth_pct_per_month", "Hashrate trend (% per month)",
                 "Trend growth of network hashrate, % per month, compounded (-50..50); used by the trend and "
                 "capitulation network models (the supply model grows when hashprice pays for new machines)"),
                ("market.fee_growth_pct_per_month", "Fee growth (% per month)",
                 "Growth of fees per block, % per month (-50..50)")):
            self.fields[path] = self._field(path, tip)
            nf.addRow(label, self.fields[path])
            if path == "market.btc_price_usd":
                self.fields["market.difficulty"] = FieldEdit(
                    doc, "market.difficulty", "Current difficulty (dimensionless); blank: derived from the "
                                              "hashrate below (D = H x 600 / 2^32)", optional=True)
                nf.addRow("Difficulty", self.fields["market.difficulty"])
                self.fields["market.network_hashrate_ehs"] = FieldEdit(
                    doc, "market.network_hashrate_ehs", "Network hashrate online now, EH/s (e.g. a 7-day average); "
                                                        "blank: what the difficulty implies (H = D x 2^32 / 600). "
                                                        "Below that level, blocks run slow until the next "
                                                        "retarget.", optional=True)
                nf.addRow("Hashrate online (EH/s)", self.fields["market.network_hashrate_ehs"])
        self.network_model = QComboBox()
        for key, (label, tip) in NETWORK_MODELS.items():
            self.network_model.addItem(label, key)
            self.network_model.setItemData(self.network_model.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.network_model.setToolTip(NETWORK_MODEL_TIP)
        self.network_model.activated.connect(lambda i: self.set_network_model(self.network_model.itemData(i)))
        nf.addRow("Network model", self.network_model)
        self.update_market_btn = QPushButton("Update market data")
        self.update_market_btn.setToolTip(
            "Fetch the BTC price, difficulty, block height and fees per block from mempool.space (setting "
            "market/api_url) in the background. Offline, the last fetch (cache) or the snapshot shipped with "
            "MinerPlan is used instead. The values replace the four above as one undoable edit; growth "
            "assumptions stay.")
        self.update_market_btn.clicked.connect(lambda: self.update_market_data())
        self.market_label = QLabel("")
        self.market_label.setTextFormat(Qt.TextFormat.PlainText)   # text from a server is never HTML
        self.market_label.setWordWrap(True)
        self.market_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.market_label.setStyleSheet("color: #5f6368;")
        nf.addRow(self.update_market_btn)
        nf.addRow(self.market_label)          # full width: a wrapped label beside a button gets clipped

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
        # wide enough for the panel's content and a vertical scroll bar: nothing is cut off on the right
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(380, left.minimumSizeHint().width() + bar + 2 * scroll.frameWidth()))

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

    def _current_mc(self) -> MonteCarloFan | None:
        mc = self.evaluation.mc_result
        if mc is None or mc.scenario is not self.doc.scenario or mc.n_paths <= 1 or self.evaluation.mc.paths <= 1:
            return None
        return mc

    def _draw(self) -> None:
        sc = self.doc.scenario
        x = month_ts(sc.months)
        ch = self.chart
        ch.clear()
        mc = self._current_mc()
        if mc is not None:
            q = mc.btc_price_usd_q
            ch.fan(f"BTC price, {mc.n_paths:,} paths (USD)", x, q[0], q[1], q[2], 1)
            self.mc_status.setText(f"fan: {mc.n_paths:,} paths, P5-P95 shaded")
        path = deterministic_path(sc)
        self._path_item = ch.line("price path (USD)", x, path, 0, width=2.5)
        top = float(np.max(path))
        if self.evaluation.mc.preset:
            alt = deterministic_path(sc, preset=self.evaluation.mc.preset)
            ch.line(f"run-time preset {self.evaluation.mc.preset} (USD)", x, alt, 2, dash=True)
            top = max(top, float(np.max(alt)))
        if mc is not None:
            top = max(top, float(np.max(q[2])))
        if sc.price_path.kind == "points" and sc.price_path.points:
            top = max(top, max(p.btc_price_usd for p in sc.price_path.points))
        ch.item.setYRange(0, top * 1.15, padding=0)    # from zero, so a flat path is not a zoomed-in smear
        self.targets = []
        if sc.price_path.kind == "points":
            for i, pt in enumerate(sc.price_path.points):
                t = pg.TargetItem(pos=(float(month_ts([pt.month])[0]), pt.btc_price_usd), size=13, symbol="o",
                                  pen=pg.mkPen(color(0), width=2), brush=pg.mkBrush(255, 255, 255, 230),
                                  hoverPen=pg.mkPen(color(1), width=2), hoverBrush=pg.mkBrush(color(1, 120)))
                t.setToolTip(f"point {i + 1}: {pt.month}, {pt.btc_price_usd:,.0f} USD - drag to move")
                t.sigPositionChanged.connect(lambda item, k=i: self._on_drag(k, item, final=False))
                t.sigPositionChangeFinished.connect(lambda item, k=i: self._on_drag(k, item, final=True))
                ch.item.addItem(t)
                self.targets.append(t)

    # ---- dragging ----
    def _snap(self, k: int, x_ts: float, y: float) -> tuple[int, float]:
        """Month index nearest ``x_ts`` inside the horizon and between point k's neighbours; price >= 1 USD."""
        sc = self.doc.scenario
        xs = month_ts(sc.months)
        m = int(np.argmin(np.abs(xs - x_ts)))
        pts = sc.price_path.points
        lo = month_index(sc.start_month, pts[k - 1].month) + 1 if k > 0 else 0
        hi = month_index(sc.start_month, pts[k + 1].month) - 1 if k + 1 < len(pts) else max(sc.horizon_months - 1, lo)
        m = int(min(max(m, lo), hi)) if lo <= hi else month_index(sc.start_month, pts[k].month)
        return m, float(max(round(y), 1.0))

    def _on_drag(self, k: int, item, final: bool) -> None:
        sc = self.doc.scenario
        if k >= len(sc.price_path.points):
            return
        pos = item.pos()
        m, usd = self._snap(k, pos.x(), pos.y())
        if not final:
            pts = list(sc.price_path.points)
            pts[k] = PricePoint(month=add_months(sc.start_month, m), btc_price_usd=usd)
            try:
                preview = sc.model_copy(update={"price_path": PricePath(kind="points", points=pts)})
                if self._path_item is not None:
                    self._path_item.setData(month_ts(sc.months), deterministic_path(preview))
            except Exception:  # noqa: BLE001 - a preview only
                pass
            return
        # Commit after the mouse event returns: the edit redraws the chart and replaces this item.
        QTimer.singleShot(0, lambda: self.move_point(k, m, usd))

    def move_point(self, k: int, month: int | str, usd: float) -> bool:
        """Move point ``k`` to ``month`` (index from the start month, or YYYY-MM) and ``usd``: one undoable edit."""
        sc = self.doc.scenario
        label = add_months(sc.start_month, month) if isinstance(month, int) else month
        pts = sc.price_path.points
        if 0 <= k < len(pts) and pts[k].month == label and pts[k].btc_price_usd == float(usd):
            self._draw()            # dropped where it was: nothing to undo
            return True

        def mutate(d):
            d["price_path"]["points"][k] = {"month": label, "btc_price_usd": float(usd)}

        return self._edit(mutate, f"Move price point {k + 1} to {label}, ${usd:,.0f}", redraw_on_error=True)

    # ---- edits ----
    def _edit(self, mutate: Callable[[dict], None], text: str, redraw_on_error: bool = False) -> bool:
        err = self.doc.try_edit(mutate, text)
        if err is not None:
            self.status.setText(f"Not applied: {problems_text(err)}")
            if redraw_on_error:
                self._draw()
            return False
        self.status.setText("")
        return True

    def set_kind(self, kind: str) -> bool:
        sc = self.doc.scenario
        if kind == sc.price_path.kind:
            return True
        seed_points = None
        if kind == "points" and not sc.price_path.points:
            path = deterministic_path(sc)
            last = sc.horizon_months - 1
            seed_points = [{"month": sc.start_month, "btc_price_usd": float(path[0])}]
            if last > 0:
                seed_points.append({"month": add_months(sc.start_month, last), "btc_price_usd": float(path[last])})

        def mutate(d):
            d["price_path"]["kind"] = kind
            if seed_points is not None:
                d["price_path"]["points"] = seed_points

        ok = self._edit(mutate, f"Price path: {kind}")
        if not ok:
            self.kind.setCurrentIndex(self.kind.findData(sc.price_path.kind))
        return ok

    def apply_preset(self, name: str) -> bool:
        sc = self.doc.scenario
        preset = PRESETS[name]
        pts = [{"month": add_months(sc.start_month, m), "btc_price_usd": float(usd)} for m, usd in preset.points]

        def mutate(d):
            d["price_path"]["kind"] = "points"
            d["price_path"]["points"] = pts
            if preset.hashrate_capitulation and d["market"].get("network_model", "supply") == "trend":
                d["market"]["network_model"] = "capitulation"   # the story includes miners switching off

        switch = preset.hashrate_capitulation and sc.market.network_model == "trend"
        return self._edit(mutate, f"Price preset: {name}" + (" (network: capitulation model)" if switch else ""))

    def add_point(self, month: int | None = None, usd: float | None = None) -> bool:
        sc = self.doc.scenario
        pts = sc.price_path.points
        path = deterministic_path(sc)
        if month is None:
            month = month_index(sc.start_month, pts[-1].month) + 1 if pts else 0
        if usd is None:
            usd = float(path[min(max(month, 0), sc.horizon_months - 1)])
        label = add_months(sc.start_month, month)
        new = [{"month": p.month, "btc_price_usd": p.btc_price_usd} for p in pts if p.month != label]
        new.append({"month": label, "btc_price_usd": float(usd)})
        new.sort(key=lambda p: month_index(sc.start_month, p["month"]))

        def mutate(d):
            d["price_path"]["kind"] = "points"
            d["price_path"]["points"] = new

        return self._edit(mutate, f"Add price point {label}")

    def remove_selected(self) -> bool:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows:
            self.status.setText("Select the points to remove in the table first.")
            return False
        return self.remove_points(rows)

    def remove_points(self, rows: list[int]) -> bool:
        def mutate(d):
            for r in sorted(set(rows), reverse=True):
                del d["price_path"]["points"][r]

        return self._edit(mutate, f"Remove {len(rows)} price point(s)")

    def _on_chart_click(self, ev) -> None:
        if not ev.double() or ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.chart.item.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        sc = self.doc.scenario
        m = int(np.argmin(np.abs(month_ts(sc.months) - p.x())))
        if p.y() > 0:
            self.add_point(m, float(round(p.y())))

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
        market_update.say(self, text)
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
        market_update.say(self, f"Market data ({snap.source}): {snap.describe()}"
                                + ("" if outcome == "applied" else "; the scenario did not change"))

    def _on_market_data_failed(self, message: str) -> None:
        first = message.splitlines()[0] if message else "failed"
        self.market_label.setStyleSheet("color: #c00000;")
        self.market_label.setText(f"Market data not updated: {first}")
        self.market_label.setToolTip(message)
        market_update.say(self, f"Market data not updated: {first}")
        market_update.show_error(self, message)

    def _on_market_job_done(self) -> None:
        self.update_market_btn.setEnabled(True)

    def shutdown(self, ms: int = 60_000) -> None:
        """Drop a running market update's result (before the window closes); never waits for the fetch.
        ``ms`` is ignored (kept for callers): the update's thread ends on its own after its deadline."""
        market_update.shutdown_updates(self, ms)
