"""Optimizer: settings with units, a background run with progress and cancel, the plan, frontier and shadow prices.

The solve (``solvers.optimize.optimize``) and the frontier (``efficient_frontier``)
always run in a :class:`~ui.workers.Task`, never on the GUI thread. A finished run
fills the results panel: a plain-language recommendation, a KPI line, MW by use
per site, capex by month, the decision tables and the shadow prices; "Apply plan
to scenario" writes the plan into the document as one undoable edit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import (QAbstractTableModel, QCoreApplication, QEventLoop, QModelIndex, QSortFilterProxyModel, Qt,
                            Signal)
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QScrollArea,
                               QSpinBox, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario
from solvers.confidence import OUT_OF_SAMPLE_PATHS, REPLICATIONS, PlanConfidence, assess_plan
from solvers.confidence import describe as describe_confidence
from solvers.decisions.build import build_decision_space
from solvers.decisions.space import DecisionSpace
from solvers.frontier import efficient_frontier
from solvers.optimize import optimize
from solvers.plan import plan_scenario
from solvers.result import OptimizationResult, check_plan
from solvers.tables import allocation_table as _allocation, decision_tables as _decision_tables, moves_table as _moves_table
from solvers.report import check_failure, idle_capacity, plan_label, plan_quality, recommendation
from solvers.settings import OptimizerSettings

from ..charts import Chart, color, month_ts
from ..document import ScenarioDocument
from ..workers import Task, show_progress

FRONTIER_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
ALL_SITES = "All sites"
_EMPTY = "-"


# ---------------------------------------------------------------- formatting
def usd_m(x) -> str:
    """USD as millions with one decimal, e.g. ``$266.0M``; ``n/a`` for missing values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{'-' if x < 0 else ''}${abs(x) / 1e6:,.1f}M"


def parse_usd(text: str) -> float | None:
    """A USD amount typed by a person: ``50e6``, ``50,000,000``, ``$50M``, ``1.2B``; blank -> None.

    Raises ValueError with a readable message on anything else.
    """
    t = text.strip().replace(",", "").replace("_", "").replace("$", "").replace(" ", "")
    if not t:
        return None
    scale = 1.0
    suffixes = {"k": 1e3, "m": 1e6, "b": 1e9}
    if t[-1].lower() in suffixes:
        scale, t = suffixes[t[-1].lower()], t[:-1]
    try:
        v = float(t) * scale
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not an amount in USD (e.g. 50000000, 50e6 or 50M)") from None
    if not math.isfinite(v):
        raise ValueError(f"{text.strip()!r} is not a finite amount")
    return v


def parse_optional_float(text: str, what: str) -> float | None:
    t = text.strip().replace(",", "")
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{what}: {text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: {text.strip()!r} is not a finite number")
    return v


# ---------------------------------------------------------------- table models
@dataclass(frozen=True)
class Column:
    key: str
    header: str                 # with its unit
    kind: str = "text"          # text | usd | usd_m | mw | units | month | bool | num
    tip: str = ""


def _fmt(kind: str, v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if kind == "usd":
        return f"{float(v):,.2f}"
    if kind == "usd_m":
        return f"{float(v) / 1e6:,.2f}"
    if kind == "mw":
        return f"{float(v):,.1f}"
    if kind == "units":
        return f"{float(v):,.0f}"
    if kind == "num":
        return f"{float(v):,.4g}"
    if kind == "bool":
        return "yes" if bool(v) else "no"
    return str(v)


class FrameModel(QAbstractTableModel):
    """A read-only table over a pandas DataFrame, with headers that carry units.

    ``Qt.UserRole`` gives the raw value (for sorting); numbers are right-aligned.
    """

    COLUMNS: tuple[Column, ...] = ()

    def __init__(self, columns: tuple[Column, ...] | None = None, parent=None):
        super().__init__(parent)
        self.columns = tuple(columns) if columns is not None else self.COLUMNS
        self._rows: list[tuple] = []

    def set_frame(self, df: pd.DataFrame | None) -> None:
        self.beginResetModel()
        if df is None or len(df) == 0:
            self._rows = []
        else:
            cols = [df[c.key].tolist() if c.key in df.columns else [None] * len(df) for c in self.columns]
            self._rows = [tuple(self._convert(r) for r in row) for row in zip(*cols)]
        self.endResetModel()

    @staticmethod
    def _convert(v):
        if isinstance(v, (np.floating,)):
            return float(v)
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) \
                or not (0 <= index.column() < len(self.columns)):
            return None
        col = self.columns[index.column()]
        v = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(col, v)
        if role == Qt.ItemDataRole.UserRole:
            if v is None or isinstance(v, (str, int, float, bool)):
                return v
            return str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col.kind in ("usd", "usd_m", "mw", "units", "num"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tip or None
        return None

    def display(self, col: Column, v) -> str:
        return _fmt(col.kind, v)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if not (0 <= section < len(self.columns)):
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                return self.columns[section].header
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.columns[section].tip or None
            return None
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._rows):
            return str(section + 1)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def raw(self, row: int, key: str):
        return self._rows[row][[c.key for c in self.columns].index(key)]


SHADOW_KINDS = {"site_capacity": "one more MW at a site, every month",
                "capex_budget": "one more budget dollar in a calendar year",
                "site_capacity_month": "one more MW at a site in one month"}


class ShadowPriceModel(FrameModel):
    """Shadow prices: what relaxing a limit by one unit is worth (USD of expected NPV)."""

    COLUMNS = (Column("kind", "Limit relaxed", tip="Which limit gets one more unit"),
               Column("name", "Site / year / month", tip="The site, calendar year or site-month of the limit"),
               Column("value_usd", "Value (USD)", "usd", tip="Gain in the objective (USD) for one more unit"),
               Column("unit", "Per (unit)", tip="The unit the value is per"))

    def display(self, col: Column, v) -> str:
        if col.key == "kind":
            return SHADOW_KINDS.get(v, str(v))
        return super().display(col, v)


CONVERSION_COLUMNS = (
    Column("site", "Site"), Column("start_month", "Start (month)"), Column("ready_month", "Ready (month)"),
    Column("critical_mw", "Critical IT (MW)", "mw"), Column("gross_mw", "Gross (MW)", "mw"),
    Column("capex_usd", "Capex (USD M)", "usd_m"), Column("business_model", "Business model"),
    Column("committed", "Signed (yes/no)", "bool", tip="yes: a commitment from the scenario's conversion plan"))
PURCHASE_COLUMNS = (
    Column("site", "Site"), Column("month", "Delivery (month)"), Column("model", "ASIC model"),
    Column("units", "Units (machines)", "units"), Column("mw", "Power (MW)", "mw"),
    Column("capex_usd", "Capex (USD M)", "usd_m"))
RETIREMENT_COLUMNS = (
    Column("site", "Site"), Column("cohort", "Fleet row (index)", "text"), Column("model", "ASIC model"),
    Column("month", "Retire (month)"), Column("units", "Units (machines)", "units"), Column("mw", "Power (MW)", "mw"),
    Column("salvage_usd", "Salvage (USD M)", "usd_m"))
MOVE_COLUMNS = (
    Column("from_site", "From site"), Column("to_site", "To site"), Column("model", "ASIC model"),
    Column("month", "Leave (month)"), Column("arrive_month", "Arrive (month)"),
    Column("units", "Units (machines)", "units"), Column("mw", "Power at destination (MW)", "mw"),
    Column("cost_usd", "Move cost (USD)", "usd", tip="Packing, freight and re-racking; the machines keep their "
                                                    "book value"))
IDLE_COLUMNS = (
    Column("site", "Site"), Column("from_month", "From (month)"), Column("to_month", "To (month)"),
    Column("idle_mw", "Idle (MW, gross)", "mw", tip="Mean over the months: capacity neither mining nor AI/HPC"),
    Column("reason", "Why idle", tip="What emptied the MW and why the plan does not fill them"))


class IdleModel(FrameModel):
    """Idle capacity (solvers.report.idle_capacity): a reason's tooltip is the whole reason."""

    COLUMNS = IDLE_COLUMNS

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.ToolTipRole and index.isValid() and 0 <= index.row() < len(self._rows)
                and 0 <= index.column() < len(self.columns) and self.columns[index.column()].key == "reason"):
            return self.display(self.columns[index.column()], self._rows[index.row()][index.column()]) or None
        return super().data(index, role)


