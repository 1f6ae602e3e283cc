"""The Annual sheet: the plan by calendar year, years across, summed from the monthly sheets with live formulas.

A bank reads a model by year: revenue, operating costs, EBITDA, capex, tax, net cash and cost per BTC for
each calendar year the horizon touches (a partial first or last year says how many months it covers).
Every cell sums its monthly row with ``SUMPRODUCT((YEAR(month) = year) * row)``, so the sheet follows any
edit of the inputs; cost per BTC is each year's cost over its BTC, with mining's share of G&A taken in
that year, as :func:`minerplan.analysis.periods.period_table` does.
"""

from __future__ import annotations

from minerplan.analysis import vocabulary
from minerplan.sheets.export.cells import (BOLD, FMT_INT, FMT_NUM0, FMT_USD_M, NOTE, RIGHT, TITLE, TITLE_ROW_PT, WRAP,
                                           col, header_row, merge_across, month_col)
from minerplan.sheets.export.printing import ROW_PT, print_one_page, wrapped_lines
from minerplan.sheets.export.state import ExportState

FMT_BTC1 = "#,##0.0"
LABEL_CHARS, UNIT_CHARS, YEAR_CHARS, TOTAL_CHARS = 40, 12, 11, 12

#: Line items summed from the Cash Flow sheet: (label, Cash Flow line, bold).
REVENUE = (("Mining revenue", "mining_rev"), ("Curtailment credits", "credit"), ("AI/HPC revenue", "ai_rev"))
COSTS = (("Mining energy", "power"), ("Take-or-pay shortfall", "shortfall"),
         ("AI/HPC energy paid by the miner", "ai_power"), ("Mining opex", "mining_opex"), ("AI/HPC opex", "ai_opex"),
         ("G&A", "ga"))
CAPITAL = (("ASIC purchases", "asic_capex"), ("AI/HPC capex", "ai_capex"), ("Capex", "capex"),
           ("ASIC salvage proceeds", "salvage"))


