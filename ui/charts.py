"""Board-ready charts on pyqtgraph: white theme, month axes, legends, hover readout, export.

Verified on this stack: pyqtgraph's SVGExporter
fails with Qt >= 6.11, so SVG goes through ``QSvgGenerator``; a
``FillBetweenItem`` must never be added to a legend (a proxy item is); a
stacked-area baseline needs a transparent pen, not ``pen=None``; month axes
use ``DateAxisItem(utcOffset=0)``.
"""

from __future__ import annotations

import calendar
import datetime
import os
import re
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.months import parse_month

from .kit.chart_axes import DateAxis, NumberAxis, fit_category_ticks
from .kit.chart_parts import ElidedLabel, OutsideLegend, data_bounds, padded_x, padded_y
from .kit.chart_render import render_chart, screen_size_of
from .kit.messages import show_message

PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021", "#00808b", "#7f6000",
           "#5b9bd5"]
GRID_ALPHA = 0.15
#: The longest default export file name (without extension), characters.
FILE_STEM_CHARS = 48
#: What an empty chart says until a view gives it its own hint.
EMPTY_HINT = "Nothing to show yet"
_configured = False


def configure() -> None:
    """White presentation theme for every chart (once per process)."""
    global _configured
    if not _configured:
        pg.setConfigOptions(background="w", foreground="#202124", antialias=True)
        _configured = True


def month_ts(months: Sequence[str]) -> np.ndarray:
    """``YYYY-MM`` -> UTC epoch seconds of the month's first day (for DateAxisItem)."""
    out = np.empty(len(months))
    for i, m in enumerate(months):
        y, mo = parse_month(m)
        out[i] = calendar.timegm((y, mo, 1, 0, 0, 0))
    return out


def _logical_dpi(widget: QWidget) -> int:
    """The dpi the widget's fonts and cached axis pictures are laid out at (an SVG must use the same)."""
    return widget.logicalDpiX() or 96


def color(i: int, alpha: int = 255) -> QColor:
    c = QColor(PALETTE[i % len(PALETTE)])
    c.setAlpha(alpha)
    return c


