"""Import a scenario's fleet and sites from a spreadsheet (.xlsx) or a CSV file, and write the template.

Miners keep their fleet in Excel. This module reads the table laid out by
:mod:`minerplan.scenario.fields` (the same layout the Excel export and the template
use), checks every cell by the kind of its column and reports *every* problem
at once, each naming the sheet, row and column the user sees
(``Fleet!D7 (Hashrate [TH/s per unit]): expected a number, got 'fast'``).
Nothing is evaluated: formulas are never computed (the values Excel stored are
read), and text that looks like a formula stays text.

An import reads exactly what the table holds or refuses (issue 11): a blank row
with data below it, a CSV row with more fields than the header and a number
typed with thousands separators or a decimal comma are refused, with the fix in
the message. An .xlsx is streamed, one pass over each imported sheet and nothing
of the others, and refused as soon as it passes a limit (a value below row
20,031, a million cells), so a large workbook costs seconds and megabytes, not
minutes and gigabytes.

The result is validated with the scenario schema before anything is written,
and the schema's own messages (``fleet[3].site``) are translated back to the
cell they came from, so the user can fix the sheet, not guess at JSON paths.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from minerplan.scenario.errors import Problem, ScenarioError, escape_control, safe_path
from minerplan.scenario.model import Scenario
from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.fields import (FLEET_COLUMNS, FLEET_SHEET, HOURLY_COLUMNS, HOURLY_HEADERS, HOURLY_SHEET,
                                       SITE_COLUMNS, SITES_SHEET, Column)

#: Larger files are refused before they are parsed (an .xlsx is a zip: see MAX_UNZIPPED_BYTES).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: A small .xlsx can unzip to gigabytes; openpyxl would hold all of it in memory.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: More data rows than this are refused (the schema allows 20,000 cohorts).
MAX_DATA_ROWS = 20_000
#: The header row is looked for in this many rows at the top of a sheet (title and notes come first).
HEADER_SEARCH_ROWS = 30
#: Header cells further right than this are not looked at (a stray cell in column XFD
#: would otherwise mean 16,384 cells per row scanned).
MAX_SCAN_COLUMNS = 1000
#: A sheet holding a value below this row is refused while it is streamed, before anything is
#: kept: a header in the first 30 rows and 20,000 data rows end above it (the one row more lets
#: the table check say "more than 20,000 data rows").
MAX_SHEET_ROWS = HEADER_SEARCH_ROWS + MAX_DATA_ROWS + 1
#: Cells (with a value or only formatted) one sheet may have: a full 20,000-site table with the
#: export's derived columns has 640,000.
MAX_SHEET_CELLS = 1_000_000
#: Row elements one sheet may have, formatted empty ones included (Excel's own limit).
MAX_SHEET_ROW_ELEMENTS = 1_048_576
#: XML elements read from one sheet (a cell is 2-4 of them): bounds the time a damaged sheet takes.
MAX_SHEET_ELEMENTS = 5 * MAX_SHEET_CELLS
#: Parts of a workbook parsed whole (the workbook part, its relationships, the styles and the
#: shared text): a larger one is refused, so a small zip cannot become a long parse.
MAX_PART_BYTES = 30 * 1024 * 1024
SUFFIXES = (".csv", ".xlsx")


# --------------------------------------------------------------------------- problems and places

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


class _CellError(ValueError):
    """A cell's value does not fit its column; the message says what was expected."""


# --------------------------------------------------------------------------- cell values

_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_TEXT_RE = re.compile(r"[+-]?[0-9]+")
_MONTH_TEXT_RE = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?")
_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})


