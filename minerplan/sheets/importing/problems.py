"""Problems of an import, each at the place the user sees: ``Fleet!D7 (Hashrate [TH/s per unit]): expected
a number, got 'fast'`` in a sheet, ``fleet.csv row 7 (Units): ...`` in a CSV file.
"""

from __future__ import annotations

from dataclasses import dataclass

from minerplan.scenario.errors import Problem, ScenarioError, escape_control, safe_path


@dataclass(frozen=True)
class CellProblem(Problem):
    """A :class:`Problem` at a place in a sheet, shown as ``Fleet!D7 (Units): message``.

    ``path`` stays the bare place (``Fleet!D7``, ``fleet.csv row 7``) so a caller can
    point at the cell; ``header`` is the column title the user sees above it.
    """

    header: str = ""

    def __str__(self) -> str:
        where = safe_path(self.path)
        if self.header:
            where += f" ({escape_control(self.header)})"
        return f"{where}: {escape_control(self.message)}"


class TableImportError(ScenarioError):
    """A fleet or site table cannot be imported; carries every problem found."""

    headline = "cannot import"


def column_letter(index: int) -> str:
    """1 -> ``A``, 27 -> ``AA`` (without importing openpyxl for a CSV)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Place:
    """Where a value sits: a sheet (or CSV file), optionally a row and a column."""

    sheet: str
    row: int | None = None
    col: int | None = None
    header: str = ""
    csv: bool = False

    @property
    def path(self) -> str:
        if self.row is None:
            return self.sheet
        if self.csv or self.col is None:  # a CSV has no column letters; the header names the column
            return f"{self.sheet} row {self.row}"
        return f"{self.sheet}!{column_letter(self.col)}{self.row}"

    def problem(self, message: str, omitted: int = 0) -> CellProblem:
        return CellProblem(self.path, message, omitted, header=self.header)


class CellError(ValueError):
    """A cell's value does not fit its column; the message says what was expected."""


def fail(source: str, message: str) -> TableImportError:
    return TableImportError([Problem("", message)], source)


def raise_if(problems: list[Problem], source: str) -> None:
    if problems:
        raise TableImportError(problems, source)
