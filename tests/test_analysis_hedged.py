"""minerplan.analysis.hedged without Qt: hedged vs unhedged NPVs, worked by hand on the scenario's price path.

One path (``paths=1``) is the scenario's own price path, so a hashprice forward over the first month
pays a known amount: (fixed - hashprice) x notional x days, taxed at the scenario's 21% and discounted
one month at 12% a year.
"""

import numpy as np
import pytest

from minerplan.analysis.hedged import check_fits_scenario, evaluate_hedges
from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.scenario.files import load_scenario
from minerplan.scenario.hedges import HedgeError, hedges_from_dict


@pytest.fixture(scope="module")
def sc():
    s = load_scenario("default")
    assert (s.start_month, s.horizon_months, s.finance.tax_rate_pct) == ("2025-12", 60, 21.0)
    return s


def forward(fixed, notional=1000.0, start="2025-12", tenor=1):
    return {"kind": "hashprice_forward", "fixed_usd_per_ph_day": fixed, "notional_ph": notional,
            "start_month": start, "tenor_months": tenor}


def book(*hedges):
    return hedges_from_dict({"schema_version": 1, "hedges": list(hedges)})


def test_a_one_month_forward_adds_its_after_tax_discounted_payment(sc):
    hp0 = float(run_engine(sc, n_paths=1).hashprice_usd_per_th_day[0, 0]) * 1000.0    # USD per PH/s per day
    res = evaluate_hedges(sc, book(forward(hp0 + 10.0)), paths=1, seed=None, preset=None)
    # $10 per PH/s per day above the path, on 1,000 PH/s, for December's 31 days: $310,000 before tax,
    # $244,900 after 21% tax, paid at the month's end: one month at 12% a year.
    assert res.hedged_npv[0] - res.unhedged_npv[0] == pytest.approx(244_900 * 1.12 ** (-1 / 12), rel=1e-9)
    assert res.paths == 1 and res.unhedged_npv.shape == res.hedged_npv.shape == (1,)
    assert res.comparison["tax_rate"] == pytest.approx(0.21)


def test_no_hedges_change_nothing_and_the_paths_are_the_engines(sc):
    res = evaluate_hedges(sc, book(), paths=20, seed=3, preset=None)
    assert np.array_equal(res.hedged_npv, res.unhedged_npv)
    assert np.array_equal(res.unhedged_npv, run_engine(sc, n_paths=20, seed=3).npv_usd)
    assert (res.paths, res.seed, res.scenario) == (20, 3, sc)


def test_progress_gives_the_engine_nine_tenths_and_cancel_raises(sc):
    seen = []
    evaluate_hedges(sc, book(), paths=5, seed=0, preset=None, progress=lambda f, t: seen.append((f, t)))
    assert all(f <= 0.9 for f, t in seen if t.startswith("engine: "))
    assert seen[-2:] == [(0.9, "hedges"), (1.0, "done")]
    with pytest.raises(Cancelled):
        evaluate_hedges(sc, book(), paths=5, seed=0, preset=None, cancel=lambda: True)


def test_a_hedge_must_fit_the_scenarios_months(sc):
    check_fits_scenario(book(forward(50.0, start="2025-12", tenor=60)), sc)      # the whole horizon: fine
    with pytest.raises(HedgeError) as e:
        check_fits_scenario(book(forward(50.0), forward(50.0, start="2026-01", tenor=60)), sc)   # one month past
    assert [p.path.startswith("hedges[1]") for p in e.value.problems] == [True]
