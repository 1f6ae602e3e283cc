"""A table in a grid: the header row (searched for at the top of a sheet), the data rows below it (a blank
row with data below it refused), and each row's cells parsed by their column's kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minerplan.scenario.errors import Problem
from minerplan.scenario.fields import Column
from minerplan.sheets.importing import limits
from minerplan.sheets.importing.cells import Uncalculated, is_blank, parse_cell, show_value
from minerplan.sheets.importing.csv_text import split_fields_hint
from minerplan.sheets.importing.grids import CsvGrid, Grid
from minerplan.sheets.importing.headers import header_names, norm_header
from minerplan.sheets.importing.problems import CellError, Place, column_letter


@dataclass
class Table:
    """A table as found in a grid: where each layout column is and the raw values of each data row."""

    grid: Grid
    header_row: int
    columns: dict[str, tuple[int, str]]  # field -> (column index, header text as in the file)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, field -> raw value)

    def place(self, row: int | None, fld: str | None = None) -> Place:
        if fld is None or fld not in self.columns:
            return self.grid.place(row)
        col, header = self.columns[fld]
        return self.grid.place(row, col, header)


def _match_header_row(grid: Grid, row: int, names: dict[str, Column]) -> tuple[dict, list[Problem]]:
    """The layout columns in ``row`` (field -> (index, header)) and any duplicated column."""
    found: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for col in range(1, grid.max_col + 1):
        raw = grid.value(row, col)
        column = names.get(norm_header(raw)) if isinstance(raw, str) else None
        if column is None:
            continue  # not in the layout: a derived column of an export, a comment ... ignored
        header = " ".join(raw.split())
        if column.field in found:
            first = found[column.field][0]
            also = f"column {column_letter(first)}" if not grid.csv else f"column {first}"
            problems.append(grid.place(row, col, header).problem(
                f"the column {column.header!r} appears twice (also {also}); keep one"))
            continue
        found[column.field] = (col, header)
    return found, problems


def _find_table(grid: Grid, layout: tuple[Column, ...], problems: list[Problem]) -> Table | None:
    """The header row: the first row holding every required header of the layout."""
    names = header_names(layout)
    required = [c for c in layout if c.required]
    best: tuple[int, int, dict] | None = None  # (required found, row, columns)
    for row in grid.header_rows():
        found, dupes = _match_header_row(grid, row, names)
        have = sum(c.field in found for c in required)
        if have == len(required):
            problems.extend(dupes)
            return Table(grid, row, found)
        if have and (best is None or have > best[0]):
            best = (have, row, found)
    wanted = ", ".join(repr(c.header) for c in required)
    if best is None:
        where = "in its first line" if grid.csv else f"in the first {limits.HEADER_SEARCH_ROWS} rows"
        problems.append(grid.place().problem(f"no header row found {where}; the table needs the columns {wanted}"))
    else:
        missing = ", ".join(repr(c.header) for c in required if c.field not in best[2])
        problems.append(grid.place(best[1]).problem(
            f"the header row is missing the required column(s) {missing} (required: {wanted})"))
    return None


def _add_rows(ranges: list[list[int]], first: int, last: int) -> None:
    """Add rows ``first..last`` to ascending ranges ``[[a, b], ...]``, merging adjacent ones."""
    if first > last:
        return
    if ranges and first <= ranges[-1][1] + 1:
        ranges[-1][1] = max(ranges[-1][1], last)
    else:
        ranges.append([first, last])


def _ranges_text(ranges: list[list[int]], limit: int = 8) -> str:
    """[[6, 8], [11, 11]] -> ``6-8, 11`` (at most ``limit`` ranges, then how many rows in all)."""
    text = ", ".join(f"{a:,}" if a == b else f"{a:,}-{b:,}" for a, b in ranges[:limit])
    if len(ranges) > limit:
        text += f", ... ({sum(b - a + 1 for a, b in ranges):,} rows in all)"
    return text


def _collect_rows(table: Table, problems: list[Problem]) -> None:
    """Data rows: every row below the header holding a value in one of the layout's columns.

    A row blank in every layout column inside the table (data below it) is refused, in a
    sheet and in a CSV file alike: ending the table there would drop the rows below it
    silently (an import that replaces 6 cohorts with 3), and skipping it would read a
    totals line or a second table below as cohorts. Deleting the blank row is the fix the
    message names. Blank rows after the last data row are fine, and so is anything in
    columns outside the layout (derived columns of an export, notes to the right): that is
    the only content treated as "not table data". The rows below a blank row are still
    parsed, so the user sees their problems in the same pass.
    """
    grid = table.grid
    last = table.header_row       # the last data row so far (the header to begin with)
    blank: list[list[int]] = []   # blank rows with data below them, as ranges
    below: list[list[int]] = []   # data rows below a blank row, as ranges
    too_many = None
    for row in grid.rows_holding_values(table.header_row + 1):
        values = {f: grid.value(row, col) for f, (col, _) in table.columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        _add_rows(blank, last + 1, row - 1)
        last = row
        if blank:
            _add_rows(below, row, row)
        if len(table.rows) == limits.MAX_DATA_ROWS:
            too_many = grid.place(row).problem(
                f"the table has more than {limits.MAX_DATA_ROWS:,} data rows; split it or remove rows")
            break
        table.rows.append((row, values))
    if blank:
        first = blank[0][0]
        rest = [[first + 1, blank[0][1]]] + blank[1:] if blank[0][1] > first else blank[1:]
        more = f" (and rows {_ranges_text(rest)})" if rest else ""
        where = ("notes and totals do not belong in a CSV table" if grid.csv else
                 "notes and totals belong in columns outside the table or on another sheet")
        hold = (f"row {below[0][0]:,} below it holds" if below[0][0] == below[-1][1]
                else f"rows {_ranges_text(below)} below it hold")
        problems.append(grid.place(first).problem(
            f"this row{more} is blank but {hold} data: delete the blank row{'s' if rest else ''} "
            f"(rows after a blank row are not read silently; {where})"))
    if too_many is not None:
        problems.append(too_many)
    elif not table.rows:
        problems.append(grid.place(table.header_row + 1).problem(
            "the table has no data rows (they start right below the header row)"))


def _check_extra_fields(table: Table, problems: list[Problem]) -> None:
    """A CSV row with a value right of the last header is refused, naming the row and the
    first such field: its fields cannot all be where the header says.

    The usual cause is a number with a thousands separator left unquoted (``...,3645,1,200``
    under ``...,Salvage``): the reader sees 1 and 200, and reading on would import a salvage
    of 1. Empty trailing fields (Excel's ``,,,``) are fine.
    """
    grid = table.grid
    if not isinstance(grid, CsvGrid):
        return
    header = grid.records.get(table.header_row, [])
    width = max((i + 1 for i, v in enumerate(header) if not is_blank(v)), default=0)
    last_header = " ".join(str(header[width - 1]).split()) if width else ""
    for row, _ in table.rows:
        record = grid.records.get(row, [])
        extra = [i + 1 for i in range(width, len(record)) if not is_blank(record[i])]
        if not extra:
            continue
        col = extra[0]
        hint = split_fields_hint(record[max(width - 1, 0):extra[-1]], grid.delimiter)
        problems.append(grid.place(row).problem(
            f"the row has {len(record)} fields but the header has {width} (the last is {last_header!r}): field "
            f"{col} (column {column_letter(col)} in a spreadsheet) holds {show_value(record[col - 1])} "
            "under no header, "
            f"so the row's values cannot be matched to their columns{hint}"))


def _parse_row(table: Table, row: int, raw: dict[str, Any], layout: tuple[Column, ...],
               problems: list[Problem]) -> tuple[dict[str, Any], set[str]]:
    """(field -> value for every non-blank valid cell, fields whose cell was invalid)."""
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for column in layout:
        value = raw.get(column.field)
        if isinstance(value, Uncalculated):
            problems.append(table.place(row, column.field).problem(value.message()))
            invalid.add(column.field)
            continue
        if is_blank(value):
            if column.required:
                problems.append(table.place(row, column.field).problem("a value is required here"))
                invalid.add(column.field)
            continue  # optional and blank: the scenario default applies
        try:
            values[column.field] = parse_cell(column, value, table.grid.dot_groups)
        except CellError as e:
            problems.append(table.place(row, column.field).problem(str(e)))
            invalid.add(column.field)
    return values, invalid


def read_table(grid: Grid, layout: tuple[Column, ...], problems: list[Problem],
                allow_empty: bool = False) -> tuple[Table | None, list[tuple[int, dict, set]]]:
    """Find, collect and parse one table: (the table, [(row, values, invalid fields)])."""
    table = _find_table(grid, layout, problems)
    if table is None:
        return None, []
    row_problems: list[Problem] = []
    _collect_rows(table, row_problems)
    _check_extra_fields(table, row_problems)
    if allow_empty and not table.rows:
        row_problems = []
    problems.extend(row_problems)
    parsed = []
    for row, raw in table.rows:
        values, invalid = _parse_row(table, row, raw, layout, problems)
        parsed.append((row, values, invalid))
    return table, parsed
