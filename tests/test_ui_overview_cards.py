"""The Overview's KPI cards never widen the window: long values wrap, also in presentation mode."""

from ui.views.overview import KpiCard


def test_a_long_value_wraps_instead_of_widening_the_card(qtbot):
    card = KpiCard("Mining margin vs AI revenue")
    qtbot.addWidget(card)
    card.set("$123,456 vs $234,567 per gross MW-month", "mining $123,456 per gross MW-month; AI/HPC $234,567")
    card.set_presentation(True)
    # before the fix the 30-px value alone asked for ~700 px, so four cards needed more than a 1600-px screen
    assert card.minimumSizeHint().width() <= 1600 / 4 - 20
