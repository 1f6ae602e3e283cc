"""Tables: the one column family every table of the app is built from, and the read-only tables.

- :class:`Column` describes one column: the field it shows (a dotted path inside one row, or a
  DataFrame column), the header with its unit, the kind of value, the decimals shown, the tooltip.
  :func:`field_column` makes one from a scenario field's declaration (:mod:`minerplan.scenario.fields`),
  so the app's tables name and explain a field as the workbook and the import template do.
  :func:`format_cell` is the one place a cell's text is made from its value.
- :class:`FrameModel` is a read-only ``QAbstractTableModel`` over a pandas DataFrame (optimizer results).
- :func:`read_only_cell` and :func:`results_table` build small read-only ``QTableWidget`` tables
  (risk and breakevens results), whose cells keep the number behind the text in ``UserRole``.
- :func:`error_text` and the flag colours are shared with the editable scenario tables of
  :mod:`ui.kit.scenario_tables` (one module would be over 500 lines).

Numbers are shown with :mod:`minerplan.formats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from minerplan.formats import fixed
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.fields import Field, app_header
from minerplan.scenario.model import Scenario

#: Background of a cell (or field) whose typed value the scenario rejected.
INVALID_BG = QColor("#f8d7da")
#: Background of computed, read-only cells.
READ_ONLY_BG = QColor("#f1f3f4")
#: Style sheet of a form field whose typed value the scenario rejected.
INVALID_STYLE = "background-color: #f8d7da;"

ALIGN_NUMBER = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
ALIGN_TEXT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

#: Kinds a scenario table edits (``computed`` is a read-only number).
EDIT_KINDS = ("float", "int", "text", "bool", "choice", "computed")
#: Display kinds of read-only result tables, with their fixed formats (see :func:`format_cell`).
RESULT_KINDS = ("usd", "usd_m", "mw", "units", "num", "month")
_NUMERIC = ("float", "int", "computed", "usd", "usd_m", "mw", "units", "num")


# --------------------------------------------------------------------------- columns

@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``key`` is the dotted field path inside one row (``"count"``, ``"ai.lead_time_months"``) or a
    DataFrame column; ``header`` carries the unit. ``kind`` is one of :data:`EDIT_KINDS` (scenario
    tables) or :data:`RESULT_KINDS` (result tables, e.g. ``usd_m``: USD shown in millions), or ``text``.
    """

    key: str
    header: str
    kind: str = "text"
    decimals: int = 2
    tip: str = ""
    #: For ``choice`` columns: the allowed values for the current scenario.
    choices: Callable[[Scenario], list[str]] | None = None
    #: For ``choice`` columns: the label standing for ``None`` (the field left unset).
    none_label: str | None = None
    #: For ``computed`` columns: ``value(model, row) -> value`` (None: not available).
    value: Callable[[Any, int], Any] | None = None
    #: Custom mutation ``apply(data, row, value)`` of the scenario's JSON dict.
    apply: Callable[[dict, int, Any], None] | None = None
    #: An empty cell means "remove this field" (None).
    optional: bool = False
    #: Custom reading of the typed text (``minerplan.formats.parse_lenient``: the validator names the rule).
    parse: Callable[[Any], Any] | None = None

    @property
    def editable(self) -> bool:
        return self.kind in EDIT_KINDS and self.kind != "computed"

    @property
    def numeric(self) -> bool:
        return self.kind in _NUMERIC


#: A scenario field's kind (:data:`minerplan.scenario.fields.Kind`) -> the kind of its column.
FIELD_KINDS = {"number": "float", "integer": "int", "text": "text", "month": "text", "bool": "bool",
               "choice": "choice"}


def field_column(f: Field, **overrides: Any) -> Column:
    """The column showing scenario field ``f``: its path, ``"Label (unit)"`` header, kind, decimals and tooltip.

    A derived field is a read-only ``computed`` column; a ``choice`` field offers its choices. ``overrides``
    set any other :class:`Column` attribute (a site column is a ``choice`` of the scenario's site names).
    """
    spec: dict[str, Any] = {"key": f.path, "header": app_header(f), "kind": "computed" if f.derived
                            else FIELD_KINDS[f.kind], "tip": f.tip or f.note}
    if f.decimals is not None:
        spec["decimals"] = f.decimals
    if f.kind == "choice" and f.choices:
        spec["choices"] = lambda _sc, choices=f.choices: list(choices)
    return Column(**{**spec, **overrides})