class Chart(QWidget):
    """A titled chart with a month (or plain) x axis, legend, hover readout and export buttons.

    The unit (``y_label``) is written above the plot, where it is never cut; the legend sits outside the
    plot, under the x axis or right of it (:class:`~ui.kit.chart_parts.OutsideLegend`); the range shows
    everything drawn (:meth:`fit`, after every change, unless a view sets ``auto_fit = False`` and its
    own range); an empty chart shows no tick labels and a hint (:meth:`set_empty_hint`). ``log_y``:
    a logarithmic y axis (reference levels and bands given in amounts, as on a linear one).
    """

    def __init__(self, title: str, y_label: str, *, dates: bool = True, log_y: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        configure()
        self._title_text = title
        self.y_label = y_label
        self.dates = dates
        self.log_y = log_y
        self.auto_fit = True
        #: A view's own range-setting (a tornado's, sized to its labels), called by fit() instead of the default.
        self.custom_fit = None
        #: A view's own y range (lo, hi) in amounts, kept while the x range follows the data (a dragged path).
        self.fixed_y: tuple[float, float] | None = None
        self._y_tick_sample = "-000,000"
        self._categories: list[tuple[float, str]] | None = None
        axis = {"left": NumberAxis("left")}
        if dates:
            axis["bottom"] = DateAxis(utcOffset=0)
        self.plot = pg.PlotWidget(axisItems=axis)
        self.item = self.plot.getPlotItem()
        self.item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
        self.item.getAxis("left").enableAutoSIPrefix(False)
        self.item.setMenuEnabled(False)
        self.item.hideButtons()                # pyqtgraph's "A" would hand the range back to its own autorange
        if log_y:
            self.item.setLogMode(y=True)
        self.unit = pg.LabelItem(y_label, justify="left", color="#5f6368")
        if not y_label:
            self.unit.setMaximumHeight(0)          # no unit row (a tornado's inputs name themselves)
        self.item.layout.removeItem(self.item.titleLabel)    # (unused) its cell is the unit's, over axis and plot
        self.item.titleLabel.hide()
        self.item.layout.addItem(self.unit, 0, 0, 1, 2)
        self.legend = OutsideLegend(self.item)
        self._hint_text = EMPTY_HINT
        self._hint = pg.TextItem("", color="#5f6368", anchor=(0.5, 0.5))
        self.title = ElidedLabel(title, max_lines=2)      # a long title wraps beside the buttons, in a room too
        self.readout = ElidedLabel("")
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setStyleSheet("color: #5f6368;")
        self._font_pt = 10
        buttons = QHBoxLayout()
        buttons.addWidget(self.title)
        buttons.addWidget(self.readout, 1)
        for text, tip, slot in (("PNG", "Export this chart as PNG", self.export_png_dialog),
                                ("SVG", "Export this chart as SVG", self.export_svg_dialog),
                                ("Copy", "Copy this chart to the clipboard", self.copy_to_clipboard)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(buttons)
        lay.addWidget(self.plot, 1)
        self._series: list[tuple[str, np.ndarray, np.ndarray]] = []
        self._apply_fonts()
        self.item.vb.sigResized.connect(self._on_resized)
        self.item.geometryChanged.connect(self._on_plot_resized)
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)
        self.fit()

    # ---- content ----
    def clear(self) -> None:
        """Remove every series, reference line and legend entry, and the view's own range (custom_fit, fixed_y)."""
        self.item.clear()
        self.legend.clear()
        self._series = []
        self.custom_fit = None
        self.fixed_y = None
        self.set_category_ticks(None)

    def line(self, name: str, x, y, i: int = 0, *, width: float = 2.0, dash: bool = False, fill_to: float | None = None):
        pen = pg.mkPen(color(i), width=width, style=Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine)
        kw = {}
        if fill_to is not None:
            kw = {"fillLevel": self.to_view_y(fill_to), "brush": pg.mkBrush(color(i, 60))}
        x = np.asarray(x, float)
        if x.size == 1:   # a one-month horizon: show the point (fit() gives it a sensible span)
            kw.update(symbol="o", symbolSize=9, symbolBrush=pg.mkBrush(color(i)), symbolPen=pg.mkPen(color(i)))
        item = self._track(self.item.plot(x, np.asarray(y, float), pen=pen, name=name, **kw))
        self._series.append((name, np.asarray(x, float), np.asarray(y, float)))
        self.fit()
        return item

    def fan(self, name: str, x, lo, mid, hi, i: int = 0):
        """Median line with a shaded P5-P95 band (a legend proxy stands for the band)."""
        x = np.asarray(x, float)
        clear_pen = pg.mkPen(0, 0, 0, 0)
        c_lo = self._track(pg.PlotDataItem(x, np.asarray(lo, float), pen=clear_pen))
        c_hi = self._track(pg.PlotDataItem(x, np.asarray(hi, float), pen=clear_pen))
        self.item.addItem(c_lo)
        self.item.addItem(c_hi)
        self.item.addItem(pg.FillBetweenItem(c_lo, c_hi, brush=pg.mkBrush(color(i, 50))))
        proxy = pg.PlotDataItem(pen=pg.mkPen(color(i, 80), width=8))
        self.legend.addItem(proxy, f"{name} P5-P95")
        median = self.line(f"{name} median", x, mid, i)
        return c_lo, c_hi, median

    def update_series(self, k: int, item, x, y) -> None:
        """Move series ``k`` (an item from line()/fan()) to new data without rebuilding the chart."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        item.setData(x, y)
        if 0 <= k < len(self._series):
            self._series[k] = (self._series[k][0], x, y)

    def stacked(self, x, series: dict[str, np.ndarray]) -> None:
        """Stacked areas (e.g. MW by use), bottom first."""
        x = np.asarray(x, float)
        base = np.zeros_like(x)
        prev = pg.PlotDataItem(x, base, pen=pg.mkPen(0, 0, 0, 0))
        self.item.addItem(prev)
        for i, (name, y) in enumerate(series.items()):
            top = base + np.asarray(y, float)
            cur = self._track(pg.PlotDataItem(x, top, pen=pg.mkPen(color(i), width=1.5)))
            self.item.addItem(cur)
            self.item.addItem(pg.FillBetweenItem(prev, cur, brush=pg.mkBrush(color(i, 110))))
            self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(i, 160), width=8)), name)
            self._series.append((name, x, np.asarray(y, float)))
            prev, base = cur, top
        self.fit()

    def bars(self, name: str, x, heights, i: int = 0, width: float | None = None) -> None:
        x = np.asarray(x, float)
        w = width if width is not None else (0.8 * float(np.min(np.diff(x))) if x.size > 1 else 1.0)
        self.item.addItem(pg.BarGraphItem(x=x, height=np.asarray(heights, float), width=w,
                                          brush=pg.mkBrush(color(i, 200)), pen=pg.mkPen(color(i))))
        self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(i, 200), width=8)), name)
        self._series.append((name, x, np.asarray(heights, float)))
        self.fit()

    def hline(self, y: float, label: str, i: int = 6, dash: bool = True, at: float = 0.02,
              below: bool = False) -> pg.InfiniteLine:
        """A labelled horizontal reference line at ``y`` (an amount); ``at`` places the label along it
        (0 left, 1 right), ``below`` hangs it under the line instead of over it."""
        v = 1 if not below else 0
        line = pg.InfiniteLine(pos=self.to_view_y(y), angle=0,
                               pen=pg.mkPen(color(i), width=1.5,
                                            style=Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine),
                               label=label, labelOpts={"position": at, "color": PALETTE[i % len(PALETTE)],
                                                       "anchors": [(0, v), (0, v)] if at < 0.5 else [(1, v), (1, v)]})
        line.label_below = below
        line.label.setFont(self.label_font())     # 9 pt, 14 in presentation mode (as the legend)
        self.item.addItem(line)
        self.fit()
        return line

    def band(self, lo: float, hi: float, label: str, i: int = 1, at: float = 0.98) -> None:
        """A shaded horizontal band from ``lo`` to ``hi`` (amounts), labelled under its lower edge."""
        c = color(i)
        region = pg.LinearRegionItem(values=(self.to_view_y(lo), self.to_view_y(hi)), orientation="horizontal",
                                     movable=False, brush=pg.mkBrush(c.red(), c.green(), c.blue(), 70),
                                     pen=pg.mkPen(c.red(), c.green(), c.blue(), 160))
        self.item.addItem(region)
        self.hline(lo, label, i, dash=False, at=at, below=True)

    def to_view_y(self, y: float) -> float:
        """An amount on the y axis in the plot's coordinates (its log10 on a log axis)."""
        return float(np.log10(y)) if self.log_y and y > 0 else float(y)

    def set_category_ticks(self, labels: list[tuple[float, str]] | None) -> None:
        """Bar labels under the x axis ((x, "model\\nsite") each), fitted to their slots at every size and font."""
        self._categories = labels
        if labels is None:
            fit_category_ticks(self.item.getAxis("bottom"), None, 1.0)
        self.fit()

    def set_empty_hint(self, text: str) -> None:
        """The hint shown in the middle of the chart while it has nothing to show."""
        self._hint_text = text
        self.fit()

    def is_empty(self) -> bool:
        return data_bounds(self.item) == (None, None)

    # ---- range ----
    def fit(self) -> None:
        """Show everything drawn: x and y ranges from the data, reference lines and bands, with room for labels.

        An empty chart gets a 0-1 range without tick labels and the hint in its middle.
        """
        xb, yb = data_bounds(self.item)
        empty = xb is None and yb is None
        for side in ("left", "bottom"):
            self.item.getAxis(side).setStyle(showValues=not empty)
        if empty:
            self._hint.setText(self._hint_text)
            if self._hint not in self.item.items:
                self.item.addItem(self._hint, ignoreBounds=True)
            self._hint.setPos(0.5, 0.5 if not self.log_y else 0.5)
            self.item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            return
        if self._hint in self.item.items:
            self.item.removeItem(self._hint)
        if self.custom_fit is not None:
            self.custom_fit()
            return
        if not self.auto_fit:
            return
        xr = padded_x(xb, self.dates)
        if self.fixed_y is not None:
            yr = (self.to_view_y(self.fixed_y[0]), self.to_view_y(self.fixed_y[1]))
        else:
            yr = padded_y(yb, self._label_px(), self._labels_above_below(), self.item.vb.height())
        self.item.setRange(xRange=xr, yRange=yr, padding=0)
        if self._categories is not None:
            x0, x1 = xr
            fit_category_ticks(self.item.getAxis("bottom"), self._categories,
                               self.item.vb.width() / max(x1 - x0, 1e-9))

    def _track(self, item):
        item.sigPlotChanged.connect(lambda *_: self.fit())
        return item

    def _label_px(self) -> float:
        return QFontMetrics(self.label_font()).height() + 6

    def _labels_above_below(self) -> tuple[bool, bool]:
        lines = [it for it in self.item.vb.addedItems if isinstance(it, pg.InfiniteLine)
                 and getattr(it, "label", None) is not None and it.angle % 180 == 0]
        below = [getattr(it, "label_below", False) for it in lines]
        return (not all(below) if lines else False), any(below)

    def _on_resized(self, *_args) -> None:
        self.fit()

    def _on_plot_resized(self) -> None:
        """Place the legend for the area the plot and legend share (the plot item less its axes and unit)."""
        g = self.item.geometry()
        w = g.width() - self.item.getAxis("left").width()
        h = g.height() - self.unit.geometry().height() - self.item.getAxis("bottom").height()
        self.legend.fit_area(w, h)

    # ---- hover readout ----
    def _on_mouse(self, evt) -> None:
        pos = evt[0]
        if not self._series or not self.item.vb.sceneBoundingRect().contains(pos):
            return
        self.readout.setText(self.readout_text(self.item.vb.mapSceneToView(pos).x()))

    def readout_text(self, x: float) -> str:
        """The hover readout at ``x`` (view coordinates): the month, then up to four series' values there."""
        parts = []
        for name, xs, y in self._series[:4]:
            if xs.size == 0:
                continue
            k = int(np.argmin(np.abs(xs - x)))      # the nearest point, not the next one
            parts.append(f"{name}: {y[k]:,.2f}")
        when = ""
        if self.dates and self._series and self._series[0][1].size:
            x0 = self._series[0][1]
            k = int(np.argmin(np.abs(x0 - x)))
            when = datetime.datetime.fromtimestamp(x0[k], datetime.timezone.utc).strftime("%Y-%m") + "  "
        return when + "  ".join(parts) + f"  ({self.y_label})"

    # ---- presentation ----
    def set_presentation(self, on: bool) -> None:
        """Larger text for a room: axes 16 pt, legend and unit 14 pt, title 18 pt (10, 9 and 12 otherwise)."""
        self._font_pt = 16 if on else 10
        self._apply_fonts()

    def set_y_tick_sample(self, text: str) -> None:
        """The widest y tick label expected (the left axis is made that wide at every font size)."""
        self._y_tick_sample = text
        self._apply_fonts()

    def label_font(self) -> QFont:
        """The font of labels drawn in the plot (reference lines, annotations, legend): 9 pt, 14 in presentation."""
        f = QFont()
        f.setPointSizeF(self._font_pt - (2 if self._font_pt > 10 else 1))
        return f

    def _apply_fonts(self) -> None:
        f = QFont()
        f.setPointSize(self._font_pt)
        for side in ("left", "bottom"):
            ax = self.item.getAxis(side)
            ax.setTickFont(f)
            ax.label.setFont(f)
        # "-100,000" (or the view's widest tick label) must fit beside the plot at any size.
        left_px = QFontMetrics(f).horizontalAdvance(self._y_tick_sample) + 16
        self.item.getAxis("left").setWidth(left_px)
        bottom = self.item.getAxis("bottom")
        if isinstance(bottom, DateAxis):          # the first year's label may reach under the y axis
            bottom.prepareGeometryChange()
            bottom.overhang_px = left_px - 4
        pt = self.label_font().pointSizeF()
        if self.y_label:
            self.unit.setText(self.y_label, size=f"{pt:g}pt", color="#5f6368")
        self.legend.set_label_pt(pt)
        self._hint.setFont(self.label_font())
        for it in self.item.vb.addedItems:
            if isinstance(it, pg.InfiniteLine) and getattr(it, "label", None) is not None:
                it.label.setFont(self.label_font())
            elif isinstance(it, pg.TextItem):
                it.setFont(self.label_font())
        tf = QFont()
        tf.setPointSize(self._font_pt + 2)
        tf.setBold(True)
        self.title.setFont(tf)
        self.fit()

    # ---- export ----
    def image(self):
        return self.plot.grab().toImage()

    def export_png(self, path: str) -> None:
        """Write the chart as a PNG of its on-screen pixels (atomically: a failed write leaves no file)."""
        pixmap = self.plot.grab()

        def write(tmp: str) -> None:
            if not pixmap.save(tmp, "PNG"):
                raise OSError(f"could not write {path}")

        atomic_write(path, write)

    def export_svg(self, path: str) -> None:
        """Write the chart as an SVG (Qt's QSvgGenerator, vectors) whose viewBox is the plot's size in px.

        Drawn by :func:`ui.kit.chart_render.render_chart`, the board pack's path too; written atomically.
        """
        size = screen_size_of(self)
        w, h = max(1, round(size.width())), max(1, round(size.height()))

        def write(tmp: str) -> None:
            gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)   # SVG 1.1: clip paths (Tiny 1.2 has none)
            gen.setFileName(tmp)
            gen.setResolution(_logical_dpi(self))
            gen.setSize(QSize(w, h))
            gen.setViewBox(QRectF(0, 0, w, h))
            gen.setTitle(self._title_text)
            painter = QPainter()
            if not painter.begin(gen):
                raise OSError(f"could not write {path}")
            try:
                render_chart(self, painter, QRectF(0, 0, w, h), layout_size=QSizeF(w, h))
            finally:
                painter.end()

        atomic_write(path, write)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setImage(self.image())

    def file_stem(self) -> str:
        """A short file name for the chart: its title up to the first parenthesis, lowercase, hyphens.

        "BTC price path (drag the points; x snaps to months)" -> "btc-price-path"; at most
        FILE_STEM_CHARS characters, cut between words; "chart" if nothing is left.
        """
        return file_stem(self._title_text)

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart as PNG", f"{self.file_stem()}.png", "PNG (*.png)")
        if path:
            self._export(self.export_png, path)

    def export_svg_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart as SVG", f"{self.file_stem()}.svg", "SVG (*.svg)")
        if path:
            self._export(self.export_svg, path)

    def _export(self, fn, path: str) -> bool:
        """Run an export; any failure is shown to the user in a message (not only the log). True if written."""
        try:
            fn(path)
        except Exception as e:  # noqa: BLE001 - whatever went wrong, the user must hear of it
            show_message(self, "Export failed", export_failure_text(path, e))
            return False
        return True


