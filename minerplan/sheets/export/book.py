"""The workbook object of an export and its fast cell writer: cells as XML text spliced into the saved file.

A big plan holds a hundred thousand formulas; openpyxl's per-cell objects made writing them the
slow part of an export, so :class:`Book` writes the cells itself (see its docstring) while
openpyxl writes everything around them. A sheet Excel could not open (more rows or columns than
it allows) is refused before the file is written (:class:`WorkbookTooLarge`).
"""

from __future__ import annotations

import os
import re
import zipfile
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from minerplan.sheets.export.cells import col

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_EPOCH = date(1899, 12, 30)


def xml_escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def style_attr(sid: int) -> str:
    return f' s="{sid}"' if sid else ""


def xml_formula(ref_: str, formula: str, sid: int) -> str:
    return f'<c r="{ref_}"{style_attr(sid)}><f>{xml_escape(formula)}</f></c>'


def xml_text(ref_: str, text: str, sid: int) -> str:
    """An inline string: whatever it holds, it is text (never a formula); XML-illegal characters become U+FFFD."""
    clean = _ILLEGAL_XML.sub("\ufffd", text)
    return f'<c r="{ref_}"{style_attr(sid)} t="inlineStr"><is><t xml:space="preserve">{xml_escape(clean)}</t></is></c>'


def xml_number(ref_: str, value: float, sid: int) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref_}"{style_attr(sid)} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref_}"{style_attr(sid)}><v>{value}</v></c>'
    if value != value or value in (float("inf"), float("-inf")):
        return f'<c r="{ref_}"{style_attr(sid)} t="e"><v>#NUM!</v></c>'
    return f'<c r="{ref_}"{style_attr(sid)}><v>{float(value)!r}</v></c>'


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
    Row heights and row outline groups (:meth:`group_rows`) are attributes of
    the ``<row>`` elements written here (``ht``, ``outlineLevel``, ``hidden``,
    ``collapsed``); the sheet's ``outlinePr``/``sheetFormatPr`` through openpyxl.
    """

    def __init__(self):
        self.wb = Workbook()
        self._scratch: Worksheet | None = None   # a sheet to mint cell formats on, removed before saving
        self._styles: dict[tuple, int] = {}
        self._keep: list = []   # the style objects keyed by id() above, kept alive
        self.rows: dict[str, dict[int, dict[int, str]]] = {}
        self.heights: dict[str, dict[int, float]] = {}   # sheet -> row -> height in points (set rows only)
        self.print_pages: dict[str, int] = {}   # sheet -> pages its print set-up plans (printing.py)
        self.outline: dict[str, dict[int, int]] = {}   # sheet -> row -> outline level (grouped rows only)
        self.hidden: dict[str, set[int]] = {}   # sheet -> rows in a collapsed group (not shown, not printed)
        self.collapsed: dict[str, set[int]] = {}   # sheet -> summary rows whose group is collapsed (the + button)

    def sid(self, font: Font | None = None, fill: PatternFill | None = None, fmt: str | None = None,
            quote: bool = False, align: Alignment | None = None) -> int:
        """The cell-format index (the ``s`` attribute) of this font, fill, number format and alignment."""
        key = (id(font), id(fill), fmt, quote, id(align))   # style objects are long-lived constants: identity is enough
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
            if align is not None:
                cell.alignment = align
            sid = self._styles[key] = cell.style_id
            self._keep.append((font, fill, align))
        return sid

    def row_height(self, ws: Worksheet, row: int, height_pt: float) -> None:
        """Give ``row`` a fixed height (points): spreadsheets do not grow a row for wrapped text on opening."""
        self.heights.setdefault(ws.title, {})[row] = float(height_pt)

    def height(self, ws: Worksheet, row: int, default_pt: float) -> float:
        return self.heights.get(ws.title, {}).get(row, default_pt)

    def group_rows(self, ws: Worksheet, first: int, last: int, collapsed: bool = True) -> None:
        """Rows ``first`` to ``last`` in a row outline group (level 1), its summary row (the + or - button) the
        row above: bulky detail a reader expands on demand. Collapsed rows are hidden, so a spreadsheet does
        not print them, yet they are in the file and calculate like any other (hidden rows are not skipped
        by formulas; only SUBTOTAL/AGGREGATE can be told to)."""
        if last < first:
            return
        if first < 2:
            raise ValueError("a row group needs a summary row above it")
        levels = self.outline.setdefault(ws.title, {})
        for r in range(first, last + 1):
            levels[r] = 1
        if collapsed:
            self.hidden.setdefault(ws.title, set()).update(range(first, last + 1))
            self.collapsed.setdefault(ws.title, set()).add(first - 1)
        ws.sheet_properties.outlinePr.summaryBelow = False   # the summary row is the one above the group
        ws.sheet_format.outlineLevelRow = 1   # the outline column's width (openpyxl writes it as set)

    def is_hidden(self, ws: Worksheet, row: int) -> bool:
        return row in self.hidden.get(ws.title, ())

    def put(self, ws: Worksheet, row: int, column: int, xml: str) -> None:
        self.rows.setdefault(ws.title, {}).setdefault(row, {})[column] = xml

    def formula(self, ws: Worksheet, row: int, column: int, formula: str, fmt: str | None = None,
                font: Font | None = None, fill: PatternFill | None = None) -> None:
        """A formula cell through the fast writer (no openpyxl cell object): for big repeated blocks."""
        self.put(ws, row, column, xml_formula(f"{col(column)}{row}", formula.lstrip("="),
                                              self.sid(font, fill, fmt)))

    def _absorb_openpyxl_cells(self, ws: Worksheet) -> None:
        rows = self.rows.setdefault(ws.title, {})
        for r, dim in ws.row_dimensions.items():   # heights set through openpyxl: written with the row
            if dim.height is not None:
                self.heights.setdefault(ws.title, {}).setdefault(r, float(dim.height))
            if dim.outlineLevel:   # a group made through openpyxl: kept (group_rows also marks its summary row)
                self.outline.setdefault(ws.title, {})[r] = dim.outlineLevel
            if dim.hidden:
                self.hidden.setdefault(ws.title, set()).add(r)
        ws.row_dimensions.clear()   # else openpyxl writes those rows itself, and sheetData is not empty
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
            heights = self.heights.get(ws.title, {})
            levels = self.outline.get(ws.title, {})
            hidden = self.hidden.get(ws.title, set())
            collapsed = self.collapsed.get(ws.title, set())
            parts = []
            max_r = max_c = 1
            for r in sorted(rows.keys() | heights.keys() | levels.keys() | hidden | collapsed):
                cells = rows.get(r, {})
                ht = heights.get(r)
                head = f'<row r="{r}"' if ht is None else f'<row r="{r}" ht="{ht:g}" customHeight="1"'
                if r in hidden:
                    head += ' hidden="1"'
                if r in levels:
                    head += f' outlineLevel="{levels[r]}"'
                if r in collapsed:
                    head += ' collapsed="1"'
                parts.append(head + ">" + "".join(cells[c] for c in sorted(cells)) + "</row>")
                max_r = max(max_r, r)
                max_c = max(max_c, max(cells, default=1))
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
