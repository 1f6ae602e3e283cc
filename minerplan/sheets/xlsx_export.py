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
(lease cash past the horizon), Cash Flow (company totals, tax, NPV, IRR),
Plan (optimizer decisions as inputs), Scenarios (Monte Carlo percentiles, as
values), Checks, and a Summary in front.

Month ``m`` lives in column E+m on every time sheet, so a formula of month
``m`` only references the same column (or the previous one) of other sheets.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.worksheet.datavalidation import DataValidation

from minerplan.engine.evaluate import EngineResult, progress_step, run_engine
from minerplan.scenario.model import Scenario
from minerplan.scenario.file_io import atomic_write
from minerplan.sheets.xlsx_book import (Book, BOLD, header_row, TITLE, FIRST_DATA_ROW, FIRST_MONTH_COL, FMT_BTC, FMT_INT, FMT_MONTH,
                        FMT_NUM0, FMT_NUM2, FMT_NUM4, FMT_PCT, FMT_SCI, FMT_SMALL, FMT_USD, FMT_USD2, GREEN,
                        NOTE, TimeSheet, as_excel_date, col, define_name, month_col,
                        month_index_formula, print_setup, put_formula, put_input, put_text, put_value, ref,
                        title)
from minerplan.scenario.fields import FLEET_COLUMNS, HOURLY_HEADERS, HOURLY_SHEET, SITE_COLUMNS

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]

BIG = "1E+300"   # stands for infinity in comparisons (a slot that never / always runs)
TABLE_HEADER_ROW = 4
MAX_LEAD_MONTHS = 120     # SiteAI.lead_time_months le
MAX_TERM_MONTHS = 600     # ColocationLease.term_months le
TABLE_FIRST_ROW = 5

SOURCE_SCENARIO = "scenario file"
SOURCE_PROTOCOL = "Bitcoin Core consensus rules (GetBlockSubsidy, pow.cpp)"


def asic_unit_value(power_w: str, ths: str, hashprice: str) -> str:
    """Formula text of :func:`minerplan.engine.valuation.asic_unit_value_usd`: a unit's TH/s x the used-market price
    per TH/s of its J/TH at ``hashprice`` (USD per TH/s per day): days of margin at a buyer's power price."""
    eff = f"({power_w}/({ths}))"
    return (f"({ths})*MAX(asic_margin_days*(MAX({hashprice},0)-asic_buyer_power_usd_per_kwh*0.024*{eff}),"
            f"asic_scrap_usd_per_th)")


@dataclass
class PlanDecisions:
    """Which rows of an optimized scenario are the optimizer's decisions (shown as inputs on the Plan sheet).

    ``conversions``: indices into ``conversion_plan``; ``retirements`` and
    ``purchases``: indices into ``fleet``.
    """

    conversions: list[int] = field(default_factory=list)
    retirements: list[int] = field(default_factory=list)
    purchases: list[int] = field(default_factory=list)
    note: str = ""


def plan_decisions(original: Scenario, planned: Scenario, note: str = "") -> PlanDecisions:
    """Tell the optimizer's decisions apart from what the original scenario already held."""
    def key(c):
        # a row the plan retires, or moves away at book value (sale_price_usd), is the original row
        return tuple(sorted((k, v) for k, v in c.model_dump(mode="json").items()
                            if k not in ("count", "retire_month", "sale_price_usd")))

    original_rows = {}
    for c in original.fleet:
        original_rows.setdefault(key(c), set()).add(c.retire_month)
    out = PlanDecisions(note=note)
    for i, c in enumerate(planned.fleet):
        k = key(c)
        if k not in original_rows:
            out.purchases.append(i)
        elif c.retire_month not in original_rows[k]:
            out.retirements.append(i)
    n0 = len(original.conversion_plan)
    out.conversions = list(range(n0, len(planned.conversion_plan)))
    return out


@dataclass
class ExportReport:
    path: Path
    seconds: float
    sheets: list[str]
    cells: int
    npv_usd: float


def _input_table_header(ws, columns, derived: tuple[str, ...], *, max_width: int,
                        derived_width: int | None = None) -> dict[str, int]:
    """The header of an input table the importer reads back (the layout's columns, their notes in
    row 3), then the derived formula columns; returns column numbers by field or derived header."""
    header_row(ws, TABLE_HEADER_ROW, [c.header for c in columns],
               widths=[max(12, min(max_width, len(c.header) + 2)) for c in columns])
    for j, column in enumerate(columns):
        if column.note:
            ws.cell(row=3, column=1 + j, value=column.note).font = NOTE
    out = {column.field: 1 + j for j, column in enumerate(columns)}
    nxt = len(columns) + 1
    for j, h in enumerate(derived):
        ws.cell(row=TABLE_HEADER_ROW, column=nxt + j, value=h).font = BOLD
        if derived_width is not None:
            ws.column_dimensions[col(nxt + j)].width = derived_width
        out[h] = nxt + j
    return out


def lease_weight_formula(idx: str, ready: str, term: str, life: str, renewal: str) -> str:
    """Excel formula for the share of a colocation lease's cash in month `idx` (a 0-based month index
    cell): 1 under contract, `renewal` (a 0..1 expression) after the term until the facility's life
    ends, else 0. `ready`, `term` and `life` are cells in months; one formula for the AI-HPC sheet and
    the terminal value, so both read a lease the same way."""
    return (f"IF(AND({idx}>={ready},{idx}<{ready}+{term}),1,IF(AND({idx}>={ready}+{term},"
            f"{idx}<{ready}+MAX({life},{term})),{renewal},0))")


