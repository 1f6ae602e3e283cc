"""Draw a chart as vector graphics onto any QPainter: the one path for SVG export and the PDF board pack.

:func:`render_chart` paints a chart's pyqtgraph plot (axes, grid, series, legend, labels) into a
rectangle on any paint device (a ``QSvgGenerator``, a ``QPdfWriter``, a ``QImage``) through
``QGraphicsScene.render``: lines and text stay vectors in SVG and PDF (no raster grab).

Usage (a board pack page)::

    writer = QPdfWriter(path)
    writer.setResolution(96)                 # 1 device unit = 1 px: pens keep their on-screen width
    painter = QPainter(writer)
    render_chart(chart, painter, QRectF(48, 120, 700, 330))   # laid out at 700 x 330 px
    painter.end()

Why not the scene's own rectangle: a pyqtgraph scene grows to the bounding box of every item, and
an ``InfiniteLine`` (a reference level) or a date axis makes that box billions of units wide (an
SVG 677 km wide, or an ``OverflowError`` when it became a ``QSize``). The chart is drawn from its
plot item's geometry instead: what the widget shows.

Layout: the plot is laid out at ``layout_size`` px (96 per inch, the unit its fonts are sized in)
and drawn at that size, then scaled uniformly into ``target`` (centred, aspect kept). By default
``layout_size`` is ``target``'s own size in px (its size on the device at 96 per inch), so the
chart fills ``target`` at its natural size: a 7-inch-wide target on a PDF is laid out 672 px wide,
with 10-pt text 10 pt tall. The on-screen chart is laid out again at its own size afterwards.

Resolution: pyqtgraph caches axes, grids and bars as ``QPicture`` recordings, and a QPicture played
on a device of another resolution is scaled by the ratio of the two (on a 72-dpi SVG the axes shrank
to three quarters); its legend ignores transformations (it would not scale with the rest). So the
chart is recorded once into a QPicture at the screen's resolution and at scale 1, and the recording
is played into ``target`` under the one scale that undoes the device's ratio. pyqtgraph's pens are
cosmetic (their width is in device units): on a 1200-dpi PDF a 2-px line is 2/1200 inch, so draw
charts on a device of 96 dpi (``QPdfWriter.setResolution(96)``) for lines as wide as on screen.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QGraphicsWidget

#: A plot smaller than this (px) has never been laid out (a chart built for a report and not shown).
MIN_LAYOUT_PX = 40.0
#: The size an unshown chart is exported at when given none (px, 96 per inch).
DEFAULT_LAYOUT = QSizeF(900.0, 450.0)


def plot_widget_of(chart):
    """The pyqtgraph ``PlotWidget`` of ``chart`` (a :class:`ui.charts.Chart` or a PlotWidget itself)."""
    return getattr(chart, "plot", chart)


def screen_size_of(chart) -> QSizeF:
    """The plot's size on screen in px, or DEFAULT_LAYOUT for a chart never shown (the SVG export's size)."""
    plot = plot_widget_of(chart)
    size = QSizeF(plot.getPlotItem().geometry().size())
    if not plot.isVisible() or size.width() < MIN_LAYOUT_PX or size.height() < MIN_LAYOUT_PX:
        return QSizeF(DEFAULT_LAYOUT)
    return size


def px_per_unit(painter: QPainter) -> float:
    """Px (96 per inch) per unit of ``painter``'s current coordinates (its device's dpi and world scale)."""
    t = painter.worldTransform()
    world = math.sqrt(abs(t.m11() * t.m22() - t.m12() * t.m21())) or 1.0
    return world * _reference_dpi() / _device_dpi(painter)


def render_chart(chart, painter: QPainter, target: QRectF, *, layout_size: QSizeF | None = None) -> QRectF:
    """Draw ``chart`` as vectors into ``target`` (in ``painter``'s current coordinates); return the rect drawn on.

    ``chart``: a :class:`ui.charts.Chart` (or its pyqtgraph ``PlotWidget``). ``layout_size``: the size
    in px (96 per inch) the plot is laid out at; by default ``target``'s size in px, so the chart fills
    ``target`` at its natural scale. A ``layout_size`` of another aspect ratio than ``target`` is
    centred in it. The painter's state is restored; the chart on screen is unchanged.
    Raises ValueError for an empty target or layout size.
    """
    plot = plot_widget_of(chart)
    item = plot.getPlotItem()
    if target.width() <= 0 or target.height() <= 0:
        raise ValueError(f"cannot draw a chart into {target.width()} x {target.height()}")
    size = QSizeF(layout_size) if layout_size is not None else target.size() * px_per_unit(painter)
    if size.width() < 1 or size.height() < 1:
        raise ValueError(f"cannot lay out a chart at {size.width()} x {size.height()} px")
    old = QRectF(item.geometry())
    relayout = abs(old.width() - size.width()) > 0.5 or abs(old.height() - size.height()) > 0.5
    if relayout:
        item.setGeometry(QRectF(old.topLeft(), size))
        _activate(item)
    try:
        source = QRectF(item.mapRectToScene(item.boundingRect()))
        recording = _record(plot.scene(), source)
    finally:
        if relayout:
            item.setGeometry(old)
            _activate(item)
    scale = min(target.width() / source.width(), target.height() / source.height())
    w, h = source.width() * scale, source.height() * scale
    drawn = QRectF(target.x() + (target.width() - w) / 2, target.y() + (target.height() - h) / 2, w, h)
    painter.save()
    try:
        painter.setClipRect(drawn, Qt.ClipOperation.IntersectClip)
        painter.translate(drawn.topLeft())
        k = scale * _reference_dpi() / _device_dpi(painter)    # play() scales by the device's dpi over 96
        painter.scale(k, k)
        recording.play(painter)
    finally:
        painter.restore()
    return drawn


def _record(scene, source: QRectF) -> QPicture:
    """The scene's ``source`` rect drawn at scale 1 into a QPicture (origin at its top-left)."""
    recording = QPicture()
    rec = QPainter(recording)
    try:
        rec.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rec.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        local = QRectF(QPointF(0, 0), source.size())
        rec.setClipRect(local)
        scene.render(rec, local, source, Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        rec.end()
    return recording


def _reference_dpi() -> float:
    """The dpi a QPicture records at (the screen's): fonts and cached axis pictures are sized at it."""
    return float(QPicture().logicalDpiX())


def _device_dpi(painter: QPainter) -> float:
    """The horizontal logical dpi of the device ``painter`` draws on."""
    device = painter.device()
    return float(device.logicalDpiX()) if device is not None else _reference_dpi()


def _activate(item) -> None:
    """Lay out the plot item's children now (a layout request would otherwise wait for the event loop)."""
    layout = QGraphicsWidget.layout(item)     # PlotItem shadows layout() with an attribute
    if layout is not None:
        layout.activate()
