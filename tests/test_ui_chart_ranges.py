"""Charts hide nothing and never resize the window: ranges, legends, labels, empty states, hover, presentation.

Every chart of every view (the Overview's with a Monte Carlo fan) is checked at 1600 x 1000:
its y range holds every plotted series' min and max and every reference level; its legend lies
under the plot, clear of the data, the reference labels and the annotations; its unit is never
cut; an empty chart shows a hint and no tick numbers; hovering never changes the main window's
minimum size; presentation mode enlarges the legend with the axes.
"""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QApplication, QGraphicsTextItem

from tests.builders import every_chart

QStandardPaths.setTestModeEnabled(True)
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"^[-+]?[\d,.]+[MBk]?$")


@pytest.fixture
def window(window):
    """The shared main window (tests/conftest.py) at 1600x1000, shown."""
    window.resize(1600, 1000)
    window.show()
    return window


def settle():
    for _ in range(3):
        QApplication.processEvents()


def with_fan(window, paths=24):
    """A small Monte Carlo fan on the Overview and Market charts (waits for the background run)."""
    window.evaluation.mc.paths = paths
    window.evaluation.refresh()
    window.evaluation.wait_idle()
    settle()


def all_charts(window):
    return every_chart(window, after_each=settle)


def presenting_at_1600(window):
    """Presentation mode's fonts and sizes, in a 1600x1000 window (not full screen, which offscreen has not)."""
    window.act_present.setChecked(True)
    window.toggle_presentation()
    window.showNormal()
    window.resize(1600, 1000)
    settle()


def shown_charts(window):
    """Every chart, each checked while its tab is on screen (hidden charts are laid out when shown)."""
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        title = window.tabs.tabText(i).replace("&&", "&")
        view = window.ensure_view(title)
        settle()
        for c in (view.charts() if hasattr(view, "charts") else []):
            if c.plot.isVisible():
                yield title, c


def plotted(chart):
    """(name, y values in view coordinates) of every visible line, fan edge, area and bar of ``chart``."""
    out = []
    for it in chart.item.vb.addedItems:
        if not it.isVisible():
            continue
        if isinstance(it, pg.PlotDataItem):
            _, y = it.getData()
            if y is not None and np.isfinite(y).any():
                out.append((it.name() or "curve", np.asarray(y, float)))
        elif isinstance(it, pg.BarGraphItem):
            o = it.opts
            xs = next(v for v in (o.get("x"), o.get("x0"), o.get("x1")) if v is not None)
            h = np.broadcast_to(np.asarray(o.get("height"), float), np.shape(xs))
            if o.get("y") is not None:          # horizontal bars (a tornado): centred on y
                y = np.asarray(o["y"], float)
                out.append(("bars", np.concatenate([y - h / 2, y + h / 2])))
            else:                               # vertical bars from y0 (0)
                y0 = np.asarray(o.get("y0") if o.get("y0") is not None else 0.0, float)
                out.append(("bars", np.concatenate([np.ravel(y0 + 0 * h), np.ravel(y0 + h)])))
        elif isinstance(it, pg.InfiniteLine) and it.angle % 180 == 0:
            out.append(("level", np.array([it.value()], float)))
    return out


def labels_in(chart):
    """Scene rects of the reference lines' labels and the text annotations drawn in the plot."""
    out = []
    for it in chart.item.vb.addedItems:
        if isinstance(it, pg.InfiniteLine) and getattr(it, "label", None) is not None and it.label.isVisible():
            out.append((it.label.toPlainText(), it.label.sceneBoundingRect()))
        elif isinstance(it, pg.TextItem) and it.isVisible() and it.toPlainText():
            out.append((it.toPlainText(), it.sceneBoundingRect()))
    return out


# ---------------------------------------------------------------------------------------------- ranges

def test_every_series_lies_inside_its_chart(window):
    """The y range holds each series' min and max (the AI capex line, the fan's P95, every level)."""
    with_fan(window)
    checked = 0
    for title, chart in shown_charts(window):
        (x0, x1), (y0, y1) = chart.item.viewRange()
        for name, y in plotted(chart):
            lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
            tol = 1e-9 * max(1.0, abs(y1 - y0))
            assert y0 - tol <= lo and hi <= y1 + tol, f"{title}: {chart._title_text}: {name} {lo:g}..{hi:g} " \
                                                      f"outside {y0:g}..{y1:g}"
            checked += 1
    assert checked > 30


