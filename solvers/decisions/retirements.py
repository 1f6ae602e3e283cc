"""Retirement candidates, and the departure side of moves: units of an existing fleet row leaving its site.

``retire``: units of a fleet row sold in a month at the used-market price of that month on each path
(:func:`minerplan.engine.evaluate.asic_salvage_by_row`), on the ``retire_step_months`` grid (and at
signed conversions' starts). ``move_out``: the same units leaving for another site, which in the
engine's terms is a sale at their book value (no gain, no loss); the arrival is
:mod:`solvers.decisions.moves`. Moves only once every ``move_step_months`` (and at conversions'
starts), not to or from a take-or-pay site (its dispatch, path by path, is per fleet row installed
there) and only to a site whose energy costs less (power x PUE + mining opex, USD per MWh drawn): a
move to a dearer site only frees room, which a sale frees too, and the candidates grow with the
sites squared (10 sites: 5 GB).

Per unit: the NPV (USD) of the mining value lost from the month on, the sale's proceeds less the
row's own planned sale, the depreciation and resale value that change; the gross MW it frees; its
cash per liquidity view and month and taxable income per path and year. No capex.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from minerplan.engine.fleet import fleet_arrays
from minerplan.scenario.months import month_index

from .columns import Columns, grid
from .economics import Economics


class Departure(NamedTuple):
    """A ``move_out`` variable: its row, fleet row, month, destination site, book value per unit (USD) and
    the months of depreciation it has had by then."""

    row: int
    cohort: int
    month: int
    dest: int
    book_usd: float
    held_months: int


def _candidates(eco: Economics) -> tuple[list, list[tuple[int, int, int]], dict[int, tuple[float, int]]]:
    """Candidate cohorts (count 1, retired in their month), ``(fleet row, month, destination or -1 for a
    sale)`` of each, and each move candidate's (book value per unit, months held)."""
    sc, st, fl = eco.sc, eco.st, eco.fl
    n_s, n_m = eco.n_s, eco.n_m
    cands, cand_of = [], []
    move_book: dict[int, tuple[float, int]] = {}   # candidate k (move-out) -> (book value per unit, months held)
    all_in = eco.avg_price.mean(axis=0) * eco.pue + eco.opex_mw / 730.5                # [site] USD per MWh
    destinations = ([d for d in range(n_s) if eco.decided[d] and not eco.has_top[d]] if st.allow_moves else [])
    move_months = set(grid(0, st.move_step_months, n_m, eco.commit_starts))
    for c, co in enumerate(sc.fleet):
        if not eco.decided[fl.site[c]] or co.count <= 0:
            continue
        bought = month_index(sc.start_month, co.purchase_month) if co.purchase_month else -1
        for t in grid(0, st.retire_step_months, n_m, eco.commit_starts):
            if not fl.active[t, c] or t <= bought:
                continue
            if st.allow_retirements:
                cands.append(co.model_copy(update={"count": 1.0, "retire_month": eco.month_labels[t]}))
                cand_of.append((c, t, -1))
            if t + st.move_downtime_months >= n_m or eco.has_top[fl.site[c]] or t not in move_months:
                continue
            held = (t - bought) if bought >= 0 else (co.age_months + t)           # months of depreciation
            book = co.purchase_price_usd * min(max(1.0 - held / co.useful_life_months, 0.0), 1.0)
            for d_site in destinations:
                if d_site == fl.site[c] or all_in[d_site] >= all_in[fl.site[c]]:
                    continue
                move_book[len(cands)] = (book, held)
                cands.append(co.model_copy(update={"count": 1.0, "retire_month": eco.month_labels[t],
                                                   "sale_price_usd": book}))
                cand_of.append((c, t, d_site))
    return cands, cand_of, move_book


