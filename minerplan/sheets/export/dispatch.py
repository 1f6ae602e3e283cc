"""The Dispatch sheet: which cohort-hours run at each site, and the exact take-or-pay fill.

Per site, the per-slot rows (eleven per slot: 528 at a site with two hourly-priced cohorts) come first, in a
collapsed row group under the site's heading, then the site totals the Mining sheet links to. Collapsed rows
do not print (a bank printing the model got 170 pages of cohort-hours), yet they are in the file, calculate,
and open with the + beside the heading.
"""

from __future__ import annotations

from minerplan.sheets.export.cells import (FMT_INT, FMT_NUM0, FMT_NUM2, FMT_NUM4, GREEN, put_formula,
                                           ref, title)
from minerplan.sheets.export.formulas import BIG
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


SLOT_ROWS = 11   # the blocks of one row per slot (price, output, energy, breakevens, runs, costs, share run)
SITE_TOTALS = ("need", "e_plain", "e_pre", "mode", "lam", "e_full", "e_tied", "frac", "th", "e", "cost_usd")


class DispatchSheet(ExportState):
    """Dispatch: per site, one block of rows per operating slot, then the site totals."""

    def sheet_dispatch(self) -> None:
        """Operating slots (cohort x hour bucket) per site: which run, and the take-or-pay fill."""
        sc, ws = self.sc, self.ws["Dispatch"]
        title(ws, "Dispatch: which machines run, hour by hour",
              "A slot is one cohort in one hour-of-day bucket (24 buckets at a site with an hourly profile, one "
              "otherwise). It runs when the hashprice covers its energy: breakeven = (price + curtailment credit) x "
              "MWh per TH/s-day / (1 - pool fee). Under take-or-pay, energy below the minimum is prepaid: the "
              "prepaid breakeven subtracts the contract price; when neither plain nor prepaid dispatch is optimal "
              "the site draws exactly the minimum, cheapest slots first (the marginal cost lambda). The per-slot "
              "rows are in collapsed row groups (in the file and calculating, not printed): the + beside a site's "
              "heading opens them.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network", name_chars=self.name_chars)
        net = self.R_net
        hp = lambda c: f"Network!{c}${net['hp_usd']}"  # noqa: E731
        self.D = {}
        for s, site in enumerate(sc.sites):
            cohorts = [i for i, c in enumerate(sc.fleet) if c.site == site.name]
            if not cohorts:
                continue
            nb = 24 if s in self.profile_sites else 1
            slots = [(i, h) for i in cohorts for h in range(nb)]
            labels = [f"{sc.fleet[i].model} #{i + 1}" + (f" H{h:02d}" if nb > 1 else "") for i, h in slots]
            t.section(f"Site {s + 1}", "")
            put_formula(ws, t.next_row - 1, 2, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            detail = t.next_row   # the per-slot rows' group, under the site's heading (its summary row)
            credit = self.site_cell(s, "curtailment_credit_usd_per_mwh")
            contract = self.site_cell(s, "power_price_usd_per_mwh")
            curtail = f'({self.site_cell(s, "curtailment_enabled")}<>"no")'
            top = self.site_cell(s, "take_or_pay_mwh_per_month")
            B = {}

            def block(key, lab, unit, fn, fmt=FMT_NUM2):
                B[key] = t.rows(lab, labels, unit, fn, fmt)

            def coh(key, j, c):
                return f"Cohorts!{c}${self.C[key][slots[j][0]]}"

            if nb == 1:
                block("p", "Energy price", "USD/MWh", lambda j, m, c: contract)
            else:
                rng = self.profile_range[s]
                block("p", "Energy price", "USD/MWh", lambda j, m, c: f"INDEX({rng},{c}$6,{slots[j][1] + 1})")
            block("th", "Hash output if run", "TH/s-days", lambda j, m, c: f"{coh('th', j, c)}/{nb}", FMT_NUM0)
            block("e", "Energy if run", "MWh", lambda j, m, c: f"{coh('e', j, c)}/{nb}")
            block("be", "Breakeven hashprice", "USD per TH/s-day",
                  lambda j, m, c: f"IF({c}{B['th'][j]}>0,IF({curtail},({c}{B['p'][j]}+{credit})*{coh('eth', j, c)}"
                                  f"/net_share,-{BIG}),{BIG})", "0.000000")
            block("be_pre", "Breakeven hashprice, energy prepaid", "USD per TH/s-day",
                  lambda j, m, c: f"IF({c}{B['th'][j]}>0,IF({curtail},({c}{B['p'][j]}-{contract}+{credit})*"
                                  f"{coh('eth', j, c)}/net_share,-{BIG}),{BIG})", "0.000000")
            block("run", "Runs (plain dispatch)", "1/0", lambda j, m, c: f"IF({c}{B['be'][j]}<={hp(c)},1,0)", FMT_INT)
            block("run_pre", "Runs (energy prepaid)", "1/0",
                  lambda j, m, c: f"IF({c}{B['be_pre'][j]}<={hp(c)},1,0)", FMT_INT)
            block("cost", "Net cost of running", "USD/MWh",
                  lambda j, m, c: f"IF({coh('eth', j, c)}>0,IF({curtail},{c}{B['p'][j]}+{credit}-{hp(c)}*net_share/"
                                  f"{coh('eth', j, c)},-{BIG}),{BIG})")
            block("cum", "Energy of slots at or below this cost", "MWh",
                  lambda j, m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}<={c}{B['cost'][j]}),"
                                  f"{t.range_in(B['e'], c)})")
            # The site totals sit below the last two slot blocks, a blank line and a heading; those two blocks use them.
            first_total = t.next_row + 2 * len(labels) + 2
            T = {key: first_total + k for k, key in enumerate(SITE_TOTALS)}
            block("cand", "Cost if it reaches the minimum", "USD/MWh",
                  lambda j, m, c: f"IF({c}{B['cum'][j]}>={c}{T['need']},{c}{B['cost'][j]},{BIG})")
            block("share", "Share of the slot run", "fraction",
                  lambda j, m, c: f"IF({c}${T['mode']}=1,{c}{B['run'][j]},IF({c}${T['mode']}=2,"
                                  f"{c}{B['run_pre'][j]},IF({c}{B['cost'][j]}<{c}${T['lam']},1,"
                                  f"IF({c}{B['cost'][j]}={c}${T['lam']},{c}${T['frac']},0))))", FMT_NUM4)
            assert len(B) == SLOT_ROWS, len(B)
            S = {}
            t.section("Site totals", "")   # in the group: a heading between the open detail and the totals
            self.book.group_rows(ws, detail, t.next_row - 1)
            put_formula(ws, t.next_row - 1, 2, "=" + ref("Sites", f"$A${self.tr(s)}"), font=GREEN)
            S["need"] = t.row("Take-or-pay minimum left to mining", None, "MWh",
                              lambda m, c: f"{top}-INDEX('AI-HPC'!{c}${self.A['site_energy'][0]}:"
                                           f"{c}${self.A['site_energy'][-1]},{s + 1})")
            S["e_plain"] = t.row("Energy, plain dispatch", None, "MWh",
                                 lambda m, c: f"SUMPRODUCT({t.range_in(B['run'], c)},{t.range_in(B['e'], c)})")
            S["e_pre"] = t.row("Energy, prepaid dispatch", None, "MWh",
                               lambda m, c: f"SUMPRODUCT({t.range_in(B['run_pre'], c)},{t.range_in(B['e'], c)})")
            S["mode"] = t.row("Dispatch used (1 plain, 2 prepaid, 3 fill to the minimum)", None, "-",
                              lambda m, c: f"IF(AND({top}>0,{c}{S['e_pre']}<={c}{S['need']}),2,"
                                           f"IF(AND({top}>0,{c}{S['e_plain']}<{c}{S['need']}),3,1))", FMT_INT)
            S["lam"] = t.row("Marginal cost lambda (fill)", None, "USD/MWh",
                             lambda m, c: f"MIN({t.range_in(B['cand'], c)})")
            S["e_full"] = t.row("Energy of slots below lambda", None, "MWh",
                                lambda m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}<{c}{S['lam']}),"
                                             f"{t.range_in(B['e'], c)})")
            S["e_tied"] = t.row("Energy of slots at lambda", None, "MWh",
                                lambda m, c: f"SUMPRODUCT(--({t.range_in(B['cost'], c)}={c}{S['lam']}),"
                                             f"{t.range_in(B['e'], c)})")
            S["frac"] = t.row("Share of the marginal slots run", None, "fraction",
                              lambda m, c: f"IF({c}{S['e_tied']}>0,MIN(1,MAX(0,({c}{S['need']}-{c}{S['e_full']})/"
                                           f"{c}{S['e_tied']})),0)", FMT_NUM4)
            w = lambda c: t.range_in(B["share"], c)  # noqa: E731
            S["th"] = t.row("Hash output run", None, "TH/s-days",
                            lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['th'], c)})", FMT_NUM0)
            S["e"] = t.row("Energy drawn by mining", None, "MWh",
                           lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['e'], c)})")
            S["cost_usd"] = t.row("Energy cost of mining", None, "USD",
                                  lambda m, c: f"SUMPRODUCT({w(c)},{t.range_in(B['e'], c)},{t.range_in(B['p'], c)})")
            assert S == T, (S, T)
            self.D[s] = S
        t.print_setup()
