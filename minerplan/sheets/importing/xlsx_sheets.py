"""A worksheet's cells, streamed in one pass with every sheet limit checked as the rows go by, and read as
openpyxl's ``data_only`` would (the values Excel stored, never computed ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from minerplan.scenario.errors import escape_control
from minerplan.sheets.importing import limits
from minerplan.sheets.importing.cells import Uncalculated
from minerplan.sheets.importing.grids import Grid, SheetGrid
from minerplan.sheets.importing.problems import CellError, Place, TableImportError, fail
from minerplan.sheets.importing.xlsx_parts import (WorkbookParts, find_sheet, local_name, open_workbook,
                                                   rich_text, shared_strings)

_CELL_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")


def _column_index(ref: str | None) -> int | None:
    m = _CELL_REF_RE.fullmatch(ref or "")
    if m is None:
        return None
    index = 0
    for ch in m.group(1).upper():
        index = index * 26 + ord(ch) - 64
    return index


@dataclass
class _RawCell:
    """A cell as stored: its type (``t``), style index, stored value, inline text and formula."""

    kind: str
    style: int
    value: str | None
    formula: str | None


def _stream_sheet(wb: WorkbookParts, title: str) -> tuple[dict[int, dict[int, _RawCell]], set[int]]:
    """One pass over a worksheet's XML: (row -> column -> cell for cells holding something in the
    first limits.MAX_SCAN_COLUMNS columns, the shared string indices they use).

    The limits are checked as the rows stream past, so a sheet too long is refused after
    20,032 rows whatever its size: a value below limits.MAX_SHEET_ROWS, more than limits.MAX_SHEET_CELLS
    cells or limits.MAX_SHEET_ROW_ELEMENTS rows, or rows out of order (Excel writes them in order;
    reading one out of order could overwrite another). Reading stops at the end of the cell
    data; nothing after it (merged ranges, formatting rules) is parsed.
    """
    from xml.etree.ElementTree import iterparse

    part = wb.sheets[title]
    place = Place(title)
    rows: dict[int, dict[int, _RawCell]] = {}
    wanted: set[int] = set()
    masters: dict[str, tuple[str, str]] = {}    # shared formula id -> (formula, its cell)
    n_rows = n_cells = row_no = 0
    sheet_data = None

    def refuse(message: str) -> TableImportError:
        return TableImportError([place.problem(message)], wb.source)

    root = None
    depth = elements = 0
    with wb.zf.open(part) as stream:
        for event, el in iterparse(stream, events=("start", "end")):
            tag = local_name(el.tag)
            if event == "start":
                depth += 1
                root = el if root is None else root
                if tag == "sheetData":
                    sheet_data = el
                continue
            depth -= 1
            elements += 1
            if elements > limits.MAX_SHEET_ELEMENTS:
                raise refuse(f"the sheet's XML has more than {limits.MAX_SHEET_ELEMENTS:,} elements; copy the table to "
                             "import into a new sheet")
            if tag == "sheetData":
                break
            if depth == 1:
                root.clear()     # a finished part of the sheet before its cells (column widths, views ...)
            if tag != "row":
                continue
            n_rows += 1
            r = el.get("r")
            number = int(r) if r and r.isdigit() else row_no + 1
            if number <= row_no:
                raise refuse(f"row {number:,} comes after row {row_no:,} in the file (rows out of order: not as "
                             "Excel writes a workbook; open it in Excel or LibreOffice and save it again)")
            row_no = number
            col_no = 0
            kept: dict[int, _RawCell] = {}
            for c in el:
                if local_name(c.tag) != "c":
                    continue
                n_cells += 1
                col_no = _column_index(c.get("r")) or col_no + 1
                kind = c.get("t", "n")
                value = formula = None
                for child in c:
                    ctag = local_name(child.tag)
                    if ctag == "v":
                        value = child.text or ""
                    elif ctag == "is":
                        value = rich_text(child)
                    elif ctag == "f":
                        formula = _formula(child, c.get("r") or "", masters)
                if value is None and formula is None:
                    continue      # formatted, empty
                if kind == "s" and value:
                    if not value.isdigit():
                        raise refuse(f"cell {c.get('r') or col_no} refers to shared text {value[:20]!r}, "
                                     "which is not an index (the workbook is damaged)")
                    wanted.add(int(value))
                if col_no <= limits.MAX_SCAN_COLUMNS:
                    style = c.get("s", "0")
                    kept[col_no] = _RawCell(kind, int(style) if style.isdigit() else 0, value, formula)
            if n_cells > limits.MAX_SHEET_CELLS:
                raise refuse(f"the sheet has more than {limits.MAX_SHEET_CELLS:,} cells (formatted empty ones "
                             "included); copy the table to import into a new sheet")
            if n_rows > limits.MAX_SHEET_ROW_ELEMENTS:
                raise refuse(f"the sheet has more than {limits.MAX_SHEET_ROW_ELEMENTS:,} rows, more than Excel allows "
                             "(the workbook is damaged)")
            if kept:
                if row_no > limits.MAX_SHEET_ROWS:
                    raise refuse(f"row {row_no:,} holds a value, below the last row an import reads "
                                 f"({limits.MAX_SHEET_ROWS:,}: at most {limits.MAX_DATA_ROWS:,} data rows under a "
                                 f"header in the first {limits.HEADER_SEARCH_ROWS} rows); split the table or delete "
                                 "the rows below it")
                rows[row_no] = kept
            el.clear()
            if sheet_data is not None:
                sheet_data.clear()   # the rows read so far: nothing of a long sheet stays in memory
    return rows, wanted


def _formula(f, ref: str, masters: dict[str, tuple[str, str]]) -> str:
    """A cell's formula as ``=...``; a shared formula's dependent cell gets the master's formula moved to it."""
    text = f.text or ""
    si = f.get("si")
    if f.get("t") == "shared" and si is not None:
        if text:
            masters[si] = (text, ref)
        elif si in masters:
            from openpyxl.formula.translate import Translator

            master, origin = masters[si]
            try:
                return Translator("=" + master, origin=origin).translate_formula(ref)
            except Exception:  # noqa: BLE001 - a formula only shown in a message
                return "=" + master
    return "=" + text


