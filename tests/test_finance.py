"""NPV, IRR, payback and tax against hand calculations."""

import numpy as np
import pytest

from minerplan.engine.finance import irr_annual, monthly_rate, npv, payback_months, tax_with_carryforward


def test_monthly_rate():
    # (1.12)^(1/12) - 1 = 0.00948879
    assert monthly_rate(0.12) == pytest.approx(0.00948879, abs=1e-8)


def test_npv_hand_calculation():
    # -100 at the end of month 1, +110 at the end of month 2, 12%/yr:
    # -100/1.00948879 + 110/1.01906762 = -99.06004 + 107.94177 = 8.88173
    assert float(npv(np.array([-100.0, 110.0]), 0.12)) == pytest.approx(8.88173, abs=1e-4)


def test_irr_two_flows():
    # -100 then +110 a month later: 10% a month, (1.1)^12 - 1 = 2.138428 a year
    assert irr_annual(np.array([[-100.0, 110.0]]))[0] == pytest.approx(2.138428, rel=1e-6)


def test_irr_three_flows():
    # -100, 0, +121: (1+x)^2 = 1.21, x = 10% a month
    assert irr_annual(np.array([[-100.0, 0.0, 121.0]]))[0] == pytest.approx(1.1**12 - 1, rel=1e-6)


def test_irr_undefined_without_sign_change():
    assert np.isnan(irr_annual(np.array([[10.0, 20.0]]))[0])


def test_irr_vectorized_over_paths():
    out = irr_annual(np.array([[-100.0, 110.0], [-100.0, 121.0 / 1.1], [5.0, 5.0]]))
    assert out[0] == pytest.approx(1.1**12 - 1, rel=1e-6)
    assert out[1] == pytest.approx(1.1**12 - 1, rel=1e-6)
    assert np.isnan(out[2])


def test_payback():
    # cumulative -100, -50, -10, +10, +5: negative through month 3, paid back by the end of month 4
    assert payback_months(np.array([[-100.0, 50, 40, 20, -5]]))[0] == 4
    assert payback_months(np.array([[-100.0, 200.0]]))[0] == 2
    assert payback_months(np.array([[5.0, 5.0]]))[0] == 0
    assert np.isnan(payback_months(np.array([[-5.0, 1.0]]))[0])


def test_tax_with_loss_carryforward():
    # income -10, +15, -5, +10 at 20%: NOL 10 -> tax on 5 -> NOL 5 -> tax on 5
    tax = tax_with_carryforward(np.array([[-10.0, 15.0, -5.0, 10.0]]), 0.2)
    assert tax[0] == pytest.approx([0.0, 1.0, 0.0, 1.0])


def test_irr_with_several_sign_changes_takes_the_root_nearest_zero():
    # -100, +230, -132 has IRRs of exactly 10% and 20% per month: (1+r)^2*(-100) + 230(1+r) - 132 = 0
    # roots 1+r = 1.1 and 1.2. The one nearest 0 %/month is 10 %/month.
    out = irr_annual(np.array([[-100.0, 230.0, -132.0]]))
    assert out[0] == pytest.approx(1.1**12 - 1, rel=1e-9)
