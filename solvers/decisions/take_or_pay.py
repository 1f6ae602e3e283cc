"""Take-or-pay sites: each one's per-path dispatch, as a :class:`~solvers.decisions.space.TopBlock`.

A site with a take-or-pay contract (``take_or_pay_mwh_per_month`` > 0) pays for a minimum of energy
each month whether it draws it or not, so which machines run there is a decision per path, month
and hour bucket (24 with an hourly price profile, else 1), not per machine: its machines are held
as they are (no purchases, no moves), and its dispatch is a second-stage decision the model writes
per path (:mod:`solvers.model.take_or_pay`) or the decomposition values in closed form
(:mod:`solvers.recourse`). A slot is (fleet row, hour bucket); running one unit in it is worth its
revenue less the energy's price and the curtailment credit it forgoes (USD per unit, per path).
The MWh a conversion draws there counts towards the minimum (``ai_energy``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minerplan.engine.ai import conversion_effect

from .economics import Economics
from .space import TopBlock


def take_or_pay_blocks(eco: Economics, table: pd.DataFrame) -> list[TopBlock]:
    """One block per take-or-pay site, for the decisions of ``table`` (empty without such sites)."""
    if not eco.has_top.any():
        return []
    sc, fl, days = eco.sc, eco.fl, eco.days
    n_p, n_m, n_var = eco.n_p, eco.n_m, len(table)
    conv_energy = np.zeros((n_var, n_m))
    for j in np.flatnonzero((table["kind"] == "convert").to_numpy()):
        row = table.iloc[j]
        eff = conversion_effect(sc, int(row.site_idx), int(row.month_idx), float(row.scale_mw),
                                row.business_model, days)
        conv_energy[j] = eff.energy_mwh
    hp_usd = eco.prices * eco.net.hashprice_btc_per_th_day
    th_unit = eco.on * fl.hashrate_ths_per_unit * days[:, None]                              # [M, C] TH-days
    blocks = []
    for s_i in np.flatnonzero(eco.has_top):
        site = sc.sites[s_i]
        cohorts = np.flatnonzero(fl.site == s_i)
        nb = 24 if site.hourly_price_usd_per_mwh is not None else 1
        p_b = eco.hour_price[:, s_i, :nb]                                                     # [M, B]
        th = th_unit[:, cohorts][:, :, None] / nb                                             # [M, C, 1]
        e = np.broadcast_to(eco.e_unit[:, cohorts][:, :, None] / nb, th.shape[:2] + (nb,))   # [M, C, B]
        fee = sc.finance.pool_fee_pct / 100.0
        value = (hp_usd[:, :, None, None] * (1 - fee) * th[None]
                 - (p_b[:, None, :] + site.curtailment_credit_usd_per_mwh)[None] * e[None])  # [P, M, C, B]
        k = cohorts.size * nb
        blocks.append(TopBlock(
            site=int(s_i), cohorts=cohorts, slot_cohort=np.repeat(np.arange(cohorts.size), nb),
            value=value.reshape(n_p, n_m, k), energy=e.reshape(n_m, k), units_base=eco.units_base[:, cohorts],
            need_mwh=site.take_or_pay_mwh_per_month - eco.ai.energy_mwh[:, s_i],
            contract_usd_per_mwh=site.power_price_usd_per_mwh, can_curtail=site.curtailment_enabled,
            ai_energy=np.where((table["site_idx"].to_numpy() == s_i)[:, None], conv_energy, 0.0)))
    return blocks
