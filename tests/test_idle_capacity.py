"""Idle MW reported with the reason (issue 12, item 3): small hand-made sites where the answer is known."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from minerplan.cli.main import main
from minerplan.scenario.months import add_months
from minerplan.scenario.files import scenario_from_dict
from solvers.decisions.build import build_decision_space
from solvers.idle import IDLE_COLUMNS, merge_idle
from solvers.optimize import optimize
from solvers.report import format_result, idle_capacity, result_to_json
from solvers.settings import OptimizerSettings
from solvers.valuation import plan_npv_by_path, purchase_margins, take_or_pay_dispatch
from tests.builders import base_dict

S21_XP = "Antminer S21 XP"


def spare_site(power_usd_per_mwh: float, horizon_months: int = 12, **finance) -> dict:
    """One 10 MW site with 5.0 MW of S19j Pro (1,630 x 3,068 W at PUE 1.0): 5 MW spare all horizon."""
    site = {"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": power_usd_per_mwh, "pue": 1.0}
    fleet = [{"model": "Antminer S19j Pro", "count": 1630, "hashrate_ths": 104, "power_w": 3068, "site": "A",
              "uptime_pct": 100, "degradation_pct_per_year": 0}]
    d = base_dict(horizon_months=horizon_months, sites=[site], fleet=fleet)
    d["finance"].update(discount_rate_pct=10, tax_rate_pct=0, tax_mode="linear", **finance)
    return d


def settings(**kw) -> OptimizerSettings:
    base = dict(n_paths=20, seed=3, hall_critical_mw=None, allow_retirements=False, time_limit_s=60)
    base.update(kw)
    return OptimizerSettings(**base)


def idle_months(res) -> "object":
    a = res.allocation
    return a[a["idle_mw"] > 0.05]


def test_purchases_disabled_is_the_reason():
    res = optimize(scenario_from_dict(spare_site(40)), settings(allow_purchases=False))
    assert res.ok
    idle = idle_months(res)
    assert len(idle) == 12 and idle["idle_mw"].to_numpy() == pytest.approx(10 - 1630 * 3068 / 1e6)
    assert set(idle["idle_reason"]) == {"purchases disabled (optimizer settings)"}
    # months without idle MW carry no reason
    busy = res.allocation[res.allocation["idle_mw"] <= 0.05]
    assert busy["idle_reason"].isna().all()
    table = idle_capacity(res)
    assert list(table.columns) == IDLE_COLUMNS
    assert len(table) == 1                          # twelve months, one reason, one row
    row = table.iloc[0]
    assert (row.site, row.from_month, row.to_month) == ("A", "2026-01", "2026-12")
    assert row.idle_mw == pytest.approx(4.99916)


def test_a_machine_that_loses_money_is_named_with_its_negative_value():
    """At $90/MWh an S21 XP bought for $6,939 never pays back in 12 months (no residual value)."""
    res = optimize(scenario_from_dict(spare_site(90)),
                   settings(purchase_models=(S21_XP,), purchase_lead_time_months=2, purchase_step_months=1))
    assert res.ok and len(res.purchases) == 0
    table = idle_capacity(res)
    assert len(table) == 2
    first, rest = table.iloc[0], table.iloc[1]
    # before the lead time nothing can arrive; from then on nothing is worth buying
    assert (first.from_month, first.to_month) == ("2026-01", "2026-02")
    assert first.reason == "before the earliest delivery (lead time 2 months: first delivery 2026-03)"
    assert (rest.from_month, rest.to_month) == ("2026-03", "2026-12")
    m = re.fullmatch(r"no purchase pays back: the best candidate \(Antminer S21 XP delivered (\d{4}-\d\d)\) is worth "
                     r"(-)\$([\d.,]+)M per MW \(expected NPV\)", rest.reason)
    assert m, rest.reason
    # the value is the best candidate's expected NPV per MW, from the decision space's coefficients
    space = build_decision_space(scenario_from_dict(spare_site(90)),
                                 settings(purchase_models=(S21_XP,), purchase_lead_time_months=2,
                                          purchase_step_months=1))
    t = space.table
    buy = np.flatnonzero((t["kind"] == "buy").to_numpy())
    per_mw = space.coef_path[:, buy].mean(axis=0) / t["scale_mw"].to_numpy()[buy]
    best = buy[np.argmax(per_mw)]
    assert m.group(1) == t.at[best, "month"]
    assert -float(m.group(3).replace(",", "")) * 1e6 == pytest.approx(per_mw.max(), abs=0.006e6)
    assert per_mw.max() < 0
    # the allocation table carries each month's reason, the same words as the merged table
    by_month = res.allocation.set_index("month")["idle_reason"]
    assert by_month["2026-02"] == first.reason and by_month["2026-07"] == rest.reason


def test_budget_binding_is_named_when_a_machine_would_pay():
    """Cheap power and three years: an S21 XP pays back, but a $1M budget buys only ~144 of them."""
    d = spare_site(20, horizon_months=36)
    d["finance"]["discount_rate_pct"] = 0
    st = settings(purchase_models=(S21_XP,), purchase_lead_time_months=0, purchase_step_months=12,
                  capex_budget_usd_per_year=1e6)
    res = optimize(scenario_from_dict(d), st)
    assert res.ok and res.purchases["capex_usd"].sum() <= 3e6 + 1
    assert len(res.purchases) > 0, "the case needs a purchase that pays, or it tests nothing"
    # the plan's purchases are its new fleet rows, named as the optimizer wrote them
    bought = [res.plan_scenario.fleet[i] for i in res.decisions.purchases]
    assert [(c.model, c.purchase_month, c.count) for c in bought] == \
        list(zip(res.purchases.model, res.purchases.month, res.purchases.units))
    table = idle_capacity(res)
    assert table["reason"].str.startswith("capex budget binding in ").all(), table["reason"].tolist()
    assert table["reason"].str.contains(r"Antminer S21 XP delivered 2026-01 \(worth \+\$", regex=True).all()
    first = table.iloc[0]
    assert (first.from_month, first.to_month) == ("2026-01", "2026-12")
    assert first.reason.startswith("capex budget binding in 2026: ")
    # in 2027 the 2027 budget keeps the 2027 delivery out as well
    assert table.iloc[1].reason.startswith("capex budget binding in 2026 and 2027: ")


AI = {"convertible_gross_mw": 5, "critical_mw_per_gross_mw": 0.7, "conversion_capex_usd_per_critical_mw": 2e6,
      "lead_time_months": 3, "colocation": {"rate_usd_per_kw_month": 300, "escalator_pct_per_year": 0,
                                            "term_months": 12, "opex_usd_per_kw_month": 10}}


def test_no_room_later_keeps_a_paying_machine_out():
    """5 MW spare until a signed conversion takes it in 2026-07 (2 kW left): a machine bought now would not fit then."""
    d = spare_site(20, horizon_months=36)
    d["finance"]["discount_rate_pct"] = 0
    d["sites"][0]["ai"] = AI
    d["conversion_plan"] = [{"site": "A", "gross_mw": 4.997, "start_month": "2026-07", "business_model": "colocation"}]
    res = optimize(scenario_from_dict(d), settings(purchase_models=(S21_XP,), purchase_lead_time_months=0,
                                                   purchase_step_months=12))
    assert res.ok and len(res.purchases) == 0
    table = idle_capacity(res)
    assert len(table) == 1, table
    row = table.iloc[0]
    assert (row.from_month, row.to_month) == ("2026-01", "2026-06")
    assert row.reason.startswith("no room for a new machine's whole life: the site is full in 2026-07, so "
                                 "Antminer S21 XP delivered 2026-01 (worth +$")


def test_mw_freed_ahead_of_a_conversion_are_reserved_for_it():
    """A full 10 MW site converts 5 MW from 2026-02 (fixed by hand); machines leave on the 3-month retirement
    grid, so 5 MW are retired in 2026-01 and wait a month for the conversion."""
    from solvers.settings import FixedDecision
    d = spare_site(40)
    d["fleet"][0]["count"] = 3259                   # 9.998 MW
    d["sites"][0]["ai"] = AI
    fix = (FixedDecision(kind="convert", site="A", month="2026-02", value=5.0, business_model="colocation"),)
    res = optimize(scenario_from_dict(d), settings(allow_retirements=True, allow_purchases=False, fixed=fix))
    assert res.ok and res.retirements["month"].iloc[0] == "2026-01"
    table = idle_capacity(res)
    row = table.iloc[0]
    assert (row.from_month, row.to_month) == ("2026-01", "2026-01")
    assert row.reason == "reserved for the AI/HPC conversion starting 2026-02"
    assert row.idle_mw == pytest.approx(5.0, abs=0.01)


def test_retired_machines_and_the_merge_rules():
    """The S19j Pro are retired in 2026-07 (fixed by hand): from then the whole 10 MW stand idle."""
    from solvers.settings import FixedDecision
    fix = (FixedDecision(kind="retire", cohort=0, month="2026-07", value=1630),)
    res = optimize(scenario_from_dict(spare_site(40)), settings(allow_retirements=True, allow_purchases=False,
                                                                fixed=fix))
    assert res.retirements["month"].tolist() == ["2026-07"]
    table = idle_capacity(res)
    assert table[["from_month", "to_month", "reason"]].values.tolist() == [
        ["2026-01", "2026-06", "purchases disabled (optimizer settings)"],
        ["2026-07", "2026-12", "machines retired (fixed by hand); purchases disabled (optimizer settings)"]]
    assert table["idle_mw"].tolist() == pytest.approx([4.99916, 10.0])
    # the rows cover every idle month exactly once, in order
    months = [add_months(r.from_month, k) for r in table.itertuples()
              for k in range(1 + (int(r.to_month[:4]) - int(r.from_month[:4])) * 12
                             + int(r.to_month[5:]) - int(r.from_month[5:]))]
    assert months == idle_months(res)["month"].tolist()


def test_merge_splits_on_reason_and_on_mw():
    import pandas as pd
    a = pd.DataFrame({"site": ["A"] * 6 + ["B"] * 2,
                      "month": ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-01", "2026-02"],
                      "idle_mw": [5.0, 5.2, 9.0, 9.0, 0.0, 9.0, 1.0, 1.0],
                      "idle_reason": ["x", "x", "x", "y", None, "y", "z", "z"]})
    out = merge_idle(a)
    assert out[["site", "from_month", "to_month", "reason"]].values.tolist() == [
        ["A", "2026-01", "2026-02", "x"], ["A", "2026-03", "2026-03", "x"], ["A", "2026-04", "2026-04", "y"],
        ["A", "2026-06", "2026-06", "y"], ["B", "2026-01", "2026-02", "z"]]
    assert out["idle_mw"].iloc[0] == pytest.approx(5.1)
    assert merge_idle(a.drop(columns="idle_reason")).empty


def test_purchase_margins_are_exact_with_carryforward_tax():
    """One more unit's value (used for the reasons) equals the plan's NPV with that unit minus without."""
    d = spare_site(45, horizon_months=24)
    d["finance"].update(tax_rate_pct=21, tax_mode="carryforward")
    space = build_decision_space(scenario_from_dict(d), settings(purchase_models=(S21_XP,),
                                                                 purchase_lead_time_months=0))
    assert space.carryforward
    t = space.table
    buy = np.flatnonzero((t["kind"] == "buy").to_numpy())
    x = np.zeros(space.n_var)
    x[buy[0]] = 300.0                               # a plan with some machines (and some tax) already
    dispatch = take_or_pay_dispatch(space, x)
    value, tail = purchase_margins(space, x, dispatch, buy)
    base = plan_npv_by_path(space, x, dispatch)
    for j in buy:
        e = np.zeros(space.n_var)
        e[j] = 1.0
        delta = plan_npv_by_path(space, x + e, dispatch) - base
        assert value[j] == pytest.approx(delta.mean(), rel=1e-9, abs=1e-6)
    assert np.isfinite(tail[buy]).all()


def test_cli_json_and_text_report_idle_capacity(tmp_path, capsys):
    path = tmp_path / "spare.json"
    path.write_text(json.dumps(spare_site(40)))
    args = ["optimize", str(path), "--paths", "20", "--hall-mw", "0", "--no-purchases", "--no-retirements",
            "--replications", "0", "--oos-paths", "0"]
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["idle_capacity"]
    assert rows == [{"site": "A", "from_month": "2026-01", "to_month": "2026-12",
                     "idle_mw": pytest.approx(4.99916), "reason": "purchases disabled (optimizer settings)",
                     "duration_months": 12}]
    assert {"idle_mw", "idle_reason"} <= doc["allocation"][0].keys()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Idle capacity" in text
    assert "  A, 2026-01 to 2026-12 (12 months): 5.0 MW - purchases disabled (optimizer settings)" in text
    # and the report functions agree with what the CLI printed
    res = optimize(scenario_from_dict(spare_site(40)), settings(allow_purchases=False))
    assert "A, 2026-01 to 2026-12 (12 months): 5.0 MW" in format_result(result_to_json(res))
