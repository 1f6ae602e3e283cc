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

import os
import re
import zipfile
from datetime import date, datetime
from functools import lru_cache
from typing import Callable, Iterable

from openpyxl import Workbook
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


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_EPOCH = date(1899, 12, 30)


def _esc(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _s(sid: int) -> str:
    return f' s="{sid}"' if sid else ""


def xml_formula(ref_: str, formula: str, sid: int) -> str:
    return f'<c r="{ref_}"{_s(sid)}><f>{_esc(formula)}</f></c>'


def xml_text(ref_: str, text: str, sid: int) -> str:
    """An inline string: whatever it holds, it is text (never a formula); XML-illegal characters become U+FFFD."""
    clean = _ILLEGAL_XML.sub("\ufffd", text)
    return f'<c r="{ref_}"{_s(sid)} t="inlineStr"><is><t xml:space="preserve">{_esc(clean)}</t></is></c>'


def xml_number(ref_: str, value: float, sid: int) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref_}"{_s(sid)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref_}"{_s(sid)}><v>{value}</v></c>'
    if value != value or value in (float("inf"), float("-inf")):
        return f'<c r="{ref_}"{_s(sid)} t="e"><v>#NUM!</v></c>'
    return f'<c r="{ref_}"{_s(sid)}><v>{float(value)!r}</v></c>'


EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384


class WorkbookTooLarge(ValueError):
    """The workbook would exceed a sheet size Excel can open."""


