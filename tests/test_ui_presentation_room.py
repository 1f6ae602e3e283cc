"""Presentation mode (F11) at 1600 x 1000 leaves room for what people read: the What-if charts get the
height, the first year under a time chart is shown, bar labels are not cut."""

import pytest
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication


@pytest.fixture
def window(window):
    """The shared main window (tests/conftest.py) at 1600x1000, shown."""
    window.resize(1600, 1000)
    window.show()
    settle()
    return window


def settle():
    for _ in range(3):
        QApplication.processEvents()


def show_tab(window, title):
    window.tabs.setCurrentIndex([window.tabs.tabText(i).replace("&&", "&")
                                 for i in range(window.tabs.count())].index(title))
    view = window.ensure_view(title)
    settle()
    return view


def present(window):
    """Presentation mode (F11) on a 1600 x 1000 window (the test screen is smaller than a projector's)."""
    window.act_present.trigger()
    window.showNormal()
    window.resize(1600, 1000)
    settle()


def drawn_tick_texts(axis) -> list[str]:
    """The tick labels pyqtgraph actually paints on ``axis`` (it drops those crossing the axis's bounds)."""
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [text for _rect, _flags, text in specs[2]]


def test_whatif_charts_get_the_height(window):
    """The tornado's six rows need ~300 px; the near-empty Breakevens tables kept it to ~200 px."""
    view = show_tab(window, "What-if")
    present(window)
    assert window.width() == 1600 and window.height() == 1000
    assert view.tornado_chart.height() >= 300, view.tornado_chart.height()
    assert view.cash_chart.height() >= 300
    assert view.breakevens.isVisible()


@pytest.mark.parametrize("tab", ["Market", "Compare"])
def test_first_year_is_labelled_on_time_charts(window, tab):
    """The data start in 2025-12: the 2026 tick sits a month from the left edge; its label was dropped."""
    view = show_tab(window, tab)
    present(window)
    chart = view.charts()[0]
    texts = drawn_tick_texts(chart.item.getAxis("bottom"))
    assert "2026" in texts, texts
    assert "2027" in texts


def test_bar_labels_name_the_whole_site(window):
    """"North Dakota" under a fleet bar was cut to "North ..." at 16 pt; it wraps onto its own lines."""
    view = show_tab(window, "Fleet")
    present(window)
    for chart in view.charts():
        texts = drawn_tick_texts(chart.item.getAxis("bottom"))
        joined = " ".join(t.replace("\n", " ") for t in texts)
        assert "North Dakota" in joined, texts
        assert "\u2026" not in joined and "..." not in joined, texts


def test_chart_titles_are_whole(window):
    """At 18 pt the What-if and Risk chart titles were elided beside their export buttons; they wrap instead."""
    views = [show_tab(window, tab) for tab in ("What-if", "Risk")]
    present(window)
    for tab, view in zip(("What-if", "Risk"), views):
        show_tab(window, tab)
        for chart in view.charts():
            shown = chart.title.shown_text()
            assert shown.replace("\n", " ") == chart.title.full_text(), shown
            assert not chart.title.is_elided()
            assert chart.title.height() >= chart.title.fontMetrics().lineSpacing() * (shown.count("\n") + 1)
