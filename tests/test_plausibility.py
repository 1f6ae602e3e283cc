"""Plausibility ranges, names and terminal safety (issue 11), each test built from a reproduction.

Hard bounds refuse a scenario (exit 2, the field named); soft ranges load it with a warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest

from builders import base_dict
from minerplan.cli.main import main
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.hedges import hedges_from_dict
from minerplan.scenario.plausibility import hedge_warnings, scenario_warnings
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, scenario_from_dict
from minerplan.scenario.json_text import parse_json_document
from minerplan.scenario.validation_messages import short_value as _short


def _write(tmp_path, d, name="s.json"):
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return str(p)


def _problem_paths(d) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d, "t")
    return [p.path for p in e.value.problems]


# --------------------------------------------------------------------------- hard bounds

def test_difficulty_of_one_is_refused_naming_the_field(tmp_path, capsys):
    # Reproduction: "difficulty": 1 evaluated to 8.9e17 BTC mined and an NPV of $5e22, exit 0.
    d = base_dict()
    d["market"]["difficulty"] = 1
    assert main(["evaluate", _write(tmp_path, d), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "market.difficulty" in err and "must be at least 1,000,000,000" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", [1e300, 1e-300])
def test_extreme_difficulty_is_bad_input_not_a_type_error(tmp_path, capsys, value):
    # Reproduction: difficulty 1e300 or 1e-300 raised TypeError while formatting (exit 1).
    d = base_dict()
    d["market"]["difficulty"] = value
    assert main(["evaluate", _write(tmp_path, d)]) == 2
    err = capsys.readouterr().err
    assert "market.difficulty" in err and "internal error" not in err


@pytest.mark.parametrize("where,value", [
    (("market", "btc_price_usd"), 1e300),
    (("market", "btc_price_usd"), 0.5),
    (("market", "network_hashrate_ehs"), 1e300),
    (("sites", 0, "power_price_usd_per_mwh"), 1e300),
    (("sites", 0, "capacity_mw"), 1e300),
    (("sites", 0, "take_or_pay_mwh_per_month"), 1e300),
    (("sites", 0, "curtailment_credit_usd_per_mwh"), 1e300),
    (("sites", 0, "mining_opex_usd_per_mw_month"), 1e300),
    (("fleet", 0, "hashrate_ths"), 1e300),
    (("fleet", 0, "power_w"), 1e300),
    (("fleet", 0, "purchase_price_usd"), 1e300),
    (("fleet", 0, "salvage_usd"), 1e300),
    (("finance", "g_and_a_usd_per_month"), 1e300),
])
def test_absurd_magnitudes_are_refused(where, value):
    # Reproduction: "any value up to 1e300 is accepted for prices, capex, hashrate".
    d = base_dict()
    if where[1] == "network_hashrate_ehs":
        d["market"].pop("difficulty")
    node = d
    for k in where[:-1]:
        node = node[k]
    node[where[-1]] = value
    path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in where).lstrip(".")
    assert path in _problem_paths(d)


def test_conversion_capex_and_ai_prices_are_bounded():
    d = base_dict()
    d["sites"][0]["ai"] = {"convertible_gross_mw": 5, "conversion_capex_usd_per_critical_mw": 1e300,
                           "colocation": {"rate_usd_per_kw_month": 1e300},
                           "gpu_cloud": {"usd_per_gpu_hour": 1e300, "gpu_capex_usd": 1e300}}
    paths = _problem_paths(d)
    for p in ("sites[0].ai.conversion_capex_usd_per_critical_mw", "sites[0].ai.colocation.rate_usd_per_kw_month",
              "sites[0].ai.gpu_cloud.usd_per_gpu_hour", "sites[0].ai.gpu_cloud.gpu_capex_usd"):
        assert p in paths


def test_price_point_is_bounded_like_the_spot_price():
    d = base_dict(price_path={"kind": "points", "points": [{"month": "2026-01", "btc_price_usd": 1e300}]})
    assert "price_path.points[0].btc_price_usd" in _problem_paths(d)


def test_a_fleet_larger_than_the_network_is_refused():
    # 1,000 units x 100 TH/s = 0.1 EH/s; a network of 0.05 EH/s cannot hold it.
    d = base_dict()
    d["market"].pop("difficulty")
    d["market"]["network_hashrate_ehs"] = 0.05
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d, "t")
    assert any(p.path == "market.network_hashrate_ehs" and "less than the fleet" in p.message
               for p in e.value.problems)


@pytest.mark.parametrize("field,value", [("notional_ph", 1e300), ("fixed_usd_per_ph_day", 1e300)])
def test_hedge_notionals_are_bounded(field, value):
    h = {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 100, "start_month": "2026-01",
         "tenor_months": 12, field: value}
    with pytest.raises(ScenarioError) as e:
        hedges_from_dict({"schema_version": 1, "hedges": [h]}, "h")
    assert any(p.path == f"hedges[0].{field}" for p in e.value.problems)


def test_hedging_more_btc_than_exists_is_refused():
    h = {"kind": "btc_put", "strike_usd": 80_000, "btc_amount": 22_000_000, "expiry_month": "2026-06",
         "implied_vol_pct": 50}
    with pytest.raises(ScenarioError) as e:
        hedges_from_dict({"schema_version": 1, "hedges": [h]}, "h")
    assert [p.path for p in e.value.problems] == ["hedges[0].btc_amount"]


# --------------------------------------------------------------------------- soft ranges

def test_the_shipped_scenario_raises_no_warning():
    assert scenario_warnings(load_scenario(DEFAULT_SCENARIO_PATH)) == []


def test_soft_range_loads_with_a_warning_naming_field_value_and_range(tmp_path, capsys):
    d = base_dict()
    d["market"]["difficulty"] = 2e16      # 130x the Nov 2025 difficulty: possible, not plausible today
    d["market"]["btc_price_usd"] = 3_000_000
    assert main(["evaluate", _write(tmp_path, d), "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)                       # stdout stays one clean JSON document
    lines = [line for line in err.splitlines() if "warning" in line]
    assert any("market.difficulty" in line and "2e+16 is above the plausible range (1.5e+13 to 1.5e+15" in line
               for line in lines), lines
    assert any("market.btc_price_usd" in line and "3,000,000 USD is above" in line for line in lines), lines


def test_cross_field_warnings():
    d = base_dict()
    d["fleet"][0].update(power_w=30_000, hashrate_ths=100, purchase_price_usd=1000, salvage_usd=2000, count=10)
    d["sites"][0]["take_or_pay_mwh_per_month"] = 10 * 744 + 1
    msgs = {p.path: p.message for p in scenario_warnings(scenario_from_dict(d, "t"))}
    assert "300 J/TH is above the plausible range" in msgs["fleet[0].power_w"]
    assert "above the purchase price" in msgs["fleet[0].salvage_usd"]
    assert "more than the site can draw" in msgs["sites[0].take_or_pay_mwh_per_month"]


def test_a_fleet_of_a_fifth_of_the_network_is_warned():
    # 1,088 EH/s network (D_REF); the fleet is 2.5M x 100 TH/s = 250 EH/s = 23% (7,500 MW).
    d = base_dict()
    d["sites"][0]["capacity_mw"] = 8000
    d["fleet"][0]["count"] = 2_500_000
    msgs = {p.path: p.message for p in scenario_warnings(scenario_from_dict(d, "t"))}
    assert "23% of the network" in msgs["fleet"]


def test_hedge_soft_range():
    h = {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 900, "notional_ph": 100, "start_month": "2026-01",
         "tenor_months": 12}
    book = hedges_from_dict({"schema_version": 1, "hedges": [h]}, "h")
    assert [p.path for p in hedge_warnings(book)] == ["hedges[0].fixed_usd_per_ph_day"]


# --------------------------------------------------------------------------- names and terminals

@pytest.mark.parametrize("bad", ["S21\x0bXP", "S21\x00", "\x1b[2J\x1b]0;pwned\x07S21", "S21\u202eXP", " S21"])
def test_control_characters_in_names_are_refused(bad):
    d = base_dict()
    d["fleet"][0]["model"] = bad
    assert "fleet[0].model" in _problem_paths(d)
    d = base_dict()
    d["sites"][0]["name"] = bad
    d["fleet"][0]["site"] = bad
    assert "sites[0].name" in _problem_paths(d)


def test_export_of_a_name_with_a_control_character_is_bad_input(tmp_path, capsys):
    # Reproduction: "internal error: IllegalCharacterError" (exit 1) for a vertical tab in a model name.
    d = base_dict()
    d["fleet"][0]["model"] = "S21\x0bXP"
    out = tmp_path / "x.xlsx"
    assert main(["export", _write(tmp_path, d), "--xlsx", str(out)]) == 2
    err = capsys.readouterr().err
    assert "fleet[0].model" in err and "internal error" not in err
    assert not out.exists()


def test_text_output_never_carries_a_terminal_escape(tmp_path):
    # Reproduction: an OSC escape in the scenario name set the terminal title through `evaluate`.
    d = base_dict(name="Plan\x1b]0;owned\x07\x1b[2J")
    path = _write(tmp_path, d)
    for cmd in (["evaluate", path], ["optimize", path, "--paths", "5"]):
        r = subprocess.run([sys.executable, "-m", "minerplan.cli.main", *cmd], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 2
        assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr
        assert "\\x1b" in r.stderr       # shown escaped, so the user sees what is in the file


def test_report_text_is_escaped_line_by_line(capsys):
    from minerplan.cli.console import print_text

    print_text("a\x1b[2Jb\nc\x07")
    assert capsys.readouterr().out == "a\\x1b[2Jb\nc\\x07\n"


def test_write_model_into_a_missing_folder_is_bad_input(tmp_path, capsys):
    # Reproduction: `optimize --write-model /nonexistent/m.lp` ended in OSError (exit 1).
    target = tmp_path / "missing" / "m.lp"
    assert main(["optimize", "default", "--paths", "3", "--write-model", str(target)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "internal error" not in err


# --------------------------------------------------------------------------- encodings and numpy values

@pytest.mark.parametrize("encoding,name", [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
                                           ("utf-16", "UTF-16"), ("utf-32-le", "UTF-32")])
def test_wide_encodings_get_a_hint(tmp_path, encoding, name):
    # Reproduction: UTF-16 without a BOM got "not valid JSON ... line 1 column 1" with no encoding hint.
    p = tmp_path / "s.json"
    p.write_bytes(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert f"looks like {name} text; save it as UTF-8" in str(e.value)


def test_ascii_json_is_not_mistaken_for_utf16():
    assert parse_json_document(b'{"a": 1}') == {"a": 1}


def test_numpy_values_are_shown_as_numbers():
    # Reproduction: a schema message showed np.float64(...).
    assert _short(np.float64(-1.5)) == "-1.5" and _short(np.int64(7)) == "7"
    d = base_dict()
    d["fleet"][0]["count"] = np.float64(-3.0)
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d, "t")
    assert "np.float64" not in str(e.value) and "(got -3.0)" in str(e.value)


def test_soft_marker_survives_optional_fields():
    from minerplan.scenario.plausibility import soft_bound
    from minerplan.scenario.market import Market

    assert soft_bound(Market, "difficulty").hi == 1.5e15
    assert soft_bound(Market, "btc_price_usd").lo == 5_000
    assert isinstance(soft_bound(Market, "network_model"), types.NoneType)


# --------------------------------------------------------------------------- totals that cannot happen (review of issue 11)

def _default_dict() -> dict:
    return json.loads(DEFAULT_SCENARIO_PATH.read_text())


def test_a_trend_that_shrinks_the_network_below_the_fleet_is_refused():
    # Reproduction: trend -20%/month mined 213.7 million BTC (more than will ever exist), NPV $13.5T, exit 0.
    d = _default_dict()
    d["market"].update(network_model="trend", hashrate_growth_pct_per_month=-20)
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d, "t")
    [p] = e.value.problems
    assert p.path == "market.hashrate_growth_pct_per_month"
    assert "falls to 0.001992 EH/s by 2030-11, below the fleet's 15.36 EH/s" in p.message


def test_a_price_path_beyond_the_price_bounds_is_refused():
    # Reproduction: 600 months at +50%/month gave an NPV of ~1e100.
    d = _default_dict()
    d.update(horizon_months=600, price_path={"kind": "growth", "growth_pct_per_month": 50})
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(d, "t")
    assert [p.path for p in e.value.problems] == ["price_path.growth_pct_per_month"]
    assert "reaches 2.755e+110 USD by 2075-11" in e.value.problems[0].message


def test_growth_rates_have_soft_ranges():
    d = _default_dict()
    d["market"].update(network_model="trend", hashrate_growth_pct_per_month=-4)
    d["price_path"] = {"kind": "growth", "growth_pct_per_month": 6}
    paths = [p.path for p in scenario_warnings(scenario_from_dict(d, "t"))]
    assert paths == ["market.hashrate_growth_pct_per_month", "price_path.growth_pct_per_month"]


def test_a_start_price_far_below_costs_does_not_invent_an_installed_base():
    # Reproduction: capitulation at $200 read the 1,040 EH/s online as a sliver of a base 100x larger,
    # which then came online: 3,146 EH/s in month 0, 1.4e10 EH/s at $20. At most 4x what is online now.
    from minerplan.engine.evaluate import run_engine
    from minerplan.markets.network_response import MIN_START_ONLINE_SHARE

    d = _default_dict()
    d["market"].update(network_model="capitulation", btc_price_usd=200)
    res = run_engine(scenario_from_dict(d, "t"))
    growth = (1 + d["market"]["hashrate_growth_pct_per_month"] / 100) ** d["horizon_months"]
    assert res.network.network_hashrate_ehs.max() <= d["market"]["network_hashrate_ehs"] / MIN_START_ONLINE_SHARE * growth


def test_a_600_month_irr_raises_no_overflow_warning():
    # Reproduction: a 600-month horizon printed numpy "overflow encountered in matmul" from the IRR scan.
    import warnings

    from minerplan.engine.finance import irr_annual

    cf = np.full((1, 600), 1.0)
    cf[0, 0] = -100.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = irr_annual(cf)
    # hand check, flows at month ends 1..600: -100/(1+m) + sum_{t=2..600} 1/(1+m)^t = 0 at the monthly rate m
    m = (1 + r[0]) ** (1 / 12) - 1
    assert sum((1 + m) ** -t for t in range(2, 601)) == pytest.approx(100 / (1 + m), rel=1e-9)
