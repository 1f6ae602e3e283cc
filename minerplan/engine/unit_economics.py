"""Per-unit mining economics: what one ASIC of a cohort earns per path and month.

The engine dispatches whole sites; an optimizer needs the contribution of
one more (or one fewer) machine. Without take-or-pay, a site's dispatch is
separable by cohort, so a cohort's margin is its unit margin times its units
and these figures add up exactly to the engine's site totals. Arrays are
``[path, month, unit]``; a "unit" here is any hypothetical machine (an
existing cohort's unit, or a machine one could buy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.engine.evaluate import site_price_matrix
from minerplan.engine.network import NetworkPath
from minerplan.scenario.model import Scenario


@dataclass(frozen=True)
class UnitSpec:
    """One hypothetical machine per column: site, specs and per-month state, ``[month, unit]`` arrays."""

    site: np.ndarray                 # [unit] site index
    power_w: np.ndarray              # [unit]
    uptime: np.ndarray               # [unit] fraction
    hashrate_ths: np.ndarray         # [month, unit] after degradation
    present: np.ndarray              # [month, unit] bool: installed (bought, not retired)


@dataclass(frozen=True)
class UnitMargins:
    """Per unit and month, ``[path, month, unit]``: BTC (net of pool fee) and margin (USD).

    Margin = revenue + curtailment credit - energy cost, at the site's meter
    (with PUE); opex, capex and tax are not in it.
    """

    btc: np.ndarray
    margin_usd: np.ndarray
    energy_mwh: np.ndarray


def unit_margins(sc: Scenario, units: UnitSpec, net: NetworkPath, prices: np.ndarray,
                 chunk: int = 64, margin_only: bool = False) -> UnitMargins:
    """Dispatch each unit as the engine would at a site without take-or-pay.

    A unit in an hour bucket runs when the path's hashprice is at or above its
    breakeven ``(price + credit) x MWh per TH-day / (1 - pool fee)``, else it earns
    the credit on the energy it does not draw.
    """
    n_p, n_m = prices.shape
    fee = sc.finance.pool_fee_pct / 100.0
    days = net.days[0]
    hp_btc = net.hashprice_btc_per_th_day          # [1 or path, month]: per path with miner capitulation
    hp_usd = prices * hp_btc
    hour_price, buckets = site_price_matrix(sc)
    pue = np.array([s.pue for s in sc.sites])
    credit_s = np.array([s.curtailment_credit_usd_per_mwh for s in sc.sites])
    curtail_s = np.array([s.curtailment_enabled for s in sc.sites])

    n_u = units.site.size
    margin = np.zeros((n_p, n_m, n_u))
    btc = None if margin_only else np.zeros((n_p, n_m, n_u))
    energy = None if margin_only else np.zeros((n_p, n_m, n_u))
    on = units.present * units.uptime[None, :]
    th_days = on * units.hashrate_ths * days[:, None]                                         # [M, U]
    e_mwh = on * (units.power_w * pue[units.site] / 1e6)[None, :] * 24.0 * days[:, None]        # [M, U]
    e_th = np.divide(e_mwh, th_days, out=np.zeros_like(e_mwh), where=th_days > 0)
    for s in np.unique(units.site):
        cols_all = np.flatnonzero(units.site == s)
        nb = buckets[s]
        p = hour_price[:, s, :nb]                                                             # [M, B]
        if nb == 1:
            _flat_site(cols_all, p[:, 0], credit_s[s], curtail_s[s], th_days, e_mwh, e_th, hp_usd, hp_btc, prices,
                       fee, margin, btc, energy)
            continue
        for lo in range(0, cols_all.size, chunk):
            cols = cols_all[lo:lo + chunk]
            th = th_days[:, cols][:, :, None] / nb                                            # [M, C, 1]
            e = e_mwh[:, cols][:, :, None] / nb
            valid = th > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                be = np.where(valid, (p[:, None, :] + credit_s[s]) * e_th[:, cols][:, :, None] / (1.0 - fee), np.inf)
            if not curtail_s[s]:
                be = np.where(valid, -np.inf, np.inf)
            run = hp_usd[:, :, None, None] >= be[None]                                        # [P, M, C, B]
            th_run = (run * th[None]).sum(axis=3)
            e_run = (run * np.broadcast_to(e, be.shape)[None]).sum(axis=3)
            cost_run = (run * (e * p[:, None, :])[None]).sum(axis=3)
            b = th_run * hp_btc[:, :, None] * (1.0 - fee)
            e_all = e_mwh[:, cols][None]
            margin[:, :, cols] = b * prices[:, :, None] - cost_run + (e_all - e_run) * credit_s[s]
            if btc is not None:
                btc[:, :, cols] = b
                energy[:, :, cols] = e_run
    return UnitMargins(btc, margin, energy)


def _flat_site(cols, price, credit, can_curtail, th_days, e_mwh, e_th, hp_usd, hp_btc, prices, fee, margin, btc,
               energy) -> None:
    """One hour bucket (a flat price): the same rule without the bucket axis, in place."""
    th = th_days[:, cols]                                                                     # [M, C]
    e = e_mwh[:, cols]
    valid = th > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        be = np.where(valid, (price[:, None] + credit) * e_th[:, cols] / (1.0 - fee), np.inf)
    if not can_curtail:
        be = np.where(valid, -np.inf, np.inf)
    b_full = th[None] * (hp_btc[:, :, None] * (1.0 - fee))                                   # BTC if it runs
    run_margin = b_full * prices[:, :, None] - (e * price[:, None])[None]                    # [P, M, C]
    if btc is None and can_curtail:
        # Running pays exactly when its margin beats the credit forgone, so the margin is the larger of
        # the two (equal at the breakeven, where the engine may run or not).
        margin[:, :, cols] = np.maximum(run_margin, (e * credit)[None])
        return
    run = hp_usd[:, :, None] >= be[None]                                                      # [P, M, C]
    margin[:, :, cols] = np.where(run, run_margin, (e * credit)[None])
    if btc is not None:
        btc[:, :, cols] = np.where(run, b_full, 0.0)
        energy[:, :, cols] = np.where(run, e[None], 0.0)
