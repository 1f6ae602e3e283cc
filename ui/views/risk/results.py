"""What the Risk view keeps and shows of a finished run: figures, two NPV-distribution curves, their tables.

A run on up to 100,000 paths is big while it runs; afterwards the view keeps only what it shows
(:class:`RiskResults`: the comparison's figures and the two sorted-NPV curves, thinned to at most
``CURVE_POINTS`` points each), so what stays in memory does not grow with the number of paths.
Money in USD; P(NPV < 0) as a share, its change in percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget

from minerplan.analysis.hedged import HedgeResults
from minerplan.analysis.vocabulary import expected_npv, median_npv, p5_npv, p95_npv
from minerplan.formats import usd
from minerplan.scenario.hedges import HedgeBook
from minerplan.scenario.model import Scenario

from ...charts import Chart
from ...kit.tables import read_only_cell
from .hedge_table import KIND_LABELS

#: The most points each NPV-distribution curve keeps: more than a chart can show across its width, and
#: 16 kB per curve however many paths were run.
CURVE_POINTS = 2_001
GREY = "#9aa0a6"
INK = "#202124"

#: (key of hedges.compare's figures, label); the NPV labels are the vocabulary's, with the run's paths (metric_label).
METRICS = [("mean_usd", "expected NPV (mean of N paths)"), ("p5_usd", "P5 NPV (of N paths)"),
           ("p50_usd", "median NPV (of N paths)"), ("p95_usd", "P95 NPV (of N paths)"),
           ("cvar95_usd", "CVaR 95% of NPV (mean of the worst 5% of paths)"), ("prob_npv_negative", "P(NPV < 0)")]
_NPV_LABELS = {"mean_usd": expected_npv, "p5_usd": p5_npv, "p50_usd": median_npv, "p95_usd": p95_npv}


def metric_label(key: str, n_paths: int) -> str:
    """A measure's label for a run of ``n_paths`` paths: ``"expected NPV (mean of 500 paths)"``."""
    make = _NPV_LABELS.get(key)
    return make(n_paths) if make is not None else dict(METRICS)[key]
SUMMARY_HEADERS = ["Measure", "Unhedged", "Hedged", "Change"]
HEDGE_HEADERS = ["#", "Kind", "Premium (month 0)", "Mean value after tax (PV)"]


def format_metric(key: str, value: float) -> str:
    if key == "prob_npv_negative":
        return f"{value * 100:.1f}%"
    return usd(value)


def distribution_curve(npv: np.ndarray, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(share of paths in %, NPV in USD) of the paths sorted worst to best, at most ``points`` of them.

    With more paths than ``points``, the curve keeps the order statistics at evenly spaced ranks, the
    worst and the best path included: the same curve as every path drawn, at the chart's resolution.
    """
    ranked = np.sort(np.asarray(npv, float))
    n = ranked.size
    idx = np.arange(n) if n <= points else np.unique(np.round(np.linspace(0, n - 1, points)).astype(np.int64))
    return (idx + 0.5) / n * 100.0, ranked[idx].copy()


@dataclass(frozen=True)
class RiskResults:
    """What the view shows of a finished run (no per-path arrays: those go with the run)."""

    scenario: Scenario
    book: HedgeBook
    paths: int
    seed: int | None
    preset: str | None
    comparison: dict[str, Any]                       # hedges.compare(...): figures only
    unhedged_curve: tuple[np.ndarray, np.ndarray]    # distribution_curve of the unhedged NPVs
    hedged_curve: tuple[np.ndarray, np.ndarray]
    seconds: float = 0.0

    @classmethod
    def of(cls, res: HedgeResults) -> "RiskResults":
        return cls(res.scenario, res.book, res.paths, res.seed, res.preset, res.comparison,
                   distribution_curve(res.unhedged_npv), distribution_curve(res.hedged_npv), res.seconds)


def fill_results(res: RiskResults, summary: QTableWidget, hedges: QTableWidget, chart: Chart) -> None:
    """The measures unhedged vs hedged, one row per hedge, and the two curves."""
    cmp = res.comparison
    summary.setRowCount(len(METRICS))
    for r, (key, _label) in enumerate(METRICS):
        u, h = cmp["unhedged"][key], cmp["hedged"][key]
        d = h - u
        change = (f"{d * 100:+.1f} pp" if key == "prob_npv_negative"
                  else ("+" if d > 0 else "") + usd(d))
        summary.setItem(r, 0, read_only_cell(metric_label(key, res.paths)))
        summary.setItem(r, 1, read_only_cell(format_metric(key, u), u, right=True))
        summary.setItem(r, 2, read_only_cell(format_metric(key, h), h, right=True))
        summary.setItem(r, 3, read_only_cell(change, d, right=True))
    hedges.setRowCount(len(cmp["hedges"]))
    for r, row in enumerate(cmp["hedges"]):
        prem = row.get("premium_usd")
        hedges.setItem(r, 0, read_only_cell(str(row["index"] + 1), row["index"], right=True))
        hedges.setItem(r, 1, read_only_cell(KIND_LABELS.get(row["kind"], row["kind"])))
        hedges.setItem(r, 2, read_only_cell("-" if prem is None else usd(prem), prem,
                                            "forwards have no premium" if prem is None else "", right=True))
        hedges.setItem(r, 3, read_only_cell(usd(row["mean_pv_after_tax_usd"]), row["mean_pv_after_tax_usd"],
                                            right=True))
    chart.clear()
    chart.line("Unhedged", *res.unhedged_curve, 0)
    chart.line("Hedged", *res.hedged_curve, 1)
    chart.item.setLabel("bottom", "share of paths (%), worst to best")
    chart.hline(0.0, "NPV 0", i=6)


def paint(tables: tuple[QTableWidget, ...], stale: bool) -> None:
    """Grey text when the results no longer match the scenario and the hedges, else ink."""
    ink = QBrush(QColor(GREY if stale else INK))
    for table in tables:
        for r in range(table.rowCount()):
            for c in range(table.columnCount()):
                item = table.item(r, c)
                if item is not None:
                    item.setForeground(ink)
