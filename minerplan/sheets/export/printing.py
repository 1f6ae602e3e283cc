"""Print set-up of the exported sheets: pages a person can read, on US Letter, with no near-empty page.

Each sheet says how it prints (the sheets are too different for one rule):

* :func:`print_one_page`: the Summary and Annual sheets, fitted to one page.
* :func:`print_in_blocks`: every other sheet at a fixed scale, landscape, cut into page-wide column blocks
  (a time sheet's blocks are whole groups of months: a year, a half-year or a quarter, whichever fits),
  with the header rows and the label columns repeated on every page. The scale is the largest one that
  prints the fewest pages without a near-empty one, and never below :data:`MIN_SCALE_PCT`, so 11-pt text
  prints at 7 pt or more. Blocks are even: the columns (and rows) are shared out over the pages the sheet
  needs, so the last page is not a sliver; rows break after a blank row (between sections) where one is near.

Bulky detail (the Dispatch sheet's per-slot rows, the spare Retargets epochs, two Cohorts blocks) sits in
collapsed row groups (``Book.group_rows``): hidden rows do not print, so they plan at no height, and no page
starts on one.

Page breaks are manual (the ``colBreaks``/``rowBreaks`` a spreadsheet honours at a fixed scale), so every
application cuts the same columns and rows. They are planned with LibreOffice's metrics, the wider of the
two common ones: a column ``w`` character units wide prints ``7.0 w`` pt at 100% in LibreOffice when
Calibri is not installed (the digit width of the DejaVu Sans it draws instead), against ``5.25 w + 3.75``
pt in Excel with Calibri; a row is 15 pt in both. A block planned to fit LibreOffice's page fits Excel's.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break, ColBreak, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

from minerplan.sheets.export.book import Book
from minerplan.sheets.export.cells import FONT_NAME, FONT_PT, WRAP, col, merge_across

PAGE_LONG_PT, PAGE_SHORT_PT = 792.0, 612.0          # US Letter
MARGIN_SIDE_IN, MARGIN_TOP_IN, MARGIN_BOTTOM_IN = 0.4, 0.55, 0.6
HEADER_IN, FOOTER_IN = 0.25, 0.3
CHAR_PT = 7.0             # printed width of one column-width unit at 100% (LibreOffice, DejaVu Sans 11 pt)
DEFAULT_WIDTH_CHARS = 8.43
ROW_PT = 15.0
MIN_PRINTED_PT = 7.0
MIN_SCALE_PCT = math.ceil(100 * MIN_PRINTED_PT / FONT_PT) + 1   # 65: 11-pt text prints at 7.15 pt (a margin)
FOOTER_PRINTED_PT = 8.0
FIT = 0.98                # room left on a page for rounding in the application's own layout
_BREAKS = re.compile("[ \t\n]+")   # where a line may wrap (not at a non-breaking space)
NEAR_EMPTY = 0.15         # a planned page filled less than this (by area) is refused when a layout without one exists


@dataclass(frozen=True)
class Layout:
    """A sheet's planned pages: scale (%), the last column and row of each block but the last, page count."""
    scale_pct: int
    col_breaks: tuple[int, ...]
    row_breaks: tuple[int, ...]
    pages: int
    min_fill: float           # the smallest planned page's filled share of its printable area


def printable_pt(landscape: bool) -> tuple[float, float]:
    """Width and height (pt) inside the margins at 100%."""
    w, h = (PAGE_LONG_PT, PAGE_SHORT_PT) if landscape else (PAGE_SHORT_PT, PAGE_LONG_PT)
    return w - 2 * MARGIN_SIDE_IN * 72, h - (MARGIN_TOP_IN + MARGIN_BOTTOM_IN) * 72


def column_pt(ws: Worksheet, c: int) -> float:
    dim = ws.column_dimensions.get(col(c))
    width = dim.width if dim is not None and dim.width else DEFAULT_WIDTH_CHARS
    return width * CHAR_PT


def row_pt(book: Book, ws: Worksheet, r: int) -> float:
    """Row ``r``'s printed height at 100% (pt); 0 for a row in a collapsed group (hidden rows do not print)."""
    if book.is_hidden(ws, r):
        return 0.0
    dim = ws.row_dimensions.get(r)
    if dim is not None and dim.height is not None:
        return float(dim.height)
    return book.height(ws, r, ROW_PT)


