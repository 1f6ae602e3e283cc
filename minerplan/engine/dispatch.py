"""Dispatch of the mining fleet: which operating slots run, per BTC price path, month and site.

Shapes: ``[path, month, site]`` for results. A *slot* is one cohort in one
hour-of-day bucket at one site (one bucket when the site has a flat price, 24
with an hourly profile). Each slot has a breakeven hashprice (USD per TH/s per
day): it runs when the path's hashprice is at or above it, otherwise it is
curtailed and earns the site's curtailment credit.

The steps live in their own modules: the slots and the plain dispatch
(:mod:`minerplan.engine.slots`), the optimum where a take-or-pay minimum binds
(:mod:`minerplan.engine.take_or_pay`), and its exact fill at hourly-priced sites
(:mod:`minerplan.engine.hourly_fill`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from minerplan.engine.slots import build_slots
from minerplan.engine.take_or_pay import take_or_pay


def mining_dispatch(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                    can_curtail, top_mwh, ai_energy_mwh, hp_usd,
                    step: Callable[[float, str], None] | None = None):
    """Dispatch every path: ``(TH/s-days, MWh, energy USD)`` run, each ``[path, month, site]``, and the
    ``[month, site]`` MWh if every slot ran."""
    step = step or (lambda frac, what: None)
    step(0.2, "operating slots")
    slots = build_slots(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit,
                        contract, can_curtail, top_mwh)
    step(0.4, "dispatch")
    order = np.argsort(hp_usd, axis=0, kind="stable")                # paths by hashprice, per month
    th_run, e_run, cost_run = slots.table_a.running_totals(hp_usd, order)   # each [path, month, site]
    if np.any(top_mwh > 0):
        step(0.5, "take-or-pay dispatch")
        take_or_pay(slots, hp_usd, order, top_mwh, ai_energy_mwh, fee, credit, (th_run, e_run, cost_run))
    return th_run, e_run, cost_run, slots.energy_total