def test_overview_shows_the_whole_btc_fan(window):
    with_fan(window)
    window.tabs.setCurrentIndex(0)
    settle()
    ov = window.ensure_view("Overview")
    fan = window.evaluation.mc_result
    assert fan is not None
    p95_top = float(np.max(fan.btc_price_usd_q[2]))
    chart = ov.price_chart
    top = chart.item.viewRange()[1][1]
    assert top >= chart.to_view_y(p95_top)          # was cut at 1.05 x the P75
    assert chart.to_view_y(87_000) > chart.item.viewRange()[1][0]


def test_ai_chart_shows_the_capex(window):
    """The AI/HPC range stopped near $4M (the revenue), the ~$22M/month capex line off the top."""
    window.tabs.setCurrentIndex(4)
    ai = window.ensure_view("AI/HPC")
    settle()
    capex = ai.chart_series()["AI capex"]
    # 40 MW gross converted at North Dakota from 2026-01 over its 12-month lead time: about $22M a month.
    assert 15e6 < float(np.max(capex)) < 30e6
    assert ai.chart.item.viewRange()[1][1] >= float(np.max(capex))
    window.tabs.setCurrentIndex(0)             # and after an edit made while the tab is hidden
    window.doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=3.0), "fee")
    window.tabs.setCurrentIndex(4)
    settle()
    assert ai.chart.item.viewRange()[1][1] >= float(np.max(ai.chart_series()["AI capex"]))


# ---------------------------------------------------------------------------------------------- legends, labels

@pytest.mark.parametrize("present", [False, True])
def test_legend_never_covers_data_or_labels(window, present):
    with_fan(window)
    if present:
        presenting_at_1600(window)
    n = 0
    for title, chart in shown_charts(window):
        if not chart.legend.items:
            continue
        leg = chart.legend.mapRectToScene(chart.legend.boundingRect()).adjusted(1, 1, -1, -1)  # layout rounding
        where = f"{title}: {chart._title_text}"
        assert not leg.intersects(chart.item.vb.sceneBoundingRect()), where
        assert not leg.intersects(chart.item.getAxis("bottom").sceneBoundingRect()), where
        for text, rect in labels_in(chart):
            assert not leg.intersects(rect), f"{where}: legend over {text!r}"
        assert chart.item.sceneBoundingRect().contains(leg), f"{where}: legend cut off"
        n += 1
    assert n >= 10


def test_reference_labels_and_annotations_stay_inside_the_plot(window):
    with_fan(window)
    n = 0
    for title, chart in shown_charts(window):
        vb = chart.item.vb.sceneBoundingRect().adjusted(-1, -1, 1, 1)
        for text, rect in labels_in(chart):
            if "Press" in text or text.startswith("Nothing"):
                continue
            assert vb.contains(rect), f"{title}: {chart._title_text}: {text!r} runs out of the plot"
            n += 1
    assert n >= 12            # the Overview's levels, the fleet's BTC price, the tornado's 12 labels


def test_tornado_labels_fit_beside_their_bars(window):
    window.tabs.setCurrentIndex(7)
    view = window.ensure_view("What-if")
    view.update_tornado()
    settle()
    chart = view.tornado_chart
    texts = [t for t, _ in labels_in(chart)]
    assert len(texts) == 2 * len(view.tornado_rows) >= 10
    vb = chart.item.vb.sceneBoundingRect().adjusted(-1, -1, 1, 1)
    assert all(vb.contains(r) for _, r in labels_in(chart))


@pytest.mark.parametrize("present", [False, True])
def test_axis_and_unit_labels_are_never_cut(window, present):
    """A chart's unit ("USD millions per month") is shown whole (it was cut to "D millions per m")."""
    if present:
        presenting_at_1600(window)
    n = 0
    for title, chart in shown_charts(window):
        if not chart.y_label:
            continue
        texts = [it for it in chart.plot.scene().items() if isinstance(it, QGraphicsTextItem)
                 and it.isVisible() and it.toPlainText().strip() == chart.y_label]
        assert texts, f"{title}: {chart._title_text}: its unit is not drawn"
        for t in texts:
            rect = t.sceneBoundingRect()
            plot = chart.item.sceneBoundingRect().adjusted(-1, -1, 1, 1)
            parent = t.parentItem().sceneBoundingRect().adjusted(-1, -1, 1, 1)
            assert plot.contains(rect) and parent.contains(rect), \
                f"{title}: {chart._title_text}: {chart.y_label!r} is cut ({rect} in {parent})"
            n += 1
    assert n >= 12


