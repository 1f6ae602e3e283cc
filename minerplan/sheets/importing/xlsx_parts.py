"""An .xlsx workbook's structure, read without openpyxl: its sheets' parts, the shared text, the date
styles and the date system; zip bombs and oversized parts refused.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import zipfile
from dataclasses import dataclass

from minerplan.sheets.importing import limits
from minerplan.sheets.importing.problems import fail


def local_name(tag: str) -> str:
    """``{namespace}row`` -> ``row`` (transitional and strict OOXML name their elements alike)."""
    return tag.rpartition("}")[2]


def has_part(zf: zipfile.ZipFile, name: str, source: str) -> bool:
    """Whether the workbook has part ``name``; one too large to parse whole is refused (limits.MAX_PART_BYTES)."""
    try:
        size = zf.getinfo(name).file_size
    except KeyError:
        return False
    if size > limits.MAX_PART_BYTES:
        raise fail(source, f"cannot read the workbook: its part {name} unpacks to {size:,} bytes; the limit "
                            f"is {limits.MAX_PART_BYTES:,} (copy the sheets to import into a new workbook)")
    return True


def part_xml(zf: zipfile.ZipFile, name: str, source: str, *, optional: bool = False):
    """A workbook part parsed whole, or None if it is absent and ``optional``."""
    from xml.etree.ElementTree import fromstring

    if not has_part(zf, name, source):
        if optional:
            return None
        raise fail(source, f"cannot read the workbook: it has no {name} (save it again from Excel)")
    return fromstring(zf.read(name))


def _relationships(zf: zipfile.ZipFile, part: str, source: str) -> dict[str, tuple[str, str]]:
    """The relationships of ``part``: id -> (type, target part name)."""
    folder, _, base = part.rpartition("/")
    root = part_xml(zf, f"{folder + '/' if folder else ''}_rels/{base}.rels", source, optional=True)
    rels = {}
    for rel in root if root is not None else ():
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        target = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        rels[rel.get("Id", "")] = (rel.get("Type", "").rpartition("/")[2], posixpath.normpath(target))
    return rels


@dataclass
class WorkbookParts:
    """What of an .xlsx the import needs: its sheets' parts by name, the shared text part, the
    style indices that hold dates (and durations), and the date system."""

    zf: zipfile.ZipFile
    source: str
    sheets: dict[str, str]              # sheet name -> part name
    shared_strings: str | None
    date_styles: set[int]
    duration_styles: set[int]
    epoch: dt.datetime


def open_workbook(data: bytes, source: str) -> WorkbookParts:
    """The workbook's structure; refuses non-zip files, zip bombs and oversized parts.

    Nothing of a sheet is read here: openpyxl's ``load_workbook`` would load every sheet
    (twice, for values and formulas) before a row could be counted, which took 107 s and
    3.9 GB for a 980,000-row sheet; :mod:`xlsx_sheets` streams only the sheets imported.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        unzipped = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise fail(source, "not an .xlsx workbook (the file is not a zip archive; an old .xls or a "
                            "password-protected workbook must be saved again as .xlsx)") from None
    if unzipped > limits.MAX_UNZIPPED_BYTES:
        raise fail(source, f"the workbook unpacks to {unzipped:,} bytes; the limit is {limits.MAX_UNZIPPED_BYTES:,}")
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    package = _relationships(zf, "", source)
    book = next((target for kind, target in package.values() if kind == "officeDocument"), "xl/workbook.xml")
    root = part_xml(zf, book, source)
    rels = _relationships(zf, book, source)
    sheets: dict[str, str] = {}
    epoch = CALENDAR_WINDOWS_1900
    for el in root.iter():
        tag = local_name(el.tag)
        if tag == "workbookPr" and el.get("date1904", "").lower() in ("1", "true"):
            epoch = CALENDAR_MAC_1904
        elif tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.startswith("{") and local_name(k) == "id"), "")
            kind, target = rels.get(rid, ("", ""))
            if kind == "worksheet":
                sheets[el.get("name", "")] = target
    shared = next((target for kind, target in rels.values() if kind == "sharedStrings"), None)
    styles = next((target for kind, target in rels.values() if kind == "styles"), None)
    date_styles, duration_styles = set(), set()
    styles_root = part_xml(zf, styles, source, optional=True) if styles else None
    if styles_root is not None:
        custom = {el.get("numFmtId"): el.get("formatCode", "") for el in styles_root.iter()
                  if local_name(el.tag) == "numFmt"}
        xfs = next((el for el in styles_root if local_name(el.tag) == "cellXfs"), ())
        for i, xf in enumerate(x for x in xfs if local_name(x.tag) == "xf"):
            fid = xf.get("numFmtId", "0")
            code = custom.get(fid) if fid in custom else BUILTIN_FORMATS.get(int(fid) if fid.isdigit() else -1)
            if code and is_date_format(code):
                date_styles.add(i)
                if is_timedelta_format(code):
                    duration_styles.add(i)
    return WorkbookParts(zf, source, sheets, shared, date_styles, duration_styles, epoch)


def find_sheet(wb: WorkbookParts, name: str) -> str | None:
    """The name of the sheet called ``name`` (ignoring case and surrounding spaces), or None."""
    wanted = name.strip().casefold()
    return next((title for title in wb.sheets if title.strip().casefold() == wanted), None)


def rich_text(el) -> str:
    """The text of a shared or inline string: its ``t``, or its runs' ``t`` (phonetic runs left out)."""
    parts = []
    for child in el:
        tag = local_name(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(g.text or "" for g in child if local_name(g.tag) == "t")
    return "".join(parts)


def shared_strings(wb: WorkbookParts, wanted: set[int]) -> dict[int, str]:
    """The shared strings the imported sheets use, read until the last one of them is passed."""
    from xml.etree.ElementTree import iterparse

    if not wanted:
        return {}
    if wb.shared_strings is None or not has_part(wb.zf, wb.shared_strings, wb.source):
        raise fail(wb.source, "cannot read the workbook: its cells refer to shared text, but it has none "
                               "(save it again from Excel)")
    last = max(wanted)
    out: dict[int, str] = {}
    index, root = 0, None
    with wb.zf.open(wb.shared_strings) as stream:
        for event, el in iterparse(stream, events=("start", "end")):
            if event == "start":
                root = el if root is None else root
                continue
            if local_name(el.tag) != "si":
                continue
            if index in wanted:
                out[index] = rich_text(el).replace("x005F_", "")   # as openpyxl reads them
            index += 1
            root.clear()
            if index > last:
                break
    return out