class _Export:
    """Builds the workbook; each ``_sheet_*`` method records the rows other sheets reference."""

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
        names = ["Summary", "Inputs", "Network", "Retargets", "Fleet", "Cohorts", "Sites", HOURLY_SHEET,
                 "Dispatch", "Mining", "AI-HPC", "Terminal", "Cash Flow"]
        if plan is not None:
            names.append("Plan")
        names += ["Scenarios", "Checks"]
        self.ws = {}
        first = self.wb.active
        first.title = names[0]
        self.ws[names[0]] = first
        for name in names[1:]:
            self.ws[name] = self.wb.create_sheet(name)
        self.wb.calculation.fullCalcOnLoad = True
        self.profile_sites = [s for s, site in enumerate(sc.sites) if site.hourly_price_usd_per_mwh is not None]

    # ----------------------------------------------------------------- helpers
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

    # ------------------------------------------------------------------ Inputs
    def sheet_inputs(self) -> None:
        sc, ws = self.sc, self.ws["Inputs"]
        title(ws, "Inputs", "Every scalar assumption, one cell each with a defined name. Blue cells are inputs: "
                            "change them and the workbook recalculates. Per-site and per-cohort inputs are on "
                            "the Sites and Fleet sheets.")
        header_row(ws, 4, ("Input", "Value", "Unit", "Defined name", "Source / note"), widths=(46, 18, 16, 30, 90))
        mk, fin, pp = sc.market, sc.finance, sc.price_path
        src = f"{SOURCE_SCENARIO}: {sc.name}"
        r = 5
        self.input_rows: dict[str, int] = {}

        def add(name, label, value, unit, fmt=None, source=src, kind="input", choices=None):
            nonlocal r
            ws.cell(row=r, column=1, value=label)
            if kind == "input":
                put_input(ws, r, 2, value, fmt)
            elif kind == "formula":
                put_formula(ws, r, 2, value, fmt)
            else:  # a constant or an export-time fact
                cell = ws.cell(row=r, column=2, value=value)
                if fmt:
                    cell.number_format = fmt
            ws.cell(row=r, column=3, value=unit)
            ws.cell(row=r, column=4, value=name)
            ws.cell(row=r, column=5, value=source)
            define_name(self.wb, name, "Inputs", f"B{r}")
            if choices:
                dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=False)
                ws.add_data_validation(dv)
                dv.add(f"B{r}")
            self.input_rows[name] = r
            r += 1

        def heading(text):
            nonlocal r
            r += 1
            ws.cell(row=r, column=1, value=text).font = BOLD
            r += 1

        heading("Plan")
        add("start_date", "First month of the plan", as_excel_date(sc.start_month), "month", FMT_MONTH)
        add("horizon_months", "Horizon (fixed when exported: one column per month)", sc.horizon_months, "months",
            FMT_INT, kind="fact", source="fixed at export; export again for another horizon")
        heading("Market at the first month")
        add("btc_price_usd", "BTC price", mk.btc_price_usd, "USD/BTC", FMT_USD,
            source=src + " (late-Nov 2025 levels; sources: docs/sources.md)")
        add("price_path_kind", "BTC price path", pp.kind, "flat/growth/points", choices=("flat", "growth", "points"),
            source=src + "; 'points' interpolates the table below, flat after the last point")
        add("price_growth_pct_per_month", "BTC price growth (path 'growth')", pp.growth_pct_per_month, "%/month",
            FMT_NUM2)
        responsive = mk.network_model != "trend"
        frozen = (f"; with the {mk.network_model} network model the Network sheet holds the engine's values, so "
                  "this is fixed at export (export again to change it)") if responsive else ""
        net_kind = "fact" if responsive else "input"
        add("difficulty_start", "Difficulty", mk.difficulty_value, "-", FMT_SCI,
            source=src + (" (derived from network_hashrate_ehs x 600 / 2^32)" if mk.difficulty is None else "")
            + frozen, kind=net_kind)
        if mk.network_hashrate_ehs is not None and mk.difficulty is not None:
            add("network_hashrate_start_ehs", "Network hashrate online at the start", mk.network_hashrate_ehs, "EH/s",
                FMT_NUM2, source=src + " (e.g. a 7-day average; blocks run slow or fast until retargets catch up)"
                + frozen, kind=net_kind)
        add("block_height_start", "Block height", mk.block_height, "blocks", FMT_NUM0, source=src + frozen,
            kind=net_kind)
        add("fees_btc_per_block", "Transaction fees per block", mk.fees_btc_per_block, "BTC/block", FMT_BTC)
        add("hashrate_growth_pct_per_month", "Network hashrate trend growth", mk.hashrate_growth_pct_per_month,
            "%/month", FMT_NUM2, source=src + frozen, kind=net_kind)
        if mk.network_model == "capitulation":
            hr = mk.capitulation_params
            add("capitulation_lag_months", "Miner capitulation: lag", hr.lag_months, "months", FMT_NUM2,
                "scenario market.hashrate_response (engine model; fixed at export)", "fact")
            add("capitulation_switch_width_pct", "Miner capitulation: switch width", hr.switch_width_pct, "%",
                FMT_NUM2, "scenario market.hashrate_response (engine model; fixed at export)", "fact")
            for i, tier in enumerate(hr.tiers):
                add(f"capitulation_tier{i + 1}_share_pct",
                    f"Tier {i + 1}: {tier.efficiency_j_per_th:g} J/TH at {tier.power_usd_per_kwh:g} USD/kWh, share",
                    tier.share_pct, "%", FMT_NUM2, "scenario market.hashrate_response.tiers (fixed at export)",
                    "fact")
        add("fee_growth_pct_per_month", "Fee growth", mk.fee_growth_pct_per_month, "%/month", FMT_NUM2)
        heading("Finance")
        add("pool_fee_pct", "Pool fee", fin.pool_fee_pct, "%", FMT_NUM2)
        add("discount_rate_pct", "Discount rate (annual)", fin.discount_rate_pct, "%/yr", FMT_NUM2)
        add("tax_rate_pct", "Tax rate", fin.tax_rate_pct, "%", FMT_NUM2)
        add("tax_mode", "Tax mode", fin.tax_mode, "carryforward/linear", choices=("carryforward", "linear"),
            source=src + "; carryforward: per calendar year, paid in its last month, losses carried forward")
        add("g_and_a_usd_per_month", "G&A", fin.g_and_a_usd_per_month, "USD/month", FMT_USD)
        add("g_and_a_mining_share_pct", "Share of G&A charged to mining (cost per BTC; blank: mining's share of "
            "revenue)", fin.g_and_a_mining_share_pct, "%", FMT_NUM2)
        add("asic_residual_value", "ASIC residual value at the horizon", fin.asic_residual_value,
            "market/salvage/none", choices=("market", "salvage", "none"),
            source=src + "; market: used-market price by efficiency tier (table below), moving with hashprice, "
                         "from each cohort's salvage quote when it has one; salvage: the same (older files)")
        add("terminal_value_mode", "AI/HPC value past the horizon", fin.terminal_value,
            "none/contracted_ai/ai_residual", choices=("none", "contracted_ai", "ai_residual"),
            source=src + "; ai_residual: contracted lease cash, renewal until the facility's life ends, GPUs' "
                         "remaining life")
        heading("Discount rates by cash-flow class")
        add("lease_discount_rate_pct", "Colocation lease cash (blank: by the tenant's credit)",
            fin.lease_discount_rate_pct, "%/yr", FMT_NUM2)
        from minerplan.engine.valuation import ASIC_BUYER_POWER_USD_PER_KWH, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, ASIC_MARGIN_DAYS, \
            ASIC_SCRAP_USD_PER_TH, LEASE_DISCOUNT_RATE_PCT
        add("lease_rate_investment_grade_pct", "Lease cash, investment-grade tenant",
            LEASE_DISCOUNT_RATE_PCT["investment_grade"], "%/yr", FMT_NUM2,
            "TeraWulf 7.75% senior secured notes due 2030 (Oct 2025), on a Google-backstopped lease "
            "(docs/sources.md)")
        add("lease_rate_high_yield_pct", "Lease cash, high-yield tenant", LEASE_DISCOUNT_RATE_PCT["high_yield"],
            "%/yr", FMT_NUM2, "Applied Digital 9.25% senior secured notes due 2030 (Nov 2025), on CoreWeave leases "
                              "(docs/sources.md)")
        add("gpu_cloud_discount_rate_pct", "GPU cloud cash", fin.gpu_cloud_discount_rate_pct, "%/yr", FMT_NUM2,
            src + "; above CoreWeave's 9-9.25% notes: rental income is not contracted (docs/sources.md)")
        heading("ASIC used-market price (salvage at retirement, residual at the horizon's end)")
        add("asic_index_hashprice_usd_per_th_day", "Hashprice of the price index's month (Nov 2025)",
            ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, "USD per TH/s per day", "0.00000",
            "Luxor Hashrate Index, November 2025 average ($39.82 per PH/s per day); a cohort's salvage quote "
            "is read as a price in that market (Hashrate Index ASIC Price Index, "
            "data.hashrateindex.com/chart/asic-price-index)")
        add("asic_margin_days", "Days of margin a buyer pays for", ASIC_MARGIN_DAYS, "days", FMT_NUM2,
            "least-squares fit to the Hashrate Index ASIC Price Index tiers, late 2025, at the November 2025 "
            "hashprice of $39.82 per PH/s per day (docs/sources.md)")
        add("asic_buyer_power_usd_per_kwh", "Buyer's power price", ASIC_BUYER_POWER_USD_PER_KWH, "USD/kWh",
            FMT_NUM4, "the same fit (docs/sources.md)")
        add("asic_scrap_usd_per_th", "Scrap value", ASIC_SCRAP_USD_PER_TH, "USD per TH/s", FMT_NUM2,
            "MinerPlan assumption (docs/sources.md)")
        heading("Monte Carlo (used for the Scenarios sheet values only)")
        mc = sc.monte_carlo
        add("mc_drift_pct_per_year", "Drift of the mean", mc.drift_value_pct_per_year, "%/yr", FMT_NUM2,
            ("the drift that keeps the entered price path the MEDIAN path (scenario gives none)"
             if mc.centred_on_median else "scenario file") + "; used at export for the Scenarios sheet (values)",
            "fact")
        add("mc_volatility_pct_per_year", "Volatility", sc.monte_carlo.volatility_pct_per_year, "%/yr", FMT_NUM2,
            "scenario file; used at export for the Scenarios sheet (values)", "fact")
        heading("Protocol constants")
        add("halving_interval_blocks", "Halving interval", 210_000, "blocks", FMT_NUM0, SOURCE_PROTOCOL, "fact")
        add("retarget_interval_blocks", "Difficulty retarget interval", 2016, "blocks", FMT_NUM0, SOURCE_PROTOCOL,
            "fact")
        add("target_block_time_s", "Target block time", 600, "s", FMT_NUM0, SOURCE_PROTOCOL, "fact")
        add("two_pow_32", "Hashes per unit of difficulty (2^32)", 2**32, "hashes", FMT_NUM0, SOURCE_PROTOCOL, "fact")
        add("initial_subsidy_sats", "Initial block subsidy", 5_000_000_000, "sat", FMT_NUM0, SOURCE_PROTOCOL, "fact")
        add("sats_per_btc", "Satoshis per BTC", 100_000_000, "sat/BTC", FMT_NUM0, SOURCE_PROTOCOL, "fact")
        add("seconds_per_day", "Seconds per day", 86_400, "s", FMT_NUM0, "definition", "fact")
        heading("Derived (formulas)")
        add("net_share", "Share of mined BTC kept after the pool fee", "=1-pool_fee_pct/100", "-", FMT_NUM4,
            "1 - pool fee", "formula")
        add("monthly_rate", "Monthly discount rate", "=(1+discount_rate_pct/100)^(1/12)-1", "-", FMT_SMALL,
            "(1 + annual)^(1/12) - 1; cash flows at month ends", "formula")
        add("tax_rate", "Tax rate (fraction)", "=tax_rate_pct/100", "-", FMT_NUM4, "", "formula")
        if mk.network_hashrate_ehs is not None and mk.difficulty is not None:
            add("hashrate_start_hs", "Network hashrate online at the start", "=network_hashrate_start_ehs*1E+18",
                "hash/s", FMT_SCI, "the input hashrate online now (it may differ from what difficulty implies)",
                "formula")
        else:
            add("hashrate_start_hs", "Network hashrate implied by difficulty", "=difficulty_start*two_pow_32/"
                "target_block_time_s", "hash/s", FMT_SCI, "H = D x 2^32 / 600", "formula")
        add("hashrate_k_per_s", "Hashrate growth rate (continuous)",
            "=LN(1+hashrate_growth_pct_per_month/100)/(365.25/12*seconds_per_day)", "1/s", FMT_SCI,
            "H(t) = H0 exp(k t); a month is 365.25/12 days on average", "formula")

        # The BTC price points (path 'points'): month and price; the start price anchors month 0 unless given.
        r += 1
        ws.cell(row=r, column=1, value="BTC price points (path 'points')").font = BOLD
        r += 1
        for j, h in enumerate(("Month", "BTC price [USD]", "Month index")):
            ws.cell(row=r, column=1 + j, value=h).font = BOLD
        r += 1
        pts = [(p.month, p.btc_price_usd) for p in pp.points]
        first = r
        # Month 0 is anchored at the start price unless the first point is at (or moved to) the first month.
        put_formula(ws, r, 1, "=start_date", FMT_MONTH)
        put_formula(ws, r, 2, f"=IF(C{r + 1}<=0,B{r + 1},btc_price_usd)" if pts else "=btc_price_usd", FMT_USD)
        ws.cell(row=r, column=4, value="month 0: the start price, or the first point's price when it is at month 0")
        put_formula(ws, r, 3, month_index_formula(f"A{r}"), FMT_INT)
        r += 1
        for month, price in pts:
            put_input(ws, r, 1, as_excel_date(month), FMT_MONTH)
            put_input(ws, r, 2, price, FMT_USD)
            put_formula(ws, r, 3, month_index_formula(f"A{r}"), FMT_INT)
            r += 1
        self.points = (first, r - 1)
        ws.freeze_panes = "A5"
        print_setup(ws, landscape=False, title_rows="4:4")

    def price_formula(self, m: int, c: str) -> str:
        """BTC price of month m from the path kind (flat, growth, or points interpolated like numpy.interp)."""
        a, b = self.points
        xs, ys = f"Inputs!$C${a}:$C${b}", f"Inputs!$B${a}:$B${b}"
        idx = f"{c}$5"
        if a == b:
            interp = f"Inputs!$B${a}"
        else:
            j = f"MATCH({idx},{xs},1)"
            x0, x1 = f"INDEX({xs},{j})", f"INDEX({xs},{j}+1)"
            y0, y1 = f"INDEX({ys},{j})", f"INDEX({ys},{j}+1)"
            interp = (f"IF({idx}<=Inputs!$C${a},Inputs!$B${a},IF({idx}>=Inputs!$C${b},Inputs!$B${b},"
                      f"({y1}-{y0})/({x1}-{x0})*({idx}-{x0})+{y0}))")
        return (f'IF(price_path_kind="growth",btc_price_usd*(1+price_growth_pct_per_month/100)^{idx},'
                f'IF(price_path_kind="points",{interp},btc_price_usd))')

    # --------------------------------------------------------------- Network
    def sheet_retargets(self) -> None:
        """Difficulty epochs: when each retarget happens and the new difficulty (clamped x4 / x0.25)."""
        ws = self.ws["Retargets"]
        title(ws, "Difficulty retargets and subsidy eras",
              "One row per 2016-block epoch. Hashrate follows H0 exp(k t); blocks come faster than 600 s while "
              "hashrate runs ahead of difficulty, so retargets (and the halving) move earlier. Time in seconds "
              "from the start of the first month.")
        heads = ("Epoch", "Start height", "Start time [s]", "Epoch clock start [s]", "Difficulty",
                 "Retarget height", "End time [s]", "Adjustment (clamped)")
        header_row(ws, 4, heads, widths=18)
        # Enough epochs for the horizon at twice the engine's block count, plus slack for edits.
        blocks = float(self.res.network.blocks.sum())
        n_epochs = int(np.ceil(blocks / 2016.0 * 2.0)) + 8
        k, h0 = "hashrate_k_per_s", "hashrate_start_hs"
        first = 5
        for e in range(n_epochs):
            r = first + e
            p = r - 1
            if e == 0:
                cells = ("=0", "=block_height_start", "=0",
                         "=-MOD(block_height_start,retarget_interval_blocks)*target_block_time_s",
                         "=difficulty_start", "=(INT(block_height_start/retarget_interval_blocks)+1)"
                                              "*retarget_interval_blocks")
            else:
                cells = (f"=A{p}+1", f"=F{p}", f"=G{p}", f"=G{p}", f"=IF(G{p}>=1E+299,E{p},E{p}*H{p})",
                         f"=F{p}+retarget_interval_blocks")
            for j, f in enumerate(cells):
                put_formula(ws, r, 1 + j, f, (FMT_INT, FMT_NUM0, FMT_NUM0, FMT_NUM0, FMT_SCI, FMT_NUM0)[j])
            work = f"(F{r}-B{r})*E{r}*two_pow_32"
            arg = f"(EXP({k}*C{r})+{work}*{k}/{h0})"
            put_formula(ws, r, 7, f"=IF(C{r}>=1E+299,{BIG},IF(ABS({k})<1E-18,C{r}+{work}/{h0},"
                                  f"IF({arg}<=0,{BIG},LN({arg})/{k})))", FMT_NUM0)
            put_formula(ws, r, 8, f"=IF(G{r}>=1E+299,1,MIN(4,MAX(0.25,retarget_interval_blocks*target_block_time_s"
                                  f"/MAX(G{r}-D{r},1E-9))))", FMT_NUM4)
        self.epochs = (first, first + n_epochs - 1)
        # Subsidy eras: subsidy per block (integer satoshis halved) and the cumulative subsidy at each era start.
        header_row(ws, 4, ("Era", "Start height", "Subsidy [BTC/block]", "Cumulative subsidy at start [BTC]"),
                   first_column=11, widths=20)
        for e in range(65):
            r = first + e
            ws.cell(row=r, column=11, value=e)
            put_formula(ws, r, 12, f"=K{r}*halving_interval_blocks", FMT_NUM0)
            put_formula(ws, r, 13, f"=INT(initial_subsidy_sats/2^K{r})/sats_per_btc", FMT_BTC)
            put_formula(ws, r, 14, "=0" if e == 0 else f"=N{r - 1}+halving_interval_blocks*M{r - 1}", FMT_NUM2)
        self.eras = (first, first + 64)
        ws.freeze_panes = "A5"
        print_setup(ws, title_rows="4:4")

    def sheet_network(self) -> None:
        ws = self.ws["Network"]
        title(ws, "Network", "Monthly BTC price, hashrate, blocks, subsidy, fees and hashprice, all formulas of "
                             "the Inputs and the Retargets table.")
        t = TimeSheet(self.book, ws, self.n)
        self.net = t
        a, b = self.epochs
        ea, eb = self.eras
        k, h0 = "hashrate_k_per_s", "hashrate_start_hs"
        R = {}
        t.section("Time")
        R["t0"] = t.row("Time at month start", None, "s", lambda m, c: f"SUM($D$7:{month_col(m - 1)}$7)*seconds_per_day",
                        FMT_NUM0)
        R["t1"] = t.row("Time at month end", None, "s", lambda m, c: f"{c}{R['t0']}+{c}$7*seconds_per_day", FMT_NUM0)
        t.section("Bitcoin price")
        R["price"] = t.row("BTC price", None, "USD/BTC", lambda m, c: self.price_formula(m, c), FMT_USD)
        if self.sc.market.network_model != "trend":
            self._network_from_engine(t, R)
            return
        t.section("Hashrate and blocks")
        R["hashrate"] = t.row(
            "Network hashrate (month average)", None, "EH/s",
            lambda m, c: f"IF(ABS({k})<1E-18,{h0},{h0}*(EXP({k}*{c}{R['t1']})-EXP({k}*{c}{R['t0']}))"
                         f"/({k}*({c}{R['t1']}-{c}{R['t0']})))/1E+18", FMT_NUM2)
        epoch = f"MATCH({{c}}{R['t1']},Retargets!$C${a}:$C${b},1)"

        def height_end(m, c):
            j = epoch.format(c=c)
            hs = f"INDEX(Retargets!$B${a}:$B${b},{j})"
            ts = f"INDEX(Retargets!$C${a}:$C${b},{j})"
            d = f"INDEX(Retargets!$E${a}:$E${b},{j})"
            tt = f"{c}{R['t1']}"
            return (f"{hs}+IF(ABS({k})<1E-18,{h0}*({tt}-{ts}),{h0}*(EXP({k}*{tt})-EXP({k}*{ts}))/{k})"
                    f"/({d}*two_pow_32)")

        R["h0"] = t.row("Block height at month start", None, "blocks",
                        lambda m, c: f"IF({c}$5=0,block_height_start,{month_col(m - 1)}{t.current_row + 1})", FMT_NUM0)
        R["h1"] = t.row("Block height at month end", None, "blocks", height_end, FMT_NUM0)
        R["blocks"] = t.row("Blocks found", None, "blocks", lambda m, c: f"{c}{R['h1']}-{c}{R['h0']}", FMT_NUM2,
                            total=True)

        def cum_subsidy(h):
            era = f"MIN(INT({h}/halving_interval_blocks),64)"
            return (f"(INDEX(Retargets!$N${ea}:$N${eb},{era}+1)+({h}-{era}*halving_interval_blocks)"
                    f"*INDEX(Retargets!$M${ea}:$M${eb},{era}+1))")

        R["subsidy"] = t.row("Block subsidy (average)", None, "BTC/block",
                             lambda m, c: f"IF({c}{R['blocks']}>0,({cum_subsidy(c + str(R['h1']))}-"
                                          f"{cum_subsidy(c + str(R['h0']))})/{c}{R['blocks']},0)", FMT_BTC)
        R["difficulty"] = t.row(
            "Difficulty (block-weighted average)", None, "-",
            lambda m, c: f"IF({c}{R['blocks']}>0,{c}{R['hashrate']}*1E+18*({c}{R['t1']}-{c}{R['t0']})/two_pow_32/"
                         f"{c}{R['blocks']},difficulty_start)", FMT_SCI)
        self._network_tail(t, R)

    def _network_tail(self, t: TimeSheet, R: dict) -> None:
        """Fees, blocks per day and hashprice: formulas in both network variants."""
        R["fees"] = t.row("Transaction fees per block", None, "BTC/block",
                          lambda m, c: f"fees_btc_per_block*(1+fee_growth_pct_per_month/100)^{c}$5", FMT_BTC)
        R["bpd"] = t.row("Blocks per day", None, "blocks/day", lambda m, c: f"{c}{R['blocks']}/{c}$7", FMT_NUM2)
        t.section("Hashprice: what one unit of hashrate earns")
        R["hp_btc"] = t.row("Hashprice", None, "BTC per TH/s per day",
                            lambda m, c: f"{c}{R['bpd']}*({c}{R['subsidy']}+{c}{R['fees']})/({c}{R['hashrate']}*1E+6)",
                            FMT_SMALL)
        R["hp_btc_ph"] = t.row("Hashprice", None, "BTC per PH/s per day",
                               lambda m, c: f"{c}{R['hp_btc']}*1000", "0.000000")
        R["hp_usd"] = t.row("Hashprice", None, "USD per TH/s per day",
                            lambda m, c: f"{c}{R['price']}*{c}{R['hp_btc']}", "0.000000")
        R["hp_usd_ph"] = t.row("Hashprice", None, "USD per PH/s per day",
                               lambda m, c: f"{c}{R['hp_usd']}*1000", FMT_USD2)
        from minerplan.engine.valuation import SALE_FORESIGHT_MONTHS

        n = self.n

        def halving_ahead(m, c):
            last = month_col(min(m + SALE_FORESIGHT_MONTHS, n) - 1)
            sub = R["subsidy"]
            return f"IF({c}{sub}>0,AVERAGE({c}{sub}:{last}{sub})/{c}{sub},1)"

        R["halving_ahead"] = t.row(f"Halving ahead: mean subsidy of the next {SALE_FORESIGHT_MONTHS} months / "
                                   "this month's", None, "x", halving_ahead, "0.0000")
        R["hp_sale"] = t.row("Hashprice a used-ASIC buyer prices (x halving ahead)", None, "USD per TH/s per day",
                             lambda m, c: f"{c}{R['hp_usd']}*{c}{R['halving_ahead']}", "0.000000")
        self.R_net = R
        print_setup(t.ws, title_rows="4:7", title_cols="A:D")

    def _network_from_engine(self, t: TimeSheet, R: dict) -> None:
        """Network rows as the engine's values when hashrate answers hashprice (not in formulas).

        The supply and capitulation network models make hashrate answer each
        path's hashprice month by month, with retargets in between: the
        workbook takes those series from the engine for the deterministic
        path (grey, labelled), and everything downstream stays live formulas.
        Changing the BTC price input then moves revenue but not the network.
        """
        net = self.res.network
        t.section("Hashrate and blocks", f"values from the engine's {self.sc.market.network_model} network model "
                                         "(they do not recalculate: export again after changing market inputs)")
        R["hashrate"] = t.values_row("Network hashrate (month average)", None, "EH/s", net.network_hashrate_ehs[0],
                                     FMT_NUM2)
        R["h0"] = t.values_row("Block height at month start", None, "blocks", net.height_start[0], FMT_NUM0)
        R["blocks"] = t.values_row("Blocks found", None, "blocks", net.blocks[0], FMT_NUM2, total=True)
        R["subsidy"] = t.values_row("Block subsidy (average)", None, "BTC/block", net.subsidy_btc[0], FMT_BTC)
        R["difficulty"] = t.values_row("Difficulty (block-weighted average)", None, "-", net.difficulty[0], FMT_SCI)
        self._network_tail(t, R)

    # ------------------------------------------------------------- Fleet / Sites
    def sheet_sites(self) -> None:
        sc, ws = self.sc, self.ws["Sites"]
        title(ws, "Sites and power contracts", "One row per site (inputs in blue). MinerPlan's import reads this "
                                                "table back: minerplan import-sites plan.xlsx --into scenario.json")
        self.site_col = _input_table_header(ws, SITE_COLUMNS, ("Site #", "Hourly profile", "Profile first row"),
                                            max_width=28)
        nxt = len(SITE_COLUMNS) + 1
        yes_no = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
        ws.add_data_validation(yes_no)
        lists = {}
        for column in SITE_COLUMNS:
            if column.kind == "choice":
                lists[column.field] = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"',
                                                     allow_blank=True)
                ws.add_data_validation(lists[column.field])
        profile_row = {}
        for k, s in enumerate(self.profile_sites):
            profile_row[s] = TABLE_FIRST_ROW + 12 * k
        for s, site in enumerate(sc.sites):
            r = self.tr(s)
            data = site.model_dump(mode="python")
            for column in SITE_COLUMNS:
                value = data
                for part in column.field.split("."):
                    value = None if value is None else value.get(part)
                if value is None:   # blank but still an input cell (a site without AI/HPC terms, say)
                    put_input(ws, r, self.site_col[column.field], None)
                    continue
                if column.kind == "bool":
                    value = "yes" if value else "no"
                cell = put_input(ws, r, self.site_col[column.field], value,
                                 FMT_INT if column.kind == "integer" else (FMT_NUM2 if column.kind == "number"
                                                                          else None))
                if column.kind == "bool":
                    yes_no.add(cell.coordinate)
                elif column.kind == "choice":
                    lists[column.field].add(cell.coordinate)
            ws.cell(row=r, column=nxt, value=s + 1)
            has = s in profile_row
            ws.cell(row=r, column=nxt + 1, value="yes" if has else "no")
            ws.cell(row=r, column=nxt + 2, value=profile_row.get(s))
        ws.freeze_panes = ws.cell(row=TABLE_FIRST_ROW, column=2)
        print_setup(ws, title_rows=f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}", title_cols="A:A")

        hs = self.ws[HOURLY_SHEET]
        title(hs, "Hourly energy prices [USD/MWh]",
              "12 x 24 profiles (calendar month x hour of day) for the sites that have one; they replace the "
              "site's flat price for energy drawn. The set of sites with a profile is fixed at export.")
        header_row(hs, TABLE_HEADER_ROW, HOURLY_HEADERS, widths=[20, 20] + [8] * (len(HOURLY_HEADERS) - 2))
        self.profile_range = {}
        for s in self.profile_sites:
            r0 = profile_row[s]
            prof = sc.sites[s].hourly_price_usd_per_mwh
            for mth in range(12):
                r = r0 + mth
                put_text(hs, r, 1, sc.sites[s].name)  # a value, so the importer can match it to its site
                hs.cell(row=r, column=2, value=mth + 1)
                for h in range(24):
                    put_input(hs, r, 3 + h, float(prof[mth][h]), FMT_NUM2)
            self.profile_range[s] = ref(HOURLY_SHEET, f"$C${r0}:$Z${r0 + 11}")
        hs.freeze_panes = "C5"
        print_setup(hs, title_rows=f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")

    def sheet_fleet(self) -> None:
        sc, ws = self.sc, self.ws["Fleet"]
        title(ws, "Fleet: ASIC cohorts", "One row per batch of identical machines (inputs in blue; green cells "
                                         "link to the Plan sheet). minerplan import-fleet reads this table back.")
        self.fleet_col = _input_table_header(
            ws, FLEET_COLUMNS, ("Cohort #", "Delivery index", "Retire index", "Nameplate [J/TH]", "Site row",
                                "Site PUE", "Residual at horizon end [USD]", "Residual book value [USD]",
                                "Residual after tax [USD]", "Salvage quote scale"), max_width=26, derived_width=16)
        nxt = len(FLEET_COLUMNS) + 1
        F = {f: col(self.fleet_col[f]) for f in self.fleet_col}
        plan_links = self.plan_fleet_links()
        for i, coh in enumerate(sc.fleet):
            r = self.tr(i)
            data = coh.model_dump(mode="python")
            for column in FLEET_COLUMNS:
                cidx = self.fleet_col[column.field]
                link = plan_links.get((i, column.field))
                if link is not None:
                    put_formula(ws, r, cidx, "=" + link,
                                FMT_MONTH if column.kind == "month" else FMT_NUM2, GREEN)
                    continue
                value = data[column.field]
                if value is None:   # blank but still an input cell (no delivery or retirement month)
                    put_input(ws, r, cidx, None, FMT_MONTH if column.kind == "month" else None)
                    continue
                if column.kind == "month":
                    put_input(ws, r, cidx, as_excel_date(value), FMT_MONTH)
                else:
                    put_input(ws, r, cidx, value, FMT_INT if column.kind == "integer" else
                              (FMT_NUM2 if column.kind == "number" else None))
            ws.cell(row=r, column=nxt, value=i + 1)
            put_formula(ws, r, nxt + 1, f'=IF({F["purchase_month"]}{r}="",-1,'
                                        f'{month_index_formula(F["purchase_month"] + str(r))})', FMT_INT)
            put_formula(ws, r, nxt + 2, f'=IF({F["retire_month"]}{r}="",1000000,'
                                        f'{month_index_formula(F["retire_month"] + str(r))})', FMT_INT)
            put_formula(ws, r, nxt + 3, f"={F['power_w']}{r}/{F['hashrate_ths']}{r}", FMT_NUM2)
            put_formula(ws, r, nxt + 4, f"=SUMPRODUCT(--({self.sites_range(1)}={F['site']}{r}),"
                                        f"{self.sites_range(self.site_col['Site #'])})", FMT_INT)
            put_formula(ws, r, nxt + 5, f"=INDEX({self.sites_range(self.site_col['pue'])},{F['Site row']}{r})",
                        FMT_NUM2)
            buy, ret = f"{F['Delivery index']}{r}", f"{F['Retire index']}{r}"
            at_end = f"AND(horizon_months-1>=MAX({buy},0),horizon_months-1<{ret})"
            cnt = f"{F['count']}{r}"
            age_end = f"IF({buy}>=0,horizon_months-{buy},{F['age_months']}{r}+horizon_months)"
            # Market: the unit's hashrate in the last month (degraded) at the used-market price of its J/TH
            # at the last month's hashprice.
            ths_end = (f"{F['hashrate_ths']}{r}*(1-{F['degradation_pct_per_year']}{r}/100)^(MAX({age_end}-1,0)/12)")
            hp_end = f"Network!${month_col(self.n - 1)}${self.R_net['hp_usd']}"
            scale = f"{F['Salvage quote scale']}{r}"
            market = f"{cnt}*{asic_unit_value(F['power_w'] + str(r), ths_end, hp_end)}*{scale}"
            put_formula(ws, r, nxt + 6, f'=IF(AND({at_end},asic_residual_value<>"none"),{market},0)', FMT_USD)
            put_formula(ws, r, nxt + 7, f"=IF({at_end},{cnt}*{F['purchase_price_usd']}{r}*MIN(1,MAX(0,1-{age_end}/"
                                        f"{F['useful_life_months']}{r})),0)", FMT_USD)
            q, b = f"{F['Residual at horizon end [USD]']}{r}", f"{F['Residual book value [USD]']}{r}"
            put_formula(ws, r, nxt + 8, f"={q}-tax_rate*({q}-{b})", FMT_USD)
            # The salvage quote (per unit, at the start) over the index's value of one unit in the first month:
            # its TH/s then (degraded by its age at the start) at the index month's hashprice (late 2025).
            ths0 = (f"{F['hashrate_ths']}{r}*(1-{F['degradation_pct_per_year']}{r}/100)^"
                    f"(IF({buy}>=0,0,{F['age_months']}{r})/12)")
            v0 = asic_unit_value(F["power_w"] + str(r), ths0, "asic_index_hashprice_usd_per_th_day")
            quote = f"{F['salvage_usd']}{r}"
            put_formula(ws, r, nxt + 9, f"=IF(AND({quote}>0,{v0}>0),{quote}/({v0}),1)", FMT_NUM4)
        ws.freeze_panes = ws.cell(row=TABLE_FIRST_ROW, column=2)
        print_setup(ws, title_rows=f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}", title_cols="A:A")

    # -------------------------------------------------------------- Cohorts
    def sheet_cohorts(self) -> None:
        """Per cohort and month: what is installed, placed, and what it would produce and draw if it ran."""
        ws = self.ws["Cohorts"]
        title(ws, "Cohorts by month", "Per batch of machines: active, age, degraded hashrate, the share that fits "
                                      "the site's mining capacity (best J/TH first), and energy and TH-days if it ran "
                                      "all month.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        F = {f: col(self.fleet_col[f]) for f in self.fleet_col}
        C = {}
        items = range(self.n_coh)
        if self.n_coh == 0:
            self.C = C
            return

        fleet_refs: dict[tuple[int, str], str] = {}

        def fc(i, f):
            got = fleet_refs.get((i, f))
            if got is None:
                got = fleet_refs[(i, f)] = ref("Fleet", f"${F[f]}${self.tr(i)}")
            return got

        def label(i):
            return "=" + ref("Fleet", f"$A${self.tr(i)}")

        def block(key, lab, unit, fn, fmt=FMT_NUM2, total=False):
            C[key] = t.rows(lab, items, unit, fn, fmt, total, item_formula=label)

        t.section("Installed")
        block("active", "Active (bought, not retired)", "1/0",
              lambda i, m, c: f"IF(AND({c}$5>=MAX({fc(i, 'Delivery index')},0),{c}$5<{fc(i, 'Retire index')}),1,0)",
              FMT_INT)
        block("age", "Age", "months",
              lambda i, m, c: f"MAX(IF({fc(i, 'Delivery index')}>=0,{c}$5-{fc(i, 'Delivery index')},"
                              f"{fc(i, 'age_months')}+{c}$5),0)", FMT_INT)
        block("ths", "Hashrate per unit (degraded)", "TH/s",
              lambda i, m, c: f"{fc(i, 'hashrate_ths')}*(1-{fc(i, 'degradation_pct_per_year')}/100)^"
                              f"({c}{C['age'][i]}/12)")
        block("eff", "Efficiency", "J/TH", lambda i, m, c: f"{fc(i, 'power_w')}/{c}{C['ths'][i]}")
        block("load", "Load if all active units ran", "MW",
              lambda i, m, c: f"{c}{C['active'][i]}*({fc(i, 'count')}*{fc(i, 'power_w')}*{fc(i, 'Site PUE')}/1E+6)",
              FMT_NUM4)
        sites = self.fleet_range(self.fleet_col["site"])
        ids = self.fleet_range(self.fleet_col["Cohort #"])

        def placed(i, m, c):
            effs, loads = t.range_in(C["eff"], c), t.range_in(C["load"], c)
            e, ld = f"{c}{C['eff'][i]}", f"{c}{C['load'][i]}"
            before = (f"SUMPRODUCT(({sites}={fc(i, 'site')})*(({effs}<{e})+({effs}={e})*({ids}<{fc(i, 'Cohort #')}))"
                      f",{loads})")
            cap = f"INDEX(Mining!{c}${self.M['cap'][0]}:{c}${self.M['cap'][-1]},{fc(i, 'Site row')})"
            return f"IF({ld}>0,MIN(1,MAX(0,MAX({cap}-{before},0)/{ld})),0)"

        block("placed", "Share placed (fits the site, best J/TH first)", "fraction", placed, FMT_NUM4)
        block("units", "Running units", "units",
              lambda i, m, c: f"{fc(i, 'count')}*{c}{C['active'][i]}*{c}{C['placed'][i]}", FMT_NUM0)
        t.section("If running every hour of the month")
        block("th", "Hash output if run", "TH/s-days",
              lambda i, m, c: f"{c}{C['units'][i]}*{fc(i, 'uptime_pct')}/100*{c}{C['ths'][i]}*{c}$7", FMT_NUM0)
        block("e", "Energy if run (with PUE)", "MWh",
              lambda i, m, c: f"{c}{C['units'][i]}*{fc(i, 'uptime_pct')}/100*({fc(i, 'power_w')}*"
                              f"{fc(i, 'Site PUE')}/1E+6)*24*{c}$7", FMT_NUM2)
        block("eth", "Energy per TH/s-day", "MWh per TH/s-day",
              lambda i, m, c: f"IF({c}{C['th'][i]}>0,{c}{C['e'][i]}/{c}{C['th'][i]},0)", "0.000000000")
        block("placed_mw", "Placed load (with PUE)", "MW",
              lambda i, m, c: f"{c}{C['units'][i]}*({fc(i, 'power_w')}*{fc(i, 'Site PUE')}/1E+6)", FMT_NUM4)
        t.section("Capital")
        block("capex", "Purchase capex", "USD",
              lambda i, m, c: f"IF({c}$5={fc(i, 'Delivery index')},{fc(i, 'count')}*{fc(i, 'purchase_price_usd')},0)",
              FMT_USD, True)

        def dep(i, m, c):
            buy, ret, life = fc(i, "Delivery index"), fc(i, "Retire index"), fc(i, "useful_life_months")
            price = f"{fc(i, 'count')}*{fc(i, 'purchase_price_usd')}"
            at_retire = f"AND({c}$5={ret},{ret}>{buy})"
            age_ret = f"IF({buy}>=0,{ret}-{buy},{fc(i, 'age_months')}+{ret})"
            return (f"IF(AND({c}{C['active'][i]}=1,{c}{C['age'][i]}<{life}),{price}/{life},0)"
                    f"+IF({at_retire},{price}*MIN(1,MAX(0,1-{age_ret}/{life})),0)")

        block("dep", "Depreciation (incl. write-off at retirement)", "USD", dep, FMT_USD, True)
        t.section("Used-market value (salvage)")
        net = self.R_net

        def unit_value(i, m, c):
            """One unit sold in this month: its TH/s (degraded) x the used-market price of its J/TH at the
            hashprice a buyer prices this month (the halving ahead in it), x the cohort's quote scale."""
            index = asic_unit_value(fc(i, "power_w"), f"{c}{C['ths'][i]}", f"Network!{c}${net['hp_sale']}")
            return f"{index}*{fc(i, 'Salvage quote scale')}"

        block("unit_value", "Used-market value per unit (margin price x quote scale)", "USD", unit_value,
              FMT_USD2)
        block("salvage", "Salvage proceeds at retirement", "USD",
              lambda i, m, c: f"IF(AND({c}$5={fc(i, 'Retire index')},{fc(i, 'Retire index')}>"
                              f"{fc(i, 'Delivery index')}),{fc(i, 'count')}*IF(ISNUMBER({fc(i, 'sale_price_usd')}),"
                              f"{fc(i, 'sale_price_usd')},{c}{C['unit_value'][i]}),0)",
              FMT_USD, True)
        self.C = C
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    # ------------------------------------------------------------- Dispatch
    def sheet_dispatch(self) -> None:
        """Operating slots (cohort x hour bucket) per site: which run, and the take-or-pay fill."""
        sc, ws = self.sc, self.ws["Dispatch"]
        title(ws, "Dispatch: which machines run, hour by hour",
              "A slot is one cohort in one hour-of-day bucket (24 buckets at a site with an hourly profile, one "
              "otherwise). It runs when the hashprice covers its energy: breakeven = (price + curtailment credit) x "
              "MWh per TH/s-day / (1 - pool fee). Under take-or-pay, energy below the minimum is prepaid: the "
              "prepaid breakeven subtracts the contract price; when neither plain nor prepaid dispatch is optimal "
              "the site draws exactly the minimum, cheapest slots first (the marginal cost lambda).")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        net = self.R_net
        hp = lambda c: f"Network!{c}${net['hp_usd']}"  # noqa: E731
        self.D = {}
        for s, site in enumerate(sc.sites):
            cohorts = [i for i, c in enumerate(sc.fleet) if c.site == site.name]
            if not cohorts:
                continue
            nb = 24 if s in self.profile_sites else 1
            slots = [(i, h) for i in cohorts for h in range(nb)]
            labels = [f"{sc.fleet[i].model} #{i + 1}" + (f" H{h:02d}" if nb > 1 else "") for i, h in slots]
            t.section(f"Site {s + 1}", "")
            put_formula(ws, t.next_row - 1, 2, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            credit = self.site_cell(s, "curtailment_credit_usd_per_mwh")
            contract = self.site_cell(s, "power_price_usd_per_mwh")
            curtail = f'({self.site_cell(s, "curtailment_enabled")}<>"no")'
            top = self.site_cell(s, "take_or_pay_mwh_per_month")
            B = {}

            def block(key, lab, unit, fn, fmt=FMT_NUM2):
                B[key] = t.rows(lab, labels, unit, fn, fmt)

            def coh(key, j, c):
                return f"Cohorts!{c}${self.C[key][slots[j][0]]}"

            if nb == 1:
                block("p", "Energy price", "USD/MWh", lambda j, m, c: contract)
            else:
                rng = self.profile_range[s]
                block("p", "Energy price", "USD/MWh", lambda j, m, c: f"INDEX({rng},{c}$6,{slots[j][1] + 1})")
            block("th", "Hash output if run", "TH/s-days", lambda j, m, c: f"{coh('th', j, c)}/{nb}", FMT_NUM0)
            block("e", "Energy if run", "MWh", lambda j, m, c: f"{coh('e', j, c)}/{nb}")
            block("be", "Breakeven hashprice", "USD per TH/s per day",
                  lambda j, m, c: f"IF({c}{B['th'][j]}>0,IF({curtail},({c}{B['p'][j]}+{credit})*{coh('eth', j, c)}"
                                  f"/net_share,-{BIG}),{BIG})", "0.000000")
            block("be_pre", "Breakeven hashprice, energy prepaid", "USD per TH/s per day",
                  lambda j, m, c: f"IF({c}{B['th'][j]}>0,IF({curtail},({c}{B['p'][j]}-{contract}+{credit})*"
                                  f"{coh('eth', j, c)}/net_share,-{BIG}),{BIG})", "0.000000")
            block("run", "Runs (plain dispatch)", "1/0", lambda j, m, c: f"IF({c}{B['be'][j]}<={hp(c)},1,0)", FMT_INT)
            block("run_pre", "Runs (energy prepaid)", "1/0",
                  lambda j, m, c: f"IF({c}{B['be_pre'][j]}<={hp(c)},1,0)", FMT_INT)
            block("cost", "Net cost of running", "USD/MWh",
                  lambda j, m, c: f"IF({coh('eth', j, c)}>0,IF({curtail},{c}{B['p'][j]}+{credit}-{hp(c)}*net_share/"
                                  f"{coh('eth', j, c)},-{BIG}),{BIG})")
            block("cum", "Energy of slots at or below this cost", "MWh",
                  lambda j, m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}<={c}{B['cost'][j]}),"
                                  f"{t.range_in(B['e'], c)})")
            S = {}
            need_row = t.next_row + len(labels) + 2  # below the candidate block, a blank line and a heading
            block("cand", "Cost if it reaches the minimum", "USD/MWh",
                  lambda j, m, c: f"IF({c}{B['cum'][j]}>={c}{need_row},{c}{B['cost'][j]},{BIG})")
            t.section("Site totals", "")
            put_formula(ws, t.next_row - 1, 2, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            S["need"] = t.row("Take-or-pay energy the mining load must draw", None, "MWh",
                              lambda m, c: f"{top}-INDEX('AI-HPC'!{c}${self.A['site_energy'][0]}:"
                                           f"{c}${self.A['site_energy'][-1]},{s + 1})")
            assert S["need"] == need_row, (S["need"], need_row)
            S["e_plain"] = t.row("Energy, plain dispatch", None, "MWh",
                                 lambda m, c: f"SUMPRODUCT({t.range_in(B['run'], c)},{t.range_in(B['e'], c)})")
            S["e_pre"] = t.row("Energy, prepaid dispatch", None, "MWh",
                               lambda m, c: f"SUMPRODUCT({t.range_in(B['run_pre'], c)},{t.range_in(B['e'], c)})")
            S["mode"] = t.row("Dispatch used (1 plain, 2 prepaid, 3 fill to the minimum)", None, "-",
                              lambda m, c: f"IF(AND({top}>0,{c}{S['e_pre']}<={c}{S['need']}),2,"
                                           f"IF(AND({top}>0,{c}{S['e_plain']}<{c}{S['need']}),3,1))", FMT_INT)
            S["lam"] = t.row("Marginal cost lambda (fill)", None, "USD/MWh",
                             lambda m, c: f"MIN({t.range_in(B['cand'], c)})")
            S["e_full"] = t.row("Energy of slots below lambda", None, "MWh",
                                lambda m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}<{c}{S['lam']}),"
                                             f"{t.range_in(B['e'], c)})")
            S["e_tied"] = t.row("Energy of slots at lambda", None, "MWh",
                                lambda m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}={c}{S['lam']}),"
                                             f"{t.range_in(B['e'], c)})")
            S["frac"] = t.row("Share of the marginal slots run", None, "fraction",
                              lambda m, c: f"IF({c}{S['e_tied']}>0,MIN(1,MAX(0,({c}{S['need']}-{c}{S['e_full']})/"
                                           f"{c}{S['e_tied']})),0)", FMT_NUM4)
            W = t.rows("Share of the slot run", labels, "fraction",
                       lambda j, m, c: f"IF({c}${S['mode']}=1,{c}{B['run'][j]},IF({c}${S['mode']}=2,"
                                       f"{c}{B['run_pre'][j]},IF({c}{B['cost'][j]}<{c}${S['lam']},1,"
                                       f"IF({c}{B['cost'][j]}={c}${S['lam']},{c}${S['frac']},0))))", FMT_NUM4)
            w = lambda c: t.range_in(W, c)  # noqa: E731
            S["th"] = t.row("Hash output run", None, "TH/s-days",
                            lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['th'], c)})", FMT_NUM0)
            S["e"] = t.row("Energy drawn by mining", None, "MWh",
                           lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['e'], c)})")
            S["cost_usd"] = t.row("Energy cost of mining", None, "USD",
                                  lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['e'], c)},{t.range_in(B['p'], c)})")
            self.D[s] = S
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    # ---------------------------------------------------------------- Mining
    def mining_rows_reserved(self) -> None:
        """Mining's capacity rows are referenced by Cohorts before Mining is written: fix their rows first."""
        self.M = {"cap": [FIRST_DATA_ROW + 1 + s for s in range(self.n_sites)]}

    def sheet_mining(self) -> None:
        sc, ws = self.sc, self.ws["Mining"]
        title(ws, "Mining by site", "Per site and month: capacity left for mining, BTC mined, revenue, energy, "
                                    "curtailment, take-or-pay and opex.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        net = self.R_net
        names = [s.name for s in sc.sites]
        lab = lambda s: "=" + ref("Sites", f"$A${self.tr(s)}")  # noqa: E731
        M = self.M
        A = self.A

        def ai(key, s, c):
            return f"'AI-HPC'!{c}${A[key][s]}"

        t.section("Capacity")
        cap = t.rows("Capacity left for mining", names, "MW",
                     lambda s, m, c: f"MAX({self.site_cell(s, 'capacity_mw')}-{ai('site_converted', s, c)},0)",
                     FMT_NUM2, item_formula=lab)
        assert cap == M["cap"], (cap, M["cap"])

        def disp(key, s, c):
            return f"Dispatch!{c}{self.D[s][key]}" if s in self.D else "0"

        site_col = self.fleet_range(self.fleet_col["site"])

        def by_site(block, s, c):
            if self.n_coh == 0:
                return "0"
            rows = self.C[block]
            return (f"SUMPRODUCT(--({site_col}={self.site_cell(s, 'name')}),"
                    f"Cohorts!{c}{rows[0]}:{c}{rows[-1]})")

        t.section("Bitcoin")
        M["th"] = t.rows("Hash output run", names, "TH/s-days", lambda s, m, c: disp("th", s, c), FMT_NUM0,
                         item_formula=lab)
        M["btc"] = t.rows("BTC mined (after pool fee)", names, "BTC",
                          lambda s, m, c: f"{c}{M['th'][s]}*Network!{c}${net['hp_btc']}*net_share", FMT_BTC, True,
                          item_formula=lab)
        M["rev"] = t.rows("Mining revenue", names, "USD",
                          lambda s, m, c: f"{c}{M['btc'][s]}*Network!{c}${net['price']}", FMT_USD, True,
                          item_formula=lab)
        t.section("Energy")
        M["e"] = t.rows("Energy drawn by mining", names, "MWh", lambda s, m, c: disp("e", s, c), FMT_NUM0, True,
                        item_formula=lab)
        M["cost"] = t.rows("Mining energy cost", names, "USD", lambda s, m, c: disp("cost_usd", s, c), FMT_USD, True,
                           item_formula=lab)
        M["e_all"] = t.rows("Energy if every placed machine ran", names, "MWh", lambda s, m, c: by_site("e", s, c),
                            FMT_NUM0, item_formula=lab)
        M["curtailed"] = t.rows("Energy curtailed", names, "MWh",
                                lambda s, m, c: f"MAX({c}{M['e_all'][s]}-{c}{M['e'][s]},0)", FMT_NUM0, True,
                                item_formula=lab)
        M["credit"] = t.rows("Curtailment credit", names, "USD",
                             lambda s, m, c: f"{c}{M['curtailed'][s]}*"
                                             f"{self.site_cell(s, 'curtailment_credit_usd_per_mwh')}", FMT_USD, True,
                             item_formula=lab)
        M["shortfall"] = t.rows(
            "Take-or-pay shortfall paid", names, "USD",
            lambda s, m, c: f"MAX({self.site_cell(s, 'take_or_pay_mwh_per_month')}-{c}{M['e'][s]}-"
                            f"{ai('site_energy', s, c)},0)*{self.site_cell(s, 'power_price_usd_per_mwh')}",
            FMT_USD, True, item_formula=lab)

        def avg_price(s, c):
            if s in self.profile_sites:
                return f"AVERAGE(INDEX({self.profile_range[s]},{c}$6,0))"
            return self.site_cell(s, "power_price_usd_per_mwh")

        M["avg_price"] = t.rows("Average energy price (flat load)", names, "USD/MWh",
                                lambda s, m, c: avg_price(s, c), FMT_NUM2, item_formula=lab)
        M["ai_power"] = t.rows("AI/HPC energy paid by the miner", names, "USD",
                               lambda s, m, c: f"{ai('site_paid', s, c)}*{c}{M['avg_price'][s]}", FMT_USD, True,
                               item_formula=lab)
        t.section("Opex and EBITDA")
        M["installed"] = t.rows("Installed ASIC load (with PUE), before fitting the capacity", names, "MW",
                                lambda s, m, c: by_site("load", s, c), FMT_NUM2, item_formula=lab)
        M["load"] = t.rows("Placed ASIC load (with PUE)", names, "MW", lambda s, m, c: by_site("placed_mw", s, c),
                           FMT_NUM2, item_formula=lab)
        M["opex"] = t.rows("Mining opex", names, "USD",
                           lambda s, m, c: f"{c}{M['load'][s]}*{self.site_cell(s, 'mining_opex_usd_per_mw_month')}",
                           FMT_USD, True, item_formula=lab)
        M["ebitda"] = t.rows(
            "Site EBITDA (before G&A)", names, "USD",
            lambda s, m, c: f"{c}{M['rev'][s]}+{c}{M['credit'][s]}+{ai('site_revenue', s, c)}-{c}{M['cost'][s]}-"
                            f"{c}{M['shortfall'][s]}-{c}{M['ai_power'][s]}-{c}{M['opex'][s]}-{ai('site_opex', s, c)}",
            FMT_USD, True, item_formula=lab)
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    # --------------------------------------------------------------- AI/HPC
    CONV_DERIVED = ("Site row", "Model used", "Start index", "Lead time [months]", "Ready index", "Critical MW",
                    "Conversion capex [USD]", "Facility life [months]", "Load factor [%]", "Lease rate [USD/kW-mo]",
                    "Escalator [%/yr]", "Lease term [months]", "Tenant pays power", "Landlord opex [USD/kW-mo]",
                    "GPUs", "GPU rate [USD/h]", "GPU rate decline [%/yr]", "GPU utilization [%]", "GPU capex [USD/GPU]", "GPU life [months]",
                    "GPU opex [USD/GPU-mo]", "Site power price [USD/MWh]", "Last month with lease or build",
                    "Tenant credit", "Lease renewal [%]", "Discount rate [%/yr]", "Monthly discount rate")

    def ai_rows_reserved(self) -> None:
        """Row numbers of the AI/HPC per-site blocks (Dispatch and Mining reference them first)."""
        start = FIRST_DATA_ROW + 12 + max(self.n_conv, 1) + 1  # the table sits above the time grid
        self.A = {"conv_first": FIRST_DATA_ROW + 3, "time_start": start}

    def sheet_ai(self) -> None:
        sc, ws = self.sc, self.ws["AI-HPC"]
        title(ws, "AI/HPC conversions", "The conversion plan (one row per conversion; inputs in blue, green cells "
                                        "link to the Plan sheet) and what it adds per site and month.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        A = self.A
        r0 = A["conv_first"]
        heads = ("Site", "Gross MW", "Start month", "Business model (blank = site default)") + self.CONV_DERIVED
        header_row(ws, r0 - 1, heads)
        ws.cell(row=r0 - 2, column=1, value="Conversion plan").font = BOLD
        plan_links = self.plan_conversion_links()
        K = {h: col(5 + j) for j, h in enumerate(self.CONV_DERIVED)}
        rows = []
        for j, cv in enumerate(sc.conversion_plan):
            r = r0 + j
            rows.append(r)
            values = (cv.site, cv.gross_mw, as_excel_date(cv.start_month), cv.business_model or "")
            fmts = (None, FMT_NUM2, FMT_MONTH, None)
            for k, (v, f) in enumerate(zip(values, fmts)):
                link = plan_links.get((j, k))
                if link is not None:
                    put_formula(ws, r, 1 + k, "=" + link, f, GREEN)
                elif k == 3 and not v:
                    put_input(ws, r, 4, "")
                else:
                    put_input(ws, r, 1 + k, v, f)
            srow = f"{K['Site row']}{r}"

            def site(field_name):
                return f"INDEX({self.sites_range(self.site_col[field_name])},{srow})"

            f = {
                "Site row": (f"SUMPRODUCT(--({self.sites_range(1)}=A{r}),{self.sites_range(self.site_col['Site #'])})",
                             FMT_INT),
                "Model used": (f'IF(D{r}="",{site("ai.business_model")},D{r})', None),
                "Start index": (month_index_formula(f"C{r}"), FMT_INT),
                "Lead time [months]": (site("ai.lead_time_months"), FMT_INT),
                "Ready index": (f"{K['Start index']}{r}+{K['Lead time [months]']}{r}", FMT_INT),
                "Critical MW": (f"B{r}*{site('ai.critical_mw_per_gross_mw')}", FMT_NUM2),
                "Conversion capex [USD]": (f"{K['Critical MW']}{r}*{site('ai.conversion_capex_usd_per_critical_mw')}",
                                           FMT_USD),
                "Facility life [months]": (site("ai.facility_life_months"), FMT_INT),
                "Load factor [%]": (site("ai.load_factor_pct"), FMT_NUM2),
                "Lease rate [USD/kW-mo]": (site("ai.colocation.rate_usd_per_kw_month"), FMT_NUM2),
                "Escalator [%/yr]": (site("ai.colocation.escalator_pct_per_year"), FMT_NUM2),
                "Lease term [months]": (site("ai.colocation.term_months"), FMT_INT),
                "Tenant pays power": (site("ai.colocation.tenant_pays_power"), None),
                "Landlord opex [USD/kW-mo]": (site("ai.colocation.opex_usd_per_kw_month"), FMT_NUM2),
                "GPUs": (f"{K['Critical MW']}{r}*{site('ai.gpu_cloud.gpus_per_critical_mw')}", FMT_NUM0),
                "GPU rate [USD/h]": (site("ai.gpu_cloud.usd_per_gpu_hour"), FMT_NUM2),
                "GPU rate decline [%/yr]": (site("ai.gpu_cloud.rate_decline_pct_per_year"), FMT_NUM2),
                "GPU utilization [%]": (site("ai.gpu_cloud.utilization_pct"), FMT_NUM2),
                "GPU capex [USD/GPU]": (site("ai.gpu_cloud.gpu_capex_usd"), FMT_USD),
                "GPU life [months]": (site("ai.gpu_cloud.useful_life_months"), FMT_INT),
                "GPU opex [USD/GPU-mo]": (site("ai.gpu_cloud.opex_usd_per_gpu_month"), FMT_NUM2),
                "Site power price [USD/MWh]": (site("power_price_usd_per_mwh"), FMT_NUM2),
                "Last month with lease or build": (
                    f"MAX({K['Ready index']}{r}+MAX({K['Lease term [months]']}{r},{K['Facility life [months]']}{r}),"
                    f"{K['Start index']}{r}+MAX({K['Lead time [months]']}{r},1))", FMT_INT),
                "Tenant credit": (site("ai.colocation.tenant_credit"), None),
                "Lease renewal [%]": (site("ai.colocation.renewal_probability_pct"), FMT_NUM2),
                # The conversion's cash-flow class sets its discount rate (valuation by class).
                "Discount rate [%/yr]": (
                    f'IF({K["Model used"]}{r}="colocation",IF(ISNUMBER(lease_discount_rate_pct),'
                    f'lease_discount_rate_pct,IF({K["Tenant credit"]}{r}="high_yield",lease_rate_high_yield_pct,'
                    f'lease_rate_investment_grade_pct)),gpu_cloud_discount_rate_pct)', FMT_NUM2),
                "Monthly discount rate": (f"(1+{K['Discount rate [%/yr]']}{r}/100)^(1/12)-1", FMT_SMALL),
            }
            for h, (formula, fmt) in f.items():
                put_formula(ws, r, 5 + self.CONV_DERIVED.index(h), "=" + formula, fmt)
        self.conv_rows = rows
        self.K = K
        t.next_row = A["time_start"]
        names = [s.name for s in sc.sites]
        lab = lambda s: "=" + ref("Sites", f"$A${self.tr(s)}")  # noqa: E731
        if rows:
            conv_labels = [f"#{j + 1}" for j in range(len(rows))]

            def k(name, j):
                return f"${K[name]}${rows[j]}"

            live = lambda j, c: f"{c}$5>={k('Ready index', j)}"  # noqa: E731
            colo = lambda j: f'{k("Model used", j)}="colocation"'  # noqa: E731

            def weight(j, c):
                return lease_weight_formula(f"{c}$5", k("Ready index", j), k("Lease term [months]", j),
                                            k("Facility life [months]", j), f"{k('Lease renewal [%]', j)}/100")
            conv_item = lambda j: f"=$A${rows[j]}"  # noqa: E731
            t.section("Per conversion")
            A["converted"] = t.rows("Gross MW out of mining", conv_labels, "MW",
                                    lambda j, m, c: f"IF({c}$5>={k('Start index', j)},$B${rows[j]},0)", FMT_NUM2,
                                    item_formula=conv_item)
            A["critical"] = t.rows("Critical IT MW live (leases: x the share under lease)", conv_labels, "MW",
                                   lambda j, m, c: f"IF({colo(j)},{weight(j, c)},IF({live(j, c)},1,0))*"
                                                   f"{k('Critical MW', j)}", FMT_NUM2, item_formula=conv_item)
            years = lambda j, c: f"INT(MAX({c}$5-{k('Ready index', j)},0)/12)"  # noqa: E731
            A["revenue"] = t.rows(
                "Revenue", conv_labels, "USD",
                lambda j, m, c: f"IF({live(j, c)},IF({colo(j)},{weight(j, c)}*{k('Critical MW', j)}*1000*"
                                f"{k('Lease rate [USD/kW-mo]', j)}"
                                f"*(1+{k('Escalator [%/yr]', j)}/100)^{years(j, c)},{k('GPUs', j)}*"
                                f"{k('GPU rate [USD/h]', j)}*(24*{c}$7)*{k('GPU utilization [%]', j)}/100*(1-{k('GPU rate decline [%/yr]', j)}"
                                f"/100)^(MOD(MAX({c}$5-{k('Ready index', j)},0),{k('GPU life [months]', j)})/12)),0)",
                FMT_USD, True, item_formula=conv_item)
            A["opex"] = t.rows(
                "Opex", conv_labels, "USD",
                lambda j, m, c: f"IF({live(j, c)},IF({colo(j)},{weight(j, c)}*{k('Critical MW', j)}*1000*"
                                f"{k('Landlord opex [USD/kW-mo]', j)},{k('GPUs', j)}*{k('GPU opex [USD/GPU-mo]', j)}),0)",
                FMT_USD, True, item_formula=conv_item)
            A["energy"] = t.rows("Energy drawn", conv_labels, "MWh",
                                 lambda j, m, c: f"IF({live(j, c)},IF({colo(j)},{weight(j, c)},1)*$B${rows[j]}*"
                                                 f"{k('Load factor [%]', j)}/100*(24*{c}$7),0)",
                                 FMT_NUM0, True, item_formula=conv_item)
            A["paid"] = t.rows("Energy paid by the miner", conv_labels, "MWh",
                               lambda j, m, c: f'IF(AND({colo(j)},{k("Tenant pays power", j)}="yes"),0,'
                                               f"{c}{A['energy'][j]})", FMT_NUM0, True, item_formula=conv_item)
            lead = lambda j: f"MAX({k('Lead time [months]', j)},1)"  # noqa: E731
            A["capex"] = t.rows(
                "Capex (build evenly over the lead time; GPUs at ready and each replacement)", conv_labels, "USD",
                lambda j, m, c: f"IF(AND({c}$5>={k('Start index', j)},{c}$5<{k('Start index', j)}+{lead(j)}),"
                                f"{k('Conversion capex [USD]', j)}/{lead(j)},0)+IF(AND(NOT({colo(j)}),{live(j, c)}),"
                                f"IF(MOD({c}$5-{k('Ready index', j)},{k('GPU life [months]', j)})=0,"
                                f"{k('GPUs', j)}*{k('GPU capex [USD/GPU]', j)},0),0)",
                FMT_USD, True, item_formula=conv_item)
            A["dep"] = t.rows(
                "Depreciation", conv_labels, "USD",
                lambda j, m, c: f"IF(AND({live(j, c)},{c}$5<{k('Ready index', j)}+{k('Facility life [months]', j)}),"
                                f"{k('Conversion capex [USD]', j)}/{k('Facility life [months]', j)},0)+"
                                f"IF(AND(NOT({colo(j)}),{live(j, c)}),{k('GPUs', j)}*{k('GPU capex [USD/GPU]', j)}/"
                                f"{k('GPU life [months]', j)},0)",
                FMT_USD, True, item_formula=conv_item)
        t.section("Per site")
        conv_sites = f"$A${rows[0]}:$A${rows[-1]}" if rows else None

        def per_site(key):
            def fn(s, m, c):
                if not rows:
                    return "0"
                return (f"SUMPRODUCT(--({conv_sites}={self.site_cell(s, 'name')}),"
                        f"{c}{A[key][0]}:{c}{A[key][-1]})")
            return fn

        spec = (("site_converted", "converted", "Gross MW converted (building or live)", "MW", FMT_NUM2, False),
                ("site_critical", "critical", "Critical IT MW live", "MW", FMT_NUM2, False),
                ("site_revenue", "revenue", "AI/HPC revenue", "USD", FMT_USD, True),
                ("site_opex", "opex", "AI/HPC opex", "USD", FMT_USD, True),
                ("site_energy", "energy", "AI/HPC energy drawn", "MWh", FMT_NUM0, True),
                ("site_paid", "paid", "AI/HPC energy paid by the miner", "MWh", FMT_NUM0, True),
                ("site_capex", "capex", "AI/HPC capex", "USD", FMT_USD, True),
                ("site_dep", "dep", "AI/HPC depreciation", "USD", FMT_USD, True))
        for key, src, label, unit, fmt, total in spec:
            got = t.rows(label, names, unit, per_site(src), fmt, total, item_formula=lab)
            if key in A:
                assert got == A[key], (key, got, A[key])
            A[key] = got
        if rows:
            # Valuation by cash-flow class: each conversion's pre-tax cash at its own rate (the company's
            # NPV takes it at the company rate; this adds the difference).
            M = self.M
            t.section("Valuation per conversion (pre-tax cash at the conversion's own discount rate)")
            price = lambda j, c: (f"INDEX(Mining!{c}${M['avg_price'][0]}:{c}${M['avg_price'][-1]},"  # noqa: E731
                                  f"{k('Site row', j)})")
            A["cash"] = t.rows(
                "Pre-tax cash (revenue - opex - energy paid at the site's average price - capex)", conv_labels, "USD",
                lambda j, m, c: f"{c}{A['revenue'][j]}-{c}{A['opex'][j]}-{c}{A['paid'][j]}*{price(j, c)}-"
                                f"{c}{A['capex'][j]}", FMT_USD, True, item_formula=conv_item)
            A["df_class"] = t.rows("Discount factor at the conversion's rate (month end)", conv_labels, "-",
                                   lambda j, m, c: f"1/(1+{k('Monthly discount rate', j)})^({c}$5+1)", FMT_NUM4,
                                   item_formula=conv_item)
            A["class_adj"] = t.rows(
                "Value added by the class rate: cash x (own factor - company factor)", conv_labels, "USD",
                lambda j, m, c: f"{c}{A['cash'][j]}*({c}{A['df_class'][j]}-1/(1+monthly_rate)^({c}$5+1))",
                FMT_USD, True, item_formula=conv_item)
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    def ai_site_rows_planned(self) -> None:
        """Predict the per-site block rows of the AI/HPC sheet (written after Dispatch and Mining use them)."""
        A = self.A
        r = A["time_start"]
        if self.n_conv:
            r += 2 + 8 * self.n_conv  # blank line, 'Per conversion' heading, eight blocks of one row per conversion
        r += 2  # blank line, 'Per site' heading
        for key in ("site_converted", "site_critical", "site_revenue", "site_opex", "site_energy", "site_paid",
                    "site_capex", "site_dep"):
            A[key] = list(range(r, r + self.n_sites))
            r += self.n_sites

    # -------------------------------------------------------------- Terminal
    def sheet_terminal(self) -> None:
        ws = self.ws["Terminal"]
        title(ws, "AI/HPC value past the horizon",
              "Per conversion, at its own discount rate, to the horizon's end (before tax). Colocation: rent less "
              "landlord opex (less power when the landlord pays it, 730.5 h per month at the site's contract "
              "price) while under contract, and after the term at the renewal probability until the facility's "
              "life ends ('ai_residual'). GPU cloud: the GPUs installed at the horizon's end until they are due for "
              "replacement ('ai_residual'). Less any build capex still to spend. Column E is the first month "
              "after the horizon.")
        # Wide enough for any edit the schema allows: a conversion starting in the last month with the
        # longest lead time and lease term or facility life (lead <= 120 months, term and life <= 600).
        span = (MAX_LEAD_MONTHS + MAX_TERM_MONTHS) if self.conv_rows else 1
        self.T_span = span
        ws.cell(row=4, column=1, value="Month after the horizon").font = BOLD
        ws.cell(row=5, column=1, value="Month index").font = BOLD
        ws.cell(row=6, column=1, value="Months after the horizon's end").font = BOLD
        fast = self.book.formula
        for j in range(span):
            c = col(FIRST_MONTH_COL + j)
            fast(ws, 5, FIRST_MONTH_COL + j, f"horizon_months+COLUMN({c}$5)-COLUMN($E$5)", FMT_INT)
            fast(ws, 6, FIRST_MONTH_COL + j, f"{c}$5-horizon_months+1", FMT_INT)
        ws.column_dimensions["A"].width = 38
        K = self.K if self.conv_rows else {}
        r = FIRST_DATA_ROW
        self.T_value_rows = []
        last = col(FIRST_MONTH_COL + span - 1)
        for j, cr in enumerate(self.conv_rows):
            k = lambda name: f"'AI-HPC'!${K[name]}${cr}"  # noqa: E731
            ws.cell(row=r, column=1, value=f"Conversion #{j + 1}").font = BOLD
            put_formula(ws, r, 2, f"='AI-HPC'!$A${cr}", font=GREEN)
            cash_r, gpu_r, spend_r, val_r = r + 1, r + 2, r + 3, r + 4
            for row_, label in ((cash_r, "Lease net cash x share under lease, discounted"),
                                (gpu_r, "Installed GPUs' net cash until replacement, discounted"),
                                (spend_r, "Build capex still to spend, discounted")):
                ws.cell(row=row_, column=1, value=label)
                ws.cell(row=row_, column=3, value="USD")
            ready, term, life = k("Ready index"), k("Lease term [months]"), k("Facility life [months]")
            renew = f'IF(terminal_value_mode="ai_residual",{k("Lease renewal [%]")}/100,0)'
            gpu_life = k("GPU life [months]")
            for i in range(span):
                c = col(FIRST_MONTH_COL + i)
                idx = f"{c}$5"
                disc = f"(1+{k('Monthly discount rate')})^-{c}$6"
                weight = lease_weight_formula(idx, ready, term, life, renew)
                rent = (f"{k('Critical MW')}*1000*{k('Lease rate [USD/kW-mo]')}*(1+{k('Escalator [%/yr]')}/100)^"
                        f"INT(MAX({idx}-{ready},0)/12)")
                power = (f'IF({k("Tenant pays power")}="yes",0,\'AI-HPC\'!$B${cr}*{k("Load factor [%]")}/100*730.5*'
                         f"{k('Site power price [USD/MWh]')})")
                fast(ws, cash_r, FIRST_MONTH_COL + i,
                     f"{weight}*({rent}-{k('Critical MW')}*1000*{k('Landlord opex [USD/kW-mo]')}-{power})*{disc}",
                     FMT_USD)
                age = f"({idx}-{ready})"
                gen_now = f"INT((horizon_months-1-{ready})/{gpu_life})"
                gpu_cash = (f"{k('GPUs')}*({k('GPU rate [USD/h]')}*730.5*{k('GPU utilization [%]')}/100*"
                            f"(1-{k('GPU rate decline [%/yr]')}/100)^(MOD({age},{gpu_life})/12)-"
                            f"{k('GPU opex [USD/GPU-mo]')})-'AI-HPC'!$B${cr}*{k('Load factor [%]')}/100*730.5*"
                            f"{k('Site power price [USD/MWh]')}")
                fast(ws, gpu_r, FIRST_MONTH_COL + i,
                     f"IF(AND({ready}<=horizon_months-1,{age}>=0,INT({age}/{gpu_life})={gen_now}),"
                     f"{gpu_cash}*{disc},0)", FMT_USD)
                lead = f"MAX({k('Lead time [months]')},1)"
                fast(ws, spend_r, FIRST_MONTH_COL + i,
                     f"IF(AND({idx}>={k('Start index')},{idx}<{k('Start index')}+{lead}),"
                     f"{k('Conversion capex [USD]')}/{lead}*{disc},0)", FMT_USD)
            ws.cell(row=val_r, column=1, value="Value at the horizon's end, before tax")
            ws.cell(row=val_r, column=3, value="USD")
            colo = f'{k("Model used")}="colocation"'
            put_formula(ws, val_r, 4,
                        f'=IF(terminal_value_mode="none",0,IF({colo},IF(AND(terminal_value_mode="contracted_ai",'
                        f'{ready}+{term}<=horizon_months),0,SUM(E{cash_r}:{last}{cash_r})-SUM(E{spend_r}:{last}'
                        f'{spend_r})),IF(terminal_value_mode="ai_residual",SUM(E{gpu_r}:{last}{gpu_r})-'
                        f"SUM(E{spend_r}:{last}{spend_r}),0)))", FMT_USD, BOLD)
            ws.cell(row=val_r, column=5, value="present value today (after tax, at the conversion's rate):")
            put_formula(ws, val_r, 9, f"=D{val_r}*(1-tax_rate)*(1+{k('Monthly discount rate')})^-horizon_months",
                        FMT_USD, BOLD)
            self.T_value_rows.append(val_r)
            r += 6
        self.T_cover_row = r
        ws.cell(row=r, column=1, value="Months covered after the horizon")
        ws.cell(row=r, column=4, value=span)
        ws.freeze_panes = "E7"
        print_setup(ws, title_rows="4:6", title_cols="A:D")

    # ------------------------------------------------------------ Cash Flow
    def sheet_cash_flow(self) -> None:
        ws = self.ws["Cash Flow"]
        title(ws, "Cash flow", "Company totals per month (USD). NPV discounts month-end flows at the monthly rate; "
                               "the terminal value arrives at the end of the last month.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        M, A = self.M, self.A
        X = {}

        def total(rows, sheet):
            def fn(m, c):
                if not rows:
                    return "0"
                return f"SUM({sheet}!{c}{rows[0]}:{c}{rows[-1]})"
            return fn

        coh_total = lambda key: (lambda m, c: f"SUM(Cohorts!{c}{self.C[key][0]}:{c}{self.C[key][-1]})"  # noqa: E731
                                 if self.n_coh else "0")
        t.section("Revenue")
        X["mining_rev"] = t.row("Mining revenue", None, "USD", total(M["rev"], "Mining"), total=True)
        X["credit"] = t.row("Curtailment credits", None, "USD", total(M["credit"], "Mining"), total=True)
        X["ai_rev"] = t.row("AI/HPC revenue", None, "USD", total(A["site_revenue"], "'AI-HPC'"), total=True)
        t.section("Operating costs")
        X["power"] = t.row("Mining energy", None, "USD", total(M["cost"], "Mining"), total=True)
        X["shortfall"] = t.row("Take-or-pay shortfall", None, "USD", total(M["shortfall"], "Mining"), total=True)
        X["ai_power"] = t.row("AI/HPC energy paid by the miner", None, "USD", total(M["ai_power"], "Mining"),
                              total=True)
        X["mining_opex"] = t.row("Mining opex", None, "USD", total(M["opex"], "Mining"), total=True)
        X["ai_opex"] = t.row("AI/HPC opex", None, "USD", total(A["site_opex"], "'AI-HPC'"), total=True)
        X["ga"] = t.row("G&A", None, "USD", lambda m, c: "g_and_a_usd_per_month", total=True)
        X["ebitda"] = t.row("EBITDA", None, "USD",
                            lambda m, c: "+".join(f"{c}{X[k]}" for k in ("mining_rev", "credit", "ai_rev")) + "-" +
                                         "-".join(f"{c}{X[k]}" for k in ("power", "shortfall", "ai_power",
                                                                         "mining_opex", "ai_opex", "ga")),
                            total=True, font=BOLD)
        t.section("Capital")
        X["asic_capex"] = t.row("ASIC purchases", None, "USD", coh_total("capex"), total=True)
        X["ai_capex"] = t.row("AI/HPC capex", None, "USD", total(A["site_capex"], "'AI-HPC'"), total=True)
        X["capex"] = t.row("Capex", None, "USD", lambda m, c: f"{c}{X['asic_capex']}+{c}{X['ai_capex']}", total=True)
        X["salvage"] = t.row("ASIC salvage proceeds", None, "USD", coh_total("salvage"), total=True)
        t.section("Income tax")
        X["asic_dep"] = t.row("ASIC depreciation", None, "USD", coh_total("dep"), total=True)
        X["ai_dep"] = t.row("AI/HPC depreciation", None, "USD", total(A["site_dep"], "'AI-HPC'"), total=True)
        X["taxable"] = t.row("Taxable income", None, "USD",
                             lambda m, c: f"{c}{X['ebitda']}-{c}{X['asic_dep']}-{c}{X['ai_dep']}+{c}{X['salvage']}",
                             total=True)
        prev = lambda m: month_col(m - 1)  # noqa: E731
        X["cum_taxable"] = t.row("Cumulative taxable income", None, "USD",
                                 lambda m, c: f"SUM($E{X['taxable']}:{c}{X['taxable']})")
        X["year_end"] = t.row("Last modelled month of a tax year", None, "1/0",
                              lambda m, c: f"IF(OR(MONTH({c}$4)=12,{c}$5=horizon_months-1),1,0)", FMT_INT)
        X["peak"] = t.row("Highest cumulative taxable income at a year end", None, "USD",
                          lambda m, c: f"MAX(0,SUMPRODUCT(MAX(($E{X['year_end']}:{c}{X['year_end']}=1)*"
                                       f"$E{X['cum_taxable']}:{c}{X['cum_taxable']})))")
        X["cum_tax"] = t.row("Cumulative tax assessed (losses carried forward)", None, "USD",
                             lambda m, c: f"tax_rate*{c}{X['peak']}")
        X["tax"] = t.row("Tax", None, "USD",
                         lambda m, c: f'IF(tax_mode="linear",tax_rate*{c}{X["taxable"]},{c}{X["cum_tax"]}-'
                                      f'IF({c}$5=0,0,{prev(m)}{X["cum_tax"]}))', total=True)
        t.section("Cash")
        X["net"] = t.row("Net cash flow", None, "USD",
                         lambda m, c: f"{c}{X['ebitda']}-{c}{X['capex']}+{c}{X['salvage']}-{c}{X['tax']}",
                         total=True, font=BOLD)
        X["cum_net"] = t.row("Cumulative net cash flow", None, "USD",
                             lambda m, c: f"SUM($E{X['net']}:{c}{X['net']})")
        X["terminal"] = t.row("Terminal value (at the end of the last month)", None, "USD",
                              lambda m, c: f"IF({c}$5=horizon_months-1,terminal_value_usd,0)", total=True)
        X["net_tv"] = t.row("Net cash flow incl. terminal value", None, "USD",
                            lambda m, c: f"{c}{X['net']}+{c}{X['terminal']}", total=True)
        X["df"] = t.row("Discount factor (month end)", None, "-", lambda m, c: f"1/(1+monthly_rate)^({c}$5+1)",
                        FMT_NUM4)
        X["pv"] = t.row("Present value", None, "USD", lambda m, c: f"{c}{X['net_tv']}*{c}{X['df']}", total=True)
        self.X = X
        first, last = month_col(0), month_col(self.n - 1)
        # Value: NPV and IRR with Excel's own functions.
        r = t.next_row + 1
        ws.cell(row=r, column=1, value="Value").font = BOLD
        r += 1
        tv_rows = self.T_value_rows
        tv_sum = "+".join(f"Terminal!$D${x}" for x in tv_rows) if tv_rows else "0"
        tv_pv_sum = "+".join(f"Terminal!$I${x}" for x in tv_rows) if tv_rows else "0"
        adj = (f"SUM('AI-HPC'!$D${self.A['class_adj'][0]}:$D${self.A['class_adj'][-1]})"
               if self.conv_rows else "0")
        kv = [
            ("terminal_ai_usd", "AI/HPC value past the horizon (Terminal sheet), after tax, at the horizon's end",
             "USD", f"=({tv_sum})*(1-tax_rate)"),
            ("terminal_asic_usd", "ASIC resale at the horizon's end, after tax on the gain over book", "USD",
             f'=IF(asic_residual_value="none",0,SUM({self.fleet_range(self.fleet_col["Residual after tax [USD]"])}))'
             if self.n_coh else "=0"),
            ("terminal_value_usd", "Terminal value (at the horizon's end)", "USD", "=terminal_ai_usd+terminal_asic_usd"),
            ("terminal_value_pv_usd", "Terminal value's contribution to NPV (each part at its class's rate)", "USD",
             f"=terminal_asic_usd/(1+monthly_rate)^horizon_months+{tv_pv_sum}"),
            ("class_rate_adjustment_usd", "AI/HPC cash at its class rates instead of the company's (AI-HPC sheet)",
             "USD", f"={adj}"),
            ("npv_usd", "NPV", "USD", f"=NPV(monthly_rate,{first}{X['net']}:{last}{X['net']})+"
                                      f"terminal_value_pv_usd+class_rate_adjustment_usd"),
            ("starts_with_outlay", "The cash flows start with an outlay (the first month over $1 is negative)",
             "TRUE/FALSE", f"=IFERROR(INDEX({first}{X['net']}:{last}{X['net']},MATCH(TRUE,"
                           f"INDEX(ABS({first}{X['net']}:{last}{X['net']})>1,0),0))<0,FALSE)"),
            ("irr_annual", "IRR (annualized; monthly IRR of the flows incl. terminal value; n/a without an "
                           "initial outlay)", "%/yr",
             f'=IF(NOT(starts_with_outlay),"n/a: no initial outlay",'
             f'IFERROR((1+IFERROR(IRR({first}{X["net_tv"]}:{last}{X["net_tv"]},0.01),IFERROR(IRR({first}'
             f'{X["net_tv"]}:{last}{X["net_tv"]},-0.05),IRR({first}{X["net_tv"]}:{last}{X["net_tv"]},0.1))))^12-1,'
             f'"n/a"))'),
            ("payback_months", "Payback (cumulative net cash stays >= 0 from this month; without terminal value)",
             "months", f'=IF(NOT(starts_with_outlay),"n/a: no initial outlay",IF({last}{X["cum_net"]}<0,'
                       f'"not within the horizon",SUMPRODUCT(MAX(({first}{X["cum_net"]}:{last}{X["cum_net"]}<0)*'
                       f"({first}$5:{last}$5+2)))))"),
        ]
        for name, label, unit, formula in kv:
            ws.cell(row=r, column=1, value=label)
            ws.cell(row=r, column=3, value=unit)
            put_formula(ws, r, 4, formula, FMT_PCT if name == "irr_annual" else (
                None if name == "starts_with_outlay" else FMT_USD), BOLD)
            define_name(self.wb, name, "Cash Flow", f"D{r}")
            r += 1
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    # ------------------------------------------------------------------ Plan
    def plan_fleet_links(self) -> dict[tuple[int, str], str]:
        """Fleet cells that link to the Plan sheet's decision inputs: {(cohort, field): reference}."""
        if self.plan is None:
            return {}
        out = {}
        for k, (kind, idx) in enumerate(self.plan_rows()):
            r = self.tr(k)
            if kind == "retire":
                out[(idx, "count")] = ref("Plan", f"$E${r}")
                out[(idx, "retire_month")] = ref("Plan", f"$D${r}")
            elif kind == "buy":
                out[(idx, "count")] = ref("Plan", f"$E${r}")
                out[(idx, "purchase_month")] = ref("Plan", f"$D${r}")
        return out

    def plan_conversion_links(self) -> dict[tuple[int, int], str]:
        if self.plan is None:
            return {}
        out = {}
        for k, (kind, idx) in enumerate(self.plan_rows()):
            if kind == "convert":
                r = self.tr(k)
                out[(idx, 1)] = ref("Plan", f"$E${r}")
                out[(idx, 2)] = ref("Plan", f"$D${r}")
        return out

    def plan_rows(self) -> list[tuple[str, int]]:
        p = self.plan
        return ([("convert", j) for j in p.conversions] + [("retire", i) for i in p.retirements] +
                [("buy", i) for i in p.purchases])

    def sheet_plan(self) -> None:
        sc, ws = self.sc, self.ws["Plan"]
        title(ws, "Optimizer plan: decisions as inputs",
              "The optimizer's recommended decisions. Each amount and month is an input: the Fleet and AI-HPC "
              "sheets link to it (green), so changing a decision here recalculates the plan. "
              + (self.plan.note or ""))
        header_row(ws, TABLE_HEADER_ROW, ("Decision", "Site", "Model / business model", "Month", "Amount", "Unit"),
                   widths=(30, 20, 26, 12, 14, 10))
        for k, (kind, idx) in enumerate(self.plan_rows()):
            r = self.tr(k)
            if kind == "convert":
                cv = sc.conversion_plan[idx]
                ws.cell(row=r, column=1, value="Convert to AI/HPC")
                put_text(ws, r, 2, cv.site)
                put_text(ws, r, 3, cv.business_model or "site default")
                put_input(ws, r, 4, as_excel_date(cv.start_month), FMT_MONTH)
                put_input(ws, r, 5, cv.gross_mw, FMT_NUM2)
                ws.cell(row=r, column=6, value="gross MW")
            else:
                co = sc.fleet[idx]
                label = ("Move ASICs away (at book value)" if kind == "retire" and co.sale_price_usd is not None
                         else "Retire ASICs" if kind == "retire"
                         else f"Receive ASICs moved from {co.moved_from}" if co.moved_from else "Buy ASICs")
                ws.cell(row=r, column=1, value=label)
                put_text(ws, r, 2, co.site)
                put_text(ws, r, 3, co.model)
                month = co.retire_month if kind == "retire" else co.purchase_month
                put_input(ws, r, 4, as_excel_date(month), FMT_MONTH)
                put_input(ws, r, 5, co.count, FMT_NUM2)
                ws.cell(row=r, column=6, value="units")
        if not self.plan_rows():
            ws.cell(row=TABLE_FIRST_ROW, column=1, value="The optimizer recommends no changes to the scenario.")
        ws.freeze_panes = ws.cell(row=TABLE_FIRST_ROW, column=1)
        print_setup(ws, landscape=False, title_rows=f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}")

    # ------------------------------------------------------------- Scenarios
    def sheet_scenarios(self) -> None:
        ws = self.ws["Scenarios"]
        mc = self.mc
        if mc is None:
            title(ws, "Scenarios", "No Monte Carlo run was requested for this export (--paths 0).")
            return
        sc = self.sc
        title(ws, "Monte Carlo percentiles (values, not formulas)",
              f"VALUES from {mc.n_paths:,} price paths ({sc.monte_carlo.model} model around the entered path, "
              + ("which is the median path: drift of the mean " if sc.monte_carlo.centred_on_median else "drift ")
              + f"{sc.monte_carlo.drift_value_pct_per_year:.3g}%/yr, volatility "
              f"{sc.monte_carlo.volatility_pct_per_year:g}%/yr, seed {self.mc_seed}) computed by the MinerPlan engine "
              "at export. P50 is the median; they do not recalculate when inputs change: export again for new ones.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        pct = (5, 25, 50, 75, 95)
        series = (("BTC price", "USD/BTC", mc.btc_price_usd, FMT_USD),
                  ("Hashprice", "USD per PH/s per day", mc.hashprice_usd_per_th_day * 1000.0, FMT_USD2),
                  ("BTC mined", "BTC", mc.btc_mined.sum(axis=2), FMT_BTC),
                  ("EBITDA", "USD", mc.ebitda_usd.sum(axis=2) - mc.g_and_a_usd[None, :], FMT_USD),
                  ("Net cash flow", "USD", mc.net_cash_flow_usd, FMT_USD))
        for label, unit, arr, fmt in series:
            t.section(label)
            q = np.percentile(arr, pct, axis=0)
            for k, p in enumerate(pct):
                r = t.next_row
                ws.cell(row=r, column=1, value=f"{label}, P{p}")
                ws.cell(row=r, column=3, value=unit)
                for m in range(self.n):
                    put_value(ws, r, FIRST_MONTH_COL + m, float(q[k, m]), fmt)
                t.next_row += 1
        t.section("NPV distribution")
        npv = mc.npv_usd
        tail = np.sort(npv)[:max(1, int(np.ceil(0.05 * npv.size)))]
        stats = [("Mean", float(npv.mean()))] + [(f"P{p}", float(np.percentile(npv, p))) for p in pct] + [
            ("CVaR 95% (mean of the worst 5% of paths)", float(tail.mean())),
            ("Probability NPV < 0", float((npv < 0).mean()))]
        for label, v in stats:
            r = t.next_row
            ws.cell(row=r, column=1, value=f"NPV {label}" if not label.startswith("Prob") else label)
            ws.cell(row=r, column=3, value="fraction" if label.startswith("Prob") else "USD")
            put_value(ws, r, 4, v, FMT_PCT if label.startswith("Prob") else FMT_USD)
            t.next_row += 1
        print_setup(ws, title_rows="4:7", title_cols="A:D")

    # ---------------------------------------------------------------- Checks
    def sheet_checks(self) -> None:
        ws, res = self.ws["Checks"], self.res
        title(ws, "Checks: workbook vs MinerPlan engine",
              "Engine values are pasted at export; workbook values are live formulas. They agree to 1e-6 on the "
              "exported inputs; after you change an input they will differ (expected) until you export again.")
        header_row(ws, 4, ("Check", "Unit", "Engine at export", "Workbook (live)", "Difference", "Status"),
                   widths=(52, 10, 20, 20, 16, 12))
        X = self.X
        cf = lambda key: f"'Cash Flow'!$D${X[key]}"  # noqa: E731
        items = [
            ("NPV", "USD", float(res.npv_usd[0]), "npv_usd"),
            ("Terminal value", "USD", float(np.asarray(res.terminal_value_usd).ravel()[0]), "terminal_value_usd"),
            ("Net cash flow, all months", "USD", float(res.net_cash_flow_usd[0].sum()), cf("net")),
            ("Mining revenue", "USD", float(res.mining_revenue_usd[0].sum()), cf("mining_rev")),
            ("Mining energy cost", "USD", float(res.mining_power_cost_usd[0].sum()), cf("power")),
            ("Take-or-pay shortfall", "USD", float(res.take_or_pay_shortfall_usd[0].sum()), cf("shortfall")),
            ("Curtailment credits", "USD", float(res.curtailment_credit_usd[0].sum()), cf("credit")),
            ("AI/HPC revenue", "USD", float(res.ai.revenue_usd.sum()), cf("ai_rev")),
            ("Capex", "USD", float(res.capex_usd.sum()), cf("capex")),
            ("Tax", "USD", float(res.tax_usd[0].sum()), cf("tax")),
            ("BTC mined", "BTC", float(res.btc_mined[0].sum()),
             f"SUM(Mining!$D${self.M['btc'][0]}:$D${self.M['btc'][-1]})"),
        ]
        r = 5
        for label, unit, engine_v, formula in items:
            ws.cell(row=r, column=1, value=label)
            ws.cell(row=r, column=2, value=unit)
            put_value(ws, r, 3, engine_v, FMT_USD2)
            put_formula(ws, r, 4, "=" + formula, FMT_USD2)
            put_formula(ws, r, 5, f"=D{r}-C{r}", FMT_USD2)
            put_formula(ws, r, 6, f'=IF(ABS(E{r})<=1E-6*MAX(1,ABS(C{r})),"OK","DIFFERS")')
            r += 1
        a, b = self.epochs
        ws.cell(row=r, column=1, value="Retargets table reaches past the last month")
        put_formula(ws, r, 4, f"=Retargets!$G${b}", FMT_NUM0)
        put_formula(ws, r, 6, f'=IF(Retargets!$G${b}>=Network!{month_col(self.n - 1)}${self.R_net["t1"]},'
                              f'"OK","EXTEND TABLE")')
        r += 1
        if self.conv_rows:
            K = self.K
            ws.cell(row=r, column=1, value="Terminal sheet covers every lease and build month")
            last_col = K["Last month with lease or build"]
            put_formula(ws, r, 4, f"=MAX('AI-HPC'!${last_col}${self.conv_rows[0]}:${last_col}${self.conv_rows[-1]})",
                        FMT_INT)
            put_formula(ws, r, 6, f'=IF(D{r}<=horizon_months+{self.T_span},"OK","EXPORT AGAIN")')
            r += 1
        # Rules the engine enforces when it reads a scenario; the workbook would compute anyway.
        for s_i, site in enumerate(self.sc.sites):
            ws.cell(row=r, column=1, value=f"Site {s_i + 1}: ASIC load with PUE within capacity (peak month)")
            ws.cell(row=r, column=2, value="MW")
            put_formula(ws, r, 3, "=" + self.site_cell(s_i, "capacity_mw"), FMT_NUM2)
            put_formula(ws, r, 4, f"=MAX(Mining!$E${self.M['installed'][s_i]}:${month_col(self.n - 1)}$"
                                  f"{self.M['installed'][s_i]})", FMT_NUM2)
            put_formula(ws, r, 6, f'=IF(D{r}<=C{r}*(1+1E-9),"OK","OVER CAPACITY")')
            r += 1
            if site.ai is not None and self.conv_rows:
                ws.cell(row=r, column=1, value=f"Site {s_i + 1}: converted MW within convertible MW")
                ws.cell(row=r, column=2, value="MW")
                put_formula(ws, r, 3, "=" + self.site_cell(s_i, "ai.convertible_gross_mw"), FMT_NUM2)
                put_formula(ws, r, 4, f"=SUMPRODUCT(--('AI-HPC'!$A${self.conv_rows[0]}:$A${self.conv_rows[-1]}="
                                      f"{self.site_cell(s_i, 'name')}),'AI-HPC'!$B${self.conv_rows[0]}:"
                                      f"$B${self.conv_rows[-1]})", FMT_NUM2)
                put_formula(ws, r, 6, f'=IF(D{r}<=C{r}*(1+1E-9),"OK","OVER CONVERTIBLE")')
                r += 1
        ws.freeze_panes = "A5"
        print_setup(ws, landscape=False, title_rows="4:4")

    # --------------------------------------------------------------- Summary
    def sheet_summary(self) -> None:
        sc, ws = self.sc, self.ws["Summary"]
        put_text(ws, 1, 1, f"MinerPlan: {sc.name}").font = TITLE
        ws.cell(row=2, column=1, value=(
            f"{sc.start_month}, {sc.horizon_months} months, on the entered BTC price path (the Monte Carlo's median "
            "path). Every figure here is a "
            "formula of the calculation sheets; change blue inputs on Inputs, Fleet, Sites or Plan.")).font = NOTE
        ws.column_dimensions["A"].width = 58
        ws.column_dimensions["B"].width = 20
        ws.column_dimensions["C"].width = 16
        header_row(ws, 4, ("KPI", "Value", "Unit"))
        X, net, M = self.X, self.R_net, self.M
        cf = lambda key: f"'Cash Flow'!$D${X[key]}"  # noqa: E731
        first = month_col(0)
        btc_total = f"SUM(Mining!$D${M['btc'][0]}:$D${M['btc'][-1]})"
        ga_share = (f"IF(ISNUMBER(g_and_a_mining_share_pct),g_and_a_mining_share_pct/100,"
                    f"IF({cf('mining_rev')}+{cf('ai_rev')}<>0,{cf('mining_rev')}/({cf('mining_rev')}+{cf('ai_rev')}),1))")
        cash_cost = f"({cf('power')}+{cf('shortfall')}-{cf('credit')}+{cf('mining_opex')}+{cf('ga')}*{ga_share})"
        cap_total = f"SUM({self.sites_range(self.site_col['capacity_mw'])})"
        site_ebitda_avg = (f"AVERAGE(Mining!{month_col(0)}{M['ebitda'][0]}:{month_col(self.n - 1)}{M['ebitda'][-1]})*"
                           f"{self.n_sites}")
        fleet_ehs = (f'SUMPRODUCT(--({self.fleet_range(self.fleet_col["purchase_month"])}=""),'
                     f'{self.fleet_range(self.fleet_col["count"])},'
                     f'{self.fleet_range(self.fleet_col["hashrate_ths"])})/1E+6') if self.n_coh else "0"
        kpis = [
            ("npv_usd", "NPV", "=npv_usd", "USD", FMT_USD),
            ("irr", "IRR", "=irr_annual", "%/yr", FMT_PCT),
            ("payback_months", "Payback (without terminal value)", "=payback_months", "months", FMT_NUM0),
            ("terminal_value_pv_usd", "of which terminal value (present value)", "=terminal_value_pv_usd", "USD",
             FMT_USD),
            ("terminal_value_usd", "Terminal value (in NPV, at the horizon's end)", "=terminal_value_usd", "USD",
             FMT_USD),
            ("btc_mined", "BTC mined", f"={btc_total}", "BTC", FMT_NUM2),
            ("cost_per_btc_cash_usd", "Cash cost per BTC (energy, take-or-pay, opex, mining's G&A, less credits; "
                                      "horizon average)",
             f"=IF({btc_total}>0,{cash_cost}/{btc_total},\"n/a\")", "USD/BTC", FMT_USD),
            ("cost_per_btc_all_in_usd", "All-in cost per BTC (cash + ASIC depreciation)",
             f"=IF({btc_total}>0,({cash_cost}+{cf('asic_dep')})/{btc_total},\"n/a\")", "USD/BTC", FMT_USD),
            ("ebitda_usd_per_mw_month", "Site EBITDA (before G&A) per MW of capacity per month",
             f"=IF({cap_total}>0,{site_ebitda_avg}/{cap_total},\"n/a\")", "USD/MW-month", FMT_USD),
            ("hashprice_usd_per_ph_day", "Hashprice, first month", f"=Network!{first}{net['hp_usd_ph']}",
             "USD per PH/s per day", FMT_USD2),
            ("hashprice_btc_per_ph_day", "Hashprice, first month", f"=Network!{first}{net['hp_btc_ph']}",
             "BTC per PH/s per day", "0.000000"),
            ("network_hashrate_ehs", "Network hashrate, first month", f"=Network!{first}{net['hashrate']}", "EH/s",
             FMT_NUM2),
            ("difficulty", "Difficulty at the start", "=difficulty_start", "-", FMT_SCI),
            ("block_subsidy_btc", "Block subsidy at the start",
             "=INT(initial_subsidy_sats/2^MIN(INT(block_height_start/halving_interval_blocks),64))/sats_per_btc",
             "BTC", FMT_BTC),
            ("fleet_hashrate_ehs", "Fleet hashrate owned at the start (nameplate)", f"={fleet_ehs}", "EH/s", FMT_NUM2),
        ]
        r = 5
        self.kpi_cells = {}
        for key, label, formula, unit, fmt in kpis:
            ws.cell(row=r, column=1, value=label)
            put_formula(ws, r, 2, formula, fmt, BOLD)
            ws.cell(row=r, column=3, value=unit)
            self.kpi_cells[key] = f"B{r}"
            r += 1
        # Per site.
        r += 1
        ws.cell(row=r, column=1, value="By site").font = BOLD
        r += 1
        heads = ("Site", "EBITDA per MW-month [USD]", "Mining revenue [USD]", "AI/HPC revenue [USD]", "Capex [USD]",
                 "BTC mined")
        header_row(ws, r, heads, widths=[None, None, None] + [18] * (len(heads) - 3), wrap=True)
        r += 1
        A = self.A
        self.site_kpi_rows = []
        for s in range(self.n_sites):
            put_formula(ws, r, 1, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            cap = self.site_cell(s, "capacity_mw")
            put_formula(ws, r, 2, f"=IF({cap}>0,AVERAGE(Mining!{month_col(0)}{M['ebitda'][s]}:"
                                  f"{month_col(self.n - 1)}{M['ebitda'][s]})/{cap},\"n/a\")", FMT_USD)
            put_formula(ws, r, 3, f"=Mining!$D${M['rev'][s]}", FMT_USD)
            put_formula(ws, r, 4, f"='AI-HPC'!$D${A['site_revenue'][s]}", FMT_USD)
            capex_asic = (f"SUMPRODUCT(--({self.fleet_range(self.fleet_col['site'])}={self.site_cell(s, 'name')}),"
                          f"Cohorts!$D${self.C['capex'][0]}:$D${self.C['capex'][-1]})") if self.n_coh else "0"
            put_formula(ws, r, 5, f"={capex_asic}+'AI-HPC'!$D${A['site_capex'][s]}", FMT_USD)
            put_formula(ws, r, 6, f"=Mining!$D${M['btc'][s]}", FMT_NUM2)
            self.site_kpi_rows.append(r)
            r += 1
        # Breakevens per cohort, first month (power only).
        r += 1
        ws.cell(row=r, column=1, value="Breakevens by cohort, first month (power only, on the entered price path)").font = BOLD
        r += 1
        heads = ("Cohort", "Site", "Efficiency [J/TH]", "Breakeven power [USD/kWh]", "Breakeven BTC price [USD]")
        header_row(ws, r, heads, wrap=True)
        r += 1
        self.cohort_be_rows = []
        hp_usd = f"Network!${first}${net['hp_usd']}"
        hp_btc = f"Network!${first}${net['hp_btc']}"
        for i in range(self.n_coh):
            put_formula(ws, r, 1, "=" + ref("Fleet", f"$A${self.tr(i)}"), font=GREEN)
            put_formula(ws, r, 2, "=" + ref("Fleet", f"$B${self.tr(i)}"), font=GREEN)
            eff = f"Cohorts!${first}${self.C['eff'][i]}"
            put_formula(ws, r, 3, f"={eff}", FMT_NUM2)
            put_formula(ws, r, 4, f"={hp_usd}*net_share/(0.024*{eff})", FMT_NUM4)
            site_row = ref("Fleet", f"${col(self.fleet_col['Site row'])}${self.tr(i)}")
            pue = ref("Fleet", f"${col(self.fleet_col['Site PUE'])}${self.tr(i)}")
            avg = f"INDEX(Mining!${first}${M['avg_price'][0]}:${first}${M['avg_price'][-1]},{site_row})/1000"
            put_formula(ws, r, 5, f"=IF({hp_btc}*net_share>0,0.024*{eff}*{pue}*{avg}/({hp_btc}*net_share),\"n/a\")",
                        FMT_USD)
            self.cohort_be_rows.append(r)
            r += 1
        self._charts(r + 1)
        ws.freeze_panes = "A5"
        print_setup(ws, landscape=False)

    def _charts(self, r: int) -> None:
        """Two charts on the Summary, drawn from the Cash Flow rows (so they follow the formulas)."""
        ws = self.ws["Summary"]
        cfs = self.ws["Cash Flow"]
        X = self.X
        first_c, last_c = FIRST_MONTH_COL, FIRST_MONTH_COL + self.n - 1
        months = Reference(cfs, min_col=first_c, max_col=last_c, min_row=4, max_row=4)

        def series(key, name):
            values = Reference(cfs, min_col=first_c, max_col=last_c, min_row=X[key], max_row=X[key])
            return Series(values, title=name)

        line = LineChart()
        line.title = "EBITDA and net cash flow by month (USD)"
        line.y_axis.title = "USD"
        line.y_axis.number_format = FMT_USD
        line.height, line.width = 8, 22
        line.series.append(series("ebitda", "EBITDA"))
        line.series.append(series("net", "Net cash flow"))
        line.set_categories(months)
        line.x_axis.number_format = FMT_MONTH
        line.x_axis.tickLblPos = "low"   # month labels under the plot, not on the zero line
        line.x_axis.delete = False
        line.y_axis.delete = False
        ws.add_chart(line, "H4")
        bar = BarChart()
        bar.type = "col"
        bar.grouping = "stacked"
        bar.overlap = 100
        bar.title = "Revenue by source (USD)"
        bar.y_axis.number_format = FMT_USD
        bar.height, bar.width = 8, 22
        bar.series.append(series("mining_rev", "Mining"))
        bar.series.append(series("ai_rev", "AI/HPC"))
        bar.set_categories(months)
        bar.x_axis.number_format = FMT_MONTH
        bar.x_axis.tickLblPos = "low"
        bar.x_axis.delete = False
        bar.y_axis.delete = False
        ws.add_chart(bar, "H22")

    # ----------------------------------------------------------------- build
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
    return ExportReport(target, time.perf_counter() - t0, wb.sheetnames, cells, float(res.npv_usd[0]))

