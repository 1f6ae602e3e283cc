"""Why MW stand idle in an optimizer plan, in words a CFO reads (issue 12, item 3).

"27 MW idle in Texas for the whole horizon" is a question, not an answer. For every site and
month with more than ``IDLE_MIN_MW`` idle, :func:`explain_idle` says why, from the plan and the
decision space (:class:`solvers.decisions.space.DecisionSpace`):

- what emptied the MW: machines the plan retires (not worth running, or fixed by hand), machines the scenario
  itself retires (``retire_month``), MW the plan frees for an AI/HPC conversion (machines retired
  in the ``retire_step_months`` before it starts: they leave on that grid, so up to that early);
  MW of a conversion under construction count as AI/HPC MW from its start month, never as idle;
- why nothing fills them: a take-or-pay site (the optimizer buys no machines there), purchases
  disabled, before the earliest delivery (``purchase_lead_time_months``), purchases fixed to zero
  by hand, or the best purchase candidate that would run in that month is worth nothing to the
  plan (its expected NPV per MW, as one more machine added to this plan, tax included). If a
  candidate is worth something, the limit that stops it: the site full in a later month, the
  capex budget of its delivery year, the cash floor, or the risk weight (CVaR); only when none
  of these applies: no limit of the model explains it (the plan may be within its MIP gap).

Consecutive months with the same reason and similar idle MW (within ``SIMILAR_MW`` or
``SIMILAR_SHARE`` of the first month's) are one row. No Qt here; ``solvers.tables.allocation_table``
puts each month's reason in the allocation table (``idle_reason``) and :func:`merge_idle` rebuilds
the rows from that table (the report, the CLI and the app use it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minerplan.formats import usd_m
from minerplan.scenario.months import add_months, month_index

from .decisions.space import DecisionSpace

#: Idle MW at or below this (gross MW) have no reason: rounding to whole machines and PUE leave specks.
IDLE_MIN_MW = 0.05
#: Consecutive months are one row while their idle MW stay within this many MW of the row's first
#: month, or this share of it, whichever is larger.
SIMILAR_MW = 0.5
SIMILAR_SHARE = 0.05

IDLE_COLUMNS = ["site", "from_month", "to_month", "idle_mw", "reason"]


def _similar(mw: float, first_mw: float) -> bool:
    return abs(mw - first_mw) <= max(SIMILAR_MW, SIMILAR_SHARE * abs(first_mw))


def _runs(items: list[tuple[int, float, object]]) -> list[list[tuple[int, float, object]]]:
    """Group one site's (month index, idle MW, key) items, in month order, into runs of consecutive
    months with equal keys and idle MW similar to the run's first month."""
    runs: list[list] = []
    for item in items:
        m, mw, key = item
        if runs:
            last = runs[-1]
            if last[-1][0] == m - 1 and last[-1][2] == key and _similar(mw, last[0][1]):
                last.append(item)
                continue
        runs.append([item])
    return runs


