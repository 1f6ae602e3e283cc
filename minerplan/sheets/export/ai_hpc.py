"""The AI-HPC sheet: the conversion plan as an input table with derived columns, then per conversion and per
site and month what it adds (capacity out of mining, revenue, opex, energy, capex, depreciation), and
each conversion's value at its own discount rate.
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (BOLD, FIRST_DATA_ROW, FMT_INT, FMT_MONTH, FMT_NUM0, FMT_NUM2,
                                           FMT_NUM4, FMT_SMALL, FMT_USD, GREEN, as_excel_date, col, header_row,
                                           month_index_formula, put_formula, put_input, ref, title)
from minerplan.sheets.export.formulas import lease_weight_formula
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.printing import ROW_PT, wrapped_lines
from minerplan.sheets.export.time_sheet import (ITEM_MAX_CHARS, LABEL_CHARS, MONTH_CHARS, TOTAL_CHARS, UNIT_CHARS,
                                                TimeSheet)


class AiHpcSheet(ExportState):
    """AI-HPC: the conversion table, then the time grid (Dispatch and Mining reference it first)."""

    CONV_DERIVED = ("Site row", "Model used", "Start index", "Lead time [months]", "Ready index", "Critical MW",
                    "Conversion capex [USD]", "Facility life [months]", "Load factor [%]", "Lease rate [USD/kW-mo]",
                    "Escalator [%/yr]", "Lease term [months]", "Tenant pays power", "Landlord opex [USD/kW-mo]",
                    "GPUs", "GPU rate [USD/h]", "GPU rate decline [%/yr]", "GPU utilization [%]", "GPU capex [USD/GPU]",
                    "GPU life [months]",
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
        t = TimeSheet(self.book, ws, self.n, header_from="Network", name_chars=self.name_chars)
        A = self.A
        r0 = A["conv_first"]
        heads = ("Site", "Gross MW", "Start month", "Business model (blank = site default)") + self.CONV_DERIVED
        header_row(ws, r0 - 1, heads, wrap=True)
        widths = [LABEL_CHARS, min(self.name_chars + 2, ITEM_MAX_CHARS), UNIT_CHARS, TOTAL_CHARS]
        self.book.row_height(ws, r0 - 1, ROW_PT * max(wrapped_lines(h, widths[j] if j < 4 else MONTH_CHARS)
                                                      for j, h in enumerate(heads)))
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
                                f"{k('GPU rate [USD/h]', j)}*(24*{c}$7)*{k('GPU utilization [%]', j)}/100*"
                                f"(1-{k('GPU rate decline [%/yr]', j)}"
                                f"/100)^(MOD(MAX({c}$5-{k('Ready index', j)},0),{k('GPU life [months]', j)})/12)),0)",
                FMT_USD, True, item_formula=conv_item)
            A["opex"] = t.rows(
                "Opex", conv_labels, "USD",
                lambda j, m, c: f"IF({live(j, c)},IF({colo(j)},{weight(j, c)}*{k('Critical MW', j)}*1000*"
                                f"{k('Landlord opex [USD/kW-mo]', j)},"
                                f"{k('GPUs', j)}*{k('GPU opex [USD/GPU-mo]', j)}),0)",
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
        t.print_setup()

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
