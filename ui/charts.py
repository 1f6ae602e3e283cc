"""Board-ready charts on pyqtgraph: white theme, month axes, legends, hover readout, export.

Verified on this stack: pyqtgraph's SVGExporter
fails with Qt >= 6.11, so SVG goes through ``QSvgGenerator``; a
``FillBetweenItem`` must never be added to a legend (a proxy item is); a
stacked-area baseline needs a transparent pen, not ``pen=None``; month axes
use ``DateAxisItem(utcOffset=0)``.
"""

from __future__ import annotations

import calendar
import os
import re
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.months import parse_month

from .kit.chart_render import render_chart, screen_size_of
from .kit.messages import show_message

PALETTE = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021", "#00808b", "#7f6000",
           "#5b9bd5"]
GRID_ALPHA = 0.15
#: The longest default export file name (without extension), characters.
FILE_STEM_CHARS = 48
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


class NumberAxis(pg.AxisItem):
    """Y axis ticks people read: 45,000 / 12.5M / 1.2B instead of 4.5e+04."""

    def tickStrings(self, values, scale, spacing):
        span = max((abs(v) for v in values), default=0.0) * scale
        out = []
        for v in values:
            v = v * scale
            if span >= 1e9:
                out.append(f"{v / 1e9:,.{1 if spacing * scale < 1e9 else 0}f}B")
            elif span >= 1e6:
                out.append(f"{v / 1e6:,.{1 if spacing * scale < 1e6 else 0}f}M")
            elif span >= 1e3:
                out.append(f"{v:,.0f}")
            else:
                digits = 0 if spacing * scale >= 1 else min(4, int(np.ceil(-np.log10(spacing * scale))) + 0)
                out.append(f"{v:,.{max(digits, 0)}f}")
        return out


class Chart(QWidget):
    """A titled chart with a month (or plain) x axis, legend, hover readout and export buttons."""

    def __init__(self, title: str, y_label: str, *, dates: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        configure()
        self._title_text = title
        self.y_label = y_label
        self.dates = dates
        axis = {"left": NumberAxis("left")}
        if dates:
            axis["bottom"] = pg.DateAxisItem(utcOffset=0)
        self.plot = pg.PlotWidget(axisItems=axis)
        self.item = self.plot.getPlotItem()
        self.item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
        self.item.setLabel("left", y_label)
        self.item.getAxis("left").setWidth(78)
        self.item.getAxis("left").enableAutoSIPrefix(False)
        self.item.setMenuEnabled(False)
        self.legend = self.item.addLegend(offset=(10, 10), labelTextColor="#202124")
        self.title = QLabel(title)
        self.readout = QLabel("")
        self.readout.setStyleSheet("color: #5f6368;")
        self._font_pt = 10
        self._apply_fonts()
        buttons = QHBoxLayout()
        buttons.addWidget(self.title, 1)
        buttons.addWidget(self.readout)
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
        self._proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)

    # ---- content ----
    def clear(self) -> None:
        self.item.clear()
        self.legend.clear()
        self._series = []

    def line(self, name: str, x, y, i: int = 0, *, width: float = 2.0, dash: bool = False, fill_to: float | None = None):
        pen = pg.mkPen(color(i), width=width, style=Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine)
        kw = {}
        if fill_to is not None:
            kw = {"fillLevel": fill_to, "brush": pg.mkBrush(color(i, 60))}
        x = np.asarray(x, float)
        if x.size == 1:   # a one-month horizon: show the point, and a sensible span around it
            kw.update(symbol="o", symbolSize=9, symbolBrush=pg.mkBrush(color(i)), symbolPen=pg.mkPen(color(i)))
            half = 15 * 86_400.0 if self.dates else 0.5
            self.item.setXRange(x[0] - half, x[0] + half, padding=0)
        item = self.item.plot(x, np.asarray(y, float), pen=pen, name=name, **kw)
        self._series.append((name, np.asarray(x, float), np.asarray(y, float)))
        return item

    def fan(self, name: str, x, lo, mid, hi, i: int = 0):
        """Median line with a shaded P5-P95 band (a legend proxy stands for the band)."""
        x = np.asarray(x, float)
        clear_pen = pg.mkPen(0, 0, 0, 0)
        c_lo = pg.PlotDataItem(x, np.asarray(lo, float), pen=clear_pen)
        c_hi = pg.PlotDataItem(x, np.asarray(hi, float), pen=clear_pen)
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
            cur = pg.PlotDataItem(x, top, pen=pg.mkPen(color(i), width=1.5))
            self.item.addItem(cur)
            self.item.addItem(pg.FillBetweenItem(prev, cur, brush=pg.mkBrush(color(i, 110))))
            self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(i, 160), width=8)), name)
            self._series.append((name, x, np.asarray(y, float)))
            prev, base = cur, top

    def bars(self, name: str, x, heights, i: int = 0, width: float | None = None) -> None:
        x = np.asarray(x, float)
        w = width if width is not None else (0.8 * float(np.min(np.diff(x))) if x.size > 1 else 1.0)
        self.item.addItem(pg.BarGraphItem(x=x, height=np.asarray(heights, float), width=w,
                                          brush=pg.mkBrush(color(i, 200)), pen=pg.mkPen(color(i))))
        self.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(i, 200), width=8)), name)
        self._series.append((name, x, np.asarray(heights, float)))

    def hline(self, y: float, label: str, i: int = 6, dash: bool = True, at: float = 0.02) -> None:
        """A labelled horizontal reference line; ``at`` places the label along it (0 left, 1 right)."""
        line = pg.InfiniteLine(pos=y, angle=0, pen=pg.mkPen(color(i), width=1.5,
                                                            style=Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine),
                               label=label, labelOpts={"position": at, "color": PALETTE[i % len(PALETTE)],
                                                       "anchors": [(0, 1), (0, 1)] if at < 0.5 else [(1, 1), (1, 1)]})
        self.item.addItem(line)

    # ---- hover readout ----
    def _on_mouse(self, evt) -> None:
        pos = evt[0]
        if not self._series or not self.item.sceneBoundingRect().contains(pos):
            return
        p = self.item.vb.mapSceneToView(pos)
        parts = []
        for name, x, y in self._series[:4]:
            if x.size == 0:
                continue
            k = int(np.argmin(np.abs(x - p.x())))      # the nearest point, not the next one
            parts.append(f"{name}: {y[k]:,.2f}")
        when = ""
        if self.dates and self._series and self._series[0][1].size:
            import datetime
            x0 = self._series[0][1]
            k = int(np.argmin(np.abs(x0 - p.x())))
            when = datetime.datetime.fromtimestamp(x0[k], datetime.timezone.utc).strftime("%Y-%m") + "  "
        self.readout.setText(when + "  ".join(parts) + f"  ({self.y_label})")

    # ---- presentation ----
    def set_presentation(self, on: bool) -> None:
        self._font_pt = 16 if on else 10
        self.item.getAxis("left").setWidth(118 if on else 78)   # "100,000" must still fit at 16 pt
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        f = QFont()
        f.setPointSize(self._font_pt)
        for side in ("left", "bottom"):
            ax = self.item.getAxis(side)
            ax.setTickFont(f)
            ax.label.setFont(f)
        tf = QFont()
        tf.setPointSize(self._font_pt + 2)
        tf.setBold(True)
        self.title.setFont(tf)

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
    """``title`` up to its first parenthesis, lowercase, runs of other characters as one hyphen (see Chart.file_stem)."""
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
