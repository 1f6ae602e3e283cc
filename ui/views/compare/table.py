"""The Compare view's KPI table: rows are KPIs with units, columns the scenarios, then their differences.

Each difference column is one scenario minus the baseline (:attr:`KpiTableModel.baseline`), and says so in
its header: ``Δ Current − Before plan`` is the applied plan minus the scenario before it. The baseline is
the current document until a plan is applied (then the scenario before the plan) or the user picks one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from minerplan.analysis.vocabulary import NPV_ON_PATH, ON_PATH
from minerplan.engine.evaluate import EngineResult
from minerplan.scenario.dotted import get_path
from minerplan.scenario.model import Scenario

#: (summary key, label, unit, scale for display, format of a value, format of a difference)
KPIS: list[tuple[str, str, str, float, str, str]] = [
    ("npv_usd", NPV_ON_PATH, "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("terminal_value_pv_usd", "of which terminal value (present value)", "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
    ("incremental.npv_usd", f"Plan vs status quo: NPV added, {ON_PATH}", "USD", 1.0, "{:,.0f}", "{:+,.0f}"),
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
TIPS = {"npv_usd": f"net present value incl. terminal value, {ON_PATH} (one path: not a Monte Carlo mean or "
                   "median); each cash-flow class at its own discount rate",
        "terminal_value_pv_usd": "what the value past the horizon adds to NPV today",
        "incremental.npv_usd": "NPV minus the same scenario without its conversions, purchases and retirements "
                               f"inside the horizon, {ON_PATH}",
        "incremental.irr": "annual IRR of the plan's own extra cash flows (against the status quo)",
        "irr": "internal rate of return of the company's cash flows, annual; n/a when they do not start with an "
               "outlay",
        "payback_months": "months until cumulative net cash (without terminal value) turns positive; n/a without an "
                          "initial outlay",
        "btc_mined": "net of pool fee, over the horizon",
        "hashprice_usd_per_ph_day": "USD per PH/s per day, first month"}
#: KPIs where more is better (a positive difference in green); for the others (costs, payback) less is.
HIGHER_IS_BETTER = ("npv_usd", "irr", "btc_mined", "hashprice_usd_per_ph_day", "terminal_value_pv_usd",
                    "incremental.npv_usd", "incremental.irr")


@dataclass
class Entry:
    label: str
    source: str                         # "current document", "snapshot at 14:02:11", or the file path
    scenario: Scenario
    live: bool = False                  # the current document (follows every edit)
    result: EngineResult | None = None
    summary: dict | None = None
    preset: str | None = None           # the run-time preset it was evaluated with
    before_plan: bool = False           # the scenario just before an optimizer plan was applied


def _value(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class KpiTableModel(QAbstractTableModel):
    """Rows: KPIs (with units). Columns: the scenarios, then "Δ X − baseline" for each other scenario.

    DisplayRole is formatted text in the row's unit; UserRole is the raw number (the summary's
    unit: USD, IRR as a fraction, months, BTC, USD/BTC, USD/PH/day), None when undefined.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[Entry] = []
        self.baseline = 0                   # index of the entry every difference is taken against

    def set_entries(self, entries: list[Entry], baseline: int = 0) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.baseline = baseline if 0 <= baseline < len(self.entries) else 0
        self.endResetModel()

    # ---- shape ----
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or not self.entries else len(KPIS)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or not self.entries:
            return 0
        return len(self.entries) + max(len(self.entries) - 1, 0)

    def is_difference(self, column: int) -> bool:
        return column >= len(self.entries)

    def others(self) -> list[int]:
        """The entries with a difference column, in order: all but the baseline."""
        return [i for i in range(len(self.entries)) if i != self.baseline]

    def _entry_of(self, column: int) -> Entry:
        n = len(self.entries)
        return self.entries[column if column < n else self.others()[column - n]]

    # ---- values ----
    def raw(self, row: int, column: int) -> float | None:
        key = KPIS[row][0]
        v = _value(get_path(self._entry_of(column).summary, key))
        if not self.is_difference(column):
            return v
        v0 = _value(get_path(self.entries[self.baseline].summary, key))
        return None if v is None or v0 is None else v - v0

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Vertical:
            if 0 <= section < len(KPIS):
                key, label, unit, *_ = KPIS[section]
                if role == Qt.ItemDataRole.DisplayRole:
                    return f"{label} ({unit})"
                if role == Qt.ItemDataRole.ToolTipRole:
                    return TIPS.get(key)
            return None
        if not (0 <= section < self.columnCount()):
            return None
        e, base = self._entry_of(section), self.entries[self.baseline]
        if role == Qt.ItemDataRole.DisplayRole:
            if self.is_difference(section):
                return f"Δ {e.label} − {base.label}"
            return e.label
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.is_difference(section):
                what = (" (the applied plan minus the scenario before it)" if e.live and base.before_plan else "")
                return (f"{e.label} minus {base.label}{what}, in each row's unit (IRR in percentage points): "
                        f"positive means {e.label} is higher")
            return f"{e.scenario.name}\n{e.source}" + ("\nthe baseline of the differences" if section == self.baseline
                                                       and len(self.entries) > 1 else "")
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
            base = self.entries[self.baseline].label
            return f"{label}, {unit}" + (f" (difference: this scenario minus {base})" if diff else "")
        if role == Qt.ItemDataRole.ForegroundRole and diff and v:
            good = v > 0 if key in HIGHER_IS_BETTER else v < 0
            return QColor("#2e7d32" if good else "#c00000")
        return None
