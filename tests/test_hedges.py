"""Hedges (minerplan.analysis.hedges) against hand calculations.

Reference market (tests/builders.py): 144 blocks a day of 3.145 BTC on 1,088,058.38 PH/s,
so one PH/s earns 4.162277e-4 BTC a day, i.e. $37.46 at $90,000, whatever the month
(no hashrate growth, no halving in the first months). 2026-01..03 have 31, 28, 31 days.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minerplan.engine.evaluate import run_engine
from minerplan.scenario.errors import ScenarioError, ScenarioFileError
from minerplan.analysis.hedges import (black_scholes, collar_payoff, compare, hedge_cash_flows, hedged_npv, norm_cdf,
                                       option_premium_usd, risk_summary, tail_mean)
from minerplan.scenario.hedges import (BtcCollar, BtcPut, HashpriceForward, HedgeError, hedges_from_dict,
                                       hedges_from_json, load_hedges)
from minerplan.scenario.files import scenario_from_dict
from tests.builders import HP_BTC_PER_TH_DAY, base_dict

BTC_PER_PH_DAY = 144 * 3.145 / 1_088_058.3816533          # hand: 4.162277e-4
DAYS = [31, 28, 31]

EXAMPLE = {"schema_version": 1, "hedges": [
    {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 5000, "start_month": "2026-01",
     "tenor_months": 12},
    {"kind": "btc_put", "strike_usd": 80000, "btc_amount": 100, "expiry_month": "2026-06",
     "implied_vol_pct": 55, "risk_free_pct": 4.0},
    {"kind": "btc_collar", "put_strike_usd": 80000, "call_strike_usd": 110000, "btc_amount": 100,
     "expiry_month": "2026-06", "implied_vol_pct": 55, "risk_free_pct": 4.0}]}


def sc_months(n: int, **finance):
    d = base_dict(horizon_months=n)
    d["finance"].update(finance)
    return scenario_from_dict(d)


def fwd(**kw):
    h = {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45.0, "notional_ph": 1000.0,
         "start_month": "2026-02", "tenor_months": 2}
    h.update(kw)
    return HashpriceForward(**h)


def put(**kw):
    h = {"kind": "btc_put", "strike_usd": 80_000.0, "btc_amount": 10.0, "expiry_month": "2026-03",
         "implied_vol_pct": 50.0, "risk_free_pct": 4.0}
    h.update(kw)
    return BtcPut(**h)


# --------------------------------------------------------------------------- Black-Scholes

def test_constants_by_hand():
    assert BTC_PER_PH_DAY == pytest.approx(HP_BTC_PER_TH_DAY * 1000, rel=1e-12)
    assert BTC_PER_PH_DAY * 90_000 == pytest.approx(37.4605, rel=1e-5)


def test_norm_cdf_textbook_values():
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(1.96) == pytest.approx(0.9750021, abs=1e-7)
    assert norm_cdf(-1.0) == pytest.approx(0.1586553, abs=1e-7)


def test_black_scholes_textbook_values():
    # S=100, K=100, T=1, r=5%, sigma=20%: call 10.4506, put 5.5735 (Hull; every BS table)
    assert black_scholes(100, 100, 1.0, 0.05, 0.20, "call") == pytest.approx(10.4506, abs=5e-5)
    assert black_scholes(100, 100, 1.0, 0.05, 0.20, "put") == pytest.approx(5.5735, abs=5e-5)
    # Hull, Example 15.6: S=42, K=40, T=0.5, r=10%, sigma=20%: call 4.76, put 0.81
    assert black_scholes(42, 40, 0.5, 0.10, 0.20, "call") == pytest.approx(4.7594, abs=5e-4)
    assert black_scholes(42, 40, 0.5, 0.10, 0.20, "put") == pytest.approx(0.8086, abs=5e-4)


def test_black_scholes_at_expiry_or_zero_vol_is_discounted_intrinsic():
    assert black_scholes(90, 100, 0.0, 0.05, 0.3, "put") == 10.0
    assert black_scholes(110, 100, 0.0, 0.05, 0.3, "put") == 0.0
    assert black_scholes(110, 100, 1.0, 0.05, 0.0, "call") == pytest.approx(110 - 100 * math.exp(-0.05))


@settings(max_examples=60, deadline=None)
@given(s=st.floats(1e3, 2e5), k=st.floats(1e3, 2e5), t=st.floats(0.01, 3), r=st.floats(-0.02, 0.1),
       v=st.floats(0.05, 2.0))
def test_put_call_parity(s, k, t, r, v):
    c = black_scholes(s, k, t, r, v, "call")
    p = black_scholes(s, k, t, r, v, "put")
    assert c - p == pytest.approx(s - k * math.exp(-r * t), abs=1e-9 * max(s, k))


# --------------------------------------------------------------------------- cash flows by hand

def test_forward_pays_fixed_minus_path_hashprice_by_hand():
    sc = sc_months(3, pool_fee_pct=2.0)          # the forward settles on hashprice before the pool fee
    prices = np.array([[90_000.0, 80_000.0, 70_000.0], [90_000.0, 110_000.0, 120_000.0]])
    res = run_engine(sc, prices=prices)
    flows = hedge_cash_flows([fwd()], res)
    assert flows.shape == (2, 3)
    for p in range(2):
        assert flows[p, 0] == 0.0                # the tenor starts in 2026-02
        for m in (1, 2):
            hp = BTC_PER_PH_DAY * prices[p, m]   # USD per PH/s per day
            assert flows[p, m] == pytest.approx((45.0 - hp) * 1000 * DAYS[m], rel=1e-9)
    # path 0, Feb: hashprice 4.162277e-4 x 80,000 = $33.298; (45 - 33.298) x 1000 x 28 = $327,650
    assert flows[0, 1] == pytest.approx(327_650, rel=1e-4)
    assert flows[1, 2] < 0                       # hashprice above the fixed price: the miner pays


def test_put_premium_in_month_zero_and_payoff_at_expiry():
    # a textbook put: spot $100 (the scenario's first-month price), K=100, 12 months, r=5%, vol 20%
    d = base_dict(horizon_months=13)
    d["market"]["btc_price_usd"] = 100.0
    sc = scenario_from_dict(d)
    prices = np.full((3, 13), 100.0)
    prices[:, 12] = [80.0, 100.0, 130.0]
    res = run_engine(sc, prices=prices)
    h = put(strike_usd=100.0, btc_amount=2.0, expiry_month="2027-01", implied_vol_pct=20.0, risk_free_pct=5.0)
    assert option_premium_usd(res, h) == pytest.approx(2 * 5.5735, abs=1e-4)
    flows = hedge_cash_flows([h], res)
    np.testing.assert_allclose(flows[:, 0], -2 * 5.5735, atol=1e-4)
    np.testing.assert_allclose(flows[:, 12], [2 * 20.0, 0.0, 0.0])
    assert np.all(flows[:, 1:12] == 0)


@pytest.mark.parametrize("s_t, per_btc", [(70_000, 10_000), (80_000, 0), (95_000, 0), (110_000, 0),
                                          (120_000, -10_000)])
def test_collar_payoff_below_inside_above(s_t, per_btc):
    assert collar_payoff(np.array([s_t]), 80_000, 110_000)[0] == per_btc


def test_collar_flows_and_premium_is_put_minus_call():
    sc = sc_months(3)
    prices = np.array([[90_000.0, 90_000, 70_000], [90_000.0, 90_000, 95_000], [90_000.0, 90_000, 125_000]])
    res = run_engine(sc, prices=prices)
    h = BtcCollar(kind="btc_collar", put_strike_usd=80_000, call_strike_usd=110_000, btc_amount=3,
                  expiry_month="2026-03", implied_vol_pct=55, risk_free_pct=4)
    t = 2 / 12
    prem = 3 * (black_scholes(90_000, 80_000, t, 0.04, 0.55, "put")
                - black_scholes(90_000, 110_000, t, 0.04, 0.55, "call"))
    flows = hedge_cash_flows([h], res)
    np.testing.assert_allclose(flows[:, 0], -prem)
    np.testing.assert_allclose(flows[:, 2], [3 * 10_000, 0, -3 * 15_000])
    # a collar whose call is nearer the money than its put is a net credit (negative premium)
    credit = BtcCollar(kind="btc_collar", put_strike_usd=60_000, call_strike_usd=95_000, btc_amount=1,
                       expiry_month="2026-03", implied_vol_pct=55, risk_free_pct=4)
    assert option_premium_usd(res, credit) < 0
    assert hedge_cash_flows([credit], res)[0, 0] > 0


def test_hedged_npv_adds_after_tax_flows_discounted_by_hand():
    sc = sc_months(3, discount_rate_pct=12.0, tax_rate_pct=21.0, tax_mode="linear")
    prices = np.array([[90_000.0, 80_000.0, 70_000.0], [90_000.0, 110_000.0, 120_000.0]])
    res = run_engine(sc, prices=prices)
    flows = hedge_cash_flows([fwd()], res)
    df = [1.12 ** (-(m + 1) / 12) for m in range(3)]    # end-of-month factors at 12%/yr
    want = res.npv_usd + 0.79 * sum(flows[:, m] * df[m] for m in range(3))
    np.testing.assert_allclose(hedged_npv(res, [fwd()]), want, rtol=1e-12)
    # the tax rule: the same hedge adds exactly (1 - 21%) of its pre-tax PV in carry-forward mode too
    res_cf = run_engine(sc_months(3, discount_rate_pct=12.0, tax_rate_pct=21.0), prices=prices)
    np.testing.assert_allclose(hedged_npv(res_cf, [fwd()]) - res_cf.npv_usd, want - res.npv_usd, rtol=1e-12)


def test_hedges_outside_the_horizon_are_errors_naming_the_field():
    res = run_engine(sc_months(3))
    with pytest.raises(HedgeError) as e:
        hedge_cash_flows([fwd(tenor_months=3), put(expiry_month="2026-04"), fwd(start_month="2025-12")], res)
    paths = [p.path for p in e.value.problems]
    assert paths == ["hedges[0].tenor_months", "hedges[1].expiry_month", "hedges[2].start_month"]
    assert "past the scenario's last month 2026-03" in str(e.value)


# --------------------------------------------------------------------------- risk

def test_cvar_is_the_mean_of_the_worst_five_percent():
    x = np.arange(1.0, 101.0)[::-1]                     # 100 paths: the worst 5 are 1..5
    assert tail_mean(x) == 3.0
    y = np.concatenate([[-10.0, -4.0], np.linspace(0, 100, 28)])   # 30 paths: 1.5 paths in the tail
    assert tail_mean(y) == pytest.approx((-10 + 0.5 * -4) / 1.5)
    assert tail_mean(np.array([5.0, -7.0, 3.0])) == -7.0            # fewer than 20 paths: the worst one
    s = risk_summary(np.arange(1.0, 102.0) - 51.0)                   # -50..50
    assert (s["p5_usd"], s["p50_usd"], s["p95_usd"]) == (-45.0, 0.0, 45.0)
    assert s["mean_usd"] == 0.0 and s["n_paths"] == 101
    assert s["cvar95_usd"] == pytest.approx(np.mean(np.arange(-50.0, -45.0)) * 5 / 5.05 + -45.0 * 0.05 / 5.05)
    assert s["prob_npv_negative"] == pytest.approx(50 / 101)        # 0 is not a loss


def test_a_put_lowers_the_tail_loss_of_a_downside_heavy_distribution():
    d = base_dict(horizon_months=12)
    d["finance"].update(g_and_a_usd_per_month=10_000, discount_rate_pct=10)
    sc = scenario_from_dict(d)
    rng = np.random.default_rng(1)
    n = 400
    level = np.where(rng.random(n) < 0.15, rng.uniform(30_000, 60_000, n), rng.uniform(95_000, 130_000, n))
    prices = np.repeat(level[:, None], 12, axis=1)
    prices[:, 0] = 91_500.0
    res = run_engine(sc, prices=prices)
    h = put(strike_usd=80_000, btc_amount=10, expiry_month="2026-12", implied_vol_pct=60)
    out = compare(res, [h])
    assert out["unhedged"] == risk_summary(res.npv_usd)
    assert out["hedged"] == risk_summary(hedged_npv(res, [h]))
    assert out["unhedged"]["cvar95_usd"] < 0                          # a loss in the tail
    assert out["hedged"]["cvar95_usd"] > out["unhedged"]["cvar95_usd"]   # smaller tail loss with the put
    assert out["hedged"]["p5_usd"] > out["unhedged"]["p5_usd"]
    assert out["hedged"]["prob_npv_negative"] < out["unhedged"]["prob_npv_negative"]
    assert out["hedges"][0]["premium_usd"] == pytest.approx(option_premium_usd(res, h))


# --------------------------------------------------------------------------- the file

def problems_of(doc) -> list[str]:
    with pytest.raises(HedgeError) as e:
        hedges_from_dict(doc)
    return [str(p) for p in e.value.problems]


def test_example_file_loads(tmp_path):
    p = tmp_path / "hedges.json"
    p.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    book = load_hedges(p)
    assert [type(h) for h in book.hedges] == [HashpriceForward, BtcPut, BtcCollar]
    assert book.hedges[1].strike_usd == 80_000 and book.hedges[2].call_strike_usd == 110_000


@pytest.mark.parametrize("index, field, value, path, words", [
    (1, "strike_usd", -5, "hedges[1].strike_usd", "must be more than 0"),
    (1, "strike_usd", "80000", "hedges[1].strike_usd", "got '80000'"),
    (0, "notional_ph", True, "hedges[0].notional_ph", "got true"),
    (0, "tenor_months", 1.5, "hedges[0].tenor_months", ""),
    (0, "start_month", "2026-13", "hedges[0].start_month", "YYYY-MM"),
    (2, "implied_vol_pct", 0, "hedges[2].implied_vol_pct", "must be more than 0"),
    (2, "call_strike_usd", 70_000, "hedges[2].call_strike_usd", "above put_strike_usd"),
    (1, "strike", 1, "hedges[1].strike", "unknown field"),
    (1, "kind", "btc_call", "hedges[1].kind", "unknown kind 'btc_call'"),
])
def test_file_errors_name_the_field_path(index, field, value, path, words):
    doc = json.loads(json.dumps(EXAMPLE))
    doc["hedges"][index][field] = value
    probs = problems_of(doc)
    assert len(probs) == 1 and probs[0].startswith(path + ":") and words in probs[0]


def test_file_errors_missing_fields_and_top_level():
    doc = json.loads(json.dumps(EXAMPLE))
    del doc["hedges"][0]["kind"]
    del doc["hedges"][1]["expiry_month"]
    probs = problems_of(doc)
    assert probs[0].startswith("hedges[0].kind: required field is missing")
    assert probs[1] == "hedges[1].expiry_month: required field is missing"
    assert problems_of([1, 2])[0].startswith("a hedge file is a JSON object")
    assert problems_of({"hedges": []})[0].startswith("schema_version: required")
    assert "unsupported schema_version 2" in problems_of({"schema_version": 2, "hedges": []})[0]
    assert problems_of({"schema_version": 1, "hedges": [7]})[0].startswith("hedges[0]: ")
    assert problems_of({"schema_version": 1})[0] == "hedges: required field is missing"


def test_json_text_errors(tmp_path):
    for text, words in [('{"schema_version": 1, "schema_version": 1, "hedges": []}', "duplicate key"),
                        ('{"schema_version": 1, "hedges": [{"kind": "btc_put", "strike_usd": NaN}]}', "NaN"),
                        ('{"schema_version": 1, "hedges": [', "not valid JSON"), ("", "empty")]:
        with pytest.raises(HedgeError, match=words):
            hedges_from_json(text)
    with pytest.raises(ScenarioFileError, match="file not found"):
        load_hedges(tmp_path / "missing.json")
    with pytest.raises(ScenarioFileError, match="not a hedge file"):
        load_hedges(tmp_path)
    assert issubclass(HedgeError, ScenarioError)


# --------------------------------------------------------------------------- the book saved with the scenario

def test_scenario_book_round_trips_through_its_file(tmp_path):
    from minerplan.scenario.files import load_scenario, save_scenario, scenario_to_dict

    d = base_dict(horizon_months=12)
    d["hedges"] = json.loads(json.dumps(EXAMPLE["hedges"]))
    sc = scenario_from_dict(d)
    assert [type(h) for h in sc.hedges] == [HashpriceForward, BtcPut, BtcCollar]
    save_scenario(sc, tmp_path / "s.json")
    back = load_scenario(tmp_path / "s.json")
    assert back == sc and back.hedges == hedges_from_dict(EXAMPLE).hedges
    assert scenario_to_dict(back)["hedges"] == EXAMPLE["hedges"]
    # the book in the scenario evaluates like the same book read from a hedge file
    res = run_engine(back)
    assert np.array_equal(hedge_cash_flows(back.hedges, res), hedge_cash_flows(hedges_from_dict(EXAMPLE), res))


def test_scenario_without_a_book_loads_and_saves_unchanged():
    from minerplan.scenario.files import scenario_to_dict

    d = base_dict(horizon_months=3)
    assert "hedges" not in d
    sc = scenario_from_dict(d)
    assert sc.hedges is None
    assert "hedges" not in scenario_to_dict(sc)
    assert hedge_cash_flows(sc.hedges, run_engine(sc)).sum() == 0.0
    empty = scenario_from_dict({**d, "hedges": []})
    assert empty.hedges == [] and scenario_to_dict(empty)["hedges"] == []


@pytest.mark.parametrize("index, field, value, path, words", [
    (1, "strike_usd", -5, "hedges[1].strike_usd", "must be more than 0"),
    (0, "start_month", "2026-13", "hedges[0].start_month", "YYYY-MM"),
    (2, "call_strike_usd", 70_000, "hedges[2].call_strike_usd", "above put_strike_usd"),
    (1, "strike", 1, "hedges[1].strike", "unknown field"),
    (1, "kind", "btc_call", "hedges[1].kind", "unknown kind 'btc_call'"),
])
def test_a_malformed_entry_in_the_scenario_names_its_field(index, field, value, path, words):
    d = base_dict(horizon_months=12)
    d["hedges"] = json.loads(json.dumps(EXAMPLE["hedges"]))
    d["hedges"][index][field] = value
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d)
    probs = [str(p) for p in e.value.problems]
    assert len(probs) == 1 and probs[0].startswith(path + ":") and words in probs[0], probs
    assert not isinstance(e.value, HedgeError)     # a scenario file's problem, named as one


def test_a_scenario_book_that_is_not_a_list_or_holds_no_objects():
    d = base_dict(horizon_months=3)
    for value, start in [({"kind": "btc_put"}, "hedges: must be an array"),
                         ([7], "hedges[0]: "), ([{}], "hedges[0].kind: required field is missing")]:
        with pytest.raises(ScenarioError) as e:
            scenario_from_dict({**d, "hedges": value})
        assert str(e.value.problems[0]).startswith(start), e.value.problems
