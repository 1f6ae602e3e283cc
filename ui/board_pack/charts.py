"""The board pack's charts: a :class:`~minerplan.analysis.board_pack.ChartData` drawn as the app's Chart, as vectors.

:func:`build_chart` makes an offscreen :class:`ui.charts.Chart` (white theme, month axis, number axis)
and draws the data on it as the app's views do (fans, lines, stacked areas, bars, the late-2025
levels, a tornado, a frontier). :func:`draw_chart` paints it into a rectangle of the PDF through
:func:`ui.kit.chart_render.render_chart`, the app's SVG export path: vectors, no raster grab.
The pyqtgraph legend is hidden: :func:`legend_entries` lists the series and the page draws them
under the plot, where they cannot cover the data.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter

from minerplan.analysis.board_pack import ChartData

from ..charts import PALETTE, Chart, color, month_ts
from ..kit.chart_render import render_chart
from .layout import font

#: Layout px per point of the page: 1.25 draws the charts' 10-pt axis text at 8 pt on paper.
LAYOUT_PX_PER_PT = 96.0 / 72.0 * 1.25
#: Where the labels of the levels under the highest start along the x axis (0 left, 1 right): apart, so
#: none overlaps another (the highest level's label ends at the right, the band's starts at the left).
LEVEL_LABEL_AT = (0.0, 0.62, 0.3, 0.45)
BAND_ORANGE = (197, 90, 17)


def _pen(i: int, width: float = 2.0, dash: bool = False, alpha: int = 255):
    return pg.mkPen(color(i, alpha), width=width, style=Qt.PenStyle.DashLine if dash else Qt.PenStyle.SolidLine)


def legend_entries(data: ChartData) -> list[tuple[str, QColor, str]]:
    """(name, colour, kind) for the legend under a chart; kind: line, dash, area."""
    out: list[tuple[str, QColor, str]] = []
    for k, (name, *_rest) in enumerate(data.fans):
        out += [(f"{name}: P5-P95", color(k, 90), "area"), (f"{name}: median", color(k), "line")]
    out += [(ln.name, color(ln.colour), "dash" if ln.dash else "line") for ln in data.lines if data.key != "frontier"]
    out += [(name, color(i, 160), "area") for i, (name, _) in enumerate(data.stacked)]
    out += [(name, color(i + 5 if i else 1, 200), "area") for i, (name, h) in enumerate(data.bars) if np.any(h)]
    if data.tornado:
        out += [("low case of the input", color(6, 200), "area"), ("high case of the input", color(0, 170), "area")]
    if data.bands:
        out += [(label, QColor(*BAND_ORANGE, 110), "area") for _, _, label in data.bands]
    if data.levels and data.bands:
        out.append(("late-2025 levels", color(6), "dash"))
    return out


def _text(label: str, colour: str, anchor) -> pg.TextItem:
    """A label in the pack's font (no ligatures: its words stay searchable in the PDF)."""
    t = pg.TextItem(label, color=colour, anchor=anchor)
    t.setFont(font(10))
    return t


def _set_fonts(chart: Chart) -> None:
    f = font(10)
    for side in ("left", "bottom"):
        ax = chart.item.getAxis(side)
        ax.setTickFont(f)
        ax.label.setFont(f)


def build_chart(data: ChartData) -> Chart:
    """An offscreen Chart showing ``data`` (never shown on screen; the page draws it)."""
    chart = Chart(data.title, data.y_label, dates=bool(data.months))
    _set_fonts(chart)
    item = chart.item
    x = month_ts(list(data.months)) if data.months else None
    single = x is not None and x.size < 2       # a one-month horizon: points, no bands to fill between
    for k, (name, lo, mid, hi) in enumerate(data.fans):
        if single:
            for y, dash in ((lo, True), (mid, False), (hi, True)):
                chart.line(name, x, y, k, dash=dash)
        else:
            chart.fan(name, x, lo, mid, hi, k)
    for ln in data.lines:
        chart.line(ln.name, ln.x if ln.x is not None else x, ln.y, ln.colour, width=ln.width, dash=ln.dash)
    if data.stacked and not single:
        chart.stacked(x, dict(data.stacked))
    bars = data.bars or (data.stacked if single else ())
    if bars:
        base = np.zeros(len(data.months))
        w = 0.8 * float(np.min(np.diff(x))) if x.size > 1 else 86_400.0 * 24
        for i, (_, h) in enumerate(bars):
            if not np.any(np.asarray(h, float)):
                continue
            c = (i + 5 if i else 1) if data.bars else i      # the legend's colours (bars, or the areas')
            h = np.asarray(h, float)
            on = h != 0          # no outline of an empty month along the axis
            item.addItem(pg.BarGraphItem(x=x[on], y0=base[on], height=h[on], width=w,
                                         brush=pg.mkBrush(color(c, 200)), pen=pg.mkPen(color(c), width=0.5)))
            base = base + h
    _levels(chart, data, x)
    for lo, hi, label in data.bands:
        band = pg.LinearRegionItem(values=(lo, hi), orientation="horizontal", movable=False,
                                   brush=pg.mkBrush(*BAND_ORANGE, 70), pen=pg.mkPen(*BAND_ORANGE, 160))
        band.setZValue(-6)
        item.addItem(band)
        item.addItem(pg.InfiniteLine(pos=lo, angle=0, pen=pg.mkPen(color(1), width=1.0)))
        t = _text(label, PALETTE[1], (0, 0))          # under the band: no level line crosses it
        t.setPos(float(x[0]), lo)
        item.addItem(t)
    if data.tornado:
        _tornado(chart, data)
    if data.points:
        xs, ys = np.array([p[0] for p in data.points]), np.array([p[1] for p in data.points])
        item.addItem(pg.ScatterPlotItem(x=xs, y=ys, size=9, brush=pg.mkBrush(color(0)), pen=pg.mkPen("w", width=1)))
        mid = 0.5 * (xs.min() + xs.max())
        for px, py, label in (p for p in data.points if p[2]):
            t = _text(label, "#5f6368", (1, 1) if px > mid else (0, 1))     # inward: never past the plot's edge
            t.setPos(px, py)
            item.addItem(t)
    if x is not None and x.size > 1:        # the whole horizon, also where a series has nothing to draw
        half = 0.5 * float(np.min(np.diff(x)))
        item.setXRange(float(x[0]) - half, float(x[-1]) + half, padding=0)
    if data.x_label:
        item.setLabel("bottom", data.x_label)
    if data.y_range is not None:
        item.setYRange(*data.y_range, padding=0)
    chart.legend.setVisible(False)
    for it in chart.plot.scene().items():     # symbols as vector paths, not the scatter's cached pixmaps
        if isinstance(it, pg.ScatterPlotItem):
            it.setExportMode(True, {"antialias": True, "resolutionScale": 1.0})
    return chart


