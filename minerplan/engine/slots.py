"""Operating slots of the mining fleet and the plain dispatch, per BTC price path, month and site.

A *slot* is one cohort in one hour-of-day bucket at one site (one bucket when the
site has a flat price, 24 with an hourly profile). Each slot has a breakeven
hashprice (USD per TH/s per day): it runs when the path's hashprice is at or above
it, otherwise it is curtailed and earns the site's curtailment credit. Its
quantities if it runs are TH/s-days, MWh and energy USD (:data:`N_QUANTITIES`).

Plain dispatch (:class:`SlotTable`): the paths of a month are sorted by
hashprice once; each slot is placed among them with one ``searchsorted`` (the
first path whose hashprice reaches its breakeven; one call per month, over all
the month's slots), its quantities are added at that position of its (month,
site) row, and a cumulative sum along the sorted paths gives every path's
totals. No slot is sorted and no path is visited in Python.

:func:`select_fill` is the fractional knapsack both take-or-pay fills share:
cheapest slots first up to a minimum of MWh, the last in part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_QUANTITIES = 3   # TH/s-days, MWh, energy USD of a slot if it runs


class SlotTable:
    """Per-path sums of slot quantities over the slots whose breakeven is at or below the path's hashprice.

    Built from a flat list of slots (month, column, breakeven, quantities), a
    column being a site; slots that never run (infinite breakeven) are dropped.
    """

    def __init__(self, n_months: int, n_sites: int, month: np.ndarray, site: np.ndarray, breakeven: np.ndarray,
                 quantities: np.ndarray):
        keep = np.flatnonzero(breakeven < np.inf)
        keep = keep[np.argsort(month[keep], kind="stable")]            # slots month by month
        self.n_months, self.n_sites = n_months, n_sites
        self.month = month[keep]
        self.site = site[keep]
        self.month_start = np.searchsorted(self.month, np.arange(n_months + 1))
        self.breakeven = breakeven[keep]
        self.quantities = np.ascontiguousarray(quantities[keep].T)      # [Q, slot]

    def running_totals(self, hashprice: np.ndarray, order: np.ndarray | None = None) -> list[np.ndarray]:
        """``hashprice`` is [path, month] (``order``: its paths by hashprice, per month, if known); returns one
        contiguous ``[path, month, site]`` array per quantity."""
        n_p = hashprice.shape[0]
        n_m, n_s = self.n_months, self.n_sites
        if order is None:
            order = np.argsort(hashprice, axis=0, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(n_p)[:, None], axis=0)
        by_month = np.ascontiguousarray(np.take_along_axis(hashprice, order, axis=0).T)   # [month, sorted path]
        # Each slot's first sorted path with hashprice >= breakeven: a count of paths, exact comparisons.
        # One searchsorted per month (each over all the month's slots).
        pos = np.empty(self.breakeven.size, dtype=np.intp)
        for m, (a, b) in enumerate(zip(self.month_start[:-1], self.month_start[1:])):
            pos[a:b] = np.searchsorted(by_month[m], self.breakeven[a:b], side="left")
        # Quantities added at that position of their (month, sorted path, site) cell, summed along the paths.
        width = n_p + 1
        n_cells = n_m * width * n_s
        cells = (self.month * width + pos) * n_s + self.site
        n_q = self.quantities.shape[0]
        acc = np.bincount((cells[None, :] + (np.arange(n_q) * n_cells)[:, None]).ravel(),
                          weights=self.quantities.ravel(), minlength=n_q * n_cells)
        acc = acc.reshape(n_q, n_m, width, n_s)
        np.cumsum(acc, axis=2, out=acc)
        acc = acc.reshape(n_q, n_m * width, n_s)
        rows = np.arange(n_m)[None, :] * width + rank                 # [path, month]: its (month, sorted path) row
        return [np.take(acc[i], rows, axis=0) for i in range(n_q)]


@dataclass(frozen=True)
class SiteSlots:
    """One site's slots, per month and cohort (cohorts of the site, in fleet order)."""

    price: np.ndarray       # [month, bucket] USD/MWh of each hour bucket
    e_th: np.ndarray        # [month, cohort] MWh per TH/s-day, 0 without hashrate
    th: np.ndarray          # [month, cohort] TH/s-days of one slot (one bucket) if it runs
    e: np.ndarray           # [month, cohort] MWh of one slot if it runs
    can_curtail: bool

    @property
    def buckets(self) -> int:
        return self.price.shape[1]

    def quantities(self) -> np.ndarray:
        """``[month, slot, 3]`` with slots ordered cohort-major (cohort, bucket)."""
        n_m, n_c = self.th.shape
        nb = self.buckets
        q = np.empty((n_m, n_c, nb, N_QUANTITIES))
        q[..., 0] = self.th[:, :, None]
        q[..., 1] = self.e[:, :, None]
        q[..., 2] = self.e[:, :, None] * self.price[:, None, :]
        return q.reshape(n_m, n_c * nb, N_QUANTITIES)


