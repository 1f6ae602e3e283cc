"""The Inputs sheet: every scalar assumption in one cell with a defined name, and the BTC price path's points.

Every other sheet's formulas read these names (``btc_price_usd``, ``pool_fee_pct``, ...), so an
analyst changes an assumption in one place; the source of each value is written beside it.
"""

from __future__ import annotations

import json
from functools import lru_cache

from openpyxl.worksheet.datavalidation import DataValidation

from minerplan.engine.valuation import (ASIC_BUYER_POWER_USD_PER_KWH, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY,
                                        ASIC_MARGIN_DAYS, ASIC_SCRAP_USD_PER_TH, LEASE_DISCOUNT_RATE_PCT)
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, scenario_from_dict
from minerplan.scenario.model import Scenario
from minerplan.sheets.export.cells import (BOLD, FMT_BTC, FMT_INT, FMT_MONTH, FMT_NUM0, FMT_NUM2, FMT_NUM4,
                                           FMT_SCI, FMT_SMALL, FMT_TRILLION, FMT_USD, UNIT, WRAP, as_excel_date,
                                           define_name, header_row, month_index_formula, put_formula, put_input,
                                           title)
from minerplan.sheets.export.printing import ROW_PT, wrapped_lines
from minerplan.sheets.export.state import ExportState

SOURCE_SCENARIO = "scenario"
WIDTHS = (36, 16, 14, 28, 56)     # input, value, unit, defined name, source: one page wide at 68%
SOURCE_PROTOCOL = "Bitcoin Core consensus rules (GetBlockSubsidy, pow.cpp)"


@lru_cache(maxsize=1)
def _shipped_default() -> Scenario:
    return scenario_from_dict(json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8")), "default")


def scenario_origin(sc: Scenario) -> str:
    """Where the scenario's values come from, citing only what a reader can open: the scenario shipped in
    MinerPlan's repository (each default's public source in docs/sources.md), or the user's own inputs (a file
    on their computer is not cited: the reader of the workbook cannot open it)."""
    if sc == _shipped_default():
        return ("the scenario shipped with MinerPlan (assets/default_scenario.json in its repository); every "
                "default's public source is listed in docs/sources.md.")
    return (f"this scenario's own input ('{sc.name}'); MinerPlan's shipped defaults and their public sources are "
            "listed in docs/sources.md.")


def wrap_row(ws, r: int, texts) -> None:
    """Wrap the row's long texts in their columns and make the row as tall as the longest (top-aligned)."""
    lines = max(wrapped_lines(t, w) if t and len(str(t)) >= w - 1 else 1 for t, w in zip(texts, WIDTHS))
    if lines > 1:
        for c in range(1, len(WIDTHS) + 1):
            ws.cell(row=r, column=c).alignment = UNIT if c == 3 else WRAP
        ws.row_dimensions[r].height = ROW_PT * lines


class InputsSheet(ExportState):
    """Inputs: scalars with defined names; ``price_formula`` reads the BTC price path from them."""

    def sheet_inputs(self) -> None:
        sc, ws = self.sc, self.ws["Inputs"]
        title(ws, "Inputs", "Every scalar assumption, one cell each with a defined name. Blue cells are inputs: "
                            "change them and the workbook recalculates. Per-site and per-cohort inputs are on "
                            "the Sites and Fleet sheets. 'scenario': " + scenario_origin(sc))
        header_row(ws, 4, ("Input", "Value", "Unit", "Defined name", "Source / note"), widths=WIDTHS)
        mk, fin, pp = sc.market, sc.finance, sc.price_path
        src = SOURCE_SCENARIO
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
            ws.cell(row=r, column=3, value=unit).alignment = UNIT
            ws.cell(row=r, column=4, value=name)
            ws.cell(row=r, column=5, value=source)
            wrap_row(ws, r, (label, None, unit, name, source))
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
        add("difficulty_start", "Difficulty", mk.difficulty_value, "T (10^12)", FMT_TRILLION,
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
            ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY, "USD per TH/s-day", "0.00000",
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
             if mc.centred_on_median else SOURCE_SCENARIO) + "; used at export for the Scenarios sheet (values)",
            "fact")
        add("mc_volatility_pct_per_year", "Volatility", sc.monte_carlo.volatility_pct_per_year, "%/yr", FMT_NUM2,
            SOURCE_SCENARIO + "; used at export for the Scenarios sheet (values)", "fact")
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
        wrap_row(ws, r, (None, None, None, "month 0: the start price, or the first point's price when it is at "
                                           "month 0", None))
        put_formula(ws, r, 3, month_index_formula(f"A{r}"), FMT_INT)
        r += 1
        for month, price in pts:
            put_input(ws, r, 1, as_excel_date(month), FMT_MONTH)
            put_input(ws, r, 2, price, FMT_USD)
            put_formula(ws, r, 3, month_index_formula(f"A{r}"), FMT_INT)
            r += 1
        self.points = (first, r - 1)
        ws.freeze_panes = "A5"
        self.print_table(ws, title_rows=(4, 4))

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
