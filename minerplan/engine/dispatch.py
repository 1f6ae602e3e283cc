"""Dispatch of the mining fleet: which operating slots run, per BTC price path, month and site.

Shapes: ``[path, month, site]`` for results. A *slot* is one cohort in one
hour-of-day bucket at one site (one bucket when the site has a flat price, 24
with an hourly profile). Each slot has a breakeven hashprice (USD per TH/s per
day): it runs when the path's hashprice is at or above it, otherwise it is
curtailed and earns the site's curtailment credit.

Plain dispatch (:class:`_SlotTable`): the paths of a month are sorted by
hashprice once; each slot is placed among them with one ``searchsorted`` (the
first path whose hashprice reaches its breakeven; one call per month, over all
the month's slots), its quantities are added at that position of its (month,
site) row, and a cumulative sum along the sorted paths gives every path's
totals. No slot is sorted and no path is visited in Python.

Take-or-pay: energy below the contract minimum is paid for anyway. A second
dispatch treats it as prepaid (breakevens shifted down by the contract price);
where even that draws less than the minimum it is optimal, where the plain
dispatch already draws the minimum that one is, and in between (*binding*) the
optimum draws exactly the minimum, cheapest slots first, the last in part (a
fractional knapsack). This is the LP optimum of each (path, month, site), so
curtailment never lowers margin.

At a flat-price site the fill order is the same on every path (most efficient
machines first, :func:`_fill_fixed_order`). At an hourly-priced site it
depends on the path's hashprice; :func:`_fill_hourly` finds it without sorting
every slot of every binding entry:

* A slot's net cost per MWh is ``a_h - hp (1 - fee) / e_c`` (hour ``h``'s
  price plus the credit; cohort ``c``'s MWh per TH/s-day). With the hours
  sorted by price each cohort's costs rise with the hour, so the slots run in
  full, at the margin (in part) and curtailed are, per cohort, a prefix, a run
  and the rest of the hours: a *configuration* is two counts per cohort.
  Whether an entry has a given configuration is checked at the edges of those
  runs, in O(cohorts) (:func:`_verify`).
* The margin ``lam(hp)`` never rises with the hashprice, and every slot's
  cost falls with it. Two entries of a (site, month) with hashprices
  ``hp_lo <= hp_hi`` have the same configuration only if every entry between
  them has it too (costs are linear in ``hp``), and the margin of any entry
  between them lies in ``[lam(hp_hi), lam(hp_lo)]``.

The entries of each (site, month) are taken in hashprice order and the lowest
and highest are solved first. Then, repeatedly, each interval between solved
entries whose ends share a configuration is copied; the others are split at
their middle entry, which most often has the configuration of one of the ends
(verified, then copied); when it has neither it is solved: the cells its
margin bracket leaves open are narrowed by bisection on their costs and the
few that remain are sorted. Every cost is computed with the same
floating-point operations as the plain formula, so the result is the one a
full sort of every entry's slots gives (to rounding of the sums).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

N_QUANTITIES = 3   # TH/s-days, MWh, energy USD of a slot if it runs


class _SlotTable:
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
class _SiteSlots:
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
class _Slots:
    """Operating slots of every site."""

    table_a: _SlotTable
    table_prepaid: _SlotTable   # breakevens when energy is prepaid at the contract price, one column per ``top``
    energy_total: np.ndarray    # [month, site] MWh if every slot ran
    sites: list[_SiteSlots]
    top: np.ndarray             # the sites with a take-or-pay minimum


def _build_slots(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                 can_curtail, top_mwh) -> _Slots:
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
        sites.append(_SiteSlots(p, np.where(valid, e_th, 0.0), th, e, bool(can_curtail[s])))
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
        return _SlotTable(n_m, n_columns, *(np.concatenate(x) for x in zip(*parts)))

    return _Slots(table(parts_a, n_s), table(parts_b, top.size), energy_total, sites, top)


def mining_dispatch(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                    can_curtail, top_mwh, ai_energy_mwh, hp_usd,
                    step: Callable[[float, str], None] | None = None):
    """Dispatch every path: ``(TH/s-days, MWh, energy USD)`` run, each ``[path, month, site]``, and the
    ``[month, site]`` MWh if every slot ran."""
    step = step or (lambda frac, what: None)
    step(0.2, "operating slots")
    slots = _build_slots(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit,
                         contract, can_curtail, top_mwh)
    step(0.4, "dispatch")
    order = np.argsort(hp_usd, axis=0, kind="stable")                # paths by hashprice, per month
    th_run, e_run, cost_run = slots.table_a.running_totals(hp_usd, order)   # each [path, month, site]
    if np.any(top_mwh > 0):
        step(0.5, "take-or-pay dispatch")
        _take_or_pay(slots, hp_usd, order, top_mwh, ai_energy_mwh, fee, credit, (th_run, e_run, cost_run))
    return th_run, e_run, cost_run, slots.energy_total


def _take_or_pay(slots: _Slots, hp_usd, order, top_mwh, ai_energy_mwh, fee, credit, runs) -> None:
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
            fixed[:, t] = _fill_fixed_order(slots.sites[top[t]], need_mwh[:, t])
        where = binding & flat[None, None, :]
        for i, a in enumerate(cur):
            np.copyto(a, np.broadcast_to(fixed[None, :, :, i], a.shape), where=where)
    hourly = binding & ~flat[None, None, :]
    if hourly.any():
        # Entries by site, month and hashprice: the order the hourly fill works in.
        by_rank = np.take_along_axis(hourly, order[:, :, None], axis=0)   # [rank, month, top site]
        t_i, m_i, r_i = np.nonzero(by_rank.transpose(2, 1, 0))
        p_i = order[r_i, m_i]
        filled = _fill_to_minimum(slots.sites, (p_i, m_i, top[t_i]), hp_usd, need_mwh[m_i, t_i], fee, credit)
        for i, a in enumerate(cur):
            a[p_i, m_i, t_i] = filled[:, i]
    for a, c in zip(runs, cur):
        a[:, :, top] = c


def _fill_fixed_order(site: _SiteSlots, need: np.ndarray) -> np.ndarray:
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


def _fill_to_minimum(sites: list[_SiteSlots], where: tuple[np.ndarray, ...], hp_usd: np.ndarray,
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
        hours = _Hours([sites[s] for s in hourly], [credit[s] for s in hourly])
        group = np.searchsorted(hourly, s_idx[rows]) * hours.n_months + m_idx[rows]
        out[rows] = _fill_hourly(hours, group, hpf[rows], need_mwh[rows])
    for s in todo:
        if s not in hourly:   # a site that cannot curtail never binds (every slot runs in both dispatches)
            rows = np.flatnonzero(s_idx == s)
            out[rows] = _fill_sorted(sites[s], credit[s], m_idx[rows], hpf[rows], need_mwh[rows])
    return out


def _fill_sorted(site: _SiteSlots, credit: float, m: np.ndarray, hpf: np.ndarray, need: np.ndarray) -> np.ndarray:
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
    return _select(cost, q, np.zeros((m.size, N_QUANTITIES)), need)[0]


def _select(cost: np.ndarray, q: np.ndarray, base: np.ndarray, need: np.ndarray):
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


class _Hours:
    """The cells (cohort x hour) of hourly-priced sites, per group ``(site, month)``, hours sorted by price.

    Cohorts are padded to the largest site; a padded or hashrate-less cohort has
    ``e_th = 0`` and never runs in a fill.
    """

    def __init__(self, sites: list[_SiteSlots], credits: list[float]):
        n_m, n_h = sites[0].price.shape
        n_c = max(max(site.e_th.shape[1] for site in sites), 1)
        n_g = n_m * len(sites)
        self.n_months, self.n_cohorts, self.n_hours = n_m, n_c, n_h
        a = np.empty((n_g, n_h))
        x = np.empty((n_g, n_h))
        self.e_th, self.th, self.e = (np.zeros((n_g, n_c)) for _ in range(3))
        for i, (site, credit) in enumerate(zip(sites, credits)):
            rows = slice(i * n_m, (i + 1) * n_m)
            c = site.e_th.shape[1]
            x[rows] = site.price
            a[rows] = site.price + credit          # the cost formula's ``price + credit``
            self.e_th[rows, :c], self.th[rows, :c], self.e[rows, :c] = site.e_th, site.th, site.e
        perm = np.argsort(a, axis=1, kind="stable")
        self.a = np.take_along_axis(a, perm, axis=1)          # [G, H] ascending
        self.x = np.take_along_axis(x, perm, axis=1)
        self.cum_x = np.concatenate([np.zeros((n_g, 1)), np.cumsum(self.x, axis=1)], axis=1)
        self.valid = self.e_th > 0
        # Flat cell tables, index (g * C + c) * H + h, and one padding cell (never cheapest) at the end.
        shape = (n_g, n_c, n_h)
        self.pad = n_g * n_c * n_h

        def cells(v, fill):
            return np.append(np.broadcast_to(v, shape).ravel(), fill)

        # A cohort without hashrate costs +inf in every hour, like the padding cell.
        self.cell_a = cells(np.where(self.valid[:, :, None], self.a[:, None, :], np.inf), np.inf)
        self.cell_e_th = cells(np.where(self.valid, self.e_th, 1.0)[:, :, None], 1.0)
        self.cell_th = cells(self.th[:, :, None], 0.0)
        self.cell_e = cells(self.e[:, :, None], 0.0)
        self.cell_usd = cells(self.e[:, :, None] * self.x[:, None, :], 0.0)

    def costs(self, g: np.ndarray, hpf: np.ndarray) -> np.ndarray:
        """Every cell's cost ``[n, C, H]`` at revenue ``hpf`` (USD per TH/s-day after fee); +inf without hashrate."""
        e_th = self.e_th[g]
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(e_th > 0, hpf[:, None] / e_th, -np.inf)
        return self.a[g][:, None, :] - y[:, :, None]

    def base(self, g: np.ndarray, n_full: np.ndarray) -> np.ndarray:
        """Quantities ``[n, 3]`` of the first ``n_full[c]`` price-sorted hours of every cohort."""
        th, e = self.th[g], self.e[g]
        return np.stack([(n_full * th).sum(axis=1), (n_full * e).sum(axis=1),
                         (e * np.take_along_axis(self.cum_x[g], n_full, axis=1)).sum(axis=1)], axis=1)