def _cell_value(cell: _RawCell, wb: WorkbookParts, strings: dict[int, str]) -> Any:
    """The value openpyxl's ``data_only`` reading gives a cell (the value Excel stored, never a
    computed one), or an :class:`Uncalculated` for a formula with no stored value.

    An empty stored value is no value (openpyxl writes ``<v/>`` for every formula), except for a
    formula of text type (``t="str"``): its empty result was calculated and reads as blank.
    """
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    kind, v = cell.kind, cell.value
    if kind in ("inlineStr", "str") and v is not None:
        return v
    if not v:
        return Uncalculated(cell.formula) if cell.formula is not None else None
    if kind == "e":
        return v
    if kind == "s":
        if int(v) not in strings:
            raise CellError(f"refers to shared text number {v}, which the workbook does not have")
        return strings[int(v)]
    if kind == "b":
        return v.strip() not in ("0", "")
    if kind == "d":
        return from_ISO8601(v)
    number = float(v) if "." in v or "e" in v or "E" in v else int(v)
    if cell.style in wb.date_styles:
        try:
            return from_excel(number, wb.epoch, timedelta=cell.style in wb.duration_styles)
        except (OverflowError, ValueError):
            return "#VALUE!"
    return number


def _read_sheet(wb: WorkbookParts, title: str, raw: dict[int, dict[int, _RawCell]],
                strings: dict[int, str]) -> SheetGrid:
    cells: dict[int, dict[int, Any]] = {}
    for row, found in raw.items():
        values = {}
        for col, cell in found.items():
            try:
                value = _cell_value(cell, wb, strings)
            except ValueError as e:
                raise TableImportError([Place(title, row, col).problem(
                    f"cannot read the cell ({e}); open the workbook in Excel or LibreOffice and save it again")],
                    wb.source) from None
            if value is not None:
                values[col] = value
        if values:
            cells[row] = values
    return SheetGrid(title, cells)


def read_xlsx(data: bytes, source: str, main_sheet: str, extra_sheet: str | None) -> tuple[Grid, Grid | None]:
    """The grids of the main sheet and of the optional extra one, each streamed once."""
    if not data:
        raise fail(source, "the file is empty")
    wb = None
    try:
        wb = open_workbook(data, source)
        title = find_sheet(wb, main_sheet)
        if title is None:
            sheets = ", ".join(repr(t) for t in list(wb.sheets)[:20])
            raise fail(source, f"no sheet named {main_sheet!r} (the workbook has {sheets or 'no sheets'})")
        titles = [title] + [t for t in [find_sheet(wb, extra_sheet) if extra_sheet else None] if t is not None]
        streamed = [_stream_sheet(wb, t) for t in titles]
        strings = shared_strings(wb, set().union(*(wanted for _, wanted in streamed)))
        grids = [_read_sheet(wb, t, raw, strings) for t, (raw, _) in zip(titles, streamed)]
    except TableImportError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged workbook can fail anywhere in its XML
        detail = escape_control(str(e))[:200]
        raise fail(source, f"cannot read the workbook: {type(e).__name__}: {detail}") from None
    finally:
        if wb is not None:
            wb.zf.close()
    return grids[0], (grids[1] if len(grids) > 1 else None)
