"""Inputs at the edge of what the schema allows, and long sessions, in the app (issue 11's fuzzing pass).

What-if: a value far outside a slider's usual range pins the slider to its end instead of raising
OverflowError inside a Qt slot (pytest-qt fails a test on any exception raised in a slot), and the
refresh still runs to the end.

Undo: 1,500 edits keep at most ``UNDO_MAX_STEPS`` steps, and big scenarios fewer, within the memory
budget; undo still works to the oldest step kept, and the saved state stays right after trimming.
"""

import math

import pytest

from ui.document import ScenarioDocument
from ui.evaluation import Evaluation


@pytest.fixture
def whatif(qtbot):
    from ui.views.whatif.view import WhatIfView

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    view = WhatIfView(doc, ev)
    qtbot.addWidget(view)
    yield view, doc
    view.shutdown()
    ev.wait_idle()
    doc.undo_stack.setClean()


def _largest(d):
    """The largest value the schema allows for every input a What-if control shows."""
    d["market"]["btc_price_usd"] = 100_000_000.0
    d["market"].setdefault("network_supply", {})["new_capex_usd_per_w"] = 50.0
    for s in d["sites"]:
        s["power_price_usd_per_mwh"] = 10_000.0
        if s.get("ai") is not None:
            s["ai"].setdefault("colocation", {})["rate_usd_per_kw_month"] = 10_000.0


def _largest_trend(d):
    """The trend network (its growth control shows instead of the build cost) and a points path at the cap."""
    _largest(d)
    d["market"]["network_model"] = "trend"
    d["market"]["hashrate_growth_pct_per_month"] = 50.0
    d["price_path"] = {"kind": "points", "points": [{"month": d["start_month"], "btc_price_usd": 100_000_000.0}]}


@pytest.mark.parametrize("edit", [_largest, _largest_trend], ids=["supply", "trend-points"])
def test_whatif_refresh_completes_at_the_largest_allowed_values(whatif, edit):
    view, doc = whatif
    before = view.redraw_count
    assert doc.try_edit(edit, "largest values") is None
    # the refresh ran to the end: the controls show the scenario, and the what-if was recomputed on it
    assert view.redraw_count == before + 1 and view.scenario is doc.scenario
    c = view.controls
    assert c["btc"].value() == 100_000_000.0                     # the box shows the price itself
    assert c["btc"].slider.value() == c["btc"].slider.maximum()  # the slider is pinned to its end
    assert c["lease"].value() == 10_000.0 and c["lease"].slider.value() == c["lease"].slider.maximum()
    if doc.scenario.market.network_model == "trend":
        assert c["growth"].value() == 50.0 and c["growth"].slider.value() == c["growth"].slider.maximum()
    else:
        assert c["build"].value() == 50.0 and c["build"].slider.value() == c["build"].slider.maximum()
    assert view.whatif() == view._base_whatif                    # untouched controls mean the scenario exactly
    view.update_tornado()                                        # a +20% case past the cap has no NPV, no error
    assert view.tornado_rows and view._tornado_scenario is doc.scenario
    # moving a control from there still works: the what-if at 150% power is recomputed (or named invalid)
    c["power"].set_value(150.0)
    assert view.redraw_count == before + 2 or view.message.text().startswith("What-if not valid")


def test_slider_clamps_values_past_a_c_int(qtbot):
    from ui.views.whatif.slider import SliderSpin

    box = SliderSpin(40_000, 200_000, 500, 1, 100_000_000, 0, " USD/BTC")
    qtbot.addWidget(box)
    seen = []
    box.valueChanged.connect(seen.append)
    for v, end in ((1e13, box.slider.maximum()), (-1e13, box.slider.minimum()), (math.inf, box.slider.maximum()),
                   (1e300, box.slider.maximum())):
        box.set_value(v, silent=True)
        assert box.slider.value() == end
        box.set_value(90_000.0)
        box.set_value(v)                     # through the box's own signal (clamped by the box first)
        assert box.slider.value() == end
    assert len(seen) == 8 and all(1 <= x <= 100_000_000 for x in seen)
    assert box._position(math.nan) == box.slider.minimum()


# --------------------------------------------------------------------------- the undo history's memory

def _fee(i: int) -> float:
    return (i % 100) / 10


def _edit(doc, i: int) -> None:
    doc.edit_dict(lambda d: d["finance"].update(pool_fee_pct=_fee(i)), f"Edit pool fee {i}")


def _live_scenarios() -> int:
    import gc

    from minerplan.scenario.model import Scenario

    gc.collect()
    return sum(isinstance(o, Scenario) for o in gc.get_objects())


def test_undo_history_is_capped_and_undo_still_works(qtbot):
    from ui.document import UNDO_BUDGET_BYTES, UNDO_MAX_STEPS, scenario_bytes

    doc = ScenarioDocument.open("default")
    step = scenario_bytes(doc.scenario)
    assert step * UNDO_MAX_STEPS <= UNDO_BUDGET_BYTES      # the shipped scenario: the step count is the cap
    before = _live_scenarios()
    for i in range(1500):
        _edit(doc, i)
        if i == 1200:
            doc.undo_stack.setClean()                      # as a save does (no file needed)
    stack = doc.undo_stack
    assert stack.count() == UNDO_MAX_STEPS and doc.undo_bytes() <= UNDO_BUDGET_BYTES
    assert _live_scenarios() - before <= UNDO_MAX_STEPS + 1   # the dropped steps let go of their scenarios
    # undo back to the saved state: clean again; then on to the oldest step that is kept
    for _ in range(1499 - 1200):
        stack.undo()
    assert not doc.dirty and doc.scenario.finance.pool_fee_pct == _fee(1200)
    while stack.canUndo():
        stack.undo()
    assert stack.index() == 0 and doc.dirty and doc.scenario.finance.pool_fee_pct == _fee(1500 - UNDO_MAX_STEPS - 1)
    stack.redo()
    assert doc.scenario.finance.pool_fee_pct == _fee(1500 - UNDO_MAX_STEPS)
    doc.undo_stack.setClean()


