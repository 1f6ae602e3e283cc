"""Hedged vs unhedged risk, computed off the GUI thread for the Risk view.

:func:`evaluate_hedges` (no Qt) runs the engine on the app's Monte Carlo settings and then
:func:`minerplan.analysis.hedges.compare`; :class:`HedgeJob` runs it in a background
:class:`~ui.workers.Task` with progress and Cancel, exactly like
:class:`~ui.breakevens.BreakevensJob` (whose life cycle it reuses: a cancelled run never
delivers results, and results reach the owner only while it exists).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject

from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.analysis.hedges import HedgeBook, compare, hedge_cash_flows, hedged_npv
from minerplan.scenario.model import Scenario

from .breakevens import BreakevensJob

__all__ = ["HedgeResults", "evaluate_hedges", "check_fits_scenario", "HedgeJob"]


@dataclass(frozen=True)
class HedgeResults:
    scenario: Scenario          # the document scenario the run was for
    book: HedgeBook
    paths: int
    seed: int | None
    preset: str | None
    comparison: dict[str, Any]  # hedges.compare(...)
    unhedged_npv: np.ndarray    # [path] USD
    hedged_npv: np.ndarray      # [path] USD
    seconds: float = 0.0


def evaluate_hedges(sc: Scenario, book: HedgeBook, *, paths: int, seed: int | None, preset: str | None,
                    progress: Callable[[float, str], None] | None = None,
                    cancel: Callable[[], bool] | None = None) -> HedgeResults:
    """run_engine on ``paths``/``seed``/``preset``, then hedges.compare; ``cancel()`` -> raises Cancelled."""
    t0 = time.perf_counter()

    def engine_progress(frac: float, what: str) -> None:
        if progress is not None:
            progress(0.9 * min(max(float(frac), 0.0), 1.0), f"engine: {what}")

    res = run_engine(sc, n_paths=paths, seed=seed, preset=preset, progress=engine_progress, cancel=cancel)
    if cancel is not None and cancel():
        raise Cancelled("hedges")
    if progress is not None:
        progress(0.9, "hedges")
    comparison = compare(res, book)
    hedged = hedged_npv(res, book)
    if cancel is not None and cancel():
        raise Cancelled("hedges")
    if progress is not None:
        progress(1.0, "done")
    return HedgeResults(sc, book, int(paths), seed, preset, comparison, np.asarray(res.npv_usd, float).copy(),
                        np.asarray(hedged, float), time.perf_counter() - t0)


def check_fits_scenario(book: HedgeBook, sc: Scenario) -> None:
    """Raise HedgeError naming ``hedges[i].<field>`` when a hedge's months fall outside ``sc`` (cheap: no engine)."""
    n = sc.horizon_months
    stub = SimpleNamespace(scenario=sc, btc_price_usd=np.ones((1, n)), hashprice_usd_per_th_day=np.zeros((1, n)))
    hedge_cash_flows(book, stub)


class HedgeJob(BreakevensJob):
    """:func:`evaluate_hedges` for one scenario and hedge book in a background Task.

    Signals and states as :class:`~ui.breakevens.BreakevensJob`: ``finished`` carries a
    :class:`HedgeResults`.
    """

    def __init__(self, sc: Scenario, book: HedgeBook, *, paths: int, seed: int | None, preset: str | None,
                 owner: QObject | None = None):
        super().__init__(sc, owner)
        self.book, self.paths, self.seed, self.preset = book, int(paths), seed, preset

    def _work(self):
        cancelled = self._cancel.is_set

        def work(progress, _task_cancel):     # attributes are read when the thread runs (after __init__)
            return evaluate_hedges(self.scenario, self.book, paths=self.paths, seed=self.seed, preset=self.preset,
                                   progress=progress, cancel=cancelled)
        return work
