"""The exact take-or-pay fill at hourly-priced sites, without sorting every slot of every entry.

Where a take-or-pay minimum binds at a site with an hourly price profile, the
cheapest slots run first up to the minimum, and which those are depends on the
path's hashprice (USD per TH/s per day after the pool fee, ``hpf``):

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
full sort of every entry's slots gives (to rounding of the sums). The bisection
counts which of a finite set of cells lie between two cost bounds, for every open
entry at once: no root of a continuous function, so scipy's root finders do not apply.
"""

from __future__ import annotations

import numpy as np

from minerplan.engine.slots import N_QUANTITIES, SiteSlots, select_fill


class Hours:
    """The cells (cohort x hour) of hourly-priced sites, per group ``(site, month)``, hours sorted by price.

    Cohorts are padded to the largest site; a padded or hashrate-less cohort has
    ``e_th = 0`` and never runs in a fill.
    """

    def __init__(self, sites: list[SiteSlots], credits: list[float]):
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


def _solve(hours: Hours, g_b, n_full, n_open, b_of, hpf, need, want_counts: bool):
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
        res[sel], lam[sel], full, tied = select_fill(cost, q, base[bins][rb], need[sel])
        if want_counts:
            cs = cstart[rb]
            for mask, out in ((full, n_lt), (full | tied, n_le)):
                cm = np.zeros((sel.size, u + 1), dtype=np.int64)
                np.cumsum(mask, axis=1, out=cm[:, 1:])
                out[sel] = n_full[bins][rb] + np.diff(np.take_along_axis(cm, cs, axis=1), axis=1)
    return res, lam, n_lt, n_le


def _bracket(hours: Hours, g, hpf, need, low, high, max_open: int = 16, max_steps: int = 8):
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


def _verify(hours: Hours, g, hpf, n_lt, n_le):
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


def fill_hourly(hours: Hours, group: np.ndarray, hpf: np.ndarray, need: np.ndarray, *,
                fanout: int = 2) -> np.ndarray:
    """Exact fill of every binding entry at hourly-priced sites; ``group`` is (site, month) per entry.

    Fastest when the entries come sorted by group and hashprice.
    """
    n = group.size
    if n > 1 and not np.all((group[1:] > group[:-1]) | ((group[1:] == group[:-1]) & (hpf[1:] >= hpf[:-1]))):
        order = np.lexsort((hpf, group))
        out = np.empty((n, N_QUANTITIES))
        out[order] = fill_hourly(hours, group[order], hpf[order], need[order], fanout=fanout)
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
