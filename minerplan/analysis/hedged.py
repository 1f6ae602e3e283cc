"""Hedged vs unhedged NPV distributions of one scenario and hedge book on the Monte Carlo paths.

:func:`evaluate_hedges` runs the engine (:func:`~minerplan.engine.evaluate.run_engine`) on the
given paths, seed and preset, then :func:`minerplan.analysis.hedges.compare` and
:func:`~minerplan.analysis.hedges.hedged_npv`, with ``progress(frac, text)`` (the engine takes 90%
of the bar) and ``cancel()`` (raises :class:`~minerplan.engine.evaluate.Cancelled`). The Risk view
runs it as a background job; :class:`HedgeResults` keeps both per-path NPV arrays (USD) for it to
reduce to what it shows.

:func:`check_fits_scenario` checks a book against the scenario's months without running the engine
(the Risk view calls it on every edit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from minerplan.analysis.hedges import compare, hedge_cash_flows, hedged_npv
from minerplan.engine.evaluate import Cancelled, run_engine
from minerplan.scenario.hedges import HedgeBook
from minerplan.scenario.model import Scenario

__all__ = ["HedgeResults", "evaluate_hedges", "check_fits_scenario"]


@dataclass(frozen=True)
class HedgeResults:
    scenario: Scenario          # the scenario the run was for
    book: HedgeBook
    paths: int
    seed: int | None
    preset: str | None
    comparison: dict[str, Any]  # hedges.compare(...)
    unhedged_npv: np.ndarray    # [path] USD
    hedged_npv: np.ndarray      # [path] USD
    seconds: float = 0.0        # wall-clock time of the run


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
