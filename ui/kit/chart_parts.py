"""Parts of :class:`ui.charts.Chart` that keep a chart from hiding its data or resizing its window.

* :class:`ElidedLabel`: a one-line label that never asks for more width than it is given (its text
  is elided with "..." and shown whole in its tooltip), for a chart's title and hover readout: a
  long readout raised the main window's minimum width from 1,112 to 1,715 px for good.
* :class:`OutsideLegend`: the legend in the plot's own grid, under the x axis (in as many columns as
  fit) or right of the plot (a low, wide chart with many entries): it never covers a series, a
  reference label or a tornado's labels.
* :func:`data_bounds`: the x and y extent of everything drawn in a plot (lines, fans, bars,
  scatter points, reference lines and bands), the range a chart must show.
"""

from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy

from .chart_axes import wrapped

#: The narrowest a title or readout label may become (px): it is elided below its text's width.
MIN_LABEL_PX = 40


class ElidedLabel(QLabel):
    """A one-line QLabel whose minimum width is MIN_LABEL_PX: text wider than the label is elided, whole in the tooltip.

    ``text()`` and ``full_text()`` are the text as set. Its size hint is the whole text's width, so a layout gives it
    that much when there is room, but it never widens the window.
    """

    def __init__(self, text: str = "", parent=None, *, tooltip_prefix: str = "", max_lines: int = 1):
        super().__init__(parent)
        self._full = ""
        self._prefix = tooltip_prefix
        #: Lines the text may break into at spaces before it is elided (a chart title: 2).
        self.max_lines = max_lines
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text or ""
        self.setToolTip(self._prefix + self._full if self._full else "")
        self._elide()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:
        """The whole text, as set (what is painted may be elided: see is_elided)."""
        return self._full

    def shown_text(self) -> str:
        """The text as painted: broken into lines (up to ``max_lines``) and elided where it does not fit."""
        return super().text()

    def is_elided(self) -> bool:
        return super().text().replace("\n", " ") != self._full

    def sizeHint(self) -> QSize:  # noqa: N802
        h = super().sizeHint().height()
        return QSize(QFontMetrics(self.font()).horizontalAdvance(self._full) + 2 * self.margin() + 4, h)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(MIN_LABEL_PX, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange):
            self._elide()
            self.updateGeometry()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width() - 2 * self.margin())
        fm = QFontMetrics(self.font())
        if self.max_lines > 1 and width > 0:
            shown = wrapped(self._full, fm, width, self.max_lines)
        else:
            shown = fm.elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        QLabel.setText(self, shown if width > 0 else self._full)
        self.updateGeometry()


