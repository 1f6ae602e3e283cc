"""The Sites, Hourly prices and Fleet sheets: the input tables MinerPlan's import reads back, with derived
formula columns to their right.

Their columns are :mod:`minerplan.scenario.fields`' layout, so ``minerplan import-fleet plan.xlsx``
and ``import-sites`` read an exported workbook as they read the template.
"""

from __future__ import annotations

from openpyxl.worksheet.datavalidation import DataValidation

from minerplan.scenario.dotted import get_path
from minerplan.scenario.fields import FLEET_COLUMNS, HOURLY_HEADERS, HOURLY_SHEET, SITE_COLUMNS
from minerplan.sheets.export.cells import (BOLD, FMT_INT, FMT_MONTH, FMT_NUM2, FMT_NUM4, FMT_USD, GREEN, NOTE, WRAP,
                                           as_excel_date, col, header_row, month_col, month_index_formula,
                                           put_formula, put_input, put_text, ref, title)
from minerplan.sheets.export.formulas import asic_unit_value
from minerplan.sheets.export.printing import DEFAULT_WIDTH_CHARS, ROW_PT, wrapped_lines
from minerplan.sheets.export.state import TABLE_FIRST_ROW, TABLE_HEADER_ROW, ExportState


def _input_table_header(ws, columns, derived: tuple[str, ...], *, max_width: int,
                        derived_width: int | None = None, content: dict[str, int] | None = None) -> dict[str, int]:
    """The header of an input table the importer reads back (the layout's columns, their notes in
    row 3), then the derived formula columns; returns column numbers by field or derived header.
    ``content``: the longest text a column holds (names), so it is not cut."""
    content = content or {}
    widths = [max(12, min(max_width, max(len(c.header), content.get(c.field, 0)) + 2)) for c in columns]
    header_row(ws, TABLE_HEADER_ROW, [c.header for c in columns], widths=widths, wrap=True)
    note_lines = head_lines = 1
    for j, column in enumerate(columns):
        if column.note:
            cell = ws.cell(row=3, column=1 + j, value=column.note)
            cell.font, cell.alignment = NOTE, WRAP
            note_lines = max(note_lines, wrapped_lines(column.note, widths[j]))
        head_lines = max(head_lines, wrapped_lines(column.header, widths[j]))
    out = {column.field: 1 + j for j, column in enumerate(columns)}
    nxt = len(columns) + 1
    for j, h in enumerate(derived):
        cell = ws.cell(row=TABLE_HEADER_ROW, column=nxt + j, value=h)
        cell.font, cell.alignment = BOLD, WRAP
        width = derived_width or DEFAULT_WIDTH_CHARS
        if derived_width is not None:
            ws.column_dimensions[col(nxt + j)].width = derived_width
        head_lines = max(head_lines, wrapped_lines(h, width))
        out[h] = nxt + j
    # Notes and headers wrap in their columns (a long one would run into its neighbour's).
    ws.row_dimensions[3].height = ROW_PT * note_lines
    ws.row_dimensions[TABLE_HEADER_ROW].height = ROW_PT * head_lines
    return out


class InputTableSheets(ExportState):
    """Sites (with the Hourly prices sheet) and Fleet."""

    def sheet_sites(self) -> None:
        sc, ws = self.sc, self.ws["Sites"]
        title(ws, "Sites and power contracts", "One row per site (inputs in blue). MinerPlan's import reads this "
                                                "table back: minerplan import-sites plan.xlsx --into scenario.json")
        self.site_col = _input_table_header(ws, SITE_COLUMNS, ("Site #", "Hourly profile", "Profile first row"),
                                            max_width=28, content={"name": max(map(len, (s.name for s in sc.sites)),
                                                                               default=0)})
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
                value = get_path(data, column.field)
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
        self.print_table(ws, title_rows=(TABLE_HEADER_ROW, TABLE_HEADER_ROW), title_cols=1)

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
        self.print_table(hs, title_rows=(TABLE_HEADER_ROW, TABLE_HEADER_ROW), title_cols=2)

    def sheet_fleet(self) -> None:
        sc, ws = self.sc, self.ws["Fleet"]
        title(ws, "Fleet: ASIC cohorts", "One row per batch of identical machines (inputs in blue; green cells "
                                         "link to the Plan sheet). minerplan import-fleet reads this table back.")
        self.fleet_col = _input_table_header(
            ws, FLEET_COLUMNS, ("Cohort #", "Delivery index", "Retire index", "Nameplate [J/TH]", "Site row",
                                "Site PUE", "Residual at horizon end [USD]", "Residual book value [USD]",
                                "Residual after tax [USD]", "Salvage quote scale"), max_width=26, derived_width=16,
            content={"model": max(map(len, (c.model for c in sc.fleet)), default=0),
                     "site": max(map(len, (c.site for c in sc.fleet)), default=0)})
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
        self.print_table(ws, title_rows=(TABLE_HEADER_ROW, TABLE_HEADER_ROW), title_cols=1)
