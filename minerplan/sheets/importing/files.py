"""Opening a file to import: its type and size checked, its bytes read, and its grids (the main table's
sheet or CSV file, and an optional extra sheet).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from minerplan.scenario.fields import Column
from minerplan.sheets.importing import limits
from minerplan.sheets.importing.csv_text import csv_records
from minerplan.sheets.importing.grids import CsvGrid, Grid
from minerplan.sheets.importing.problems import fail
from minerplan.sheets.importing.xlsx_sheets import read_xlsx


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes, or a TableImportError saying why not (missing, too large, not a file)."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise fail(source, "is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise fail(source, "not a regular file")
        if st.st_size > limits.MAX_FILE_BYTES:
            raise fail(source, f"file is {st.st_size:,} bytes; the limit for an import is {limits.MAX_FILE_BYTES:,}")
        with open(path, "rb") as fh:
            data = fh.read(limits.MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise fail(source, "file not found") from None
    except PermissionError:
        raise fail(source, "permission denied") from None
    except OSError as e:
        raise fail(source, f"cannot read: {e.strerror or type(e).__name__}") from None
    if len(data) > limits.MAX_FILE_BYTES:
        raise fail(source, f"file is larger than the limit for an import ({limits.MAX_FILE_BYTES:,} bytes)")
    return data


def check_suffix(path: Path, source: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in limits.SUFFIXES:
        hint = " (save an .xls or .xlsm workbook as .xlsx)" if suffix in (".xls", ".xlsm", ".xlsb", ".ods") else ""
        what = f"a {suffix} file" if suffix else "a file without an extension"
        raise fail(source, f"cannot import {what}; give a .csv or .xlsx file{hint}")
    return suffix


def open_grids(path: str | os.PathLike, main_sheet: str, layout: tuple[Column, ...],
                extra_sheet: str | None = None) -> tuple[str, Grid, Grid | None]:
    """(source name, the main table's grid, the optional extra sheet's grid or None)."""
    p = Path(path)
    source = str(path)
    suffix = check_suffix(p, source)
    data = read_bytes(p, source)
    if suffix == ".csv":
        return source, CsvGrid(p.name, *csv_records(data, source, layout)), None
    return (source, *read_xlsx(data, source, main_sheet, extra_sheet))
