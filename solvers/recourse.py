"""Each path's recourse value of a plan, and a supergradient of it, computed exactly with numpy.

The *recourse* of a plan ``x`` on path ``p`` is what the plan's NPV gets beyond the linear algebra
of :mod:`solvers.decisions` (``base_npv + coef_path @ x``): the take-or-pay sites' dispatch (which
units run, what shortfall is paid, in each month) and, in carry-forward mode, the calendar-year
tax with losses carried forward. It is the optimal value of a linear program in ``x`` (the rows
``top_*`` and ``tax_*`` of :mod:`solvers.model`), so it is concave in ``x``; its value comes from the
closed-form dispatch of :func:`solvers.optimize.take_or_pay_dispatch` and the engine's tax rule.

A supergradient ``g`` (USD per unit of each decision) makes the cut
``Q_p(x') <= Q_p(x) + g . (x' - x)`` for every plan ``x'``, which the decomposition
(:mod:`solvers.benders`) adds to its master problem. It is built from optimal dual values of that
linear program, written down in closed form:

- tax: the tax NPV is ``sum_y g_y rate max(0, C_1 .. C_y)`` over cumulative taxable incomes ``C``;
  a subgradient of each max is the unit vector of the year that attains it (none when it is 0),
  so a unit of income in year ``y`` costs ``rate * Gamma_y`` of NPV (``Gamma_y`` the discount weight
  of the tax payments it raises);
- dispatch: with that tax weight, each (path, month) is a fractional knapsack whose dual is the
  price of a MWh against the minimum (``beta``: the contract price while short, else the loss per
  MWh of the last slot run to fill it, else 0) and each slot's value per available unit
  (``alpha = max(0, value + beta energy)``; exactly that without curtailment).

Both are exact LP duals (complementary slackness holds with the greedy dispatch), so the cuts are
valid: ``tests/test_benders.py`` checks concavity against random plans and the value against the
full linear program.
"""

from __future__ import annotations

import numpy as np

from .decisions import DecisionSpace


def recourse(space: DecisionSpace, x: np.ndarray, *, gradient: bool = True):
    """``(Q [path] USD, G [path, n_var] USD per unit or None)`` of plan ``x`` (see the module)."""
    from .optimize import _top_income_by_month, take_or_pay_dispatch

    n_p, n_m = space.prices.shape
    n_var = space.n_var
    x = np.asarray(x, dtype=float)
    dispatch = take_or_pay_dispatch(space, x)
    income = _top_income_by_month(space, dispatch)                                   # [P, M] pre-tax USD
    df = space.discount
    keep = 1.0 - space.tax_rate                                                      # linear mode: after tax
    q = (keep * income) @ df
    grad = np.zeros((n_p, n_var)) if gradient else None
    weight = np.broadcast_to(keep * df, (n_p, n_m)).copy() if gradient else None     # NPV per USD of income
    if space.carryforward:
        ym = space.year_of_month
        n_y = int(ym.max()) + 1
        onehot = (ym[:, None] == np.arange(n_y)[None, :]).astype(float)
        inc_y = space.taxable_base + (space.taxable_x @ x if n_var else 0.0) + income @ onehot   # [P, Y]
        cum = np.cumsum(inc_y, axis=1)
        rate = space.tax_rate_statutory
        last = np.array([np.flatnonzero(ym == y)[-1] for y in range(n_y)])
        df_end = df[last]
        g = df_end - np.concatenate([df_end[1:], [0.0]])                             # >= 0
        paid = rate * np.maximum.accumulate(np.maximum(cum, 0.0), axis=1)            # K[p, y], cumulative
        q = q - paid @ g
        if gradient:
            gamma = np.zeros((n_p, n_y))                                             # d(tax NPV)/d(rate C[p, y])
            best = np.zeros(n_p)
            arg = np.full(n_p, -1)
            rows = np.arange(n_p)
            for y in range(n_y):                     # years, not paths: the running argmax of max(0, C)
                new = cum[:, y] > best
                best = np.where(new, cum[:, y], best)
                arg = np.where(new, y, arg)
                has = arg >= 0
                np.add.at(gamma, (rows[has], arg[has]), g[y])
            big_gamma = np.cumsum(gamma[:, ::-1], axis=1)[:, ::-1]                   # income in year y -> all C[y' >= y]
            if n_var:
                grad -= rate * np.einsum("py,pyj->pj", big_gamma, space.taxable_x)
            weight -= rate * big_gamma[:, ym]
    if not gradient or not n_var:
        return q, grad
    t = space.table
    retire = np.flatnonzero((t["kind"] == "retire").to_numpy())
    cohort = t["cohort"].to_numpy()
    month = t["month_idx"].to_numpy()
    for blk, (y, s) in zip(space.top_blocks, dispatch):
        v, e, c = blk.value, blk.energy[None], blk.contract_usd_per_mwh              # [P, M, K], [1, M, K]
        need = blk.need_mwh - blk.ai_energy.T @ x                                    # [M] MWh
        short = s > 1e-9 * max(1.0, float(np.max(np.abs(need), initial=0.0)))
        if blk.can_curtail:
            with np.errstate(divide="ignore", invalid="ignore"):
                loss_per_mwh = np.where(e > 0, -v / e, 0.0)
            filled = (v <= 0) & (y > 1e-12)                                          # run only to meet the minimum
            beta = np.where(short, c, np.max(np.where(filled, loss_per_mwh, 0.0), axis=2, initial=0.0))
            alpha = np.maximum(v + beta[:, :, None] * e, 0.0)
        else:
            beta = np.where(short, c, 0.0)
            alpha = v + beta[:, :, None] * e
        beta = beta * weight                                                          # NPV per MWh of need
        alpha = alpha * weight[:, :, None]                                            # NPV per available unit
        grad += beta @ blk.ai_energy.T                                               # AI draw lowers the need
        after = np.cumsum(alpha[:, ::-1], axis=1)[:, ::-1]                           # sum over months >= m
        row_of_slot = blk.cohorts[blk.slot_cohort]
        for j in retire:                                                              # decisions, not paths
            slots = np.flatnonzero(row_of_slot == cohort[j])
            if slots.size:
                grad[:, j] -= after[:, month[j]][:, slots].sum(axis=1)
    return q, grad


def recourse_upper_bound(space: DecisionSpace) -> np.ndarray:
    """A value no plan's recourse exceeds on each path (USD): every slot with a positive value runs
    all its units, no shortfall is paid and no tax is due. Bounds the master's recourse variables."""
    n_p = space.prices.shape[0]
    ub = np.zeros(n_p)
    keep = 1.0 - space.tax_rate
    for blk in space.top_blocks:
        units = blk.units_base[:, blk.slot_cohort].astype(float)                    # [M, K]
        ub += keep * (np.maximum(blk.value, 0.0) * units[None]).sum(axis=2) @ space.discount
    return ub
