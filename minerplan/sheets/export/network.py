"""The Retargets and Network sheets: difficulty epochs and subsidy eras, then the monthly BTC price,
network hashrate, blocks, subsidy, fees and hashprice.

With the trend network every row is a formula (retargets and halvings move with the inputs);
with a network model where hashrate answers hashprice the hashrate and block rows are the
engine's values for the deterministic path (see ``_network_from_engine``).
"""

from __future__ import annotations

import numpy as np

from minerplan.engine.network import HALVING_INTERVAL_BLOCKS, RETARGET_INTERVAL_BLOCKS
from minerplan.engine.valuation import SALE_FORESIGHT_MONTHS
from minerplan.sheets.export.cells import (BOLD, FMT_BTC, FMT_INT, FMT_NUM0, FMT_NUM2, FMT_NUM4,
                                           FMT_SMALL, FMT_TRILLION, FMT_USD, FMT_USD2, header_row, month_col,
                                           put_formula, title)
from minerplan.sheets.export.formulas import BIG
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class NetworkSheets(ExportState):
    """Retargets (one row per difficulty epoch, with the x4 clamp) and Network (per month)."""

    def sheet_retargets(self) -> None:
        """Difficulty epochs: when each retarget happens and the new difficulty (clamped x4 / x0.25)."""
        ws = self.ws["Retargets"]
        title(ws, "Difficulty retargets and subsidy eras",
              "One row per 2016-block epoch. Hashrate follows H0 exp(k t); blocks come faster than 600 s while "
              "hashrate runs ahead of difficulty, so retargets (and the halving) move earlier. Time in seconds "
              "from the start of the first month. The subsidy eras are below the epochs. The epochs after the "
              "horizon (spare rows, for edits that bring blocks sooner) and the eras after it are collapsed row "
              "groups: in the file and calculating, not printed (the + at the left opens them).")
        heads = ("Epoch", "Start height", "Start time [s]", "Epoch clock start [s]", "Difficulty [T]",
                 "Retarget height", "End time [s]", "Adjustment (clamped)")
        header_row(ws, 4, heads, widths=18, wrap=True)
        ws.row_dimensions[4].height = 30
        # Enough epochs for the horizon at twice the engine's block count, plus slack for edits.
        blocks = float(self.res.network.blocks.sum())
        n_epochs = int(np.ceil(blocks / 2016.0 * 2.0)) + 8
        k, h0 = "hashrate_k_per_s", "hashrate_start_hs"
        first = 5
        for e in range(n_epochs):
            r = first + e
            p = r - 1
            if e == 0:
                cells = ("=0", "=block_height_start", "=0",
                         "=-MOD(block_height_start,retarget_interval_blocks)*target_block_time_s",
                         "=difficulty_start", "=(INT(block_height_start/retarget_interval_blocks)+1)"
                                              "*retarget_interval_blocks")
            else:
                cells = (f"=A{p}+1", f"=F{p}", f"=G{p}", f"=G{p}", f"=IF(G{p}>=1E+299,E{p},E{p}*H{p})",
                         f"=F{p}+retarget_interval_blocks")
            for j, f in enumerate(cells):
                put_formula(ws, r, 1 + j, f, (FMT_INT, FMT_NUM0, FMT_NUM0, FMT_NUM0, FMT_TRILLION, FMT_NUM0)[j])
            work = f"(F{r}-B{r})*E{r}*two_pow_32"
            arg = f"(EXP({k}*C{r})+{work}*{k}/{h0})"
            put_formula(ws, r, 7, f"=IF(C{r}>=1E+299,{BIG},IF(ABS({k})<1E-18,C{r}+{work}/{h0},"
                                  f"IF({arg}<=0,{BIG},LN({arg})/{k})))", FMT_NUM0)
            put_formula(ws, r, 8, f"=IF(G{r}>=1E+299,1,MIN(4,MAX(0.25,retarget_interval_blocks*target_block_time_s"
                                  f"/MAX(G{r}-D{r},1E-9))))", FMT_NUM4)
        self.epochs = (first, first + n_epochs - 1)
        # The epochs to the one after the horizon's end print, and the last (the Checks sheet shows how far the
        # table reaches); the spare rows between are collapsed.
        net = self.res.network
        h_start, h_end = float(net.height_start[0][0]), float(net.height_start[0][-1] + net.blocks[0][-1])
        e_end = int(h_end // RETARGET_INTERVAL_BLOCKS) - int(h_start // RETARGET_INTERVAL_BLOCKS)
        self.book.group_rows(ws, first + e_end + 2, self.epochs[1] - 1)
        # Subsidy eras, below the epochs (one table wide, so it prints without empty pages beside it): subsidy per
        # block (integer satoshis halved) and the cumulative subsidy at each era start.
        head = self.epochs[1] + 3
        ws.cell(row=head - 1, column=1, value="Subsidy eras").font = BOLD
        header_row(ws, head, ("Era", "Start height", "Subsidy [BTC/block]", "Cumulative subsidy at start [BTC]"),
                   wrap=True)
        ws.row_dimensions[head].height = 30
        first = head + 1
        for e in range(65):
            r = first + e
            ws.cell(row=r, column=1, value=e)
            put_formula(ws, r, 2, f"=A{r}*halving_interval_blocks", FMT_NUM0)
            put_formula(ws, r, 3, f"=INT(initial_subsidy_sats/2^A{r})/sats_per_btc", FMT_BTC)
            put_formula(ws, r, 4, "=0" if e == 0 else f"=D{r - 1}+halving_interval_blocks*C{r - 1}", FMT_NUM2)
        self.eras = (first, first + 64)
        self.book.group_rows(ws, first + int(h_end // HALVING_INTERVAL_BLOCKS) + 2, self.eras[1])   # ditto, eras
        ws.freeze_panes = "A5"
        self.print_table(ws, title_rows=(4, 4))

    def sheet_network(self) -> None:
        ws = self.ws["Network"]
        title(ws, "Network", "Monthly BTC price, hashrate, blocks, subsidy, fees and hashprice, all formulas of "
                             "the Inputs and the Retargets table.")
        t = TimeSheet(self.book, ws, self.n)
        self.net = t
        a, b = self.epochs
        ea, eb = self.eras
        k, h0 = "hashrate_k_per_s", "hashrate_start_hs"
        R = {}
        t.section("Time")
        R["t0"] = t.row("Time at month start", None, "s",
                        lambda m, c: f"SUM($D$7:{month_col(m - 1)}$7)*seconds_per_day", FMT_NUM0)
        R["t1"] = t.row("Time at month end", None, "s", lambda m, c: f"{c}{R['t0']}+{c}$7*seconds_per_day", FMT_NUM0)
        t.section("Bitcoin price")
        R["price"] = t.row("BTC price", None, "USD/BTC", lambda m, c: self.price_formula(m, c), FMT_USD)
        if self.sc.market.network_model != "trend":
            self._network_from_engine(t, R)
            return
        t.section("Hashrate and blocks")
        R["hashrate"] = t.row(
            "Network hashrate (month average)", None, "EH/s",
            lambda m, c: f"IF(ABS({k})<1E-18,{h0},{h0}*(EXP({k}*{c}{R['t1']})-EXP({k}*{c}{R['t0']}))"
                         f"/({k}*({c}{R['t1']}-{c}{R['t0']})))/1E+18", FMT_NUM2)
        epoch = f"MATCH({{c}}{R['t1']},Retargets!$C${a}:$C${b},1)"

        def height_end(m, c):
            j = epoch.format(c=c)
            hs = f"INDEX(Retargets!$B${a}:$B${b},{j})"
            ts = f"INDEX(Retargets!$C${a}:$C${b},{j})"
            d = f"INDEX(Retargets!$E${a}:$E${b},{j})"
            tt = f"{c}{R['t1']}"
            return (f"{hs}+IF(ABS({k})<1E-18,{h0}*({tt}-{ts}),{h0}*(EXP({k}*{tt})-EXP({k}*{ts}))/{k})"
                    f"/({d}*two_pow_32)")

        R["h0"] = t.row("Block height at month start", None, "blocks",
                        lambda m, c: f"IF({c}$5=0,block_height_start,{month_col(m - 1)}{t.current_row + 1})", FMT_NUM0)
        R["h1"] = t.row("Block height at month end", None, "blocks", height_end, FMT_NUM0)
        R["blocks"] = t.row("Blocks found", None, "blocks", lambda m, c: f"{c}{R['h1']}-{c}{R['h0']}", FMT_NUM2,
                            total=True)

        def cum_subsidy(h):
            era = f"MIN(INT({h}/halving_interval_blocks),64)"
            return (f"(INDEX(Retargets!$D${ea}:$D${eb},{era}+1)+({h}-{era}*halving_interval_blocks)"
                    f"*INDEX(Retargets!$C${ea}:$C${eb},{era}+1))")

        R["subsidy"] = t.row("Block subsidy (average)", None, "BTC/block",
                             lambda m, c: f"IF({c}{R['blocks']}>0,({cum_subsidy(c + str(R['h1']))}-"
                                          f"{cum_subsidy(c + str(R['h0']))})/{c}{R['blocks']},0)", FMT_BTC)
        R["difficulty"] = t.row(
            "Difficulty (block-weighted average)", None, "T (10^12)",
            lambda m, c: f"IF({c}{R['blocks']}>0,{c}{R['hashrate']}*1E+18*({c}{R['t1']}-{c}{R['t0']})/two_pow_32/"
                         f"{c}{R['blocks']},difficulty_start)", FMT_TRILLION)
        self._network_tail(t, R)

    def _network_tail(self, t: TimeSheet, R: dict) -> None:
        """Fees, blocks per day and hashprice: formulas in both network variants."""
        R["fees"] = t.row("Transaction fees per block", None, "BTC/block",
                          lambda m, c: f"fees_btc_per_block*(1+fee_growth_pct_per_month/100)^{c}$5", FMT_BTC)
        R["bpd"] = t.row("Blocks per day", None, "blocks/day", lambda m, c: f"{c}{R['blocks']}/{c}$7", FMT_NUM2)
        t.section("Hashprice: what one unit of hashrate earns")
        R["hp_btc"] = t.row("Hashprice", None, "BTC per TH/s-day",
                            lambda m, c: f"{c}{R['bpd']}*({c}{R['subsidy']}+{c}{R['fees']})/({c}{R['hashrate']}*1E+6)",
                            FMT_SMALL)
        R["hp_btc_ph"] = t.row("Hashprice", None, "BTC per PH/s-day",
                               lambda m, c: f"{c}{R['hp_btc']}*1000", "0.000000")
        R["hp_usd"] = t.row("Hashprice", None, "USD per TH/s-day",
                            lambda m, c: f"{c}{R['price']}*{c}{R['hp_btc']}", "0.000000")
        R["hp_usd_ph"] = t.row("Hashprice", None, "USD per PH/s-day",
                               lambda m, c: f"{c}{R['hp_usd']}*1000", FMT_USD2)
        n = self.n

        def halving_ahead(m, c):
            last = month_col(min(m + SALE_FORESIGHT_MONTHS, n) - 1)
            sub = R["subsidy"]
            return f"IF({c}{sub}>0,AVERAGE({c}{sub}:{last}{sub})/{c}{sub},1)"

        R["halving_ahead"] = t.row(f"Halving ahead: mean subsidy of the next {SALE_FORESIGHT_MONTHS} months / "
                                   "this month's", None, "x", halving_ahead, "0.0000")
        R["hp_sale"] = t.row("Hashprice a used-ASIC buyer prices (x halving ahead)", None, "USD per TH/s-day",
                             lambda m, c: f"{c}{R['hp_usd']}*{c}{R['halving_ahead']}", "0.000000")
        self.R_net = R
        t.print_setup()

    def _network_from_engine(self, t: TimeSheet, R: dict) -> None:
        """Network rows as the engine's values when hashrate answers hashprice (not in formulas).

        The supply and capitulation network models make hashrate answer each
        path's hashprice month by month, with retargets in between: the
        workbook takes those series from the engine for the deterministic
        path (grey, labelled), and everything downstream stays live formulas.
        Changing the BTC price input then moves revenue but not the network.
        """
        net = self.res.network
        t.section("Hashrate and blocks", f"values from the engine's {self.sc.market.network_model} network model "
                                         "(they do not recalculate: export again after changing market inputs)")
        R["hashrate"] = t.values_row("Network hashrate (month average)", None, "EH/s", net.network_hashrate_ehs[0],
                                     FMT_NUM2)
        R["h0"] = t.values_row("Block height at month start", None, "blocks", net.height_start[0], FMT_NUM0)
        R["blocks"] = t.values_row("Blocks found", None, "blocks", net.blocks[0], FMT_NUM2, total=True)
        R["subsidy"] = t.values_row("Block subsidy (average)", None, "BTC/block", net.subsidy_btc[0], FMT_BTC)
        R["difficulty"] = t.values_row("Difficulty (block-weighted average)", None, "T (10^12)", net.difficulty[0],
                                       FMT_TRILLION)
        self._network_tail(t, R)
