"""The exported workbook, printed by LibreOffice to PDF, reads as a model a bank accepts (issue 14).

The shipped scenario is exported and printed through LibreOffice (headless, the same engine the
recalculation tests use), and the PDF is read with poppler's tools:

* pdfinfo / pdftotext: the Summary alone on page 1 and the Annual roll-up alone on page 2 (each sheet's
  pages are told apart by the footer, which names the sheet); every sheet prints the pages its set-up plans
  (so LibreOffice added no page break of its own: no sliver pages); the whole export prints at most
  :data:`MAX_PAGES` pages (141 measured; 315 when the Dispatch sheet printed its 170 pages of cohort-hour
  slots, now collapsed row groups that do not print) and the Dispatch sheet its site totals only;
* pdftoppm: no page with less than a tenth of its printable area used (the bounding box of the ink inside
  the margins, on a 20 dpi render);
* pdftotext -bbox: no text under 7 pt (a word's box is its font size times the face's ascent plus descent;
  that factor is measured on a calibration sheet printed at 100% in the same run);
* pdffonts: one font family;
* the text of the first pages: the NPV figures say which statistic they are, units apart from values, no
  scientific notation, no doubled %, no overlapping words; and no page cites a file outside the repository.

Skips when LibreOffice or poppler is missing (``.ci/run`` installs LibreOffice; poppler-utils is a package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from minerplan.scenario.files import load_scenario
from minerplan.sheets.export.printing import plan_blocks
from minerplan.sheets.export.workbook import export_workbook

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("pdfinfo", "pdffonts", "pdftotext", "pdftoppm")
MIN_FONT_PT = 7.0
MIN_USED = 0.10
DPI = 20
MARGINS_IN = {"top": 0.55, "bottom": 0.6, "side": 0.4}   # minerplan.sheets.export.printing's margins
CALIBRATION_PT = 10
MAX_PAGES = 150           # the shipped 60-month scenario prints 141 (Dispatch 10, Cohorts 20, Retargets 3)
MAX_DISPATCH_PAGES = 10   # three sites' totals: one page high, ten half-years wide (was 170 pages)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


pytestmark = pytest.mark.skipif(_soffice() is None or any(shutil.which(t) is None for t in TOOLS),
                                reason="needs LibreOffice (soffice) and poppler-utils (pdfinfo, pdffonts, pdftotext, "
                                       "pdftoppm)")


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The shipped scenario's workbook (50 paths, seed 1) and a calibration sheet, printed to PDF in one run."""
    tmp = tmp_path_factory.mktemp("print")
    rep = export_workbook(load_scenario("default"), tmp / "default.xlsx", n_paths=50, seed=1)
    wb = Workbook()
    wb.active["A1"] = "Calibration"
    wb.active["A1"].font = Font(name="Calibri", size=CALIBRATION_PT)
    wb.active.page_setup.scale = 100
    wb.save(tmp / "calibration.xlsx")
    profile = (tmp / "lo-profile").resolve().as_uri()
    subprocess.run([_soffice(), f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to",
                    "pdf", "--outdir", str(tmp), str(tmp / "default.xlsx"), str(tmp / "calibration.xlsx")],
                   capture_output=True, text=True, timeout=600, check=True)
    pdf = tmp / "default.pdf"
    assert pdf.exists() and (tmp / "calibration.pdf").exists()
    pages = _run("pdftotext", "-layout", str(pdf), "-").split("\f")[:-1]
    return rep, pdf, pages, tmp


def _sheet_of(page_text: str) -> str:
    """The sheet a page belongs to: the footer's left part (the sheet name) on its last line."""
    last = [line for line in page_text.splitlines() if line.strip()][-1]
    m = re.match(r"\s*(.+?)\s+Page \d+ of \d+\s*$", last)
    assert m, f"no footer on a page: {last!r}"
    return m.group(1)


def _words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Per page, each word's box (xMin, yMin, xMax, yMax, text) from pdftotext -bbox."""
    out = _run("pdftotext", "-bbox", str(pdf), "-")
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append([(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page)])
    return pages


def test_summary_and_annual_each_on_one_page_and_every_sheet_as_planned(printed):
    rep, pdf, pages, _ = printed
    n_pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))
    assert n_pages == len(pages)
    sheets = [_sheet_of(p) for p in pages]
    assert sheets[:3] == ["Summary", "Annual", "Inputs"], sheets[:3]
    got = Counter(sheets)
    assert got["Summary"] == 1 and got["Annual"] == 1
    # Every sheet prints the pages its set-up planned: LibreOffice cut no extra page (a sliver) of its own.
    assert dict(got) == rep.print_pages, {k: (got.get(k), v) for k, v in rep.print_pages.items() if got.get(k) != v}
    assert n_pages == sum(rep.print_pages.values())
    # The sheets print in the workbook's order, each in one run of pages.
    assert list(dict.fromkeys(sheets)) == [s for s in rep.sheets if s in got]


