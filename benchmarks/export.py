"""Benchmark: writing the plan workbook (``minerplan export``) for 60 months x 10 sites.

Run with ``.venv/bin/python benchmarks/export.py`` (or ``make bench``).

The case, built here in code with a fixed seed: 60 months, 10 sites of
50-200 MW at 30-70 USD/MWh (one with a 12x24 hourly price profile, three with
a take-or-pay minimum, one converting 30 MW to AI/HPC colocation), three ASIC
cohorts per site from ``assets/asic_catalog.csv``. The export is the CLI's
default: the deterministic engine run, 500 Monte Carlo paths for the
Scenarios sheet, every sheet with its formulas, and the atomic save.

Target: the whole export <= 1 s (best of 5 after a warm-up). The baseline,
measured in the same run, is openpyxl saving a workbook with the same number
of cells as plain numbers (no formulas, styles or names): the ratio says how
much the model's structure costs over the bare file format.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from minerplan.scenario.catalog import load_catalog  # noqa: E402
from minerplan.scenario.files import scenario_from_dict  # noqa: E402
from minerplan.sheets.export.workbook import export_workbook  # noqa: E402

N_MONTHS = 60
N_SITES = 10
COHORTS_PER_SITE = 3
TARGET_S = 1.0
REPEATS = 5


def build_case(seed: int = 7):
    rng = np.random.default_rng(seed)
    catalog = list(load_catalog().values())
    sites, fleet = [], []
    for s in range(N_SITES):
        cap = float(rng.uniform(50, 200))
        site = {"name": f"Site {s + 1:02d}", "capacity_mw": round(cap, 1),
                "power_price_usd_per_mwh": round(float(rng.uniform(30, 70)), 2), "pue": 1.05,
                "curtailment_credit_usd_per_mwh": 3.0 if s % 3 == 0 else 0.0,
                "take_or_pay_mwh_per_month": round(cap * 0.4 * 730, 0) if s in (1, 4, 7) else 0.0,
                "mining_opex_usd_per_mw_month": 4500}
        if s == 0:
            shape = np.array([0.75] * 6 + [0.9, 1.15, 1.2, 1.0, 0.95, 0.95, 1.0, 1.0, 1.05, 1.1, 1.2, 1.45, 1.6,
                                           1.5, 1.3, 1.05, 0.9, 0.8])
            site["hourly_price_usd_per_mwh"] = [list(np.round(site["power_price_usd_per_mwh"] * shape
                                                              * rng.uniform(0.9, 1.1, 24), 2)) for _ in range(12)]
        if s == 9:
            site["ai"] = {"convertible_gross_mw": 60.0}
        sites.append(site)
        per = cap / 1.05 * 0.9 / COHORTS_PER_SITE
        for k in range(COHORTS_PER_SITE):
            m = catalog[int(rng.integers(len(catalog)))]
            fleet.append({"model": m.model, "count": float(int(per * 1e6 / m.power_w)), "hashrate_ths": m.hashrate_ths,
                          "power_w": m.power_w, "site": site["name"], "purchase_price_usd": m.unit_price_usd,
                          "age_months": int(rng.integers(0, 36)), "salvage_usd": 300.0})
    d = {"schema_version": 1, "name": "Export benchmark", "start_month": "2025-12", "horizon_months": N_MONTHS,
         "market": {"btc_price_usd": 91500, "difficulty": 1.52e14, "block_height": 925000},
         "sites": sites, "fleet": fleet,
         "conversion_plan": [{"site": "Site 10", "gross_mw": 30, "start_month": "2026-06"}],
         "finance": {"g_and_a_usd_per_month": 1_500_000}}
    return scenario_from_dict(d, "benchmark")


def baseline_s(n_cells: int, path: Path) -> float:
    """openpyxl writing ``n_cells`` plain numbers in rows of 64."""
    t0 = time.perf_counter()
    wb = Workbook()
    ws = wb.active
    row = list(range(64))
    for _ in range(n_cells // 64):
        ws.append(row)
    wb.save(path)
    return time.perf_counter() - t0


def main() -> int:
    sc = build_case()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.xlsx"
        rep = export_workbook(sc, out)  # warm-up
        times = []
        for _ in range(REPEATS):
            times.append(export_workbook(sc, out).seconds)
        base = min(baseline_s(rep.cells, Path(tmp) / "plain.xlsx") for _ in range(3))
    best = min(times)
    print(f"export, {N_MONTHS} months x {N_SITES} sites x {COHORTS_PER_SITE} cohorts, 500 MC paths: "
          f"best {best:.3f} s, median {statistics.median(times):.3f} s (target <= {TARGET_S:.1f} s) "
          f"{'OK' if best <= TARGET_S else 'SLOW'}")
    print(f"  {len(rep.sheets)} sheets, {rep.cells:,} cells in the used ranges, file {out.name}")
    print(f"  baseline (openpyxl, the same number of plain numeric cells): {base:.3f} s; "
          f"export / baseline = {best / base:.2f}")
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
