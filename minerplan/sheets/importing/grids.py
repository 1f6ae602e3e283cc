"""A sheet or a CSV file as a grid of cell values by 1-based (row, column), so the table search reads both alike."""

from __future__ import annotations

from typing import Any, Iterable

from minerplan.sheets.importing import limits
from minerplan.sheets.importing.problems import Place


class Grid:
    """Cell values by 1-based (row, column), the same for a worksheet and a CSV file."""

    name: str
    csv: bool
    max_row: int
    max_col: int
    #: A ';'-separated CSV file (Excel's layout where the decimal separator is a comma): ``1.200`` is ambiguous.
    dot_groups: bool = False

    def value(self, row: int, col: int) -> Any:
        raise NotImplementedError

    def header_rows(self) -> Iterable[int]:
        raise NotImplementedError

    def rows_holding_values(self, start: int) -> Iterable[int]:
        """Row numbers from ``start`` on that may hold a value, ascending; every other row is blank."""
        return range(start, self.max_row + 1)

    def place(self, row: int | None = None, col: int | None = None, header: str = "") -> Place:
        return Place(self.name, row, col, header, self.csv)


class CsvGrid(Grid):
    csv = True

    def __init__(self, name: str, records: dict[int, list[str]], delimiter: str = ","):
        self.name, self.records, self.delimiter = name, records, delimiter   # row -> fields, non-blank rows only
        self.max_row = max(records, default=0)
        self.max_col = min(max((len(r) for r in records.values()), default=0), limits.MAX_SCAN_COLUMNS)
        self.dot_groups = delimiter == ";"

    def value(self, row: int, col: int) -> Any:
        rec = self.records.get(row, ())
        return rec[col - 1] if 0 < col <= len(rec) else None

    def header_rows(self) -> Iterable[int]:
        """A CSV file has no title: its first non-empty line is the header."""
        return [min(self.records)] if self.records else []

    def rows_holding_values(self, start: int) -> Iterable[int]:
        return sorted(r for r in self.records if r >= start)


class SheetGrid(Grid):
    """A worksheet's values as :func:`read_xlsx` streamed them: row -> column -> value, only
    cells holding something (an :class:`Uncalculated` for a formula without a stored value)."""

    csv = False

    def __init__(self, name: str, cells: dict[int, dict[int, Any]]):
        self.name, self.cells = name, cells
        self.max_row = max(cells, default=0)
        self.max_col = min(max((max(row) for row in cells.values() if row), default=0), limits.MAX_SCAN_COLUMNS)

    def value(self, row: int, col: int) -> Any:
        return self.cells.get(row, {}).get(col)

    def header_rows(self) -> Iterable[int]:
        """A sheet may open with a title and notes (the template and the export do)."""
        return range(1, min(self.max_row, limits.HEADER_SEARCH_ROWS) + 1)

    def rows_holding_values(self, start: int) -> Iterable[int]:
        return sorted(r for r in self.cells if r >= start)