def _solve(hours: _Hours, g_b, n_full, n_open, b_of, hpf, need, want_counts: bool):
    """Exact fill of entries ``(hpf, need)``, each in bin ``b_of``.

    Bin ``b`` (group ``g_b``) runs the first ``n_full[b, c]`` price-sorted hours of each
    cohort ``c`` in full and curtails hours from ``n_open[b, c]`` on; only the hours between
    are sorted, per entry. Returns quantities ``[n, 3]``, the marginal cost ``[n]``
    and, if asked, the configuration: per cohort the hours run in full and the
    hours run in full or in part, ``[n, C]`` each.
    """
    n_c, n_h = hours.n_cohorts, hours.n_hours
    d = n_open - n_full
    u_b = d.sum(axis=1)
    base = hours.base(g_b, n_full)
    n = b_of.size
    res = np.empty((n, N_QUANTITIES))
    lam = np.empty(n)
    n_lt = n_le = None
    if want_counts:
        n_lt = np.empty((n, n_c), dtype=np.int64)
        n_le = np.empty((n, n_c), dtype=np.int64)
    u_e = u_b[b_of]
    # rows padded to the bucket's largest candidate set: at most 2x, or to 16
    bucket = np.ceil(np.log2(np.maximum(u_e, 16))).astype(int)
    for bk in np.unique(bucket):
        sel = np.flatnonzero(bucket == bk)
        bins, rb = np.unique(b_of[sel], return_inverse=True)
        ub = u_b[bins]
        u = max(int(ub.max()), 1)
        dk = d[bins]
        cstart = np.zeros((bins.size, n_c + 1), dtype=np.int64)
        np.cumsum(dk, axis=1, out=cstart[:, 1:])
        # candidate cells of each bin, cohort by cohort: (bin, column) <- cell index
        d_flat = dk.ravel()
        total = int(d_flat.sum())
        bin_rep = np.repeat(np.arange(bins.size), ub)
        col = np.arange(total) - np.repeat(cstart[:, -1].cumsum() - cstart[:, -1], ub)
        c_rep = np.repeat(np.tile(np.arange(n_c), bins.size), d_flat)
        h_rep = np.repeat(n_full[bins].ravel() - cstart[:, :-1].ravel(), d_flat) + col
        cidx = np.full((bins.size, u), hours.pad)
        cidx[bin_rep, col] = (g_b[bins][bin_rep] * n_c + c_rep) * n_h + h_rep
        ci = cidx[rb]                                                      # [n_sel, u]
        cost = hours.cell_a[ci] - hpf[sel][:, None] / hours.cell_e_th[ci]  # (price + credit) - hp (1 - fee) / e_th
        q = np.stack([hours.cell_th[ci], hours.cell_e[ci], hours.cell_usd[ci]], axis=2)
        res[sel], lam[sel], full, tied = _select(cost, q, base[bins][rb], need[sel])
        if want_counts:
            cs = cstart[rb]
            for mask, out in ((full, n_lt), (full | tied, n_le)):
                cm = np.zeros((sel.size, u + 1), dtype=np.int64)
                np.cumsum(mask, axis=1, out=cm[:, 1:])
                out[sel] = n_full[bins][rb] + np.diff(np.take_along_axis(cm, cs, axis=1), axis=1)
    return res, lam, n_lt, n_le


