"""Cell writers and styles for a financial-model workbook with openpyxl.

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

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

FIRST_MONTH_COL = 5          # column E
HEADER_DATE_ROW = 4
HEADER_INDEX_ROW = 5
HEADER_CAL_ROW = 6
HEADER_DAYS_ROW = 7
FIRST_DATA_ROW = 9

# One font family everywhere: a font without a name is drawn in the spreadsheet's fallback face (a serif
# in LibreOffice), so every style names the workbook's default font (Calibri, 11 pt).
FONT_NAME = "Calibri"
FONT_PT = 11
BLUE = Font(name=FONT_NAME, size=FONT_PT, color="0000FF")
GREEN = Font(name=FONT_NAME, size=FONT_PT, color="007A33")
BOLD = Font(name=FONT_NAME, size=FONT_PT, bold=True)
TITLE = Font(name=FONT_NAME, size=14, bold=True)
NOTE = Font(name=FONT_NAME, size=FONT_PT, italic=True, color="595959")
TITLE_ROW_PT = 21.0      # row 1 holds the 14-pt title
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
VALUE_FILL = PatternFill("solid", fgColor="EDEDED")
WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_LABEL = Alignment(wrap_text=True)          # a line item that wraps: its last line beside the row's numbers
RIGHT = Alignment(horizontal="right", vertical="top")
UNIT = Alignment(horizontal="left", vertical="top", indent=1, wrap_text=True)   # a unit, apart from its value

FMT_USD = '#,##0;[Red]-#,##0'
FMT_USD2 = '#,##0.00;[Red]-#,##0.00'
FMT_NUM0 = '#,##0'
FMT_NUM2 = '#,##0.00'
FMT_NUM4 = '#,##0.0000'
FMT_SCI = '0.000E+00'
FMT_USD_M = '#,##0.0,,;[Red]-#,##0.0,,;"-"'   # USD shown in millions (the cell keeps USD); a zero as -
FMT_TRILLION = '#,##0.00,,,,'                # difficulty in T (10^12): 149.30, never 1.493E+14
FMT_BTC = '#,##0.0000'
FMT_SMALL = '0.000000000'
FMT_PCT = '0.0%'
FMT_MONTH = 'yyyy-mm'
FMT_INT = '0'


@lru_cache(maxsize=16384)
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


def header_row(ws: Worksheet, row: int, headers, *, first_column: int = 1, widths=None, wrap: bool = False) -> None:
    """Bold headers on the header fill from ``first_column``; ``widths`` sets column widths
    (one number for all, or one per header, ``None`` to leave a column as it is)."""
    for j, h in enumerate(headers):
        c = ws.cell(row=row, column=first_column + j, value=h)
        c.font = BOLD
        c.fill = HEADER_FILL
        if wrap:
            c.alignment = WRAP
        w = widths[j] if isinstance(widths, (list, tuple)) else widths
        if w is not None:
            ws.column_dimensions[col(first_column + j)].width = w


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


def merge_across(ws: Worksheet, row: int, first_column: int, last_column: int) -> None:
    """Merge ``row`` from ``first_column`` to ``last_column`` (the cells after the first stay empty). Only the
    range is recorded: openpyxl's ``merge_cells`` also makes a placeholder object per cell, for nothing."""
    if last_column > first_column:
        ws.merged_cells.add(f"{col(first_column)}{row}:{col(last_column)}{row}")


def title(ws: Worksheet, text: str, note: str = "") -> None:
    """The sheet's title (row 1) and its note (row 2; the print set-up wraps it across the first page)."""
    ws.cell(row=1, column=1, value=text).font = TITLE
    ws.row_dimensions[1].height = TITLE_ROW_PT
    if note:
        c = ws.cell(row=2, column=1, value=note)
        c.font = NOTE


def as_excel_date(month: str) -> date:
    y, m = month.split("-")
    return date(int(y), int(m), 1)
