"""Fleet: an editable table of ASIC cohorts, adding machines from the catalog, hashrate and breakeven charts.

This module also holds the small table machinery the Sites and AI views share
(:class:`Column`, :class:`ScenarioTableModel`, :class:`CellDelegate`): a
``QAbstractTableModel`` over one list of the scenario (``fleet``, ``sites``,
``conversion_plan``) whose every edit goes through
:meth:`ScenarioDocument.edit_dict` as one undoable command. An edit the
scenario rejects is flagged in place: the typed text stays in the cell on a
light red background, with the rule that failed as the tooltip, and the
scenario is left as it was. The flag clears when the cell gets a valid value,
or on undo/redo and edits made elsewhere (the rows it pointed at may have moved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
                               QStyledItemDelegate, QTableView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from minerplan.scenario.catalog import CatalogModel, load_catalog
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.analysis.report import cohort_breakevens
from minerplan.scenario.model import Scenario

from ..lazy import when_shown
from ..charts import Chart

#: Background of a cell (or field) whose typed value the scenario rejected.
INVALID_BG = QColor("#f8d7da")
#: Background of computed, read-only cells.
READ_ONLY_BG = QColor("#f1f3f4")
INVALID_STYLE = "background-color: #f8d7da;"

_ALIGN_NUMBER = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ALIGN_CENTER = Qt.AlignmentFlag.AlignCenter


# --------------------------------------------------------------------------- values <-> text

def number_text(v: Any) -> str:
    """A number as a user would type it back (no thousands separators, no exponent for plain sizes)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def format_number(v: Any, decimals: int = 2) -> str:
    """Display text: thousands separators, ``decimals`` places (fewer when the value is whole)."""
    if v is None:
        return ""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "n/a"
    if x.is_integer() and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:,.{decimals}f}"


