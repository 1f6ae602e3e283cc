"""Inputs at the edge of what the schema allows, and long sessions, in the app (issue 11's fuzzing pass).

What-if: a value far outside a slider's usual range pins the slider to its end instead of raising
OverflowError inside a Qt slot (pytest-qt fails a test on any exception raised in a slot), and the
refresh still runs to the end.
"""

import math

import pytest

from ui.document import ScenarioDocument
from ui.evaluation import Evaluation


@pytest.fixture
def whatif(qtbot):
    from ui.views.whatif import WhatIfView

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
    from ui.views.whatif import SliderSpin

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