class AnnualSheet(ExportState):
    """Annual: one column per calendar year and a total; rows recorded in ``self.Y`` (line -> row)."""

    def sheet_annual(self) -> None:
        ws = self.ws["Annual"]
        years = list(dict.fromkeys(int(m[:4]) for m in self.res.months))
        ws.cell(row=1, column=1, value="Annual roll-up by calendar year").font = TITLE
        ws.row_dimensions[1].height = TITLE_ROW_PT
        header_row(ws, 4, ["Line item", "Unit"] + years + ["Total"])
        last_col = 3 + len(years)
        note = (f"Figures {vocabulary.ON_PATH}; USD M is millions of USD. Each year sums the months of the Cash Flow "
                "and Mining sheets that fall in it (live formulas); a first or last year the horizon cuts covers "
                "only its modelled months (first row). Cost per BTC is the year's cost over the year's BTC.")
        cell = ws.cell(row=2, column=1, value=note)
        cell.font, cell.alignment = NOTE, WRAP
        merge_across(ws, 2, 1, last_col)
        for c in range(3, last_col + 1):
            ws.cell(row=4, column=c).alignment = RIGHT
            ws.cell(row=4, column=c).number_format = "0"
        ws.column_dimensions["A"].width = LABEL_CHARS
        ws.column_dimensions["B"].width = UNIT_CHARS
        for j in range(len(years)):
            ws.column_dimensions[col(3 + j)].width = YEAR_CHARS
        ws.column_dimensions[col(last_col)].width = TOTAL_CHARS
        width = LABEL_CHARS + UNIT_CHARS + YEAR_CHARS * len(years) + TOTAL_CHARS
        ws.row_dimensions[2].height = ROW_PT * wrapped_lines(note, width)
        dates = f"'Cash Flow'!${month_col(0)}$4:${month_col(self.n - 1)}$4"
        book, Y = self.book, {}
        r = 5

        def put(label: str, unit: str, year_formula, total_formula, fmt: str, bold: bool = False) -> int:
            nonlocal r
            font = BOLD if bold else None
            cell = ws.cell(row=r, column=1, value=label)
            if bold:
                cell.font = BOLD
            ws.cell(row=r, column=2, value=unit)
            for j in range(len(years)):
                book.formula(ws, r, 3 + j, year_formula(col(3 + j)), fmt, font)
            book.formula(ws, r, last_col, total_formula(col(last_col)), fmt, font)
            r += 1
            return r - 1

        def summed(sheet: str, rows: list[int]):
            """A year's sum of the month rows ``rows`` of ``sheet`` (the months whose date is in the year)."""
            first, last = month_col(0), month_col(self.n - 1)
            return lambda c: "+".join(f"SUMPRODUCT((YEAR({dates})={c}$4)*{sheet}!${first}${x}:${last}${x})"
                                      for x in rows) if rows else "0"

        def row_total(c: str) -> str:
            return f"SUM(C{r}:{col(last_col - 1)}{r})"

        def section(text: str) -> None:
            nonlocal r
            r += 1
            ws.cell(row=r, column=1, value=text).font = BOLD
            r += 1

        Y["months"] = put("Months modelled", "months", lambda c: f"SUMPRODUCT(--(YEAR({dates})={c}$4))", row_total,
                          FMT_INT)
        cash = "'Cash Flow'"
        section("Revenue")
        for label, key in REVENUE:
            Y[key] = put(label, "USD M", summed(cash, [self.X[key]]), row_total, FMT_USD_M)
        Y["revenue"] = put("Total revenue", "USD M", lambda c: "+".join(f"{c}{Y[k]}" for _, k in REVENUE),
                           lambda c: "+".join(f"{c}{Y[k]}" for _, k in REVENUE), FMT_USD_M, bold=True)
        section("Operating costs")
        for label, key in COSTS:
            Y[key] = put(label, "USD M", summed(cash, [self.X[key]]), row_total, FMT_USD_M)
        Y["costs"] = put("Total operating costs", "USD M", lambda c: "+".join(f"{c}{Y[k]}" for _, k in COSTS),
                         lambda c: "+".join(f"{c}{Y[k]}" for _, k in COSTS), FMT_USD_M, bold=True)
        r += 1
        Y["ebitda"] = put("EBITDA", "USD M", lambda c: f"{c}{Y['revenue']}-{c}{Y['costs']}",
                          lambda c: f"{c}{Y['revenue']}-{c}{Y['costs']}", FMT_USD_M, bold=True)
        section("Capital")
        for label, key in CAPITAL:
            Y[key] = put(label, "USD M", summed(cash, [self.X[key]]), row_total, FMT_USD_M)
        section("Tax and cash")
        Y["tax"] = put("Tax", "USD M", summed(cash, [self.X["tax"]]), row_total, FMT_USD_M)
        Y["net"] = put("Net cash flow", "USD M", lambda c: f"{c}{Y['ebitda']}-{c}{Y['capex']}+{c}{Y['salvage']}-"
                                                           f"{c}{Y['tax']}",
                       lambda c: f"{c}{Y['ebitda']}-{c}{Y['capex']}+{c}{Y['salvage']}-{c}{Y['tax']}", FMT_USD_M,
                       bold=True)
        section("Cost per BTC (cash: energy, opex and mining's share of G&A, less credits; all-in: cash + ASIC "
                "depreciation)")
        Y["btc"] = put("BTC mined", "BTC", summed("Mining", self.M["btc"]), row_total, FMT_BTC1)
        Y["asic_dep"] = put("ASIC depreciation", "USD M", summed(cash, [self.X["asic_dep"]]), row_total, FMT_USD_M)

        def ga_share(c: str) -> str:
            return (f"IF(ISNUMBER(g_and_a_mining_share_pct),g_and_a_mining_share_pct/100,"
                    f"IF({c}{Y['mining_rev']}+{c}{Y['ai_rev']}<>0,{c}{Y['mining_rev']}/({c}{Y['mining_rev']}+"
                    f"{c}{Y['ai_rev']}),1))")

        def cash_cost(c: str) -> str:
            return (f"({c}{Y['power']}+{c}{Y['shortfall']}-{c}{Y['credit']}+{c}{Y['mining_opex']}+"
                    f"{c}{Y['ga']}*{ga_share(c)})")

        def per_btc(cost):
            return lambda c: f'IF({c}{Y["btc"]}>0,{cost(c)}/{c}{Y["btc"]},"n/a")'

        Y["cost_cash"] = put("Cash cost per BTC", "USD per BTC",
                             per_btc(cash_cost), per_btc(cash_cost), FMT_NUM0, bold=True)
        Y["cost_all_in"] = put("All-in cost per BTC", "USD per BTC",
                               per_btc(lambda c: f"({cash_cost(c)}+{c}{Y['asic_dep']})"),
                               per_btc(lambda c: f"({cash_cost(c)}+{c}{Y['asic_dep']})"), FMT_NUM0, bold=True)
        self.Y = Y
        ws.freeze_panes = "C5"
        print_one_page(book, ws, last_row=r - 1, last_col=last_col, landscape=True)

