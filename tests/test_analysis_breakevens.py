"""minerplan.analysis.breakevens without Qt: the cases asked, how the answers are put together, the texts.

The solvers themselves (minerplan.analysis.sensitivity) are tested elsewhere; here they are
replaced by stand-ins with known answers, so every number below is checked by hand.
"""

import math

import pandas as pd
import pytest

from minerplan.analysis import breakevens as be
from minerplan.analysis.breakevens import (BtcBreakeven, LeaseBreakeven, LeaseCase, compute_breakevens,
                                           format_btc, format_curtailment, format_lease, lease_cases)
from minerplan.analysis.root_finding import NoRootError
from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.files import load_scenario, scenario_from_dict, scenario_to_dict


@pytest.fixture(scope="module")
def sc():
    return load_scenario("default")     # start 2025-12; North Dakota: 100 MW convertible, 40 MW planned


def edited(sc, mutate):
    d = scenario_to_dict(sc)
    mutate(d)
    return scenario_from_dict(d, "test")


# --------------------------------------------------------------------------- the cases asked

def test_lease_case_is_the_convertible_mw_left_from_the_month_after_the_start(sc):
    assert lease_cases(sc) == [LeaseCase("North Dakota", 100.0 - 40.0, "2026-01")]


def test_conversions_at_one_site_add_up_and_a_fully_planned_site_has_no_case(sc):
    def two_more(d):
        first = dict(d["conversion_plan"][0])
        d["conversion_plan"].append({**first, "gross_mw": 25.0})
    assert lease_cases(edited(sc, two_more)) == [LeaseCase("North Dakota", 100.0 - 40.0 - 25.0, "2026-01")]

    def all_of_it(d):
        d["conversion_plan"][0]["gross_mw"] = 100.0
    assert lease_cases(edited(sc, all_of_it)) == []


# --------------------------------------------------------------------------- putting the answers together

def stand_ins(monkeypatch, calls, *, btc=97_365.4, lease=164.37):
    """Solvers with known answers that report progress 0, 0.5 and 1 of their part."""
    def report(progress):
        for f in (0.0, 0.5, 1.0):
            progress(f, "step")

    def btc_price(s, progress=None, cancel=None):
        report(progress)
        if isinstance(btc, Exception):
            raise btc
        return btc

    def curtail(s, site, month):
        calls.append(site)
        return pd.DataFrame([{"cohort": 7, "model": "S21", "efficiency_j_per_th": 17.5,
                              "curtail_above_usd_per_mwh": 105.041, "note": ""}])

    def lease_rate(s, site, mw, start, progress=None, cancel=None):
        report(progress)
        if isinstance(lease, Exception):
            raise lease
        return lease

    monkeypatch.setattr(be, "breakeven_btc_price", btc_price)
    monkeypatch.setattr(be, "curtailment_power_price", curtail)
    monkeypatch.setattr(be, "conversion_breakeven_lease_rate", lease_rate)


def test_every_site_and_case_is_asked_once_and_the_answers_kept(sc, monkeypatch):
    calls = []
    stand_ins(monkeypatch, calls)
    res = compute_breakevens(sc)
    assert calls == ["Texas", "Georgia", "North Dakota"]
    assert res.scenario is sc and res.btc == BtcBreakeven(97_365.4)
    assert [(r.site, r.cohort, r.model, r.curtail_above_usd_per_mwh) for r in res.curtailment] == [
        ("Texas", 7, "S21", 105.041), ("Georgia", 7, "S21", 105.041), ("North Dakota", 7, "S21", 105.041)]
    assert res.lease == (LeaseBreakeven("North Dakota", 60.0, "2026-01", 164.37),)


def test_progress_is_shared_by_expected_engine_runs_and_never_goes_back(sc, monkeypatch):
    # shares: BTC search 15, each of the 3 sites 1, the one lease search 20; 38 in all
    stand_ins(monkeypatch, [])
    seen = []
    compute_breakevens(sc, progress=lambda f, text: seen.append((round(f, 6), text)))
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and seen[-1][1] == "done"
    assert (round(15 / 38, 6), "BTC price for NPV 0: step") in seen                 # the BTC search's end
    assert (round(16 / 38, 6), "curtailment prices at Georgia") in seen              # the second site's start
    assert (round((18 + 10) / 38, 6), "lease breakeven at North Dakota (60 MW): step") in seen   # half the lease


def test_no_breakeven_and_unaskable_cases_carry_their_reason(sc, monkeypatch):
    stand_ins(monkeypatch, [], btc=NoRootError("NPV is positive even at $1"),
              lease=ScenarioError([Problem("sites[2].ai", "no AI section")], "edit"))
    res = compute_breakevens(sc)
    assert res.btc == BtcBreakeven(None, "NPV is positive even at $1")
    [lease] = res.lease
    assert lease.usd_per_kw_month is None and "sites[2].ai" in lease.note and "no AI section" in lease.note
    stand_ins(monkeypatch, [], lease=ValueError("gross_mw must be positive"))
    assert compute_breakevens(sc).lease[0].note == "gross_mw must be positive"


def test_cancel_stops_before_any_engine_run(sc, monkeypatch):
    calls = []
    stand_ins(monkeypatch, calls)
    with pytest.raises(Cancelled):
        compute_breakevens(sc, cancel=lambda: True)
    assert calls == []


# --------------------------------------------------------------------------- texts with units

def test_texts():
    assert format_btc(BtcBreakeven(97_365.4)) == "$97,365 USD/BTC"
    assert format_btc(BtcBreakeven(None, "NPV is positive even at $1")) == "NPV is positive even at $1"
    assert format_btc(BtcBreakeven(None)) == "no breakeven BTC price"
    assert format_curtailment(105.041) == "$105.04 USD/MWh"
    assert format_curtailment(-3.2) == "-$3.20 USD/MWh"
    assert format_curtailment(math.nan) == "not running"
    assert format_curtailment(math.inf) == "never (runs at any price)"
    assert format_curtailment(-math.inf) == "always curtailed"
    assert format_lease(LeaseBreakeven("ND", 60.0, "2026-01", 1_164.371)) == "$1,164.37 USD/kW-month"
    assert format_lease(LeaseBreakeven("ND", 60.0, "2026-01", None)) == "no breakeven lease rate"