def parse_number(value: Any, *, integer: bool = False, optional: bool = False) -> float | int | None:
    """Text (or a number) typed by a user -> a number for the scenario.

    Accepts thousands separators, spaces, ``$`` and ``%``; raises ValueError with a
    readable reason. Whole numbers become ``int`` for integer fields; a fractional
    value is passed on as it is so the scenario rules report it.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value}")
    if isinstance(value, (int, float)):
        x = float(value)
    else:
        text = str(value).strip()
        for ch in (",", "_", " ", "$", "%", "\u00a0"):
            text = text.replace(ch, "")
        if not text:
            if optional:
                return None
            raise ValueError("a number is required")
        try:
            x = float(text)
        except ValueError:
            raise ValueError(f"{str(value).strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError("must be a finite number")
    if integer:
        return int(x) if x.is_integer() else x
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def error_text(err: ScenarioError, prefer: str | None = None) -> str:
    """The rule(s) an edit broke, one per line, the problem at ``prefer`` (a field path) first."""
    problems = list(err.problems)
    if prefer:
        problems.sort(key=lambda p: 0 if p.path == prefer else (1 if p.path.startswith(prefer) else 2))
    lines = [str(p) for p in problems[:8]]
    if len(problems) > 8:
        lines.append(f"... and {len(problems) - 8} more problems")
    return "\n".join(lines) or str(err)


def get_path(obj: Any, path: str) -> Any:
    """``get_path(site, "ai.colocation.term_months")``; None when a section on the way is missing."""
    for part in path.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part)
    return obj


def set_path(d: dict, path: str, value: Any) -> None:
    """Set a dotted key in a JSON dict, creating sections on the way; ``None`` removes the key."""
    parts = path.split(".")
    for part in parts[:-1]:
        d = d.setdefault(part, {})
    if value is None:
        d.pop(parts[-1], None)
    else:
        d[parts[-1]] = value


# --------------------------------------------------------------------------- generic table model

@dataclass
class Column:
    """One column of a :class:`ScenarioTableModel`.

    ``key`` is the dotted field path inside one row (``"count"``, ``"ai.lead_time_months"``);
    ``kind`` is ``float``, ``int``, ``text``, ``bool``, ``choice`` or ``computed`` (read-only).
    """

    key: str
    header: str
    kind: str = "float"
    decimals: int = 2
    tip: str = ""
    #: For ``choice`` columns: the allowed values for the current scenario.
    choices: Callable[[Scenario], list[str]] | None = None
    #: For ``choice`` columns: the label standing for ``None`` (the field left unset).
    none_label: str | None = None
    #: For ``computed`` columns: ``value(model, row) -> value`` (None: not available).
    value: Callable[["ScenarioTableModel", int], Any] | None = None
    #: Custom mutation ``apply(data, row, value)`` of the scenario's JSON dict.
    apply: Callable[[dict, int, Any], None] | None = None
    #: An empty cell means "remove this field" (None).
    optional: bool = False

    @property
    def editable(self) -> bool:
        return self.kind != "computed"

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int", "computed")


class ScenarioTableModel(QAbstractTableModel):
    """A table over ``scenario.<section>`` (one row per list entry) editing through the document."""

    section = ""
    columns: list[Column] = []

    def __init__(self, doc, evaluation=None, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._rows = list(getattr(doc.scenario, self.section))
        #: (row, column key) -> (typed text, rule that rejected it)
        self._flags: dict[tuple[int, str], tuple[str, str]] = {}
        self._own_edit = False
        doc.changed.connect(self._on_scenario)
        if evaluation is not None:
            evaluation.updated.connect(self._on_result)
            if evaluation.result is not None:
                self._on_result(evaluation.result, evaluation.summary)

    # ---- hooks for subclasses ----
    def cell_editable(self, row: int, col: Column) -> bool:
        return col.editable

    def cell_tip(self, row: int, col: Column) -> str | None:
        return col.tip or None

    def compute(self, result) -> None:
        """Recompute cached read-only columns from a new engine result."""

    def display(self, row: int, col: Column, value: Any) -> str:
        if col.kind == "choice" and value is None:
            return col.none_label or ""
        if col.kind in ("text", "choice"):
            return "" if value is None else str(value)
        return format_number(value, col.decimals)

    # ---- helpers ----
    def row_obj(self, row: int):
        return self._rows[row]

    def column_index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def field_path(self, row: int, col: Column) -> str:
        return f"{self.section}[{row}].{col.key}"

    def value(self, row: int, col: Column) -> Any:
        if col.value is not None:
            return col.value(self, row)
        return get_path(self._rows[row], col.key)

    def flag(self, row: int, key: str) -> str | None:
        """The rule a rejected value in this cell broke, or None when the cell is not flagged."""
        f = self._flags.get((row, key))
        return f[1] if f else None

    def flagged_cells(self) -> dict[tuple[int, str], tuple[str, str]]:
        return dict(self._flags)

    # ---- Qt model API ----
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self.columns):
                return None
            col = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.header
            if role == Qt.ItemDataRole.ToolTipRole:
                return col.tip or col.header
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(section)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        col = self.columns[index.column()]
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.cell_editable(index.row(), col):
            f |= Qt.ItemFlag.ItemIsUserCheckable if col.kind == "bool" else Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col = index.row(), self.columns[index.column()]
        flagged = self._flags.get((row, col.key))
        if role == Qt.ItemDataRole.DisplayRole:
            if flagged:
                return flagged[0]
            if col.kind == "bool":
                return "yes" if self.value(row, col) else "no"
            return self.display(row, col, self.value(row, col))
        if role == Qt.ItemDataRole.EditRole:
            if flagged:
                return flagged[0]
            v = self.value(row, col)
            if col.kind == "bool":
                return bool(v)
            if col.kind == "choice":
                return col.none_label if v is None and col.none_label else ("" if v is None else str(v))
            return number_text(v) if col.numeric else ("" if v is None else str(v))
        if role == Qt.ItemDataRole.CheckStateRole and col.kind == "bool":
            return Qt.CheckState.Checked if self.value(row, col) else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.BackgroundRole:
            if flagged:
                return INVALID_BG
            if not self.cell_editable(row, col):
                return READ_ONLY_BG
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if flagged:
                return flagged[1]
            return self.cell_tip(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN_NUMBER if col.numeric else None
        return None

    def parse(self, col: Column, value: Any) -> Any:
        if col.kind in ("float", "int"):
            return parse_number(value, integer=col.kind == "int", optional=col.optional)
        if col.kind == "bool":
            v = getattr(value, "value", value)
            if isinstance(v, str):
                return v.strip().lower() in ("1", "true", "yes", "on", "checked")
            return bool(v == 2 or v is True)
        text = "" if value is None else str(value).strip()
        if col.kind == "choice" and col.none_label is not None and text == col.none_label:
            return None
        if col.kind == "choice" and col.choices is not None and text not in col.choices(self.doc.scenario):
            raise ValueError(f"{text!r} is not one of: {', '.join(col.choices(self.doc.scenario))}")
        return text

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return False
        row, col = index.row(), self.columns[index.column()]
        if not self.cell_editable(row, col):
            return False
        if col.kind == "bool":
            if role not in (Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.EditRole):
                return False
        elif role != Qt.ItemDataRole.EditRole:
            return False
        typed = "" if value is None else (str(value) if not isinstance(value, float) else number_text(value))
        path = self.field_path(row, col)
        try:
            new = self.parse(col, value)
        except ValueError as e:
            self._set_flag(index, typed, f"{path}: {e}")
            return False
        if new == self.value(row, col):
            self._clear_flag(index)
            return True
        err = self.commit(row, col, new)
        if err is not None:
            self._set_flag(index, typed, error_text(err, path))
            return False
        self._clear_flag(index)
        return True

    def commit(self, row: int, col: Column, value: Any) -> ScenarioError | None:
        """One undoable edit setting ``value`` in ``row``; the error when the scenario rejects it."""
        def mutate(data: dict) -> None:
            if col.apply is not None:
                col.apply(data, row, value)
            else:
                set_path(data[self.section][row], col.key, value)

        return self.edit(mutate, f"Edit {self.field_path(row, col)}")

    def edit(self, mutate: Callable[[dict], None], text: str) -> ScenarioError | None:
        """Push one undoable edit, keeping the flags of other cells (they still describe their rows)."""
        self._own_edit = True
        try:
            return self.doc.try_edit(mutate, text)
        finally:
            self._own_edit = False

    def _set_flag(self, index, typed: str, message: str) -> None:
        self._flags[(index.row(), self.columns[index.column()].key)] = (typed, message)
        self.dataChanged.emit(index, index)

    def _clear_flag(self, index) -> None:
        if self._flags.pop((index.row(), self.columns[index.column()].key), None) is not None:
            self.dataChanged.emit(index, index)

    def clear_flags(self) -> None:
        if self._flags:
            self._flags.clear()
            self._emit_all()

    def _emit_all(self, columns: list[int] | None = None) -> None:
        if not self._rows or not self.columns:
            return
        cols = columns if columns is not None else [0, len(self.columns) - 1]
        self.dataChanged.emit(self.index(0, min(cols)), self.index(len(self._rows) - 1, max(cols)))

    # ---- following the document ----
    def _on_scenario(self, sc: Scenario) -> None:
        rows = list(getattr(sc, self.section))
        if len(rows) != len(self._rows):
            self.beginResetModel()
            self._rows = rows
            self._flags.clear()
            self.endResetModel()
            return
        self._rows = rows
        if not self._own_edit:
            # Undo, redo, a load or an edit elsewhere: the flagged text no longer describes a pending edit.
            self._flags.clear()
        self._emit_all()

    def _on_result(self, result, _summary=None) -> None:
        self.compute(result)
        computed = [i for i, c in enumerate(self.columns) if c.kind == "computed"]
        # Right after an edit the result may come before the rows follow (doc.changed reaches the
        # evaluation first); _on_scenario repaints everything then.
        if computed and len(getattr(result.scenario, self.section)) == len(self._rows):
            self._emit_all(computed)


class CellDelegate(QStyledItemDelegate):
    """Combo boxes for ``choice`` columns (site names, business models); line edits elsewhere."""

    def _column(self, index) -> Column | None:
        model = index.model()
        cols = getattr(model, "columns", None)
        return cols[index.column()] if cols else None

    def createEditor(self, parent, option, index):
        col = self._column(index)
        if col is not None and col.kind == "choice":
            combo = QComboBox(parent)
            items = list(col.choices(index.model().doc.scenario)) if col.choices else []
            if col.none_label is not None:
                items.insert(0, col.none_label)
            combo.addItems(items)
            return combo
        editor = QLineEdit(parent)
        if col is not None and col.numeric:
            editor.setAlignment(_ALIGN_NUMBER)
        return editor

    def setEditorData(self, editor, index):
        text = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            i = editor.findText("" if text is None else str(text))
            editor.setCurrentIndex(max(i, 0))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if text is None else str(text))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


def make_table(model: QAbstractTableModel) -> QTableView:
    """A table view set up for editing scenario rows (type to edit, combo delegates, wide headers)."""
    table = QTableView()
    table.setModel(model)
    table.setItemDelegate(CellDelegate(table))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                          | QAbstractItemView.EditTrigger.AnyKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked)
    table.setAlternatingRowColors(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignVCenter)
    header.setMinimumSectionSize(60)
    table.verticalHeader().setDefaultSectionSize(24)
    table.resizeColumnsToContents()
    return table


def selected_rows(table: QTableView) -> list[int]:
    sel = table.selectionModel()
    if sel is None:
        return []
    rows = {i.row() for i in sel.selectedIndexes()}
    if not rows and table.currentIndex().isValid():
        rows = {table.currentIndex().row()}
    return sorted(rows)


# --------------------------------------------------------------------------- fleet

def _site_names(sc: Scenario) -> list[str]:
    return [s.name for s in sc.sites]


def _efficiency(model: "FleetTableModel", row: int) -> float:
    c = model.row_obj(row)
    return c.power_w / c.hashrate_ths


def _breakeven(field: str):
    def get(model: "FleetTableModel", row: int):
        be = model.breakevens
        if be is None or row >= len(be):
            return None
        return float(be[field][row])
    return get


class FleetTableModel(ScenarioTableModel):
    """``scenario.fleet``: one row per cohort, with J/TH and first-month breakevens (read-only)."""

    section = "fleet"
    columns = [
        Column("model", "Model", "text", tip="ASIC model name"),
        Column("site", "Site", "choice", choices=_site_names, tip="site the cohort runs at"),
        Column("count", "Count (units)", decimals=2, tip="machines in the cohort (fractional when a plan splits it)"),
        Column("hashrate_ths", "Hashrate (TH/s per unit)", decimals=1, tip="nameplate hashrate per unit, TH/s"),
        Column("power_w", "Power (W per unit)", decimals=0, tip="wall power per unit, W"),
        Column("efficiency_j_per_th", "Efficiency (J/TH)", "computed", decimals=2, value=_efficiency,
               tip="power / hashrate, J/TH (read-only)"),
        Column("uptime_pct", "Uptime (%)", decimals=1, tip="share of hours the machines run, %"),
        Column("degradation_pct_per_year", "Degradation (%/yr)", decimals=1, tip="hashrate lost per year of age, %"),
        Column("purchase_price_usd", "Purchase price (USD/unit)", decimals=0,
               tip="price per unit, USD (capex when bought during the horizon)"),
        Column("age_months", "Age (months)", "int", tip="age at the start month, months"),
        Column("salvage_usd", "Salvage (USD/unit)", decimals=0,
               tip="resale quote per unit in the late-2025 market, USD; retired units sell at the used-ASIC "
                   "market price (~22 months of margin at a buyer's $0.05/kWh), scaled by this quote when "
                   "given; 0: the market price alone"),
        Column("breakeven_power_usd_per_kwh", "Breakeven power (USD/kWh)", "computed", decimals=4,
               value=_breakeven("breakeven_power_usd_per_kwh"),
               tip="power price at which the cohort's first-month revenue (net of pool fee) pays only its "
                   "energy, USD/kWh (read-only)"),
        Column("breakeven_btc_price_usd", "Breakeven BTC price (USD/BTC)", "computed", decimals=0,
               value=_breakeven("breakeven_btc_price_usd"),
               tip="BTC price at which the cohort's first-month revenue pays its energy at the site's average "
                   "price and PUE, USD (read-only)"),
    ]

    def __init__(self, doc, evaluation=None, parent=None):
        self.breakevens: dict[str, np.ndarray] | None = None
        super().__init__(doc, evaluation, parent)

    def compute(self, result) -> None:
        if result is None or not result.scenario.fleet:
            self.breakevens = None
            return
        df = cohort_breakevens(result)
        self.breakevens = {k: df[k].to_numpy(dtype=float)
                           for k in ("breakeven_power_usd_per_kwh", "breakeven_btc_price_usd")}


def cohort_from_catalog(m: CatalogModel, site: str, count: float, purchase_month: str | None = None) -> dict:
    """A fleet row for ``count`` new units of a catalog model, with the scenario's usual defaults."""
    row = {"model": m.model, "count": count, "hashrate_ths": m.hashrate_ths, "power_w": m.power_w, "site": site,
           "uptime_pct": 97.0, "degradation_pct_per_year": 2.0,
           "purchase_price_usd": round(m.unit_price_usd, 2), "age_months": 0, "useful_life_months": 48,
           "salvage_usd": 0.0}
    if purchase_month:
        row["purchase_month"] = purchase_month
    return row


