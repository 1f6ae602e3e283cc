"""The Scenarios sheet: Monte Carlo percentiles and the NPV distribution, as values computed at export.
"""

from __future__ import annotations

import numpy as np

from minerplan.sheets.export.cells import (FIRST_MONTH_COL, FMT_BTC, FMT_PCT, FMT_USD, FMT_USD2, print_setup,
                                           put_value, title)
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class ScenariosSheet(ExportState):
    """Scenarios: values, not formulas (they do not recalculate)."""

    def sheet_scenarios(self) -> None:
        ws = self.ws["Scenarios"]
        mc = self.mc
        if mc is None:
            title(ws, "Scenarios", "No Monte Carlo run was requested for this export (--paths 0).")
            return
        sc = self.sc
        title(ws, "Monte Carlo percentiles (values, not formulas)",
              f"VALUES from {mc.n_paths:,} price paths ({sc.monte_carlo.model} model around the entered path, "
              + ("which is the median path: drift of the mean " if sc.monte_carlo.centred_on_median else "drift ")
              + f"{sc.monte_carlo.drift_value_pct_per_year:.3g}%/yr, volatility "
              f"{sc.monte_carlo.volatility_pct_per_year:g}%/yr, seed {self.mc_seed}) computed by the MinerPlan engine "
              "at export. P50 is the median; they do not recalculate when inputs change: export again for new ones.")
        t = TimeSheet(self.book, ws, self.n, header_from="Network")
        pct = (5, 25, 50, 75, 95)
        series = (("BTC price", "USD/BTC", mc.btc_price_usd, FMT_USD),
                  ("Hashprice", "USD per PH/s per day", mc.hashprice_usd_per_th_day * 1000.0, FMT_USD2),
                  ("BTC mined", "BTC", mc.btc_mined.sum(axis=2), FMT_BTC),
                  ("EBITDA", "USD", mc.ebitda_usd.sum(axis=2) - mc.g_and_a_usd[None, :], FMT_USD),
                  ("Net cash flow", "USD", mc.net_cash_flow_usd, FMT_USD))
        for label, unit, arr, fmt in series:
            t.section(label)
            q = np.percentile(arr, pct, axis=0)
            for k, p in enumerate(pct):
                r = t.next_row
                ws.cell(row=r, column=1, value=f"{label}, P{p}")
                ws.cell(row=r, column=3, value=unit)
                for m in range(self.n):
                    put_value(ws, r, FIRST_MONTH_COL + m, float(q[k, m]), fmt)
                t.next_row += 1
        t.section("NPV distribution")
        npv = mc.npv_usd
        tail = np.sort(npv)[:max(1, int(np.ceil(0.05 * npv.size)))]
        stats = [("Mean", float(npv.mean()))] + [(f"P{p}", float(np.percentile(npv, p))) for p in pct] + [
            ("CVaR 95% (mean of the worst 5% of paths)", float(tail.mean())),
            ("Probability NPV < 0", float((npv < 0).mean()))]
        for label, v in stats:
            r = t.next_row
            ws.cell(row=r, column=1, value=f"NPV {label}" if not label.startswith("Prob") else label)
            ws.cell(row=r, column=3, value="fraction" if label.startswith("Prob") else "USD")
            put_value(ws, r, 4, v, FMT_PCT if label.startswith("Prob") else FMT_USD)
            t.next_row += 1
        print_setup(ws, title_rows="4:7", title_cols="A:D")