# ---------------------------------------------------------------- work run in the background
@dataclass
class RunOutput:
    """What a background optimizer run hands back to the GUI thread."""

    result: OptimizationResult
    source: Scenario                    # the scenario it was computed from
    capex_months: list[str]
    capex_usd: np.ndarray | None        # capex per month (USD), from the engine on plan_scenario
    origin: str = "run"                 # run | frontier


@dataclass
class FrontierOutput:
    table: pd.DataFrame
    space: DecisionSpace
    source: Scenario
    settings: OptimizerSettings


def capex_by_month(plan: Scenario) -> tuple[list[str], np.ndarray]:
    """Capex per month (USD: AI/HPC conversions spread over lead time, ASIC purchases), exact from the engine."""
    res = run_engine(plan)
    return list(res.months), np.asarray(res.capex_usd, float).sum(axis=1)


def _run_work(sc: Scenario, st: OptimizerSettings):
    def work(progress, cancel) -> RunOutput:
        res = optimize(sc, st, progress=lambda f, s: progress(0.97 * f, s), cancel=cancel)
        months, capex = ([], None)
        if res.ok:
            progress(0.98, "capex schedule from the engine")
            months, capex = capex_by_month(res.plan_scenario)
        return RunOutput(res, sc, months, capex)
    return work


def _frontier_work(sc: Scenario, st: OptimizerSettings, weights):
    from minerplan.engine.evaluate import Cancelled

    def work(progress, cancel) -> FrontierOutput:
        def prep(f, s):
            if cancel():
                raise Cancelled(s)
            progress(0.15 * f, s)
        progress(0.0, "preparing decisions")
        space = build_decision_space(sc, st, progress=prep)
        progress(0.15, "tracing the frontier (one solve per risk weight)")
        table = efficient_frontier(sc, st, weights, progress=lambda f, s: progress(0.15 + 0.85 * f, s),
                                   cancel=cancel)
        return FrontierOutput(table, space, sc, st)
    return work


def frontier_result(out: FrontierOutput, k: int) -> OptimizationResult:
    """The plan of frontier row ``k`` as an OptimizationResult (no duals: shadow prices need a full run)."""
    row = out.table.iloc[k]
    x = np.asarray(row["plan_x"], float)
    st = out.settings
    from dataclasses import replace
    st_k = replace(st, risk_aversion=float(row["risk_aversion"]))
    conv, buys, rets = _decision_tables(out.space, x)
    exp_npv, cvar = float(row["expected_npv_usd"]), float(row["cvar_usd"])
    gap, bound = _optional(row, "mip_gap"), _optional(row, "bound_usd")
    npv = row["npv_by_path_usd"] if "npv_by_path_usd" in row.index else None
    res = OptimizationResult(
        status=str(row["status"]), objective_usd=exp_npv - st_k.risk_aversion * cvar, expected_npv_usd=exp_npv,
        cvar_usd=cvar, mip_gap=gap, npv_by_path_usd=None if npv is None else np.asarray(npv, float),
        allocation=_allocation(out.space, x), conversions=conv, purchases=buys, retirements=rets,
        moves=_moves_table(out.space, x), shadow_prices=pd.DataFrame(columns=["kind", "name", "value_usd", "unit"]),
        plan_scenario=plan_scenario(out.space, x), settings=st_k, notes=list(out.space.notes),
        bound_usd=bound, solver_status=str(row["status"]))
    return res


