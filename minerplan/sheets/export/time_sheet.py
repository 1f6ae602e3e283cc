"""A time sheet: months across the columns from E, one formula pattern per row, written by the fast writer."""

from __future__ import annotations

from typing import Callable, Iterable

from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from minerplan.sheets.export.book import Book, style_attr, xml_escape, xml_formula, xml_number, xml_text
from minerplan.sheets.export.cells import (BOLD, FIRST_DATA_ROW, FIRST_MONTH_COL, FMT_INT, FMT_MONTH, FMT_USD,
                                           GREEN, HEADER_CAL_ROW, HEADER_DATE_ROW, HEADER_DAYS_ROW, HEADER_FILL,
                                           HEADER_INDEX_ROW, NOTE, VALUE_FILL, WRAP_LABEL, month_col, ref)
from minerplan.sheets.export.printing import ROW_PT, Layout, print_in_blocks, sheet_extent, wrapped_lines

LABEL_CHARS = 36      # column A: the line item (longer ones wrap)
UNIT_CHARS = 10       # column C (longer units wrap)
TOTAL_CHARS = 13      # column D
MONTH_CHARS = 12
ITEM_MAX_CHARS = 26   # column B at most: the site or cohort, as wide as the longest name


class TimeSheet:
    """A sheet with months across columns and one formula pattern per row.

    ``row(label, item, unit, fn)`` writes ``fn(m, c)`` into each month column
    (``m`` the 0-based month, ``c`` its column letter) and returns the row
    number, so other sheets can reference ``{c}{row}`` in the same column.
    """

    def __init__(self, book: Book, ws: Worksheet, n_months: int, header_from: str | None = None,
                 name_chars: int = 0):
        self.book = book
        self.ws = ws
        self.n = n_months
        self.next_row = FIRST_DATA_ROW
        self.last_col = month_col(n_months - 1)
        self.name_chars = name_chars     # the longest name a formula in column B shows (site, cohort)
        self.item_chars = 0              # the longest item seen in column B (0: none)
        self._wrap_sid = book.sid(None, None, None, False, WRAP_LABEL)
        ws.column_dimensions["A"].width = LABEL_CHARS
        ws.column_dimensions["B"].width = ITEM_MAX_CHARS
        ws.column_dimensions["C"].width = UNIT_CHARS
        ws.column_dimensions["D"].width = TOTAL_CHARS
        for m in range(n_months):
            ws.column_dimensions[month_col(m)].width = MONTH_CHARS
        for r, text in ((HEADER_DATE_ROW, "Month"), (HEADER_INDEX_ROW, "Month index (0 = first month)"),
                        (HEADER_CAL_ROW, "Calendar month"), (HEADER_DAYS_ROW, "Days in month")):
            ws.cell(row=r, column=1, value=text).font = BOLD
        for j, text in enumerate(("Line item", "Site / cohort", "Unit", "Total")):
            c = ws.cell(row=HEADER_DATE_ROW - 1, column=1 + j, value=text)
            c.font = BOLD
            c.fill = HEADER_FILL
        for m in range(n_months):
            c = month_col(m)
            if header_from is None:
                prev = month_col(m - 1)
                date_f = f"IF({c}$5=0,start_date,DATE(YEAR({prev}4),MONTH({prev}4)+1,1))"
                idx_f = f"COLUMN({c}$5)-COLUMN($E$5)"
            else:
                date_f = ref(header_from, f"{c}4")
                idx_f = ref(header_from, f"{c}5")
            k = FIRST_MONTH_COL + m
            book.formula(ws, HEADER_DATE_ROW, k, date_f, FMT_MONTH, BOLD, HEADER_FILL)
            book.formula(ws, HEADER_INDEX_ROW, k, idx_f, FMT_INT)
            book.formula(ws, HEADER_CAL_ROW, k, f"MONTH({c}4)", FMT_INT)
            book.formula(ws, HEADER_DAYS_ROW, k, f"DAY(DATE(YEAR({c}4),MONTH({c}4)+1,1)-1)", FMT_INT)
        ws.freeze_panes = ws.cell(row=HEADER_DAYS_ROW + 1, column=FIRST_MONTH_COL)

    def section(self, text: str, note: str = "") -> None:
        """A bold section heading (and an optional note) with a blank line before it."""
        if self.next_row > FIRST_DATA_ROW:
            self.next_row += 1
        c = self.ws.cell(row=self.next_row, column=1, value=text)
        c.font = BOLD
        if note:
            self.ws.cell(row=self.next_row, column=2, value=note).font = NOTE
        self.next_row += 1

    def summary_line(self, text: str, item: str) -> int:
        """A line saying what the row group below it holds (its + or - button is on this line); returns the
        group's first row. Group the rows with ``book.group_rows`` once written."""
        self.ws.cell(row=self.next_row, column=1, value=text).font = NOTE
        self.ws.cell(row=self.next_row, column=2, value=item).font = NOTE
        self.next_row += 1
        return self.next_row

    def row(self, label: str, item, unit: str, fn: Callable[[int, str], str], fmt: str = FMT_USD,
            total: bool = False, font: Font | None = None, item_formula: str | None = None) -> int:
        r = self.next_row
        self.current_row = r  # for formulas that reference their own row (a running total)
        book = self.book
        cells = book.rows.setdefault(self.ws.title, {}).setdefault(r, {})
        if len(label) < LABEL_CHARS - 1 and len(unit) < UNIT_CHARS - 1:   # the common case: nothing wraps
            cells[1] = xml_text(f"A{r}", label, 0)
            if unit:
                cells[3] = xml_text(f"C{r}", unit, 0)
        else:
            self._label_and_unit(cells, r, label, unit)
        if item_formula is not None:
            cells[2] = xml_formula(f"B{r}", item_formula.lstrip("="), book.sid(GREEN))
            self.item_chars = max(self.item_chars, self.name_chars)
        elif item is not None:
            text = str(item)
            cells[2] = xml_text(f"B{r}", text, book.sid(quote=text[:1] in ("=", "+", "-", "@")))
            self.item_chars = max(self.item_chars, len(text))
        if total:
            cells[4] = xml_formula(f"D{r}", f"SUM({month_col(0)}{r}:{self.last_col}{r})", book.sid(BOLD, None, fmt))
        s = style_attr(book.sid(font, None, fmt))
        for m in range(self.n):
            c = month_col(m)
            cells[FIRST_MONTH_COL + m] = f'<c r="{c}{r}"{s}><f>{xml_escape(fn(m, c))}</f></c>'
        self.next_row += 1
        return r

    def values_row(self, label: str, item, unit: str, values, fmt: str = FMT_USD, total: bool = False) -> int:
        """A row of pasted numbers (grey), for series the workbook cannot compute itself."""
        r = self.next_row
        self.current_row = r
        book = self.book
        cells = book.rows.setdefault(self.ws.title, {}).setdefault(r, {})
        self._label_and_unit(cells, r, label, unit)
        if item is not None:
            cells[2] = xml_text(f"B{r}", str(item), 0)
            self.item_chars = max(self.item_chars, len(str(item)))
        if total:
            cells[4] = xml_formula(f"D{r}", f"SUM({month_col(0)}{r}:{self.last_col}{r})", book.sid(BOLD, None, fmt))
        sid = book.sid(None, VALUE_FILL, fmt)
        for m in range(self.n):
            cells[FIRST_MONTH_COL + m] = xml_number(f"{month_col(m)}{r}", float(values[m]), sid)
        self.next_row += 1
        return r

    def _label_and_unit(self, cells: dict[int, str], r: int, label: str, unit: str) -> None:
        """The line item (A) and unit (C); a long one wraps, and its row is as tall as its lines."""
        lines = 1
        sid_a = sid_c = 0
        if len(label) >= LABEL_CHARS - 1:
            lines = wrapped_lines(label, LABEL_CHARS)
            sid_a = self._wrap_sid
        if unit and len(unit) >= UNIT_CHARS - 1:
            lines = max(lines, wrapped_lines(unit, UNIT_CHARS))
            sid_c = self._wrap_sid
        cells[1] = xml_text(f"A{r}", label, sid_a)
        if unit:
            cells[3] = xml_text(f"C{r}", unit, sid_c)
        if lines > 1:
            self.book.row_height(self.ws, r, ROW_PT * lines)

    def print_setup(self, title_rows: tuple[int, int] = (HEADER_DATE_ROW - 1, HEADER_DAYS_ROW),
                    last_col: int | None = None) -> Layout:
        """Column B as wide as its longest item (narrow when no row has one), then print in blocks of months."""
        ws = self.ws
        if self.item_chars:
            ws.column_dimensions["B"].width = min(self.item_chars + 2, ITEM_MAX_CHARS)
        else:
            ws.column_dimensions["B"].width = 2
            header = ws._cells.get((HEADER_DATE_ROW - 1, 2))
            if header is not None:
                header.value = None
        last_row, widest = sheet_extent(self.book, ws)
        last_col = widest if last_col is None else last_col
        months = min(self.n, last_col - FIRST_MONTH_COL + 1)
        return print_in_blocks(self.book, ws, last_row=last_row, last_col=last_col, title_rows=title_rows,
                               title_cols=FIRST_MONTH_COL - 1, month_cols=(FIRST_MONTH_COL, months))

    def rows(self, label: str, items: Iterable, unit: str, fn: Callable[[int, int, str], str],
             fmt: str = FMT_USD, total: bool = False, item_formula: Callable[[int], str] | None = None) -> list[int]:
        """One row per item; ``fn(i, m, c)`` gives the formula of item ``i`` in month ``m``."""
        out = []
        for i, item in enumerate(items):
            out.append(self.row(label, item, unit, lambda m, c, i=i: fn(i, m, c), fmt, total,
                                item_formula=item_formula(i) if item_formula else None))
        return out

    def range_in(self, rows: list[int], c: str) -> str:
        """``E12:E20``: the block of ``rows`` (consecutive) in column ``c``."""
        return f"{c}{rows[0]}:{c}{rows[-1]}"
