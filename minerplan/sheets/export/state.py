"""What one export's sheets share: the scenario, the engine's results, the workbook, and where each sheet
put the rows and columns that later sheets reference.

Sheets reference each other by cell address, so every sheet records its rows as it writes them
(``self.M["btc"]``: the Mining sheet's BTC rows, one per site) for the sheets written after it;
the few that are referenced before they are written have their rows reserved in advance
(``mining_rows_reserved``, ``ai_rows_reserved``). Each sheet module is a mixin over
:class:`ExportState`; :class:`minerplan.sheets.export.workbook._Export` combines them and
writes the sheets in dependency order.
"""

from __future__ import annotations

from typing import Callable

from minerplan.engine.evaluate import EngineResult
from minerplan.scenario.fields import HOURLY_SHEET
from minerplan.scenario.model import Scenario
from minerplan.sheets.export.book import Book
from minerplan.sheets.export.cells import col, ref
from minerplan.sheets.export.printing import Layout, print_in_blocks, sheet_extent
from minerplan.scenario.plan import PlanDecisions

TABLE_HEADER_ROW = 4      # the header row of the input tables (Fleet, Sites, Hourly prices, Plan)
TABLE_FIRST_ROW = 5       # their first data row


class ExportState:
    """The inputs of one export, its workbook, and the rows each sheet records for the others.

    Recorded as the sheets are written (row numbers are 1-based sheet rows):
    ``input_rows`` (Inputs: defined name -> row), ``points`` (Inputs: first and last row of the
    BTC price points), ``epochs`` and ``eras`` (Retargets: first and last row), ``R_net``
    (Network: series -> row), ``site_col`` and ``fleet_col`` (Sites and Fleet: field or derived
    header -> column), ``profile_range`` (site -> its 12 x 24 range on Hourly prices), ``C``
    (Cohorts: series -> a row per cohort), ``D`` (Dispatch: site -> series -> row), ``M``
    (Mining: series -> a row per site), ``A``, ``conv_rows`` and ``K`` (AI-HPC: series -> rows,
    the conversion table's rows, derived header -> column), ``T_span``, ``T_value_rows``, ``T_pv_rows`` and
    ``T_cover_row`` (Terminal), ``X`` (Cash Flow: line -> row), ``Y`` (Annual: line -> row), ``kpi_cells``,
    ``site_kpi_rows`` and ``cohort_be_rows`` (Summary: row and its Fleet rows).
    """

    def __init__(self, sc: Scenario, res: EngineResult, mc: EngineResult | None, mc_seed: int | None,
                 plan: PlanDecisions | None, step: Callable[[float, str], None]):
        self.sc = sc
        self.res = res
        self.mc = mc
        self.mc_seed = mc_seed
        self.plan = plan
        self.step = step
        self.n = sc.horizon_months
        self.n_sites = len(sc.sites)
        self.n_coh = len(sc.fleet)
        self.n_conv = len(sc.conversion_plan)
        self.book = Book()
        self.wb = self.book.wb
        names = ["Summary", "Annual", "Inputs", "Network", "Retargets", "Fleet", "Cohorts", "Sites", HOURLY_SHEET,
                 "Dispatch", "Mining", "AI-HPC", "Terminal", "Cash Flow"]
        if plan is not None:
            names.append("Plan")
        if mc is not None:
            names.append("Scenarios")
        names.append("Checks")
        self.ws = {}
        first = self.wb.active
        first.title = names[0]
        self.ws[names[0]] = first
        for name in names[1:]:
            self.ws[name] = self.wb.create_sheet(name)
        self.wb.calculation.fullCalcOnLoad = True
        self.profile_sites = [s for s, site in enumerate(sc.sites) if site.hourly_price_usd_per_mwh is not None]
        # The longest site or machine name a time sheet's column B shows (it is sized to it).
        self.name_chars = max([len(s.name) for s in sc.sites] + [len(c.model) for c in sc.fleet] + [8])

    def print_table(self, ws, *, title_rows: tuple[int, int] | None, title_cols: int = 0, landscape: bool = True,
                    col_groups: list[int] | None = None, last_col: int | None = None) -> Layout:
        """Print a table sheet in even page-wide blocks (:func:`minerplan.sheets.export.printing.print_in_blocks`)."""
        last_row, widest = sheet_extent(self.book, ws)
        return print_in_blocks(self.book, ws, last_row=last_row, last_col=last_col or widest, title_rows=title_rows,
                               title_cols=title_cols, landscape=landscape, col_groups=col_groups)

    def tr(self, i: int) -> int:
        """Row of table entry ``i`` (Fleet, Sites, AI-HPC conversion and Plan tables)."""
        return TABLE_FIRST_ROW + i

    def fleet_range(self, column: int) -> str:
        c = col(column)
        return ref("Fleet", f"${c}${self.tr(0)}:${c}${self.tr(self.n_coh - 1)}")

    def sites_range(self, column: int) -> str:
        c = col(column)
        return ref("Sites", f"${c}${self.tr(0)}:${c}${self.tr(self.n_sites - 1)}")

    def site_cell(self, s: int, field_name: str) -> str:
        return ref("Sites", f"${col(self.site_col[field_name])}${self.tr(s)}")

    def fleet_cell(self, i: int, field_name: str) -> str:
        return ref("Fleet", f"${col(self.fleet_col[field_name])}${self.tr(i)}")
