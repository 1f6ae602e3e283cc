"""Axis ticks people read on a chart: 45,000 / 12.5M / 1.2B, also on a logarithmic axis (1-2-5 per decade),
and category labels under bars that fit their slots."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics


class NumberAxis(pg.AxisItem):
    """Y axis ticks people read: 45,000 / 12.5M / 1.2B instead of 4.5e+04 (on a log axis too)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        return [(None, log_ticks(minVal, maxVal))]      # 1-2-5 per decade: labels that never crowd

    def tickStrings(self, values, scale, spacing):
        if self.logMode:        # the values are log10 of the amounts: label the amounts
            amounts = [10.0 ** (v * scale) for v in values]
            return [tick_text(a, a, a) for a in amounts]       # each by its own size: 20,000 / 500,000 / 1M
        span = max((abs(v) for v in values), default=0.0) * scale
        return [tick_text(v * scale, span, spacing * scale) for v in values]


class DateAxis(pg.DateAxisItem):
    """A month/year x axis whose first label may reach ``overhang_px`` left of the plot, under the y axis.

    pyqtgraph drops every tick label that crosses its axis's bounds: "2026" at 2026-01, a month after a
    2025-12 start, was dropped at 16 pt. The corner under the y axis is empty, so the label may use it.
    """

    overhang_px = 0.0

    def boundingRect(self):  # noqa: N802 - Qt's name
        return super().boundingRect().adjusted(-self.overhang_px, 0, 0, 0)


def log_ticks(lo_log10: float, hi_log10: float) -> list[float]:
    """log10 of the 1, 2 and 5 times powers of ten between 10**lo_log10 and 10**hi_log10 (2 and 5 dropped
    when the range spans more than three decades)."""
    if not (np.isfinite(lo_log10) and np.isfinite(hi_log10)) or hi_log10 <= lo_log10:
        return []
    steps = (1.0,) if hi_log10 - lo_log10 > 3 else (1.0, 2.0, 5.0)
    out = []
    for e in range(int(np.floor(lo_log10)), int(np.ceil(hi_log10)) + 1):
        out += [float(np.log10(m * 10.0 ** e)) for m in steps]
    return [v for v in out if lo_log10 <= v <= hi_log10]


def tick_text(v: float, span: float, spacing: float) -> str:
    """``v`` as a tick label: B or M above a billion or a million (a decimal when ticks are closer), else commas."""
    if span >= 1e9:
        return f"{v / 1e9:,.{1 if spacing < 1e9 else 0}f}B"
    if span >= 1e6:
        return f"{v / 1e6:,.{1 if spacing < 1e6 else 0}f}M"
    if span >= 1e3:
        return f"{v:,.0f}"
    digits = 0 if spacing >= 1 or spacing <= 0 else min(4, int(np.ceil(-np.log10(spacing) - 1e-9)))
    return f"{v:,.{max(digits, 0)}f}"


def fit_category_ticks(axis: pg.AxisItem, labels: list[tuple[float, str]] | None, px_per_unit: float) -> None:
    """Category labels (one or more lines each, at x = 0, 1, 2 ...) on a bottom ``axis``: each line elided
    to its slot of ``px_per_unit`` px (so neighbours never run into each other, at any font size) and the
    axis as tall as the lines. ``labels`` None: the axis's own numbers again."""
    if labels is None:
        axis.setTicks(None)
        axis.setHeight(None)
        return
    fm = QFontMetrics(axis.style.get("tickFont") or axis.font())
    room = int(max(24.0, 0.94 * px_per_unit))
    shown = [(x, "\n".join(wrapped(line, fm, room) for line in text.split("\n"))) for x, text in labels]
    axis.setTicks([shown])
    lines = max((text.count("\n") + 1 for _, text in shown), default=1)
    axis.setHeight(fm.lineSpacing() * lines + 14 if lines > 1 else None)


def wrapped(line: str, fm: QFontMetrics, room_px: int, max_lines: int = 2) -> str:
    """``line`` broken at spaces into at most ``max_lines`` lines of ``room_px`` each ("North Dakota" under a
    narrow bar reads "North" / "Dakota", not "North ..."); only what still does not fit is elided."""
    if fm.horizontalAdvance(line) <= room_px:
        return line
    out: list[str] = []
    for word in line.split(" "):
        if out and len(out) < max_lines and fm.horizontalAdvance(out[-1] + " " + word) > room_px:
            out.append(word)
        elif out:
            out[-1] += " " + word
        else:
            out.append(word)
    return "\n".join(fm.elidedText(part, Qt.TextElideMode.ElideRight, room_px) for part in out)