def _show(value: Any) -> str:
    """A cell value for a message: short, and clear about dates and booleans."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return f"the boolean {str(value).upper()}"
    if isinstance(value, dt.datetime):
        return f"the date {value.date().isoformat()}"
    if isinstance(value, (dt.date, dt.time)):
        return f"the {'date' if isinstance(value, dt.date) else 'time'} {value.isoformat()}"
    if isinstance(value, dt.timedelta):
        return f"the duration {value}"
    return repr(value)


class Uncalculated:
    """A formula cell whose value was never calculated (a workbook saved by a program that does not compute).

    Reading it as blank would import the wrong thing silently (a retire month
    linked to the Plan sheet would vanish), so it is reported instead.
    """

    def __init__(self, formula: str):
        self.formula = str(formula)

    def message(self) -> str:
        f = self.formula if len(self.formula) <= 60 else self.formula[:57] + "..."
        return (f"holds the formula {escape_control(f)!r} with no calculated value; open the workbook in Excel or "
                "LibreOffice and save it (so the values are stored), or type the value")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


#: Characters people type between groups of three digits: space, no-break spaces, apostrophes (Swiss).
_GROUP_SEPARATORS = " '\u00a0\u202f\u2019"
_SPACE_GROUPED_RE = re.compile(rf"([1-9][0-9]{{0,2}}(?:[{_GROUP_SEPARATORS}][0-9]{{3}})+)(?:([.,])([0-9]+))?")
_COMMA_GROUPED_RE = re.compile(r"([1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.([0-9]+))?")     # 1,234,567.5
_DOT_GROUPED_RE = re.compile(r"([1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:,([0-9]+))?")       # 1.234.567,5
_DECIMAL_COMMA_RE = re.compile(r"([0-9]+),([0-9]+)")                                  # 3,5


def _plain(sign: str, digits: str, fraction: str = "") -> str:
    """A plain number as the user should type it: ``1200``, ``1.2``, ``-3.5``."""
    digits = re.sub(r"[^0-9]", "", digits).lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{'-' if sign == '-' else ''}{digits}{'.' + fraction if fraction else ''}"


def separator_hint(text: str, dot_groups: bool = False) -> str | None:
    """What a number typed with thousands separators or a decimal comma should be written as,
    or None when ``text`` does not look like one.

    Such numbers are refused, never guessed at: ``1,200`` is 1200 to an American and 1.2
    to a German, and a wrong guess changes a fleet by a factor of a thousand without a
    word. The hint shows the plain form of every reading, so the fix is a retype. With
    ``dot_groups`` (a ``;``-separated CSV file, which is what Excel writes where the decimal
    separator is a comma) ``1.200`` is ambiguous in the same way and is refused too.
    """
    t = text.strip()
    sign = t[:1] if t[:1] in "+-" else ""
    body = t[len(sign):]

    def what(groups: str, decimal_comma: bool = False) -> str:
        n = sum(not ch.isdigit() for ch in groups)
        return "(" + ("a thousands separator" if n == 1 else "thousands separators") + \
            (" and a decimal comma" if decimal_comma else "") + ")"

    m = _SPACE_GROUPED_RE.fullmatch(body)
    if m:
        return f"{what(m.group(1), m.group(2) == ',')}: write {_plain(sign, m.group(1), m.group(3) or '')}"
    m = _COMMA_GROUPED_RE.fullmatch(body)
    if m:
        thousands = _plain(sign, m.group(1), m.group(2) or "")
        if m.group(2) is None and body.count(",") == 1:
            decimal = _plain(sign, *body.split(","))
            return (f"(a thousands separator or a decimal comma?): write {thousands} if the comma separates "
                    f"thousands, or {decimal} if it is a decimal comma")
        return f"{what(m.group(1))}: write {thousands}"
    m = _DOT_GROUPED_RE.fullmatch(body)
    if m and (m.group(2) is not None or body.count(".") > 1):
        return f"{what(m.group(1), m.group(2) is not None)}: write {_plain(sign, m.group(1), m.group(2) or '')}"
    if m and dot_groups:
        return (f"(in a file separated by ';', where numbers have decimal commas, the dot may separate "
                f"thousands): write {_plain(sign, m.group(1))} if it does, or {_plain(sign, *body.split('.'))} "
                "if it is a decimal point")
    m = _DECIMAL_COMMA_RE.fullmatch(body)
    if m:
        return f"(a decimal comma): write {_plain(sign, m.group(1), m.group(2))}"
    return None


def _number(value: Any, dot_groups: bool = False) -> int | float:
    """Plain numbers only: a thousands separator, a decimal comma or a unit is refused, not guessed at
    (see :func:`separator_hint`; the message shows the plain number to type instead)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _CellError(f"expected a finite number, got {_show(value)}")
        return value
    if isinstance(value, str):
        text = value.strip()
        hint = separator_hint(text, dot_groups) if len(text) <= 40 else None
        if hint:
            raise _CellError(f"expected a number, got {_show(value)} {hint}")
        if len(text) <= 40 and _NUMBER_RE.fullmatch(text):
            x = float(text)
            if not math.isfinite(x):
                raise _CellError(f"{_show(value)} is too large")
            return int(text) if _INT_TEXT_RE.fullmatch(text) else x
        if any(ch.isdigit() for ch in text):
            raise _CellError(f"expected a number, got {_show(value)} "
                             "(write plain numbers like 3645.5: no thousands separators, units or %)")
    raise _CellError(f"expected a number, got {_show(value)}")


def _integer(value: Any, dot_groups: bool = False) -> int:
    try:
        x = _number(value, dot_groups)
    except _CellError:
        hint = separator_hint(value, dot_groups) if isinstance(value, str) and len(value.strip()) <= 40 else None
        raise _CellError(f"expected a whole number, got {_show(value)}" + (f" {hint}" if hint else "")) from None
    if isinstance(x, float):
        if not x.is_integer():
            raise _CellError(f"expected a whole number, got {_show(value)}")
        return int(x)
    return x


def _month(value: Any) -> str:
    """A date cell (any day) or text ``YYYY-MM`` (``YYYY-MM-DD`` too) -> ``YYYY-MM``."""
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        m = _MONTH_TEXT_RE.fullmatch(value.strip())
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            try:
                dt.date(year, month, int(m.group(3) or 1))
                return f"{year:04d}-{month:02d}"
            except ValueError:
                pass
    raise _CellError(f"expected a month as YYYY-MM (e.g. 2026-03) or a date, got {_show(value)}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _CellError(f"expected yes or no, got {_show(value)}")


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str):
        text = value.strip().casefold()
        for c in choices:
            if c.casefold() == text:
                return c
    raise _CellError(f"expected one of {', '.join(choices)}, got {_show(value)}")


def _text(value: Any) -> str:
    """Text as typed; a number typed into a text column (a site called 2024) becomes its digits."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise _CellError(f"expected text, got {_show(value)}")


def parse_cell(column: Column, value: Any, dot_groups: bool = False) -> Any:
    """The scenario value of one non-blank cell; raises ValueError saying what was expected.

    ``dot_groups``: the cell comes from a ``;``-separated CSV file, where ``1.200`` may mean 1200.
    """
    kind = column.kind
    if kind == "number":
        return _number(value, dot_groups)
    if kind == "integer":
        return _integer(value, dot_groups)
    if kind == "month":
        return _month(value)
    if kind == "bool":
        return _bool(value)
    if kind == "choice":
        return _choice(value, column.choices)
    return _text(value)


# --------------------------------------------------------------------------- grids: a sheet or a CSV file

class _Grid:
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


class _CsvGrid(_Grid):
    csv = True

    def __init__(self, name: str, records: dict[int, list[str]], delimiter: str = ","):
        self.name, self.records, self.delimiter = name, records, delimiter   # row -> fields, non-blank rows only
        self.max_row = max(records, default=0)
        self.max_col = min(max((len(r) for r in records.values()), default=0), MAX_SCAN_COLUMNS)
        self.dot_groups = delimiter == ";"

    def value(self, row: int, col: int) -> Any:
        rec = self.records.get(row, ())
        return rec[col - 1] if 0 < col <= len(rec) else None

    def header_rows(self) -> Iterable[int]:
        """A CSV file has no title: its first non-empty line is the header."""
        return [min(self.records)] if self.records else []

    def rows_holding_values(self, start: int) -> Iterable[int]:
        return sorted(r for r in self.records if r >= start)


class _SheetGrid(_Grid):
    """A worksheet's values as :func:`_read_xlsx` streamed them: row -> column -> value, only
    cells holding something (an :class:`Uncalculated` for a formula without a stored value)."""

    csv = False

    def __init__(self, name: str, cells: dict[int, dict[int, Any]]):
        self.name, self.cells = name, cells
        self.max_row = max(cells, default=0)
        self.max_col = min(max((max(row) for row in cells.values() if row), default=0), MAX_SCAN_COLUMNS)

    def value(self, row: int, col: int) -> Any:
        return self.cells.get(row, {}).get(col)

    def header_rows(self) -> Iterable[int]:
        """A sheet may open with a title and notes (the template and the export do)."""
        return range(1, min(self.max_row, HEADER_SEARCH_ROWS) + 1)

    def rows_holding_values(self, start: int) -> Iterable[int]:
        return sorted(r for r in self.cells if r >= start)


# --------------------------------------------------------------------------- opening files

def _fail(source: str, message: str) -> TableImportError:
    return TableImportError([Problem("", message)], source)


def _read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes, or a TableImportError saying why not (missing, too large, not a file)."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise _fail(source, "is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise _fail(source, "not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise _fail(source, f"file is {st.st_size:,} bytes; the limit for an import is {MAX_FILE_BYTES:,}")
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise _fail(source, "file not found") from None
    except PermissionError:
        raise _fail(source, "permission denied") from None
    except OSError as e:
        raise _fail(source, f"cannot read: {e.strerror or type(e).__name__}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _fail(source, f"file is larger than the limit for an import ({MAX_FILE_BYTES:,} bytes)")
    return data


class TextDecodeError(ValueError):
    """Bytes that are not text this module reads; ``offset`` is the byte where that shows, if one does."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.offset = offset


