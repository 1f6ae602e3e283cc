"""The limits of an import: file and sheet sizes past which a file is refused before it costs minutes
and gigabytes.

The readers read them as ``limits.MAX_...`` when they run, so a test can lower one.
"""

from __future__ import annotations

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
