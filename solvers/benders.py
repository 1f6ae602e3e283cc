"""The L-shaped method (Van Slyke and Wets 1969) in its multi-cut form (Birge and Louveaux 1988).

Why: on the shipped scenario the extensive form writes each path's take-or-pay dispatch and
carry-forward tax as rows (500 paths: 96k variables, 99k rows, 0.7M nonzeros), and HiGHS's simplex
needs ~20 s for it. Here the master problem keeps only the first-stage decisions, their own limits
(capacity, crews, budget, retirements) and one variable ``theta[p]`` per path for the recourse; the
recourse of a candidate plan and a supergradient come from numpy in closed form
(:mod:`solvers.recourse`, milliseconds for all paths at once) and enter the master as cuts
``theta[p] <= Q_p(x_k) + g_p . (x - x_k)``, only where the master over-values a path.

Two phases. First the LP relaxation (HiGHS keeps its basis between rounds) until its bound and the
exact value of its plan are within ``LP_GAP``: the cuts then describe the recourse near the optimum.
Then the master as a MIP with those cuts: each round's plan is valued exactly, cuts are added where
the master over-values it, and the run stops when the best plan is within the user's MIP gap of the
master's proven bound (a valid bound: cuts never cut off the true recourse, which is concave).
The plan reported is the best one valued exactly, so the gap printed is the gap of that plan.

A cash floor is cut the same way: each liquidity view's recourse cash through each month is a
variable ``rho[w, t]`` of the master, cut by :func:`solvers.recourse.cash_recourse`; a plan counts as
an answer only when its exact cash (the report's cash table) keeps the floor.

``mpi-sppy`` (Sandia) implements L-shaped and progressive hedging over Pyomo, but solves each
path's recourse as its own Pyomo LP, which here is a closed-form numpy computation 1,000x
cheaper; it also brings MPI. This is ~150 lines of our own on top of highspy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from minerplan.formats import usd_m

from .decisions.space import DecisionSpace
from .highs_backend import MIN_RUN_S, HighsModel, SolveOutcome
from .model.parts import USD_M, BuiltModel
from .recourse import _Evaluation, cash_recourse, recourse
from .tables import cash_table
from .valuation import cvar_of_loss

#: Relative gap at which the LP phase hands over to the MIP phase.
LP_GAP = 1e-4
#: A cut is added for a path when the master values its recourse above the exact value by more than
#: this (USD millions, plus the same relative to the value): below it the cut changes nothing.
CUT_TOL = 1e-7
#: Rounds at most (each: one master solve, one numpy valuation of all paths).
MAX_ROUNDS = 400


@dataclass
class DecompositionLog:
    """What the decomposition did: rounds per phase, cuts, and the gap after each round."""

    lp_rounds: int = 0
    mip_rounds: int = 0
    cuts: int = 0
    gaps: list[float] = field(default_factory=list)
    recourse_s: float = 0.0

    def to_json(self) -> dict:
        return {"method": "L-shaped (multi-cut)", "lp_rounds": self.lp_rounds, "mip_rounds": self.mip_rounds,
                "cuts": self.cuts, "recourse_s": self.recourse_s,
                # the last round's gap (None when it had no plan above the cash floor: JSON has no infinity)
                "final_gap": float(self.gaps[-1]) if self.gaps and np.isfinite(self.gaps[-1]) else None}


def solve_decomposed(space: DecisionSpace, built: BuiltModel, hm: HighsModel, *, mip_gap: float,
                     risk_aversion: float, cvar_level: float,
                     progress: Callable[[float, str], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> tuple[SolveOutcome, DecompositionLog]:
    """Solve the master ``hm`` (built with ``recourse="cuts"``) by adding cuts; see the module."""
    form = hm.form
    col = {id(v): i for i, v in enumerate(form.col_vars)}
    xcols = np.array([col[id(built.model.x[j])] for j in range(space.n_var)], dtype=np.int64)
    tcols = np.array([col[id(v)] for v in built.theta_vars], dtype=np.int64)
    rcols = np.array([col[id(v)] for v in built.rho_vars], dtype=np.int64)    # cash floor: rho[w, t]
    lb_x, ub_x = form.col_lower[xcols], form.col_upper[xcols]
    ints = form.integer[xcols]
    log = DecompositionLog()
    started = time.perf_counter()

    def value(x: np.ndarray):
        """(exact objective, or -inf when the plan breaks the cash floor; the cuts' data)."""
        t0 = time.perf_counter()
        ev = _Evaluation(space, x)
        q, g = recourse(space, x, evaluation=ev)
        cash = cash_recourse(space, x, evaluation=ev) if rcols.size else None
        log.recourse_s += time.perf_counter() - t0
        npv = space.base_npv + (space.coef_path @ x if space.n_var else 0.0) + q
        obj = float(npv.mean())
        if risk_aversion > 0:
            obj -= risk_aversion * cvar_of_loss(npv, cvar_level)
        if cash is not None and not _keeps_cash_floor(space, x, ev):
            obj = -np.inf
        return obj, (q, g, cash)

    def add_cuts(x: np.ndarray, data, full: np.ndarray | None) -> int:
        q, g, cash = data
        n = _cuts(x, q, g, tcols, None if full is None else full[tcols])
        if cash is not None:
            r, h = cash
            n += _cuts(x, r.ravel(), h.reshape(-1, space.n_var), rcols, None if full is None else full[rcols])
        return n

    def _cuts(x, q, g, vcols, current) -> int:
        """Rows var - g . x <= q - g . x_k (USD M) where the master's ``current`` value is above ``q``."""
        qm = q / USD_M
        sel = np.arange(q.size) if current is None else np.flatnonzero(current - qm > CUT_TOL * (1.0 + np.abs(qm)))
        if sel.size == 0:
            return 0
        gm = g[sel] / USD_M                                                          # [cuts, n_var]
        nz = np.abs(gm) > 1e-12
        counts = nz.sum(axis=1) + 1
        start = np.concatenate([[0], np.cumsum(counts)])
        index = np.empty(start[-1], dtype=np.int64)
        val = np.empty(start[-1])
        r, c = np.nonzero(nz)
        pos = start[:-1][r] + 1 + (np.arange(r.size) - np.concatenate([[0], np.cumsum(nz.sum(axis=1))])[:-1][r])
        index[start[:-1]] = vcols[sel]
        val[start[:-1]] = 1.0
        index[pos] = xcols[c]
        val[pos] = -gm[r, c]
        upper = qm[sel] - gm @ x
        hm.add_rows("benders_cut", np.full(sel.size, -np.inf), upper, start, index, val)
        log.cuts += sel.size
        return sel.size

    def report(frac: float, text: str) -> None:
        if progress is not None:
            progress(frac, text)

    def stopped() -> bool:
        return (cancel is not None and cancel()) or (hm.deadline is not None
                                                     and time.perf_counter() > hm.deadline - MIN_RUN_S)

    # Start from the status quo: one cut per path there (the master is bounded from the first round).
    x0 = np.clip(np.zeros(space.n_var), lb_x, ub_x)
    _, data0 = value(x0)
    add_cuts(x0, data0, None)

    best_obj, best_full, bound = -np.inf, None, np.inf
    last: SolveOutcome | None = None
    has_ints = bool(ints.any())
    status = "optimal"
    for phase in (("lp", "mip") if has_ints else ("lp",)):
        hm.relax_integers(phase == "lp")
        # The master MIP stops at 80% of the user's gap: the LP phase leaves the cuts exact near the
        # optimum, so the rest covers the recourse at the MIP's plan. At half the gap, HiGHS spent 4 of its
        # 5 s on the shipped scenario (500 paths, seed 1) in sub-MIP heuristics closing 0.35% to 0.25%.
        hm.set_mip_gap(max(mip_gap * 0.8, 1e-9))
        # HiGHS's MIP presolve on the master (thousands of dense cuts) took 2.5 s of a 2.8 s solve on the
        # shipped scenario at 500 paths; without it the same MIP solves in 0.9 s to the same plan and bound.
        hm.set_presolve(phase != "mip")
        target = LP_GAP if phase == "lp" and has_ints else mip_gap
        if phase == "lp" and not has_ints:
            target = min(mip_gap, LP_GAP)
        if phase == "mip":
            bound = np.inf   # the LP's bound also holds for the MIP, but the MIP's own is tighter
        while True:
            if stopped():
                status = "cancelled" if cancel is not None and cancel() else "time_limit"
                break
            rounds = log.lp_rounds + log.mip_rounds
            if rounds >= MAX_ROUNDS:
                status = "time_limit"
                break
            out = hm.solve(duals=False, cancel=cancel)
            last = out
            if phase == "lp":
                log.lp_rounds += 1
            else:
                log.mip_rounds += 1
            if out.x is None or out.status not in ("optimal", "time_limit"):
                if out.status in ("infeasible", "error") or best_full is None:
                    return out, log
                status = out.status if out.status == "cancelled" else "time_limit"
                break
            full = np.asarray(out.x, dtype=float)
            x = np.clip(full[xcols], lb_x, ub_x)
            if phase == "mip":
                x[ints] = np.round(x[ints])
            obj, data = value(x)
            # A bound holds from an LP solved to optimality, and from any MIP run's dual bound.
            if out.bound is not None and np.isfinite(out.bound) and (phase == "mip" or out.status == "optimal"):
                bound = min(bound, float(out.bound) * USD_M)
            whole = phase == "mip" or not has_ints      # a plan in whole halls: a candidate answer
            if whole and obj > best_obj:
                best_obj, best_full = obj, full
            ref = best_obj if whole else obj
            gap = max(bound - ref, 0.0) / max(abs(ref), 1.0) if np.isfinite(ref) else np.inf
            log.gaps.append(gap)
            report(min(0.95, 0.02 + 0.9 * rounds / 60),
                   f"decomposition, {'LP' if phase == 'lp' else 'MIP'} round {rounds + 1}: "
                   f"plan {_money(obj)}, bound {usd_m(bound)}, gap {gap * 100:.3f}%, {log.cuts:,} cuts")
            if out.status == "time_limit":
                if phase == "mip" or not has_ints:
                    status = "time_limit"
                break                                   # the LP phase hands over what it has to the MIP phase
            if gap <= target:
                break
            if add_cuts(x, data, full) == 0:
                break   # the master values every path as the recourse does: this plan is its optimum
        if status != "optimal":
            break
        if phase == "lp" and has_ints:
            _prune_cuts(hm, rcols)
            if last is not None and last.x is not None:
                # A MIP start: the LP's plan with its halls rounded down (less capex, the same limits
                # met in nearly every case); HiGHS checks it and ignores it if it breaks a row.
                start = np.asarray(last.x, dtype=float).copy()
                int_cols = np.flatnonzero(form.integer)
                start[int_cols] = np.floor(start[int_cols] + 1e-6)
                hm.set_start(start)
                # Cuts at that whole-hall plan too: the MIP's plans lie among whole halls, where the LP
                # phase's cuts (taken at fractional plans) describe the cash floor least well.
                xs_ = np.clip(start[xcols], lb_x, ub_x)
                obj_s, data_s = value(xs_)
                add_cuts(xs_, data_s, start)
                if obj_s > best_obj and _meets_rows(form, start, skip=("benders_cut", "cash_floor")):
                    best_obj, best_full = obj_s, start
    if best_full is None:
        # Stopped before a whole-number plan was valued: no plan to report.
        res = last if last is not None else SolveOutcome("time_limit", None, None, None, None)
        res.status = status if status != "optimal" else res.status
        return res, log
    gap = max(bound - best_obj, 0.0) / max(abs(best_obj), 1.0) if np.isfinite(bound) else None
    out = SolveOutcome(status, best_obj / USD_M, bound / USD_M if np.isfinite(bound) else None, gap, best_full,
                       highs_seconds=time.perf_counter() - started,
                       message=f"L-shaped decomposition: {log.lp_rounds} LP and {log.mip_rounds} MIP rounds, "
                               f"{log.cuts:,} cuts")
    if status in ("optimal", "time_limit") and not stopped():
        out.row_dual = (hm.duals_with_integers_fixed(best_full) if has_ints
                        else (hm.row_activity() or (None, None))[1])   # the master LP's own duals
    return out, log


#: After the LP phase, cuts whose slack exceeds this share of their right-hand side's scale are dropped.
PRUNE_SLACK = 1e-3


def _prune_cuts(hm: HighsModel, keep_cols: np.ndarray | None = None) -> int:
    """Drop the cuts the LP optimum does not touch before the MIP phase: each MIP master is solved
    from scratch (presolve, root LP), and on 2,000 paths 18,000 cuts made that 14 s; the cuts kept
    are those binding at the LP optimum, or nearly so. A dropped cut that the MIP needs again is
    added back by the next round (the plan's exact value is always checked)."""
    act = hm.row_activity()
    if act is None:
        return 0
    value, dual = act
    f = hm.form
    cut = np.array([b == "benders_cut" for b, _ in f.row_block])
    if keep_cols is not None and keep_cols.size and cut.any():
        # Cuts on the cash floor's rho stay (at most one per view and month per round): a MIP plan that
        # a dropped one would have kept above the floor costs a whole MIP round.
        first = np.asarray(f.a_index)[np.asarray(f.a_start)[:-1]]                    # a cut's first column
        cut &= ~np.isin(first, keep_cols)
    slack = f.row_upper - value
    scale = 1.0 + np.abs(f.row_upper)
    loose = cut & (slack > PRUNE_SLACK * scale)
    if dual is not None:
        loose &= np.abs(dual) <= 1e-12
    rows = np.flatnonzero(loose)
    hm.delete_rows(rows)
    return int(rows.size)


def _meets_rows(form, x: np.ndarray, skip: tuple[str, ...], tol: float = 1e-7) -> bool:
    """Whether ``x`` (all columns) keeps every row of ``form`` but those of the blocks in ``skip`` (model units)."""
    counts = np.diff(form.a_start)
    row = np.repeat(np.arange(len(counts)), counts)
    act = np.bincount(row, weights=form.a_value * x[form.a_index], minlength=len(counts))
    keep = np.array([b not in skip for b, _ in form.row_block])
    scale = tol * (1.0 + np.abs(act))
    ok = (act >= form.row_lower - scale) & (act <= form.row_upper + scale)
    lo_ok = np.all(x >= form.col_lower - tol) and np.all(x <= form.col_upper + tol)
    return bool(lo_ok and np.all(ok | ~keep))


def _money(usd: float) -> str:
    """Expected NPV in progress text; a plan not valued yet (-inf) is one below the cash floor."""
    return usd_m(usd) if np.isfinite(usd) else "below the cash floor"


def _keeps_cash_floor(space: DecisionSpace, x: np.ndarray, ev: _Evaluation) -> bool:
    """Whether plan ``x`` keeps every liquidity view's cash at or above the floor, drawing on the
    credit line where needed (the exact rule of the report's cash table), to $1 and 1e-9."""
    table = cash_table(space, x, ev.dispatch)
    floor = space.settings.min_cash_usd
    have = table["cash_usd"].to_numpy() + table["credit_usd"].to_numpy()
    return bool(np.all(have >= floor - 1.0 - 1e-9 * np.abs(have).max(initial=0.0)))