def wrapped_lines(text: str, width_chars: float) -> int:
    """Lines ``text`` takes wrapped in a cell ``width_chars`` wide (greedy by words; a character per unit,
    less one for the cell's padding: at least as many lines as either application draws)."""
    per_line = max(int(width_chars) - 1, 4)
    lines, used = 1, 0
    for word in _BREAKS.split(str(text)):
        if not word:
            continue
        n = len(word)
        while n > per_line:            # a word longer than a line is cut
            if used:
                lines += 1
            n -= per_line
            used = per_line
        if used == 0:
            used = n
        elif used + 1 + n <= per_line:
            used += 1 + n
        else:
            lines += 1
            used = n
    return lines


class _Run:
    """Consecutive sizes (pt) with their running sums, for greedy blocks by bisection (a sheet has hundreds of
    rows and the layout is tried at every scale: the export must stay fast)."""

    def __init__(self, sizes: list[float], prefer=()):
        self.sizes = sizes
        self.prefix = list(accumulate(sizes, initial=0.0))
        self.biggest = max(sizes, default=0.0)
        self.prefer = sorted(prefer)

    def blocks(self, limit: float, prefer: bool = False) -> list[int] | None:
        """Greedy blocks each at most ``limit``: the index ending each block but the last. With ``prefer`` a
        block ends after a preferred index when that fills it to 3/4 or more. None when a size alone is over."""
        if self.biggest > limit:
            return None
        prefix, n, ends, start = self.prefix, len(self.sizes), [], 0
        while True:
            stop = bisect_right(prefix, prefix[start] + limit) - 1   # the block is start .. stop - 1
            if stop >= n:
                return ends
            cut = stop - 1
            if prefer and self.prefer:
                k = bisect_right(self.prefer, cut - 1) - 1
                if k >= 0 and self.prefer[k] >= start and prefix[self.prefer[k] + 1] - prefix[start] >= 0.75 * limit:
                    cut = self.prefer[k]
            ends.append(cut)
            start = cut + 1

    def split(self, capacity: float) -> list[int] | None:
        """The fewest blocks within ``capacity``, shared out evenly: the smallest limit that needs no more
        blocks than ``capacity`` does (bisection), so the last block is not a sliver; then, for as many
        blocks, ends after preferred indices where that costs little evenness."""
        if not self.sizes:
            return []
        greedy = self.blocks(capacity)
        if greedy is None:
            return None
        n = len(greedy) + 1
        if n == 1:
            return []
        lo, hi = self.biggest, capacity
        for _ in range(24):
            mid = (lo + hi) / 2
            got = self.blocks(mid)
            if got is not None and len(got) + 1 <= n:
                hi = mid
            else:
                lo = mid
        if self.prefer:
            nice = self.blocks(min(capacity, hi * 1.15), prefer=True)
            if nice is not None and len(nice) + 1 <= n:
                return nice
        return self.blocks(hi)


def _split(sizes: list[float], capacity: float, prefer=()) -> list[int] | None:
    return _Run(sizes, prefer).split(capacity)


def _fills(sizes: list[float], ends: list[int], capacity: float, fixed: float) -> float:
    """The smallest block's share of a page (``fixed``: the repeated titles, on every page)."""
    bounds = [-1] + list(ends) + [len(sizes) - 1]
    return min((sum(sizes[a + 1:b + 1]) + fixed) / (capacity + fixed) for a, b in zip(bounds, bounds[1:]))


def _col_units(col_pt: list[float], title_cols: int, col_groups: list[int] | None) -> tuple[list[float], list[int]]:
    """The body columns as unbreakable units (sizes) and the sheet column ending each unit."""
    if col_groups is None:
        return col_pt[title_cols:], list(range(title_cols + 1, len(col_pt) + 1))
    units, unit_end, prev = [], [], title_cols
    for end in sorted(set(col_groups) | {len(col_pt)}):
        if end > prev:
            units.append(sum(col_pt[prev:end]))
            unit_end.append(end)
            prev = end
    return units, unit_end


