"""The tornado as a chart: one row per input, bars of the NPV change at its low and high case, labelled.

:func:`draw_tornado` draws :func:`minerplan.analysis.whatif.tornado`'s rows on a
:class:`~ui.charts.Chart` (USD millions across, the widest bar on top) and gives the chart a range
that fits the labels at the bars' ends: the half-width is chosen from the plot's width in px and
each label's width, so no label runs off the plot (the legend sits under the axis, clear of them);
where the labels with their cases would squeeze the bars, the labels show the amounts only.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics

from minerplan.analysis.whatif import TornadoRow

from ...charts import Chart, color

#: Gap between a bar's end and its label, and between a label and the plot's edge, px.
LABEL_GAP_PX = 8


def tornado_texts(rows: list[TornadoRow]) -> list[tuple[float, float, str]]:
    """(y, change in USD millions, label) for each bar end, the widest row at the top (largest y)."""
    out = []
    ys = np.arange(len(rows))[::-1].astype(float)
    for y, r in zip(ys, rows):
        missing = r.npv_low_usd is None or r.npv_high_usd is None
        for npv, case in ((r.npv_low_usd, r.low_label), (r.npv_high_usd, r.high_label)):
            v = 0.0 if npv is None else (npv - r.base_npv_usd) / 1e6
            txt = "n/a (input out of range)" if missing else f"{'+' if v >= 0 else '-'}${abs(v):,.1f}M ({case})"
            out.append((float(y), v, txt))
    return out


def draw_tornado(chart: Chart, rows: list[TornadoRow]) -> None:
    """Draw ``rows`` on ``chart`` (cleared first): low-case and high-case bars from 0, labels at their ends."""
    chart.clear()
    n = len(rows)
    ys = np.arange(n)[::-1].astype(float)
    texts = tornado_texts(rows)
    lo = np.array([v for _, v, _ in texts[0::2]])
    hi = np.array([v for _, v, _ in texts[1::2]])
    chart.item.getAxis("left").setTicks([[(float(y), r.name) for y, r in zip(ys, rows)]])
    chart.set_y_tick_sample(max((r.name for r in rows), key=len, default="input") + "  ")
    chart.item.addItem(pg.BarGraphItem(x0=np.minimum(lo, 0), x1=np.maximum(lo, 0), y=ys, height=0.36,
                                       brush=pg.mkBrush(color(6, 200)), pen=pg.mkPen(color(6))))
    chart.item.addItem(pg.BarGraphItem(x0=np.minimum(hi, 0), x1=np.maximum(hi, 0), y=ys, height=0.36,
                                       brush=pg.mkBrush(color(0, 170)), pen=pg.mkPen(color(0))))
    chart.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(6, 200), width=8)), "low case of the input")
    chart.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(color(0, 170), width=8)), "high case of the input")
    chart.item.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#202124", width=1)))
    items = []
    for y, v, txt in texts:
        t = pg.TextItem(txt, color="#202124", anchor=(0, 0.5) if v >= 0 else (1, 0.5))
        t.setFont(chart.label_font())
        t.setPos(v, y)
        chart.item.addItem(t)
        items.append(t)
    chart.custom_fit = lambda: fit_tornado(chart, texts, n, items)
    chart.item.layout.activate()          # the names' axis and the legend take their room now, not later
    chart.fit()


def fit_tornado(chart: Chart, texts: list[tuple[float, float, str]], n: int, items=()) -> None:
    """Set the x range so every label fits beside its bar inside the plot, and one row per input.

    When the labels with their cases ("+$74.1M (168 USD/kW-mo)") leave the bars less than a third of
    each half, the labels (``items``, one per text) show the amounts only.
    """
    half_px = max(chart.item.vb.width(), 100.0) / 2
    fm = QFontMetrics(chart.label_font())
    top = max((abs(v) for _, v, _ in texts), default=0.0) or 1.0

    def half_for(labels: list[str]) -> float:
        half = top * 1.05
        for (_, v, _), txt in zip(texts, labels):
            room = half_px - fm.horizontalAdvance(txt) - 2 * LABEL_GAP_PX
            half = max(half, abs(v) * half_px / room if room > 1 else float("inf"))
        return half

    full = [txt for _, _, txt in texts]
    short = [txt.split(" (")[0] for txt in full]
    labels = full if top / half_for(full) >= 1 / 3 else short
    for item, txt in zip(items, labels):
        if item.toPlainText() != txt:
            item.setText(txt)
    half = half_for(labels)
    if half == float("inf"):
        half = top * 10               # a plot too narrow even for the amounts: the bars get a tenth
    chart.item.setRange(xRange=(-half, half), yRange=(-0.6, max(n, 1) - 0.4), padding=0)
