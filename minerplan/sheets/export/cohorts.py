"""The Cohorts sheet: per batch of machines and month, what is installed and placed at its site, what it
would produce and draw if it ran, its capex, depreciation and used-market value.
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (FMT_INT, FMT_NUM0, FMT_NUM2, FMT_NUM4, FMT_USD, FMT_USD2, col,
                                           ref, title)
from minerplan.sheets.export.formulas import asic_unit_value
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class CohortsSheet(ExportState):
    """Cohorts: one block of rows per quantity, one row per cohort."""

    def sheet_cohorts(self) -> None:
        """Per cohort and month: what is installed, placed, and what it would produce and draw if it ran."""
        ws = self.ws["Cohorts"]
        title(ws, "Cohorts by month", "Per batch of machines: active, age, degraded hashrate, the share that fits "
                                      "the site's mining capacity (best J/TH first), and energy and TH-days if it ran "
                                      "all month.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network", name_chars=self.name_chars)
        F = {f: col(self.fleet_col[f]) for f in self.fleet_col}
        C = {}
        items = range(self.n_coh)
        if self.n_coh == 0:
            self.C = C
            t.print_setup()
            return

        fleet_refs: dict[tuple[int, str], str] = {}

        def fc(i, f):
            got = fleet_refs.get((i, f))
            if got is None:
                got = fleet_refs[(i, f)] = ref("Fleet", f"${F[f]}${self.tr(i)}")
            return got

        def label(i):
            return "=" + ref("Fleet", f"$A${self.tr(i)}")

        def block(key, lab, unit, fn, fmt=FMT_NUM2, total=False):
            C[key] = t.rows(lab, items, unit, fn, fmt, total, item_formula=label)

        t.section("Installed")
        block("active", "Active (bought, not retired)", "1/0",
              lambda i, m, c: f"IF(AND({c}$5>=MAX({fc(i, 'Delivery index')},0),{c}$5<{fc(i, 'Retire index')}),1,0)",
              FMT_INT)
        mechanics = t.summary_line("Age and degraded TH/s per unit", "collapsed: + expands")
        block("age", "Age", "months",
              lambda i, m, c: f"MAX(IF({fc(i, 'Delivery index')}>=0,{c}$5-{fc(i, 'Delivery index')},"
                              f"{fc(i, 'age_months')}+{c}$5),0)", FMT_INT)
        block("ths", "Hashrate per unit (degraded)", "TH/s",
              lambda i, m, c: f"{fc(i, 'hashrate_ths')}*(1-{fc(i, 'degradation_pct_per_year')}/100)^"
                              f"({c}{C['age'][i]}/12)")
        self.book.group_rows(ws, mechanics, t.next_row - 1)
        block("eff", "Efficiency", "J/TH", lambda i, m, c: f"{fc(i, 'power_w')}/{c}{C['ths'][i]}")
        block("load", "Load if all active units ran", "MW",
              lambda i, m, c: f"{c}{C['active'][i]}*({fc(i, 'count')}*{fc(i, 'power_w')}*{fc(i, 'Site PUE')}/1E+6)",
              FMT_NUM4)
        sites = self.fleet_range(self.fleet_col["site"])
        ids = self.fleet_range(self.fleet_col["Cohort #"])

        def placed(i, m, c):
            effs, loads = t.range_in(C["eff"], c), t.range_in(C["load"], c)
            e, ld = f"{c}{C['eff'][i]}", f"{c}{C['load'][i]}"
            before = (f"SUMPRODUCT(({sites}={fc(i, 'site')})*(({effs}<{e})+({effs}={e})*({ids}<{fc(i, 'Cohort #')}))"
                      f",{loads})")
            cap = f"INDEX(Mining!{c}${self.M['cap'][0]}:{c}${self.M['cap'][-1]},{fc(i, 'Site row')})"
            return f"IF({ld}>0,MIN(1,MAX(0,MAX({cap}-{before},0)/{ld})),0)"

        block("placed", "Share placed (best J/TH first)", "fraction", placed, FMT_NUM4)
        block("units", "Running units", "units",
              lambda i, m, c: f"{fc(i, 'count')}*{c}{C['active'][i]}*{c}{C['placed'][i]}", FMT_NUM0)
        t.section("If running every hour of the month")
        block("th", "Hash output if run", "TH/s-days",
              lambda i, m, c: f"{c}{C['units'][i]}*{fc(i, 'uptime_pct')}/100*{c}{C['ths'][i]}*{c}$7", FMT_NUM0)
        block("e", "Energy if run (with PUE)", "MWh",
              lambda i, m, c: f"{c}{C['units'][i]}*{fc(i, 'uptime_pct')}/100*({fc(i, 'power_w')}*"
                              f"{fc(i, 'Site PUE')}/1E+6)*24*{c}$7", FMT_NUM2)
        block("eth", "Energy per TH/s-day", "MWh per TH/s-day",
              lambda i, m, c: f"IF({c}{C['th'][i]}>0,{c}{C['e'][i]}/{c}{C['th'][i]},0)", "0.000000000")
        block("placed_mw", "Placed load (with PUE)", "MW",
              lambda i, m, c: f"{c}{C['units'][i]}*({fc(i, 'power_w')}*{fc(i, 'Site PUE')}/1E+6)", FMT_NUM4)
        t.section("Capital")
        block("capex", "Purchase capex", "USD",
              lambda i, m, c: f"IF({c}$5={fc(i, 'Delivery index')},{fc(i, 'count')}*{fc(i, 'purchase_price_usd')},0)",
              FMT_USD, True)

        def dep(i, m, c):
            buy, ret, life = fc(i, "Delivery index"), fc(i, "Retire index"), fc(i, "useful_life_months")
            price = f"{fc(i, 'count')}*{fc(i, 'purchase_price_usd')}"
            at_retire = f"AND({c}$5={ret},{ret}>{buy})"
            age_ret = f"IF({buy}>=0,{ret}-{buy},{fc(i, 'age_months')}+{ret})"
            return (f"IF(AND({c}{C['active'][i]}=1,{c}{C['age'][i]}<{life}),{price}/{life},0)"
                    f"+IF({at_retire},{price}*MIN(1,MAX(0,1-{age_ret}/{life})),0)")

        block("dep", "Depreciation, write-off included", "USD", dep, FMT_USD, True)
        t.section("Used-market value (salvage)")
        net = self.R_net

        def unit_value(i, m, c):
            """One unit sold in this month: its TH/s (degraded) x the used-market price of its J/TH at the
            hashprice a buyer prices this month (the halving ahead in it), x the cohort's quote scale."""
            index = asic_unit_value(fc(i, "power_w"), f"{c}{C['ths'][i]}", f"Network!{c}${net['hp_sale']}")
            return f"{index}*{fc(i, 'Salvage quote scale')}"

        per_unit = t.summary_line("Used-market value per unit", "collapsed: + expands")
        block("unit_value", "Used-market value per unit (margin price x quote scale)", "USD", unit_value,
              FMT_USD2)
        self.book.group_rows(ws, per_unit, t.next_row - 1)
        block("salvage", "Salvage proceeds at retirement", "USD",
              lambda i, m, c: f"IF(AND({c}$5={fc(i, 'Retire index')},{fc(i, 'Retire index')}>"
                              f"{fc(i, 'Delivery index')}),{fc(i, 'count')}*IF(ISNUMBER({fc(i, 'sale_price_usd')}),"
                              f"{fc(i, 'sale_price_usd')},{c}{C['unit_value'][i]}),0)",
              FMT_USD, True)
        self.C = C
        t.print_setup()
