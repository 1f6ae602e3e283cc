"""Keep panels and tables as wide as their content, also after a font change (presentation mode).

Presentation mode enlarges fonts (the main window's tab widget passes its 14 pt font down to every view),
so sizes measured once at construction go stale: a settings panel in a scroll area scrolls sideways with its
labels cut, a results table hides its last columns behind a scroll bar, a table column sized to 9 pt text
elides "North Dakota" to "North ..." once the text is drawn at 10 pt. Each helper here re-measures whenever
the widget's fonts or layout change; the splitter or layout beside the widget gives way instead.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QAbstractScrollArea, QScrollArea, QTableView

_REFIT = (QEvent.Type.FontChange, QEvent.Type.LayoutRequest, QEvent.Type.Show, QEvent.Type.StyleChange)


class _Refit(QObject):
    """Event filter calling ``refit()`` after the events in ``_REFIT`` reach the watched widget."""

    def __init__(self, watched: QObject, refit) -> None:
        super().__init__(watched)
        self._refit = refit
        watched.installEventFilter(self)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:   # noqa: N802 - Qt name
        if e.type() in _REFIT:
            self._refit()
        return False

    def run(self, *_args) -> None:
        """A slot of this child object: Qt drops its connections when the watched widget goes."""
        self._refit()


def _set_min_width(w, px: int) -> None:
    if w.minimumWidth() != px:
        w.setMinimumWidth(px)


def fit_scroll_area(area: QScrollArea) -> None:
    """Keep ``area`` as wide as its widget's minimum size plus a vertical scroll bar (in pixels), so it
    never scrolls sideways nor cuts a label; re-measured whenever the widget's fonts or layout change."""
    def refit() -> None:
        inner = area.widget()
        if inner is None:
            return
        need = (inner.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width()
                + 2 * area.frameWidth())
        _set_min_width(area, need)
    _Refit(area.widget(), refit)
    refit()


def table_content_width(table: QTableView) -> int:
    """Pixels the table needs to show every column whole: each column's header and cells, the row
    header, the frame and a vertical scroll bar when it shows."""
    header = table.horizontalHeader()
    cols = sum(max(header.sectionSizeHint(c), table.sizeHintForColumn(c))
               for c in range(table.model().columnCount()) if not header.isSectionHidden(c))
    rows = table.verticalHeader().sizeHint().width() if table.verticalHeader().isVisible() else 0
    bar = table.verticalScrollBar().sizeHint().width() if table.verticalScrollBar().isVisible() else 0
    return cols + rows + bar + 2 * table.frameWidth()


def fit_table_width(table: QTableView) -> None:
    """Keep ``table`` at least as wide as :func:`table_content_width`, re-measured when its font, rows
    or cells change, so no column hides behind a horizontal scroll bar."""
    def refit() -> None:
        if shiboken6.isValid(table) and table.model() is not None:   # a QTableWidget's model outlives it
            _set_min_width(table, table_content_width(table))
    watcher = _Refit(table, refit)
    model = table.model()
    for sig in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.dataChanged, model.layoutChanged):
        sig.connect(watcher.run)
    refit()


def refit_columns_on_font_change(table: QAbstractScrollArea) -> None:
    """Re-run ``resizeColumnsToContents`` whenever the table's font changes (cells would elide)."""
    class _Cols(QObject):
        def eventFilter(self, obj, e):   # noqa: N802 - Qt name
            if e.type() == QEvent.Type.FontChange:
                table.resizeColumnsToContents()
            return False
    table.installEventFilter(_Cols(table))
