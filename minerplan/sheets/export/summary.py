"""The Summary sheet in front: KPIs, per-site figures, first-month breakevens per cohort and two charts,
all formulas of the calculation sheets, on one printed page.

Laid out for a reader: one font family (the workbook's), each figure's unit in its own column and a number
format per unit (USD millions with one decimal for large money, USD with separators per BTC or per MW,
difficulty in T, never scientific notation, a percentage with one %), every NPV labelled with its statistic
(:mod:`minerplan.analysis.vocabulary`), long labels wrapped in rows as tall as they need, and the Fleet rows
of a cohort the plan split (units kept, units leaving by month) merged into one breakeven row.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Font as DrawingFont, Paragraph, ParagraphProperties, \
    RegularTextRun
from openpyxl.styles import Alignment

from minerplan.analysis import vocabulary
from minerplan.sheets.export.cells import (BOLD, FIRST_MONTH_COL, FMT_MONTH, FMT_NUM0, FMT_NUM2, FMT_NUM4, FMT_PCT,
                                           FMT_TRILLION, FMT_USD_M, FONT_NAME, GREEN, NOTE, RIGHT, TITLE,
                                           TITLE_ROW_PT, UNIT, WRAP, col, header_row, merge_across, month_col,
                                           put_formula, put_text, ref)
from minerplan.sheets.export.printing import ROW_PT, print_one_page, wrapped_lines
from minerplan.sheets.export.state import ExportState

WIDTHS = (40, 15, 15, 13, 13, 12)   # A: label, B: value, C: unit (and the tables' columns): one portrait page
FMT_NUM1 = "#,##0.0"
HEADER_RIGHT = Alignment(horizontal="right", vertical="bottom", wrap_text=True)
HEADER_LEFT = Alignment(horizontal="left", vertical="bottom", wrap_text=True)
USD_M = "USD\u00a0M"         # a non-breaking space: a header wraps before "USD M", never inside it
CHART_WIDTH_CM, CHART_HEIGHT_CM = 10.0, 7.0
CHART_ROWS = 14            # rows the charts take below the tables (7 cm at 15 pt a row)
SECOND_CHART_COL = "C"     # side by side: C starts 296 pt in (Excel, Calibri) to 385 pt (LibreOffice): both fit
CHART_FONT_PT = 11         # prints at 7 pt or more at the page's scale (about 70%)


class SummarySheet(ExportState):
    """Summary: KPIs, by site, breakevens by cohort, charts."""

    def sheet_summary(self) -> None:
        sc, ws = self.sc, self.ws["Summary"]
        put_text(ws, 1, 1, f"MinerPlan: {sc.name}").font = TITLE
        ws.row_dimensions[1].height = TITLE_ROW_PT
        for c, width in zip("ABCDEF", WIDTHS):
            ws.column_dimensions[c].width = width
        note = (f"From {sc.start_month}, {sc.horizon_months} months. Figures are {vocabulary.ON_PATH} unless a label "
                "says otherwise; each is a formula of the calculation sheets (change the blue inputs on Inputs, "
                "Fleet, Sites or Plan)."
                + (" The Monte Carlo figures are values at export (Scenarios sheet)." if self.mc is not None else "")
                + " Money in USD; USD M is millions of USD.")
        self._text_row(2, note, NOTE, sum(WIDTHS))
        header_row(ws, 4, ("Key figures", "Value", "Unit"))
        ws.cell(row=4, column=2).alignment = RIGHT
        ws.cell(row=4, column=3).alignment = UNIT
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
        n_mc = self.mc.n_paths if self.mc is not None else 0
        mc_link = lambda label: f"=Scenarios!$D${self.mc_npv_rows[label]}"  # noqa: E731
        on_path = vocabulary.ON_PATH
        kpis = [
            ("npv_usd", vocabulary.NPV_ON_PATH, "=npv_usd", "USD M", FMT_USD_M),
            ("terminal_value_pv_usd", "of which terminal value (present value)", "=terminal_value_pv_usd", "USD M",
             FMT_USD_M),
        ]
        if n_mc:
            kpis += [("npv_mean_usd", vocabulary.capitalized(vocabulary.expected_npv(n_mc)),
                      mc_link(vocabulary.expected_npv(n_mc)), "USD M", FMT_USD_M),
                     ("npv_median_usd", vocabulary.capitalized(vocabulary.median_npv(n_mc)),
                      mc_link(vocabulary.median_npv(n_mc)), "USD M", FMT_USD_M)]
        kpis += [
            ("irr", f"IRR {on_path} (n/a without an initial outlay)",
             '=IF(ISNUMBER(irr_annual),irr_annual,"n/a")', "per year", FMT_PCT),
            ("payback_months", "Payback, without terminal value (n/a without an initial outlay)",
             '=IF(ISNUMBER(payback_months),payback_months,IF(payback_months="not within the horizon",'
             '"> horizon","n/a"))', "months", FMT_NUM0),
            ("terminal_value_usd", "Terminal value (in NPV, at the horizon's end)", "=terminal_value_usd", "USD M",
             FMT_USD_M),
            ("btc_mined", "BTC mined", f"={btc_total}", "BTC", FMT_NUM1),
            ("cost_per_btc_cash_usd", "Cash cost per BTC, horizon average (energy, opex, mining's G&A, less "
                                      "credits)",
             f"=IF({btc_total}>0,{cash_cost}/{btc_total},\"n/a\")", "USD per BTC", FMT_NUM0),
            ("cost_per_btc_all_in_usd", "All-in cost per BTC (cash + ASIC depreciation)",
             f"=IF({btc_total}>0,({cash_cost}+{cf('asic_dep')})/{btc_total},\"n/a\")", "USD per BTC", FMT_NUM0),
            ("ebitda_usd_per_mw_month", "Site EBITDA (before G&A) per MW of capacity per month",
             f"=IF({cap_total}>0,{site_ebitda_avg}/{cap_total},\"n/a\")", "USD per MW-month", FMT_NUM0),
            ("hashprice_usd_per_ph_day", "Hashprice, first month", f"=Network!{first}{net['hp_usd_ph']}",
             "USD per PH/s-day", FMT_NUM2),
            ("hashprice_btc_per_ph_day", "Hashprice, first month", f"=Network!{first}{net['hp_btc_ph']}",
             "BTC per PH/s-day", "0.000000"),
            ("network_hashrate_ehs", "Network hashrate, first month", f"=Network!{first}{net['hashrate']}", "EH/s",
             FMT_NUM1),
            ("difficulty", "Difficulty at the start", "=difficulty_start", "T (10^12)", FMT_TRILLION),
            ("block_subsidy_btc", "Block subsidy at the start",
             "=INT(initial_subsidy_sats/2^MIN(INT(block_height_start/halving_interval_blocks),64))/sats_per_btc",
             "BTC per block", "0.000"),
            ("fleet_hashrate_ehs", "Fleet hashrate owned at the start (nameplate)", f"={fleet_ehs}", "EH/s", FMT_NUM2),
        ]
        r = 5
        self.kpi_cells = {}
        for key, label, formula, unit, fmt in kpis:
            self._text_row(r, label, None, WIDTHS[0], also=(unit, WIDTHS[2] - 1))
            put_formula(ws, r, 2, formula, fmt, GREEN if formula.startswith("=Scenarios!") else None).alignment = RIGHT
            ws.cell(row=r, column=3, value=unit).alignment = UNIT
            self.kpi_cells[key] = f"B{r}"
            r += 1
        # Per site.
        r += 1
        ws.cell(row=r, column=1, value=f"By site, {on_path}").font = BOLD
        r += 1
        heads = ("Site", "EBITDA per MW-month [USD]", f"Mining revenue [{USD_M}]", f"AI/HPC revenue [{USD_M}]",
                 f"Capex [{USD_M}]", "BTC mined")
        self._header(r, heads, numeric_from=2)
        r += 1
        A = self.A
        self.site_kpi_rows = []
        for s in range(self.n_sites):
            put_formula(ws, r, 1, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            cap = self.site_cell(s, "capacity_mw")
            put_formula(ws, r, 2, f"=IF({cap}>0,AVERAGE(Mining!{month_col(0)}{M['ebitda'][s]}:"
                                  f"{month_col(self.n - 1)}{M['ebitda'][s]})/{cap},\"n/a\")", FMT_NUM0)
            put_formula(ws, r, 3, f"=Mining!$D${M['rev'][s]}", FMT_USD_M)
            put_formula(ws, r, 4, f"='AI-HPC'!$D${A['site_revenue'][s]}", FMT_USD_M)
            capex_asic = (f"SUMPRODUCT(--({self.fleet_range(self.fleet_col['site'])}={self.site_cell(s, 'name')}),"
                          f"Cohorts!$D${self.C['capex'][0]}:$D${self.C['capex'][-1]})") if self.n_coh else "0"
            put_formula(ws, r, 5, f"={capex_asic}+'AI-HPC'!$D${A['site_capex'][s]}", FMT_USD_M)
            put_formula(ws, r, 6, f"=Mining!$D${M['btc'][s]}", FMT_NUM1)
            self.site_kpi_rows.append(r)
            r += 1
        r = self._breakevens(r + 1)
        chart_row = r + 1
        self._charts(chart_row)
        ws.freeze_panes = "A5"
        print_one_page(self.book, ws, last_row=chart_row + CHART_ROWS, last_col=len(WIDTHS), landscape=False)

    def _text_row(self, r: int, text: str, font, width_chars: float, also: tuple[str, float] = ("", 0)) -> None:
        """Text in column A that wraps within ``width_chars`` (merged across the table when wider than A); the
        row is as tall as it or as ``also`` (another text of the row and its width) needs."""
        ws = self.ws["Summary"]
        cell = ws.cell(row=r, column=1, value=text)
        if font is not None:
            cell.font = font
        if width_chars > WIDTHS[0]:
            merge_across(ws, r, 1, len(WIDTHS))
        lines = wrapped_lines(text, width_chars)
        cell.alignment = WRAP   # top-aligned like the row's value and unit
        lines = max(lines, wrapped_lines(also[0], also[1]) if also[0] else 1)
        if lines > 1:
            ws.row_dimensions[r].height = ROW_PT * lines

    def _header(self, r: int, heads, numeric_from: int) -> None:
        """A table's header row: wrapped in its columns (the numbers' from column ``numeric_from`` to the right),
        on the bottom line, as tall as the longest."""
        ws = self.ws["Summary"]
        header_row(ws, r, heads, wrap=True)
        for j in range(len(heads)):
            ws.cell(row=r, column=1 + j).alignment = HEADER_RIGHT if 1 + j >= numeric_from else HEADER_LEFT
        ws.row_dimensions[r].height = ROW_PT * max(wrapped_lines(h, w) for h, w in zip(heads, WIDTHS))

    def _breakevens(self, r: int) -> int:
        """Breakevens by cohort, first month (power only): one row per cohort, where the plan split a cohort into
        several Fleet rows (units kept, units leaving by month) those rows merged into one (they have the same
        machines and so the same breakevens), their units added. Returns the next free row."""
        ws, M, net = self.ws["Summary"], self.M, self.R_net
        first = month_col(0)
        ws.cell(row=r, column=1, value=f"Breakevens by cohort, first month (power only, {vocabulary.ON_PATH})"
                ).font = BOLD
        r += 1
        self._header(r, ("Cohort", "Site", "Units", "Efficiency [J/TH]", "Breakeven power [USD/kWh]",
                         "Breakeven BTC price [USD]"), numeric_from=3)
        r += 1
        self.cohort_be_rows = []
        hp_usd = f"Network!${first}${net['hp_usd']}"
        hp_btc = f"Network!${first}${net['hp_btc']}"
        count_col = col(self.fleet_col["count"])
        for members in cohort_groups(self.sc.fleet):
            i = members[0]
            label = "=" + ref("Fleet", f"$A${self.tr(i)}")
            if len(members) > 1:
                label += f'&" (Fleet rows {row_list([self.tr(j) for j in members])})"'
            put_formula(ws, r, 1, label, font=GREEN)
            put_formula(ws, r, 2, "=" + ref("Fleet", f"$B${self.tr(i)}"), font=GREEN)
            put_formula(ws, r, 3, "=" + "+".join(ref("Fleet", f"${count_col}${self.tr(j)}") for j in members),
                        FMT_NUM0)
            eff = f"Cohorts!${first}${self.C['eff'][i]}"
            put_formula(ws, r, 4, f"={eff}", FMT_NUM2)
            put_formula(ws, r, 5, f"={hp_usd}*net_share/(0.024*{eff})", FMT_NUM4)
            site_row = ref("Fleet", f"${col(self.fleet_col['Site row'])}${self.tr(i)}")
            pue = ref("Fleet", f"${col(self.fleet_col['Site PUE'])}${self.tr(i)}")
            avg = f"INDEX(Mining!${first}${M['avg_price'][0]}:${first}${M['avg_price'][-1]},{site_row})/1000"
            put_formula(ws, r, 6, f"=IF({hp_btc}*net_share>0,0.024*{eff}*{pue}*{avg}/({hp_btc}*net_share),\"n/a\")",
                        FMT_NUM0)
            self.cohort_be_rows.append((r, members))
            r += 1
        return r

    def _charts(self, r: int) -> None:
        """Two charts below the tables, side by side, drawn from the Cash Flow rows (so they follow the
        formulas); their text is sized to print at 7 pt or more at the page's scale."""
        ws = self.ws["Summary"]
        cfs = self.ws["Cash Flow"]
        X = self.X
        first_c, last_c = FIRST_MONTH_COL, FIRST_MONTH_COL + self.n - 1
        months = Reference(cfs, min_col=first_c, max_col=last_c, min_row=4, max_row=4)

        def series(key, name):
            values = Reference(cfs, min_col=first_c, max_col=last_c, min_row=X[key], max_row=X[key])
            return Series(values, title=name)

        line = LineChart()
        line.series.append(series("ebitda", "EBITDA"))
        line.series.append(series("net", "Net cash flow"))
        bar = BarChart()
        bar.type = "col"
        bar.grouping = "stacked"
        bar.overlap = 100
        bar.series.append(series("mining_rev", "Mining"))
        bar.series.append(series("ai_rev", "AI/HPC"))
        for chart, text, anchor in ((line, f"EBITDA and net cash flow by month, {vocabulary.ON_PATH} (USD M)",
                                     f"A{r}"), (bar, "Revenue by source (USD M)", f"{SECOND_CHART_COL}{r}")):
            chart.title = _chart_title(text)
            chart.height, chart.width = CHART_HEIGHT_CM, CHART_WIDTH_CM
            chart.y_axis.number_format = FMT_USD_M
            chart.set_categories(months)
            chart.x_axis.number_format = FMT_MONTH
            chart.x_axis.tickLblPos = "low"   # month labels under the plot, not on the zero line
            chart.x_axis.delete = False
            chart.y_axis.delete = False
            chart.x_axis.txPr = chart.y_axis.txPr = _chart_text(CHART_FONT_PT)
            chart.legend.position = "b"
            chart.legend.txPr = _chart_text(CHART_FONT_PT)
            ws.add_chart(chart, anchor)


def _chart_text(size_pt: float, bold: bool = False) -> RichText:
    """Chart text in the workbook's font at ``size_pt`` (a chart's own default is smaller than the cells')."""
    props = CharacterProperties(sz=int(size_pt * 100), b=bold, latin=DrawingFont(typeface=FONT_NAME))
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props, r=[])])


def _chart_title(text: str) -> Title:
    props = CharacterProperties(sz=int(CHART_FONT_PT * 100), b=True, latin=DrawingFont(typeface=FONT_NAME))
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


SPLIT_FIELDS = {"count", "retire_month", "sale_price_usd"}   # what the parts of a split cohort differ in


def cohort_groups(fleet) -> list[list[int]]:
    """Fleet rows grouped by the machines they hold: rows equal but for their count and when and at what price
    they leave, as the rows a plan splits one cohort into (units kept, units sold or moved by month)."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(fleet):
        key = tuple(sorted((k, v) for k, v in c.model_dump(exclude=SPLIT_FIELDS).items()))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def row_list(rows: list[int]) -> str:
    """``5-8, 11``: sheet rows as runs."""
    runs, start = [], rows[0]
    for a, b in zip(rows, rows[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)
