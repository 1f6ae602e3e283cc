"""What a plan is worth, exactly: each path's NPV of a plan ``x``, with the take-or-pay dispatch and the tax.

The model's own valuation is not used for the plan's value: its take-or-pay dispatch variables have
tiny objective coefficients (one path's share of a unit's monthly margin, in USD millions), so within
HiGHS's tolerances a slot worth a few cents a unit may be left off. Here, per plan ``x`` (one value
per row of the decision table): the closed-form dispatch of each take-or-pay site
(:func:`take_or_pay_dispatch`, the engine's rule), the carry-forward tax by the engine's rule
(:func:`tax_paid_by_month`) and so each path's NPV (:func:`plan_npv_by_path`, USD), which is what
``minerplan evaluate`` of the plan computes. Also: the CVaR of a loss, a HiGHS solution's decisions
cleaned for the plan (:func:`plan_x`), rounded to whole machines (:func:`whole_units`), and what one
more unit of a purchase candidate adds to a plan (:func:`purchase_margins`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from minerplan.engine.finance import tax_with_carryforward

from .decisions.space import DecisionSpace, TopBlock, retirement_slots

if TYPE_CHECKING:
    from .highs_backend import HighsModel
    from .model.parts import BuiltModel


def cvar_of_loss(npv: np.ndarray, level: float) -> float:
    """CVaR (USD) of the loss -NPV at ``level``: the mean loss over the worst (1 - level) share of paths.

    Computed as min over eta of eta + E[(loss - eta)+] / (1 - level) (Rockafellar-Uryasev), which
    handles a tail that splits a path exactly as the optimizer's linear program does.
    """
    loss = np.sort(-np.asarray(npv, dtype=float))[::-1]
    n = loss.size
    tail = (1 - level) * n
    k = int(np.floor(tail))
    total = loss[:k].sum() + (tail - k) * (loss[k] if k < n else 0.0)
    return float(total / tail)


def plan_npv_by_path(space: DecisionSpace, x: np.ndarray, dispatch: list | None = None) -> np.ndarray:
    """Each path's NPV (USD) of plan ``x``: the coefficient algebra of :mod:`solvers.decisions`,
    the exact take-or-pay dispatch and the exact carry-forward tax (what ``minerplan evaluate``
    of :func:`plan_scenario` computes)."""
    dispatch = take_or_pay_dispatch(space, x) if dispatch is None else dispatch
    npv = space.base_npv + (space.coef_path @ x if space.n_var else 0.0)
    npv = npv + ((1 - space.tax_rate) * top_income_by_month(space, dispatch)) @ space.discount
    if space.carryforward:
        npv = npv - tax_paid_by_month(space, x, dispatch) @ space.discount
    return np.asarray(npv, dtype=float)


def _units_available(space: DecisionSpace, blk: TopBlock, x: np.ndarray) -> np.ndarray:
    """Units of each slot's fleet row installed in each month under plan ``x``, ``[month, slot]``."""
    u = blk.units_base[:, blk.slot_cohort].astype(float)                          # [M, K]
    for j, month, slots in retirement_slots(space, blk):
        if x[j] > 0:
            u[month:, slots] -= x[j]
    return np.maximum(u, 0.0)