def test_big_scenarios_keep_fewer_steps_within_the_budget(qtbot, monkeypatch):
    from ui import document
    from ui.document import UNDO_MIN_STEPS, scenario_bytes

    doc = ScenarioDocument.open("default")
    budget = 30 * scenario_bytes(doc.scenario)             # as if each scenario were 1/30 of the budget
    monkeypatch.setattr(document, "UNDO_BUDGET_BYTES", budget)
    for i in range(200):
        _edit(doc, i)
        if i == 190:
            doc.undo_stack.setClean()
    stack = doc.undo_stack
    assert UNDO_MIN_STEPS <= stack.count() <= 30 and doc.undo_bytes() <= budget
    assert stack.undoText() == "Edit pool fee 199" and stack.canUndo() and not stack.canRedo()
    for _ in range(199 - 190):                             # the saved state survived the trimming
        stack.undo()
    assert not doc.dirty and doc.scenario.finance.pool_fee_pct == _fee(190)
    while stack.canRedo():
        stack.redo()
    assert doc.dirty and doc.scenario.finance.pool_fee_pct == _fee(199)
    for i in range(200, 260):                              # the saved step is trimmed away: never clean again
        _edit(doc, i)
    assert stack.count() <= 30 and doc.undo_bytes() <= budget
    while stack.canUndo():
        stack.undo()
        assert doc.dirty
    assert doc.scenario.finance.pool_fee_pct == _fee(259 - stack.count())
    # a budget smaller than the minimum still keeps UNDO_MIN_STEPS steps
    monkeypatch.setattr(document, "UNDO_BUDGET_BYTES", 5 * scenario_bytes(doc.scenario))
    for i in range(300, 340):
        _edit(doc, i)
    assert stack.count() == UNDO_MIN_STEPS and stack.undoText() == "Edit pool fee 339"
    doc.undo_stack.setClean()


def test_loading_a_file_starts_the_budget_again(qtbot, tmp_path, monkeypatch):
    from ui import document
    from ui.document import UNDO_MAX_STEPS, scenario_bytes

    doc = ScenarioDocument.open("default")
    monkeypatch.setattr(document, "UNDO_BUDGET_BYTES", 25 * scenario_bytes(doc.scenario))
    for i in range(60):
        _edit(doc, i)
    assert doc.undo_stack.undoLimit() < UNDO_MAX_STEPS
    path = tmp_path / "plan.json"
    doc.save(str(path))
    doc.load(str(path))
    assert doc.undo_stack.count() == 0 and doc.undo_stack.undoLimit() == UNDO_MAX_STEPS and not doc.dirty


def test_the_fan_keeps_percentiles_not_paths(qtbot):
    # Reproduction: a 100,000-path Monte Carlo kept 1.5 GB after the run (the full engine result,
    # ~18 kB a path, held for the Overview and Market fans). Now the worker reduces it to P5/P50/P95
    # per month, so what stays is independent of the number of paths.
    import numpy as np

    from ui.evaluation import MonteCarloFan

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 400
    with qtbot.waitSignal(ev.mc_updated, timeout=120_000):
        ev.refresh()
    fan = ev.mc_result
    assert isinstance(fan, MonteCarloFan) and fan.n_paths == 400 and fan.scenario is doc.scenario
    months = doc.scenario.horizon_months
    arrays = [v for v in vars(fan).values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.shape in ((3, months), (months,)) for a in arrays)
    assert np.all(fan.btc_price_usd_q[1] <= fan.btc_price_usd_p75)
    assert np.all(fan.btc_price_usd_p75 <= fan.btc_price_usd_q[2])
    # percentiles in order, and the median fan of a flat entered path is that path's price at month 0
    assert np.all(fan.btc_price_usd_q[0] <= fan.btc_price_usd_q[1])
    assert np.all(fan.btc_price_usd_q[1] <= fan.btc_price_usd_q[2])
    assert fan.btc_price_usd_q[1][0] == pytest.approx(doc.scenario.market.btc_price_usd)
    assert not any(isinstance(v, np.ndarray) and v.size > 3 * months for v in vars(ev).values())



@pytest.mark.parametrize("view_name", ["overview", "market"])
def test_the_fan_views_draw_from_the_percentiles(qtbot, view_name):
    # The Overview read the run's full BTC price array for its axis (P75): with only percentiles kept,
    # drawing must still work. Shown, so the views redraw when the fan arrives.
    from ui.views.market.view import MarketView
    from ui.views.overview import OverviewView

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 200
    view = OverviewView(ev) if view_name == "overview" else MarketView(doc, ev)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(ev.mc_updated, timeout=120_000):
        ev.refresh()
    qtbot.waitUntil(lambda: ev.mc_result is not None)
    if view_name == "overview":
        # The axis shows the whole fan (it was capped at 1.05 x the P75, cutting the P95 off): log scale.
        p95 = float(ev.mc_result.btc_price_usd_q[2].max())
        top = view.price_chart.item.getViewBox().viewRange()[1][1]
        assert view.price_chart.log_y and 10.0 ** top >= p95
    else:
        assert f"{ev.mc_result.n_paths:,} paths" in view.mc_status.text()
    ev.wait_idle()
