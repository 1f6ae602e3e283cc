"""Each path's recourse value of a plan, and a supergradient of it, computed exactly with numpy.

The *recourse* of a plan ``x`` on path ``p`` is what the plan's NPV gets beyond the linear algebra
of :mod:`solvers.decisions` (``base_npv + coef_path @ x``): the take-or-pay sites' dispatch (which
units run, what shortfall is paid, in each month) and, in carry-forward mode, the calendar-year
tax with losses carried forward. It is the optimal value of a linear program in ``x`` (the rows
``top_*`` and ``tax_*`` of :mod:`solvers.model`), so it is concave in ``x``; its value comes from the
closed-form dispatch of :func:`solvers.valuation.take_or_pay_dispatch` and the engine's tax rule.

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

from minerplan.engine.finance import cumulative_tax_with_carryforward

from .decisions.space import DecisionSpace, retirement_slots
from .valuation import take_or_pay_dispatch, taxable_income_by_year, top_income_by_month


class _Evaluation:
    """The exact recourse of one plan and the pieces of its duals, shared by the NPV and cash cuts."""

    def __init__(self, space: DecisionSpace, x: np.ndarray):
        self.space = space
        self.x = x = np.asarray(x, dtype=float)
        n_p = space.prices.shape[0]
        self.dispatch = take_or_pay_dispatch(space, x)
        self.income = top_income_by_month(space, self.dispatch)                    # [P, M] pre-tax USD
        self.keep = 1.0 - space.tax_rate                                            # linear mode: after tax
        self.paid = None                                                            # K[p, y] USD, cumulative
        self.arg = None                                                             # [P, Y] year of max(0, C)
        if space.carryforward:
            inc_y = taxable_income_by_year(space, x, self.income)
            self.paid = cumulative_tax_with_carryforward(inc_y, space.tax_rate_statutory)
            cum = np.cumsum(inc_y, axis=1)
            arg = np.full(inc_y.shape, -1)
            best = np.zeros(n_p)
            run = np.full(n_p, -1)
            for y in range(inc_y.shape[1]):          # years, not paths: the running argmax of max(0, C)
                new = cum[:, y] > best
                best = np.where(new, cum[:, y], best)
                run = np.where(new, y, run)
                arg[:, y] = run
            self.arg = arg
        # Dispatch duals per unit of income weight: beta [P, M] USD per MWh of the minimum,
        # alpha [P, M, K] USD per available unit of each slot (see the module); and each block's
        # retirement decisions with the slots they empty.
        self.duals = []
        for blk, (y, s) in zip(space.top_blocks, self.dispatch):
            v, e, c = blk.value, blk.energy[None], blk.contract_usd_per_mwh
            need = blk.need_mwh - (blk.ai_energy.T @ x if space.n_var else 0.0)
            short = s > 1e-9 * max(1.0, float(np.max(np.abs(need), initial=0.0)))
            if blk.can_curtail:
                with np.errstate(divide="ignore", invalid="ignore"):
                    loss_per_mwh = np.where(e > 0, -v / e, 0.0)
                filled = (v <= 0) & (y > 1e-12)                                      # run only to meet the minimum
                beta = np.where(short, c, np.max(np.where(filled, loss_per_mwh, 0.0), axis=2, initial=0.0))
                alpha = np.maximum(v + beta[:, :, None] * e, 0.0)
            else:
                beta = np.where(short, c, 0.0)
                alpha = v + beta[:, :, None] * e
            self.duals.append((beta, alpha, retirement_slots(space, blk)))

    def dispatch_gradient(self, weight: np.ndarray) -> np.ndarray:
        """d/dx of sum_{p, m} weight[p, m] x income[p, m] (USD per unit of each decision), ``[P, n_var]``."""
        grad = np.zeros((weight.shape[0], self.space.n_var))
        for blk, (beta, alpha, retirements) in zip(self.space.top_blocks, self.duals):
            grad += (beta * weight) @ blk.ai_energy.T                                # AI draw lowers the need
            after = np.cumsum((alpha * weight[:, :, None])[:, ::-1], axis=1)[:, ::-1]  # months >= m
            for j, month, slots in retirements:                                       # decisions, not paths
                grad[:, j] -= after[:, month][:, slots].sum(axis=1)
        return grad

    def cumulative_dispatch_gradient(self, wm: np.ndarray) -> np.ndarray:
        """``[M, n_var]``: row t is d/dx of sum_p sum_{m <= t} wm[p, m] x income[p, m]."""
        out = np.zeros((wm.shape[1], self.space.n_var))
        for blk, (beta, alpha, retirements) in zip(self.space.top_blocks, self.duals):
            b = (beta * wm).sum(axis=0)                                              # [M]
            out += np.cumsum(b[:, None] * blk.ai_energy.T, axis=0)                   # [M, n_var]
            a = np.cumsum((alpha * wm[:, :, None]).sum(axis=0), axis=0)              # [M, K], months <= t
            for j, month, slots in retirements:
                through = a[:, slots].sum(axis=1)                                    # [M]
                before = through[month - 1] if month > 0 else 0.0
                out[month:, j] -= through[month:] - before
        return out


def recourse(space: DecisionSpace, x: np.ndarray, *, gradient: bool = True, evaluation: _Evaluation | None = None):
    """``(Q [path] USD, G [path, n_var] USD per unit or None)`` of plan ``x`` (see the module)."""
    ev = evaluation if evaluation is not None else _Evaluation(space, x)
    n_p, n_m = space.prices.shape
    df = space.discount
    q = (ev.keep * ev.income) @ df
    weight = np.broadcast_to(ev.keep * df, (n_p, n_m)).copy()                       # NPV per USD of income
    direct = np.zeros((n_p, space.n_var))
    if space.carryforward:
        g = space.tax_npv_weights                                                    # >= 0
        q = q - ev.paid @ g
        if gradient:
            rate = space.tax_rate_statutory
            gamma = np.zeros(ev.paid.shape)                                          # d(tax NPV)/d(rate C[p, y])
            rows = np.arange(n_p)
            for y in range(g.size):
                has = ev.arg[:, y] >= 0
                np.add.at(gamma, (rows[has], ev.arg[has, y]), g[y])
            big_gamma = np.cumsum(gamma[:, ::-1], axis=1)[:, ::-1]                   # income in year y -> all C[y' >= y]
            if space.n_var:
                direct = -rate * np.einsum("py,pyj->pj", big_gamma, space.taxable_x)
            weight -= rate * big_gamma[:, space.year_of_month]
    if not gradient:
        return q, None
    if not space.n_var:
        return q, direct
    return q, direct + ev.dispatch_gradient(weight)


def cash_recourse(space: DecisionSpace, x: np.ndarray, evaluation: _Evaluation | None = None):
    """The recourse's part of each liquidity view's cumulative cash by month, and its supergradient.

    ``R[w, t]`` (USD) = sum_p weight[w, p] (take-or-pay dispatch income through month t, after tax in
    linear mode, less the carry-forward tax paid by then); ``H[w, t, n_var]`` a supergradient (it is
    concave in the plan for the reason the NPV recourse is: more dispatch income never lowers cash,
    as tax takes at most the rate of it). The decomposition cuts the cash floor's ``rho[w, t]`` with it.
    """
    ev = evaluation if evaluation is not None else _Evaluation(space, x)
    n_p, n_m = space.prices.shape
    wts = space.cash_weights                                                         # [W, P]
    n_w = wts.shape[0]
    value = wts @ np.cumsum(ev.keep * ev.income, axis=1)                             # [W, M]
    grad = np.zeros((n_w, n_m, space.n_var))
    # The last calendar year whose tax is paid by month t (-1: none yet); tax is paid in a year's last month.
    done = space.last_year_paid if space.carryforward else np.full(n_m, -1)
    rate = space.tax_rate_statutory
    cumtx = np.cumsum(space.taxable_x, axis=1) if space.carryforward and space.n_var else None   # [P, Y, n_var]
    for yd in np.unique(done):
        months = np.flatnonzero(done == yd)
        weight = np.full((n_p, n_m), ev.keep)
        direct = np.zeros((n_w, space.n_var))
        if yd >= 0:
            value[:, months] -= (wts @ ev.paid[:, yd])[:, None]
            a = ev.arg[:, yd]                                                        # [P] year of the max, -1 none
            taxed = (a[:, None] >= 0) & (space.year_of_month[None, :] <= a[:, None])  # income counted in K[p, yd]
            weight = weight - rate * taxed
            if cumtx is not None:
                has = a >= 0
                direct = -rate * (wts[:, has] @ cumtx[np.flatnonzero(has), a[has]])  # [W, n_var]
        for w in range(n_w):
            per_month = np.zeros((n_m, space.n_var))
            if space.n_var and space.top_blocks:
                # the dispatch gradient of months <= t is a running sum over months of a path-weighted sum
                per_month = ev.cumulative_dispatch_gradient(wts[w][:, None] * weight)   # [M, n_var]
            grad[w, months] = per_month[months] + direct[w][None, :]
    return value, grad


def max_dispatch_income(space: DecisionSpace) -> np.ndarray:
    """``[path, month]`` USD: the most any plan's take-or-pay dispatch earns (after tax in linear mode):
    every slot with a positive value runs all its units and no shortfall is paid."""
    out = np.zeros(space.prices.shape)
    for blk in space.top_blocks:
        units = blk.units_base[:, blk.slot_cohort].astype(float)                    # [M, K]
        out += (1.0 - space.tax_rate) * (np.maximum(blk.value, 0.0) * units[None]).sum(axis=2)
    return out


def recourse_upper_bound(space: DecisionSpace) -> np.ndarray:
    """A value no plan's recourse exceeds on each path (USD): :func:`max_dispatch_income` with no tax due.
    Bounds the master's recourse variables."""
    return max_dispatch_income(space) @ space.discount