def _bracket(hours: _Hours, g, hpf, need, low, high, max_open: int = 16, max_steps: int = 8):
    """Hours of each cohort certainly run in full / not curtailed, ``[n, C]`` each, for entries whose margin
    lies in ``[low, high]``: from every cell's cost, narrowed by bisection while more than ``max_open``
    cells are left in between."""
    cost = hours.costs(g, hpf)                                       # [n, C, H], +inf without hashrate
    e = hours.e[g]
    top = np.where(high < np.inf, high, np.finfo(float).max)         # never open a cell without hashrate
    n_full = (cost < low[:, None, None]).sum(axis=2)                 # cheaper than the lowest margin: in full
    n_open = np.maximum((cost <= top[:, None, None]).sum(axis=2), n_full)
    # working bounds of the bisection: the bracket, or the range of the costs where it is open
    lo, hi = low.copy(), high.copy()
    open_ends = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))
    if open_ends.size:
        c = cost[open_ends]
        finite = np.isfinite(c)
        lo[open_ends] = np.where(np.isfinite(low[open_ends]), low[open_ends],
                                 np.where(finite, c, np.inf).min(axis=(1, 2)))
        hi[open_ends] = np.where(np.isfinite(high[open_ends]), high[open_ends],
                                 np.where(finite, c, -np.inf).max(axis=(1, 2)))
    rows = np.flatnonzero((n_open - n_full).sum(axis=1) > max_open)
    work = cost[rows]
    for _ in range(max_steps):
        if rows.size == 0:
            break
        mid = 0.5 * lo[rows] + 0.5 * hi[rows]
        below = (work <= mid[:, None, None]).sum(axis=2)
        short = (below * e[rows]).sum(axis=1) < need[rows]           # cells <= mid fall short: all run in full
        r = rows[short]
        n_full[r] = below[short]
        lo[r] = mid[short]
        r = rows[~short]                                             # the margin is <= mid
        n_open[r] = np.maximum(below[~short], n_full[r])
        hi[r] = mid[~short]
        still = (n_open[rows] - n_full[rows]).sum(axis=1) > max_open
        if not still.all():
            rows, work = rows[still], work[still]
    return n_full, n_open