class Book:
    """An openpyxl workbook whose cell data is written by MinerPlan's own fast XML writer.

    openpyxl keeps everything around the cells (styles, defined names,
    freeze panes, print setup, validations, charts); the cells themselves, a
    hundred thousand formulas in a big plan, are serialized here as strings,
    several times faster than openpyxl's per-cell objects. ``save`` lets
    openpyxl write the workbook with empty sheets, then splices each sheet's
    ``<sheetData>`` into the file. Cells written through openpyxl's API
    (``ws.cell``) still count: they are moved into the fast rows at save.
    """

    def __init__(self):
        self.wb = Workbook()
        self._scratch: Worksheet | None = None   # a sheet to mint cell formats on, removed before saving
        self._styles: dict[tuple, int] = {}
        self._keep: list = []   # the style objects keyed by id() above, kept alive
        self.rows: dict[str, dict[int, dict[int, str]]] = {}

    def sid(self, font: Font | None = None, fill: PatternFill | None = None, fmt: str | None = None,
            quote: bool = False) -> int:
        """The cell-format index (the ``s`` attribute) of this font, fill and number format."""
        key = (id(font), id(fill), fmt, quote)   # style objects are long-lived constants: identity is enough
        sid = self._styles.get(key)
        if sid is None:
            if self._scratch is None:
                self._scratch = self.wb.create_sheet("_styles")
            cell = self._scratch.cell(row=len(self._styles) + 1, column=1)
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if fmt is not None:
                cell.number_format = fmt
            if quote:
                cell.quotePrefix = True
            sid = self._styles[key] = cell.style_id
            self._keep.append((font, fill))
        return sid

    def put(self, ws: Worksheet, row: int, column: int, xml: str) -> None:
        self.rows.setdefault(ws.title, {}).setdefault(row, {})[column] = xml

    def formula(self, ws: Worksheet, row: int, column: int, formula: str, fmt: str | None = None,
                font: Font | None = None, fill: PatternFill | None = None) -> None:
        """A formula cell through the fast writer (no openpyxl cell object): for big repeated blocks."""
        self.put(ws, row, column, xml_formula(f"{col(column)}{row}", formula.lstrip("="),
                                              self.sid(font, fill, fmt)))

    def _absorb_openpyxl_cells(self, ws: Worksheet) -> None:
        rows = self.rows.setdefault(ws.title, {})
        for (r, c), cell in ws._cells.items():
            v = cell.value
            ref_ = f"{col(c)}{r}"
            sid = cell.style_id
            if v is None:
                if sid:   # an empty input cell keeps its input style
                    rows.setdefault(r, {}).setdefault(c, f'<c r="{ref_}" s="{sid}"/>')
                continue
            if cell.data_type == "f":
                xml = xml_formula(ref_, str(v)[1:], sid)
            elif isinstance(v, str):
                xml = xml_text(ref_, v, sid)
            elif isinstance(v, datetime):
                d = v - datetime(1899, 12, 30)
                xml = xml_number(ref_, d.days + d.seconds / 86400.0, sid)
            elif isinstance(v, date):
                xml = xml_number(ref_, (v - _EXCEL_EPOCH).days, sid)
            else:
                xml = xml_number(ref_, v, sid)
            rows.setdefault(r, {}).setdefault(c, xml)
        ws._cells.clear()

    def cell_count(self) -> int:
        return sum(len(cells) for rows in self.rows.values() for cells in rows.values())

    def check_limits(self) -> None:
        """Refuse a workbook Excel could not open (more than 1,048,576 rows or 16,384 columns in a sheet)."""
        for title_, rows in self.rows.items():
            if rows and max(rows) > EXCEL_MAX_ROWS:
                raise WorkbookTooLarge(f"sheet {title_!r} would need {max(rows):,} rows; Excel allows "
                                       f"{EXCEL_MAX_ROWS:,}. Split the scenario (fewer cohorts at hourly-priced "
                                       "sites, or fewer sites) and export the parts.")
            widest = max((max(cells) for cells in rows.values() if cells), default=0)
            if widest > EXCEL_MAX_COLUMNS:
                raise WorkbookTooLarge(f"sheet {title_!r} would need {widest:,} columns; Excel allows "
                                       f"{EXCEL_MAX_COLUMNS:,}. Use a shorter horizon.")

    def save(self, path: str) -> None:
        """Write the workbook to ``path`` (a temp file of an atomic write)."""
        if self._scratch is not None:
            self.wb.remove(self._scratch)
            self._scratch = None
        for ws in self.wb.worksheets:
            self._absorb_openpyxl_cells(ws)
        self.check_limits()
        self.wb.save(path)
        data = {}
        for ws in self.wb.worksheets:
            rows = self.rows.get(ws.title, {})
            parts = []
            max_r = max_c = 1
            for r in sorted(rows):
                cells = rows[r]
                parts.append(f'<row r="{r}">' + "".join(cells[c] for c in sorted(cells)) + "</row>")
                max_r = max(max_r, r)
                max_c = max(max_c, max(cells))
            data[ws.path[1:]] = ("".join(parts), f"A1:{col(max_c)}{max_r}")
        _splice_sheet_data(path, data)


def _splice_sheet_data(path: str, data: dict[str, tuple[str, str]]) -> None:
    """Replace each named sheet's empty ``<sheetData/>`` (and its dimension) in the saved package."""
    tmp = path + ".splice"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for item in zin.infolist():
            raw = zin.read(item.filename)
            if item.filename in data:
                rows, dim = data[item.filename]
                xml = raw.decode("utf-8")
                for empty in ("<sheetData></sheetData>", "<sheetData/>", "<sheetData />"):
                    if empty in xml:
                        xml = xml.replace(empty, f"<sheetData>{rows}</sheetData>", 1)
                        break
                else:
                    raise RuntimeError(f"{item.filename}: expected an empty sheetData from openpyxl")
                xml = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dim}"/>', xml, count=1)
                raw = xml.encode("utf-8")
            zout.writestr(item, raw)
    os.replace(tmp, path)


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
        s = _s(book.sid(font, None, fmt))
        for m in range(self.n):
            c = month_col(m)
            cells[FIRST_MONTH_COL + m] = f'<c r="{c}{r}"{s}><f>{_esc(fn(m, c))}</f></c>'
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


def as_excel_date(month: str) -> date:
    y, m = month.split("-")
    return date(int(y), int(m), 1)
