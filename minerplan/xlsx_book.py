"""Low-level helpers for writing a financial-model workbook with openpyxl.

Conventions (the ones analysts expect from a bank or audit model):
inputs in blue on a pale yellow fill, formulas in black, links to other sheets
in green; time runs across columns from column E with one formula per row;
column A holds the line item, B the site or cohort, C the unit, D the total.
Every time sheet carries the same header rows (month, month index,
calendar month, days), so a formula can use ``E$5`` for "this month's index".

Text that came from a user (site and model names, notes) is always written as
a string cell with Excel's quote prefix: a name like ``=HYPERLINK(...)`` stays
text and can never run as a formula. Formulas only ever reference such text
through cell addresses; no user text is pasted into a formula string.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Callable, Iterable

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

FIRST_MONTH_COL = 5          # column E
HEADER_DATE_ROW = 4
HEADER_INDEX_ROW = 5
HEADER_CAL_ROW = 6
HEADER_DAYS_ROW = 7
FIRST_DATA_ROW = 9

BLUE = Font(color="0000FF")
BLACK = Font(color="000000")
GREEN = Font(color="007A33")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
NOTE = Font(italic=True, color="595959")
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
VALUE_FILL = PatternFill("solid", fgColor="EDEDED")
THIN_TOP = Border(top=Side(style="thin"))
WRAP = Alignment(wrap_text=True, vertical="top")

FMT_USD = '#,##0;[Red]-#,##0'
FMT_USD2 = '#,##0.00;[Red]-#,##0.00'
FMT_NUM0 = '#,##0'
FMT_NUM2 = '#,##0.00'
FMT_NUM4 = '#,##0.0000'
FMT_SCI = '0.000E+00'
FMT_BTC = '#,##0.0000'
FMT_SMALL = '0.000000000'
FMT_PCT = '0.0%'
FMT_MONTH = 'yyyy-mm'
FMT_INT = '0'


@lru_cache(maxsize=4096)
def col(n: int) -> str:
    """Column letter of 1-based column ``n``."""
    return get_column_letter(n)


def month_col(m: int) -> str:
    """Column letter of month ``m`` (0-based) on a time sheet."""
    return col(FIRST_MONTH_COL + m)


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def ref(sheet: str, cell: str) -> str:
    """``'Sheet name'!A1``: a reference into another sheet (our own sheet names only)."""
    return f"{quote_sheet(sheet)}!{cell}"


def put_text(ws: Worksheet, row: int, column: int, text, font: Font | None = None):
    """Write user text as a string cell: a leading =, +, - or @ never makes it a formula."""
    cell = ws.cell(row=row, column=column)
    cell.value = "" if text is None else str(text)
    cell.data_type = "s"
    if cell.value[:1] in ("=", "+", "-", "@"):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def put_input(ws: Worksheet, row: int, column: int, value, fmt: str | None = None, text: bool = False):
    """An input cell: blue on a pale fill."""
    if text or isinstance(value, str):
        cell = put_text(ws, row, column, value)
    else:
        cell = ws.cell(row=row, column=column, value=value)
    cell.font = BLUE
    cell.fill = INPUT_FILL
    if fmt:
        cell.number_format = fmt
    return cell


def put_formula(ws: Worksheet, row: int, column: int, formula: str, fmt: str | None = None,
                font: Font | None = None):
    cell = ws.cell(row=row, column=column, value=formula if formula.startswith("=") else "=" + formula)
    if font is not None:
        cell.font = font
    if fmt:
        cell.number_format = fmt
    return cell


def put_value(ws: Worksheet, row: int, column: int, value, fmt: str | None = None):
    """A pasted value (Monte Carlo output, engine totals): grey fill, so nobody mistakes it for a formula."""
    cell = ws.cell(row=row, column=column, value=value)
    cell.fill = VALUE_FILL
    if fmt:
        cell.number_format = fmt
    return cell


def define_name(wb, name: str, sheet: str, cell: str) -> None:
    """A workbook-level defined name for one cell (absolute reference)."""
    column = "".join(ch for ch in cell if ch.isalpha())
    row = "".join(ch for ch in cell if ch.isdigit())
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheet(sheet)}!${column}${row}")


def month_index_formula(date_cell: str) -> str:
    """Months from the plan's first month to the month in ``date_cell`` (a date)."""
    return (f"(YEAR({date_cell})-YEAR(start_date))*12+MONTH({date_cell})-MONTH(start_date)")


def title(ws: Worksheet, text: str, note: str = "") -> None:
    ws.cell(row=1, column=1, value=text).font = TITLE
    if note:
        c = ws.cell(row=2, column=1, value=note)
        c.font = NOTE


def print_setup(ws: Worksheet, *, landscape: bool = True, title_rows: str | None = None,
                title_cols: str | None = None) -> None:
    """Fit to one page wide, landscape, repeat the header rows and label columns on every page."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols


class TimeSheet:
    """A sheet with months across columns and one formula pattern per row.

    ``row(label, item, unit, fn)`` writes ``fn(m, c)`` into each month column
    (``m`` the 0-based month, ``c`` its column letter) and returns the row
    number, so other sheets can reference ``{c}{row}`` in the same column.
    """

    def __init__(self, ws: Worksheet, n_months: int, header_from: str | None = None):
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
                date_f = "=start_date" if m == 0 else f"=DATE(YEAR({prev}4),MONTH({prev}4)+1,1)"
                idx_f = "=0" if m == 0 else f"={prev}5+1"
            else:
                date_f = "=" + ref(header_from, f"{c}4")
                idx_f = "=" + ref(header_from, f"{c}5")
            put_formula(ws, HEADER_DATE_ROW, FIRST_MONTH_COL + m, date_f, FMT_MONTH, BOLD).fill = HEADER_FILL
            put_formula(ws, HEADER_INDEX_ROW, FIRST_MONTH_COL + m, idx_f, FMT_INT)
            put_formula(ws, HEADER_CAL_ROW, FIRST_MONTH_COL + m, f"=MONTH({c}4)", FMT_INT)
            put_formula(ws, HEADER_DAYS_ROW, FIRST_MONTH_COL + m, f"=DAY(DATE(YEAR({c}4),MONTH({c}4)+1,1)-1)",
                        FMT_INT)
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
        ws = self.ws
        ws.cell(row=r, column=1, value=label)
        if item_formula is not None:
            put_formula(ws, r, 2, item_formula, font=GREEN)
        elif item is not None:
            put_text(ws, r, 2, item)
        ws.cell(row=r, column=3, value=unit)
        if total:
            put_formula(ws, r, 4, f"=SUM({month_col(0)}{r}:{self.last_col}{r})", fmt, BOLD)
        for m in range(self.n):
            cell = ws.cell(row=r, column=FIRST_MONTH_COL + m, value="=" + fn(m, month_col(m)))
            cell.number_format = fmt
            if font is not None:
                cell.font = font
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


def as_excel_date(month: str) -> date:
    y, m = month.split("-")
    return date(int(y), int(m), 1)
