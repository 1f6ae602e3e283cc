"""Nothing cut sideways at 1600x1000, in presentation mode too: the Market settings panel never scrolls
sideways, the Risk results tables show every column, and editable tables re-fit their columns when the
font grows (a site column sized at 9 pt elided "North Dakota" to "North ..." at 10 pt)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication, QScrollArea, QTabWidget  # noqa: E402

from ui.document import ScenarioDocument  # noqa: E402
from ui.evaluation import Evaluation  # noqa: E402
from ui.views.market.view import MarketView  # noqa: E402
from ui.views.risk.view import RiskView  # noqa: E402
from ui.views.sites import SitesView  # noqa: E402


@pytest.fixture
def env(qtbot):
    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    yield doc, ev
    doc.undo_stack.setClean()


def _in_tabs(qtbot, view, point_size: int) -> QTabWidget:
    """The view in a tab widget of 1600x1000 whose font is ``point_size`` pt, as the main window passes
    its font down (14 pt in presentation mode)."""
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(view, "view")
    f = QFont(QApplication.font())
    f.setPointSize(point_size)
    tabs.setFont(f)
    tabs.resize(1600, 960)
    tabs.show()
    qtbot.waitExposed(tabs)
    QApplication.processEvents()
    QApplication.processEvents()
    return tabs


@pytest.mark.parametrize("point_size", [10, 14])
def test_market_settings_panel_never_scrolls_sideways(env, qtbot, point_size):
    doc, ev = env
    view = MarketView(doc, ev)
    tabs = _in_tabs(qtbot, view, point_size)  # noqa: F841 - keeps the view alive
    view.set_presentation(point_size == 14)
    QApplication.processEvents()
    area = view.findChild(QScrollArea)
    assert area.horizontalScrollBar().maximum() == 0
    assert area.widget().width() >= area.widget().minimumSizeHint().width()


@pytest.mark.parametrize("point_size", [10, 14])
def test_risk_results_tables_show_every_column(env, qtbot, point_size):
    doc, ev = env
    view = RiskView(doc, ev)
    tabs = _in_tabs(qtbot, view, point_size)  # noqa: F841 - keeps the view alive
    # the longest measure and value texts the results show
    t = view.summary_table
    from ui.kit.tables import read_only_cell
    t.setRowCount(1)
    for c, text in enumerate(["CVaR 95% of NPV (mean of the worst 5% of paths)", "-$15.2M", "-$11.4M", "+$3.8M"]):
        t.setItem(0, c, read_only_cell(text))
    QApplication.processEvents()
    QApplication.processEvents()
    for table in (view.summary_table, view.hedge_results_table):
        assert table.horizontalScrollBar().maximum() == 0


def test_site_column_refits_when_the_font_grows(env, qtbot):
    doc, ev = env
    view = SitesView(doc, ev)
    view.resize(1600, 600)
    view.show()
    qtbot.waitExposed(view)
    f = QFont(QApplication.font())
    f.setPointSize(QApplication.font().pointSize() + 3)
    view.setFont(f)
    QApplication.processEvents()
    t = view.table
    assert t.columnWidth(0) >= t.sizeHintForColumn(0)

