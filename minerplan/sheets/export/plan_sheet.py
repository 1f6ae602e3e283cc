"""The Plan sheet: the optimizer's decisions as inputs, which the Fleet and AI-HPC sheets link to (green).
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (FMT_MONTH, FMT_NUM2, as_excel_date, header_row,
                                           put_input, put_text, ref, title)
from minerplan.sheets.export.state import TABLE_FIRST_ROW, TABLE_HEADER_ROW, ExportState


class PlanSheet(ExportState):
    """Plan: one row per decision (conversions, retirements, purchases)."""

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
        return ([("convert", j) for j in p.conversions] + [("retire", i) for i in p.leaving()] +
                [("buy", i) for i in p.arriving()])

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
        self.print_table(ws, title_rows=(TABLE_HEADER_ROW, TABLE_HEADER_ROW))
