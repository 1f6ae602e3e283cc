"""Conversion candidates: gross MW (or whole halls) of a site starting AI/HPC conversion in a month.

One variable per site with convertible MW left (beyond the signed conversions), business model
(colocation, GPU cloud) and start month. Its effect is deterministic (the same on every path)
except a GPU cloud hall's revenue when GPU rental prices are random. Per unit (one MW, or one hall
of ``hall_critical_mw`` critical MW): the NPV of its cash at the company's rate, adjusted to the
conversion class's own rate (:func:`minerplan.engine.ai.conversion_effect`) and its value past the
horizon; the gross MW it takes from the site from its start; its capex by calendar year; its cash
flow per liquidity view and month; its taxable income per year. USD, gross MW.
"""

from __future__ import annotations

import numpy as np

from minerplan.engine.ai import conversion_effect
from minerplan.scenario.fields import BUSINESS_MODELS

from .columns import Columns
from .economics import Economics


def add_conversions(eco: Economics, cols: Columns) -> None:
    """Append the conversion candidates of every decided site with room left to ``cols``."""
    sc, st = eco.sc, eco.st
    n_m, n_s, n_p = eco.n_m, eco.n_s, eco.n_p
    r, r_tv, df, W, gpu_dev = eco.tax_rate, eco.tax_rate_statutory, eco.df, eco.W, eco.gpu_dev
    converted_fixed = eco.ai.converted_gross_mw[-1] if n_m else np.zeros(n_s)
    for s, site in enumerate(sc.sites):
        if site.ai is None or not eco.decided[s]:
            continue
        room = site.ai.convertible_gross_mw - converted_fixed[s]
        if room <= 1e-9:
            continue
        gross_per_hall = (st.hall_critical_mw / site.ai.critical_mw_per_gross_mw) if st.hall_critical_mw else None
        scale = gross_per_hall or 1.0
        ub = np.floor(room / scale + 1e-9) if gross_per_hall else room
        if ub <= 0:
            continue
        starts = np.arange(n_m)
        for model in BUSINESS_MODELS:
            eff = conversion_effect(sc, s, starts, 1.0, model, eco.days)            # fields [start, month]
            ebitda = eff.revenue_usd - eff.opex_usd - eff.energy_paid_by_miner_mwh * eco.avg_price[None, :, s]
            cf_unit = (1 - r) * ebitda + r * eff.depreciation_usd - eff.capex_usd     # [start, month] per MW
            # Pre-tax cash at the conversion's class rate (tax stays at the company's), and the value past the
            # horizon at that rate.
            df_class = (1.0 + eff.monthly_discount_rate) ** -(np.arange(n_m) + 1.0)
            npv = cf_unit @ df + (ebitda - eff.capex_usd) @ (df_class - df)
            npv = npv + (1 - r_tv) * eff.after_horizon_usd * df_class[-1]
            capex_y = (eff.capex_usd * scale) @ eco.to_year                           # [start, year]
            cf_conv = cf_unit * scale
            ti_conv = ((ebitda - eff.depreciation_usd) * scale) @ eco.to_year         # [start, year]
            gpu_paths = gpu_dev is not None and model == "gpu_cloud"
            for t in range(n_m):
                extra = eff.revenue_usd[t][None, :] * scale * gpu_dev if gpu_paths else None   # [path, month]
                if extra is None:
                    cf = np.broadcast_to(cf_conv[t], (eco.n_w, n_m))
                else:
                    cf = cf_conv[t][None, :] + (1 - r) * (W @ extra)
                ti = None
                if eco.carryforward:
                    ti = (np.broadcast_to(ti_conv[t], (n_p, len(eco.years))) if extra is None
                          else ti_conv[t][None, :] + extra @ eco.to_year)
                cap = np.zeros((n_s, n_m))
                cap[s] = eff.converted_gross_mw[t] * scale
                cols.add(dict(kind="convert", site=site.name, site_idx=s, month_idx=t, month=eco.month_labels[t],
                              business_model=model, cohort=-1, model="", unit="halls" if gross_per_hall else "MW",
                              scale_mw=scale, lb=0.0, ub=float(ub), integer=bool(gross_per_hall), dest="", link=-1),
                         coef=(np.full(n_p, npv[t] * scale) if extra is None
                               else npv[t] * scale + (1 - r) * (extra @ df) + extra @ (df_class - df)),
                         cap=cap, capex=capex_y[t], cf=cf, ti=ti)
