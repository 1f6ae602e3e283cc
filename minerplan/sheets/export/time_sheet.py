"""A time sheet: months across the columns from E, one formula pattern per row, written by the fast writer."""

from __future__ import annotations

from typing import Callable, Iterable

from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from minerplan.sheets.export.book import Book, style_attr, xml_escape, xml_formula, xml_number, xml_text
from minerplan.sheets.export.cells import (BOLD, FIRST_DATA_ROW, FIRST_MONTH_COL, FMT_INT, FMT_MONTH, FMT_USD,
                                           GREEN, HEADER_CAL_ROW, HEADER_DATE_ROW, HEADER_DAYS_ROW, HEADER_FILL,
                                           HEADER_INDEX_ROW, NOTE, VALUE_FILL, month_col, ref)


class TimeSheet:
    """A sheet with months across columns and one formula pattern per row.

    ``row(label, item, unit, fn)`` writes ``fn(m, c)`` into each month column
    (``m`` the 0-based month, ``c`` its column letter) and returns the row
    number, so other sheets can reference ``{c}{row}`` in the same column.
    """

    def __init__(self, book: Book, ws: Worksheet, n_months: int, header_from: str | None = None):
        self.book = book
        self.ws = ws
        self.n = n_months
        self.next_row = FIRST_DATA_ROW
        self.last_col = month_col(n_months - 1)
        ws.column_dimensions["A"].width = 38
        ws.column_dimensions["B"].width = 22
        ws.column_dimensions["C"].width = 14
        ws.column_dimensions["D"].width = 16
        for m in range(n_months):
            ws.column_dimensions[month_col(m)].width = 12
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

    def row(self, label: str, item, unit: str, fn: Callable[[int, str], str], fmt: str = FMT_USD,
            total: bool = False, font: Font | None = None, item_formula: str | None = None) -> int:
        r = self.next_row
        self.current_row = r  # for formulas that reference their own row (a running total)
        book = self.book
        cells = book.rows.setdefault(self.ws.title, {}).setdefault(r, {})
        cells[1] = xml_text(f"A{r}", label, 0)
        if item_formula is not None:
            cells[2] = xml_formula(f"B{r}", item_formula.lstrip("="), book.sid(GREEN))
        elif item is not None:
            text = str(item)
            cells[2] = xml_text(f"B{r}", text, book.sid(quote=text[:1] in ("=", "+", "-", "@")))
        if unit:
            cells[3] = xml_text(f"C{r}", unit, 0)
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
        cells[1] = xml_text(f"A{r}", label, 0)
        if item is not None:
            cells[2] = xml_text(f"B{r}", str(item), 0)
        if unit:
            cells[3] = xml_text(f"C{r}", unit, 0)
        if total:
            cells[4] = xml_formula(f"D{r}", f"SUM({month_col(0)}{r}:{self.last_col}{r})", book.sid(BOLD, None, fmt))
        sid = book.sid(None, VALUE_FILL, fmt)
        for m in range(self.n):
            cells[FIRST_MONTH_COL + m] = xml_number(f"{month_col(m)}{r}", float(values[m]), sid)
        self.next_row += 1
        return r

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