@dataclass(frozen=True)
class Slots:
    """Operating slots of every site."""

    table_a: SlotTable
    table_prepaid: SlotTable   # breakevens when energy is prepaid at the contract price, one column per ``top``
    energy_total: np.ndarray    # [month, site] MWh if every slot ran
    sites: list[SiteSlots]
    top: np.ndarray             # the sites with a take-or-pay minimum


def build_slots(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                can_curtail, top_mwh) -> Slots:
    """Breakevens and quantities of every (cohort, hour bucket) slot, per (month, site)."""
    n_s = len(buckets)
    net_share = 1.0 - fee
    top = np.flatnonzero(top_mwh > 0)
    sites = []
    energy_total = np.zeros((n_m, n_s))
    parts_a, parts_b = [], []
    for s in range(n_s):
        idx = np.flatnonzero(fl.site == s)
        nb = int(buckets[s])
        p = hour_price[:, s, :nb]                                   # [M, B]
        th = th_days[:, idx] / nb                                   # [M, C]
        e = energy_mwh[:, idx] / nb
        e_th = mwh_per_th_day[:, idx]
        valid = th > 0
        sites.append(SiteSlots(p, np.where(valid, e_th, 0.0), th, e, bool(can_curtail[s])))
        energy_total[:, s] = energy_mwh[:, idx].sum(axis=1)
        if idx.size == 0:
            continue
        shape = (n_m, idx.size, nb)
        v3 = np.broadcast_to(valid[:, :, None], shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            if can_curtail[s]:
                be = np.where(v3, (p[:, None, :] + credit[s]) * e_th[:, :, None] / net_share, np.inf)
                be2 = np.where(v3, (p[:, None, :] - contract[s] + credit[s]) * e_th[:, :, None] / net_share,
                               np.inf)
            else:
                be = be2 = np.where(v3, -np.inf, np.inf)
        q = sites[-1].quantities()
        month = np.broadcast_to(np.arange(n_m)[:, None], (n_m, idx.size * nb)).ravel()
        site = np.full(month.size, s)
        parts_a.append((month, site, be.ravel(), q.reshape(-1, N_QUANTITIES)))
        if top_mwh[s] > 0:   # the prepaid table has a column per take-or-pay site
            parts_b.append((month, np.full(month.size, np.searchsorted(top, s)), be2.ravel(),
                            q.reshape(-1, N_QUANTITIES)))

    def table(parts, n_columns):
        parts = parts or [(np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros((0, N_QUANTITIES)))]
        return SlotTable(n_m, n_columns, *(np.concatenate(x) for x in zip(*parts)))

    return Slots(table(parts_a, n_s), table(parts_b, top.size), energy_total, sites, top)


def select_fill(cost: np.ndarray, q: np.ndarray, base: np.ndarray, need: np.ndarray):
    """The fill among candidate slots ``[n, u]`` (cost per MWh, quantities ``[n, u, 3]``) on top of ``base``.

    Candidates cheaper than the marginal cost run in full, those at it share what
    is left of ``need``. Returns the quantities ``[n, 3]`` and the masks of the
    full and tied candidates.
    """
    e = q[..., 1]
    u = cost.shape[1]
    order = np.argsort(cost, axis=1)
    cum = np.cumsum(np.take_along_axis(e, order, axis=1), axis=1)
    cum += base[:, 1:2]
    j = np.minimum((cum < need[:, None]).sum(axis=1), u - 1)                # first slot reaching the minimum
    lam = np.take_along_axis(cost, np.take_along_axis(order, j[:, None], axis=1), axis=1)  # [n, 1]
    full = cost < lam
    tied = cost == lam                                                     # equal cost: share the remainder
    e_full = base[:, 1] + (full * e).sum(axis=1)
    e_tied = (tied * e).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(e_tied > 0, np.clip((need - e_full) / e_tied, 0.0, 1.0), 0.0)
    w = full + frac[:, None] * tied
    return base + np.einsum("nk,nkq->nq", w, q), lam[:, 0], full, tied
