"""The exported workbook, recalculated by LibreOffice, gives the engine's numbers.

Four scenarios exercise every branch of the formulas: the shipped one
(hourly profile, curtailment, a conversion that squeezes the fleet), a stress
case (take-or-pay binding at a flat and an hourly site, GPU cloud, linear
tax, a points price path, shrinking hashrate), a profitable case (carry-forward
tax paid, purchases and retirements, landlord-paid power, growth path), and
the shipped scenario with the BTC price changed *in the workbook* to $72,000.
"""

from __future__ import annotations

import copy
import json
import math
import re
import zipfile

import numpy as np
import pytest
from openpyxl import load_workbook

from minerplan.engine.evaluate import run_engine
from minerplan.analysis.periods import period_keys, period_table
from minerplan.analysis.report import cohort_breakevens, summary
from minerplan.scenario.files import resolve_scenario_path, scenario_from_dict
from minerplan.sheets.export.workbook import export_workbook
from tests.recalc import recalculate

RTOL = 1e-6


def _default_dict() -> dict:
    return json.loads(resolve_scenario_path("default").read_text())


def _stress() -> dict:
    d = _default_dict()
    d["name"] = "Stress: $55k, take-or-pay binding"
    d["market"]["btc_price_usd"] = 55_000
    d["market"]["hashrate_growth_pct_per_month"] = -2.0
    d["price_path"] = {"kind": "points", "points": [{"month": "2026-03", "btc_price_usd": 60_000},
                                                    {"month": "2026-09", "btc_price_usd": 48_000}]}
    d["sites"][0]["take_or_pay_mwh_per_month"] = 70_000      # Texas: hourly profile, binding fill by cost
    d["sites"][1]["curtailment_credit_usd_per_mwh"] = 3.0    # Georgia: flat price, binding fill by J/TH
    d["sites"][2]["ai"]["business_model"] = "gpu_cloud"
    d["sites"][2]["ai"]["gpu_cloud"]["useful_life_months"] = 24
    d["sites"][2]["ai"]["gpu_cloud"]["rate_decline_pct_per_year"] = 25.0
    d["finance"]["tax_mode"] = "linear"
    d["horizon_months"] = 36
    return d


def _profit() -> dict:
    d = _default_dict()
    d["name"] = "Profit: $150k growing, tax paid"
    d["market"]["btc_price_usd"] = 150_000
    d["market"]["fee_growth_pct_per_month"] = 1.0
    d["market"]["hashrate_growth_pct_per_month"] = 2.5
    d["price_path"] = {"kind": "growth", "growth_pct_per_month": 1.0}
    d["fleet"][2]["retire_month"] = "2026-07"
    d["fleet"].append({"model": "Antminer S21 XP", "count": 2000, "hashrate_ths": 270, "power_w": 3645,
                       "site": "Texas", "purchase_price_usd": 6939, "purchase_month": "2026-05", "salvage_usd": 900})
    d["sites"][2]["ai"]["colocation"]["tenant_pays_power"] = False
    d["sites"][2]["ai"]["colocation"]["escalator_pct_per_year"] = 4.0
    d["conversion_plan"].append({"site": "North Dakota", "gross_mw": 20, "start_month": "2028-06"})
    return d


def _injection() -> dict:
    """Names that a spreadsheet would run as formulas if they were written as formulas."""
    d = _default_dict()
    rename = {"Texas": '=HYPERLINK("http://example.invalid","x")', "Georgia": "+SUM(1,2)", "North Dakota": "@cmd|' /C calc'!A0"}
    for site in d["sites"]:
        site["name"] = rename[site["name"]]
    for c in d["fleet"]:
        c["site"] = rename[c["site"]]
        c["model"] = "-2+3 " + c["model"]
    for cv in d["conversion_plan"]:
        cv["site"] = rename[cv["site"]]
    d["name"] = "=1+1"
    return d


def _capitulation() -> dict:
    """Miners switch off as hashprice falls: the network comes from the engine, the rest stays formulas."""
    d = _default_dict()
    d["market"]["network_model"] = "capitulation"
    d["price_path"] = {"kind": "points", "points": [{"month": "2026-01", "btc_price_usd": 86_500},
                                                    {"month": "2026-03", "btc_price_usd": 73_000}]}
    return d


