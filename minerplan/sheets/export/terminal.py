"""The Terminal sheet: each conversion's cash past the horizon, at its own discount rate, valued at the
horizon's end.
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (BOLD, FIRST_DATA_ROW, FIRST_MONTH_COL, FMT_INT, FMT_USD, GREEN, col,
                                           put_formula, title)
from minerplan.sheets.export.formulas import lease_weight_formula
from minerplan.sheets.export.printing import print_in_blocks, sheet_extent
from minerplan.sheets.export.state import ExportState

MAX_LEAD_MONTHS = 120     # SiteAI.lead_time_months le
MAX_TERM_MONTHS = 600     # ColocationLease.term_months le
PRINTED_MONTHS = 6        # the months after the horizon that print (the values are in column D): one page


class TerminalSheet(ExportState):
    """Terminal: one block per conversion, months after the horizon across the columns."""

    def sheet_terminal(self) -> None:
        ws = self.ws["Terminal"]
        title(ws, "AI/HPC value past the horizon",
              "Per conversion, at its own discount rate, to the horizon's end (before tax). Colocation: rent less "
              "landlord opex (less power when the landlord pays it, 730.5 h per month at the site's contract "
              "price) while under contract, and after the term at the renewal probability until the facility's "
              "life ends ('ai_residual'). GPU cloud: the GPUs installed at the horizon's end until they are due for "
              "replacement ('ai_residual'). Less any build capex still to spend. Column E is the first month "
              f"after the horizon; the printout shows the values and the first {PRINTED_MONTHS} months (the sheet "
              "runs as long as the longest lease or facility life the inputs allow).")
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
        self.T_pv_rows = []
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
            ws.cell(row=val_r, column=1, value="Value at the horizon's end, before tax").font = BOLD
            ws.cell(row=val_r, column=3, value="USD")
            colo = f'{k("Model used")}="colocation"'
            put_formula(ws, val_r, 4,
                        f'=IF(terminal_value_mode="none",0,IF({colo},IF(AND(terminal_value_mode="contracted_ai",'
                        f'{ready}+{term}<=horizon_months),0,SUM(E{cash_r}:{last}{cash_r})-SUM(E{spend_r}:{last}'
                        f'{spend_r})),IF(terminal_value_mode="ai_residual",SUM(E{gpu_r}:{last}{gpu_r})-'
                        f"SUM(E{spend_r}:{last}{spend_r}),0)))", FMT_USD, BOLD)
            pv_r = val_r + 1
            ws.cell(row=pv_r, column=1, value="Present value today, after tax, at the conversion's rate").font = BOLD
            ws.cell(row=pv_r, column=3, value="USD")
            put_formula(ws, pv_r, 4, f"=D{val_r}*(1-tax_rate)*(1+{k('Monthly discount rate')})^-horizon_months",
                        FMT_USD, BOLD)
            self.T_value_rows.append(val_r)
            self.T_pv_rows.append(pv_r)
            r += 7
        self.T_cover_row = r
        ws.cell(row=r, column=1, value="Months covered after the horizon")
        ws.cell(row=r, column=4, value=span)
        ws.freeze_panes = "E7"
        for c, width in (("B", 24), ("C", 8), ("D", 16)):
            ws.column_dimensions[c].width = width
        for j in range(min(span, PRINTED_MONTHS)):
            ws.column_dimensions[col(FIRST_MONTH_COL + j)].width = 12
        last_row, _ = sheet_extent(self.book, ws)
        printed = min(span, PRINTED_MONTHS)
        print_in_blocks(self.book, ws, last_row=last_row, last_col=FIRST_MONTH_COL + printed - 1, title_rows=(4, 6),
                        title_cols=FIRST_MONTH_COL - 1, month_cols=(FIRST_MONTH_COL, printed))
