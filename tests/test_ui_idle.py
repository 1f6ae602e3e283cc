"""Optimize view: idle MW with the reason, under the "MW by use" chart (issue 12, item 3)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from minerplan.scenario.files import scenario_from_dict  # noqa: E402
from tests.test_idle_capacity import spare_site  # noqa: E402
from ui.document import ScenarioDocument  # noqa: E402
from ui.evaluation import Evaluation  # noqa: E402
from ui.views.optimize.results import ALL_SITES  # noqa: E402
from ui.views.optimize.view import OptimizeView  # noqa: E402

FINISHED = ("done", "no_plan", "failed", "cancelled")


@pytest.fixture
def view(qtbot):
    d = spare_site(40)
    d["sites"].append({"name": "B", "capacity_mw": 5, "power_price_usd_per_mwh": 40, "pue": 1.0})
    d["fleet"].append({"model": "Antminer S19j Pro", "count": 1000, "hashrate_ths": 104, "power_w": 3068,
                       "site": "B", "uptime_pct": 100, "degradation_pct_per_year": 0})
    doc = ScenarioDocument(scenario_from_dict(d))
    ev = Evaluation(doc)
    ev.mc.paths = 1
    v = OptimizeView(doc, ev)
    v.confidence_paths = v.confidence_replications = 0
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.show()
    yield v
    v.shutdown()
    doc.undo_stack.clear()


def test_idle_table_says_why_for_the_site_shown(qtbot, qtmodeltester, view):
    assert view.idle_model.rowCount() == 0                   # nothing before a run
    view.paths.setValue(10)
    view.hall.setValue(0)
    view.purchases.setChecked(False)
    view.retirements.setChecked(False)
    view.run_button.click()
    qtbot.waitUntil(lambda: view.state in FINISHED, timeout=60_000)
    assert view.state == "done", view.status_label.text()
    m = view.idle_model
    qtmodeltester.check(m)
    # All sites: A (5.0 MW spare) and B (1.9 MW spare), each for the whole year, purchases disabled
    assert view.site_combo.currentText() == ALL_SITES
    assert m.rowCount() == 2
    rows = [[m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())]
    assert rows == [["A", "2026-01", "2026-12", "5.0", "purchases disabled (optimizer settings)"],
                    ["B", "2026-01", "2026-12", "1.9", "purchases disabled (optimizer settings)"]]
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())] == \
        ["Site", "From (month)", "To (month)", "Idle (MW, gross)", "Why idle"]
    assert m.data(m.index(0, 4), Qt.ItemDataRole.ToolTipRole) == "purchases disabled (optimizer settings)"
    # the table follows the site chosen for the chart
    view.site_combo.setCurrentText("B")
    assert m.rowCount() == 1 and m.data(m.index(0, 0)) == "B"
    assert view.idle_rows("B")["idle_mw"].iloc[0] == pytest.approx(5 - 1000 * 3068 / 1e6)
