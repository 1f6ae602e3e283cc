"""Where imported rows came from, and the scenario schema's problems (``fleet[3].count``) mapped back to the
cell they came from, so the user can fix the sheet, not guess at JSON paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from minerplan.scenario.errors import Problem
from minerplan.sheets.importing.problems import Place
from minerplan.sheets.importing.tables import Table


@dataclass(frozen=True)
class HourlyOrigin:
    """Where each site's hourly prices sit: for error messages about them."""

    table: Table
    rows: dict[int, dict[int, int]]  # site index -> {calendar month 0-11 -> sheet row}


@dataclass(frozen=True)
class TableOrigin:
    """Where imported rows came from, so schema errors can name the cell."""

    source: str
    table: Table
    row_numbers: tuple[int, ...]
    hourly: HourlyOrigin | None = None
    #: True when the file holds an hourly price table (an .xlsx with an 'Hourly prices' sheet).
    hourly_given: bool = False

    def place(self, index: int, subpath: str, message: str = "") -> tuple[Place, str]:
        """The cell of row ``index`` holding ``subpath`` (a dotted field, maybe with [i][j]),
        and what of the subpath the cell does not already name (for the message)."""
        row = self.row_numbers[index]
        hourly = self._hourly_place(index, subpath, message)
        if hourly is not None:
            return hourly, ""
        fields = [f for f in self.table.columns
                  if subpath == f or subpath.startswith(f + ".") or subpath.startswith(f + "[")]
        if fields:
            return self.table.place(row, max(fields, key=len)), ""
        return self.table.place(row), subpath

    def _hourly_place(self, index: int, subpath: str, message: str) -> Place | None:
        """The hourly cell of a profile problem: from the path (``...[3][5]``) or, for the
        schema's range check, from its message (``row 3 hour 5: ...``)."""
        m = re.fullmatch(r"hourly_price_usd_per_mwh(?:\[(\d+)\](?:\[(\d+)\])?)?", subpath)
        if not m or self.hourly is None or index not in self.hourly.rows:
            return None
        month, hour = m.group(1), m.group(2)
        if month is None:
            m = re.match(r"row (\d+) hour (\d+)\b", message)
            month, hour = (m.group(1), m.group(2)) if m else (None, None)
        months = self.hourly.rows[index]
        row = months.get(int(month)) if month is not None else min(months.values())
        if row is None:
            return None
        column = f"H{int(hour):02d}" if hour is not None else None
        return self.hourly.table.place(row, column if column in self.hourly.table.columns else None)


class TableRows(list):
    """The rows read from a file (a list of dicts ready for the scenario), plus where each came from."""

    def __init__(self, items: Iterable[dict], origin: TableOrigin | None = None):
        super().__init__(items)
        self.origin = origin


def translate_problems(problems: list[Problem], key: str, origin: TableOrigin | None) -> list[Problem]:
    """``fleet[3].count`` -> the cell of that row and column, with the schema's message kept."""
    out: list[Problem] = []
    for p in problems:
        m = re.fullmatch(rf"{key}\[(\d+)\](?:\.(.+))?", p.path)
        if origin is None or m is None or int(m.group(1)) >= len(origin.row_numbers):
            out.append(p)
            continue
        place, rest = origin.place(int(m.group(1)), m.group(2) or "", p.message)
        message = f"{rest}: {p.message}" if rest else p.message
        if origin.hourly is not None and place.sheet == origin.hourly.table.grid.name and place.col:
            # the cell names the month and hour; the schema's "row 2 hour 5" counts from 0
            message = re.sub(r"^row \d+ hour \d+: ", "", message)
        out.append(place.problem(message, p.omitted))
    return out