def _trend() -> dict:
    """The trend network: the one network the workbook computes in live formulas (retargets, halvings).

    With two retirements sold at the used-ASIC market price: the S21s in 2026-06 (no quote: the market
    alone) and the M50S++ (a $700 quote) in 2026-09, while their margins (and so their prices) are above
    scrap at $91.5k and at $72k, so the BTC price typed into the workbook ("edited") moves their salvage."""
    d = _default_dict()
    d["market"]["network_model"] = "trend"
    d["fleet"][5]["retire_month"] = "2026-06"
    d["fleet"][4]["retire_month"] = "2026-09"
    return d


def _moved() -> dict:
    """A move as an optimizer plan writes it: 6,000 of North Dakota's M50S++ leave in 2026-01 at their book
    value (sale_price_usd) and arrive at Texas in 2026-02, a month older, at that value plus $150 each;
    and a signed sale of Georgia's S19 XPs in 2026-06 at a stated $400 each."""
    d = _default_dict()
    m50 = dict(d["fleet"][4])
    d["fleet"][4]["count"] = 6000
    book = 2500 * (1 - (24 + 1) / 36)
    d["fleet"].append({**m50, "count": 6000, "retire_month": "2026-01", "sale_price_usd": round(book, 2)})
    d["fleet"].append({**m50, "count": 6000, "site": "Texas", "moved_from": "North Dakota", "age_months": 0,
                       "hashrate_ths": round(146 * 0.97 ** (26 / 12), 4), "purchase_month": "2026-02",
                       "purchase_price_usd": round(book + 150, 2), "useful_life_months": 11, "salvage_usd": 0})
    d["fleet"][3]["retire_month"] = "2026-06"
    d["fleet"][3]["sale_price_usd"] = 400.0
    return d


CASES = {"default": _default_dict, "stress": _stress, "profit": _profit, "injection": _injection,
         "capitulation": _capitulation, "trend": _trend, "moved": _moved}


def _optimized_plan():
    """The optimizer's plan for the shipped scenario (few paths: the test needs a plan, not the best one)."""
    from solvers.optimize import optimize
    from solvers.settings import OptimizerSettings
    from dataclasses import replace

    sc = scenario_from_dict(_default_dict(), "default")
    res = optimize(sc, OptimizerSettings(n_paths=20, seed=0))
    assert res.ok, res.status
    return res.plan_scenario, replace(res.decisions, note="test plan")


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """Export each case, plus the default with BTC at $72k typed into Inputs, and recalculate all at once."""
    tmp = tmp_path_factory.mktemp("xlsx")
    scenarios = {name: scenario_from_dict(make(), name) for name, make in CASES.items()}
    paths = []
    for name, sc in scenarios.items():
        p = tmp / f"{name}.xlsx"
        export_workbook(sc, p, n_paths=50, seed=1)
        paths.append(p)
    planned, decisions = _optimized_plan()
    assert decisions.conversions or decisions.retirements or decisions.purchases
    scenarios["plan"] = planned
    export_workbook(planned, tmp / "plan.xlsx", plan=decisions, n_paths=0)
    paths.append(tmp / "plan.xlsx")
    # The analyst halves the first decision's amount on the Plan sheet.
    wb = load_workbook(tmp / "plan.xlsx")
    first = wb["Plan"]["E5"]
    first.value = first.value / 2
    wb.save(tmp / "plan_edited.xlsx")
    paths.append(tmp / "plan_edited.xlsx")
    kind, idx = (("convert", decisions.conversions[0]) if decisions.conversions else
                 ("retire", decisions.retirements[0]) if decisions.retirements else ("buy", decisions.purchases[0]))
    data = planned.model_dump(mode="json", exclude_none=True)
    if kind == "convert":
        data["conversion_plan"][idx]["gross_mw"] /= 2
    else:
        data["fleet"][idx]["count"] /= 2
    scenarios["plan_edited"] = scenario_from_dict(data, "plan, first decision halved")
    # The analyst's edit: the BTC price input changed in the workbook itself (on the trend network, whose
    # difficulty and blocks are live formulas; the supply and capitulation networks are engine values).
    edited = tmp / "edited.xlsx"
    wb = load_workbook(tmp / "trend.xlsx")
    name = wb.defined_names["btc_price_usd"]
    (sheet, cell), = list(name.destinations)
    wb[sheet][cell.replace("$", "")].value = 72_000
    wb.save(edited)
    paths.append(edited)
    # More analyst edits, each with the scenario the engine should agree with.
    from minerplan.scenario.fields import SITE_COLUMNS

    term_col = 1 + [c.field for c in SITE_COLUMNS].index("ai.colocation.term_months")
    for name, edit_book, edit_dict in (
        ("lease240",   # a longer lease than the export's: the Terminal sheet must already cover it
         lambda wb: wb["Sites"].cell(row=7, column=term_col, value=240),
         lambda d: d["sites"][2]["ai"]["colocation"].update(term_months=240)),
        ("no_terminal",   # without the terminal value the IRR is negative: the spreadsheet must still find it
         lambda wb: _set_name(wb, "terminal_value_mode", "none"),
         lambda d: d["finance"].update(terminal_value="none")),
    ):
        wb = load_workbook(tmp / "default.xlsx")
        edit_book(wb)
        wb.save(tmp / f"{name}.xlsx")
        paths.append(tmp / f"{name}.xlsx")
        d = _default_dict()
        edit_dict(d)
        scenarios[name] = scenario_from_dict(d, name)
    outs = recalculate(paths, tmp / "out", tmp / "lo-profile")
    books = {p.stem: load_workbook(o, data_only=True) for p, o in zip(paths, outs)}
    d72 = _trend()
    d72["market"]["btc_price_usd"] = 72_000
    scenarios["edited"] = scenario_from_dict(d72, "default at $72k")
    return scenarios, books, tmp


