"""The Market view's three forms, laid out: the BTC price path, the Monte Carlo settings, the network.

Each builder creates its group box's widgets as attributes of the view (``view.kind``,
``view.points_model``, ``view.fields[path]``...) and connects them to the view's methods;
:mod:`ui.views.market.view` wires the rest. Units are in every label and tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QSpinBox, QTableView)

from minerplan.markets.prices import PRESETS
from minerplan.scenario.model import Scenario

from .editors import FieldEdit, PricePointsModel

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



def price_path_box(view) -> QGroupBox:
    """Kind, growth, the points table with add/remove, and the late-2025 presets."""
    path_box = QGroupBox("BTC price path")
    pf = QFormLayout(path_box)
    view.kind = QComboBox()
    for k, label in KIND_LABELS.items():
        view.kind.addItem(label, k)
    view.kind.setToolTip("How the deterministic BTC price path (the centre of the Monte Carlo fan) is built")
    view.kind.activated.connect(lambda i: view.set_kind(view.kind.itemData(i)))
    pf.addRow("Kind", view.kind)
    view.fields["price_path.growth_pct_per_month"] = view._field(
        "price_path.growth_pct_per_month",
        "Compounded monthly growth of the BTC price (kind 'growth'), % per month")
    pf.addRow("Growth (% per month)", view.fields["price_path.growth_pct_per_month"])
    view.points_model = PricePointsModel(view.doc, parent=view)
    view.table = QTableView()
    view.table.setModel(view.points_model)
    view.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    view.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.table.setMinimumHeight(140)
    points_label = QLabel("Points (drag them on the chart; double-click the chart to add one)")
    points_label.setWordWrap(True)
    pf.addRow(points_label)
    pf.addRow(view.table)
    row = QHBoxLayout()
    view.add_btn = QPushButton("Add point")
    view.add_btn.setToolTip("Add a point one month after the last one (kind 'points')")
    view.add_btn.clicked.connect(lambda: view.add_point())
    view.remove_btn = QPushButton("Remove selected")
    view.remove_btn.clicked.connect(view.remove_selected)
    row.addWidget(view.add_btn)
    row.addWidget(view.remove_btn)
    pf.addRow(row)
    presets = QGridLayout()             # 2 columns: a single row is clipped in a narrow panel
    presets.setContentsMargins(0, 0, 0, 0)
    view.preset_buttons: dict[str, QPushButton] = {}
    for i, (name, p) in enumerate(PRESETS.items()):
        b = QPushButton(name)
        pts = ", ".join(f"+{m} mo ${usd:,.0f}" for m, usd in p.points)
        on = "; ".join(p.switches_on()) or "nothing besides the price path"
        b.setToolTip(f"{p.description}\nPoints: {pts} (flat after)\nAlso switches on: {on}\nSource: {p.source}\n"
                     "Writes these points into the price path (undoable).")
        b.clicked.connect(lambda _=False, n=name: view.apply_preset(n))
        presets.addWidget(b, i // 2, i % 2)
        view.preset_buttons[name] = b
    pf.addRow(QLabel("Presets (late 2025)"))
    pf.addRow(presets)

    return path_box


def monte_carlo_box(view) -> QGroupBox:
    """Price model, paths and seed (app settings, not saved in the scenario), drift and volatility."""
    mc_box = QGroupBox("Monte Carlo (random paths around the price path)")
    mf = QFormLayout(mc_box)
    view.mc_model = QComboBox()
    for k, label in MODEL_LABELS.items():
        view.mc_model.addItem(label, k)
    view.mc_model.setToolTip(
        "How the random price paths move around the path: gbm (geometric Brownian motion), merton (gbm "
        "plus sudden jumps) or regime (calm and stressed states switching month to month). Saved in the "
        "scenario; one undoable edit.")
    view.mc_model.activated.connect(lambda i: view.set_mc_model(view.mc_model.itemData(i)))
    mf.addRow("Price model", view.mc_model)
    view.mc_model_hint = QLabel("")
    view.mc_model_hint.setStyleSheet("color: #5f6368;")
    view.mc_model_hint.setWordWrap(True)
    mf.addRow(view.mc_model_hint)
    view.paths_spin = QSpinBox()
    view.paths_spin.setRange(1, 100_000)
    view.paths_spin.setValue(int(view.evaluation.mc.paths))
    view.paths_spin.setToolTip("Number of price paths; 1 = deterministic only (no fan). Not saved in the scenario.")
    view.seed_spin = QSpinBox()
    view.seed_spin.setRange(0, 2**31 - 1)
    view.seed_spin.setValue(int(view.evaluation.mc.seed))
    view.seed_spin.setToolTip("Random seed: the same seed gives the same paths. Not saved in the scenario.")
    view.paths_spin.editingFinished.connect(view._mc_settings_edited)
    view.seed_spin.editingFinished.connect(view._mc_settings_edited)
    mf.addRow("Paths (count)", view.paths_spin)
    mf.addRow("Seed (integer)", view.seed_spin)
    view.fields["monte_carlo.drift_pct_per_year"] = FieldEdit(
        view.doc, "monte_carlo.drift_pct_per_year",
        "Growth of the MEAN price, % per year (-200..200). Blank (the default): the price path you enter is "
        "the fan's MEDIAN path, and the mean grows at volatility^2/2 (12.5%/yr at 50% volatility). A drift "
        "you type moves the median off your path: it grows at drift - volatility^2/2 (with 0% drift and 50% "
        "volatility the median falls about 12% a year).", optional=True)
    view.fields["monte_carlo.drift_pct_per_year"].setPlaceholderText("median = your path")
    view.fields["monte_carlo.volatility_pct_per_year"] = view._field(
        "monte_carlo.volatility_pct_per_year", "Annualized volatility of BTC, % per year (0..500)")
    mf.addRow("Drift of the mean (% per year, optional)", view.fields["monte_carlo.drift_pct_per_year"])
    mf.addRow("Volatility (% per year)", view.fields["monte_carlo.volatility_pct_per_year"])
    view.run_mc_btn = QPushButton("Run Monte Carlo")
    view.run_mc_btn.clicked.connect(view.apply_mc_settings)
    view.mc_status = QLabel("")
    view.mc_status.setStyleSheet("color: #5f6368;")
    view.mc_status.setWordWrap(True)
    mf.addRow(view.run_mc_btn, view.mc_status)

    return mc_box


def network_box(view) -> QGroupBox:
    """The market at the start month, the network model and "Update market data"."""
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
        view.fields[path] = view._field(path, tip)
        nf.addRow(label, view.fields[path])
        if path == "market.btc_price_usd":
            view.fields["market.difficulty"] = FieldEdit(
                view.doc, "market.difficulty", "Current difficulty (dimensionless); blank: derived from the "
                                          "hashrate below (D = H x 600 / 2^32)", optional=True)
            nf.addRow("Difficulty", view.fields["market.difficulty"])
            view.fields["market.network_hashrate_ehs"] = FieldEdit(
                view.doc, "market.network_hashrate_ehs", "Network hashrate online now, EH/s (e.g. a 7-day average); "
                                                    "blank: what the difficulty implies (H = D x 2^32 / 600). "
                                                    "Below that level, blocks run slow until the next "
                                                    "retarget.", optional=True)
            nf.addRow("Hashrate online (EH/s)", view.fields["market.network_hashrate_ehs"])
    view.network_model = QComboBox()
    for key, (label, tip) in NETWORK_MODELS.items():
        view.network_model.addItem(label, key)
        view.network_model.setItemData(view.network_model.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
    view.network_model.setToolTip(NETWORK_MODEL_TIP)
    view.network_model.activated.connect(lambda i: view.set_network_model(view.network_model.itemData(i)))
    nf.addRow("Network model", view.network_model)
    view.update_market_btn = QPushButton("Update market data")
    view.update_market_btn.setToolTip(
        "Fetch the BTC price, difficulty, block height and fees per block from mempool.space (setting "
        "market/api_url) in the background. Offline, the last fetch (cache) or the snapshot shipped with "
        "MinerPlan is used instead. The values replace the four above as one undoable edit; growth "
        "assumptions stay.")
    view.update_market_btn.clicked.connect(lambda: view.update_market_data())
    view.market_label = QLabel("")
    view.market_label.setTextFormat(Qt.TextFormat.PlainText)   # text from a server is never HTML
    view.market_label.setWordWrap(True)
    view.market_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    view.market_label.setStyleSheet("color: #5f6368;")
    nf.addRow(view.update_market_btn)
    nf.addRow(view.market_label)          # full width: a wrapped label beside a button gets clipped

    return net_box