def test_the_default_export_prints_a_sensible_length(printed):
    """At most MAX_PAGES pages; the Dispatch sheet prints each site's totals, not its per-slot rows (they are
    in the file, in collapsed row groups: tests/test_xlsx_export.py checks them and their values)."""
    rep, _, pages, _ = printed
    assert len(pages) <= MAX_PAGES, (len(pages), rep.print_pages)
    dispatch = [p for p in pages if _sheet_of(p) == "Dispatch"]
    assert 0 < len(dispatch) <= MAX_DISPATCH_PAGES
    for page in dispatch:
        for site in ("Texas", "Georgia", "North Dakota"):
            assert site in page
        assert len(re.findall(r"^\s*Take-or-pay minimum left to mining\s", page, re.M)) == 3
        assert len(re.findall(r"^\s*Energy cost of mining\s", page, re.M)) == 3
        for slot_line in ("Energy price", "Breakeven hashprice", "Share of the slot run", "Site totals", " H00"):
            assert slot_line not in page, slot_line
    cohorts = "\n".join(p for p in pages if _sheet_of(p) == "Cohorts")
    assert "Age and degraded TH/s per unit" in cohorts and "Running units" in cohorts
    assert not re.search(r"^\s*Age\s.*\smonths\s", cohorts, re.M), "a cohort's age row printed"


def test_no_page_starts_on_a_collapsed_row():
    """Rows of no height (a collapsed group) are never the first rows of a page: a break moves past them, so
    the manual break sits on a row that prints."""
    group = [15.0] * 5 + [0.0] * 5   # four lines, a blank line (a preferred break), a collapsed group
    heights = [21.0, 15.0] + [15.0] * 5 + group * 10   # title, note, header rows, 10 groups
    blank = {7 + 5 + k * len(group) for k in range(10)}   # 1-based rows of the blank lines
    layout = plan_blocks([100.0] * 4, heights, title_cols=1, title_rows=(3, 7), blank_rows=blank)
    assert layout.row_breaks, "the rows need more than a page"
    for r in layout.row_breaks:   # the page ends after row r (1-based): row r + 1 starts the next
        assert heights[r] > 0, r


def test_no_page_is_near_empty(printed):
    """The ink inside the margins spans at least a tenth of the printable area on every page."""
    _, pdf, pages, tmp = printed
    out = tmp / "render"
    out.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(pdf), str(out / "p")], check=True, timeout=600)
    files = sorted(out.glob("p-*.pgm"))
    assert len(files) == len(pages)
    used = []
    for f in files:
        raw = f.read_bytes()
        magic, w, h, _maxval, data = raw.split(maxsplit=4)
        assert magic == b"P5"
        w, h = int(w), int(h)
        img = np.frombuffer(data[-w * h:], dtype=np.uint8).reshape(h, w)
        top, bottom, side = (int(MARGINS_IN[k] * DPI) for k in ("top", "bottom", "side"))
        inner = img[top:h - bottom, side:w - side]   # the footer sits in the bottom margin
        ink = np.argwhere(inner < 200)
        if ink.size == 0:
            used.append(0.0)
            continue
        (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0)
        used.append((y1 - y0 + 1) * (x1 - x0 + 1) / inner.size)
    thin = {k + 1: (round(u, 3), _sheet_of(pages[k])) for k, u in enumerate(used) if u < MIN_USED}
    assert not thin, f"pages with less than a tenth used: {thin}"


def test_no_text_under_7_pt_and_one_font_family(printed):
    _, pdf, pages, tmp = printed
    cal = next(w for w in _words(tmp / "calibration.pdf")[0] if w[4] == "Calibration")
    factor = (cal[3] - cal[1]) / CALIBRATION_PT   # box height per pt of font size (ascent + descent)
    assert 1.0 < factor < 1.6, factor
    smallest = {}
    for k, words in enumerate(_words(pdf)):
        heights = [(y1 - y0) / factor for _, y0, _, y1, _ in words]
        if heights:
            smallest[k + 1] = min(heights)
    assert len(smallest) == len(pages)
    low = {k: round(v, 2) for k, v in smallest.items() if v < MIN_FONT_PT - 0.01}
    assert not low, f"text under {MIN_FONT_PT} pt on pages {low}"
    assert min(smallest.values()) < 7.6, "the check would not see small text (every page at 7.6 pt or more?)"
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    families = {re.sub(r"-(Bold|Oblique|Italic|BoldOblique|BoldItalic)$", "", line.split()[0].split("+")[-1])
                for line in fonts}
    assert len(families) == 1, families


