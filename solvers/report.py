"""Optimizer results for people and scripts: plain-language recommendation, text and JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from minerplan.scenario_io import scenario_to_dict

from .optimize import OptimizationResult


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _quarter(month: str) -> str:
    y, m = month.split("-")
    return f"{y}-Q{(int(m) - 1) // 3 + 1}"


def _m(usd: float) -> str:
    return f"${usd / 1e6:,.1f}M"


#: Why there is no plan, in words a CFO reads (``{limit}``: the time limit, s).
_NO_PLAN = {
    "time_limit": "No plan: no feasible plan was found within the time limit of {limit:g} s. Raise the time limit, "
                  "use fewer price paths or accept a larger MIP gap.",
    "infeasible": "No plan: the constraints cannot all be met together.",
    "error": "No plan: the solver stopped with an error; try again with fewer price paths or a longer time limit.",
}


def recommendation(res: OptimizationResult) -> list[str]:
    """Sentences a CFO can take to the board, e.g. "Convert 40 MW at Texas from 2026-03"."""
    if not res.ok:
        return [_NO_PLAN.get(res.status, f"No plan: the solver stopped ({res.status.replace('_', ' ')}).")
                .format(limit=res.settings.time_limit_s)] + res.explanation
    sc = res.plan_scenario
    lines = []
    conv = res.conversions
    for _, r in conv.iterrows():
        what = "lease to an AI/HPC tenant" if r.business_model == "colocation" else "run GPU cloud"
        if r.committed:
            lines.append(f"Deliver the signed {r.critical_mw:,.1f} MW critical at {r.site} "
                         f"(from {r.start_month}, ready {r.ready_month}).")
        else:
            lines.append(f"Convert {r.gross_mw:,.1f} MW at {r.site} from {r.start_month} ({r.critical_mw:,.1f} MW "
                         f"critical, ready {r.ready_month}) and {what}; capex {_m(r.capex_usd)}.")
    converted_sites = set(conv.site) if len(conv) else set()
    retired = res.retirements
    if len(retired):
        retired = retired.assign(quarter=retired.month.map(_quarter))
        for (site, model, q), g in retired.groupby(["site", "model", "quarter"], sort=False):
            lines.append(f"Retire {g.units.sum():,.0f} {model} at {site} in {q} "
                         f"({g.mw.sum():,.1f} MW, salvage {_m(g.salvage_usd.sum())}).")
    buys = res.purchases
    if len(buys):
        for (site, model), g in buys.groupby(["site", "model"], sort=False):
            first = g.month.min()
            lines.append(f"Buy {g.units.sum():,.0f} {model} for {site} from {first} "
                         f"({g.mw.sum():,.1f} MW, capex {_m(g.capex_usd.sum())}).")
    for site in sc.sites:
        if site.name not in converted_sites:
            lines.append(f"Keep {site.name} mining.")
    return lines


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (_num(v) if isinstance(v, (float, np.floating)) else
                        (int(v) if isinstance(v, (np.integer,)) else (bool(v) if isinstance(v, np.bool_) else v)))
                    for k, v in row.items()})
    return out


def result_to_json(res: OptimizationResult, engine_npv_usd: float | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "status": res.status,
        "objective_usd": _num(res.objective_usd),
        "expected_npv_usd": _num(res.expected_npv_usd),
        "cvar_usd": _num(res.cvar_usd),
        "cvar_level": res.settings.cvar_level,
        "risk_aversion": res.settings.risk_aversion,
        "settings_min_cash_usd": res.settings.min_cash_usd,
        "mip_gap": _num(res.mip_gap),
        "paths": res.settings.n_paths,
        "seed": res.settings.seed,
        "preset": res.settings.preset,
        "recommendation": recommendation(res),
        "allocation": _records(res.allocation),
        "conversions": _records(res.conversions),
        "purchases": _records(res.purchases),
        "retirements": _records(res.retirements),
        "shadow_prices": _records(res.shadow_prices),
        "notes": res.notes,
        "explanation": res.explanation,
        "timings_s": {k: round(v, 4) for k, v in res.timings_s.items()},
        "sizes": res.sizes,
        "cash": _records(res.cash) if res.cash is not None else [],
        "plan_scenario": scenario_to_dict(res.plan_scenario) if res.plan_scenario is not None else None,
    }
    if engine_npv_usd is not None:
        doc["engine_expected_npv_usd"] = _num(engine_npv_usd)
    return doc


def format_result(doc: dict[str, Any]) -> str:
    lines = [f"Optimizer: {doc['status']}  ({doc['paths']:,} price paths, risk aversion {doc['risk_aversion']:g}, "
             f"CVaR level {doc['cvar_level']:g})"]
    if doc["expected_npv_usd"] is not None:
        lines.append(f"  expected NPV        {_m(doc['expected_npv_usd'])}")
        lines.append(f"  CVaR of NPV loss    {_m(doc['cvar_usd'])}  (mean loss over the worst "
                     f"{(1 - doc['cvar_level']) * 100:g}% of paths)")
        if doc.get("engine_expected_npv_usd") is not None:
            lines.append(f"  engine check        {_m(doc['engine_expected_npv_usd'])} (minerplan evaluate of the plan)")
        if doc["mip_gap"] is not None:
            lines.append(f"  MIP gap             {doc['mip_gap'] * 100:.3f} %")
    lines.append("")
    lines.append("Recommendation")
    lines += [f"  - {s}" for s in doc["recommendation"]]
    if doc["shadow_prices"]:
        lines.append("")
        lines.append("Shadow prices")
        for r in doc["shadow_prices"]:
            if r["kind"] in ("site_capacity", "capex_budget"):
                label = "one more MW at" if r["kind"] == "site_capacity" else "one more budget dollar in"
                lines.append(f"  {label} {r['name']}: {r['value_usd']:,.2f} {r['unit']}")
    if doc.get("cash") and doc["settings_min_cash_usd"] is not None:
        lines.append("")
        lines.append("Liquidity (cash floor " + _m(doc["settings_min_cash_usd"]) + ")")
        by_view: dict[str, list] = {}
        for r in doc["cash"]:
            by_view.setdefault(r["view"], []).append(r)
        for view, rows in by_view.items():
            low = min(rows, key=lambda r: r["cash_usd"])
            peak = max(r["credit_usd"] for r in rows)
            lines.append(f"  {view}: lowest cash {_m(low['cash_usd'])} in {low['month']}; most credit drawn {_m(peak)}")
    if doc.get("frontier"):
        lines.append("")
        lines.append("Efficient frontier (risk weight: expected NPV, CVaR of loss)")
        for r in doc["frontier"]:
            if r["expected_npv_usd"] is not None:
                lines.append(f"  {r['risk_aversion']:>5g}: {_m(r['expected_npv_usd'])}, {_m(r['cvar_usd'])}")
    for n in doc["notes"]:
        lines.append(f"  note: {n}")
    t = doc["timings_s"]
    if t:
        lines.append("")
        lines.append(f"Solved in {t.get('total_s', 0):.2f} s (HiGHS {t.get('highs_s', 0):.2f} s); model "
                     f"{doc['sizes'].get('variables', 0):,} variables, {doc['sizes'].get('constraints', 0):,} rows, "
                     f"{doc['sizes'].get('integer_variables', 0):,} integer")
    return "\n".join(lines)