def _set_name(wb, name: str, value) -> None:
    (sheet, cell), = list(wb.defined_names[name].destinations)
    wb[sheet][cell.replace("$", "")].value = value


def _close(got, want, what: str, scale: float = 0.0) -> None:
    if want is None or (isinstance(want, float) and not math.isfinite(want)):
        assert not isinstance(got, (int, float)) or got is None, f"{what}: workbook {got!r}, engine has none"
        return
    assert isinstance(got, (int, float)), f"{what}: workbook gives {got!r}, engine {want!r}"
    tol = RTOL * max(abs(want), scale, 1.0)
    assert abs(got - want) <= tol, f"{what}: workbook {got!r} vs engine {want!r} (diff {got - want:.3g})"


def _rows_by_label(ws, label_col: int = 1) -> dict[str, int]:
    out = {}
    for r in range(1, ws.max_row + 1):
        v = ws.cell(row=r, column=label_col).value
        if isinstance(v, str) and v not in out:
            out[v] = r
    return out


def _month_values(ws, row: int, n: int) -> np.ndarray:
    return np.array([ws.cell(row=row, column=5 + m).value for m in range(n)], dtype=float)


SUMMARY_KEYS = {
    "NPV on the entered price path": "npv_usd", "IRR on the entered price path (n/a without an initial outlay)": "irr",
    "Payback, without terminal value (n/a without an initial outlay)": "payback_months",
    "Terminal value (in NPV, at the horizon's end)": "terminal_value_usd", "BTC mined": "btc_mined",
    "of which terminal value (present value)": "terminal_value_pv_usd",
    "Cash cost per BTC, horizon average (energy, opex, mining's G&A, less credits)": "cost_per_btc_cash_usd",
    "All-in cost per BTC (cash + ASIC depreciation)": "cost_per_btc_all_in_usd",
    "Site EBITDA (before G&A) per MW of capacity per month": "ebitda_usd_per_mw_month",
    "Network hashrate, first month": "network_hashrate_ehs", "Difficulty at the start": "difficulty",
    "Block subsidy at the start": "block_subsidy_btc",
    "Fleet hashrate owned at the start (nameplate)": "fleet_hashrate_ehs",
}


ALL = ["default", "stress", "profit", "injection", "capitulation", "trend", "moved", "edited", "plan", "plan_edited",
       "lease240", "no_terminal"]