def free_capacity_mw(sc: Scenario, site: str) -> float:
    """Gross MW still free at ``site`` for machines running from the start (PUE included)."""
    s = next((s for s in sc.sites if s.name == site), None)
    if s is None:
        return 0.0
    load = sum(c.count * c.power_w / 1e6 for c in sc.fleet if c.site == site and not c.retire_month)
    return max(s.capacity_mw - load * s.pue, 0.0)


class CatalogDialog(QDialog):
    """Pick a catalog model (TH/s, W, J/TH, USD/TH), a site and a count."""

    HEADERS = ["Model", "Hashrate (TH/s)", "Power (W)", "Efficiency (J/TH)", "Price (USD/TH)", "Unit price (USD)"]

    def __init__(self, scenario: Scenario, catalog: dict[str, CatalogModel], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add machines from the catalog")
        self.scenario = scenario
        self.catalog = catalog
        self.models = list(catalog.values())
        self.table = QTableWidget(len(self.models), len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for r, m in enumerate(self.models):
            cells = [m.model, f"{m.hashrate_ths:,.0f}", f"{m.power_w:,.0f}", f"{m.efficiency_j_per_th:.1f}",
                     f"{m.price_usd_per_th:,.2f}", f"{m.unit_price_usd:,.0f}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(_ALIGN_NUMBER)
                item.setToolTip(f"spec: {m.spec_source}\nprice: {m.price_source}")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.site = QComboBox()
        self.site.addItems(_site_names(scenario))
        self.count = QSpinBox()
        self.count.setRange(1, 10_000_000)
        self.count.setGroupSeparatorShown(True)
        self.count.setSuffix(" units")
        self.fits = QLabel("")
        self.fits.setStyleSheet("color: #5f6368;")
        self.buy = QCheckBox("Bought during the horizon (capex in the delivery month)")
        self.buy.setChecked(True)
        self.month = QLineEdit(scenario.start_month)
        self.month.setPlaceholderText("YYYY-MM")
        self.buy.toggled.connect(self.month.setEnabled)
        form = QFormLayout()
        form.addRow("Site", self.site)
        form.addRow("Count", self.count)
        form.addRow("", self.fits)
        form.addRow(self.buy)
        form.addRow("Delivery month (YYYY-MM)", self.month)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Catalog models (prices marked est in the catalog are estimates)"))
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.buttons)
        self.table.itemSelectionChanged.connect(self._update_fit)
        self.site.currentIndexChanged.connect(self._update_fit)
        if self.models:
            self.table.selectRow(0)
        self.resize(760, 520)

    def selected_model(self) -> CatalogModel | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.models[min(rows)] if rows else None

    def select_model(self, name: str) -> None:
        for r, m in enumerate(self.models):
            if m.model == name:
                self.table.selectRow(r)
                return
        raise KeyError(name)

    def fitting_units(self) -> int:
        m = self.selected_model()
        site = next((s for s in self.scenario.sites if s.name == self.site.currentText()), None)
        if m is None or site is None:
            return 0
        return int(free_capacity_mw(self.scenario, site.name) * 1e6 / (m.power_w * site.pue))

    def _update_fit(self) -> None:
        m = self.selected_model()
        n = self.fitting_units()
        free = free_capacity_mw(self.scenario, self.site.currentText())
        self.fits.setText(f"{n:,} units fit in the {free:,.1f} MW free at {self.site.currentText()}"
                          if m else "select a model")
        if m is not None and n >= 1:
            self.count.setValue(min(n, 10_000_000))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(m is not None)

    def choice(self) -> tuple[str, str, int, str | None]:
        """(model, site, count, delivery month or None)."""
        m = self.selected_model()
        month = self.month.text().strip() if self.buy.isChecked() else None
        return (m.model if m else "", self.site.currentText(), self.count.value(), month or None)


def cohort_label(i: int, model: str, n: int) -> str:
    """A short x-axis label: the row number, and the model without its brand when there is room."""
    if n > 12:
        return str(i)
    for brand in ("Antminer ", "Whatsminer ", "Avalon ", "Bitmain ", "MicroBT ", "Canaan "):
        if model.startswith(brand):
            model = model[len(brand):]
            break
    return f"{i}: {model[:12]}"


def show_first_flag(model, status) -> None:
    """Repeat the first rejected cell's rule in a status label (the cell itself shows it as a tooltip)."""
    flags = model.flagged_cells()
    if flags:
        (row, key), (_typed, msg) = next(iter(flags.items()))
        status.setText(f"Rejected (row {row}, {key}): {msg.splitlines()[0]}")
    elif status.text().startswith("Rejected"):
        status.setText("")


class FleetView(QWidget):
    """The fleet table, add/remove buttons, and bar charts of hashrate and breakeven BTC price by cohort."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._catalog: dict[str, CatalogModel] | None = None
        self.model = FleetTableModel(doc, evaluation, self)
        self.table = make_table(self.model)
        self.add_button = QPushButton("Add from catalog…")
        self.add_button.setToolTip("Add a cohort of a catalog model (TH/s, W, J/TH, USD/TH) at a site")
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setToolTip("Remove the selected cohorts (one undoable edit)")
        self.add_button.clicked.connect(self.open_catalog_dialog)
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a50021;")
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        bar.addWidget(self.status, 1)
        self.hashrate_chart = Chart("Hashrate by cohort", "PH/s (nameplate)", dates=False)
        self.breakeven_chart = Chart("Breakeven BTC price by cohort", "USD per BTC", dates=False)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.hashrate_chart)
        charts.addWidget(self.breakeven_chart)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(bar)
        tl.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(charts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.model.dataChanged.connect(self._show_flag)
        evaluation.updated.connect(when_shown(self, self.on_result))
        if evaluation.result is not None:
            self.on_result(evaluation.result, evaluation.summary)

    # ---- protocol ----
    def charts(self) -> list[Chart]:
        return [self.hashrate_chart, self.breakeven_chart]

    def set_presentation(self, on: bool) -> None:
        for c in self.charts():
            c.set_presentation(on)
        f = QFont(self.table.font())
        f.setPointSize(14 if on else 10)
        self.table.setFont(f)
        self.table.verticalHeader().setDefaultSectionSize(34 if on else 24)
        self.table.resizeColumnsToContents()

    # ---- catalog ----
    @property
    def catalog(self) -> dict[str, CatalogModel]:
        if self._catalog is None:
            self._catalog = load_catalog()
        return self._catalog

    def open_catalog_dialog(self) -> None:
        try:
            catalog = self.catalog
        except (OSError, ScenarioError) as e:
            self.status.setText(f"Cannot read the ASIC catalog: {e}")
            return
        dlg = CatalogDialog(self.doc.scenario, catalog, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.add_from_catalog(*dlg.choice())

    def add_from_catalog(self, model: str, site: str, count: float,
                         purchase_month: str | None = None) -> ScenarioError | None:
        """Append a cohort of a catalog model (one undoable edit); returns the error when it is rejected."""
        m = self.catalog.get(model)
        if m is None:
            err = ScenarioError([Problem("fleet", f"{model!r} is not in the ASIC catalog")])
            self.status.setText(f"Not added: {error_text(err)}")
            return err
        row = cohort_from_catalog(m, site, count, purchase_month)

        def mutate(data: dict) -> None:
            data.setdefault("fleet", []).append(row)

        err = self.model.edit(mutate, f"Add {count:,} x {model} at {site}")
        self.status.setText(f"Not added: {error_text(err)}" if err else "")
        if err is None:
            self.table.selectRow(self.model.rowCount() - 1)
        return err

    def remove_rows(self, rows: list[int]) -> ScenarioError | None:
        rows = sorted({r for r in rows if 0 <= r < self.model.rowCount()})
        if not rows:
            self.status.setText("Select the cohorts to remove first")
            return None

        def mutate(data: dict) -> None:
            for r in reversed(rows):
                del data["fleet"][r]

        err = self.model.edit(mutate, "Remove " + ", ".join(f"fleet[{r}]" for r in rows))
        self.status.setText(f"Not removed: {error_text(err)}" if err else "")
        return err

    def remove_selected(self) -> ScenarioError | None:
        return self.remove_rows(selected_rows(self.table))

    # ---- feedback ----
    def _show_flag(self, *_args) -> None:
        show_first_flag(self.model, self.status)

    # ---- charts ----
    def on_result(self, res, _summary=None) -> None:
        sc = res.scenario
        hc, bc = self.hashrate_chart, self.breakeven_chart
        hc.clear()
        bc.clear()
        n = len(sc.fleet)
        if not n:
            hc.item.getAxis("bottom").setTicks(None)
            bc.item.getAxis("bottom").setTicks(None)
            return
        x = np.arange(n, dtype=float)
        labels = [(float(i), cohort_label(i, c.model, n)) for i, c in enumerate(sc.fleet)]
        ph = np.array([c.count * c.hashrate_ths / 1000.0 for c in sc.fleet])
        hc.bars("Nameplate hashrate (PH/s)", x, ph, 0, width=0.7)
        hc.item.getAxis("bottom").setTicks([labels])
        be = self.model.breakevens
        if be is None or len(be["breakeven_btc_price_usd"]) != n:
            df = cohort_breakevens(res)
            be = {"breakeven_btc_price_usd": df["breakeven_btc_price_usd"].to_numpy(dtype=float)}
        heights = np.nan_to_num(be["breakeven_btc_price_usd"], posinf=0.0)
        bc.bars("Breakeven BTC price (USD/BTC)", x, heights, 1, width=0.7)
        bc.hline(float(res.btc_price_usd[0, 0]), f"BTC price now ${res.btc_price_usd[0, 0]:,.0f}", 6)
        bc.item.getAxis("bottom").setTicks([labels])


__all__ = ["Column", "ScenarioTableModel", "CellDelegate", "FleetTableModel", "FleetView", "CatalogDialog",
           "make_table", "selected_rows", "parse_number", "format_number", "number_text", "error_text",
           "get_path", "set_path", "INVALID_BG", "INVALID_STYLE", "cohort_from_catalog", "free_capacity_mw"]
