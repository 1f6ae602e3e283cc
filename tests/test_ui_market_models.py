"""Market view: the Monte Carlo price model combo, the miner-capitulation checkbox and the preset
buttons' layout (pytest-qt, offscreen)."""

import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.markets.prices import PRESETS
from ui.document import ScenarioDocument
from ui.evaluation import Evaluation


@pytest.fixture
def market(qtbot):
    from ui.views.market.view import MarketView

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    view = MarketView(doc, ev)
    qtbot.addWidget(view)
    yield view, doc, ev
    ev.mc.paths = 1
    ev.wait_idle()
    doc.undo_stack.setClean()   # see tests/test_ui_market.py


def choose(combo, data) -> None:
    i = combo.findData(data)
    assert i >= 0
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def test_monte_carlo_group_is_retitled(market):
    from PySide6.QtWidgets import QGroupBox

    view, *_ = market
    titles = [b.title() for b in view.findChildren(QGroupBox)]
    assert "Monte Carlo (random paths around the price path)" in titles
    assert not any("geometric Brownian" in t for t in titles)


def test_price_model_combo_edits_the_scenario_and_undoes(market):
    view, doc, _ = market
    assert doc.scenario.monte_carlo.model == "gbm"
    assert view.mc_model.currentData() == "gbm"
    assert view.mc_model_hint.text() == ""
    count = doc.undo_stack.count()
    choose(view.mc_model, "merton")
    assert doc.scenario.monte_carlo.model == "merton"
    assert doc.undo_stack.count() == count + 1
    assert doc.undo_stack.undoText() == "Price model: merton"
    mc = doc.scenario.monte_carlo
    assert view.mc_model_hint.text() == (
        f"jumps: {mc.jump_intensity_per_year:g}/yr, mean {mc.jump_mean_pct:g}%, volatility "
        f"{mc.jump_volatility_pct:g}% (edit in the scenario file or with minerplan calibrate)")
    assert "jumps: 3/yr, mean -8%, volatility 10%" in view.mc_model_hint.text()

    choose(view.mc_model, "regime")
    assert doc.scenario.monte_carlo.model == "regime"
    hint = view.mc_model_hint.text()
    assert "-60" in hint and "80" in hint and "4%" in hint and "20%" in hint

    doc.undo_stack.undo()
    assert doc.scenario.monte_carlo.model == "merton"
    assert view.mc_model.currentData() == "merton"
    doc.undo_stack.undo()
    assert doc.scenario.monte_carlo.model == "gbm"
    assert view.mc_model.currentData() == "gbm"
    assert view.mc_model_hint.text() == ""
    doc.undo_stack.redo()
    assert view.mc_model.currentData() == "merton"
    # choosing the current model again is no edit
    count = doc.undo_stack.count()
    choose(view.mc_model, "merton")
    assert doc.undo_stack.count() == count


def test_network_model_choice_is_one_undoable_edit_and_moves_the_npv(market, qtbot):
    view, doc, ev = market
    assert doc.scenario.market.network_model == "supply"
    assert view.network_model.currentData() == "supply"
    tip = view.network_model.toolTip()
    assert "hashprice" in tip and "backtest-network" in tip
    npv = {"supply": float(run_engine(doc.scenario).npv_usd[0])}
    count = doc.undo_stack.count()
    for k, model in enumerate(("capitulation", "trend"), start=1):
        view.network_model.setCurrentIndex(view.network_model.findData(model))
        view.network_model.activated.emit(view.network_model.currentIndex())
        assert doc.scenario.market.network_model == model
        assert doc.undo_stack.count() == count + k
        npv[model] = float(run_engine(doc.scenario).npv_usd[0])
        assert float(ev.result.npv_usd[0]) == pytest.approx(npv[model])
    assert len({round(v) for v in npv.values()}) == 3          # three models, three answers
    doc.undo_stack.undo()
    assert doc.scenario.market.network_model == "capitulation"
    assert view.network_model.currentData() == "capitulation"
    doc.undo_stack.undo()
    assert doc.scenario.market.network_model == "supply"
    assert float(ev.result.npv_usd[0]) == pytest.approx(npv["supply"])


def test_widgets_follow_a_document_replace(market):
    from minerplan.scenario.files import scenario_from_dict, scenario_to_dict

    view, doc, _ = market
    d = scenario_to_dict(doc.scenario)
    d["monte_carlo"]["model"] = "regime"
    d["market"]["network_model"] = "capitulation"
    assert doc.try_edit(lambda dd: dd.update(d), "replace") is None
    assert view.mc_model.currentData() == "regime"
    assert view.network_model.currentData() == "capitulation"
    assert scenario_from_dict(d).monte_carlo.model == "regime"


def test_all_preset_buttons_are_visible_at_the_default_size(market, qtbot):
    from PySide6.QtWidgets import QGroupBox

    view, *_ = market
    view.show()
    qtbot.waitExposed(view)
    assert set(view.preset_buttons) == set(PRESETS)
    for name, b in view.preset_buttons.items():
        assert b.isVisible(), name
        box = b.parentWidget()
        while not isinstance(box, QGroupBox):
            box = box.parentWidget()
        top_left = b.mapTo(box, b.rect().topLeft())
        bottom_right = b.mapTo(box, b.rect().bottomRight())
        assert top_left.x() >= 0 and bottom_right.x() < box.width(), (name, top_left, bottom_right, box.width())
        # the box itself fits in the scroll area's viewport (nothing cut off on the right)
        vp = box.parentWidget().parentWidget()
        assert box.mapTo(vp, box.rect().bottomRight()).x() <= vp.width(), name
        assert b.width() >= b.sizeHint().width(), name   # text not squeezed