def add_retirements(eco: Economics, cols: Columns,
                    progress: Callable[[float, str], None] | None = None) -> tuple[dict[int, float], list[Departure]]:
    """Append the retirement and move-out candidates to ``cols``. Returns each retirement's expected proceeds
    per unit in its month (USD, before tax, by variable) and the move-outs, for their arrivals."""
    sc, st = eco.sc, eco.st
    salvage_unit: dict[int, float] = {}
    departures: list[Departure] = []
    if not ((st.allow_retirements or st.allow_moves) and len(sc.fleet)):
        return salvage_unit, departures
    if progress:
        progress(0.3, "retirement and move options")
    cands, cand_of, move_book = _candidates(eco)
    if not cands:
        return salvage_unit, departures
    fl, r, df, W = eco.fl, eco.tax_rate, eco.df, eco.W
    n_s, n_m, n_p = eco.n_s, eco.n_m, eco.n_p
    mining_unit = eco.mining_unit
    unit_base = [sc.fleet[c].model_copy(update={"count": 1.0}) for c in range(len(sc.fleet))]
    fb = fleet_arrays(sc.model_copy(update={"fleet": unit_base}), eco.big_cap)
    fc = fleet_arrays(sc.model_copy(update={"fleet": cands}), eco.big_cap)
    cidx = np.array([c for c, _, _ in cand_of])
    det_base = r * fb.depreciation_usd - fb.capex_usd                                   # [M, C]
    det_cand = r * fc.depreciation_usd - fc.capex_usd
    # Sales at retirement: the candidate's in its month, less the row's own planned one (per unit).
    s_base, s_cand = eco.salvage(fb), eco.salvage(fc)                                    # [P, C], [P, K]
    t_base, t_cand = fb.retire_index, fc.retire_index
    df0 = np.append(df, 0.0)                                                             # index -1: no sale
    salv_npv = s_cand * df0[t_cand][None, :] - (s_base * df0[t_base][None, :])[:, cidx]
    # Mining value lost from the retirement month on: a reverse cumulative sum over months.
    disc = mining_unit * df[None, :, None]
    tail = np.flip(np.cumsum(np.flip(disc, axis=1), axis=1), axis=1)                   # [P, M, C]
    lost_active = fb.active[:, cidx] & ~fc.active                                       # [M, K]
    tidx = np.array([t for _, t, _ in cand_of])
    det = ((df @ (det_cand - det_base[:, cidx]))[None, :] + (1 - r) * salv_npv
           + eco.residual(fc) - eco.residual(fb)[:, cidx])                                # [P, K]
    coef = -(1 - r) * tail[:, tidx, cidx] + det                                            # [P, K]
    mu_w = np.einsum("wp,pmc->wmc", W, mining_unit)                                     # [view, M, C]
    det_month = det_cand - det_base[:, cidx]                                             # [M, K]
    ti_det = -fc.depreciation_usd + fb.depreciation_usd[:, cidx]                          # [M, K]
    s_cand_w, s_base_w = W @ s_cand, W @ s_base                                          # [view, K], [view, C]
    for k, (c, t, d_site) in enumerate(cand_of):
        # The sale's proceeds per path (s_p) and per cash view (s_w), by month.
        s_w = np.zeros((eco.n_w, n_m))
        if t_cand[k] >= 0:      # -1: no sale inside the horizon (fleet_arrays)
            s_w[:, t_cand[k]] += s_cand_w[:, k]
        if t_base[c] >= 0:
            s_w[:, t_base[c]] -= s_base_w[:, c]
        ti = None
        if eco.carryforward:
            s_p = np.zeros((n_p, n_m))
            if t_cand[k] >= 0:
                s_p[:, t_cand[k]] += s_cand[:, k]
            if t_base[c] >= 0:
                s_p[:, t_base[c]] -= s_base[:, c]
            ti = (-mining_unit[:, :, c] * lost_active[None, :, k] + ti_det[None, :, k] + s_p) @ eco.to_year
        co = sc.fleet[c]
        cap = np.zeros((n_s, n_m))
        cap[fl.site[c]] = -eco.load_mw[c] * lost_active[:, k]
        j = cols.add(dict(kind="retire" if d_site < 0 else "move_out", site=co.site, site_idx=int(fl.site[c]),
                          month_idx=t, month=eco.month_labels[t], business_model="", cohort=c, model=co.model,
                          unit="units", scale_mw=float(eco.load_mw[c]), lb=0.0, ub=float(co.count), integer=False,
                          dest=sc.sites[d_site].name if d_site >= 0 else "", link=-1),
                     coef=coef[:, k], cap=cap,
                     capex=np.zeros(len(eco.years)),  # selling machines needs no capex
                     cf=(-(1 - r) * mu_w[:, :, c] * lost_active[None, :, k] + det_month[None, :, k] + (1 - r) * s_w),
                     ti=ti)
        if d_site < 0:
            salvage_unit[j] = float(s_cand[:, k].mean())
        else:
            departures.append(Departure(j, c, t, d_site, *move_book[k]))
    return salvage_unit, departures