def format_cell(col: Column, v: Any) -> str:
    """The text a cell of ``col`` shows for value ``v``.

    Scenario numbers (``float``, ``int``, ``computed``) have separators and ``col.decimals`` places
    (fewer when whole; ``n/a`` when not finite). Result kinds always show their places and leave a
    missing or NaN value blank: ``usd`` 2 places, ``usd_m`` USD in millions with 2, ``mw`` 1,
    ``units`` 0, ``num`` 4 significant digits.
    """
    if col.kind in ("float", "int", "computed"):
        return fixed(v, col.decimals)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if col.kind == "bool":
        return "yes" if bool(v) else "no"
    formats = {"usd": "{:,.2f}", "mw": "{:,.1f}", "units": "{:,.0f}", "num": "{:,.4g}"}
    if col.kind in formats:
        return formats[col.kind].format(float(v))
    if col.kind == "usd_m":
        return f"{float(v) / 1e6:,.2f}"
    return str(v)


def error_text(err: ScenarioError, prefer: str | None = None) -> str:
    """The rule(s) an edit broke in people's words, one per line, the problem at ``prefer`` (a field path) first.

    ``Fleet row 7, Count: must be at least 0 (got -5)``: tables by name, rows from 1 (see
    :attr:`minerplan.scenario.errors.Problem.text`); the dotted paths are in :func:`error_paths`.
    """
    lines = [p.text for p in _sorted_problems(err, prefer)[:8]]
    if len(err.problems) > 8:
        lines.append(f"... and {len(err.problems) - 8} more problems")
    return "\n".join(lines) or str(err)


def error_paths(err: ScenarioError, prefer: str | None = None) -> list[str]:
    """The dotted field paths of the problems :func:`error_text` lists (for tooltips and tooling)."""
    return [p.path for p in _sorted_problems(err, prefer)[:8] if p.path]


def _sorted_problems(err: ScenarioError, prefer: str | None) -> list:
    problems = list(err.problems)
    if prefer:
        problems.sort(key=lambda p: 0 if p.path == prefer else (1 if p.path.startswith(prefer) else 2))
    return problems


# --------------------------------------------------------------------------- read-only results

class FrameModel(QAbstractTableModel):
    """A read-only table over a pandas DataFrame, with headers that carry units.

    ``Qt.UserRole`` gives the raw value (for sorting); numbers are right-aligned; rows are numbered from 1.
    """

    COLUMNS: tuple[Column, ...] = ()

    def __init__(self, columns: tuple[Column, ...] | None = None, parent=None):
        super().__init__(parent)
        self.columns = tuple(columns) if columns is not None else self.COLUMNS
        self._rows: list[tuple] = []

    def set_frame(self, df) -> None:
        """Show the rows of ``df`` (a DataFrame, or None for none); a missing column shows blank."""
        self.beginResetModel()
        if df is None or len(df) == 0:
            self._rows = []
        else:
            cols = [df[c.key].tolist() if c.key in df.columns else [None] * len(df) for c in self.columns]
            self._rows = [tuple(self._convert(r) for r in row) for row in zip(*cols)]
        self.endResetModel()

    @staticmethod
    def _convert(v):
        if isinstance(v, np.floating):
            return float(v)
        if isinstance(v, np.integer):
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
            return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(ALIGN_NUMBER if col.numeric else ALIGN_TEXT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tip or None
        return None

    def display(self, col: Column, v) -> str:
        return format_cell(col, v)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self.columns):
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
        """The value behind the cell of column ``key`` in ``row``."""
        return self._rows[row][[c.key for c in self.columns].index(key)]


def read_only_cell(text: str, value=None, tooltip: str = "", right: bool = False) -> QTableWidgetItem:
    """A read-only ``QTableWidget`` cell; ``value`` (the number behind the text) goes in UserRole."""
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if value is not None:
        item.setData(Qt.ItemDataRole.UserRole, value)
    if tooltip:
        item.setToolTip(tooltip)
    if right:
        item.setTextAlignment(ALIGN_NUMBER)
    return item


def results_table(headers: list[str], wrap: bool) -> QTableWidget:
    """A read-only ``QTableWidget`` of whole rows, columns sized to their text, the last one stretched."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(wrap)
    t.verticalHeader().setVisible(False)
    h = t.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    h.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    return t