def _looks_like_utf16(data: bytes) -> bool:
    """NUL bytes at every other position and (almost) never at the others: UTF-16 without a BOM
    (each ASCII character is its byte and a NUL). Binary data has NULs at both."""
    sample = data[:4096]
    half = len(sample) // 2
    even, odd = sample[0:2 * half:2].count(0), sample[1:2 * half:2].count(0)
    hi, lo = max(even, odd), min(even, odd)
    return hi >= max(2, half // 4) and lo * 10 <= hi


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (a BOM is fine), or UTF-16/UTF-32 when a byte order mark says so
    (Excel's "Unicode Text" is UTF-16 with a BOM). Raises TextDecodeError saying what the file is.

    UTF-16 without a BOM is not guessed at (its byte order is a guess); it is named, with the fix
    (save as UTF-8). Text holding a NUL is not a CSV file. The fleet import and the price
    history reader share this, so a file gets the same answer from both.
    """
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise TextDecodeError(f"not valid {codec.upper()} text (byte {e.start}) although it starts with a "
                                      f"{codec.upper()} byte order mark; save it as 'CSV UTF-8'", e.start) from None
            if "\x00" in text:
                raise TextDecodeError(f"not a text file (a NUL character in the {codec.upper()} text)")
            return text
    nul = data.find(b"\x00")
    if nul >= 0:
        if _looks_like_utf16(data):
            raise TextDecodeError("looks like UTF-16 text without a byte order mark (a NUL byte at every other "
                                  "position); save it as UTF-8 ('CSV UTF-8' in Excel)")
        raise TextDecodeError(f"not a text file (a NUL byte at byte {nul})", nul)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TextDecodeError(f"not UTF-8 text (byte {e.start}); save it as 'CSV UTF-8'", e.start) from None


def _check_suffix(path: Path, source: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = " (save an .xls or .xlsm workbook as .xlsx)" if suffix in (".xls", ".xlsm", ".xlsb", ".ods") else ""
        what = f"a {suffix} file" if suffix else "a file without an extension"
        raise _fail(source, f"cannot import {what}; give a .csv or .xlsx file{hint}")
    return suffix


NEWLINE = b"\n"


def _csv_records(data: bytes, source: str, layout: tuple[Column, ...]) -> tuple[dict[int, list[str]], str]:
    """(the non-blank records of CSV text by row number, the delimiter); text as :func:`decode_text`
    reads it, comma (or ; or tab, whichever the header uses).

    Reading stops after the header and one row more than a table may hold (that is enough
    to say the table is too long), so a 20 MB file of short lines never becomes millions of
    lists in memory; blank rows are counted, not kept.
    """
    try:
        text = decode_text(data)
    except TextDecodeError as e:
        # Say where, as the price reader does: "row 5" finds a stray NUL in a name at once.
        where = f"row {data[:e.offset].count(NEWLINE) + 1}: " if e.offset is not None else ""
        raise _fail(source, f"{where}{e}") from None
    if text.strip() == "":
        raise _fail(source, "the file is empty")
    delimiter = _guess_delimiter(text, layout)
    records: dict[int, list[str]] = {}
    try:
        for row, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if all(is_blank(v) for v in record):
                continue
            records[row] = record
            if len(records) > MAX_DATA_ROWS + 1:
                break
    except csv.Error as e:
        raise _fail(source, f"not a readable CSV file: {e}") from None
    return records, delimiter


def _guess_delimiter(text: str, layout: tuple[Column, ...]) -> str:
    """The delimiter that splits the first non-empty line into the most known headers
    (Excel writes ';' where the decimal separator is a comma)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    names = _header_names(layout)
    best, best_hits = ",", 0
    for d in (",", ";", "\t"):
        try:
            cells = next(csv.reader([first], delimiter=d), [])
        except csv.Error:
            continue
        hits = sum(_norm(c) in names for c in cells)
        if hits > best_hits:
            best, best_hits = d, hits
    return best


def _local(tag: str) -> str:
    """``{namespace}row`` -> ``row`` (transitional and strict OOXML name their elements alike)."""
    return tag.rpartition("}")[2]


def _has_part(zf: zipfile.ZipFile, name: str, source: str) -> bool:
    """Whether the workbook has part ``name``; one too large to parse whole is refused (MAX_PART_BYTES)."""
    try:
        size = zf.getinfo(name).file_size
    except KeyError:
        return False
    if size > MAX_PART_BYTES:
        raise _fail(source, f"cannot read the workbook: its part {name} unpacks to {size:,} bytes; the limit "
                            f"is {MAX_PART_BYTES:,} (copy the sheets to import into a new workbook)")
    return True


def _part_xml(zf: zipfile.ZipFile, name: str, source: str, *, optional: bool = False):
    """A workbook part parsed whole, or None if it is absent and ``optional``."""
    from xml.etree.ElementTree import fromstring

    if not _has_part(zf, name, source):
        if optional:
            return None
        raise _fail(source, f"cannot read the workbook: it has no {name} (save it again from Excel)")
    return fromstring(zf.read(name))


def _relationships(zf: zipfile.ZipFile, part: str, source: str) -> dict[str, tuple[str, str]]:
    """The relationships of ``part``: id -> (type, target part name)."""
    folder, _, base = part.rpartition("/")
    root = _part_xml(zf, f"{folder + '/' if folder else ''}_rels/{base}.rels", source, optional=True)
    rels = {}
    for rel in root if root is not None else ():
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        target = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        rels[rel.get("Id", "")] = (rel.get("Type", "").rpartition("/")[2], posixpath.normpath(target))
    return rels


@dataclass
class _Workbook:
    """What of an .xlsx the import needs: its sheets' parts by name, the shared text part, the
    style indices that hold dates (and durations), and the date system."""

    zf: zipfile.ZipFile
    source: str
    sheets: dict[str, str]              # sheet name -> part name
    shared_strings: str | None
    date_styles: set[int]
    duration_styles: set[int]
    epoch: dt.datetime


def _open_workbook(data: bytes, source: str) -> _Workbook:
    """The workbook's structure; refuses non-zip files, zip bombs and oversized parts.

    Nothing of a sheet is read here: openpyxl's ``load_workbook`` would load every sheet
    (twice, for values and formulas) before a row could be counted, which took 107 s and
    3.9 GB for a 980,000-row sheet; :func:`_stream_sheet` reads only the sheets imported.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        unzipped = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _fail(source, "not an .xlsx workbook (the file is not a zip archive; an old .xls or a "
                            "password-protected workbook must be saved again as .xlsx)") from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise _fail(source, f"the workbook unpacks to {unzipped:,} bytes; the limit is {MAX_UNZIPPED_BYTES:,}")
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    package = _relationships(zf, "", source)
    book = next((target for kind, target in package.values() if kind == "officeDocument"), "xl/workbook.xml")
    root = _part_xml(zf, book, source)
    rels = _relationships(zf, book, source)
    sheets: dict[str, str] = {}
    epoch = CALENDAR_WINDOWS_1900
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "workbookPr" and el.get("date1904", "").lower() in ("1", "true"):
            epoch = CALENDAR_MAC_1904
        elif tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.startswith("{") and _local(k) == "id"), "")
            kind, target = rels.get(rid, ("", ""))
            if kind == "worksheet":
                sheets[el.get("name", "")] = target
    shared = next((target for kind, target in rels.values() if kind == "sharedStrings"), None)
    styles = next((target for kind, target in rels.values() if kind == "styles"), None)
    date_styles, duration_styles = set(), set()
    styles_root = _part_xml(zf, styles, source, optional=True) if styles else None
    if styles_root is not None:
        custom = {el.get("numFmtId"): el.get("formatCode", "") for el in styles_root.iter()
                  if _local(el.tag) == "numFmt"}
        xfs = next((el for el in styles_root if _local(el.tag) == "cellXfs"), ())
        for i, xf in enumerate(x for x in xfs if _local(x.tag) == "xf"):
            fid = xf.get("numFmtId", "0")
            code = custom.get(fid) if fid in custom else BUILTIN_FORMATS.get(int(fid) if fid.isdigit() else -1)
            if code and is_date_format(code):
                date_styles.add(i)
                if is_timedelta_format(code):
                    duration_styles.add(i)
    return _Workbook(zf, source, sheets, shared, date_styles, duration_styles, epoch)


def _find_sheet(wb: _Workbook, name: str) -> str | None:
    """The name of the sheet called ``name`` (ignoring case and surrounding spaces), or None."""
    wanted = name.strip().casefold()
    return next((title for title in wb.sheets if title.strip().casefold() == wanted), None)


def _rich_text(el) -> str:
    """The text of a shared or inline string: its ``t``, or its runs' ``t`` (phonetic runs left out)."""
    parts = []
    for child in el:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(g.text or "" for g in child if _local(g.tag) == "t")
    return "".join(parts)


def _shared_strings(wb: _Workbook, wanted: set[int]) -> dict[int, str]:
    """The shared strings the imported sheets use, read until the last one of them is passed."""
    from xml.etree.ElementTree import iterparse

    if not wanted:
        return {}
    if wb.shared_strings is None or not _has_part(wb.zf, wb.shared_strings, wb.source):
        raise _fail(wb.source, "cannot read the workbook: its cells refer to shared text, but it has none "
                               "(save it again from Excel)")
    last = max(wanted)
    out: dict[int, str] = {}
    index, root = 0, None
    with wb.zf.open(wb.shared_strings) as stream:
        for event, el in iterparse(stream, events=("start", "end")):
            if event == "start":
                root = el if root is None else root
                continue
            if _local(el.tag) != "si":
                continue
            if index in wanted:
                out[index] = _rich_text(el).replace("x005F_", "")   # as openpyxl reads them
            index += 1
            root.clear()
            if index > last:
                break
    return out


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


def _stream_sheet(wb: _Workbook, title: str) -> tuple[dict[int, dict[int, _RawCell]], set[int]]:
    """One pass over a worksheet's XML: (row -> column -> cell for cells holding something in the
    first MAX_SCAN_COLUMNS columns, the shared string indices they use).

    The limits are checked as the rows stream past, so a sheet too long is refused after
    20,032 rows whatever its size: a value below MAX_SHEET_ROWS, more than MAX_SHEET_CELLS
    cells or MAX_SHEET_ROW_ELEMENTS rows, or rows out of order (Excel writes them in order;
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
            tag = _local(el.tag)
            if event == "start":
                depth += 1
                root = el if root is None else root
                if tag == "sheetData":
                    sheet_data = el
                continue
            depth -= 1
            elements += 1
            if elements > MAX_SHEET_ELEMENTS:
                raise refuse(f"the sheet's XML has more than {MAX_SHEET_ELEMENTS:,} elements; copy the table to "
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
                if _local(c.tag) != "c":
                    continue
                n_cells += 1
                col_no = _column_index(c.get("r")) or col_no + 1
                kind = c.get("t", "n")
                value = formula = None
                for child in c:
                    ctag = _local(child.tag)
                    if ctag == "v":
                        value = child.text or ""
                    elif ctag == "is":
                        value = _rich_text(child)
                    elif ctag == "f":
                        formula = _formula(child, c.get("r") or "", masters)
                if value is None and formula is None:
                    continue      # formatted, empty
                if kind == "s" and value:
                    if not value.isdigit():
                        raise refuse(f"cell {c.get('r') or col_no} refers to shared text {value[:20]!r}, "
                                     "which is not an index (the workbook is damaged)")
                    wanted.add(int(value))
                if col_no <= MAX_SCAN_COLUMNS:
                    style = c.get("s", "0")
                    kept[col_no] = _RawCell(kind, int(style) if style.isdigit() else 0, value, formula)
            if n_cells > MAX_SHEET_CELLS:
                raise refuse(f"the sheet has more than {MAX_SHEET_CELLS:,} cells (formatted empty ones included); "
                             "copy the table to import into a new sheet")
            if n_rows > MAX_SHEET_ROW_ELEMENTS:
                raise refuse(f"the sheet has more than {MAX_SHEET_ROW_ELEMENTS:,} rows, more than Excel allows "
                             "(the workbook is damaged)")
            if kept:
                if row_no > MAX_SHEET_ROWS:
                    raise refuse(f"row {row_no:,} holds a value, below the last row an import reads "
                                 f"({MAX_SHEET_ROWS:,}: at most {MAX_DATA_ROWS:,} data rows under a header in the "
                                 f"first {HEADER_SEARCH_ROWS} rows); split the table or delete the rows below it")
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


def _cell_value(cell: _RawCell, wb: _Workbook, strings: dict[int, str]) -> Any:
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
            raise _CellError(f"refers to shared text number {v}, which the workbook does not have")
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


def _read_sheet(wb: _Workbook, title: str, raw: dict[int, dict[int, _RawCell]], strings: dict[int, str]) -> _SheetGrid:
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
    return _SheetGrid(title, cells)


def _read_xlsx(data: bytes, source: str, main_sheet: str, extra_sheet: str | None) -> tuple[_Grid, _Grid | None]:
    """The grids of the main sheet and of the optional extra one, each streamed once."""
    if not data:
        raise _fail(source, "the file is empty")
    wb = None
    try:
        wb = _open_workbook(data, source)
        title = _find_sheet(wb, main_sheet)
        if title is None:
            sheets = ", ".join(repr(t) for t in list(wb.sheets)[:20])
            raise _fail(source, f"no sheet named {main_sheet!r} (the workbook has {sheets or 'no sheets'})")
        titles = [title] + [t for t in [_find_sheet(wb, extra_sheet) if extra_sheet else None] if t is not None]
        streamed = [_stream_sheet(wb, t) for t in titles]
        strings = _shared_strings(wb, set().union(*(wanted for _, wanted in streamed)))
        grids = [_read_sheet(wb, t, raw, strings) for t, (raw, _) in zip(titles, streamed)]
    except TableImportError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged workbook can fail anywhere in its XML
        detail = escape_control(str(e))[:200]
        raise _fail(source, f"cannot read the workbook: {type(e).__name__}: {detail}") from None
    finally:
        if wb is not None:
            wb.zf.close()
    return grids[0], (grids[1] if len(grids) > 1 else None)


def _open_grids(path: str | os.PathLike, main_sheet: str, layout: tuple[Column, ...],
                extra_sheet: str | None = None) -> tuple[str, _Grid, _Grid | None]:
    """(source name, the main table's grid, the optional extra sheet's grid or None)."""
    p = Path(path)
    source = str(path)
    suffix = _check_suffix(p, source)
    data = _read_bytes(p, source)
    if suffix == ".csv":
        return source, _CsvGrid(p.name, *_csv_records(data, source, layout)), None
    return (source, *_read_xlsx(data, source, main_sheet, extra_sheet))


# --------------------------------------------------------------------------- tables

def _norm(value: Any) -> str:
    """A header for comparison: trimmed, inner whitespace (a wrapped header's newline) as one space, no case."""
    return " ".join(str(value).split()).casefold() if value is not None else ""


def _header_names(layout: tuple[Column, ...]) -> dict[str, Column]:
    """Every accepted header text -> its column: the layout's header and the scenario field name."""
    names: dict[str, Column] = {}
    for c in layout:
        names[_norm(c.field)] = c
        names[_norm(c.header)] = c
    return names


@dataclass
class _Table:
    """A table as found in a grid: where each layout column is and the raw values of each data row."""

    grid: _Grid
    header_row: int
    columns: dict[str, tuple[int, str]]  # field -> (column index, header text as in the file)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, field -> raw value)

    def place(self, row: int | None, fld: str | None = None) -> Place:
        if fld is None or fld not in self.columns:
            return self.grid.place(row)
        col, header = self.columns[fld]
        return self.grid.place(row, col, header)


def _match_header_row(grid: _Grid, row: int, names: dict[str, Column]) -> tuple[dict, list[Problem]]:
    """The layout columns in ``row`` (field -> (index, header)) and any duplicated column."""
    found: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for col in range(1, grid.max_col + 1):
        raw = grid.value(row, col)
        column = names.get(_norm(raw)) if isinstance(raw, str) else None
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


def _find_table(grid: _Grid, layout: tuple[Column, ...], problems: list[Problem]) -> _Table | None:
    """The header row: the first row holding every required header of the layout."""
    names = _header_names(layout)
    required = [c for c in layout if c.required]
    best: tuple[int, int, dict] | None = None  # (required found, row, columns)
    for row in grid.header_rows():
        found, dupes = _match_header_row(grid, row, names)
        have = sum(c.field in found for c in required)
        if have == len(required):
            problems.extend(dupes)
            return _Table(grid, row, found)
        if have and (best is None or have > best[0]):
            best = (have, row, found)
    wanted = ", ".join(repr(c.header) for c in required)
    if best is None:
        where = "in its first line" if grid.csv else f"in the first {HEADER_SEARCH_ROWS} rows"
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


def _collect_rows(table: _Table, problems: list[Problem]) -> None:
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
        if len(table.rows) == MAX_DATA_ROWS:
            too_many = grid.place(row).problem(
                f"the table has more than {MAX_DATA_ROWS:,} data rows; split it or remove rows")
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


def split_fields_hint(fields: list[str], delimiter: str = ",") -> str:
    """Why a CSV row may have more fields than its header, from its fields under the last header
    and right of it: ``['1', '200']`` is the number 1,200 split at its thousands separator."""
    if delimiter != ",":
        return ""
    joined = ",".join(f.strip() for f in fields)
    if re.fullmatch(r"[+-]?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?", joined):
        parts = " and ".join(repr(f.strip()) for f in fields)
        commas = "its comma" if len(fields) == 2 else "its commas"
        return f" ({parts} look like the number {joined} split at {commas}): write {joined.replace(',', '')}"
    return (" (a number with a thousands separator splits in two at the comma: write 1200, not 1,200)")


def _check_extra_fields(table: _Table, problems: list[Problem]) -> None:
    """A CSV row with a value right of the last header is refused, naming the row and the
    first such field: its fields cannot all be where the header says.

    The usual cause is a number with a thousands separator left unquoted (``...,3645,1,200``
    under ``...,Salvage``): the reader sees 1 and 200, and reading on would import a salvage
    of 1. Empty trailing fields (Excel's ``,,,``) are fine.
    """
    grid = table.grid
    if not isinstance(grid, _CsvGrid):
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
            f"{col} (column {column_letter(col)} in a spreadsheet) holds {_show(record[col - 1])} under no header, "
            f"so the row's values cannot be matched to their columns{hint}"))


def _parse_row(table: _Table, row: int, raw: dict[str, Any], layout: tuple[Column, ...],
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
        except _CellError as e:
            problems.append(table.place(row, column.field).problem(str(e)))
            invalid.add(column.field)
    return values, invalid


def _read_table(grid: _Grid, layout: tuple[Column, ...], problems: list[Problem],
                allow_empty: bool = False) -> tuple[_Table | None, list[tuple[int, dict, set]]]:
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


# --------------------------------------------------------------------------- what the rows came from

@dataclass(frozen=True)
class HourlyOrigin:
    """Where each site's hourly prices sit: for error messages about them."""

    table: _Table
    rows: dict[int, dict[int, int]]  # site index -> {calendar month 0-11 -> sheet row}


@dataclass(frozen=True)
class TableOrigin:
    """Where imported rows came from, so schema errors can name the cell."""

    source: str
    table: _Table
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


# --------------------------------------------------------------------------- fleet and sites

def _raise_if(problems: list[Problem], source: str) -> None:
    if problems:
        raise TableImportError(problems, source)


def read_fleet(path: str | os.PathLike) -> TableRows:
    """The cohorts in a fleet table (.csv, or the ``Fleet`` sheet of an .xlsx) as scenario dicts.

    Raises TableImportError (a ScenarioError) listing every bad cell.
    """
    source, grid, _ = _open_grids(path, FLEET_SHEET, FLEET_COLUMNS)
    problems: list[Problem] = []
    table, parsed = _read_table(grid, FLEET_COLUMNS, problems)
    _raise_if(problems, source)
    origin = TableOrigin(source, table, tuple(row for row, _, _ in parsed))
    return TableRows([values for _, values, _ in parsed], origin)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"ai.colocation.term_months": 120}`` -> ``{"ai": {"colocation": {"term_months": 120}}}``."""
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def _site_dict(table: _Table, row: int, values: dict, invalid: set[str], problems: list[Problem]) -> dict:
    """A site's dict: without an AI convertible figure the site has no AI/HPC section,
    and AI terms given anyway are a mistake worth naming (they would be dropped silently)."""
    ai_fields = [c.field for c in SITE_COLUMNS if c.field.startswith("ai.")]
    if "ai.convertible_gross_mw" not in values and "ai.convertible_gross_mw" not in invalid:
        convertible = table.columns.get("ai.convertible_gross_mw", (0, "AI convertible [gross MW]"))[1]
        for f in ai_fields:
            if f in values:
                problems.append(table.place(row, f).problem(
                    f"{convertible!r} is blank, so the site has no AI/HPC section; leave this cell blank "
                    f"or give the convertible MW"))
        values = {k: v for k, v in values.items() if k not in ai_fields}
    return _nest(values)


def _read_hourly(grid: _Grid, site_names: list[str], problems: list[Problem]
                 ) -> tuple[dict[int, list[list[float]]], HourlyOrigin | None]:
    """12x24 profiles by site index from the ``Hourly prices`` sheet: one row per (site, month)."""
    table, parsed = _read_table(grid, HOURLY_COLUMNS, problems, allow_empty=True)
    if table is None:
        return {}, None
    index = {name: i for i, name in enumerate(site_names)}
    cells: dict[int, dict[int, tuple[int, list]]] = {}  # site index -> month 0-11 -> (row, 24 prices)
    for row, values, invalid in parsed:
        if "site" not in values:
            continue
        site = values["site"]
        if site not in index:
            known = ", ".join(repr(n) for n in site_names[:20]) + (", ..." if len(site_names) > 20 else "")
            problems.append(table.place(row, "site").problem(
                f"no site named {site!r} on the {SITES_SHEET} sheet (sites: {known or 'none'})"))
            continue
        month = values.get("month")
        if month is None:
            continue
        if not 1 <= month <= 12:
            problems.append(table.place(row, "month").problem(f"expected a calendar month 1-12, got {month}"))
            continue
        months = cells.setdefault(index[site], {})
        if month - 1 in months:
            problems.append(table.place(row, "month").problem(
                f"a second row for site {site!r}, month {month} (the first is row {months[month - 1][0]})"))
            continue
        months[month - 1] = (row, [values.get(h) for h in HOURLY_HEADERS[2:]])
    profiles: dict[int, list[list[float]]] = {}
    for i, months in cells.items():
        missing = [m + 1 for m in range(12) if m not in months]
        if missing:
            first_row = min(r for r, _ in months.values())
            problems.append(table.place(first_row, "month").problem(
                f"site {site_names[i]!r} has no row for calendar month(s) {', '.join(map(str, missing))}; "
                "an hourly profile needs all 12 months"))
            continue
        profiles[i] = [months[m][1] for m in range(12)]
    origin = HourlyOrigin(table, {i: {m: r for m, (r, _) in months.items()} for i, months in cells.items()})
    return profiles, origin


def read_sites(path: str | os.PathLike) -> TableRows:
    """The sites in a site table (.csv, or the ``Sites`` sheet of an .xlsx) as scenario dicts.

    In an .xlsx, a site with 12 rows on the optional ``Hourly prices`` sheet gets its
    12x24 ``hourly_price_usd_per_mwh`` profile. Raises TableImportError listing every bad cell.
    """
    source, grid, hourly_grid = _open_grids(path, SITES_SHEET, SITE_COLUMNS, HOURLY_SHEET)
    problems: list[Problem] = []
    table, parsed = _read_table(grid, SITE_COLUMNS, problems)
    sites = [_site_dict(table, row, values, invalid, problems) for row, values, invalid in parsed]
    hourly_origin = None
    if hourly_grid is not None and table is not None:
        names = [s.get("name", "") for s in sites]
        profiles, hourly_origin = _read_hourly(hourly_grid, names, problems)
        for i, profile in profiles.items():
            sites[i]["hourly_price_usd_per_mwh"] = profile
    _raise_if(problems, source)
    origin = TableOrigin(source, table, tuple(row for row, _, _ in parsed), hourly_origin,
                         hourly_given=hourly_grid is not None)
    return TableRows(sites, origin)


# --------------------------------------------------------------------------- into a scenario

def _translate(problems: list[Problem], key: str, origin: TableOrigin | None) -> list[Problem]:
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


def _validated(scenario: Scenario, key: str, items: list[dict], origin: TableOrigin | None) -> Scenario:
    data = scenario_to_dict(scenario)
    data[key] = [dict(item) for item in items]
    source = origin.source if origin is not None else None
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as e:
        raise TableImportError(_translate(e.problems, key, origin), source) from None


def _present_fields(rows) -> set[str] | None:
    """The fields the file has a column for (None when the rows came from elsewhere: all of them)."""
    origin = getattr(rows, "origin", None)
    return None if origin is None or origin.table is None else set(origin.table.columns)


def _set_dotted(d: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        d = d.setdefault(part, {})
    d[leaf] = value


def _keep_absent_columns(items: list[dict], old: list, key, layout: tuple[Column, ...], present: set[str] | None,
                         what: str, notes: list[str] | None) -> None:
    """Fill the fields the file has no column for from the scenario's matching entry.

    A table without, say, a Take-or-pay column says nothing about take-or-pay; importing it must
    not quietly reset every site's contract (or every cohort's salvage) to the default. Entries
    are matched by ``key`` (a site's name; a cohort's model and site when that pair is unique);
    unmatched ones take the defaults, and ``notes`` says which columns were missing and what happened.
    """
    if present is None:
        return
    absent = [c for c in layout if c.field not in present]
    if not absent:
        return
    by_key: dict[Any, list] = {}
    for o in old:
        by_key.setdefault(key(o), []).append(o)
    no_ai_columns = not any(f.startswith("ai.") for f in present)
    kept = defaulted = 0
    for item in items:
        match = by_key.get(key(item), [])
        if len(match) != 1:
            defaulted += 1
            continue
        kept += 1
        src = match[0]
        for c in absent:
            if c.field.startswith("ai.") and no_ai_columns:
                continue
            value = _attr(src, c.field)
            if value is not None:
                _set_dotted(item, c.field, value)
        if no_ai_columns and getattr(src, "ai", None) is not None:
            item["ai"] = src.ai.model_dump(mode="json", exclude_none=True)   # the whole AI/HPC section
    if notes is not None:
        headers = [c.header for c in absent if not (no_ai_columns and c.field.startswith("ai."))]
        if no_ai_columns and any(c.field.startswith("ai.") for c in layout):
            headers.append("the AI/HPC columns")
        cols = ", ".join(headers[:6]) + (f" and {len(headers) - 6} more" if len(headers) > 6 else "")
        parts = [f"kept the scenario's values for {kept} {what}"] if kept else []
        if defaulted:
            parts.append(f"{defaulted} {what} not in the scenario (or not matched one to one) take the defaults")
        notes.append(f"the file has no column for {cols}: " + "; ".join(parts))


def import_fleet_into(scenario: Scenario, rows: list[dict], notes: list[str] | None = None) -> Scenario:
    """``scenario`` with its fleet replaced by ``rows`` (from :func:`read_fleet`), validated.

    Columns the file lacks keep each cohort's values where its model and site match exactly one
    cohort of the scenario (see :func:`_keep_absent_columns`; ``notes`` gets what happened).
    Raises TableImportError; problems in imported rows name their sheet cell.
    """
    items = [dict(r) for r in rows]
    _keep_absent_columns(items, scenario.fleet, _cohort_key, FLEET_COLUMNS, _present_fields(rows), "cohorts",
                         notes)
    return _validated(scenario, "fleet", items, getattr(rows, "origin", None))


def _cohort_key(c) -> tuple:
    get = c.get if isinstance(c, dict) else lambda k: getattr(c, k, None)
    return get("model"), get("site")


def import_sites_into(scenario: Scenario, sites: list[dict], notes: list[str] | None = None) -> Scenario:
    """``scenario`` with its sites replaced by ``sites`` (from :func:`read_sites`), validated.

    When the file held no hourly price table (a CSV, or a workbook without the sheet), a
    site keeps the hourly profile the scenario already has under the same name: a CSV
    cannot carry one, and dropping it would quietly change the site's power cost. Likewise a
    column the file lacks (take-or-pay, the AI/HPC section ...) keeps the same-named site's values.
    """
    origin = getattr(sites, "origin", None)
    items = [dict(s) for s in sites]
    if origin is None or not origin.hourly_given:
        kept = {s.name: s.hourly_price_usd_per_mwh for s in scenario.sites if s.hourly_price_usd_per_mwh}
        for item in items:
            if "hourly_price_usd_per_mwh" not in item and item.get("name") in kept:
                item["hourly_price_usd_per_mwh"] = kept[item["name"]]
    _keep_absent_columns(items, scenario.sites, _site_key, SITE_COLUMNS, _present_fields(sites), "sites", notes)
    return _validated(scenario, "sites", items, origin)


def _site_key(s) -> Any:
    return s.get("name") if isinstance(s, dict) else s.name


# --------------------------------------------------------------------------- the template

TEMPLATE_INPUT_ROWS = 200  # rows below the header formatted for input (blue font, validation lists)
_BLUE = "0000FF"
_INSTRUCTIONS = {
    FLEET_SHEET: "One row per cohort (identical ASICs at one site) from row 5, no blank rows in between (a "
                 "blank row with data below it is refused). Blank optional cells take the default. Blue cells "
                 "are inputs.",
    SITES_SHEET: "One row per site from row 5. Leave 'AI convertible' and every AI column blank for a site "
                 "that cannot convert to AI/HPC. Blue cells are inputs.",
    HOURLY_SHEET: "Optional: 12 rows per site (calendar months 1-12), 24 hourly prices in USD/MWh each; "
                  "a site listed here pays these instead of its flat power price.",
}
_TITLES = {FLEET_SHEET: "MinerPlan fleet import", SITES_SHEET: "MinerPlan site import",
           HOURLY_SHEET: "MinerPlan hourly power prices (USD/MWh)"}


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None) if obj is not None else None
    return obj


def put_text(cell, text: str) -> None:
    """Write ``text`` as text: '=HYPERLINK(...)' must never become a formula in the user's Excel."""
    cell.value = text
    cell.data_type = "s"