def explain_idle(space: DecisionSpace, x: np.ndarray, ai_mw: np.ndarray, idle_mw: np.ndarray,
                 buy_value_usd: np.ndarray, buy_tail_usd: np.ndarray | None = None,
                 cash_headroom_usd: np.ndarray | None = None) -> pd.DataFrame:
    """Why the plan ``x`` leaves MW idle: one row per site and run of months (columns ``IDLE_COLUMNS``).

    ``ai_mw`` and ``idle_mw``: gross MW per ``[site, month]`` to AI/HPC (conversions from their start
    month) and idle, as in the allocation table. ``buy_value_usd`` ``[n_var]``: the expected NPV (USD)
    that one more unit of each purchase candidate adds to this plan (NaN where not evaluated);
    ``buy_tail_usd`` ``[n_var]``: its mean over the plan's worst ``1 - cvar_level`` of paths (USD; used
    only with a risk weight); ``cash_headroom_usd`` ``[view, month]``: cash plus the undrawn credit
    line above the cash floor (USD; None without a floor). Returns ``site``, ``from_month``,
    ``to_month`` (YYYY-MM, inclusive), ``idle_mw`` (gross MW, the run's mean) and ``reason``.
    """
    sc, st, t = space.scenario, space.settings, space.table
    n_s, n_m = idle_mw.shape
    months = [add_months(sc.start_month, m) for m in range(n_m)]
    n_var = space.n_var
    x = np.asarray(x, float) if n_var else np.zeros(0)
    kind = t["kind"].to_numpy() if n_var else np.zeros(0, object)
    site_of = t["site_idx"].to_numpy(int) if n_var else np.zeros(0, int)
    month_of = t["month_idx"].to_numpy(int) if n_var else np.zeros(0, int)
    ub = t["ub"].to_numpy(float) if n_var else np.zeros(0)
    unit_mw = t["scale_mw"].to_numpy(float) if n_var else np.zeros(0)
    model_of = t["model"].to_numpy() if n_var else np.zeros(0, object)

    cap = np.array([s.capacity_mw for s in sc.sites], float)[:, None]
    use = space.cap_base + (np.tensordot(x, space.cap_use, axes=(0, 0)) if n_var else 0.0)     # [site, month]
    slack = cap - use                                                                          # MW free
    ret = kind == "retire"
    retired = -np.tensordot(x[ret], space.cap_use[ret], axes=(0, 0)) if ret.any() else np.zeros((n_s, n_m))
    by_hand = ret & (t["lb"].to_numpy(float) > 0) if n_var else ret           # retirements fixed by hand
    retired_by_hand = (-np.tensordot(x[by_hand], space.cap_use[by_hand], axes=(0, 0)) if by_hand.any()
                       else np.zeros((n_s, n_m)))
    ai_signed = np.zeros((n_s, n_m))
    for cv in sc.conversion_plan:
        ai_signed[space.site_names.index(cv.site), month_index(sc.start_month, cv.start_month):] += cv.gross_mw
    own = space.cap_base - ai_signed                                      # the scenario's own machines, MW
    left_own = np.maximum.accumulate(own, axis=1) - own                   # of them gone since their peak
    ai_start = np.diff(ai_mw, axis=1, prepend=ai_mw[:, :1])               # MW a conversion takes in its start month
    step = max(int(st.retire_step_months), 1)
    buy = kind == "buy"
    # [var, month]: the candidate's machines run (take MW) in the month
    runs_in = (space.cap_use[np.arange(n_var), site_of, :] > 1e-12) if n_var else np.zeros((0, n_m), bool)
    value = np.asarray(buy_value_usd, float) if n_var else np.zeros(0)
    per_mw = np.where(buy & (unit_mw > 0), value / np.where(unit_mw > 0, unit_mw, 1.0), np.nan)
    take_or_pay = [s.take_or_pay_mwh_per_month > 0 for s in sc.sites]
    remaining = None
    if st.capex_budget_usd_per_year is not None and n_var:
        remaining = st.capex_budget_usd_per_year - space.capex_base_year - x @ space.capex_year      # [year] USD

    def fill_key(s: int, m: int):
        """Why nothing is bought for site ``s``'s idle MW in month ``m``: a hashable key."""
        if take_or_pay[s] or not space.decided_sites[s]:
            return ("take_or_pay",)
        if not st.allow_purchases or not st.purchase_models:
            return ("disabled",)
        cands = np.flatnonzero(buy & (site_of == s) & runs_in[:, m]) if n_var else np.zeros(0, int)
        if m < st.purchase_lead_time_months or not cands.size:
            return ("before_delivery",)
        cands = cands[ub[cands] > 1e-12]
        if not cands.size:
            return ("fixed_zero",)
        cands = cands[np.isfinite(per_mw[cands])]
        if not cands.size:
            return ("not_modelled",)
        best = cands[np.argmax(per_mw[cands])]
        if per_mw[best] <= 0:
            return ("no_payback", model_of[best])
        # Candidates worth something: the limit that keeps the best one out; a budget names every
        # year that keeps one of them out.
        pos = cands[per_mw[cands] > 0]
        keys = [blocker(s, j) for j in pos[np.argsort(-per_mw[pos], kind="stable")]]
        if keys[0][0] == "budget":
            return ("budget", tuple(sorted({k[1] for k in keys if k[0] == "budget"})))
        return keys[0]

    def blocker(s: int, j: int):
        """The limit that keeps a purchase worth something out of the plan."""
        need = space.cap_use[j, s]
        full = np.flatnonzero((need > 1e-12) & (slack[s] < need - 1e-9))
        if full.size:
            return ("no_room", int(full[0]))
        if remaining is not None:
            short = np.flatnonzero((space.capex_year[j] > 0) & (remaining < space.capex_year[j] - 1e-6))
            if short.size:
                return ("budget", int(short[0]))
        if cash_headroom_usd is not None and space.cf_x is not None:
            after = cash_headroom_usd + np.cumsum(space.cf_x[:, :, j], axis=1)
            if (after < -1e-6).any():
                return ("cash",)
        if st.risk_aversion > 0 and buy_tail_usd is not None and np.isfinite(buy_tail_usd[j]):
            if value[j] + st.risk_aversion * buy_tail_usd[j] <= 0:
                return ("risk",)
        return ("not_modelled",)

    rows = []
    for s in range(n_s):
        items = []
        for m in range(n_m):
            idle = float(idle_mw[s, m])
            if idle <= IDLE_MIN_MW:
                continue
            parts = []
            # MW freed by retirements in the step before a conversion starts, waiting for it
            held = 0.0
            window = np.flatnonzero(ai_start[s, m + 1:m + 1 + step] > IDLE_MIN_MW)
            if window.size:
                t_c = m + 1 + int(window[0])
                before = t_c - step - 1
                freed = retired[s, m] - (retired[s, before] if before >= 0 else 0.0)
                held = max(min(idle, float(ai_start[s, t_c]), float(freed)), 0.0)
            if held > IDLE_MIN_MW:
                parts.append(("reserved", t_c))
            if retired_by_hand[s, m] > IDLE_MIN_MW:
                parts.append(("retired_by_hand",))
            if retired[s, m] - retired_by_hand[s, m] - held > IDLE_MIN_MW:
                parts.append(("retired",))
            if left_own[s, m] > IDLE_MIN_MW:
                parts.append(("scenario_retired",))
            if idle - held > IDLE_MIN_MW:
                parts.append(fill_key(s, m))
            items.append((m, idle, tuple(parts)))
        for run in _runs(items):
            ms = [m for m, _, _ in run]
            text = "; ".join(_words(space, part, s, ms, per_mw, runs_in, buy, site_of, month_of, model_of, value,
                                    remaining, months) for part in run[0][2])
            rows.append(dict(site=space.site_names[s], from_month=months[ms[0]], to_month=months[ms[-1]],
                             idle_mw=float(np.mean([mw for _, mw, _ in run])), reason=text))
    return pd.DataFrame(rows, columns=IDLE_COLUMNS)


