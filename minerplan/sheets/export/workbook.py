"""The plan as an Excel workbook with live formulas (``minerplan export --xlsx``).

The workbook is a second implementation of the engine in spreadsheet
formulas, for the deterministic price path: change an input on the Inputs,
Fleet or Sites sheet and every monthly figure, the cash flow, NPV and IRR
recompute. The Checks sheet compares the workbook's totals with the engine's
at export, and the test suite recalculates the file with LibreOffice to hold
the two to 1e-6.

Sheets, in dependency order: Inputs (scalars with defined names), Network
(price, hashrate, blocks, subsidy, fees, hashprice), Retargets (one row per
difficulty epoch, with the x4 clamp), Fleet and Sites (the input tables the
importer reads back), Hourly prices, Cohorts (per machine batch and month),
Dispatch (per operating slot: which cohort-hours run, and the exact take-or-pay
fill), Mining (per site), AI/HPC (per conversion and per site), Terminal
(lease cash past the horizon), Cash Flow (company totals, tax, NPV, IRR), Annual (the cash flow and cost
per BTC by calendar year),
Plan (optimizer decisions as inputs), Scenarios (Monte Carlo percentiles, as
values; only when Monte Carlo paths are asked for), Checks, and a Summary in front (then Annual).

Every sheet has its own print set-up (:mod:`minerplan.sheets.export.printing`): Summary and Annual on one
page each, the others landscape in page-wide blocks at a scale that prints 7 pt or more.

Month ``m`` lives in column E+m on every time sheet, so a formula of month
``m`` only references the same column (or the previous one) of other sheets.

This module runs the engine, builds the sheets (one module each, combined in :class:`_Export`)
with progress and cancel, and writes the file atomically. Cells are written as XML text and
spliced into the saved file (:class:`minerplan.sheets.export.book.Book`), several times faster
than openpyxl's per-cell objects.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from openpyxl import Workbook

from minerplan.engine.evaluate import progress_step, run_engine
from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.model import Scenario
from minerplan.sheets.export.ai_hpc import AiHpcSheet
from minerplan.sheets.export.annual import AnnualSheet
from minerplan.sheets.export.cash_flow import CashFlowSheet
from minerplan.sheets.export.checks import ChecksSheet
from minerplan.sheets.export.cohorts import CohortsSheet
from minerplan.sheets.export.dispatch import DispatchSheet
from minerplan.sheets.export.input_tables import InputTableSheets
from minerplan.sheets.export.inputs import InputsSheet
from minerplan.sheets.export.mining import MiningSheet
from minerplan.sheets.export.network import NetworkSheets
from minerplan.scenario.plan import PlanDecisions
from minerplan.sheets.export.plan_sheet import PlanSheet
from minerplan.sheets.export.scenarios import ScenariosSheet
from minerplan.sheets.export.summary import SummarySheet
from minerplan.sheets.export.terminal import TerminalSheet

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


@dataclass
class ExportReport:
    path: Path
    seconds: float
    sheets: list[str]
    cells: int
    npv_usd: float
    print_pages: dict[str, int] = field(default_factory=dict)   # sheet -> the pages its print set-up plans


class _Export(InputsSheet, NetworkSheets, InputTableSheets, CohortsSheet, DispatchSheet, MiningSheet, AiHpcSheet,
              TerminalSheet, CashFlowSheet, AnnualSheet, PlanSheet, ScenariosSheet, ChecksSheet, SummarySheet):
    """Builds the workbook; each ``sheet_*`` method records the rows other sheets reference."""

    def build(self) -> Workbook:
        self.step(0.30, "inputs")
        self.sheet_inputs()
        self.sheet_retargets()
        self.sheet_network()
        self.step(0.40, "fleet and sites")
        self.sheet_sites()
        self.sheet_fleet()
        self.mining_rows_reserved()
        self.ai_rows_reserved()
        self.ai_site_rows_planned()
        self.step(0.50, "cohorts")
        self.sheet_cohorts()
        self.step(0.60, "dispatch")
        self.sheet_dispatch()
        self.step(0.70, "mining and AI/HPC")
        self.sheet_mining()
        self.sheet_ai()
        self.sheet_terminal()
        self.step(0.80, "cash flow")
        self.sheet_cash_flow()
        self.sheet_annual()
        if self.plan is not None:
            self.sheet_plan()
        self.sheet_scenarios()
        self.sheet_checks()
        self.sheet_summary()
        return self.wb


def export_workbook(sc: Scenario, path: str | os.PathLike, *, plan: PlanDecisions | None = None,
                    n_paths: int = 500, seed: int | None = 0, progress: ProgressFn | None = None,
                    cancel: CancelFn | None = None) -> ExportReport:
    """Write the plan workbook for ``sc`` to ``path`` atomically; ``n_paths`` Monte Carlo paths (0 = none).

    Long work: ``progress(fraction, what)`` is called along the way and
    ``cancel()`` is polled between sheets (raises :class:`Cancelled`).
    """
    t0 = time.perf_counter()

    step = progress_step(progress, cancel)
    step(0.0, "engine")
    res = run_engine(sc, n_paths=1)
    mc = None
    if n_paths > 1:
        step(0.1, f"Monte Carlo ({n_paths:,} paths)")
        mc = run_engine(sc, n_paths=n_paths, seed=seed, cancel=cancel,
                        progress=lambda f, what: step(0.1 + 0.15 * f, f"Monte Carlo: {what}"))
    step(0.25, "workbook")
    exp = _Export(sc, res, mc, seed, plan, step)
    wb = exp.build()
    step(0.9, "writing the file")
    target = Path(path)
    atomic_write(target, exp.book.save)
    cells = exp.book.cell_count()
    if progress is not None:  # the file is written: too late to cancel
        progress(1.0, "done")
    return ExportReport(target, time.perf_counter() - t0, wb.sheetnames, cells, float(res.npv_usd[0]),
                        dict(exp.book.print_pages))
