"""The Pyomo model of a decision space, built one component family at a time: :func:`build_model`.

Objective (USD millions, maximized): E[NPV] - risk_aversion * CVaR_alpha(loss), loss = -NPV
(:mod:`~solvers.model.objective`). The decisions ``x[j]`` are one variable per row of the decision
table (bounds and integrality from it); each family then adds its own variables, rows and NPV terms
under its own names, as GenX and oemof build theirs:

==================================  =========================================================
family                              rows (see each module)
==================================  =========================================================
:mod:`~solvers.model.site_power`    ``capacity``, ``convertible``, ``crews``
:mod:`~solvers.model.budget`        ``budget``
:mod:`~solvers.model.fleet`         ``retire_limit``, ``move_link``
:mod:`~solvers.model.take_or_pay`   ``top_units_b``, ``top_retired_b``, ``top_shortfall_b``
:mod:`~solvers.model.tax`           ``tax_due``, ``tax_monotone``, ``tax_det_def``, ``tax_top_def``
:mod:`~solvers.model.cash_floor`    ``cash_floor``, ``top_cash_def``
:mod:`~solvers.model.objective`     ``objective_def``, ``cvar``, ``det_def`` (and ``theta``)
==================================  =========================================================

Large families are Pyomo ``MatrixConstraint`` blocks built from CSR arrays, which bypasses Pyomo's
expression system and keeps the build time small. HiGHS sees the blocks in the order of their
names (:func:`solvers.highs_form.to_matrix_form`), so the names are part of the model.
"""

from __future__ import annotations

from typing import Callable

import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)

from ..decisions.space import DecisionSpace
from .budget import add_capex_budget
from .cash_floor import add_cash_floor
from .fleet import add_fleet_limits
from .objective import add_objective, add_recourse_bound
from .parts import BuiltModel
from .site_power import add_conversion_limits, add_site_capacity
from .take_or_pay import add_take_or_pay
from .tax import add_carryforward_tax

#: The component families in the order they are added; each decides itself whether it applies (a
#: cash floor only with ``min_cash_usd``, the take-or-pay dispatch and the tax only in the extensive
#: form, ``theta`` only in the decomposition's master). The objective comes last: it reads the path
#: terms the others add.
FAMILIES: tuple[Callable[[BuiltModel], None], ...] = (
    add_site_capacity, add_conversion_limits, add_capex_budget, add_fleet_limits, add_recourse_bound,
    add_take_or_pay, add_carryforward_tax, add_cash_floor, add_objective)


def build_model(space: DecisionSpace, risk_aversion: float, cvar_level: float,
                cancel: Callable[[], bool] | None = None, recourse: str = "extensive") -> BuiltModel:
    """The model of ``space``. ``recourse="extensive"`` writes every path's take-or-pay dispatch and
    carry-forward tax as rows; ``"cuts"`` builds the master problem of the decomposition instead
    (:mod:`solvers.benders`): one variable ``theta[p]`` per path (USD millions) stands for that
    path's recourse and is bounded by cuts added while solving. ``cancel`` is looked at between the
    families (raises :class:`~minerplan.engine.evaluate.Cancelled`)."""
    if recourse not in ("extensive", "cuts"):
        raise ValueError(f"recourse must be 'extensive' or 'cuts', got {recourse!r}")
    t = space.table
    n_var = space.n_var
    m = pyo.ConcreteModel(name="minerplan_capital_allocation")
    m.I = pyo.RangeSet(0, n_var - 1) if n_var else pyo.Set(initialize=[])
    lb, ub, integer = t["lb"].to_numpy(), t["ub"].to_numpy(), t["integer"].to_numpy()

    def bounds(_, j):
        return (float(lb[j]), float(ub[j]))

    def domain(_, j):
        return pyo.NonNegativeIntegers if integer[j] else pyo.NonNegativeReals

    m.x = pyo.Var(m.I, domain=domain, bounds=bounds)
    built = BuiltModel(m, space, risk_aversion=risk_aversion, cvar_level=cvar_level, recourse=recourse,
                       xs=[m.x[j] for j in range(n_var)], cancel=cancel)
    for add_family in FAMILIES:
        add_family(built)
    return built