def _verify(hours: _Hours, g, hpf, n_lt, n_le):
    """Whether each entry has the configuration ``(n_lt, n_le)`` ``[n, C]`` (hours in full; in full or at the
    margin, per cohort) at its own hashprice: ``(ok [n], margin [n])``.

    The margin is the cost of the configuration's first cell at the margin. Costs
    rise with the price-sorted hour, so checking the cells at the edges of each
    cohort's runs checks every cell: the last one in full costs less than the
    margin, the last one at the margin exactly the margin, the first curtailed one more.
    """
    n = g.size
    n_h = hours.n_hours
    a = hours.a.ravel()
    e_th = hours.e_th[g]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(e_th > 0, hpf[:, None] / e_th, -np.inf)         # [n, C]; -inf: every cell costs +inf
    row = (g * n_h)[:, None]
    lt = n_lt.astype(np.intp)
    le = n_le.astype(np.intp)
    tie = le > lt
    c_star = np.argmax(tie, axis=1)
    rows = np.arange(n)
    lam = a[g * n_h + np.minimum(lt[rows, c_star], n_h - 1)] - y[rows, c_star]
    lm = lam[:, None]
    ok = tie.any(axis=1)
    ok &= ((lt == 0) | (a[row + np.maximum(lt - 1, 0)] - y < lm)).all(axis=1)
    ok &= ((le == n_h) | (a[row + np.minimum(le, n_h - 1)] - y > lm)).all(axis=1)
    wide = np.flatnonzero(ok & ((le - lt).sum(axis=1) > 1))           # more than one cell at the margin
    if wide.size:
        last_tied = a[row[wide] + np.maximum(le[wide] - 1, 0)] - y[wide]
        ok[wide] &= (~tie[wide] | ((a[row[wide] + np.minimum(lt[wide], n_h - 1)] - y[wide] == lm[wide])
                                   & (last_tied == lm[wide]))).all(axis=1)
    return ok, lam


