"""The efficient frontier as a chart: expected NPV against CVaR of the NPV loss, one clickable point per risk weight.

:func:`draw_frontier` draws a traced frontier (:func:`solvers.frontier.efficient_frontier`'s table)
on a :class:`~ui.charts.Chart`, USD millions on both axes: the line through the solved points in
order of CVaR, the points (the one loaded larger and in the second colour), a tooltip per point
and a ``w=`` label per point, coincident points sharing one label.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import pyqtgraph as pg

from ...charts import Chart, color
from .work import frontier_valid


#: What the frontier tab says until a frontier is traced.
TRACE_HINT = ("Press Trace frontier to compute the efficient frontier:\n"
              "expected NPV against CVaR of the NPV loss, one point per risk weight")
#: What it says when a traced frontier has no point with a plan.
NO_POINT_HINT = "No risk weight of the traced frontier gave a plan: see the run's messages"


def draw_frontier(chart: Chart, table: pd.DataFrame | None, selected: int | None,
                  on_click: Callable) -> pg.ScatterPlotItem | None:
    """Draw ``table`` on ``chart`` (cleared first); ``on_click(item, points, event)`` gets the scatter's clicks,
    each point's ``data()`` its row. Returns the scatter (None when no row has a plan)."""
    chart.clear()
    chart.set_empty_hint(TRACE_HINT if table is None else NO_POINT_HINT)
    if table is None:
        return None
    ok = frontier_valid(table)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    x = table["cvar_usd"].to_numpy(float)[idx] / 1e6
    y = table["expected_npv_usd"].to_numpy(float)[idx] / 1e6
    order = np.argsort(x, kind="stable")
    chart.line("Frontier (USD million)", x[order], y[order], 0, width=1.5)
    brushes = [pg.mkBrush(color(1 if int(k) == selected else 0)) for k in idx]
    sizes = [16 if int(k) == selected else 11 for k in idx]
    sc = pg.ScatterPlotItem(x=x, y=y, data=[int(k) for k in idx], size=sizes, brush=brushes,
                            pen=pg.mkPen("w", width=1.5), hoverable=True, hoverSize=15,
                            tip=lambda x, y, data: (f"risk weight {table['risk_aversion'].iloc[data]:g}\n"
                                                    f"CVaR {x:,.1f} USD M\nexpected NPV {y:,.1f} USD M"))
    sc.sigClicked.connect(on_click)
    chart.item.addItem(sc)
    groups: dict[tuple[float, float], list[str]] = {}     # coincident points share one label
    for xi, yi, k in zip(x, y, idx):
        groups.setdefault((round(float(xi), 3), round(float(yi), 3)), []).append(f"{table['risk_aversion'].iloc[k]:g}")
    xmid, ymid = (float(x.min()) + float(x.max())) / 2, (float(y.min()) + float(y.max())) / 2
    for (xi, yi), ws in groups.items():
        # Each label on the side of its point towards the middle, so none runs out of the plot.
        label = pg.TextItem("w=" + ", ".join(ws), color="#5f6368",
                            anchor=(1.0 if xi > xmid else 0.0, 0.0 if yi > ymid else 1.0))
        label.setFont(chart.label_font())
        label.setPos(xi, yi)
        chart.item.addItem(label)
    return sc