@pytest.mark.parametrize("case", ALL)
def test_every_kpi_matches_the_engine(recalculated, case):
    scenarios, books, _ = recalculated
    sc = scenarios[case]
    res = run_engine(sc)
    doc = summary(res)
    ws = books[case]["Summary"]
    rows = list(ws.iter_rows(min_row=5, max_row=ws.max_row, max_col=6, values_only=True))
    seen = set()
    hashprice_rows = [r for r in rows if r[0] == "Hashprice, first month"]
    assert len(hashprice_rows) == 2
    _close(hashprice_rows[0][1], doc["hashprice_usd_per_ph_day"], "hashprice USD/PH/day")
    _close(hashprice_rows[1][1], doc["hashprice_btc_per_ph_day"], "hashprice BTC/PH/day")
    for label, value, *_ in rows:
        if label in SUMMARY_KEYS:
            _close(value, doc[SUMMARY_KEYS[label]], f"{case} {label}")
            seen.add(label)
    assert seen == set(SUMMARY_KEYS), set(SUMMARY_KEYS) - seen
    # By site: EBITDA per MW-month, mining revenue, AI revenue, capex, BTC mined.
    start = next(i for i, r in enumerate(rows) if r[0] == "Site") + 1
    for s, site in enumerate(doc["sites"]):
        name, e_mw, rev, ai_rev, capex, btc = rows[start + s][:6]
        assert name == site["name"]
        _close(e_mw, site["ebitda_usd_per_mw_month"], f"{name} EBITDA/MW-month")
        _close(rev, site["mining_revenue_usd"], f"{name} mining revenue")
        _close(ai_rev, site["ai_revenue_usd"], f"{name} AI revenue")
        _close(capex, site["capex_usd"], f"{name} capex")
        _close(btc, site["btc_mined"], f"{name} BTC mined")
    # Breakevens per cohort, first month: one row per cohort, the Fleet rows a plan split it into merged.
    be = cohort_breakevens(res, 0)
    start = next(i for i, r in enumerate(rows) if r[0] == "Cohort") + 1
    for k, members in enumerate(_cohorts(sc)):
        model, site, units, eff, power_be, btc_be = rows[start + k][:6]
        i = members[0]
        want = sc.fleet[i].model + (f" (Fleet rows {_runs([5 + j for j in members])})" if len(members) > 1 else "")
        assert (model, site) == (want, sc.fleet[i].site), (case, k)
        _close(units, sum(sc.fleet[j].count for j in members), f"cohort {k} units")
        for j in members:
            _close(eff, be.efficiency_j_per_th[j], f"cohort {j} J/TH")
            _close(power_be, be.breakeven_power_usd_per_kwh[j], f"cohort {j} breakeven power")
            _close(btc_be, be.breakeven_btc_price_usd[j], f"cohort {j} breakeven BTC price")
    after = rows[start + len(_cohorts(sc)):]
    assert not after or after[0][0] is None   # no more cohort rows than cohorts


