"""The Cash Flow sheet: company totals per month, tax, net cash, and NPV, IRR and payback with Excel's own
functions (defined names ``npv_usd``, ``irr_annual``, ...).
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (BOLD, FMT_INT, FMT_NUM4, FMT_PCT, FMT_USD, WRAP_LABEL, define_name,
                                           month_col, put_formula, title)
from minerplan.sheets.export.printing import ROW_PT, wrapped_lines
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class CashFlowSheet(ExportState):
    """Cash Flow: one row per line of the company's accounts."""

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
        tv_pv_sum = "+".join(f"Terminal!$D${x}" for x in self.T_pv_rows) if tv_rows else "0"
        adj = (f"SUM('AI-HPC'!$D${self.A['class_adj'][0]}:$D${self.A['class_adj'][-1]})"
               if self.conv_rows else "0")
        kv = [
            ("terminal_ai_usd", "AI/HPC value past the horizon (Terminal sheet), after tax, at the horizon's end",
             "USD", f"=({tv_sum})*(1-tax_rate)"),
            ("terminal_asic_usd", "ASIC resale at the horizon's end, after tax on the gain over book", "USD",
             f'=IF(asic_residual_value="none",0,SUM({self.fleet_range(self.fleet_col["Residual after tax [USD]"])}))'
             if self.n_coh else "=0"),
            ("terminal_value_usd", "Terminal value (at the horizon's end)", "USD",
             "=terminal_ai_usd+terminal_asic_usd"),
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
        label_chars = ws.column_dimensions["A"].width
        for name, label, unit, formula in kv:
            cell = ws.cell(row=r, column=1, value=label)
            if len(label) >= label_chars - 1:   # wraps in A (B, empty on this sheet, is narrowed at print)
                cell.alignment = WRAP_LABEL
                ws.row_dimensions[r].height = ROW_PT * wrapped_lines(label, label_chars)
            ws.cell(row=r, column=3, value=unit)
            put_formula(ws, r, 4, formula, FMT_PCT if name == "irr_annual" else (
                None if name == "starts_with_outlay" else FMT_USD), BOLD)
            define_name(self.wb, name, "Cash Flow", f"D{r}")
            r += 1
        t.print_setup()