def file_stem(title: str) -> str:
    """``title`` up to its first parenthesis, lowercase, other characters as hyphens (see Chart.file_stem)."""
    head = re.sub(r"['\u2019&]", "", title.split("(", 1)[0].lower())     # "cohort's" -> "cohorts", "P&L" -> "pl"
    words = re.findall(r"[a-z0-9]+", head)
    stem = ""
    for word in words:
        if len(stem) + len(word) + (1 if stem else 0) > FILE_STEM_CHARS:
            break
        stem = f"{stem}-{word}" if stem else word
    return stem or (words[0][:FILE_STEM_CHARS] if words else "chart")


def export_failure_text(path: str, error: BaseException) -> str:
    """What a person reads when an export failed: the file and the reason in words."""
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"Could not write {path}:\n{reason}"


def export_charts_to(charts: Sequence[Chart], folder: str, parent: QWidget | None = None) -> tuple[int, list[str]]:
    """Write each chart's PNG and SVG into ``folder`` under its short name (a number added to a repeated one).

    Every failure is collected and shown to the user in one message naming each file and why.
    Returns (files written, failure lines).
    """
    written, failures, used = 0, [], set()
    for c in charts:
        stem, n = c.file_stem(), 2
        while stem in used:
            stem, n = f"{c.file_stem()}-{n}", n + 1
        used.add(stem)
        for ext, fn in (("png", c.export_png), ("svg", c.export_svg)):
            path = os.path.join(folder, f"{stem}.{ext}")
            try:
                fn(path)
                written += 1
            except Exception as e:  # noqa: BLE001 - each failure is reported, the other charts still written
                failures.append(export_failure_text(path, e).replace(":\n", ": "))
    if failures:
        show_message(parent, "Export failed", f"{len(failures)} of {2 * len(charts)} files could not be written:\n"
                     + "\n".join(failures))
    return written, failures
