"""The Scenarios sheet: Monte Carlo percentiles and the NPV distribution, as values computed at export.
"""

from __future__ import annotations

import numpy as np

from minerplan.analysis import vocabulary
from minerplan.sheets.export.cells import (FIRST_MONTH_COL, FMT_BTC, FMT_PCT, FMT_USD, FMT_USD2, WRAP_LABEL,
                                           put_value, title)
from minerplan.sheets.export.printing import ROW_PT, wrapped_lines
from minerplan.sheets.export.state import ExportState
from minerplan.sheets.export.time_sheet import TimeSheet


class ScenariosSheet(ExportState):
    """Scenarios: values, not formulas (they do not recalculate)."""

    def sheet_scenarios(self) -> None:
        mc = self.mc
        self.mc_npv_rows: dict[str, int] = {}   # NPV statistic label -> row (the Summary links to them)
        if mc is None:   # no Monte Carlo run (--paths 0): no sheet, rather than one that prints a blank page
            return
        ws = self.ws["Scenarios"]
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
                  ("Hashprice", "USD per PH/s-day", mc.hashprice_usd_per_th_day * 1000.0, FMT_USD2),
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
        n = npv.size
        tail = np.sort(npv)[:max(1, int(np.ceil(0.05 * n)))]
        named = {5: vocabulary.p5_npv(n), 50: vocabulary.median_npv(n), 95: vocabulary.p95_npv(n)}
        stats = [(vocabulary.expected_npv(n), float(npv.mean()), "USD")]
        stats += [(named.get(p, f"P{p} NPV (of {vocabulary.paths_text(n)})"), float(np.percentile(npv, p)), "USD")
                  for p in pct]
        stats += [(f"NPV CVaR 95% (mean of the worst 5% of {vocabulary.paths_text(n)})", float(tail.mean()), "USD"),
                  ("Probability NPV < 0", float((npv < 0).mean()), "fraction")]
        self.mc_npv_rows = {}
        for label, v, unit in stats:
            r = t.next_row
            ws.cell(row=r, column=1, value=vocabulary.capitalized(label)).alignment = WRAP_LABEL
            ws.row_dimensions[r].height = ROW_PT * wrapped_lines(label, ws.column_dimensions["A"].width)
            ws.cell(row=r, column=3, value=unit)
            put_value(ws, r, 4, v, FMT_PCT if unit == "fraction" else FMT_USD)
            self.mc_npv_rows[label] = r
            t.next_row += 1
        t.print_setup()