# ---------------------------------------------------------------------------------------------- empty charts

def svg_texts(chart, path) -> list[str]:
    chart.export_svg(str(path))
    root = ET.parse(path).getroot()
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_empty_chart_shows_a_hint_and_no_tick_numbers(window, tmp_path):
    """An empty chart showed "0.0 ... 1.0" on both axes; now no numbers, and a hint."""
    from ui.charts import Chart

    chart = Chart("Nothing yet", "USD per month")
    chart.resize(700, 400)
    chart.show()
    settle()
    texts = svg_texts(chart, tmp_path / "empty.svg")
    assert not [t for t in texts if NUMBER.match(t)], texts
    assert chart.is_empty() and any("Nothing to show" in t for t in texts)
    chart.line("revenue", [0.0, 86_400.0 * 31], [1.0, 2.0])
    settle()
    texts = svg_texts(chart, tmp_path / "full.svg")
    assert [t for t in texts if NUMBER.match(t)] and not any("Nothing to show" in t for t in texts)
    chart.close()


def test_frontier_tab_says_how_to_trace_it(window, tmp_path):
    window.tabs.setCurrentIndex(5)
    view = window.ensure_view("Optimize")
    view.chart_tabs.setCurrentWidget(view.frontier_chart)
    settle()
    texts = svg_texts(view.frontier_chart, tmp_path / "frontier.svg")
    assert any(t.startswith("Press Trace frontier to compute") for t in texts), texts
    assert not [t for t in texts if NUMBER.match(t)], texts


# ---------------------------------------------------------------------------------------------- hover, presentation

def hover_everywhere(chart, steps=25):
    """Move the hover readout across the whole plot (as the mouse would)."""
    vb = chart.item.vb.sceneBoundingRect()
    for k in range(steps + 1):
        left_middle = vb.topLeft() + (vb.bottomLeft() - vb.topLeft()) / 2
        chart._on_mouse((left_middle + (vb.topRight() - vb.topLeft()) * (k / steps),))
        settle()


@pytest.mark.parametrize("present", [False, True])
def test_hover_never_changes_the_window_minimum_size(window, present):
    """Hovering the Market chart raised the minimum width from 1,112 to 1,715 px (2,009 presenting), for good."""
    with_fan(window)
    if present:
        presenting_at_1600(window)
    charts = all_charts(window)
    settle()
    hovered = 0
    for title, chart in charts:
        window.tabs.setCurrentIndex([window.tabs.tabText(i).replace("&&", "&") for i in range(window.tabs.count())]
                                    .index(title))
        settle()
        before = (window.minimumSizeHint(), window.minimumWidth(), window.width())
        hover_everywhere(chart)
        after = (window.minimumSizeHint(), window.minimumWidth(), window.width())
        assert after == before, f"{title}: {chart._title_text}: {before} -> {after}"
        if chart._series:
            assert chart.readout.text(), f"{title}: {chart._title_text}: no readout"
            hovered += 1
    assert hovered >= 10


def test_a_long_readout_is_elided_and_whole_in_its_tooltip(window):
    window.tabs.setCurrentIndex(3)
    chart = window.ensure_view("Market").charts()[0]
    settle()
    long = "2026-01  " + "  ".join(f"series {k} (USD per BTC): 123,456.78" for k in range(8))
    width = window.minimumSizeHint().width()
    chart.readout.setText(long)
    settle()
    assert window.minimumSizeHint().width() == width
    assert chart.readout.full_text() == long and chart.readout.toolTip() == long
    assert chart.readout.is_elided() and chart.readout.width() < 1600


def test_presentation_mode_enlarges_the_legend(window):
    window.tabs.setCurrentIndex(0)
    chart = window.ensure_view("Overview").charts()[0]
    settle()

    def entry_height():               # the first entry's text at its font (the chart may redraw its legend)
        return chart.legend.items[0][1].itemRect().height()

    h0 = entry_height()
    window.act_present.setChecked(True)
    window.toggle_presentation()
    settle()
    h1 = entry_height()
    assert h1 >= 1.3 * h0                       # 9 pt -> 14 pt, like the axes' 10 -> 16
    assert chart.legend.boundingRect().height() >= h1       # and the legend makes room for it
    window.act_present.setChecked(False)
    window.toggle_presentation()
    settle()
    assert entry_height() == pytest.approx(h0, abs=1)