def plan_blocks(col_pt: list[float], row_heights_pt: list[float], *, title_cols: int,
                title_rows: tuple[int, int] | None, landscape: bool = True, col_groups: list[int] | None = None,
                blank_rows: set[int] = frozenset(), note_height=None) -> Layout:
    """The layout of a sheet of columns ``col_pt`` and rows ``row_heights_pt`` (1-based sheet order, pt at 100%).

    ``title_cols`` leading columns and the ``title_rows`` (first, last) repeat on every page; rows above the
    title rows print on the first pages only. ``col_groups``: the body columns may only break after these
    (sheet column numbers; None: after any). ``blank_rows``: rows to break after, where one is near.
    ``note_height(last_col_of_first_block)``: the wrapped note's height (it spans the first block).
    Scales are compared by page counts (greedy, cheap); the chosen one is then shared out evenly.
    """
    page_w, page_h = printable_pt(landscape)
    t_w = sum(col_pt[:title_cols])
    t0, t1 = title_rows if title_rows else (1, 0)
    t_h = sum(row_heights_pt[t0 - 1:t1])
    first_body = t1 + 1 if title_rows else 1
    units, unit_end = _col_units(col_pt, title_cols, col_groups)
    cols = _Run(units)
    prefer = [r - first_body for r in blank_rows if r >= first_body]
    runs: dict[int, _Run] = {}

    def rows_at(col_breaks: tuple[int, ...]) -> _Run:
        """The body rows as page units; the note's height depends on the first column block."""
        key = col_breaks[0] if col_breaks and note_height is not None else 0
        run = runs.get(key)
        if run is None:
            heights = list(row_heights_pt)
            if note_height is not None:
                heights[1] = note_height(col_breaks[0] if col_breaks else len(col_pt))
            sizes = heights[first_body - 1:]
            if title_rows and sizes:   # the title and note print on the first page, glued to the first body row
                sizes[0] += sum(heights[:t0 - 1])
            run = runs[key] = _Run(sizes, prefer)
        return run

    best = None
    for scale in range(100, MIN_SCALE_PCT - 1, -1):
        cap_w = page_w * FIT * 100 / scale - t_w
        cap_h = page_h * FIT * 100 / scale - t_h
        if cap_w <= 0 or cap_h <= 0:
            continue
        ends = cols.blocks(cap_w)
        if ends is None:
            continue
        rows = rows_at(tuple(unit_end[i] for i in ends))
        r_ends = rows.blocks(cap_h)
        if r_ends is None:
            continue
        n_c, n_r = len(ends) + 1, len(r_ends) + 1
        fill = (((cols.prefix[-1] / n_c + t_w) / (cap_w + t_w)) *
                ((rows.prefix[-1] / n_r + t_h) / (cap_h + t_h)))
        key = (fill < NEAR_EMPTY, n_c * n_r, -scale)
        if best is None or key < best[0]:
            best = (key, scale, cap_w, cap_h)
    if best is None:   # nothing fits at the smallest readable scale: a column wider than the page
        return Layout(MIN_SCALE_PCT, (), (), 0, 0.0)
    _, scale, cap_w, cap_h = best
    ends = cols.split(cap_w)
    col_breaks = tuple(unit_end[i] for i in ends)
    rows = rows_at(col_breaks)
    r_ends = sorted({_past_hidden(rows.sizes, i) for i in rows.split(cap_h)} - {len(rows.sizes) - 1})
    row_breaks = tuple(first_body + i for i in r_ends)
    fill = _fills(units, ends, cap_w, t_w) * _fills(rows.sizes, r_ends, cap_h, t_h)
    return Layout(scale, col_breaks, row_breaks, (len(ends) + 1) * (len(r_ends) + 1), fill)


def _past_hidden(sizes: list[float], end: int) -> int:
    """A block's end moved past the rows of no height after it (a collapsed group), so the next page starts on a
    row that prints: a manual break on a hidden row is one an application may drop. (A break so moved to the
    sheet's last row ends nothing and is dropped.)"""
    while end + 1 < len(sizes) and sizes[end + 1] == 0.0:
        end += 1
    return end


def _page_common(ws: Worksheet, landscape: bool, last_row: int, last_col: int, footer_pt: float) -> None:
    ps = ws.page_setup
    ps.orientation = "landscape" if landscape else "portrait"
    ps.paperSize = ws.PAPERSIZE_LETTER
    ws.page_margins = PageMargins(left=MARGIN_SIDE_IN, right=MARGIN_SIDE_IN, top=MARGIN_TOP_IN,
                                  bottom=MARGIN_BOTTOM_IN, header=HEADER_IN, footer=FOOTER_IN)
    ws.print_area = f"A1:{col(last_col)}{last_row}"
    size = max(int(math.ceil(footer_pt)), 1)
    for part, text in ((ws.oddFooter.left, "&A"), (ws.oddFooter.right, "Page &P of &N")):
        part.text, part.size, part.font = text, size, f"{FONT_NAME},Regular"


