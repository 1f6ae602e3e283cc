"""The Mining sheet: per site and month, the capacity left for mining, BTC mined, revenue, energy,
curtailment, take-or-pay, opex and EBITDA.
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (FIRST_DATA_ROW, FMT_BTC, FMT_NUM0, FMT_NUM2, FMT_USD,
                                           ref, title)
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class MiningSheet(ExportState):
    """Mining: one block of rows per quantity, one row per site."""

    def mining_rows_reserved(self) -> None:
        """Mining's capacity rows are referenced by Cohorts before Mining is written: fix their rows first."""
        self.M = {"cap": [FIRST_DATA_ROW + 1 + s for s in range(self.n_sites)]}

    def sheet_mining(self) -> None:
        sc, ws = self.sc, self.ws["Mining"]
        title(ws, "Mining by site", "Per site and month: capacity left for mining, BTC mined, revenue, energy, "
                                    "curtailment, take-or-pay and opex.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network", name_chars=self.name_chars)
        net = self.R_net
        names = [s.name for s in sc.sites]
        lab = lambda s: "=" + ref("Sites", f"$A${self.tr(s)}")  # noqa: E731
        M = self.M
        A = self.A

        def ai(key, s, c):
            return f"'AI-HPC'!{c}${A[key][s]}"

        t.section("Capacity")
        cap = t.rows("Capacity left for mining", names, "MW",
                     lambda s, m, c: f"MAX({self.site_cell(s, 'capacity_mw')}-{ai('site_converted', s, c)},0)",
                     FMT_NUM2, item_formula=lab)
        assert cap == M["cap"], (cap, M["cap"])

        def disp(key, s, c):
            return f"Dispatch!{c}{self.D[s][key]}" if s in self.D else "0"

        site_col = self.fleet_range(self.fleet_col["site"])

        def by_site(block, s, c):
            if self.n_coh == 0:
                return "0"
            rows = self.C[block]
            return (f"SUMPRODUCT(--({site_col}={self.site_cell(s, 'name')}),"
                    f"Cohorts!{c}{rows[0]}:{c}{rows[-1]})")

        t.section("Bitcoin")
        M["th"] = t.rows("Hash output run", names, "TH/s-days", lambda s, m, c: disp("th", s, c), FMT_NUM0,
                         item_formula=lab)
        M["btc"] = t.rows("BTC mined (after pool fee)", names, "BTC",
                          lambda s, m, c: f"{c}{M['th'][s]}*Network!{c}${net['hp_btc']}*net_share", FMT_BTC, True,
                          item_formula=lab)
        M["rev"] = t.rows("Mining revenue", names, "USD",
                          lambda s, m, c: f"{c}{M['btc'][s]}*Network!{c}${net['price']}", FMT_USD, True,
                          item_formula=lab)
        t.section("Energy")
        M["e"] = t.rows("Energy drawn by mining", names, "MWh", lambda s, m, c: disp("e", s, c), FMT_NUM0, True,
                        item_formula=lab)
        M["cost"] = t.rows("Mining energy cost", names, "USD", lambda s, m, c: disp("cost_usd", s, c), FMT_USD, True,
                           item_formula=lab)
        M["e_all"] = t.rows("Energy if every placed machine ran", names, "MWh", lambda s, m, c: by_site("e", s, c),
                            FMT_NUM0, item_formula=lab)
        M["curtailed"] = t.rows("Energy curtailed", names, "MWh",
                                lambda s, m, c: f"MAX({c}{M['e_all'][s]}-{c}{M['e'][s]},0)", FMT_NUM0, True,
                                item_formula=lab)
        M["credit"] = t.rows("Curtailment credit", names, "USD",
                             lambda s, m, c: f"{c}{M['curtailed'][s]}*"
                                             f"{self.site_cell(s, 'curtailment_credit_usd_per_mwh')}", FMT_USD, True,
                             item_formula=lab)
        M["shortfall"] = t.rows(
            "Take-or-pay shortfall paid", names, "USD",
            lambda s, m, c: f"MAX({self.site_cell(s, 'take_or_pay_mwh_per_month')}-{c}{M['e'][s]}-"
                            f"{ai('site_energy', s, c)},0)*{self.site_cell(s, 'power_price_usd_per_mwh')}",
            FMT_USD, True, item_formula=lab)

        def avg_price(s, c):
            if s in self.profile_sites:
                return f"AVERAGE(INDEX({self.profile_range[s]},{c}$6,0))"
            return self.site_cell(s, "power_price_usd_per_mwh")

        M["avg_price"] = t.rows("Average energy price (flat load)", names, "USD/MWh",
                                lambda s, m, c: avg_price(s, c), FMT_NUM2, item_formula=lab)
        M["ai_power"] = t.rows("AI/HPC energy paid by the miner", names, "USD",
                               lambda s, m, c: f"{ai('site_paid', s, c)}*{c}{M['avg_price'][s]}", FMT_USD, True,
                               item_formula=lab)
        t.section("Opex and EBITDA")
        M["installed"] = t.rows("Installed ASIC load (with PUE), before fitting the capacity", names, "MW",
                                lambda s, m, c: by_site("load", s, c), FMT_NUM2, item_formula=lab)
        M["load"] = t.rows("Placed ASIC load (with PUE)", names, "MW", lambda s, m, c: by_site("placed_mw", s, c),
                           FMT_NUM2, item_formula=lab)
        M["opex"] = t.rows("Mining opex", names, "USD",
                           lambda s, m, c: f"{c}{M['load'][s]}*{self.site_cell(s, 'mining_opex_usd_per_mw_month')}",
                           FMT_USD, True, item_formula=lab)
        M["ebitda"] = t.rows(
            "Site EBITDA (before G&A)", names, "USD",
            lambda s, m, c: f"{c}{M['rev'][s]}+{c}{M['credit'][s]}+{ai('site_revenue', s, c)}-{c}{M['cost'][s]}-"
                            f"{c}{M['shortfall'][s]}-{c}{M['ai_power'][s]}-{c}{M['opex'][s]}-{ai('site_opex', s, c)}",
            FMT_USD, True, item_formula=lab)
        t.print_setup()
