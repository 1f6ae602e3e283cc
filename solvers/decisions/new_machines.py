"""What one machine delivered inside the horizon does: shared by purchases and the arrival side of moves.

:func:`new_machine_columns` values cohorts of count 1 (a catalog machine bought, or a moved machine
as it arrives at its new site) with the engine's building blocks: its NPV per path (mining margin
less opex, depreciation's tax shield, capex, the resale value at the horizon's end), its cash flow
per liquidity view and month, its taxable income per path and year, the gross MW it takes from its
site from delivery, its capex by calendar year and its gross MW per unit. USD, gross MW.
"""

from __future__ import annotations

import numpy as np

from minerplan.engine.fleet import fleet_arrays
from minerplan.engine.unit_economics import UnitSpec, unit_margins

from .economics import Economics


def new_machine_columns(eco: Economics, cohorts: list) -> list[dict]:
    """Per cohort (count 1): ``coef`` [P], ``cf`` [W, M], ``ti`` [P, Y] (None outside carry-forward mode),
    ``cap`` [S, M], ``capex_year`` [Y] and ``load_mw`` (gross MW per unit)."""
    if not cohorts:
        return []
    sc, r, df, pue = eco.sc, eco.tax_rate, eco.df, eco.pue
    fnew = fleet_arrays(sc.model_copy(update={"fleet": cohorts}), eco.big_cap)
    spec_n = UnitSpec(fnew.site, fnew.power_w_per_unit, fnew.uptime, fnew.hashrate_ths_per_unit, fnew.active)
    umn = unit_margins(sc, spec_n, eco.net, eco.prices, margin_only=True)
    opex_n = (eco.opex_mw[fnew.site] * fnew.power_w_per_unit * pue[fnew.site] / 1e6)[None, :] * fnew.active
    mining_n = np.einsum("pmk,m->pk", umn.margin_usd - opex_n[None], df)
    det_n = (df @ (r * fnew.depreciation_usd - fnew.capex_usd))[None, :] + eco.residual(fnew)      # [P, K]
    load_n = fnew.power_w_per_unit * pue[fnew.site] / 1e6
    mn_w = np.einsum("wp,pmk->wmk", eco.W, umn.margin_usd - opex_n[None])                  # [view, M, K]
    det_n_month = r * fnew.depreciation_usd - fnew.capex_usd                                 # [M, K]
    out = []
    for k in range(len(cohorts)):
        cap = np.zeros((eco.n_s, eco.n_m))
        cap[fnew.site[k]] = load_n[k] * fnew.active[:, k]
        out.append(dict(cf=(1 - r) * mn_w[:, :, k] + det_n_month[None, :, k],
                        ti=(((umn.margin_usd[:, :, k] - opex_n[None, :, k]) - fnew.depreciation_usd[None, :, k])
                            @ eco.to_year) if eco.carryforward else None,
                        coef=(1 - r) * mining_n[:, k] + det_n[:, k], cap=cap,
                        capex_year=fnew.capex_usd[:, k] @ eco.to_year, load_mw=float(load_n[k])))
    return out