def _scrolling_text() -> tuple[QLabel, QScrollArea]:
    """A selectable plain-text label, top-left aligned, in a scroll area (recommendation, confidence)."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(label)
    return label, scroll


def _optional(row, key: str) -> float | None:
    """A number from a frontier row, None when the row has none (missing or NaN)."""
    v = row[key] if key in row.index else None
    return None if v is None or not math.isfinite(float(v)) else float(v)


# ---------------------------------------------------------------- the view
class OptimizeView(QWidget):
    """Settings, Run/Cancel with progress, and the recommended plan with its charts and tables."""

    result_shown = Signal(object)       # the OptimizationResult now in the results panel
    state_changed = Signal(str)

    def __init__(self, doc: ScenarioDocument, evaluation=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.result: OptimizationResult | None = None
        self.output: RunOutput | None = None
        self.frontier: FrontierOutput | None = None
        self.state = "idle"                 # idle | running | done | no_plan | cancelled | failed
        self._task: Task | None = None
        self._task_kind = ""
        self._cancel_requested = False
        self._error_box: QMessageBox | None = None
        self._presentation = False
        self._frontier_scatter: pg.ScatterPlotItem | None = None
        self._selected_point: int | None = None

        self._build_form()
        self._build_results()
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QScrollArea()
        left.setWidgetResizable(True)
        left.setWidget(self.form_box)
        split.addWidget(left)
        split.addWidget(self.results_box)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 1000])
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        doc.changed.connect(self._on_doc_changed)
        if evaluation is not None and hasattr(evaluation, "updated"):
            evaluation.updated.connect(lambda *_: self._refresh_preset())
        app = QCoreApplication.instance()
        if app is not None:     # never leave a solver thread running when the application quits
            app.aboutToQuit.connect(self.shutdown)
        self._set_state("idle", "Set the options and press Run.")

    # ------------------------------------------------------------ form
    def _build_form(self) -> None:
        box = QGroupBox("Optimizer settings")
        form = QFormLayout(box)
        d = OptimizerSettings()
        mc = getattr(self.evaluation, "mc", None)

        def spin(lo, hi, val, suffix, tip, decimals=None, step=None):
            w = QDoubleSpinBox() if decimals is not None else QSpinBox()
            if decimals is not None:
                w.setDecimals(decimals)
            w.setRange(lo, hi)
            w.setValue(val)
            if step is not None:
                w.setSingleStep(step)
            if suffix:
                w.setSuffix(suffix)
            w.setToolTip(tip)
            if isinstance(w, QDoubleSpinBox):
                w.setGroupSeparatorShown(True)
            return w

        def line(text, placeholder, tip):
            w = QLineEdit(text)
            w.setPlaceholderText(placeholder)
            w.setToolTip(tip)
            return w

        self.paths = spin(1, 100_000, d.n_paths, " paths",
                          "Monte Carlo BTC price paths the plan must do well on (more: slower, steadier)")
        self.seed = spin(0, 2_000_000_000, getattr(mc, "seed", d.seed), "",
                         "Random seed of the price paths (same seed, same paths, same plan)")
        self.risk = spin(0.0, 100.0, d.risk_aversion, " x CVaR",
                         "Weight on the CVaR of the NPV loss in the objective (USD per USD); 0 = risk-neutral",
                         decimals=2, step=0.25)
        self.cvar = spin(50.0, 99.9, d.cvar_level * 100.0, " %",
                         "Tail level: CVaR averages the loss over the worst (100 - level) % of price paths",
                         decimals=1, step=1.0)
        self.hall = spin(0.0, 1000.0, d.hall_critical_mw or 0.0, " MW critical",
                         "Conversions in whole halls of this critical IT size (a MIP); 0 = any size (an LP, faster)",
                         decimals=1, step=5.0)
        self.hall.setSpecialValueText("0 = continuous (LP)")
        self.budget = line("", "blank = no budget",
                           "Capex budget per calendar year in USD, all capex including signed commitments "
                           "(e.g. 150000000, 150e6 or 150M); blank = no budget")
        self.crews = line("", "blank = no cap",
                          "Most gross MW that may start conversion in one month (construction crews); blank = no cap")
        self.start_cash = line("", "blank = the scenario's",
                               "Cash on hand at the start, USD; blank = the scenario's finance.starting_cash_usd")
        self.floor = line("", "blank = the scenario's",
                          "Cash may not fall below this (USD), on expected cash and on a low-price path; blank = "
                          "the scenario's floor (0) when the scenario states its starting cash, else none")
        self.credit = line("", "blank = the scenario's",
                           "A revolving credit line (USD) that may cover a shortfall below the cash floor; "
                           "blank = the scenario's finance.credit_line_usd")
        self.purchases = QCheckBox("Allow ASIC purchases")
        self.purchases.setChecked(d.allow_purchases)
        self.purchases.setToolTip(f"Let the optimizer buy {', '.join(d.purchase_models)} (catalog price, "
                                  f"{d.purchase_lead_time_months}-month lead time)")
        self.retirements = QCheckBox("Allow retirements")
        self.retirements.setChecked(d.allow_retirements)
        self.retirements.setToolTip("Let the optimizer retire old cohorts at their salvage value (USD per machine)")
        self.time_limit = spin(1.0, 86_400.0, d.time_limit_s, " s",
                               "Wall-clock limit for HiGHS, seconds; a MIP returns its best plan so far",
                               decimals=0, step=10.0)
        self.gap = spin(0.0, 50.0, d.mip_gap * 100.0, " %",
                        "Stop the MIP when its plan is within this % of the best possible objective",
                        decimals=2, step=0.1)
        self.preset_label = QLabel("")
        self._refresh_preset()
        self.preset_label.setToolTip("Price story of the paths (from the app's Monte Carlo settings)")

        form.addRow("Price paths (count)", self.paths)
        form.addRow("Seed (integer)", self.seed)
        form.addRow("Price story", self.preset_label)
        form.addRow("Risk aversion (weight on CVaR)", self.risk)
        form.addRow("CVaR level (%)", self.cvar)
        form.addRow("Hall size (MW critical)", self.hall)
        form.addRow("Capex budget (USD/year)", self.budget)
        form.addRow("Max converted (MW/month)", self.crews)
        form.addRow("Starting cash (USD)", self.start_cash)
        form.addRow("Cash floor (USD)", self.floor)
        form.addRow("Credit line (USD)", self.credit)
        form.addRow("", self.purchases)
        form.addRow("", self.retirements)
        form.addRow("Time limit (s)", self.time_limit)
        form.addRow("MIP gap (%)", self.gap)
        for w in (self.budget, self.crews, self.start_cash, self.floor, self.credit):
            w.textChanged.connect(self._clear_form_error)

        self.form_error = QLabel("")
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet("color: #a50021;")
        form.addRow(self.form_error)

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Solve for the best plan in the background (the app stays usable)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running optimization or frontier")
        self.cancel_button.clicked.connect(self.cancel)
        self.frontier_button = QPushButton("Trace frontier")
        self.frontier_button.setToolTip("Solve for risk weights " + ", ".join(f"{w:g}" for w in FRONTIER_WEIGHTS)
                                        + " and plot expected NPV against CVaR; click a point to load its plan")
        self.frontier_button.clicked.connect(self.trace_frontier)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.frontier_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        form.addRow(self.progress)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #5f6368;")
        form.addRow(self.status_label)
        self.form_box = box

    def _refresh_preset(self) -> None:
        preset = getattr(getattr(self.evaluation, "mc", None), "preset", None)
        self.preset_label.setText(preset or "scenario price path")

    def _clear_form_error(self) -> None:
        self.form_error.setText("")

    def settings(self) -> OptimizerSettings:
        """The settings in the form; raises ValueError/ScenarioError naming a bad field."""
        hall = self.hall.value()
        mc = getattr(self.evaluation, "mc", None)
        self._refresh_preset()
        start_cash = self._field(parse_usd, self.start_cash, "Starting cash")
        credit = self._field(parse_usd, self.credit, "Credit line")
        st = OptimizerSettings(
            n_paths=int(self.paths.value()), seed=int(self.seed.value()), preset=getattr(mc, "preset", None),
            risk_aversion=float(self.risk.value()), cvar_level=float(self.cvar.value()) / 100.0,
            hall_critical_mw=float(hall) if hall > 0 else None,
            capex_budget_usd_per_year=self._field(parse_usd, self.budget, "Capex budget"),
            max_conversion_mw_per_month=self._field(lambda t: parse_optional_float(t, "Max converted"), self.crews,
                                                    "Max converted"),
            allow_purchases=self.purchases.isChecked(), allow_retirements=self.retirements.isChecked(),
            starting_cash_usd=start_cash,
            min_cash_usd=self._field(parse_usd, self.floor, "Cash floor"),
            credit_line_usd=credit,
            time_limit_s=float(self.time_limit.value()), mip_gap=float(self.gap.value()) / 100.0)
        st.check()
        return st

    @staticmethod
    def _field(parse, w: QLineEdit, what: str):
        try:
            return parse(w.text())
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if msg.startswith(what) else f"{what}: {msg}") from None

    # ------------------------------------------------------------ results panel
    def _build_results(self) -> None:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.kpi_label = QLabel(_EMPTY)
        self.kpi_label.setWordWrap(True)
        self.kpi_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recommendation_label, rec_scroll = _scrolling_text()
        rec_scroll.setMinimumHeight(90)
        self.stale_label = QLabel("")
        self.stale_label.setWordWrap(True)
        self.stale_label.setStyleSheet("color: #bf9000;")
        self.apply_button = QPushButton("Apply plan to scenario")
        self.apply_button.setToolTip("Write the plan (conversions, purchases, retirements) into the scenario; "
                                     "Undo restores the scenario as it was")
        self.apply_button.clicked.connect(self.apply_plan)
        self.apply_button.setEnabled(False)
        self.export_plan_button = QPushButton("Export plan to Excel…")
        self.export_plan_button.setToolTip("Write the planned scenario as a live Excel workbook, with the optimizer's "
                                           "decisions as inputs on its Plan sheet (runs in the background)")
        self.export_plan_button.clicked.connect(lambda _=False: self.export_plan())
        self.export_plan_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.kpi_label, 1)
        top.addWidget(self.export_plan_button)
        top.addWidget(self.apply_button)
        self._set_label_fonts()

        self.site_combo = QComboBox()
        self.site_combo.setToolTip("The site whose MW by use is shown (All sites: the sum)")
        self.site_combo.currentIndexChanged.connect(self._draw_allocation)
        self.allocation_chart = Chart("Capacity by use", "MW (gross)")
        self.capex_chart = Chart("Capex by month (AI/HPC conversions and ASIC purchases)", "USD million per month")
        self.frontier_chart = Chart("Efficient frontier (click a point to load its plan)", "Expected NPV (USD million)",
                                    dates=False)
        self.frontier_chart.item.setLabel("bottom", "CVaR of NPV loss (USD million)")
        alloc_box = QWidget()
        al = QVBoxLayout(alloc_box)
        al.setContentsMargins(0, 0, 0, 0)
        sel = QHBoxLayout()
        sel.addWidget(QLabel("Site:"))
        sel.addWidget(self.site_combo)
        sel.addStretch(1)
        al.addLayout(sel)
        # Under the chart: where MW stand idle and why (solvers.idle), for the site chosen above.
        self.idle_model = IdleModel(parent=self)
        self.idle_frame: pd.DataFrame | None = None
        self.idle_table = QTableView()
        self.idle_table.setModel(self.idle_model)
        self.idle_table.setAlternatingRowColors(True)
        head = self.idle_table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(len(IDLE_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)   # reasons wrap
        self.idle_table.setWordWrap(True)
        self.idle_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.idle_table.verticalHeader().setVisible(False)
        alloc_split = QSplitter(Qt.Orientation.Vertical)
        alloc_split.addWidget(self.allocation_chart)
        alloc_split.addWidget(self.idle_table)
        alloc_split.setSizes([300, 110])
        al.addWidget(alloc_split, 1)
        charts = QTabWidget()
        charts.addTab(alloc_box, "MW by use")
        charts.addTab(self.capex_chart, "Capex schedule")
        charts.addTab(self.frontier_chart, "Efficient frontier")
        self.chart_tabs = charts

        self.shadow_model = ShadowPriceModel(parent=self)
        self.shadow_proxy = QSortFilterProxyModel(self)
        self.shadow_proxy.setSourceModel(self.shadow_model)
        self.shadow_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.conversion_model = FrameModel(CONVERSION_COLUMNS, self)
        self.purchase_model = FrameModel(PURCHASE_COLUMNS, self)
        self.retirement_model = FrameModel(RETIREMENT_COLUMNS, self)
        self.move_model = FrameModel(MOVE_COLUMNS, self)
        tables = QTabWidget()
        self.tables: dict[str, QTableView] = {}
        for key, title, model in (("shadow", "Shadow prices", self.shadow_proxy),
                                  ("conversions", "Conversions", self.conversion_model),
                                  ("purchases", "Purchases", self.purchase_model),
                                  ("retirements", "Retirements", self.retirement_model),
                                  ("moves", "Moves", self.move_model)):
            v = QTableView()
            v.setModel(model)
            v.setSortingEnabled(key == "shadow")
            v.setAlternatingRowColors(True)
            v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            v.horizontalHeader().setStretchLastSection(True)
            v.verticalHeader().setVisible(False)
            tables.addTab(v, title)
            self.tables[key] = v
        self.table_tabs = tables
        self._build_confidence(tables)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(rec_scroll)
        split.addWidget(charts)
        split.addWidget(tables)
        split.setSizes([160, 420, 220])
        lay.addLayout(top)
        lay.addWidget(self.stale_label)
        lay.addWidget(split, 1)
        self.results_box = box

    def _build_confidence(self, tables: QTabWidget) -> None:
        """The "How far to trust it" tab: after each plan, the plan on fresh paths, the sampling gap and
        the decisions' stability (solvers.confidence), computed in the background; Stop ends it."""
        box = QWidget()
        lay = QVBoxLayout(box)
        head = QHBoxLayout()
        self.confidence_status = QLabel(f"Runs after each plan: the plan on {OUT_OF_SAMPLE_PATHS:,} fresh price "
                                        f"paths and {REPLICATIONS} re-solves on fresh samples.")
        self.confidence_status.setWordWrap(True)
        self.confidence_stop = QPushButton("Stop")
        self.confidence_stop.setToolTip("Stop the confidence check (the plan itself is not affected)")
        self.confidence_stop.clicked.connect(self.cancel_confidence)
        self.confidence_stop.setEnabled(False)
        head.addWidget(self.confidence_status, 1)
        head.addWidget(self.confidence_stop)
        self.confidence_label, scroll = _scrolling_text()
        lay.addLayout(head)
        lay.addWidget(scroll, 1)
        tables.addTab(box, "How far to trust it")
        self.confidence: PlanConfidence | None = None
        self._conf_task: Task | None = None
        #: what the check runs (solvers.confidence's defaults; 0 and 0 turn it off)
        self.confidence_paths = OUT_OF_SAMPLE_PATHS
        self.confidence_replications = REPLICATIONS

    def start_confidence(self, out: RunOutput) -> None:
        """Assess ``out``'s plan in the background (cancels an assessment still running)."""
        self.cancel_confidence()
        res, source = out.result, out.source
        self.confidence = None
        self.confidence_label.setText("")
        paths, reps = self.confidence_paths, self.confidence_replications
        if not paths and not reps:
            self.confidence_status.setText("The confidence check is off.")
            return

        def work(progress, cancel):
            return assess_plan(source, res, res.settings, out_of_sample_paths=paths, replications=reps,
                               progress=progress, cancel=cancel)

        task = Task(work, self)
        task.progress.connect(lambda f, what: self.confidence_status.setText(
            f"Checking how far to trust this plan: {what} ({f * 100:.0f}%)"))
        task.finished.connect(lambda conf, res=res: self._on_confidence(res, conf))
        task.failed.connect(lambda msg: self._confidence_ended(
            f"The confidence check failed: {msg.strip().splitlines()[0] if msg.strip() else 'unknown error'}"))
        task.cancelled.connect(lambda: self._confidence_ended("Confidence check stopped."))
        self._conf_task = task
        self.confidence_stop.setEnabled(True)
        self.confidence_status.setText("Checking how far to trust this plan...")
        task.start()

    def _on_confidence(self, res: OptimizationResult, conf: PlanConfidence) -> None:
        if res is not self.result:         # a newer plan is shown: this assessment is of an old one
            self._confidence_ended("")
            return
        self.confidence = conf
        self._confidence_for = res
        self.confidence_label.setText("\n".join(f"- {line}" for line in describe_confidence(conf, res)))
        self._confidence_ended(f"Checked on {conf.out_of_sample_paths:,} fresh paths and {conf.replications} "
                               "re-solves.")

    def _confidence_ended(self, text: str) -> None:
        self.confidence_stop.setEnabled(False)
        if text:
            self.confidence_status.setText(text)

    def cancel_confidence(self) -> None:
        if self._conf_task is not None and self._conf_task.running:
            self._conf_task.cancel()

    @property
    def confidence_running(self) -> bool:
        return self._conf_task is not None and self._conf_task.running

    def charts(self) -> list[Chart]:
        return [self.allocation_chart, self.capex_chart, self.frontier_chart]

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        for c in self.charts():
            c.set_presentation(on)
        self._set_label_fonts()

    def _set_label_fonts(self) -> None:
        big = self._presentation
        res = self.result
        warn = None
        if res is not None:
            if res.status == "check_failed" or plan_quality(res) == "draft":
                warn = "#b3261e"
            elif plan_quality(res) == "not_proven":
                warn = "#8a6100"
        self.kpi_label.setStyleSheet(f"font-size: {20 if big else 14}px; font-weight: 600; "
                                     f"color: {warn or '#1f4e79'};")
        self.recommendation_label.setStyleSheet(f"font-size: {20 if big else 13}px;"
                                                + (f" color: {warn};" if warn else ""))

    # ------------------------------------------------------------ state
    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        running = state == "running"
        self.run_button.setEnabled(not running)
        self.frontier_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.status_label.setText(text)
        if not running:
            self.progress.setFormat({"idle": "", "done": "%p%  done", "no_plan": "no plan", "cancelled": "cancelled",
                                     "failed": "failed"}.get(state, ""))
        self.state_changed.emit(state)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def _start(self, kind: str, fn, on_finished) -> None:
        self._cancel_requested = False
        self._task_kind = kind
        task = Task(fn, self)
        task.progress.connect(self._on_progress)
        task.finished.connect(lambda out: self._on_task_finished(on_finished, out))
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        self._task = task
        self.progress.setValue(0)
        self.progress.setFormat("%p%  starting")
        self._set_state("running", "Optimizing..." if kind == "run" else "Tracing the efficient frontier...")
        task.start()

    def _on_progress(self, frac: float, text: str) -> None:
        if not self.running:
            return
        show_progress(self.progress, frac, text)
        self.status_label.setText(text)

    def _on_task_finished(self, handler, out) -> None:
        if self._cancel_requested:          # the user asked to stop: treat a late result as cancelled
            self._on_cancelled()
            return
        self.progress.setValue(1000)
        handler(out)

    def _on_cancelled(self) -> None:
        what = "Optimization" if self._task_kind == "run" else "Frontier"
        kept = " The results shown are from the previous run." if self.result is not None else ""
        self.progress.setValue(0)
        self._set_state("cancelled", f"{what} cancelled.{kept}")

    def _on_failed(self, message: str) -> None:
        first = message.strip().splitlines()[0] if message.strip() else "The optimizer failed"
        self.progress.setValue(0)
        self._set_state("failed", f"Failed: {first}")
        self._show_error(first, message)

    def _show_error(self, first: str, details: str) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Optimizer")
        box.setText(first)
        if details.strip() != first:
            box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self._error_box = box
        box.open()              # window-modal, never blocks the event loop

    # ------------------------------------------------------------ actions
    def run(self) -> None:
        """Start the optimizer on the document's scenario in a background task."""
        if self.running:
            return
        st = self._checked_settings()
        if st is None:
            self._set_state(self.state if self.state != "running" else "idle", "Fix the settings first.")
            return
        self.cancel_confidence()            # a new plan is coming: the old one's check is moot
        self._start("run", _run_work(self.doc.scenario, st), self._on_run_done)

    def _checked_settings(self) -> OptimizerSettings | None:
        """The form's settings, or None with the problem shown under the form."""
        try:
            st = self.settings()
        except (ValueError, ScenarioError) as e:
            self.form_error.setText(e.describe() if isinstance(e, ScenarioError) else str(e))
            return None
        self.form_error.setText("")
        return st

    def trace_frontier(self) -> None:
        """Solve for several risk weights in a background task and plot expected NPV against CVaR."""
        if self.running:
            return
        st = self._checked_settings()
        if st is None:
            return
        weights = tuple(sorted(set(FRONTIER_WEIGHTS) | {float(st.risk_aversion)}))
        self._start("frontier", _frontier_work(self.doc.scenario, st, weights), self._on_frontier_done)

    def cancel(self) -> None:
        if self._task is not None and self.running:
            self._cancel_requested = True
            self._task.cancel()
            self.status_label.setText("Cancelling...")
            self.progress.setFormat("%p%  cancelling")

    def apply_plan(self) -> None:
        """Replace the document's scenario with the plan (one undoable command)."""
        if self.result is None or not self.result.ok or self.result.plan_scenario is None:
            return
        self.doc.replace(self.result.plan_scenario, "Apply optimizer plan")

    def export_plan(self, path: str | None = None):
        """Export the plan shown to an Excel workbook in the background (see ui.excel_actions.export_plan)."""
        from ..excel_actions import export_plan
        return export_plan(self, path)

    def shutdown(self, ms: int = 30_000) -> None:
        """Cancel a running task and wait for its thread (call before the window closes)."""
        from ..excel_actions import shutdown_exports
        shutdown_exports(self, ms)          # a plan export started here
        self.cancel_confidence()
        conf = self._conf_task
        deadline = time.monotonic() + ms / 1000.0
        while conf is not None and conf.running and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            conf.wait(20)
        task = self._task
        if task is None or not task.running:
            return
        self._cancel_requested = True
        task.cancel()
        # Task's thread quits from a queued slot on this (GUI) thread, so a plain Task.wait() here would block
        # until its timeout: keep the event loop turning while the worker winds down.
        deadline = time.monotonic() + ms / 1000.0
        while task.running and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            task.wait(20)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------ results
    def _on_run_done(self, out: RunOutput) -> None:
        self.output = out
        self.show_result(out.result, out)
        res = out.result
        if res.ok:
            label = plan_label(res)
            took = f"in {res.timings_s.get('total_s', 0):.1f} s (HiGHS {res.timings_s.get('highs_s', 0):.1f} s)"
            self._set_state("done", f"Done {took}: {label}" if label else
                            f"Done: {res.status.replace('_', ' ')} {took}.")
            self.start_confidence(out)
        elif res.status == "check_failed" and res.check is not None:
            # An error, not a footnote: the plan and the engine disagree, so there is no plan to use.
            self._set_state("failed", "Engine check failed: the optimizer's value of its plan and the engine's "
                                      "disagree; the plan must not be used (details in the results).")
            self._show_error("The engine check of the optimizer's plan failed", check_failure(res))
        else:
            self._set_state("no_plan", recommendation(res)[0])

    def show_result(self, res: OptimizationResult, out: RunOutput | None = None) -> None:
        """Fill the results panel with ``res`` (a run's result or a frontier point's plan)."""
        self.result = res
        self.output = out
        if getattr(self, "_confidence_for", None) is not None and res is not self._confidence_for:
            self.confidence_label.setText("")
            self.confidence_status.setText("The check above was for another plan; run the optimizer to check "
                                           "this one.")
            self._confidence_for = None
        lines = recommendation(res)
        if not res.ok and not res.explanation:
            if res.status == "time_limit":
                lines.append("HiGHS found no plan within the time limit: raise the time limit (s) or the MIP gap (%), "
                             "or set the hall size to 0 for the faster LP.")
            elif res.status == "error":
                lines.append("HiGHS stopped without a plan; try fewer price paths or a hall size of 0 (LP).")
        text = "\n".join(f"- {s}" for s in lines)
        if res.notes:
            text += "\n\n" + "\n".join(f"Note: {n}" for n in res.notes)
        self.recommendation_label.setText(text)
        self._set_label_fonts()     # a draft's or a failed check's text in red, a time-limited plan's in amber
        self.kpi_label.setText(self._kpi_text(res, out))
        self.shadow_model.set_frame(res.shadow_prices)
        self.conversion_model.set_frame(res.conversions)
        self.purchase_model.set_frame(res.purchases)
        self.retirement_model.set_frame(res.retirements)
        if res.moves is not None:
            self.move_model.set_frame(res.moves)
        else:
            self.move_model.set_frame(pd.DataFrame(columns=[c.field for c in MOVE_COLUMNS]))
        for key, view in self.tables.items():
            view.resizeColumnsToContents()
        self._fill_sites(res)
        self.idle_frame = idle_capacity(res)
        self._draw_allocation()
        self._draw_capex(out)
        self._update_apply()
        self.result_shown.emit(res)

    def _kpi_text(self, res: OptimizationResult, out: RunOutput | None) -> str:
        st = res.settings
        tail = f"{(1 - st.cvar_level) * 100:g}%"
        if res.status == "check_failed" and res.check is not None:
            return (f"ENGINE CHECK FAILED (no plan to use): optimizer {usd_m(res.check.optimizer_npv_usd)}, engine "
                    f"{usd_m(res.check.engine_npv_usd)} expected NPV (USD)")
        if not res.ok:
            return f"Status: {res.status.replace('_', ' ')} (no plan)"
        quality = plan_quality(res)
        if res.mip_gap is None:
            gap = "unknown" if quality == "draft" else "n/a (frontier point)"
        else:
            gap = f"{res.mip_gap * 100:.2f} %"
        if res.bound_usd is not None and res.mip_gap is not None:
            gap += f" (best bound {usd_m(res.bound_usd)})"
        origin = "" if out is not None and out.origin == "run" else \
            f"   |   frontier point, risk weight {st.risk_aversion:g}"
        head = {"draft": "DRAFT, NOT a recommendation   |   ",
                "not_proven": "NOT proven optimal   |   "}.get(quality, "")
        return (f"{head}Expected NPV {usd_m(res.expected_npv_usd)} (USD)   |   CVaR of NPV loss, worst {tail} of paths "
                f"{usd_m(res.cvar_usd)} (USD)   |   MIP gap {gap}   |   status {res.status.replace('_', ' ')}"
                f"{origin}")

    def _fill_sites(self, res: OptimizationResult) -> None:
        keep = self.site_combo.currentText()
        sites = list(dict.fromkeys(res.allocation["site"].tolist())) if len(res.allocation) else []
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        if sites:
            self.site_combo.addItems([ALL_SITES] + sites)
            i = self.site_combo.findText(keep)
            self.site_combo.setCurrentIndex(i if i >= 0 else 0)
        self.site_combo.blockSignals(False)

    def allocation_series(self, site: str | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
        """Months and gross MW by use (mining, AI/HPC, idle) for ``site`` (None or All sites: the sum)."""
        res = self.result
        if res is None or len(res.allocation) == 0:
            return [], {}
        a = res.allocation
        if site and site != ALL_SITES:
            a = a[a["site"] == site]
        g = a.groupby("month", sort=True)[["mining_mw", "ai_mw", "idle_mw"]].sum()
        return list(g.index), {"Mining (MW)": g["mining_mw"].to_numpy(float),
                               "AI/HPC (MW)": g["ai_mw"].to_numpy(float),
                               "Idle (MW)": g["idle_mw"].to_numpy(float)}

    def _draw_allocation(self, *_) -> None:
        c = self.allocation_chart
        c.clear()
        site = self.site_combo.currentText() or ALL_SITES
        months, series = self.allocation_series(site)
        c.title.setText(f"Capacity by use: {site}" if months else "Capacity by use")
        if months:
            c.stacked(month_ts(months), series)
        self.idle_model.set_frame(self.idle_rows(site))

    def idle_rows(self, site: str | None = None) -> pd.DataFrame:
        """Where the plan shown leaves MW idle and why (``solvers.report.idle_capacity``): site, from/to
        month, idle MW (gross, mean over the months), reason; for ``site`` (None or All sites: every site)."""
        idle = self.idle_frame
        if idle is None or not len(idle) or not site or site == ALL_SITES:
            return idle
        return idle[idle["site"] == site]

    def _draw_capex(self, out: RunOutput | None) -> None:
        c = self.capex_chart
        c.clear()
        if out is None or out.capex_usd is None or not len(out.capex_months):
            return
        c.bars("Capex (USD million)", month_ts(out.capex_months), out.capex_usd / 1e6, 1)

    # ------------------------------------------------------------ frontier
    def _on_frontier_done(self, out: FrontierOutput) -> None:
        self.frontier = out
        self._selected_point = None
        self._draw_frontier()
        n_ok = int(self._frontier_valid().sum())
        self.chart_tabs.setCurrentWidget(self.frontier_chart)
        self._set_state("done", f"Frontier traced: {n_ok} of {len(out.table)} risk weights solved. "
                                "Click a point to load its plan.")

    def _frontier_valid(self) -> np.ndarray:
        t = self.frontier.table
        npv = pd.to_numeric(t["expected_npv_usd"], errors="coerce")
        return npv.notna().to_numpy() & t["status"].isin(["optimal", "time_limit"]).to_numpy()

    def _draw_frontier(self) -> None:
        c = self.frontier_chart
        c.clear()
        self._frontier_scatter = None
        if self.frontier is None:
            return
        t = self.frontier.table
        ok = self._frontier_valid()
        if not ok.any():
            return
        idx = np.flatnonzero(ok)
        x = t["cvar_usd"].to_numpy(float)[idx] / 1e6
        y = t["expected_npv_usd"].to_numpy(float)[idx] / 1e6
        order = np.argsort(x, kind="stable")
        c.line("Frontier (USD million)", x[order], y[order], 0, width=1.5)
        brushes = [pg.mkBrush(color(1 if int(k) == self._selected_point else 0)) for k in idx]
        sizes = [16 if int(k) == self._selected_point else 11 for k in idx]
        sc = pg.ScatterPlotItem(x=x, y=y, data=[int(k) for k in idx], size=sizes, brush=brushes,
                                pen=pg.mkPen("w", width=1.5), hoverable=True, hoverSize=15,
                                tip=lambda x, y, data: (f"risk weight {t['risk_aversion'].iloc[data]:g}\n"
                                                        f"CVaR {x:,.1f} USD M\nexpected NPV {y:,.1f} USD M"))
        sc.sigClicked.connect(self._on_frontier_clicked)
        c.item.addItem(sc)
        groups: dict[tuple[float, float], list[str]] = {}     # coincident points share one label
        for xi, yi, k in zip(x, y, idx):
            groups.setdefault((round(float(xi), 3), round(float(yi), 3)), []).append(
                f"{t['risk_aversion'].iloc[k]:g}")
        for (xi, yi), ws in groups.items():
            label = pg.TextItem("w=" + ", ".join(ws), color="#5f6368", anchor=(0, 1))
            label.setPos(xi, yi)
            c.item.addItem(label)
        self._frontier_scatter = sc

    def frontier_points(self):
        """The clickable scatter points (for tests and keyboard access)."""
        return [] if self._frontier_scatter is None else list(self._frontier_scatter.points())

    def _on_frontier_clicked(self, _item, points, _ev=None) -> None:
        if points is None or len(points) == 0:
            return
        self.select_frontier_point(int(points[0].data()))

    def select_frontier_point(self, k: int) -> None:
        """Load the plan of frontier row ``k`` into the results panel (and its weight into the form)."""
        if self.frontier is None or self.running:
            return
        try:
            res = frontier_result(self.frontier, k)
            check_plan(res)          # the engine check, as for a plain run (the engine on the run's paths)
            months, capex = capex_by_month(res.plan_scenario)
        except Exception as e:  # noqa: BLE001 - shown to the user
            import traceback
            self._show_error(f"Could not load that plan: {type(e).__name__}: {e}", traceback.format_exc())
            return
        out = RunOutput(res, self.frontier.source, months, capex, origin="frontier")
        self._selected_point = k
        self.show_result(res, out)
        self.risk.setValue(res.settings.risk_aversion)
        self._draw_frontier()
        if res.status == "check_failed" and res.check is not None:
            self._set_state("failed", "Engine check failed for this frontier plan: it must not be used.")
            self._show_error("The engine check of the frontier plan failed", check_failure(res))
            return
        label = plan_label(res)
        self.status_label.setText(f"Loaded the frontier plan at risk weight {res.settings.risk_aversion:g}. "
                                  + (f"{label} " if label else "") + "Shadow prices need a full run: press Run.")

    # ------------------------------------------------------------ document
    def _on_doc_changed(self, sc: Scenario) -> None:
        self._update_apply()

    def _update_apply(self) -> None:
        res, out = self.result, self.output
        ok = res is not None and res.ok and res.plan_scenario is not None
        cur = self.doc.scenario
        applied = ok and cur is res.plan_scenario
        source = out.source if out is not None else None
        self.apply_button.setEnabled(ok and not applied and cur is source)
        self.export_plan_button.setEnabled(ok)
        if not ok:
            self.stale_label.setText("")
        elif applied:
            self.stale_label.setText("This plan is applied to the scenario (Edit > Undo reverts it).")
        elif cur is not source:
            self.stale_label.setText("The scenario changed after this run: press Run again for a plan that "
                                     "matches it.")
        else:
            self.stale_label.setText("")
