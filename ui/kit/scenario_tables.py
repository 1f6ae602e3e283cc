"""The editable scenario table: one model, delegate and view set-up for the Fleet, Sites, AI, Market tables.

:class:`ScenarioTableModel` is a ``QAbstractTableModel`` over one list of the scenario (``fleet``,
``sites``, ``conversion_plan``, ``price_path.points``) with :class:`ui.kit.tables.Column` columns;
every edit goes through :meth:`ScenarioDocument.try_edit` as one undoable command. An edit the
scenario rejects is flagged in place: the typed text stays in the cell on a light red background,
with the rule that failed as the tooltip, and the scenario is left as it was. The flag clears when the cell gets a valid
value, or on undo/redo and edits made elsewhere (the rows it pointed at may have moved). Flagged cells are
rejection sources of the document (:meth:`ScenarioDocument.rejections`), so Save lists them all first.
Rows are counted from 1 and problems said in people's words (``Fleet row 7, Count: must be at least 0``);
the dotted field path (``fleet[6].count``) is the last line of a flagged cell's tooltip.

:class:`CellDelegate` edits ``choice`` columns with a combo box and the rest with a line edit;
:func:`make_table` sets up a ``QTableView`` for editing scenario rows. Numbers are shown and read
back with :mod:`minerplan.formats`, field paths are walked with :mod:`minerplan.scenario.dotted`.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QLabel, QLineEdit, QStyledItemDelegate,
                               QTableView)

from minerplan.formats import number_text, parse_number
from minerplan.scenario.dotted import get_path, set_path
from minerplan.scenario.errors import ScenarioError, field_words
from minerplan.scenario.model import Scenario

from .fit import refit_columns_on_font_change
from .messages import Rejection
from .tables import ALIGN_NUMBER, INVALID_BG, READ_ONLY_BG, Column, error_text, format_cell


class ScenarioTableModel(QAbstractTableModel):
    """A table over ``scenario.<section>`` (one row per list entry) editing through the document."""

    #: Dotted path of the list in the scenario (``"fleet"``, ``"price_path.points"``).
    section = ""
    columns: list[Column] = []
    #: The number the first row's header shows: rows are counted from 1 everywhere people read them.
    first_row_number = 1

    def __init__(self, doc, evaluation=None, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._rows = self.rows_of(doc.scenario)
        #: (row, column key) -> (typed text, rule that rejected it)
        self._flags: dict[tuple[int, str], tuple[str, str]] = {}
        self._own_edit = False
        doc.changed.connect(self._on_scenario)
        if hasattr(doc, "add_rejection_source"):
            doc.add_rejection_source(self.rejections)
        if evaluation is not None:
            evaluation.updated.connect(self._on_result)
            if evaluation.result is not None:
                self._on_result(evaluation.result, evaluation.summary)

    # ---- hooks for subclasses ----
    def rows_of(self, sc: Scenario) -> list:
        """The rows the table shows: the scenario's list at ``section``."""
        return list(get_path(sc, self.section) or [])

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
        return format_cell(col, value)

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

    def cell_words(self, row: int, col: Column) -> str:
        """The cell in people's words: ``Fleet row 7, Count`` (rows counted from 1)."""
        return field_words(self.field_path(row, col)) or f"Row {row + 1}, {col.header}"

    def rejections(self) -> list[Rejection]:
        """Every flagged cell, top to bottom and left to right, as the document's rejection source."""
        keys = [c.key for c in self.columns]
        out = []
        for (row, key), (typed, message) in sorted(self._flags.items(),
                                                   key=lambda kv: (kv[0][0], keys.index(kv[0][1]))):
            col = self.columns[keys.index(key)]
            out.append(Rejection(self.cell_words(row, col), typed, message, self.field_path(row, col)))
        return out

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
        return str(section + self.first_row_number) if role == Qt.ItemDataRole.DisplayRole else None

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
            return None if self.cell_editable(row, col) else READ_ONLY_BG
        if role == Qt.ItemDataRole.ToolTipRole:
            if flagged:
                return f"Not accepted: {flagged[1]}\n\nField: {self.field_path(row, col)}"
            return self.cell_tip(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_NUMBER if col.numeric else None
        return None

    def parse(self, col: Column, value: Any) -> Any:
        if col.parse is not None:
            return col.parse(value)
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
            self._set_flag(index, typed, f"{self.cell_words(row, col)}: {e}")
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
                set_path(get_path(data, self.section)[row], col.key, value)

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
        rows = self.rows_of(sc)
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
        if computed and len(self.rows_of(result.scenario)) == len(self._rows):
            self._emit_all(computed)


class CellDelegate(QStyledItemDelegate):
    """Combo boxes for ``choice`` columns (site names, business models); line edits elsewhere."""

    def _column(self, index) -> Column | None:
        cols = getattr(index.model(), "columns", None)
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
            editor.setAlignment(ALIGN_NUMBER)
        return editor

    def setEditorData(self, editor, index):
        text = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(editor.findText("" if text is None else str(text)), 0))
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
    refit_columns_on_font_change(table)     # presentation mode's larger font would elide cells
    return table


def selected_rows(table: QTableView) -> list[int]:
    """The selected rows of ``table``, sorted (the current row when nothing is selected)."""
    sel = table.selectionModel()
    if sel is None:
        return []
    rows = {i.row() for i in sel.selectedIndexes()}
    if not rows and table.currentIndex().isValid():
        rows = {table.currentIndex().row()}
    return sorted(rows)


def show_flags(model: ScenarioTableModel, status: QLabel) -> None:
    """Report every rejected cell in a status label: the first one's rule, how many there are, and all of them
    in the label's tooltip (each cell shows its own rule as its tooltip too)."""
    rejected = model.rejections()
    if rejected:
        first = rejected[0].rule.splitlines()[0]
        more = len(rejected) - 1
        status.setText(f"Rejected: {first}" if not more
                       else f"Rejected {len(rejected)} values (red): {first}; and {more} more (hover for all)")
        status.setToolTip("\n".join(r.line for r in rejected))
    elif status.text().startswith("Rejected"):
        status.setText("")
        status.setToolTip("")


#: The former name (the views call it on every table change).
show_first_flag = show_flags