def _levels(chart: Chart, data: ChartData, x) -> None:
    """Reference levels as thin dashed lines under the series; the highest level's label above its line,
    the others' below the lowest line, staggered along it, so no label is crossed by another level's line."""
    if not data.levels:
        return
    item = chart.item
    xs = np.asarray(x if x is not None else np.concatenate([ln.x for ln in data.lines]), float)
    x0, x1 = float(xs.min()), float(xs.max())
    top, bottom = max(v for v, _ in data.levels), min(v for v, _ in data.levels)
    for k, (level, label) in enumerate(data.levels):
        line = pg.InfiniteLine(pos=level, angle=0, pen=_pen(6, 1.0, dash=True))
        line.setZValue(-5)
        item.addItem(line)
        above = level == top
        at = 0.98 if above else LEVEL_LABEL_AT[k % len(LEVEL_LABEL_AT)]
        t = _text(label, PALETTE[6], (1.0 if above else 0.0, 1.0 if above else 0.0))
        t.setPos(x0 + at * (x1 - x0), level if above else bottom)
        item.addItem(t)


def _tornado(chart: Chart, data: ChartData) -> None:
    """Horizontal bars of the NPV change at each input's low and high case, widest on top (as What-if draws)."""
    item = chart.item
    n = len(data.tornado)
    ys = np.arange(n)[::-1].astype(float)
    lo = np.array([r[3] for r in data.tornado]) / 1e6
    hi = np.array([r[4] for r in data.tornado]) / 1e6
    item.addItem(pg.BarGraphItem(x0=np.minimum(lo, 0), x1=np.maximum(lo, 0), y=ys, height=0.5,
                                 brush=pg.mkBrush(color(6, 200)), pen=pg.mkPen(color(6), width=0.5)))
    item.addItem(pg.BarGraphItem(x0=np.minimum(hi, 0), x1=np.maximum(hi, 0), y=ys, height=0.5,
                                 brush=pg.mkBrush(color(0, 170)), pen=pg.mkPen(color(0), width=0.5)))
    item.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#202124", width=1)))
    for y, a, b in zip(ys, lo, hi):
        if (a >= 0) == (b >= 0):        # both cases move the NPV the same way: one label at the far end
            v = a if abs(a) >= abs(b) else b
            labels = [(v, f"{_m(a)} / {_m(b)}")]
        else:
            labels = [(a, _m(a)), (b, _m(b))]
        for v, txt in labels:
            t = _text(txt, "#202124", (0, 0.5) if v >= 0 else (1, 0.5))
            t.setPos(v, y)
            item.addItem(t)
    axis = item.getAxis("left")
    axis.setTicks([[(float(y), r[0]) for y, r in zip(ys, data.tornado)]])
    axis.setWidth(300)
    axis.setLabel("")
    span = float(max(np.max(np.abs(lo)) if n else 1.0, np.max(np.abs(hi)) if n else 1.0, 1e-3))
    item.setXRange(-span * 1.45, span * 1.45, padding=0)
    item.setYRange(-0.7, n - 0.3, padding=0)


def _m(v: float) -> str:
    """USD millions with a sign: ``+$74.1M``."""
    return f"{'+' if v >= 0 else '-'}${abs(v):,.1f}M"


def draw_chart(chart: Chart, painter: QPainter, target: QRectF, units_per_pt: float) -> None:
    """Paint ``chart`` into ``target`` (device units) as vectors, laid out at LAYOUT_PX_PER_PT px per point."""
    size = QSizeF(target.width() / units_per_pt * LAYOUT_PX_PER_PT, target.height() / units_per_pt * LAYOUT_PX_PER_PT)
    render_chart(chart, painter, target, layout_size=size)
