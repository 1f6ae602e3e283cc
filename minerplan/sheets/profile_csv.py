"""Hourly price profiles from CSV: 12 rows (January..December) x 24 hourly prices (hour 0..23), USD/MWh.

The Sites view loads a site's ``hourly_price_usd_per_mwh`` from such a file. The file is untrusted:
its size is capped, it must be UTF-8 text, and every problem names the file's row and column (both
1-based, as a spreadsheet shows them) and the calendar month of the row, so it can be fixed.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from minerplan.scenario.errors import Problem, ScenarioError

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December"]
MAX_PROFILE_BYTES = 1_000_000
MAX_LISTED_PROBLEMS = 20
PRICE_LIMIT = 100_000  # |USD/MWh|, as the scenario rule

class ProfileError(ScenarioError):
    """A 12 x 24 hourly price CSV that cannot be used; problems name the row and column."""

    headline = "invalid hourly price profile"


def parse_profile_csv(text: str, source: str | None = None) -> list[list[float]]:
    """12 rows (January..December) x 24 hourly prices (hour 0..23), USD/MWh.

    Blank lines are skipped; an optional header row (no numbers in it) and an
    optional leading label column (``Jan``...) are allowed. Commas, semicolons or
    tabs separate values. Errors name the file's row and column (both 1-based, as
    a spreadsheet shows them) and the calendar month of the row.
    """
    sample = text[:4096]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    numbered = [(line, [c.strip() for c in r]) for line, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise ProfileError([Problem("file", "is empty; expected 12 rows (January..December) x 24 hourly "
                                            "prices in USD/MWh")], source)
    if not any(_number(c) is not None for c in numbered[0][1] if c):
        numbered = numbered[1:]  # a header row
    # Trailing empty cells (a trailing delimiter) do not count.
    numbered = [(line, _rstrip_empty(cells)) for line, cells in numbered]
    label_column = bool(numbered) and all(len(c) == 25 and _number(c[0]) is None for _, c in numbered)
    problems: list[Problem] = []
    if len(numbered) != 12:
        problems.append(Problem("rows", f"found {len(numbered)} data rows, expected 12 (one per calendar month, "
                                        "January..December)"))
    out: list[list[float]] = []
    for k, (line, cells) in enumerate(numbered):
        where = f"row {line}" + (f" ({MONTH_NAMES[k]})" if k < 12 else "")
        first_col = 1
        if label_column:
            cells, first_col = cells[1:], 2
        if len(cells) != 24:
            problems.append(Problem(where, f"has {len(cells)} values, expected 24 (hours 0..23)"))
        values = []
        for j, cell in enumerate(cells):
            col = j + first_col
            x = _number(cell)
            if x is None:
                problems.append(Problem(f"{where}, column {col}", f"{cell!r} is not a number" if cell
                                        else "is empty; expected a price in USD/MWh"))
            elif not math.isfinite(x):
                problems.append(Problem(f"{where}, column {col}", f"{cell!r} is not a finite number"))
            elif abs(x) > PRICE_LIMIT:
                problems.append(Problem(f"{where}, column {col}",
                                        f"{x:g} USD/MWh is out of range (|price| <= {PRICE_LIMIT:,})"))
            else:
                values.append(x)
        out.append(values)
        if len(problems) >= MAX_LISTED_PROBLEMS:
            problems.append(Problem("file", "more problems not listed"))
            break
    if problems:
        raise ProfileError(problems, source)
    return out


def _rstrip_empty(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def read_profile_csv(path: str | Path) -> list[list[float]]:
    """Read and check a 12 x 24 price CSV (see :func:`parse_profile_csv`)."""
    source = str(path)
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError([Problem("file", f"is larger than {MAX_PROFILE_BYTES:,} bytes; a 12 x 24 profile "
                                                "is a few kB")], source)
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ProfileError([Problem("file", "is not UTF-8 text (save it as CSV UTF-8)")], source) from None
    except OSError as e:
        raise ProfileError([Problem("file", f"cannot be read: {e.strerror or e}")], source) from None
    return parse_profile_csv(text, source)