class OutsideLegend(pg.LegendItem):
    """A pyqtgraph legend in the plot item's grid, outside the plot area: under the x axis or right of the plot.

    It never covers a series or a label. :meth:`fit_area` tells it the size of the area the plot and
    the legend share (px); it goes where it takes less of it: under the axis in as many columns as fit
    the width, or right of the plot in one column when that column is narrow and short enough (a wide,
    low chart with many entries). The plot's layout gives it the size of its entries (none when it is
    empty or hidden).
    """

    CELLS = {"below": (4, 1), "right": (2, 3)}
    #: A right-hand legend may take at most this share of the width.
    RIGHT_MAX_SHARE = 0.3

    def __init__(self, plot_item: pg.PlotItem, *, label_pt: float = 9.0, color: str = "#202124"):
        super().__init__(offset=None, labelTextColor=color, labelTextSize=f"{label_pt:g}pt", horSpacing=6,
                         verSpacing=-4)
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self._plot_layout = plot_item.layout
        self._area = (600.0, 300.0)
        self.placement = ""
        self._put("below")
        plot_item.legend = self                 # PlotItem.plot(name=...) adds its entries here
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)

    # pyqtgraph sizes and places a legend itself (setGeometry at 0, 0); here the plot's grid does.
    def updateSize(self) -> None:  # noqa: N802
        widths = self._entry_widths()
        if widths:
            place, cols = self._choose(widths)
            if place != self.placement:
                self._put(place)
            if cols != self.columnCount:
                self.setColumnCount(cols)
        self.layout.invalidate()
        shown = bool(self.items) and self.isVisible()
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize) if shown else None
        w, h = (hint.width() + 2, hint.height() + 2) if hint is not None else (0.0, 0.0)
        self.setMinimumSize(w if self.placement == "right" else 0, h)
        self.setMaximumSize(w, h)
        self.setPreferredSize(w, h)
        self.updateGeometry()

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - a hidden legend takes no room
        super().setVisible(visible)
        self.updateSize()

    def fit_area(self, width: float, height: float) -> None:
        """The plot area and legend share ``width`` x ``height`` px: place and flow the entries for it."""
        if abs(width - self._area[0]) > 1 or abs(height - self._area[1]) > 1:
            self._area = (float(width), float(height))
            self.updateSize()

    def set_label_pt(self, pt: float) -> None:
        """Entry text size in points (presentation mode enlarges it with the axes)."""
        self.setLabelTextSize(f"{pt:g}pt")
        for _sample, label in self.items:
            label.setText(label.text)       # re-measure at the new size
        self.updateSize()

    def entry_texts(self) -> list[str]:
        return [label.text for _, label in self.items]

    def _put(self, place: str) -> None:
        if self.placement:
            self._plot_layout.removeItem(self)
        self._plot_layout.addItem(self, *self.CELLS[place])
        self._plot_layout.setAlignment(self, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.layout.setContentsMargins(12 if place == "right" else 0, 0, 0, 0)    # a gap after the plot
        self.placement = place

    def _entry_widths(self) -> list[float]:
        return [sample.boundingRect().width() + 6 + label.itemRect().width() + 12 for sample, label in self.items]

    def _choose(self, widths: list[float]) -> tuple[str, int]:
        """(placement, columns) that leave the plot the larger area."""
        w, h = self._area
        row_h = max(label.itemRect().height() for _, label in self.items) - 2
        cols = 1
        for c in range(1, len(widths) + 1):
            if sum(max(widths[k::c]) for k in range(c)) <= w:
                cols = c
            else:
                break
        rows = -(-len(widths) // cols)
        lost_below = rows * row_h * w
        right_w, right_h = max(widths), len(widths) * row_h
        if right_w <= self.RIGHT_MAX_SHARE * w and right_h <= h and right_w * h < lost_below:
            return "right", 1
        return "below", cols


def data_bounds(plot_item: pg.PlotItem) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """((x_min, x_max), (y_min, y_max)) of every visible data item in the plot, in view coordinates; None when none.

    Lines, fans (their edge curves), stacked areas, bars and scatter points by their data; horizontal
    reference lines and bands count for y, vertical ones for x. Text labels and fills between curves
    are placed by the items they belong to and do not count.
    """
    xs: list[float] = []
    ys: list[float] = []
    for item in plot_item.vb.addedItems:
        if not item.isVisible():
            continue
        if isinstance(item, pg.InfiniteLine):
            angle = item.angle % 180
            (ys if angle == 0 else xs if angle == 90 else []).append(float(item.value()))
        elif isinstance(item, pg.LinearRegionItem):
            lo, hi = item.getRegion()
            (ys if item.orientation == "horizontal" else xs).extend([float(lo), float(hi)])
        elif isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem, pg.ScatterPlotItem, pg.BarGraphItem)):
            for ax, out in ((0, xs), (1, ys)):
                b = item.dataBounds(ax)
                if b is not None and b[0] is not None and b[1] is not None:
                    out.extend(float(v) for v in b)
    return _span(xs), _span(ys)


def _span(values: list[float]) -> tuple[float, float] | None:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else None


#: Room around the data, a fraction of its span on each side (y) and of the x span (x).
Y_PAD = 0.05
X_PAD_DATES = 0.01
X_PAD_PLAIN = 0.08      # bars' labels under the first and last bar must fit too
#: Half the x span shown around a single month (seconds) or a single plain x value.
HALF_MONTH_S = 15 * 86_400.0


def padded_x(xb: tuple[float, float] | None, dates: bool) -> tuple[float, float]:
    """The x range for data spanning ``xb``: a little room each side; a single point gets a month (or 1) around it."""
    if xb is None:
        return (0.0, 1.0)
    lo, hi = xb
    if hi - lo <= 0:
        half = HALF_MONTH_S if dates else 0.5
        return (lo - half, hi + half)
    pad = (hi - lo) * (X_PAD_DATES if dates else X_PAD_PLAIN)
    return (lo - pad, hi + pad)


def padded_y(yb: tuple[float, float] | None, label_px: float, labels: tuple[bool, bool],
             height_px: float) -> tuple[float, float]:
    """The y range for data spanning ``yb``, with Y_PAD each side and, where reference lines carry labels
    (``labels``: above a line, below one), ``label_px`` of the plot's ``height_px`` kept free at the top
    (bottom), so a label on the highest (lowest) line stays inside the plot."""
    if yb is None:
        return (0.0, 1.0)
    lo, hi = yb
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.2 or 1.0
        lo, hi = lo - span / 2, hi + span / 2
    frac = min(0.3, label_px / max(height_px, 60.0))
    pad_top = pad_bottom = Y_PAD * span
    if labels[0]:
        pad_top = max(pad_top, frac * (span + pad_bottom) / (1 - frac))
    if labels[1]:
        pad_bottom = max(pad_bottom, frac * (span + pad_top) / (1 - frac))
    return (lo - pad_bottom, hi + pad_top)