def _words(space: DecisionSpace, part: tuple, s: int, ms: list[int], per_mw, runs_in, buy, site_of, month_of,
           model_of, value, remaining, months: list[str]) -> str:
    """One part of a run's reason as a phrase; candidates are the best over the run's months."""
    st = space.settings
    what = part[0]
    if what == "reserved":
        return f"reserved for the AI/HPC conversion starting {months[part[1]]}"
    if what == "retired":
        return "machines retired (not worth running)"
    if what == "retired_by_hand":
        return "machines retired (fixed by hand)"
    if what == "scenario_retired":
        return "machines retired in the scenario (their retire_month)"
    if what == "take_or_pay":
        return "take-or-pay site: the optimizer does not buy machines for it"
    if what == "disabled":
        return "purchases disabled (optimizer settings)"
    if what == "before_delivery":
        lead = st.purchase_lead_time_months
        first = (f"first delivery {add_months(space.scenario.start_month, lead)}" if lead < len(months)
                 else "no delivery inside the horizon")
        return f"before the earliest delivery (lead time {lead} months: {first})"
    if what == "fixed_zero":
        return "purchases here are fixed to zero by hand"

    def best(models=None, positive=False) -> int | None:
        """The candidate worth most per MW among those running in any of the run's months."""
        sel = buy & (site_of == s) & runs_in[:, ms].any(axis=1) & np.isfinite(per_mw)
        if models is not None:
            sel &= model_of == models
        if positive:
            sel &= per_mw > 0
        idx = np.flatnonzero(sel)
        return int(idx[np.argmax(per_mw[idx])]) if idx.size else None

    def named(j: int | None) -> str:
        return f"{model_of[j]} delivered {months[month_of[j]]}" if j is not None else "a purchase"

    if what == "no_payback":
        j = best(part[1])
        if j is None:
            return "no purchase pays back"
        return (f"no purchase pays back: the best candidate ({named(j)}) is worth "
                f"{usd_m(per_mw[j], 2, plus=True)} per MW (expected NPV)")
    j = best(positive=True)
    cand = f"{named(j)} (worth {usd_m(per_mw[j], 2, plus=True)} per MW)" if j is not None else named(j)
    if what == "no_room":
        return (f"no room for a new machine's whole life: the site is full in {months[part[1]]}, so {cand} "
                "cannot be added")
    if what == "budget":
        years = [str(space.years[y]) for y in part[1]]
        named_years = years[0] if len(years) == 1 else f"{', '.join(years[:-1])} and {years[-1]}"
        left = ", ".join(f"${max(float(remaining[y]), 0.0) / 1e6:,.1f}M" for y in part[1])
        return (f"capex budget binding in {named_years}: {left} left of the "
                f"${st.capex_budget_usd_per_year / 1e6:,.1f}M a year, too little for {cand}")
    if what == "cash":
        credit = f"the ${st.credit_line_usd / 1e6:,.1f}M credit line" if st.credit_line_usd else "no credit line"
        return f"cash floor binding: {cand} would take cash below the ${st.min_cash_usd / 1e6:,.1f}M floor ({credit})"
    if what == "risk":
        return (f"too risky at risk aversion {st.risk_aversion:g}: {cand} adds expected NPV but more to the CVaR "
                "of loss")
    tail = f" ({cand} looks worth buying; the plan may be within its MIP gap)" if j is not None else ""
    return f"no limit of the model explains it{tail}"