def sheet_extent(book: Book, ws: Worksheet) -> tuple[int, int]:
    """The last row and column holding a cell (fast-written or through openpyxl)."""
    rows = book.rows.get(ws.title, {})
    last_row = max([max(rows, default=1)] + [r for (r, _c) in ws._cells])
    last_col = max([max(cells) for cells in rows.values() if cells] + [c for (_r, c) in ws._cells] + [1])
    return last_row, last_col


def _occupied_rows(book: Book, ws: Worksheet) -> set[int]:
    return set(book.rows.get(ws.title, {})) | {r for (r, _c) in ws._cells}


def print_in_blocks(book: Book, ws: Worksheet, *, last_row: int, last_col: int, title_rows: tuple[int, int] | None,
                    title_cols: int = 0, month_cols: tuple[int, int] | None = None, landscape: bool = True,
                    col_groups: list[int] | None = None) -> Layout:
    """Fixed-scale print set-up in page-wide column blocks (see the module's docstring); returns the plan.

    ``month_cols`` (first column, count): a time sheet's months, cut into whole years, half-years or
    quarters (the largest that fits at a readable scale). ``col_groups``: other allowed column breaks.
    The note in row 2 (if any) is wrapped across the first block.
    """
    widths = [column_pt(ws, c) for c in range(1, last_col + 1)]
    heights = [row_pt(book, ws, r) for r in range(1, last_row + 1)]
    occupied = _occupied_rows(book, ws)
    blank = {r for r in range(1, last_row + 1) if r not in occupied and not book.is_hidden(ws, r)}
    note = ws._cells.get((2, 1))
    note_text = note.value if note is not None and isinstance(note.value, str) else None

    def note_height(block_end: int) -> float:
        chars = sum(widths[:block_end]) / CHAR_PT
        return ROW_PT * wrapped_lines(note_text, chars)

    layout = None
    groups_tried = [col_groups]
    if month_cols is not None:
        first, count = month_cols
        groups_tried = [[first - 1 + k for k in range(step, count, step)] for step in (12, 6, 3, 1)]
    for groups in groups_tried:
        layout = plan_blocks(widths, heights, title_cols=title_cols, title_rows=title_rows, landscape=landscape,
                             col_groups=groups, blank_rows=blank, note_height=note_height if note_text else None)
        if layout.pages:
            break
    ps = ws.page_setup
    ps.scale = layout.scale_pct
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.col_breaks = ColBreak()
    for c in layout.col_breaks:
        ws.col_breaks.append(Break(id=c))
    ws.row_breaks = RowBreak()
    for r in layout.row_breaks:
        ws.row_breaks.append(Break(id=r))
    if title_rows:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    if title_cols:
        ws.print_title_cols = f"A:{col(title_cols)}"
    if note_text:
        end = layout.col_breaks[0] if layout.col_breaks else last_col
        merge_across(ws, 2, 1, end)
        note.alignment = WRAP
        book.row_height(ws, 2, note_height(end))
    _page_common(ws, landscape, last_row, last_col, FOOTER_PRINTED_PT * 100 / layout.scale_pct)
    book.print_pages[ws.title] = layout.pages
    return layout


def print_one_page(book: Book, ws: Worksheet, *, last_row: int, last_col: int, landscape: bool) -> float:
    """Fit the sheet (to ``last_row``, ``last_col``: include the rows a chart covers) on one page; returns the
    scale (%) it should print at by the planning metrics, for which the footer is sized."""
    page_w, page_h = printable_pt(landscape)
    width = sum(column_pt(ws, c) for c in range(1, last_col + 1))
    height = sum(row_pt(book, ws, r) for r in range(1, last_row + 1))
    scale = min(100.0, 100 * page_w / width, 100 * page_h / height)
    ps = ws.page_setup
    ps.fitToWidth = 1
    ps.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    _page_common(ws, landscape, last_row, last_col, FOOTER_PRINTED_PT * 100 / scale)
    book.print_pages[ws.title] = 1
    return scale