def _put_value(cell, column: Column, value: Any) -> None:
    """An example value in the form a user would type it (a month as a real date)."""
    if value is None:
        return
    if column.kind == "month":
        year, month = (int(x) for x in value.split("-"))
        cell.value = dt.datetime(year, month, 1)
        cell.number_format = "yyyy-mm"
    elif column.kind == "bool":
        put_text(cell, "yes" if value else "no")
    elif isinstance(value, str):
        put_text(cell, value)
    elif isinstance(value, float) and value.is_integer():
        cell.value = int(value)
    else:
        cell.value = value


def _note(column: Column) -> str:
    parts = ["required" if column.required else ""]
    if column.choices:
        parts.append(" or ".join(column.choices))
    if column.note:
        parts.append(column.note)
    return "; ".join(p for p in parts if p)


def _template_sheet(wb, name: str, layout: tuple[Column, ...], examples: list[list[Any]]) -> None:
    """One template sheet: title, instruction, notes (row 3), bold headers (row 4), examples from row 5."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = wb.create_sheet(name)
    ws["A1"] = _TITLES[name]
    ws["A1"].font = Font(bold=True, size=14)
    put_text(ws["A2"], _INSTRUCTIONS[name])
    ws["A2"].font = Font(italic=True)
    first, last = 5, 4 + TEMPLATE_INPUT_ROWS
    for col, column in enumerate(layout, start=1):
        letter = column_letter(col)
        put_text(ws.cell(row=3, column=col), _note(column))
        ws.cell(row=3, column=col).font = Font(italic=True, color="808080")
        put_text(ws.cell(row=4, column=col), column.header)
        ws.cell(row=4, column=col).font = Font(bold=True)
        ws.column_dimensions[letter].width = max(10, min(40, len(column.header) + 2))
        for r in range(first, last + 1):
            ws.cell(row=r, column=col).font = Font(color=_BLUE)
            if column.kind == "month":
                ws.cell(row=r, column=col).number_format = "yyyy-mm"
        if column.kind in ("bool", "choice"):
            options = ("yes", "no") if column.kind == "bool" else column.choices
            dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                                showErrorMessage=True, error=f"choose {' or '.join(options)}")
            dv.add(f"{letter}{first}:{letter}{last}")
            ws.add_data_validation(dv)
    for r, values in enumerate(examples, start=first):
        for col, (column, value) in enumerate(zip(layout, values), start=1):
            _put_value(ws.cell(row=r, column=col), column, value)
    ws.freeze_panes = "A5"


def template_examples(scenario: Scenario) -> dict[str, list[list[Any]]]:
    """Example rows per sheet: the scenario's first cohort, its first site and that site's
    hourly profile (all 12 months, so the template imports as it is)."""
    cohort = scenario.fleet[0] if scenario.fleet else None
    site = scenario.sites[0]
    fleet = [[_attr(cohort, c.field) for c in FLEET_COLUMNS]] if cohort is not None else []
    sites = [[_attr(site, c.field) for c in SITE_COLUMNS]]
    hourly = [[site.name, m + 1, *prices] for m, prices in enumerate(site.hourly_price_usd_per_mwh or [])]
    return {FLEET_SHEET: fleet, SITES_SHEET: sites, HOURLY_SHEET: hourly}


def _atomic_save(wb, path: Path) -> None:
    """Save through a temp file in the same folder and a rename: never half a workbook."""
    atomic_write(path, wb.save)


def write_template(path: str | os.PathLike, scenario: Scenario) -> None:
    """The import template: sheets Fleet, Sites and Hourly prices with one example each from ``scenario``."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    examples = template_examples(scenario)
    _template_sheet(wb, FLEET_SHEET, FLEET_COLUMNS, examples[FLEET_SHEET])
    _template_sheet(wb, SITES_SHEET, SITE_COLUMNS, examples[SITES_SHEET])
    _template_sheet(wb, HOURLY_SHEET, HOURLY_COLUMNS, examples[HOURLY_SHEET])
    _atomic_save(wb, Path(path))


def _csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv_templates(directory: str | os.PathLike, scenario: Scenario) -> list[Path]:
    """``fleet.csv`` and ``sites.csv`` (header and one example row each) in ``directory``."""
    from minerplan.scenario.file_io import atomic_write_text

    examples = template_examples(scenario)
    written = []
    for name, layout, sheet in (("fleet.csv", FLEET_COLUMNS, FLEET_SHEET), ("sites.csv", SITE_COLUMNS, SITES_SHEET)):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.header for c in layout])
        for values in examples[sheet]:
            writer.writerow([_csv_cell(c, v) for c, v in zip(layout, values)])
        target = Path(directory) / name
        atomic_write_text(target, buf.getvalue())
        written.append(target)
    return written