def _runs(rows: list[int]) -> str:
    """``5-7, 9`` for rows 5, 6, 7 and 9."""
    out = []
    for r in rows:
        if out and out[-1][1] == r - 1:
            out[-1][1] = r
        else:
            out.append([r, r])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def _cohorts(sc) -> list[list[int]]:
    """Fleet rows holding the same machines (a cohort the plan split into units kept and units leaving)."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(sc.fleet):
        d = c.model_dump()
        groups.setdefault(tuple(v for k, v in sorted(d.items())
                                if k not in ("count", "retire_month", "sale_price_usd")), []).append(i)
    return list(groups.values())


def test_summary_states_which_npv_each_figure_is(recalculated):
    """The entered path's NPV, the Monte Carlo's mean and median (values of 50 paths at seed 1), each labelled."""
    scenarios, books, _ = recalculated
    sc = scenarios["default"]
    mc = run_engine(sc, n_paths=50, seed=1)
    values = {r[0]: r[1] for r in books["default"]["Summary"].iter_rows(min_row=5, max_col=2, values_only=True)}
    _close(values["NPV on the entered price path"], float(run_engine(sc).npv_usd[0]), "NPV on the entered path")
    _close(values["Expected NPV (mean of 50 paths)"], float(mc.npv_usd.mean()), "expected NPV")
    _close(values["Median NPV (of 50 paths)"], float(np.median(mc.npv_usd)), "median NPV")
    assert "NPV" not in values and "Expected NPV (mean of 50 paths)" in values


def test_annual_rollup_matches_the_engines_yearly_sums(recalculated):
    """Every line of the Annual sheet, recalculated, is the engine's monthly series summed by calendar year
    (periods.period_keys' year indicator), and its cost per BTC, BTC and EBITDA are periods.period_table's."""
    scenarios, books, _ = recalculated
    for case in ALL:
        sc = scenarios[case]
        res = run_engine(sc)
        ws = books[case]["Annual"]
        keys, w = period_keys(res.months)
        years = [j for j, (_, kind) in enumerate(keys) if kind == "year"]
        head = [c.value for c in ws[4]]
        assert head[2:2 + len(years)] == [int(keys[j][0]) for j in years] and head[2 + len(years)] == "Total", head
        rows = _rows_by_label(ws)
        monthly = _engine_cash_rows(res)
        monthly["Total revenue"] = sum(monthly[k] for k in ("Mining revenue", "Curtailment credits",
                                                             "AI/HPC revenue"))
        monthly["Total operating costs"] = sum(monthly[k] for k in (
            "Mining energy", "Take-or-pay shortfall", "AI/HPC energy paid by the miner", "Mining opex", "AI/HPC opex",
            "G&A"))
        monthly["BTC mined"] = res.btc_mined[0].sum(axis=1)
        monthly["Months modelled"] = np.ones(len(res.months))
        table = {r["period"]: r for r in period_table(res)}
        for label in monthly:
            if label == "AI/HPC depreciation":   # a tax line; the Annual sheet shows the ASIC depreciation
                continue
            want = monthly[label] @ w
            scale = float(np.abs(want).max()) * 1e-3
            for k, j in enumerate(years):
                _close(ws.cell(row=rows[label], column=3 + k).value, float(want[j]), f"{case} {label} {keys[j][0]}",
                       scale)
            _close(ws.cell(row=rows[label], column=3 + len(years)).value, float(monthly[label].sum()),
                   f"{case} {label} total", scale)
        for k, j in enumerate(years):
            year = table[keys[j][0]]
            for label, key in (("Cash cost per BTC", "cost_per_btc_cash_usd"),
                               ("All-in cost per BTC", "cost_per_btc_all_in_usd"), ("EBITDA", "ebitda_usd"),
                               ("BTC mined", "btc_mined")):
                _close(ws.cell(row=rows[label], column=3 + k).value, year[key], f"{case} {label} {keys[j][0]}")
        doc = summary(res)
        _close(ws.cell(row=rows["Cash cost per BTC"], column=3 + len(years)).value, doc["cost_per_btc_cash_usd"],
               f"{case} cash cost per BTC, horizon")


def _engine_cash_rows(res) -> dict[str, np.ndarray]:
    p = 0
    return {
        "Mining revenue": res.mining_revenue_usd[p].sum(axis=1),
        "Curtailment credits": res.curtailment_credit_usd[p].sum(axis=1),
        "AI/HPC revenue": res.ai.revenue_usd.sum(axis=1),
        "Mining energy": res.mining_power_cost_usd[p].sum(axis=1),
        "Take-or-pay shortfall": res.take_or_pay_shortfall_usd[p].sum(axis=1),
        "AI/HPC energy paid by the miner": res.ai_power_cost_usd.sum(axis=1),
        "Mining opex": res.mining_opex_usd.sum(axis=1),
        "AI/HPC opex": res.ai.opex_usd.sum(axis=1),
        "G&A": res.g_and_a_usd,
        "EBITDA": res.ebitda_usd[p].sum(axis=1) - res.g_and_a_usd,
        "ASIC purchases": res.asic_capex_usd.sum(axis=1),
        "AI/HPC capex": res.ai.capex_usd.sum(axis=1),
        "Capex": res.capex_usd.sum(axis=1),
        "ASIC salvage proceeds": res.salvage_usd[p].sum(axis=1),
        "ASIC depreciation": res.asic_depreciation_usd.sum(axis=1),
        "AI/HPC depreciation": res.ai.depreciation_usd.sum(axis=1),
        "Tax": res.tax_usd[p],
        "Net cash flow": res.net_cash_flow_usd[p],
    }


@pytest.mark.parametrize("case", ALL)
def test_every_monthly_cash_flow_cell_matches_the_engine(recalculated, case):
    scenarios, books, _ = recalculated
    sc = scenarios[case]
    res = run_engine(sc)
    ws = books[case]["Cash Flow"]
    rows = _rows_by_label(ws)
    n = sc.horizon_months
    for label, want in _engine_cash_rows(res).items():
        got = _month_values(ws, rows[label], n)
        scale = float(np.abs(want).max()) * 1e-3  # a month that nets to ~0 is judged against the row's size
        for m in range(n):
            _close(got[m], float(want[m]), f"{case} {label} {sc.months[m]}", scale)
        _close(ws.cell(row=rows[label], column=4).value, float(want.sum()), f"{case} {label} total", scale)


@pytest.mark.parametrize("case", ["default", "stress", "profit"])
def test_network_rows_match_the_engine(recalculated, case):
    scenarios, books, _ = recalculated
    res = run_engine(scenarios[case])
    ws = books[case]["Network"]
    rows = _rows_by_label(ws)
    n = scenarios[case].horizon_months
    net = res.network
    for label, want in (("BTC price", res.btc_price_usd[0]), ("Network hashrate (month average)",
                                                             net.network_hashrate_ehs[0]),
                        ("Blocks found", net.blocks[0]), ("Block subsidy (average)", net.subsidy_btc[0]),
                        ("Difficulty (block-weighted average)", net.difficulty[0]),
                        ("Transaction fees per block", net.fees_btc_per_block[0]),
                        ("Hashprice", net.hashprice_btc_per_th_day[0])):
        got = _month_values(ws, rows[label], n)
        for m in range(n):
            _close(got[m], float(want[m]), f"{case} {label} month {m}", 0.0)


def test_stress_case_really_binds_take_or_pay(recalculated):
    """The stress case must exercise the fill to the minimum at both kinds of site, or it proves nothing."""
    _, books, _ = recalculated
    ws = books["stress"]["Dispatch"]
    modes = []
    for r in range(1, ws.max_row + 1):
        if str(ws.cell(row=r, column=1).value).startswith("Dispatch used"):
            modes.append([ws.cell(row=r, column=5 + m).value for m in range(36)])
    assert len(modes) == 3
    assert 3 in modes[0], "Texas (hourly) never fills to the minimum"
    assert 3 in modes[1], "Georgia (flat) never fills to the minimum"


def test_checks_sheet_is_all_ok_and_turns_red_after_an_edit(recalculated):
    _, books, _ = recalculated
    for case in ("default", "stress", "profit", "injection", "capitulation", "trend", "plan"):
        ws = books[case]["Checks"]
        statuses = [ws.cell(row=r, column=6).value for r in range(5, ws.max_row + 1)]
        assert statuses and all(s == "OK" for s in statuses if s is not None), (case, statuses)
    edited = books["edited"]["Checks"]
    assert edited.cell(row=5, column=6).value == "DIFFERS"  # NPV at $72k is not the exported NPV


def test_price_edit_changes_npv_the_way_the_engine_does(recalculated):
    scenarios, books, _ = recalculated
    npv_91 = books["trend"]["Summary"]["B5"].value
    npv_72 = books["edited"]["Summary"]["B5"].value
    assert npv_72 < npv_91 - 1e7
    _close(npv_72, float(run_engine(scenarios["edited"]).npv_usd[0]), "NPV at $72k")


def test_salvage_follows_the_btc_price_typed_into_the_workbook(recalculated):
    """Retired machines sell at the used-ASIC index, which moves with hashprice: the BTC price typed into the
    workbook ($72k) lowers the S21s' and M50S++' proceeds, as the engine's do at $72k."""
    scenarios, books, _ = recalculated
    total = {}
    for case in ("trend", "edited"):
        ws = books[case]["Cash Flow"]
        total[case] = ws.cell(row=_rows_by_label(ws)["ASIC salvage proceeds"], column=4).value
        _close(total[case], float(run_engine(scenarios[case]).salvage_usd[0].sum()), f"{case} salvage")
    assert 0 < total["edited"] < 0.9 * total["trend"]


def test_user_text_stays_text(recalculated):
    """Names starting with =, +, - or @ are strings in the file and after recalculation, never formulas."""
    scenarios, books, tmp = recalculated
    raw = load_workbook(tmp / "injection.xlsx")
    sc = scenarios["injection"]
    for s, site in enumerate(sc.sites):
        cell = raw["Sites"].cell(row=5 + s, column=1)
        assert cell.data_type == "s" and cell.value == site.name
        assert books["injection"]["Sites"].cell(row=5 + s, column=1).value == site.name
    for i, c in enumerate(sc.fleet):
        assert raw["Fleet"].cell(row=5 + i, column=1).data_type == "s"
        assert books["injection"]["Fleet"].cell(row=5 + i, column=1).value == c.model
    assert books["injection"]["Summary"]["A1"].value == "MinerPlan: =1+1"


def test_plan_sheet_holds_the_decisions_as_inputs(recalculated):
    scenarios, books, tmp = recalculated
    raw = load_workbook(tmp / "plan.xlsx")
    plan = raw["Plan"]
    assert plan["A5"].value in ("Convert to AI/HPC", "Retire ASICs", "Buy ASICs")
    assert plan["E5"].font.color.rgb.endswith("0000FF")          # an input
    links = [c.value for row in raw["Fleet"].iter_rows(min_row=5) for c in row
             if isinstance(c.value, str) and c.value.startswith("='Plan'!")]
    links += [c.value for row in raw["AI-HPC"].iter_rows(min_row=5, max_row=40) for c in row
              if isinstance(c.value, str) and c.value.startswith("='Plan'!")]
    assert links, "no Fleet or AI-HPC cell links to the Plan sheet"


def test_round_trip_export_import_evaluate(recalculated, tmp_path):
    """Export, import the fleet and sites back into a blank-fleet scenario, evaluate: the same result."""
    from minerplan.sheets.importing.fleet_and_sites import import_fleet_into, import_sites_into, read_fleet, read_sites

    scenarios, books, tmp = recalculated
    for case, path in (("default", tmp / "default.xlsx"), ("profit", tmp / "profit.xlsx"),
                       ("injection", tmp / "injection.xlsx"), ("plan", tmp / "out" / "plan.xlsx")):
        sc = scenarios[case]
        data = sc.model_dump(mode="json", exclude_none=True)
        blank = copy.deepcopy(data)
        blank["fleet"] = []
        blank["conversion_plan"] = []
        for site in blank["sites"]:
            site.pop("hourly_price_usd_per_mwh", None)
            site["power_price_usd_per_mwh"] = 1.0
        start = scenario_from_dict(blank, "blank")
        with_sites = import_sites_into(start, read_sites(path))
        back = import_fleet_into(with_sites, read_fleet(path))
        back = scenario_from_dict({**back.model_dump(mode="json", exclude_none=True),
                                   "conversion_plan": data.get("conversion_plan", [])}, "round trip")
        # openpyxl keeps every digit; a file saved by LibreOffice keeps 15 significant digits.
        rel = 1e-12 if case != "plan" else 1e-13
        assert [s.model_dump() for s in back.sites] == [s.model_dump() for s in sc.sites], case
        assert len(back.fleet) == len(sc.fleet)
        for got, want in zip(back.fleet, sc.fleet):
            g, w = got.model_dump(), want.model_dump()
            assert {k: v for k, v in g.items() if not isinstance(v, float)} == \
                   {k: v for k, v in w.items() if not isinstance(v, float)}, case
            for k, v in w.items():
                if isinstance(v, float):
                    assert g[k] == pytest.approx(v, rel=rel), (case, k)
        assert float(run_engine(back).npv_usd[0]) == pytest.approx(float(run_engine(sc).npv_usd[0]), rel=1e-9)


def test_plan_workbook_needs_a_recalculation_before_import(recalculated):
    """An optimizer workbook straight from openpyxl has linked cells without values: refused, not guessed."""
    from minerplan.scenario.errors import ScenarioError
    from minerplan.sheets.importing.fleet_and_sites import read_fleet

    _, _, tmp = recalculated
    with pytest.raises(ScenarioError, match="no calculated value"):
        read_fleet(tmp / "plan.xlsx")


# The rows the Dispatch sheet prints per site (its totals; the per-slot rows are collapsed).
DISPATCH_TOTALS = ("Take-or-pay minimum left to mining", "Energy, plain dispatch", "Energy, prepaid dispatch",
                   "Dispatch used (1 plain, 2 prepaid, 3 fill to the minimum)", "Marginal cost lambda (fill)",
                   "Energy of slots below lambda", "Energy of slots at lambda", "Share of the marginal slots run",
                   "Hash output run", "Energy drawn by mining", "Energy cost of mining")
_CELL_REF = re.compile(r"(?:'((?:[^']|'')+)'|([A-Za-z_][\w.\-]*))!\$?[A-Z]{1,3}\$?(\d+)(:\$?[A-Z]{1,3}\$?\d+)?")


def _linked_rows(wb) -> set[tuple[str, int]]:
    """(sheet, row) of every single cell a formula on another sheet reads (ranges are lookups or sums: apart)."""
    out = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    for m in _CELL_REF.finditer(c.value):
                        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                        if sheet != ws.title and not m.group(4):
                            out.add((sheet, int(m.group(3))))
    return out


def _dispatch_sites(ws) -> list[dict[str, list[int]]]:
    """Per site block of the Dispatch sheet: label -> its rows (the heading row under 'heading')."""
    sites = []
    for r in range(1, ws.max_row + 1):
        label = ws.cell(row=r, column=1).value
        if isinstance(label, str) and re.fullmatch(r"Site \d+", label):
            sites.append({"heading": [r]})
        elif sites and isinstance(label, str):
            sites[-1].setdefault(label, []).append(r)
    return sites


def test_detail_rows_are_collapsed_groups_in_the_file(tmp_path):
    """The Dispatch sheet's per-slot rows are in the file in collapsed outline groups (outline level 1, hidden,
    formulas in every month), one group per site under its heading (the + button: collapsed, the summary above
    the group); the site totals print. The spare Retargets epochs and the Cohorts' age and per-unit value
    blocks are collapsed too. No cell another sheet links to is hidden."""
    export_workbook(scenario_from_dict(_default_dict(), "default"), tmp_path / "d.xlsx", n_paths=0)
    wb = load_workbook(tmp_path / "d.xlsx")
    ws = wb["Dispatch"]
    dims = ws.row_dimensions
    sites = _dispatch_sites(ws)
    # The shipped fleet: 2 cohorts in Texas (24 hourly slots each), 2 in Georgia and 2 in North Dakota (one
    # slot each): 48, 2 and 2 slots, each with 11 rows.
    assert [len(s["Energy price"]) for s in sites] == [48, 2, 2]
    slot_labels = [k for k in sites[0] if k not in DISPATCH_TOTALS and k not in ("heading", "Site totals")]
    assert len(slot_labels) == 11, slot_labels
    for s in sites:
        slot_rows = [r for k in slot_labels for r in s[k]]
        assert len(slot_rows) == 11 * len(s["Energy price"])
        for r in slot_rows + s["Site totals"]:
            assert dims[r].outlineLevel == 1 and dims[r].hidden, r
        for r in slot_rows:
            assert ws.cell(row=r, column=5).value.startswith("=") and ws.cell(row=r, column=64).value, r
        for k in DISPATCH_TOTALS + ("heading",):
            (r,) = s[k]
            assert not dims[r].hidden and not dims[r].outlineLevel, k
        group = [r for r in range(s["heading"][0] + 1, s[DISPATCH_TOTALS[0]][0])]
        assert all(dims[r].hidden for r in group), "the group runs from below the heading to the totals"
    hidden = sum(1 for r in range(1, ws.max_row + 1) if dims[r].hidden)
    assert hidden == 11 * 52 + 3 * 2   # the slot rows, and per site a blank line and the 'Site totals' heading
    assert ws.sheet_format.outlineLevelRow == 1 and ws.sheet_properties.outlinePr.summaryBelow is False
    with zipfile.ZipFile(tmp_path / "d.xlsx") as z:
        xml = z.read(f"xl/worksheets/sheet{wb.sheetnames.index('Dispatch') + 1}.xml").decode()
    assert [int(r) for r in re.findall(r'<row r="(\d+)"[^>]* collapsed="1"', xml)] == [s["heading"][0] for s in sites]
    # Cohorts: age and degraded TH/s per unit, and the used-market value per unit (6 cohorts each).
    co = wb["Cohorts"]
    by_label: dict[str, list[int]] = {}
    for r in range(1, co.max_row + 1):
        by_label.setdefault(co.cell(row=r, column=1).value, []).append(r)
    collapsed = [k for k, rows in by_label.items() if all(co.row_dimensions[r].hidden for r in rows)]
    assert sorted(collapsed) == sorted(["Age", "Hashrate per unit (degraded)",
                                        "Used-market value per unit (margin price x quote scale)"])
    assert all(len(by_label[k]) == 6 for k in collapsed)
    # Retargets: the epochs to the one after the horizon, and the last, print; eras 0-6 (the horizon ends in 5).
    rt = wb["Retargets"]
    shown = [r for r in range(5, rt.max_row + 1) if not rt.row_dimensions[r].hidden]
    assert rt.max_row - len(shown) > 150
    eras = [rt.cell(row=r, column=1).value for r in shown if isinstance(rt.cell(row=r, column=1).value, int)]
    assert eras == list(range(7))
    # Nothing another sheet links to cell by cell is in a collapsed group.
    linked_hidden = sorted((s, r) for s, r in _linked_rows(wb) if s in wb.sheetnames and wb[s].row_dimensions[r].hidden)
    assert not linked_hidden, linked_hidden[:10]


@pytest.mark.parametrize("case", ["default", "stress", "plan"])
def test_collapsed_dispatch_rows_calculate_and_feed_the_site_totals(recalculated, case):
    """LibreOffice keeps the groups collapsed and computes the hidden rows: each site's hash output and energy
    are the sums over its slots of the share run x the slot's output (or energy), from the hidden rows."""
    scenarios, books, _ = recalculated
    ws = books[case]["Dispatch"]
    n = scenarios[case].horizon_months
    runs = 0.0
    for s in _dispatch_sites(ws):
        share = np.array([_month_values(ws, r, n) for r in s["Share of the slot run"]])
        for per_slot, total in (("Hash output if run", "Hash output run"), ("Energy if run", "Energy drawn by mining")):
            rows = s[per_slot]
            assert all(ws.row_dimensions[r].hidden and ws.row_dimensions[r].outlineLevel == 1 for r in rows)
            slot = np.array([_month_values(ws, r, n) for r in rows])
            assert np.isfinite(slot).all() and np.isfinite(share).all()
            got = _month_values(ws, s[total][0], n)
            assert not ws.row_dimensions[s[total][0]].hidden
            np.testing.assert_allclose(got, (share * slot).sum(axis=0), rtol=1e-9, atol=1e-6, err_msg=(case, total))
        runs += share.sum()
    assert runs > 0, "some slot runs"
