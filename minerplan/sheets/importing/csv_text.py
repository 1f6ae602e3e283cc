"""A CSV file's text: its encoding (UTF-8, or UTF-16/32 with a byte order mark), its delimiter (comma,
semicolon or tab, whichever its header uses), its records, and the hint for a row split at a
thousands comma. The price history reader shares the decoding and the hint, so a file gets the
same answer from both.
"""

from __future__ import annotations

import csv
import io
import re

from minerplan.scenario.fields import Column
from minerplan.sheets.importing import limits
from minerplan.sheets.importing.cells import is_blank
from minerplan.sheets.importing.headers import header_names, norm_header
from minerplan.sheets.importing.problems import fail


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


NEWLINE = b"\n"


def csv_records(data: bytes, source: str, layout: tuple[Column, ...]) -> tuple[dict[int, list[str]], str]:
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
        raise fail(source, f"{where}{e}") from None
    if text.strip() == "":
        raise fail(source, "the file is empty")
    delimiter = guess_delimiter(text, layout)
    records: dict[int, list[str]] = {}
    try:
        for row, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if all(is_blank(v) for v in record):
                continue
            records[row] = record
            if len(records) > limits.MAX_DATA_ROWS + 1:
                break
    except csv.Error as e:
        raise fail(source, f"not a readable CSV file: {e}") from None
    return records, delimiter


def guess_delimiter(text: str, layout: tuple[Column, ...]) -> str:
    """The delimiter that splits the first non-empty line into the most known headers
    (Excel writes ';' where the decimal separator is a comma)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    names = header_names(layout)
    best, best_hits = ",", 0
    for d in (",", ";", "\t"):
        try:
            cells = next(csv.reader([first], delimiter=d), [])
        except csv.Error:
            continue
        hits = sum(norm_header(c) in names for c in cells)
        if hits > best_hits:
            best, best_hits = d, hits
    return best


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
