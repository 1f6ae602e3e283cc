"""Keeps an engine evaluation in step with the document.

The deterministic path (one price path, ~10 ms for the default scenario) is
recomputed on the GUI thread right after every edit so charts follow
instantly; the Monte Carlo fan runs as a background :class:`~ui.kit.jobs.Job` and
replaces the previous one when it finishes (a newer edit cancels an older run).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from PySide6.QtCore import QObject, Signal

from minerplan.engine.evaluate import EngineResult, run_engine
from minerplan.analysis.report import summary
from minerplan.scenario.model import Scenario

from .document import ScenarioDocument
from .kit.jobs import Job


def fan_summary(res: EngineResult, seed: int | None = None) -> dict:
    """What the views show of a Monte Carlo run: median, expected (mean, with its 95% CI) and P5/P50/P95 of
    NPV (USD), and P(NPV < 0).

    Deliberately smaller than :func:`minerplan.analysis.report.summary`, which also builds
    monthly medians and per-path IRRs; the fan must follow edits quickly.
    """
    from minerplan.analysis.report import npv_statistics, statistic_label

    npv = res.npv_usd
    q = np.percentile(npv, [5, 50, 95])
    return {"paths": res.n_paths, "seed": seed, "statistic": statistic_label(res.n_paths),
            "npv_usd": float(np.median(npv)), **npv_statistics(npv),
            "percentiles": {"npv_usd": {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}}}


@dataclass(frozen=True)
class MonteCarloFan:
    """What the views draw of a Monte Carlo run: P5/P50/P95 per month of BTC price and hashprice.

    The run's full ``[path, month, ...]`` arrays (about 18 kB per path for the shipped scenario,
    so 1.8 GB at 100,000 paths) are reduced to these in the worker and then dropped, so nothing
    of that size outlives the run.
    """

    scenario: Scenario
    n_paths: int
    btc_price_usd_q: np.ndarray                 # [3, month]: P5, P50, P95, USD
    hashprice_usd_per_ph_day_q: np.ndarray      # [3, month]: P5, P50, P95, USD per PH/s per day
    btc_price_usd_p75: np.ndarray               # [month]: P75, USD (the Overview's price axis stops there)

    @classmethod
    def of(cls, res: EngineResult) -> "MonteCarloFan":
        px = np.percentile(res.btc_price_usd, [5, 50, 95, 75], axis=0)
        return cls(res.scenario, res.n_paths, px[:3],
                   np.percentile(res.hashprice_usd_per_th_day * 1000.0, [5, 50, 95], axis=0), px[3])


@dataclass
class MonteCarloSettings:
    paths: int = 500
    seed: int = 0
    preset: str | None = None


class Evaluation(QObject):
    updated = Signal(object, object)        # EngineResult (1 path), summary dict
    mc_updated = Signal(object, object)     # MonteCarloFan (N paths), summary dict
    mc_progress = Signal(float, str)
    mc_failed = Signal(str)

    def __init__(self, doc: ScenarioDocument, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.mc = MonteCarloSettings()
        self.result: EngineResult | None = None
        self.summary: dict | None = None
        self.mc_result: MonteCarloFan | None = None
        self.mc_summary: dict | None = None
        self._job: Job | None = None
        doc.changed.connect(self.refresh)

    def refresh(self, sc: Scenario | None = None) -> None:
        sc = sc or self.doc.scenario
        self.result = run_engine(sc, n_paths=1, preset=self.mc.preset)
        self.summary = summary(self.result, preset=self.mc.preset)
        self.start_monte_carlo()   # first, so the fan computes while the views redraw
        self.updated.emit(self.result, self.summary)

    def start_monte_carlo(self) -> None:
        if self._job is not None and self._job.running:
            self._job.cancel()
        if self.mc.paths <= 1:
            self.mc_result = self.mc_summary = None
            return
        sc, mc = self.doc.scenario, MonteCarloSettings(**vars(self.mc))

        def work(progress, cancel):
            res = run_engine(sc, n_paths=mc.paths, seed=mc.seed, preset=mc.preset, progress=progress, cancel=cancel)
            return MonteCarloFan.of(res), fan_summary(res, seed=mc.seed)   # the full arrays die here

        job = Job(work, self, name="monte-carlo", failure_text="The Monte Carlo run failed")
        job.progress.connect(self.mc_progress)
        job.finished.connect(self._on_mc)
        job.failed.connect(self.mc_failed)
        self._job = job
        job.start()

    def _on_mc(self, payload) -> None:
        res, doc = payload
        if res.scenario is not self.doc.scenario:  # a run for an older edit that finished anyway
            return
        self.mc_result, self.mc_summary = res, doc
        self.mc_updated.emit(self.mc_result, self.mc_summary)

    def cancel_monte_carlo(self) -> None:
        if self._job is not None and self._job.running:
            self._job.cancel()

    @property
    def monte_carlo_running(self) -> bool:
        return self._job is not None and self._job.running

    def shutdown(self, ms: int = 10_000) -> None:
        """Cancel a running Monte Carlo and wait for its thread (before the app exits)."""
        if self._job is not None:
            self._job.shutdown(ms)

    def wait_idle(self, ms: int = 30_000) -> None:
        """Wait for a Monte Carlo run to end and hand its fan over (tests)."""
        if self._job is not None:
            self._job.wait(ms)