def _fill_hourly(hours: _Hours, group: np.ndarray, hpf: np.ndarray, need: np.ndarray, *,
                 fanout: int = 2) -> np.ndarray:
    """Exact fill of every binding entry at hourly-priced sites; ``group`` is (site, month) per entry.

    Fastest when the entries come sorted by group and hashprice.
    """
    n = group.size
    if n > 1 and not np.all((group[1:] > group[:-1]) | ((group[1:] == group[:-1]) & (hpf[1:] >= hpf[:-1]))):
        order = np.lexsort((hpf, group))
        out = np.empty((n, N_QUANTITIES))
        out[order] = _fill_hourly(hours, group[order], hpf[order], need[order], fanout=fanout)
        return out
    g, hp, nd = group, hpf, need
    first = np.ones(n, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n) - 1
    res = np.empty((n, N_QUANTITIES))
    lam = np.empty(n)
    # Each solved entry's configuration: hours in full, then hours in full or at the margin, per cohort,
    # packed in whole 8-byte words so that two configurations compare as a few integers.
    n_c = hours.n_cohorts
    small = np.uint8 if hours.n_hours < 256 else np.uint16
    width = -(-2 * n_c * np.dtype(small).itemsize // 8) * 8 // np.dtype(small).itemsize
    config = np.zeros((n, width), dtype=small)
    n_lt, n_le = config[:, :n_c], config[:, n_c:2 * n_c]
    packed = config.view(np.uint64)

    def solve(ent, low, high):
        n_full, n_open = _bracket(hours, g[ent], hp[ent], nd[ent], low, high)
        res[ent], lam[ent], n_lt[ent], n_le[ent] = _solve(hours, g[ent], n_full, n_open, np.arange(ent.size),
                                                          hp[ent], nd[ent], True)

    # The lowest and highest hashprice of each group first, with no bracket on their margin.
    ent = np.unique(np.concatenate([starts, ends]))
    solve(ent, np.full(ent.size, -np.inf), np.full(ent.size, np.inf))
    lo, hi = starts[ends - starts > 1], ends[ends - starts > 1]
    while lo.size:
        # Same configuration at both ends: every entry between has it.
        same = (packed[lo] == packed[hi]).all(axis=1)
        if same.any():
            inside = hi[same] - lo[same] - 1
            src = np.repeat(lo[same], inside)
            res[src + np.arange(src.size) - np.repeat(np.cumsum(inside) - inside, inside) + 1] = res[src]
            lo, hi = lo[~same], hi[~same]
            if lo.size == 0:
                break
        # Split each interval at fanout - 1 entries (all of them when it has fewer inside).
        inside = hi - lo - 1
        n_pts = np.minimum(inside, fanout - 1)
        b_of = np.repeat(np.arange(lo.size), n_pts)
        k = np.arange(b_of.size) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts) + 1         # 1..n_pts
        step = np.where(inside[b_of] < fanout, 1.0, (hi - lo)[b_of] / fanout)
        ent = lo[b_of] + np.floor(k * step).astype(np.int64)
        # An entry between two solved ones most often has the configuration of one of them.
        todo = np.arange(ent.size)
        for node in (lo, hi):
            if todo.size == 0:
                break
            src = node[b_of[todo]]
            e_t = ent[todo]
            ok, lm = _verify(hours, g[e_t], hp[e_t], n_lt[src], n_le[src])
            e_ok, s_ok = e_t[ok], src[ok]
            res[e_ok], lam[e_ok], config[e_ok] = res[s_ok], lm[ok], config[s_ok]
            todo = todo[~ok]
        if todo.size:   # a new configuration: solve, its margin between those of the interval's ends
            solve(ent[todo], lam[hi[b_of[todo]]], lam[lo[b_of[todo]]])
        bounds = np.full((lo.size, fanout + 1), -1, dtype=np.int64)
        bounds[:, 0] = lo
        bounds[b_of, k] = ent
        bounds[np.arange(lo.size), n_pts + 1] = hi
        lo, hi = bounds[:, :-1].ravel(), bounds[:, 1:].ravel()
        keep = (lo >= 0) & (hi - lo > 1)
        lo, hi = lo[keep], hi[keep]
    return res
