"""Dispatch under a take-or-pay minimum: the margin-optimal fill of each (path, month, site).

Take-or-pay: energy below the contract minimum is paid for anyway. A second
dispatch treats it as prepaid (breakevens shifted down by the contract price);
where even that draws less than the minimum it is optimal, where the plain
dispatch already draws the minimum that one is, and in between (*binding*) the
optimum draws exactly the minimum, cheapest slots first, the last in part (a
fractional knapsack). This is the LP optimum of each (path, month, site), so
curtailment never lowers margin.

At a flat-price site the fill order is the same on every path (most efficient
machines first, :func:`fill_fixed_order`). At an hourly-priced site it
depends on the path's hashprice; :func:`minerplan.engine.hourly_fill.fill_hourly` finds it
without sorting every slot of every binding entry.
"""

from __future__ import annotations

import numpy as np

from minerplan.engine.hourly_fill import Hours, fill_hourly
from minerplan.engine.slots import N_QUANTITIES, SiteSlots, Slots, select_fill


def take_or_pay(slots: Slots, hp_usd, order, top_mwh, ai_energy_mwh, fee, credit, runs) -> None:
    """Replace the plain dispatch ``runs`` (TH/s-days, MWh, USD) by the optimum where a take-or-pay minimum binds.

    ``order`` is ``[rank, month]``: the paths of each month by hashprice.
    """
    top = slots.top                                                   # the sites with a minimum
    # Energy the mining load must draw to avoid paying for unused take-or-pay energy.
    need_mwh = top_mwh[top][None, :] - ai_energy_mwh[:, top]          # [M, T]
    cur = [a[:, :, top] for a in runs]                                # [P, M, T] each
    prepaid = slots.table_prepaid.running_totals(hp_usd, order)
    use_b = prepaid[1] <= need_mwh[None]  # still short with every prepaid-worthy slot running: optimal
    for a, b in zip(cur, prepaid):
        np.copyto(a, b, where=use_b)
    binding = (cur[1] < need_mwh[None]) & ~use_b
    flat = np.array([slots.sites[s].buckets == 1 for s in top])
    if (binding & flat[None, None, :]).any():
        # Flat price: the fill (most efficient first, to exactly the minimum) is the same on every path.
        fixed = np.zeros(need_mwh.shape + (N_QUANTITIES,))
        for t in np.flatnonzero(flat):
            fixed[:, t] = fill_fixed_order(slots.sites[top[t]], need_mwh[:, t])
        where = binding & flat[None, None, :]
        for i, a in enumerate(cur):
            np.copyto(a, np.broadcast_to(fixed[None, :, :, i], a.shape), where=where)
    hourly = binding & ~flat[None, None, :]
    if hourly.any():
        # Entries by site, month and hashprice: the order the hourly fill works in.
        by_rank = np.take_along_axis(hourly, order[:, :, None], axis=0)   # [rank, month, top site]
        t_i, m_i, r_i = np.nonzero(by_rank.transpose(2, 1, 0))
        p_i = order[r_i, m_i]
        filled = fill_to_minimum(slots.sites, (p_i, m_i, top[t_i]), hp_usd, need_mwh[m_i, t_i], fee, credit)
        for i, a in enumerate(cur):
            a[p_i, m_i, t_i] = filled[:, i]
    for a, c in zip(runs, cur):
        a[:, :, top] = c


def fill_fixed_order(site: SiteSlots, need: np.ndarray) -> np.ndarray:
    """Fill to ``need`` MWh per month at a flat-price site, ``[month, 3]``.

    Every slot pays the same price there, so the cheapest slots to run are the
    most efficient machines (lowest MWh per TH-day) on every path.
    """
    e_th = site.e_th                                                       # [M, k]
    q_all = site.quantities()
    k = max(e_th.shape[1], 1)
    if e_th.shape[1] == 0:
        e_th, q_all = np.zeros((e_th.shape[0], 1)), np.zeros((e_th.shape[0], 1, N_QUANTITIES))
    order = np.argsort(np.where(e_th > 0, e_th, np.inf), axis=1, kind="stable")
    q = np.take_along_axis(q_all, order[..., None], axis=1)               # [M, k, 3]
    cum = np.concatenate([np.zeros((q.shape[0], 1, 3)), np.cumsum(q, axis=1)], axis=1)  # [M, k+1, 3]
    months = np.arange(q.shape[0])
    j = np.minimum((cum[:, 1:, 1] <= need[:, None]).sum(axis=1), k - 1)   # the slot run in part
    before = cum[months, j]
    part = q[months, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(part[:, 1] > 0, np.clip((need - before[:, 1]) / part[:, 1], 0.0, 1.0), 0.0)
    return before + frac[:, None] * part


def fill_to_minimum(sites: list[SiteSlots], where: tuple[np.ndarray, ...], hp_usd: np.ndarray,
                    need_mwh: np.ndarray, fee: float, credit: np.ndarray) -> np.ndarray:
    """Exact dispatch where take-or-pay binds at an hourly-priced site: cheapest slots first, to the minimum.

    A slot's net cost of running, per MWh, is ``price + credit - revenue per MWh``; below the
    take-or-pay minimum each MWh drawn also saves the contract price. Where running
    everything worth it at the contract price would overshoot the minimum
    but the plain dispatch falls short of it, the optimum (a fractional
    knapsack) draws exactly the minimum, cheapest slots first, the last in part.
    Returns ``[entry, (TH-days, MWh, energy USD)]``.
    """
    p_idx, m_idx, s_idx = where
    out = np.empty((p_idx.size, N_QUANTITIES))
    hpf = hp_usd[p_idx, m_idx] * (1.0 - fee)       # revenue per TH/s-day after the pool fee, as in the cost formula
    todo = np.unique(s_idx)
    hourly = [s for s in todo if sites[s].can_curtail and sites[s].buckets > 1]
    if hourly:
        rows = np.flatnonzero(np.isin(s_idx, hourly))
        hours = Hours([sites[s] for s in hourly], [credit[s] for s in hourly])
        group = np.searchsorted(hourly, s_idx[rows]) * hours.n_months + m_idx[rows]
        out[rows] = fill_hourly(hours, group, hpf[rows], need_mwh[rows])
    for s in todo:
        if s not in hourly:   # a site that cannot curtail never binds (every slot runs in both dispatches)
            rows = np.flatnonzero(s_idx == s)
            out[rows] = _fill_sorted(sites[s], credit[s], m_idx[rows], hpf[rows], need_mwh[rows])
    return out


def _fill_sorted(site: SiteSlots, credit: float, m: np.ndarray, hpf: np.ndarray, need: np.ndarray) -> np.ndarray:
    """The plain fill: sort each entry's slots by cost (any site, any slot prices)."""
    n_m, n_c = site.e_th.shape
    nb = site.buckets
    e_th = np.broadcast_to(site.e_th[:, :, None], (n_m, n_c, nb)).reshape(n_m, -1)[m]
    price = np.broadcast_to(site.price[:, None, :], (n_m, n_c, nb)).reshape(n_m, -1)
    if not site.can_curtail:
        price = np.full_like(price, -np.inf)   # runs whatever the price: first in any take-or-pay fill
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(e_th > 0, price[m] + credit - hpf[:, None] / e_th, np.inf)
    q = site.quantities()[m]
    if cost.shape[1] == 0:
        return np.zeros((m.size, N_QUANTITIES))
    return select_fill(cost, q, np.zeros((m.size, N_QUANTITIES)), need)[0]
