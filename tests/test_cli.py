"""The ``minerplan`` command as an analyst scripts it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from minerplan.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
MONTHLY_KEYS = {"month", "btc_price_usd", "network_hashrate_ehs", "hashprice_usd_per_ph_day", "btc_mined",
                "mining_revenue_usd", "power_cost_usd", "ai_revenue_usd", "capex_usd", "net_cash_flow_usd"}
TOP_KEYS = {"hashprice_usd_per_ph_day", "hashprice_btc_per_ph_day", "network_hashrate_ehs", "block_subsidy_btc",
            "models", "npv_usd", "irr", "payback_months", "cost_per_btc_cash_usd", "cost_per_btc_all_in_usd",
            "monthly"}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "minerplan.cli.main", *args], cwd=ROOT, capture_output=True, text=True)


def test_evaluate_default_json(capsys):
    assert main(["evaluate", "default", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert TOP_KEYS <= doc.keys()
    assert len(doc["monthly"]) == 60 and MONTHLY_KEYS <= doc["monthly"][0].keys()
    assert {"name", "efficiency_j_per_th", "breakeven_power_usd_per_kwh", "breakeven_btc_price_usd"} <= \
        doc["models"][0].keys()
    # Late-November 2025 figures: hashprice $35-40/PH/day, ~1,000-1,100 EH/s, subsidy 3.125 BTC.
    assert 35 <= doc["hashprice_usd_per_ph_day"] <= 40
    assert 950 <= doc["network_hashrate_ehs"] <= 1_150
    assert doc["block_subsidy_btc"] == 3.125
    s21 = next(m for m in doc["models"] if m["name"] == "Antminer S21")
    assert s21["efficiency_j_per_th"] == pytest.approx(17.5)


def test_evaluate_paths_reports_percentiles(capsys):
    assert main(["evaluate", "default", "--json", "--paths", "200", "--seed", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    p = doc["percentiles"]["npv_usd"]
    assert p["p5"] < p["p50"] < p["p95"]
    assert doc["npv_usd"] == pytest.approx(p["p50"])
    assert doc["paths"] == 200 and doc["seed"] == 3


def test_same_seed_same_answer(capsys):
    main(["evaluate", "default", "--json", "--paths", "50", "--seed", "11"])
    a = json.loads(capsys.readouterr().out)
    main(["evaluate", "default", "--json", "--paths", "50", "--seed", "11"])
    b = json.loads(capsys.readouterr().out)
    assert a == b


def test_stress_presets_order_under_one_network_model(capsys, tmp_path):
    """With miner capitulation in every story (so they share a network model): recovery > base > gamma flip
    > capitulation. (Against the trend network, capitulation's self-correcting hashrate would flatter it.)"""
    from minerplan.scenario.files import load_scenario, save_scenario, scenario_from_dict

    data = load_scenario("default").model_dump(mode="json", exclude_none=True)
    data["market"]["hashrate_response"] = {}
    path = tmp_path / "responsive.json"
    save_scenario(scenario_from_dict(data), path)
    npv = {}
    for name in ("recovery", "base", "gamma-flip", "capitulation"):
        main(["evaluate", str(path), "--json", "--preset", name])
        doc = json.loads(capsys.readouterr().out)
        npv[name] = doc["npv_usd"]
        if name == "capitulation":
            assert doc["monthly"][2]["btc_price_usd"] == 73_000
    assert npv["recovery"] > npv["base"] > npv["gamma-flip"] > npv["capitulation"]


def test_text_summary_has_units(capsys):
    assert main(["evaluate", "default"]) == 0
    out = capsys.readouterr().out
    for unit in ("USD/PH/day", "EH/s", "USD/kWh", "BTC", "%/yr"):
        assert unit in out


def test_validate_ok():
    out = run_cli("validate", "default")
    assert out.returncode == 0 and out.stdout.startswith("OK:")


def test_usage_errors_exit_2_without_traceback():
    for args in (["evaluate", "default", "--paths", "0"], ["evaluate", "default", "--preset", "moon"],
                 ["evaluate", "default", "--seed", "x"], ["frobnicate"]):
        out = run_cli(*args)
        assert out.returncode == 2, args
        assert "Traceback" not in out.stderr


def test_bad_file_exit_2_names_field(tmp_path):
    doc = json.loads((ROOT / "assets" / "default_scenario.json").read_text())
    doc["fleet"][1]["site"] = "Nowhere"
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    out = run_cli("evaluate", str(f))
    assert out.returncode == 2
    assert "fleet[1].site" in out.stderr and "Nowhere" in out.stderr
    assert "Traceback" not in out.stderr


def test_presets_listing():
    out = run_cli("presets", "--json")
    names = [p["name"] for p in json.loads(out.stdout)]
    assert names == ["base", "gamma-flip", "capitulation", "recovery"]


def test_scenarios_list_and_show(capsys):
    from minerplan.cli.main import main

    assert main(["scenarios", "list", "--json"]) == 0
    names = [p["name"] for p in json.loads(capsys.readouterr().out)]
    assert names == ["base", "gamma-flip", "capitulation", "recovery"]
    assert main(["scenarios", "show", "capitulation", "--json", "--months", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["hashrate_capitulation"] is True
    assert [round(r["btc_price_usd"]) for r in doc["months"]] == [86_500, 79_750, 73_000]
    # Miners switch off as hashprice falls: hashrate in month 2 is below month 0's.
    assert doc["months"][2]["network_hashrate_ehs"] < doc["months"][0]["network_hashrate_ehs"]
    assert main(["scenarios", "show", "recovery"]) == 0
    out = capsys.readouterr().out
    assert "100,000" in out and "25% odds" in out


def test_evaluate_with_hedges_reports_both_distributions(tmp_path, capsys):
    from minerplan.cli.main import main

    hedge = tmp_path / "hedge.json"
    hedge.write_text(json.dumps({"schema_version": 1, "hedges": [
        {"kind": "btc_put", "strike_usd": 85_000, "btc_amount": 1000, "expiry_month": "2026-06",
         "implied_vol_pct": 50, "risk_free_pct": 4.0}]}))
    assert main(["evaluate", "default", "--paths", "300", "--seed", "2", "--hedge", str(hedge), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    h = doc["hedge"]
    assert h["hedges"][0]["premium_usd"] > 0
    # A put pays in the bad paths: the worst 5% get better.
    assert h["hedged"]["cvar95_usd"] > h["unhedged"]["cvar95_usd"]
    assert main(["evaluate", "default", "--hedge", str(tmp_path / "missing.json")]) == 2


def test_sensitivity_json(capsys):
    from minerplan.cli.main import main

    assert main(["sensitivity", "default", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [r["input"] for r in doc["tornado"]]
    # With the supply network a higher BTC price also brings more hashrate (and a lower one less), so the
    # price's swing over five years is damped: power, conversion capex and the lease rate move NPV more.
    assert "BTC price" in names[:6] and "Network build cost" in names and len(names) >= 8
    swings = [r["swing_usd"] for r in doc["tornado"]]
    assert swings == sorted(swings, reverse=True)
    be = doc["breakevens"]
    assert 30_000 < be["btc_price_usd_for_npv_zero"] < 91_500   # worth more than zero at the entered $91.5k
    assert {c["site"] for c in be["curtailment"]} == {"Texas", "Georgia", "North Dakota"}
    assert be["lease_rate"][0]["site"] == "North Dakota"


def test_evaluate_with_the_scenarios_own_hedge_book(tmp_path, capsys):
    from minerplan.cli.main import main
    from minerplan.scenario.files import DEFAULT_SCENARIO_PATH

    put = {"kind": "btc_put", "strike_usd": 85_000, "btc_amount": 1000, "expiry_month": "2026-06",
           "implied_vol_pct": 50, "risk_free_pct": 4.0}
    hedge = tmp_path / "hedge.json"
    hedge.write_text(json.dumps({"schema_version": 1, "hedges": [put]}))
    doc = json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"))
    doc["hedges"] = [put]
    own = tmp_path / "hedged.json"
    own.write_text(json.dumps(doc))
    args = ["--paths", "200", "--seed", "3", "--json"]
    assert main(["evaluate", str(own), "--hedge", "scenario", *args]) == 0
    from_scenario = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "default", "--hedge", str(hedge), *args]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_scenario["hedge"] == from_file["hedge"]
    # without --hedge the summary is today's, book or not
    assert main(["evaluate", str(own), *args]) == 0
    assert "hedge" not in json.loads(capsys.readouterr().out)
    # a scenario without a book says so
    assert main(["evaluate", "default", "--hedge", "scenario"]) == 2
    assert "hedges: the scenario has no hedge book" in capsys.readouterr().err
