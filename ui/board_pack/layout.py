"""The board pack's page layout: an A4 flow of headings, paragraphs, lists, tables and charts.

:class:`Flow` lays the content out first (measuring text with the PDF device's own font metrics) as a
list of drawing operations per page, then :meth:`Flow.paint` draws them, so every page's footer can
say "Page 3 of 9" and the cover can list the sections with their pages. Coordinates are device units
of the ``QPdfWriter`` at :data:`DPI`; :meth:`Flow.pt` converts points.

Why 192 dpi and not 1,200: pyqtgraph draws its lines with cosmetic pens whose width is in device
units (see :mod:`ui.kit.chart_render`): at 192 dpi a 2-px series is 0.75 pt, a print weight; text
and fills are vectors at any resolution.

One family (DejaVu Sans, shipped with every Linux and bundled by Qt's fallback elsewhere) at a few
sizes; ink #202124, navy #1f4e79 headings, grey #5f6368 captions, as the app's charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

DPI = 192
FAMILY = "DejaVu Sans"
INK, NAVY, GREY = QColor("#202124"), QColor("#1f4e79"), QColor("#5f6368")
RULE, ZEBRA, TINT = QColor("#d0d4da"), QColor("#f3f6fa"), QColor("#e8eff7")
MARGIN_PT = (54.0, 66.0, 54.0, 58.0)        # left, top, right, bottom
WRAP = int(Qt.TextFlag.TextWordWrap)
LEFT, RIGHT, CENTER = (int(Qt.AlignmentFlag.AlignLeft), int(Qt.AlignmentFlag.AlignRight),
                       int(Qt.AlignmentFlag.AlignHCenter))

Op = Callable[[QPainter], None]


def font(size_pt: float, bold: bool = False, italic: bool = False) -> QFont:
    f = QFont(FAMILY)
    f.setPointSizeF(size_pt)
    f.setBold(bold)
    f.setItalic(italic)
    f.setKerning(True)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)    # print metrics, not the screen's
    for tag in ("liga", "clig"):        # "fi" stays two letters: the PDF's text is searched and copied
        f.setFeature(QFont.Tag(tag), 0)
    return f


BODY, SMALL, CAPTION = font(9.5), font(8.2), font(7.8)
BOLD, H1, H2, TITLE = font(9.5, True), font(17, True), font(11.5, True), font(30, True)
TABLE, TABLE_BOLD, TINY = font(8.0), font(8.0, True), font(7.2)


@dataclass
class Column:
    width: float            # share of the table's width
    align: int = LEFT


def new_writer(path: str, title: str) -> QPdfWriter:
    w = QPdfWriter(path)
    w.setResolution(DPI)
    w.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                QMarginsF(0, 0, 0, 0)))
    w.setTitle(title)
    w.setCreator("MinerPlan")
    return w


class Flow:
    """Content laid out top to bottom over A4 pages; :meth:`paint` draws it (see the module)."""

    def __init__(self, writer: QPdfWriter):
        self.dev = writer
        self.u = DPI / 72.0
        size = writer.pageLayout().fullRectPixels(DPI)
        self.page_w, self.page_h = float(size.width()), float(size.height())
        ml, mt, mr, mb = (self.pt(v) for v in MARGIN_PT)
        self.left, self.top, self.right, self.bottom = ml, mt, self.page_w - mr, self.page_h - mb
        self.width = self.right - self.left
        self.pages: list[list[Op]] = []
        self.sections: list[tuple[str, int]] = []
        self.new_page()

    # ---------------------------------------------------------------- geometry
    def pt(self, v: float) -> float:
        return v * self.u

    @property
    def page(self) -> int:
        """1-based number of the page being filled."""
        return len(self.pages)

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top

    def room(self) -> float:
        return self.bottom - self.y

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` fits below the cursor (a fresh page always takes it)."""
        if height > self.room() and self.y > self.top + 1:
            self.new_page()

    def op(self, fn: Op) -> None:
        self.pages[-1].append(fn)

    def skip(self, pt: float) -> None:
        self.y += self.pt(pt)

    # ---------------------------------------------------------------- text
    def text_height(self, text: str, f: QFont, width: float, flags: int = WRAP) -> float:
        return QFontMetricsF(f, self.dev).boundingRect(QRectF(0, 0, width, 1e7), flags, text).height()

    def text_width(self, text: str, f: QFont) -> float:
        return QFontMetricsF(f, self.dev).horizontalAdvance(text)

    def draw_text(self, rect: QRectF, text: str, f: QFont, colour: QColor, flags: int = WRAP | LEFT) -> None:
        def draw(p: QPainter, rect=QRectF(rect)) -> None:
            p.setFont(f)
            p.setPen(colour)
            p.drawText(rect, flags, text)
        self.op(draw)

    def paragraph(self, text: str, f: QFont = BODY, colour: QColor = INK, *, indent: float = 0.0,
                  after: float = 5.0, keep: float = 0.0) -> None:
        """Wrapped text at the cursor; a paragraph taller than what is left is split between sentences.
        ``keep``: points that must fit below it on the same page (what follows it)."""
        width = self.width - self.pt(indent)
        h = self.text_height(text, f, width)
        if h + self.pt(keep) > self.room() and self.y > self.top + 1:
            parts = text.split(". ")
            if len(parts) > 1 and h > self.room():
                head = []
                for s in parts:
                    trial = ". ".join(head + [s]) + "."
                    if self.text_height(trial, f, width) > self.room():
                        break
                    head.append(s)
                if head:
                    self.paragraph(". ".join(head) + ".", f, colour, indent=indent, after=0)
                    self.new_page()
                    return self.paragraph(". ".join(parts[len(head):]), f, colour, indent=indent, after=after)
            self.new_page()
        self.draw_text(QRectF(self.left + self.pt(indent), self.y, width, h + 2), text, f, colour)
        self.y += h + self.pt(after)

    def heading(self, text: str, level: int = 1) -> None:
        """A section (level 1: a new page, listed on the cover) or a sub-heading kept with what follows."""
        if level == 1:
            if self.y > self.top + 1:
                self.new_page()
            self.sections.append((text, self.page))
            h = self.text_height(text, H1, self.width)
            self.draw_text(QRectF(self.left, self.y, self.width, h + 2), text, H1, NAVY)
            self.y += h + self.pt(4)
            self.rule(NAVY, 1.2)
            self.skip(10)
            return
        h = self.text_height(text, H2, self.width)
        self.ensure(h + self.pt(60))
        self.skip(4)
        self.draw_text(QRectF(self.left, self.y, self.width, h + 2), text, H2, NAVY)
        self.y += h + self.pt(5)

    def bullets(self, items: Sequence[str], f: QFont = BODY, *, after: float = 3.0) -> None:
        for item in items:
            width = self.width - self.pt(14)
            h = self.text_height(item, f, width)
            self.ensure(h)
            y = self.y
            self.draw_text(QRectF(self.left + self.pt(3), y, self.pt(10), h), "\u2022", f, NAVY)
            self.draw_text(QRectF(self.left + self.pt(14), y, width, h + 2), item, f, INK)
            self.y += h + self.pt(after)

    def rule(self, colour: QColor = RULE, width_pt: float = 0.6) -> None:
        y = self.y

        def draw(p: QPainter) -> None:
            p.setPen(QPen(colour, self.pt(width_pt)))
            p.drawLine(QPointF(self.left, y), QPointF(self.right, y))
        self.op(draw)

    def box(self, rect: QRectF, fill: QColor, accent: QColor | None = None) -> None:
        def draw(p: QPainter, rect=QRectF(rect)) -> None:
            p.fillRect(rect, fill)
            if accent is not None:
                p.fillRect(QRectF(rect.x(), rect.y(), self.pt(3), rect.height()), accent)
        self.op(draw)

    # ---------------------------------------------------------------- tables
    def table(self, headers: Sequence[str] | None, rows: Sequence[Sequence[str]], columns: Sequence[Column], *,
              f: QFont = TABLE, header_font: QFont = TABLE_BOLD, bold_first: bool = False, after: float = 8.0) -> None:
        """Rows of wrapped cells; a row that does not fit starts a new page, under the header again."""
        total = sum(c.width for c in columns)
        widths = [self.width * c.width / total for c in columns]
        pad_x, pad_y = self.pt(4), self.pt(3)

        def cell_font(k: int, fnt: QFont) -> QFont:
            return TABLE_BOLD if bold_first and k == 0 and fnt is f else fnt

        def row_height(cells, fnt) -> float:
            return max(self.text_height(t, cell_font(k, fnt), w - 2 * pad_x)
                       for k, (t, w) in enumerate(zip(cells, widths))) + 2 * pad_y

        def draw_row(cells, fnt, ink, fill, y, h) -> None:
            if fill is not None:
                self.box(QRectF(self.left, y, self.width, h), fill)
            x = self.left
            for k, (t, w, col) in enumerate(zip(cells, widths, columns)):
                self.draw_text(QRectF(x + pad_x, y + pad_y, w - 2 * pad_x, h - 2 * pad_y), t, cell_font(k, fnt), ink,
                               WRAP | col.align | int(Qt.AlignmentFlag.AlignTop))
                x += w

        def header() -> None:
            if headers is None:
                return
            h = row_height(headers, header_font)
            draw_row(headers, header_font, QColor("white"), NAVY, self.y, h)
            self.y += h

        first = row_height(rows[0], f) if rows else 0.0
        self.ensure((row_height(headers, header_font) if headers else 0.0) + first)
        header()
        for i, cells in enumerate(rows):
            h = row_height(cells, f)
            if h > self.room():
                self.new_page()
                header()
            draw_row(cells, f, INK, ZEBRA if i % 2 else None, self.y, h)
            self.y += h
        self.rule()
        self.skip(after)

    # ---------------------------------------------------------------- painting
    def paint(self, painter: QPainter, decorate: Callable[[QPainter, int, int], None],
              check: Callable[[int], None] | None = None) -> None:
        """Draw every page: ``decorate(painter, page, pages)`` (header, footer), then its content;
        ``check(page)`` before each page may raise to stop."""
        n = len(self.pages)
        for i, ops in enumerate(self.pages):
            if check is not None:
                check(i)
            if i:
                self.dev.newPage()
            decorate(painter, i + 1, n)
            for fn in ops:
                fn(painter)