def idle_by_month(runs: pd.DataFrame, site_names: list[str], months: list[str]) -> list[str | None]:
    """Each site-month's reason from :func:`explain_idle`'s rows, site-major like the allocation table;
    None for months in no row (less than ``IDLE_MIN_MW`` idle)."""
    out: list[str | None] = [None] * (len(site_names) * len(months))
    pos = {m: i for i, m in enumerate(months)}
    for r in runs.itertuples(index=False):
        s = site_names.index(r.site)
        for i in range(pos[r.from_month], pos[r.to_month] + 1):
            out[s * len(months) + i] = r.reason
    return out


def merge_idle(allocation: pd.DataFrame) -> pd.DataFrame:
    """The idle rows of an allocation table (``site``, ``month``, ``idle_mw``, ``idle_reason``) merged
    as :func:`explain_idle` merges them: consecutive months of a site with the same reason and similar
    idle MW are one row (columns ``IDLE_COLUMNS``; ``idle_mw`` is the run's mean, gross MW).
    An allocation without ``idle_reason`` (or with no idle MW) gives an empty table."""
    if allocation is None or "idle_reason" not in allocation.columns or not len(allocation):
        return pd.DataFrame(columns=IDLE_COLUMNS)
    rows = []
    for site, g in allocation.groupby("site", sort=False):
        g = g.sort_values("month")
        month_list = g["month"].tolist()
        items = []
        for i, (mw, why) in enumerate(zip(g["idle_mw"].to_numpy(float), g["idle_reason"].tolist())):
            if mw > IDLE_MIN_MW and isinstance(why, str) and why:
                items.append((i, float(mw), why))
        for run in _runs(items):
            rows.append(dict(site=site, from_month=month_list[run[0][0]], to_month=month_list[run[-1][0]],
                             idle_mw=float(np.mean([mw for _, mw, _ in run])), reason=run[0][2]))
    return pd.DataFrame(rows, columns=IDLE_COLUMNS)