def test_the_first_pages_read_right(printed):
    _, pdf, pages, _ = printed
    summary, annual = pages[0], pages[1]
    assert "MinerPlan: Mid-size miner, late November 2025" in summary
    for words in ("NPV on the entered price path", "Expected NPV (mean of 50 paths)", "Median NPV (of 50 paths)",
                  "By site, on the entered price path", "Breakevens by cohort, first month", "Key figures"):
        assert words in summary, words
    assert re.search(r"NPV on the entered price path\s+67\.6\s+USD M", summary), "NPV in USD millions, unit apart"
    assert re.search(r"Difficulty at the start\s+149\.30\s+T \(10\^12\)", summary), "difficulty in T, not 1.49E+14"
    assert re.search(r"Cash cost per BTC.*\n?.*\s93,050\s+USD per BTC", summary), "USD per BTC with separators"
    # A table row's line holds its own cells only: a header that wrapped into the rows below (as they did, with
    # "month [USD]" beside Texas's numbers) or a value running into its unit would break these.
    number = r"\s+(-?[\d,]+(\.\d+)?|-)"   # a zero in USD M prints as -
    for site in ("Texas", "Georgia", "North Dakota"):
        assert re.search(rf"^\s*{site}({number}){{5}}\s*$", summary, re.M), site
    assert re.search(rf"^\s*Antminer S21 XP\s+Texas({number}){{4}}\s*$", summary, re.M)
    for page in (summary, annual):
        assert not re.search(r"\d\.\d+E[+-]\d", page), "scientific notation"
        assert "%%" not in page
    assert "Annual roll-up by calendar year" in annual
    assert re.search(r"Line item\s+Unit\s+2025\s+2026\s+2027\s+2028\s+2029\s+2030\s+Total", annual)
    for line in ("Total revenue", "Total operating costs", "EBITDA", "Capex", "Tax", "Net cash flow", "BTC mined",
                 "Cash cost per BTC", "All-in cost per BTC"):
        assert re.search(rf"^\s*{re.escape(line)}\s+(USD M|BTC|USD per BTC)\s", annual, re.M), line
    assert re.search(r"Months modelled\s+months\s+1\s+12\s+12\s+12\s+12\s+11\s+60", annual)


def test_no_words_overlap_on_the_summary_and_annual_pages(printed):
    """Headers, values and units each in their own space: no two words' boxes intersect (the cells above the
    Summary's charts: the charts' month labels are rotated, and pdftotext cuts them into overlapping pieces)."""
    _, pdf, _, _ = printed
    for k, words in enumerate(_words(pdf)[:2]):
        texts = [w[4] for w in words]
        charts = [words[i][1] for i in range(len(words) - 2) if texts[i:i + 3] == ["EBITDA", "and", "net"]]
        assert charts or k == 1, "the Summary's first chart title"
        flat = [w for w in words if not charts or w[3] < charts[0]]
        # A word's box is taller than its line pitch (ascent + descent of the face), so the lines of a wrapped
        # cell touch: words clash when they share a line (over 40% of the smaller height) and overlap across.
        clash = [(a[4], b[4]) for i, a in enumerate(flat) for b in flat[i + 1:]
                 if min(a[2], b[2]) - max(a[0], b[0]) > 0.5
                 and min(a[3], b[3]) - max(a[1], b[1]) > 0.4 * min(a[3] - a[1], b[3] - b[1])]
        assert not clash, f"page {k + 1}: overlapping words {clash[:10]}"


def test_notes_cite_no_file_outside_the_repository(printed):
    """Every file a page names is in the repository (docs/sources.md, assets/...); no absolute or home path."""
    _, _, pages, _ = printed
    text = "\n".join(pages)
    assert not re.search(r"(^|\s)(/(home|root|tmp|Users|work|mnt|var)/|~/|[A-Z]:\\)", text)
    cited = set(re.findall(r"\b[\w.-]+(?:/[\w.-]+)+\.(?:md|json|csv|py|txt)\b", text))
    assert "docs/sources.md" in cited and "assets/default_scenario.json" in cited
    missing = sorted(c for c in cited if not (ROOT / c).exists())
    assert not missing, missing
