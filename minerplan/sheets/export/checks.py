"""The Checks sheet: the workbook's live totals against the engine's at export, and the rules the engine
enforces when it reads a scenario (capacity, convertible MW) that the workbook would compute past.
"""

from __future__ import annotations

import numpy as np

from openpyxl.styles import Alignment

from minerplan.analysis import vocabulary
from minerplan.sheets.export.cells import (FMT_INT, FMT_NUM0, FMT_NUM2, FMT_USD2, RIGHT, header_row, month_col,
                                           put_formula, put_value, title)
from minerplan.sheets.export.state import ExportState

CENTER = Alignment(horizontal="center")


class ChecksSheet(ExportState):
    """Checks: engine at export, workbook (live), difference, status."""

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
            (vocabulary.NPV_ON_PATH, "USD", float(res.npv_usd[0]), "npv_usd"),
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
            put_formula(ws, r, 6, f'=IF(ABS(E{r})<=1E-6*MAX(1,ABS(C{r})),"OK","DIFFERS")').alignment = CENTER
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
        for row_ in ws.iter_rows(min_row=5, min_col=6, max_col=6):
            row_[0].alignment = CENTER
        for c in range(3, 6):
            ws.cell(row=4, column=c).alignment = RIGHT
        ws.cell(row=4, column=6).alignment = CENTER
        ws.freeze_panes = "A5"
        self.print_table(ws, title_rows=(4, 4))