def take_or_pay_dispatch(space: DecisionSpace, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each take-or-pay site's best dispatch under plan ``x``, per block: units running in each slot
    ``y [path, month, slot]`` and MWh short of the minimum ``s [path, month]``.

    This is the engine's rule (:mod:`minerplan.engine.evaluate`: the LP optimum of each path, month and
    site), computed exactly as a fractional knapsack: every slot with a positive value runs;
    while the energy drawn is below the minimum, slots whose loss per MWh is below the contract
    price (prepaid energy) run too, best value per MWh first, the last in part. The plan's value
    is computed from this dispatch, never from HiGHS's dispatch variables: their objective
    coefficients are tiny (one path's share of a unit's monthly margin, in USD millions), so
    within HiGHS's tolerances a slot worth a few cents a unit may be left off; at 500 paths that
    under-valued the shipped scenario's plan by $475,000 against the engine.
    """
    out = []
    for blk in space.top_blocks:
        u = _units_available(space, blk, x)                                          # [M, K]
        need = blk.need_mwh - (blk.ai_energy.T @ x if space.n_var else 0.0)          # [M]
        n_p, n_m, k = blk.value.shape
        y = np.empty((n_p, n_m, k))
        step = max(1, DISPATCH_CHUNK // max(n_m * k, 1))                               # paths at a time
        for lo in range(0, n_p, step):
            y[lo:lo + step] = _knapsack(blk.value[lo:lo + step], blk.energy, u, need, blk.contract_usd_per_mwh,
                                        blk.can_curtail)
        s = np.maximum(need[None, :] - (y * blk.energy[None]).sum(axis=2), 0.0)
        out.append((y, s))
    return out


#: Entries (path x month x slot) of the take-or-pay dispatch computed at once: bounds its temporaries.
DISPATCH_CHUNK = 1_000_000


def _knapsack(v: np.ndarray, e: np.ndarray, u: np.ndarray, need: np.ndarray, contract: float,
              can_curtail: bool) -> np.ndarray:
    """Units running per slot, ``[path, month, slot]``, for slot values ``v`` (USD per unit), energy ``e``
    (MWh per unit), units ``u`` and the minimum ``need`` (MWh); see :func:`take_or_pay_dispatch`."""
    if not can_curtail:
        return np.broadcast_to(u, v.shape).copy()
    y = np.where(v > 0, u[None], 0.0)
    short = np.maximum(need[None, :] - (y * e[None]).sum(axis=2), 0.0)             # [P, M] MWh
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mwh = np.where(e[None] > 0, v / e[None], -np.inf)                      # USD per MWh drawn
    fill = (v <= 0) & (per_mwh > -contract)                                          # worth it on prepaid energy
    order = np.argsort(np.where(fill, -per_mwh, np.inf), axis=2, kind="stable")
    room = np.where(fill, (u * e)[None], 0.0)                                        # MWh each such slot can draw
    room_sorted = np.take_along_axis(room, order, axis=2)
    before = np.cumsum(room_sorted, axis=2) - room_sorted
    take = np.clip(short[:, :, None] - before, 0.0, room_sorted)
    share_sorted = np.divide(take, room_sorted, out=np.zeros_like(take), where=room_sorted > 0)
    share = np.empty_like(share_sorted)
    np.put_along_axis(share, order, share_sorted, axis=2)
    return y + share * u[None]


def top_income_by_month(space: DecisionSpace, dispatch: list) -> np.ndarray:
    """Pre-tax income of the take-or-pay dispatch, ``[path, month]`` USD (0 without such sites)."""
    n_p, n_m = space.prices.shape
    out = np.zeros((n_p, n_m))
    for (y, s), blk in zip(dispatch, space.top_blocks):
        out += (blk.value * y).sum(axis=2) - blk.contract_usd_per_mwh * s
    return out


def tax_paid_by_month(space: DecisionSpace, x: np.ndarray, dispatch: list) -> np.ndarray:
    """Carry-forward tax of the plan per path, paid in each calendar year's last month, ``[path, month]`` USD."""
    n_p, n_m = space.prices.shape
    if not space.carryforward:
        return np.zeros((n_p, n_m))
    income = taxable_income_by_year(space, x, top_income_by_month(space, dispatch))
    out = np.zeros((n_p, n_m))
    out[:, space.year_ends] = tax_with_carryforward(income, space.tax_rate_statutory)
    return out


def taxable_income_by_year(space: DecisionSpace, x: np.ndarray, top_income: np.ndarray) -> np.ndarray:
    """Plan ``x``'s taxable income per path and calendar year (carry-forward mode), ``[path, year]`` USD:
    the decisions' linear part and the take-or-pay dispatch income ``top_income`` ``[path, month]``."""
    return (space.taxable_base + (space.taxable_x @ x if space.n_var else 0.0)
            + top_income @ space.year_onehot)


