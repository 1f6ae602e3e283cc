"""Optimizer results for people and scripts: plain-language recommendation, text and JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from minerplan.analysis.vocabulary import expected_npv
from minerplan.formats import pct, usd_m
from minerplan.scenario.months import month_index
from minerplan.scenario.files import scenario_to_dict

from .idle import merge_idle
from .result import OptimizationResult


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def quarter(month: str) -> str:
    """The calendar quarter of a month: ``2026-03`` -> ``2026-Q1``."""
    y, m = month.split("-")
    return f"{y}-Q{(int(m) - 1) // 3 + 1}"


#: A plan whose MIP gap is above this share is a *draft*: the best plan may be worth this much more
#: than it (the gap is relative to the plan's objective), too much to take to a board as "the"
#: plan. Such a plan is labelled a draft wherever it is shown and each recommendation line starts
#: with ``DRAFT_PREFIX``. A time-limited plan at or below it is labelled "not proven optimal" with
#: its gap and bound; a time-limited plan without a known gap (no bound yet, or an LP stopped early)
#: is a draft. A plan HiGHS proved within the requested gap, at or below this, carries no label.
DRAFT_GAP = 0.05
DRAFT_PREFIX = "DRAFT: "

#: Why there is no plan, in words a CFO reads, with what to change (``{limit}``: the time limit, s).
_NO_PLAN = {
    "time_limit": "No plan: no feasible plan was found within the time limit of {limit:g} s. Raise the time limit, "
                  "use fewer price paths or accept a larger MIP gap.",
    "infeasible": "No plan: the constraints cannot all be met together. Relax the limits named below by at least "
                  "the amounts shown (budget, cash floor or credit line, crews, capacity), or change the signed "
                  "commitments or fixed decisions that need them.",
    "error": "No plan: the solver stopped with an error; try again with fewer price paths or a longer time limit.",
}


def plan_quality(res: OptimizationResult) -> str:
    """``"none"`` (no plan to show), ``"proven"`` (HiGHS proved it within the requested gap, at most
    ``DRAFT_GAP``), ``"not_proven"`` (stopped at the time limit, gap at most ``DRAFT_GAP``) or ``"draft"``."""
    if not res.ok:
        return "none"
    gap = res.mip_gap
    if gap is None:
        return "draft" if res.status == "time_limit" else "proven"
    if gap > DRAFT_GAP:
        return "draft"
    return "not_proven" if res.status == "time_limit" else "proven"


def plan_label(res: OptimizationResult) -> str | None:
    """The sentence a time-limited or gapped plan carries wherever it is shown; None for a proven plan
    (and for no plan: :func:`recommendation` says why there is none)."""
    quality = plan_quality(res)
    if quality in ("none", "proven"):
        return None
    st = res.settings
    if res.mip_gap is None:
        gap = "its gap is unknown (HiGHS had no bound yet)"
    elif res.bound_usd is not None:
        gap = f"gap {pct(res.mip_gap)} (best bound {usd_m(res.bound_usd)}: no plan can beat that)"
    else:
        gap = f"gap {pct(res.mip_gap)}"
    if res.status == "time_limit":
        head = f"Plan found within the time limit of {st.time_limit_s:g} s, NOT proven optimal: {gap}"
        change = "For a proven plan raise the time limit or use fewer price paths."
    else:
        head = f"Plan within the requested MIP gap of {pct(st.mip_gap)}, NOT proven optimal: {gap}"
        change = "For a proven plan lower the MIP gap (e.g. 0.5%)."
    if quality == "draft":
        return f"{head} - treat as a draft, not a recommendation. {change}"
    return f"{head}. {change}"


def check_failure(res: OptimizationResult) -> str:
    """Why a plan that failed the engine check is not shown as the answer, in plain words."""
    c = res.check
    return (f"No plan: the engine check failed. The optimizer values its plan at {usd_m(c.optimizer_npv_usd)} "
            f"{expected_npv(res.settings.n_paths)}, but the engine (minerplan evaluate of the same plan on the same {res.settings.n_paths:,} price "
            f"paths) gives {usd_m(c.engine_npv_usd)}; they differ by ${abs(c.difference_usd):,.0f} (path "
            f"{c.worst_path + 1}: ${abs(c.worst_path_difference_usd):,.0f}), beyond the ${c.tolerance_usd:,.0f} "
            f"allowed (1e-6 of the plan's total cash flow). One of the two is wrong, so the plan must not be used: "
            f"this is a fault in MinerPlan, not in the scenario. Report it with the scenario file and these "
            f"settings; a run with another number of price paths may avoid it.")


def recommendation(res: OptimizationResult) -> list[str]:
    """Sentences a CFO can take to the board, e.g. "Convert 40 MW at Texas from 2026-03".

    A time-limited or gapped plan starts with its label (:func:`plan_label`); a draft's lines start
    with ``DRAFT_PREFIX``. Without a plan: why, and what to change.
    """
    if res.status == "check_failed" and res.check is not None:
        return [check_failure(res)]
    if not res.ok:
        return [_NO_PLAN.get(res.status, f"No plan: the solver stopped ({res.status.replace('_', ' ')}).")
                .format(limit=res.settings.time_limit_s)] + res.explanation
    label = plan_label(res)
    prefix = DRAFT_PREFIX if plan_quality(res) == "draft" else ""
    return ([label] if label else []) + [prefix + line for line in _plan_lines(res)]


def _plan_lines(res: OptimizationResult) -> list[str]:
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
                         f"critical, ready {r.ready_month}) and {what}; capex {usd_m(r.capex_usd)}."
                         + _horizon_flag(sc, r.start_month, r.ready_month))
    converted_sites = set(conv.site) if len(conv) else set()
    retired = res.retirements
    if len(retired):
        retired = retired.assign(quarter=retired.month.map(quarter))
        for (site, model, q), g in retired.groupby(["site", "model", "quarter"], sort=False):
            lines.append(f"Retire {g.units.sum():,.0f} {model} at {site} in {q} "
                         f"({g.mw.sum():,.1f} MW, salvage {usd_m(g.salvage_usd.sum())})."
                         + _horizon_flag(sc, g.month.min(), None))
    moves = res.moves if res.moves is not None else None
    if moves is not None and len(moves):
        moves = moves.assign(quarter=moves.month.map(quarter))
        for (frm, to, model, q), g in moves.groupby(["from_site", "to_site", "model", "quarter"], sort=False):
            lines.append(f"Move {g.units.sum():,.0f} {model} from {frm} to {to} in {q} ({g.mw.sum():,.1f} MW at "
                         f"{to}; offline until {g.arrive_month.max()}; cost ${g.cost_usd.sum():,.0f})."
                         + _horizon_flag(sc, g.month.min(), None))
    buys = res.purchases
    if len(buys):
        for (site, model), g in buys.groupby(["site", "model"], sort=False):
            first = g.month.min()
            lines.append(f"Buy {g.units.sum():,.0f} {model} for {site} from {first} "
                         f"({g.mw.sum():,.1f} MW, capex {usd_m(g.capex_usd.sum())})."
                         + _horizon_flag(sc, g.month.max(), None))
    for site in sc.sites:
        if site.name not in converted_sites:
            lines.append(_mining_line(sc, site.name))
    return lines


#: Decisions in the horizon's last this many months are flagged: their value leans on what the
#: model assumes after the horizon (terminal and residual values), not on cash inside it.
HORIZON_END_MONTHS = 6


def _horizon_flag(sc, month: str, ready_month: str | None) -> str:
    """A warning for a decision that may exist only because the horizon ends (issue 12)."""
    last = sc.months[-1]
    if ready_month is not None and month_index(last, ready_month) > 0:
        return (f" [Check: ready after the horizon ends ({last}), so its whole value is the value assumed "
                "after the horizon; re-run with a longer horizon before acting on it.]")
    if month_index(month, last) < HORIZON_END_MONTHS:
        return (f" [Check: in the horizon's last {HORIZON_END_MONTHS} months, so it may exist only because the "
                "horizon ends; re-run with a longer horizon before acting on it.]")
    return ""


def _mining_line(sc, site: str) -> str:
    """What the plan leaves mining at an unconverted site, so the words agree with the plan's
    retirements ("Keep Georgia mining" for a plan that retires every Georgia machine was wrong)."""
    last = month_index(sc.start_month, sc.months[-1])
    units = mw = 0.0
    stop_month = None
    moved = False      # units that leave at a stated price: a plan's move (or a signed sale)
    for c in sc.fleet:
        if c.site != site:
            continue
        start = month_index(sc.start_month, c.purchase_month) if c.purchase_month else 0
        end = month_index(sc.start_month, c.retire_month) if c.retire_month else last + 1
        if start <= last < end:
            units += c.count
            mw += c.count * c.power_w / 1e6
        elif c.retire_month and (stop_month is None or c.retire_month > stop_month):
            stop_month = c.retire_month
        moved = moved or (c.retire_month is not None and c.sale_price_usd is not None)
    if units > 0:
        return f"Keep {site} mining ({units:,.0f} machines, {mw:,.1f} MW at the horizon's end)."
    if stop_month is not None:
        how = "moves or retires" if moved else "retires"
        return (f"{site} stops mining in {quarter(stop_month)}: the plan {how} every machine there and "
                "nothing replaces them.")
    return f"{site} has no machines in the plan."


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (_num(v) if isinstance(v, (float, np.floating)) else
                        (int(v) if isinstance(v, (np.integer,)) else (bool(v) if isinstance(v, np.bool_) else v)))
                    for k, v in row.items()})
    return out


def idle_capacity(res: OptimizationResult) -> pd.DataFrame:
    """Where the plan leaves MW idle and why: ``site``, ``from_month``, ``to_month`` (YYYY-MM, inclusive),
    ``idle_mw`` (gross MW, mean over those months) and ``reason``, one row per run of consecutive
    months with the same reason and similar MW (:func:`solvers.idle.merge_idle` of the allocation
    table's ``idle_reason``). Empty without a plan or without idle MW."""
    return merge_idle(res.allocation)


def _idle_records(res: OptimizationResult) -> list[dict[str, Any]]:
    """The idle-capacity rows for JSON, with each row's length in months."""
    out = []
    for r in _records(idle_capacity(res)):
        r["duration_months"] = month_index(r["from_month"], r["to_month"]) + 1
        out.append(r)
    return out


def _idle_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The text report's "Idle capacity" lines: site, months, MW, reason."""
    lines = []
    for r in rows:
        n = r.get("duration_months") or month_index(r["from_month"], r["to_month"]) + 1
        when = r["from_month"] if n == 1 else f"{r['from_month']} to {r['to_month']} ({n} months)"
        lines.append(f"  {r['site']}, {when}: {r['idle_mw']:,.1f} MW - {r['reason']}")
    return lines


def result_to_json(res: OptimizationResult, engine_npv_usd: float | None = None) -> dict[str, Any]:
    """The result for scripts. ``status``: ``optimal``, ``time_limit`` (a plan, not proven optimal),
    ``check_failed`` (the engine disagrees with the optimizer's value of its plan: an error, no plan to
    use), ``infeasible`` or ``error``; ``solver_status`` is HiGHS's own. ``plan_quality`` (proven,
    not_proven, draft, none) and ``label`` say how far to trust a plan; ``mip_gap`` and ``bound_usd``
    (the best bound on the objective) measure it. ``engine_check`` holds both valuations.
    ``idle_capacity``: where MW stand idle and why (site, from_month, to_month, duration_months,
    idle_mw in gross MW, reason; see :func:`idle_capacity`).
    ``engine_npv_usd``: an engine valuation from elsewhere, used only when ``res`` has no check."""
    check = res.check
    if check is not None:
        engine_npv_usd = check.engine_npv_usd
    doc: dict[str, Any] = {
        "status": res.status,
        # how the model was solved: the L-shaped decomposition's rounds and cuts, or None (extensive form)
        "decomposition": res.decomposition,
        "solver_status": res.solver_status or res.status,
        "plan_quality": plan_quality(res),
        "draft": plan_quality(res) == "draft",
        "label": plan_label(res) if res.status != "check_failed" or check is None else check_failure(res),
        "objective_usd": _num(res.objective_usd),
        "expected_npv_usd": _num(res.expected_npv_usd),
        "cvar_usd": _num(res.cvar_usd),
        "cvar_level": res.settings.cvar_level,
        "risk_aversion": res.settings.risk_aversion,
        "settings_min_cash_usd": res.settings.min_cash_usd,
        "mip_gap": _num(res.mip_gap),
        "bound_usd": _num(res.bound_usd),
        "rounding_value_usd": _num(res.rounding_value_usd),
        "draft_gap": DRAFT_GAP,
        "paths": res.settings.n_paths,
        "seed": res.settings.seed,
        "preset": res.settings.preset,
        "recommendation": recommendation(res),
        "allocation": _records(res.allocation),
        "idle_capacity": _idle_records(res),
        "conversions": _records(res.conversions),
        "purchases": _records(res.purchases),
        "retirements": _records(res.retirements),
        # machines moved between sites: from_site, to_site, month (they leave), arrive_month, units, mw, cost_usd
        "moves": _records(res.moves) if res.moves is not None else [],
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
    doc["engine_check"] = ({k: (_num(v) if isinstance(v, float) else v) for k, v in check.to_json().items()}
                           if check is not None else None)
    return doc


def format_result(doc: dict[str, Any]) -> str:
    """The report as text. Its first line says what the answer is when it is not a proven plan: the
    plan's label (time limit, gap, draft) or, for a failed engine check, the error."""
    lines = []
    if doc["status"] == "check_failed":
        lines.append("ERROR: " + (doc.get("label") or "the engine check failed: the plan must not be used."))
    elif doc.get("label"):
        lines.append(("DRAFT - " if doc.get("draft") else "WARNING: ") + doc["label"])
    status = doc["status"].replace("_", " ")
    if doc.get("solver_status") and doc["solver_status"] != doc["status"]:
        status += f" (HiGHS: {doc['solver_status'].replace('_', ' ')})"
    lines.append(f"Optimizer: {status}  ({doc['paths']:,} price paths, risk aversion {doc['risk_aversion']:g}, "
                 f"CVaR level {doc['cvar_level']:g})")
    if doc["expected_npv_usd"] is not None:
        lines.append(f"  {expected_npv(doc['paths'])}   {usd_m(doc['expected_npv_usd'])}")
        lines.append(f"  CVaR of NPV loss    {usd_m(doc['cvar_usd'])}  (mean loss over the worst "
                     f"{(1 - doc['cvar_level']) * 100:g}% of paths)")
        chk = doc.get("engine_check")
        if chk is not None:
            verdict = (f"agrees within ${chk['tolerance_usd']:,.0f}" if chk["ok"] else
                       f"DISAGREES by ${abs(chk['difference_usd']):,.0f} (allowed ${chk['tolerance_usd']:,.0f})")
            lines.append(f"  engine check        {usd_m(chk['engine_expected_npv_usd'])} (minerplan evaluate of the "
                         f"plan): {verdict}")
        elif doc.get("engine_expected_npv_usd") is not None:
            lines.append(f"  engine check        {usd_m(doc['engine_expected_npv_usd'])} "
                         "(minerplan evaluate of the plan)")
        if doc["mip_gap"] is not None:
            bound = f"  (best bound {usd_m(doc['bound_usd'])})" if doc.get("bound_usd") is not None else ""
            lines.append(f"  MIP gap             {doc['mip_gap'] * 100:.3f} %{bound}")
    lines.append("")
    lines.append("Recommendation")
    lines += [f"  - {s}" for s in doc["recommendation"]]
    if doc.get("idle_capacity"):
        lines.append("")
        lines.append("Idle capacity (gross MW neither mining nor AI/HPC, and why)")
        lines += _idle_lines(doc["idle_capacity"])
    if doc["shadow_prices"]:
        lines.append("")
        lines.append("Shadow prices")
        for r in doc["shadow_prices"]:
            if r["kind"] in ("site_capacity", "capex_budget"):
                label = "one more MW at" if r["kind"] == "site_capacity" else "one more budget dollar in"
                lines.append(f"  {label} {r['name']}: {r['value_usd']:,.2f} {r['unit']}")
    if doc.get("cash") and doc["settings_min_cash_usd"] is not None:
        lines.append("")
        lines.append("Liquidity (cash floor " + usd_m(doc["settings_min_cash_usd"]) + ")")
        by_view: dict[str, list] = {}
        for r in doc["cash"]:
            by_view.setdefault(r["view"], []).append(r)
        for view, rows in by_view.items():
            low = min(rows, key=lambda r: r["cash_usd"])
            peak = max(r["credit_usd"] for r in rows)
            lines.append(f"  {view}: lowest cash {usd_m(low['cash_usd'])} in {low['month']}; "
                         f"most credit drawn {usd_m(peak)}")
    if doc.get("frontier"):
        lines.append("")
        lines.append(f"Efficient frontier (risk weight: {expected_npv(doc['paths'])}, CVaR of loss)")
        for r in doc["frontier"]:
            if r["expected_npv_usd"] is not None:
                lines.append(f"  {r['risk_aversion']:>5g}: {usd_m(r['expected_npv_usd'])}, {usd_m(r['cvar_usd'])}")
    for n in doc["notes"]:
        lines.append(f"  note: {n}")
    t = doc["timings_s"]
    if t:
        lines.append("")
        lines.append(f"Solved in {t.get('total_s', 0):.2f} s (HiGHS {t.get('highs_s', 0):.2f} s); model "
                     f"{doc['sizes'].get('variables', 0):,} variables, {doc['sizes'].get('constraints', 0):,} rows, "
                     f"{doc['sizes'].get('integer_variables', 0):,} integer")
    return "\n".join(lines)
