"""Solve a model's matrix form with HiGHS (highspy) and read the answer back: :class:`HighsModel`.

Our own small adapter instead of Pyomo's preview solver interface (the model reaches it as arrays,
:mod:`solvers.highs_form`). It gives one place for what HiGHS offers beyond Pyomo: progress and
cancel callbacks, a deadline watched from outside HiGHS, the MIP gap and bound, duals of the LP with
integers fixed, an elastic re-solve and the irreducible infeasible subset to explain infeasibility,
rows added and deleted between runs (the decomposition's cuts), and writing the exact model passed
to HiGHS (MPS or LP).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable

import highspy
import numpy as np

from .highs_form import INF, MatrixForm, new_highs


@dataclass
class SolveOutcome:
    status: str                     # optimal | time_limit | infeasible | cancelled | error
    objective: float | None
    bound: float | None
    mip_gap: float | None
    x: np.ndarray | None
    row_dual: np.ndarray | None = None
    highs_seconds: float = 0.0
    message: str = ""
    iis_rows: list[int] = field(default_factory=list)
    slack: dict[int, float] | None = None   # row -> how far it must be relaxed (model units), when infeasible


#: The shortest run worth starting, s: with less time left before the deadline, a run is skipped.
MIN_RUN_S = 0.05
#: How often the watcher looks at the deadline and Cancel while HiGHS runs, and how long past the
#: deadline it waits for HiGHS to stop by itself before returning without it, s.
WATCH_POLL_S = 0.02
WATCH_GRACE_S = 0.25
#: The longest a new run on the same model waits for a stopped run's HiGHS to reach its next check, s.
RUNNER_JOIN_S = 120.0
#: HiGHS runs that were stopped from outside and have not reached their next check yet.
_RUNNING: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()


def solver_threads_running() -> bool:
    """True while a HiGHS run stopped at a deadline or by Cancel is still finishing on its thread.

    Such a thread holds no result anyone waits for; a command line tool may exit without it
    (``os._exit``), since letting the interpreter shut down under a native thread that may still
    call back into Python is not safe.
    """
    return any(t.is_alive() for t in list(_RUNNING))


class HighsModel:
    """A model loaded into one ``highspy.Highs`` instance (re-solvable: persistent)."""

    def __init__(self, form: MatrixForm, *, time_limit_s: float = 60.0, mip_gap: float = 0.005):
        self.form = form
        h = new_highs()
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        n_row, n_col, nnz = form.shape
        status = h.passModel(n_col, n_row, nnz, 2, -1 if form.maximize else 1, form.offset, form.cost,
                             form.col_lower, form.col_upper, form.row_lower, form.row_upper, form.a_start,
                             form.a_index, form.a_value, form.integer.astype(np.int32))
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS rejected the model")
        self.h = h
        self.soft_blocks: set[str] | None = None   # blocks an elastic re-solve may relax to explain infeasibility
        self._cancel: Callable[[], bool] | None = None
        self._progress: Callable[[float, str], None] | None = None
        self._started = 0.0
        self._last_report = 0.0
        self._time_limit = float(time_limit_s)
        #: time.perf_counter() by which every HiGHS run of this model must end (None: each run
        #: gets the whole time limit). The optimizer sets it so building, solving and the duals'
        #: re-solve together stay within the user's time limit.
        self.deadline: float | None = None
        self._out_of_time = False
        self._abandoned = False
        self._runner: threading.Thread | None = None
        self._incumbent: np.ndarray | None = None   # best plan so far (original columns), from the callback
        self._incumbent_obj: float | None = None
        self._bound: float | None = None             # best bound HiGHS reported while searching
        self._relaxed = False                        # integers relaxed for the next runs (relax_integers)
        h.cbSimplexInterrupt += self._interrupt
        h.cbIpmInterrupt += self._interrupt
        h.cbMipInterrupt += self._interrupt
        h.cbMipImprovingSolution += self._improved

    @property
    def has_integers(self) -> bool:
        """True when the next run is a MIP (the form has integers and they are not relaxed)."""
        return bool(self.form.integer.any()) and not self._relaxed

    def _interrupt(self, e) -> None:
        if self._abandoned or (self._cancel is not None and self._cancel()):
            e.interrupt()
            return
        if e.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            bound = e.data_out.mip_dual_bound
            if math.isfinite(bound):
                self._bound = float(bound)
        # HiGHS checks its own time_limit only between phases (presolve, the root LP): past the
        # deadline, stop at the next poll so the run ends within the user's limit.
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self._out_of_time = True
            e.interrupt()
            return
        # HiGHS polls this often during branch and bound: report the live gap about twice a second.
        if self._progress is None or e.callback_type != highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            return
        now = time.perf_counter()
        if now - self._last_report < 0.5:
            return
        self._last_report = now
        d = e.data_out
        gap = d.mip_gap
        if not math.isfinite(gap) or gap >= 1.0:
            return
        frac = min((now - self._started) / self._time_limit, 0.99)
        self._progress(frac, f"branch and bound: best ${d.mip_primal_bound:,.1f}M, bound ${d.mip_dual_bound:,.1f}M, "
                             f"gap {gap * 100:.2f}%, {int(d.mip_node_count):,} nodes")

    def _improved(self, e) -> None:
        d = e.data_out
        # Kept so a run stopped from outside (deadline, Cancel) still has its best plan: HiGHS hands
        # the incumbent over in the original model's columns.
        self._incumbent = np.array(d.mip_solution, dtype=float)
        self._incumbent_obj = float(d.objective_function_value)
        if math.isfinite(d.mip_dual_bound):
            self._bound = float(d.mip_dual_bound)
        if self._progress is None:
            return
        gap = d.mip_gap if math.isfinite(d.mip_gap) else None
        elapsed = time.perf_counter() - self._started
        frac = min(elapsed / self._time_limit, 0.99)
        # The objective is in USD millions; a relative gap is only meaningful once it is below 100%.
        shown_gap = f", gap {gap * 100:.2f}%" if gap is not None and gap < 1.0 else ", gap not yet bounded"
        text = (f"better plan found: objective ${d.objective_function_value:,.1f}M "
                f"(E[NPV] - weight x CVaR){shown_gap}")
        self._progress(frac, text)

    def _seconds_left(self) -> float:
        """Time this run may take: to the deadline when there is one, else the time limit (s)."""
        if self.deadline is None:
            return self._time_limit
        return self.deadline - time.perf_counter()

    def write(self, path: str) -> None:
        """Write the exact model handed to HiGHS (format from the suffix: .mps or .lp)."""
        from minerplan.scenario.errors import Problem, ScenarioFileError

        target = Path(path)
        if target.suffix.lower() not in (".lp", ".mps"):
            raise ScenarioFileError([Problem("", "the model file's name must end in .lp or .mps")], str(path))
        if not target.parent.is_dir():
            raise ScenarioFileError([Problem("", f"cannot write: folder {str(target.parent)!r} does not exist")],
                                    str(path))
        status = self.h.writeModel(str(path))
        if status == highspy.HighsStatus.kError:
            raise ScenarioFileError([Problem("", "cannot write: HiGHS could not write the model there (is the "
                                                 "folder writable?)")], str(path))

    def add_rows(self, block: str, lower: np.ndarray, upper: np.ndarray, start: np.ndarray, index: np.ndarray,
                 value: np.ndarray) -> None:
        """Append rows (CSR over the model's columns) to HiGHS and to ``form`` (so a re-solve of the
        form, such as the duals' LP, sees them), labelled ``(block, k)``."""
        f = self.form
        n_new = len(lower)
        if n_new == 0:
            return
        lower = np.where(np.isfinite(lower), lower, -INF).astype(float)
        upper = np.where(np.isfinite(upper), upper, INF).astype(float)
        start = np.asarray(start, dtype=np.int32)
        index = np.asarray(index, dtype=np.int32)
        value = np.asarray(value, dtype=float)
        status = self.h.addRows(n_new, lower, upper, len(value), start[:-1], index, value)
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS rejected the added rows")
        first = sum(1 for b, _ in f.row_block if b == block)
        f.row_lower = np.concatenate([f.row_lower, lower])
        f.row_upper = np.concatenate([f.row_upper, upper])
        f.a_start = np.concatenate([f.a_start, f.a_start[-1] + start[1:]]).astype(np.int32)
        f.a_index = np.concatenate([f.a_index, index]).astype(np.int32)
        f.a_value = np.concatenate([f.a_value, value])
        f.row_block = f.row_block + [(block, first + k) for k in range(n_new)]

    def delete_rows(self, rows: np.ndarray) -> None:
        """Remove rows (indices into the current model) from HiGHS and from ``form``."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size == 0:
            return
        f = self.form
        status = self.h.deleteRows(rows.size, rows.astype(np.int32))
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS could not delete the rows")
        keep = np.ones(len(f.row_lower), dtype=bool)
        keep[rows] = False
        counts = np.diff(f.a_start)
        entry_keep = np.repeat(keep, counts)
        f.a_index = f.a_index[entry_keep]
        f.a_value = f.a_value[entry_keep]
        f.a_start = np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int32)
        f.row_lower, f.row_upper = f.row_lower[keep], f.row_upper[keep]
        f.row_block = [b for b, k in zip(f.row_block, keep) if k]

    def row_activity(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Row values and duals of the last LP solve, or None without a valid solution."""
        sol = self.h.getSolution()
        if not sol.value_valid:
            return None
        return np.array(sol.row_value), (np.array(sol.row_dual) if sol.dual_valid else None)

    def set_start(self, x: np.ndarray) -> None:
        """A starting point for the next run (a MIP start when feasible; HiGHS ignores it otherwise)."""
        sol = highspy.HighsSolution()
        sol.col_value = np.clip(np.asarray(x, dtype=float), self.form.col_lower, self.form.col_upper).tolist()
        sol.value_valid = True
        self.h.setSolution(sol)

    def relax_integers(self, relax: bool) -> None:
        """Solve the next runs as the LP relaxation (``True``) or with the form's integers again."""
        ints = np.flatnonzero(self.form.integer)
        if ints.size:
            kind = np.zeros(ints.size, dtype=np.int32) if relax else np.ones(ints.size, dtype=np.int32)
            self.h.changeColsIntegrality(ints.size, ints.astype(np.int32), kind)
        self._relaxed = bool(relax and ints.size)

    def set_mip_gap(self, gap: float) -> None:
        self.h.setOptionValue("mip_rel_gap", float(gap))

    def set_presolve(self, on: bool) -> None:
        """HiGHS's presolve for the next runs ("choose" when on, its default)."""
        self.h.setOptionValue("presolve", "choose" if on else "off")

    def set_cost(self, cols: np.ndarray, cost: np.ndarray) -> None:
        self.form.cost[cols] = cost
        self.h.changeColsCost(len(cols), cols.astype(np.int32), cost.astype(float))

    def solve(self, *, progress=None, cancel=None, duals: bool = True) -> SolveOutcome:
        self._progress, self._cancel = progress, cancel
        if self._runner is not None:
            # An earlier run stopped from outside: let HiGHS reach its next check (bounded, never a hang).
            self._runner.join(RUNNER_JOIN_S)
            if self._runner.is_alive():
                raise RuntimeError(f"HiGHS did not stop within {RUNNER_JOIN_S:g} s of being interrupted; "
                                   "start a new optimization")
            self._runner = None
        self._started = time.perf_counter()
        self._out_of_time = False
        self._abandoned = False
        self._incumbent = self._incumbent_obj = self._bound = None
        self.h.setOptionValue("time_limit", max(MIN_RUN_S, self._seconds_left()))
        stopped = self._run_watched(cancel)
        secs = time.perf_counter() - self._started
        if stopped is not None:
            return self._stopped_outcome(stopped, secs)
        model_status = self.h.getModelStatus()
        ms = highspy.HighsModelStatus
        info = self.h.getInfo()
        has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.array(self.h.getSolution().col_value) if has_sol else None
        gap = float(info.mip_gap) if self.has_integers and math.isfinite(info.mip_gap) else (0.0 if has_sol else None)
        obj = float(info.objective_function_value) if has_sol else None
        bound = float(info.mip_dual_bound) if self.has_integers and math.isfinite(info.mip_dual_bound) else obj
        if model_status == ms.kOptimal:
            status = "optimal"
        elif model_status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            status = "infeasible"
        elif model_status == ms.kTimeLimit:
            status = "time_limit"
        elif model_status == ms.kInterrupt:
            status = "time_limit" if self._out_of_time else "cancelled"
        else:
            status = "error"
        out = SolveOutcome(status, obj, bound, gap, x, highs_seconds=secs, message=self.h.modelStatusToString(model_status))
        if status == "infeasible" and self.soft_blocks is not None:
            out.slack = self.elastic_slacks(self.soft_blocks)
        elif status == "infeasible":
            out.iis_rows = self.iis_rows()
        if cancel is not None and cancel():
            out.status = "cancelled"   # asked to stop while HiGHS finished: skip the duals re-solve
            return out
        if duals and x is not None and status in ("optimal", "time_limit"):
            out.row_dual = self.duals_with_integers_fixed(x) if self.has_integers else np.array(self.h.getSolution().row_dual)
        return out

    def _run_watched(self, cancel, h=None) -> str | None:
        """``h.run()`` on a worker thread while this one watches the deadline and Cancel.

        HiGHS checks its time limit and our interrupt callback only at certain points: its MIP
        presolve and some root-node work run for seconds without a check (HiGHS issues #1501,
        #2021), which made ``--time-limit 2`` take 4.9 s and Cancel wait. highspy releases the
        GIL while HiGHS works, so the watcher here returns within ``WATCH_GRACE_S`` of the deadline
        or of Cancel; HiGHS stops on its own at its next check (the interrupt flag is set) and its
        thread ends then. Returns None when HiGHS finished, else ``"time_limit"`` / ``"cancelled"``.
        """
        done = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                (h or self.h).run()
            except BaseException as e:  # noqa: BLE001 - handed to the caller below
                failure.append(e)
            finally:
                done.set()

        runner = threading.Thread(target=run, name="highs-run", daemon=True)
        runner.start()
        stopped = None
        while not done.wait(WATCH_POLL_S):
            if cancel is not None and cancel():
                stopped = "cancelled"
            elif self.deadline is not None and time.perf_counter() > self.deadline + WATCH_GRACE_S:
                stopped = "time_limit"
            if stopped is not None:
                if h is None:
                    self._abandoned = True   # our callbacks interrupt HiGHS at its next check
                    self._runner = runner
                _RUNNING.add(runner)
                return stopped
        if failure:
            raise failure[0]
        return None

    def _stopped_outcome(self, status: str, secs: float) -> SolveOutcome:
        """What a run stopped from outside found: its best plan so far (from the callback) and bound."""
        x, obj, bound = self._incumbent, self._incumbent_obj, self._bound
        gap = None
        if obj is not None and bound is not None:
            gap = abs(bound - obj) / max(abs(obj), 1e-9)
        why = "stopped at the time limit" if status == "time_limit" else "cancelled"
        return SolveOutcome(status, obj, bound, gap, x, highs_seconds=secs,
                            message=f"{why} while HiGHS was still working (its last check was further away)")

    def duals_with_integers_fixed(self, x: np.ndarray) -> np.ndarray | None:
        """Row duals of the LP with every integer variable fixed at its value in ``x``."""
        f = self.form
        left = self._seconds_left()
        if left < MIN_RUN_S:
            return None   # no time left: the plan stands, its shadow prices are not reported
        lp = new_highs()
        lp.setOptionValue("time_limit", left)
        lo, up = f.col_lower.copy(), f.col_upper.copy()
        ints = np.flatnonzero(f.integer)
        lo[ints] = up[ints] = np.round(x[ints])
        n_row, n_col, nnz = f.shape
        lp.passModel(n_col, n_row, nnz, 2, -1 if f.maximize else 1, f.offset, f.cost, lo, up, f.row_lower,
                     f.row_upper, f.a_start, f.a_index, f.a_value, np.zeros(n_col, dtype=np.int32))
        # Start from the MIP's plan: HiGHS builds its first basis from it (shipped scenario, 300 paths:
        # 3.4 s -> 2.2 s); the LP's optimum, and so its duals, do not depend on where it starts.
        start = np.clip(np.asarray(x, dtype=float), lo, up)
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        sol.value_valid = True
        lp.setSolution(sol)
        if self._run_watched(None, lp) is not None:
            return None   # out of time inside its presolve: the plan stands without shadow prices
        if lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.array(lp.getSolution().row_dual)

    def elastic_slacks(self, blocks: set[str]) -> dict[int, float]:
        """Rows of ``blocks`` that must be relaxed, and by how much, to make the model feasible.

        One LP (integers relaxed): the rows of those blocks get a non-negative slack
        each and the total slack is minimized. A positive slack is a business reason
        with an amount ("needs $40M more budget in 2026"), which HiGHS's IIS alone cannot give.
        """
        f = self.form
        soft = np.array([b in blocks for b, _ in f.row_block])
        rows = np.flatnonzero(soft & (np.isfinite(f.row_lower) | np.isfinite(f.row_upper)))
        if rows.size == 0:
            return {}
        n_row, n_col, nnz = f.shape
        # slack column j relaxes row rows[j]: +1 for a >= row, -1 for a <= row (equalities are left hard)
        sign = np.where(np.isfinite(f.row_lower[rows]) & ~np.isfinite(f.row_upper[rows]), 1.0,
                        np.where(~np.isfinite(f.row_lower[rows]) & np.isfinite(f.row_upper[rows]), -1.0, 0.0))
        keep = sign != 0
        rows, sign = rows[keep], sign[keep]
        # Rebuild CSR with the slack columns appended.
        starts = f.a_start
        counts = np.diff(starts)
        extra = np.zeros(n_row, dtype=np.int64)
        extra[rows] = 1
        new_counts = counts + extra
        new_start = np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int32)
        idx = np.empty(new_start[-1], dtype=np.int32)
        val = np.empty(new_start[-1])
        row_of = np.repeat(np.arange(n_row), counts)
        pos = new_start[:-1][row_of] + (np.arange(nnz) - starts[:-1][row_of])
        idx[pos] = f.a_index
        val[pos] = f.a_value
        slack_pos = new_start[1:][rows] - 1
        idx[slack_pos] = n_col + np.arange(rows.size)
        val[slack_pos] = sign
        cost = np.concatenate([np.zeros(n_col), np.ones(rows.size)])
        lo = np.concatenate([f.col_lower, np.zeros(rows.size)])
        up = np.concatenate([f.col_upper, np.full(rows.size, INF)])
        left = self._seconds_left()
        if left < MIN_RUN_S:
            return {}
        e = new_highs()
        e.setOptionValue("time_limit", left)
        e.passModel(n_col + rows.size, n_row, int(new_start[-1]), 2, 1, 0.0, cost, lo, up, f.row_lower, f.row_upper,
                    new_start, idx, val, np.zeros(n_col + rows.size, dtype=np.int32))
        if self._run_watched(None, e) is not None:
            return {}
        if e.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return {}
        sol = np.array(e.getSolution().col_value)[n_col:]
        return {int(r): float(v) for r, v in zip(rows, sol) if v > 1e-7}

    def iis_rows(self) -> list[int]:
        """Rows of an irreducible infeasible subset (HiGHS's own IIS), empty if it finds none."""
        try:
            self.h.setOptionValue("iis_strategy", 2)  # from the LP, rows first (the default finds none here)
            status, iis = self.h.getIis()
        except Exception:  # noqa: BLE001 - the explanation is best effort; the status stays infeasible
            return []
        rows = list(getattr(iis, "row_index_", []) or [])
        return [int(r) for r in rows]
