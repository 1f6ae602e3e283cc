"""The Summary sheet in front: KPIs, per-site figures, first-month breakevens per cohort and two charts,
all formulas of the calculation sheets.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference, Series

from minerplan.sheets.export.cells import (BOLD, FIRST_MONTH_COL, FMT_BTC, FMT_MONTH, FMT_NUM0, FMT_NUM2,
                                           FMT_NUM4, FMT_PCT, FMT_SCI, FMT_USD, FMT_USD2, GREEN, NOTE, TITLE, col,
                                           header_row, month_col, print_setup, put_formula, put_text, ref)
from minerplan.sheets.export.state import ExportState


class SummarySheet(ExportState):
    """Summary: KPIs, by site, breakevens by cohort, charts."""

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
                    f"IF({cf('mining_rev')}+{cf('ai_rev')}<>0,"
                    f"{cf('mining_rev')}/({cf('mining_rev')}+{cf('ai_rev')}),1))")
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
        ws.cell(row=r, column=1,
                value="Breakevens by cohort, first month (power only, on the entered price path)").font = BOLD
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
