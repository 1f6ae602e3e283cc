"""The Optimize view's words: the KPI line, the recommendation and the colour of a labelled plan. No Qt here.

The sentences themselves are :mod:`solvers.report`'s (the CLI prints the same); money through
:mod:`minerplan.formats`.
"""

from __future__ import annotations

from minerplan.analysis.vocabulary import capitalized, expected_npv
from minerplan.formats import usd_m
from solvers.report import plan_quality, recommendation
from solvers.result import OptimizationResult

#: Text colours: a draft or a failed engine check in red, a plan not proven optimal in amber.
RED, AMBER, BLUE = "#b3261e", "#8a6100", "#1f4e79"


def warning_colour(res: OptimizationResult | None) -> str | None:
    """The colour a result's KPI line and recommendation are shown in (None: the usual)."""
    if res is None:
        return None
    if res.status == "check_failed" or plan_quality(res) == "draft":
        return RED
    if plan_quality(res) == "not_proven":
        return AMBER
    return None


def recommendation_text(res: OptimizationResult) -> str:
    """The recommendation as bullet lines, what to change when there is no plan, and the run's notes."""
    lines = recommendation(res)
    if not res.ok and not res.explanation:
        if res.status == "time_limit":
            lines.append("HiGHS found no plan within the time limit: raise the time limit (s) or the MIP gap (%), "
                         "or set the hall size to 0 for the faster LP.")
        elif res.status == "error":
            lines.append("HiGHS stopped without a plan; try fewer price paths or a hall size of 0 (LP).")
    text = "\n".join(f"- {s}" for s in lines)
    if res.notes:
        text += "\n\n" + "\n".join(f"Note: {n}" for n in res.notes)
    return text


def kpi_text(res: OptimizationResult, from_run: bool) -> str:
    """The KPI line: expected NPV, CVaR, MIP gap and status (USD), labelled when the plan is a draft, not proven
    or a frontier point (``from_run`` False); for no plan, the status."""
    st = res.settings
    tail = f"{(1 - st.cvar_level) * 100:g}%"
    if res.status == "check_failed" and res.check is not None:
        return (f"ENGINE CHECK FAILED (no plan to use): optimizer {usd_m(res.check.optimizer_npv_usd)}, engine "
                f"{usd_m(res.check.engine_npv_usd)} {expected_npv(st.n_paths)} (USD)")
    if not res.ok:
        return f"Status: {res.status.replace('_', ' ')} (no plan)"
    quality = plan_quality(res)
    if res.mip_gap is None:
        gap = "unknown" if quality == "draft" else "n/a (frontier point)"
    else:
        gap = f"{res.mip_gap * 100:.2f} %"
    if res.bound_usd is not None and res.mip_gap is not None:
        gap += f" (best bound {usd_m(res.bound_usd)})"
    origin = "" if from_run else f"   |   frontier point, risk weight {st.risk_aversion:g}"
    head = {"draft": "DRAFT, NOT a recommendation   |   ",
            "not_proven": "NOT proven optimal   |   "}.get(quality, "")
    return (f"{head}{capitalized(expected_npv(st.n_paths))} {usd_m(res.expected_npv_usd)} (USD)   |   CVaR of NPV "
            f"loss, worst {tail} of paths "
            f"{usd_m(res.cvar_usd)} (USD)   |   MIP gap {gap}   |   status {res.status.replace('_', ' ')}"
            f"{origin}")
