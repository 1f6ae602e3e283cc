"""Dated values from an untrusted CSV file: BTC closes for a fit, difficulty and fees for the backtest.

:func:`load_price_history_csv` reads daily or monthly closes; :func:`load_dated_values_csv` is the
reader under it, for any positive series. The file is untrusted input: it is size-limited
(:data:`MAX_FILE_BYTES`), every problem names the row and the column (``prices.csv row 17, column
close: expected a positive number, got 'n/a'``), values above the scenario's own bounds are refused
(:data:`VALUE_MAX`), dates must strictly increase and at least :data:`MIN_OBSERVATIONS` prices are
needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import stat
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from minerplan.formats import message_number
from minerplan.scenario.errors import Problem, ScenarioError

#: Larger files are refused before they are read.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Fewer prices than this are refused.
MIN_OBSERVATIONS = 24
#: Problems collected before reading stops (the message shows the first 50).
MAX_PROBLEMS = 200
#: Accepted names of the date column and of the price column, in order of preference (case-insensitive).
DATE_COLUMNS = ("date", "timestamp", "time", "day")
PRICE_COLUMNS = ("close", "adj close", "adj_close", "price", "usd")


class PriceHistoryError(ScenarioError):
    """A price history file cannot be used; carries every problem found, each naming row and column."""

    headline = "cannot read price history"


def _read_bytes(path: Path, name: str) -> bytes:
    def fail(message: str) -> PriceHistoryError:
        return PriceHistoryError([Problem(name, message)])
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory, not a CSV file")
        if not stat.S_ISREG(st.st_mode):
            raise fail("not a regular file; give a CSV file")
        if st.st_size > MAX_FILE_BYTES:
            raise fail(f"file is {st.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise fail("not a regular file; give a CSV file")
            data = fh.read(MAX_FILE_BYTES + 1)           # never trust st_size
    except PriceHistoryError:
        raise
    except (FileNotFoundError, NotADirectoryError):
        raise fail("file not found") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or type(e).__name__}") from None
    except ValueError:                                   # e.g. a NUL in the file name
        raise fail("cannot read: not a valid file name") from None
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes")
    return data


def _row_of_byte(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _show(text: str) -> str:
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"'{text}'"


_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_YM_RE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})")
_YMD_RE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_TZ_SUFFIX_RE = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)


#: The largest value each kind of series may hold: the scenario's hard bounds (minerplan.scenario.model),
#: so a history file cannot feed a fit (or a backtest) a close of 1e300.
VALUE_MAX = {"close": (100_000_000.0, "USD"), "difficulty": (1e17, ""), "block_height": (50_000_000.0, ""),
             "fees_btc_per_block": (100.0, "BTC per block")}


def _parse_price(text: str, allow_zero: bool = False, kind: str = "close") -> float:
    t = text.strip()
    if t == "":
        raise ValueError("expected a positive number, the cell is empty")
    if len(t) <= 40 and _NUMBER_RE.fullmatch(t):
        x = float(t)
        top, unit = VALUE_MAX.get(kind, (math.inf, ""))
        if math.isfinite(x) and x > top:
            raise ValueError(f"{_show(t)} is above the largest plausible {kind} "
                             f"({message_number(top)}{' ' + unit if unit else ''})")
        if math.isfinite(x) and (x > 0 or (allow_zero and x == 0)):
            return x
        if not math.isfinite(x):
            raise ValueError(f"expected a positive number, got {_show(t)} (too large)")
        raise ValueError(f"expected a positive number, got {_show(t)}")
    hint = (" (write plain numbers like 91234.5: no thousands separators, currency signs or units)"
            if any(ch.isdigit() for ch in t) else "")
    raise ValueError(f"expected a positive number, got {_show(t)}{hint}")


def _parse_date(text: str) -> dt.datetime:
    """ISO dates: 2025-11-30, 2025/11/30, 2025-11 (a month), with an optional time and time zone
    (converted to UTC); day-first or month-first dates are refused as ambiguous."""
    t = _TZ_SUFFIX_RE.sub("", text.strip())
    if t == "":
        raise ValueError("expected a date like 2025-11-30, the cell is empty")
    try:
        if _YM_RE.fullmatch(t):
            y, m = map(int, _YM_RE.fullmatch(t).groups())
            return dt.datetime(y, m, 1)
        m_ = _YMD_RE.fullmatch(t)
        if m_:
            return dt.datetime(*map(int, m_.groups()))
        if len(t) <= 40 and re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]", t):
            d = dt.datetime.fromisoformat(t.replace(" ", "T", 1) if t[10] == " " else t)
            if d.tzinfo is not None:
                d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return d
    except ValueError:
        pass
    raise ValueError(f"expected a date like 2025-11-30 (year-month-day), got {_show(t)}")


def _guess_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _norm_header(cell: str) -> str:
    return " ".join(cell.strip().strip('"').lower().split())


def load_price_history_csv(path: str | os.PathLike) -> pd.Series:
    """Daily or monthly BTC closes from a CSV file, as a float Series indexed by date.

    See :func:`load_dated_values_csv`; the value column is ``close`` (or one of
    :data:`PRICE_COLUMNS`) and at least :data:`MIN_OBSERVATIONS` prices are needed.
    """
    return load_dated_values_csv(path, value_columns=PRICE_COLUMNS, kind="close",
                                 min_observations=MIN_OBSERVATIONS, error=PriceHistoryError)


def load_dated_values_csv(path: str | os.PathLike, *, value_columns: Sequence[str], kind: str,
                          min_observations: int = 1, error: type[ScenarioError] = ScenarioError,
                          allow_zero: bool = False) -> pd.Series:
    """Dated positive numbers (daily or monthly) from a CSV file, as a float Series indexed by date.

    The header row (the first non-blank row) must have a date column (named
    ``date``, ``timestamp``, ``time`` or ``day``) and a value column (one of
    ``value_columns``, the first present is used; for prices ``close``,
    ``adj close``, ``price`` or ``usd``), case-insensitive; other columns are
    ignored. Delimiter: comma, or ``;`` or tab when the header uses it. A row with
    a value right of the last named header is refused (an unquoted ``48,172`` is
    two fields, and reading on would take a close of 48). Text must be UTF-8 (a
    BOM is fine), or UTF-16 with a byte order mark (see
    :func:`minerplan.sheets.importing.csv_text.decode_text`). Values must be plain positive numbers (zero too with
    ``allow_zero``); dates ISO (``2025-11-30``, ``2025-11``, with an optional
    time). Dates must strictly increase (no duplicates), and at least
    ``min_observations`` values are needed. Rows are numbered as lines of the
    file (the header is usually row 1); ``series.attrs["rows"]`` holds the row of
    each value. Raises ``error`` with every problem found.
    """
    PriceHistoryError = error  # noqa: N806 - the error class this reader raises
    p = Path(path)
    name = p.name or str(path)
    data = _read_bytes(p, name)

    def fail(row: int | None, message: str, column: str | None = None) -> PriceHistoryError:
        return PriceHistoryError([Problem(_where(name, row, column), message)])

    from minerplan.sheets.importing.csv_text import TextDecodeError, decode_text, split_fields_hint  # one answer for a file in both readers

    empty = f"the file is empty; expected a header row naming the columns date and {kind}"
    if data.strip() == b"":
        raise fail(1, empty)
    try:
        text = decode_text(data)
    except TextDecodeError as e:
        row = _row_of_byte(data, e.offset) if e.offset is not None else None
        what = f"; expected CSV text with columns date and {kind}" if str(e).startswith("not a text file") else ""
        raise fail(row, f"{e}{what}") from None
    if text.strip() == "":
        raise fail(1, empty)

    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = _guess_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    header: list[str] | None = None
    header_row = 0
    width = 0      # fields up to the last named header
    date_col = price_col = -1
    rows: list[int] = []
    dates: list[dt.datetime] = []
    prices: list[float] = []
    try:
        for record in reader:
            row = reader.line_num
            if all(c.strip() == "" for c in record):
                continue
            if header is None:
                header, header_row = [_norm_header(c) for c in record], row
                date_col, price_col = _find_columns(header, name, row, kind, tuple(value_columns), error)
                width = max(i + 1 for i, h in enumerate(header) if h)
                continue
            ok = True
            extra = [i for i in range(width, len(record)) if record[i].strip()]
            if extra:
                # "2021-03-31,48,172" under "date,close": reading on would take a close of 48
                hint = split_fields_hint(record[width - 1:extra[-1] + 1], delimiter)
                problems.append(Problem(_where(name, row, None),
                                        f"the row has {len(record)} fields but the header has {width} (the last is "
                                        f"{header[width - 1]!r}): field {extra[0] + 1} holds {_show(record[extra[0]])} "
                                        f"under no header, so the row's values cannot be matched to their "
                                        f"columns{hint}"))
                ok = False
            values = []
            for col, what in ((date_col, "date"), (price_col, "value")):
                label = header[col]
                cell = record[col] if col < len(record) else None
                if cell is None:
                    problems.append(Problem(_where(name, row, label),
                                            f"missing value (the row has {len(record)} "
                                            f"field{'s' if len(record) != 1 else ''})"))
                    ok = False
                    continue
                try:
                    values.append(_parse_date(cell) if what == "date" else _parse_price(cell, allow_zero, kind))
                except ValueError as e:
                    problems.append(Problem(_where(name, row, label), str(e)))
                    ok = False
            if ok:
                rows.append(row)
                dates.append(values[0])
                prices.append(values[1])
            if len(problems) >= MAX_PROBLEMS:
                problems.append(Problem(name, "too many problems; reading stopped here"))
                break
    except csv.Error as e:
        problems.append(Problem(_where(name, reader.line_num, None), f"not a readable CSV row: {e}"))
    if header is None:  # pragma: no cover - a non-blank file always has a header row
        raise fail(1, "no header row")
    if problems:
        raise PriceHistoryError(problems)

    date_label = header[date_col]
    seen: dict[dt.datetime, int] = {}
    for i, (row, d) in enumerate(zip(rows, dates)):
        if d in seen:
            problems.append(Problem(_where(name, row, date_label),
                                    f"duplicate date {_fmt_date(d)} (also on row {seen[d]})"))
        elif i and d < dates[i - 1]:
            problems.append(Problem(_where(name, row, date_label),
                                    f"{_fmt_date(d)} comes before {_fmt_date(dates[i - 1])} on row {rows[i - 1]}; "
                                    "dates must increase"))
        seen.setdefault(d, row)
    if problems:
        raise PriceHistoryError(problems)
    if len(prices) < min_observations:
        span = f"rows {rows[0]}-{rows[-1]}" if rows else f"row {header_row}"
        raise PriceHistoryError([Problem(f"{name} {span}, column {header[price_col]}",
                                         f"only {len(prices)} {'price' if kind == 'close' else 'value'}"
                                         f"{'s' if len(prices) != 1 else ''}; at least {min_observations} are needed")])
    index = pd.DatetimeIndex(pd.to_datetime(dates), name="date")
    series = pd.Series(np.asarray(prices, dtype=float), index=index, name=kind)
    series.attrs["rows"] = tuple(rows)       # the file row of each value, for messages that name rows
    return series


def _where(name: str, row: int | None, column: str | None) -> str:
    where = name if row is None else f"{name} row {row}"
    return f"{where}, column {column}" if column else where


def _fmt_date(d: dt.datetime) -> str:
    return d.date().isoformat() if d.time() == dt.time() else d.isoformat(sep=" ")


def _find_columns(header: list[str], name: str, row: int, value_kind: str = "close",
                  value_columns: tuple[str, ...] = PRICE_COLUMNS,
                  error: type[ScenarioError] = PriceHistoryError) -> tuple[int, int]:
    problems = []
    found = ", ".join(h or "(blank)" for h in header[:20]) + (", ..." if len(header) > 20 else "")
    cols = []
    for kind, names in (("date", DATE_COLUMNS), (value_kind, value_columns)):
        hit = next((n for n in names if n in header), None)
        if hit is None:
            others = f" (also accepted: {', '.join(names[1:])})" if len(names) > 1 else ""
            problems.append(Problem(_where(name, row, kind),
                                    f"missing column {kind!r}{others}; the header has: {found}"))
            cols.append(-1)
            continue
        where = [i for i, h in enumerate(header) if h == hit]
        if len(where) > 1:
            numbers = ", ".join(str(i + 1) for i in where)
            problems.append(Problem(_where(name, row, hit),
                                    f"{len(where)} columns are named {hit!r} (columns {numbers}); keep one"))
        cols.append(where[0])
    if problems:
        raise error(problems)
    return cols[0], cols[1]