def whole_units(space: DecisionSpace, x: np.ndarray) -> np.ndarray:
    """``x`` with machine purchases and retirements in whole units (issue 12: "1,348.19 units").

    Purchases round down and retirements up, so the plan never draws more than a site's capacity
    nor spends more than its budget; a cohort's retirements stay within its units (taken in month
    order), and one that would leave less than one machine of the row behind takes the rest too (an
    entered count of 1,348.19 sold whole, not 1,348 with a stub of 0.19 machines kept running). The
    optimizer keeps these continuous (whole-number variables would make a large MIP for a difference
    of a few dollars); the value of rounding is reported with the plan.
    """
    if not space.n_var:
        return x
    t = space.table
    out = x.copy()
    kind = t["kind"].to_numpy()
    units = t["unit"].to_numpy() == "units"
    buy = np.flatnonzero((kind == "buy") & units)
    out[buy] = np.floor(out[buy] + 1e-6)
    retire = np.flatnonzero((kind == "retire") & units)
    left: dict = {}
    # A move's two sides move the same whole units, rounded down (the destination never goes over capacity);
    # they come off the fleet row's units before its retirements are rounded.
    if "link" in t:
        link = t["link"].to_numpy()
        arrive = {int(link[j]): j for j in np.flatnonzero(kind == "move_in")}
        for j in np.flatnonzero(kind == "move_out"):
            whole = float(np.floor(out[j] + 1e-6))
            out[j] = out[arrive[int(link[j])]] = whole
            key = (t["site_idx"].iat[j], t["cohort"].iat[j])
            left[key] = left.get(key, float(t["ub"].iat[j])) - whole
    for j in sorted(retire, key=lambda j: (t["site_idx"].iat[j], t["cohort"].iat[j], t["month_idx"].iat[j])):
        key = (t["site_idx"].iat[j], t["cohort"].iat[j])
        avail = left.setdefault(key, float(t["ub"].iat[j]))
        r = min(float(np.ceil(out[j] - 1e-6)), np.floor(avail + 1e-6)) if out[j] > 1e-9 else 0.0
        if r > 0 and avail - r < 1.0 - 1e-6:
            r = avail                   # no fraction of a machine left behind a sale
        out[j] = max(r, 0.0)
        left[key] = avail - out[j]
    return out


def plan_x(space: DecisionSpace, built: BuiltModel, hm: HighsModel, sol: np.ndarray) -> np.ndarray:
    """The decisions of a HiGHS solution, cleaned for the plan: within their bounds, integers
    rounded, specks below 1e-9 dropped (so the plan, its tables and its value agree)."""
    if not space.n_var:
        return np.zeros(0)
    cols = {id(v): i for i, v in enumerate(hm.form.col_vars)}
    x = np.array([sol[cols[id(built.model.x[j])]] for j in range(space.n_var)], dtype=float)
    t = space.table
    x = np.clip(x, t["lb"].to_numpy(float), t["ub"].to_numpy(float))
    x = np.where(np.abs(x) < 1e-9, 0.0, x)
    ints = t["integer"].to_numpy(bool)
    x[ints] = np.round(x[ints])
    return x


def purchase_margins(space: DecisionSpace, x: np.ndarray, dispatch: list,
                     cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What one more unit of each purchase candidate in ``cands`` adds to plan ``x``'s NPV (USD):
    ``(expected, tail)`` arrays ``[n_var]``, NaN outside ``cands``; ``tail`` is the mean over the plan's
    worst ``1 - cvar_level`` of paths. Exact: purchases never change the take-or-pay dispatch
    (none at those sites), and the carry-forward tax is recomputed with the unit's taxable income."""
    value = np.full(space.n_var, np.nan)
    tail = np.full(space.n_var, np.nan)
    if not len(cands):
        return value, tail
    npv = plan_npv_by_path(space, x, dispatch)
    n_p = npv.size
    worst = np.argsort(npv, kind="stable")[:max(int(np.ceil((1 - space.settings.cvar_level) * n_p)), 1)]
    if space.carryforward:
        income = taxable_income_by_year(space, x, top_income_by_month(space, dispatch))   # [P, Y]
        df_y = space.discount[space.year_ends]

        def tax_pv(inc: np.ndarray) -> np.ndarray:
            """Discounted carry-forward tax of each path (USD), as tax_paid_by_month computes it."""
            return tax_with_carryforward(inc, space.tax_rate_statutory) @ df_y

        base_tax = tax_pv(income)
    for j in cands:
        delta = space.coef_path[:, j]
        if space.carryforward:
            delta = delta - (tax_pv(income + space.taxable_x[:, :, j]) - base_tax)
        value[j] = float(delta.mean())
        tail[j] = float(delta[worst].mean())
    return value, tail
