"""What the model's component families write into: :class:`BuiltModel` and its named row families.

Each family (:mod:`~solvers.model.site_power`, :mod:`~solvers.model.budget`,
:mod:`~solvers.model.fleet`, :mod:`~solvers.model.take_or_pay`, :mod:`~solvers.model.tax`,
:mod:`~solvers.model.cash_floor`, :mod:`~solvers.model.objective`) adds its variables and rows to
one Pyomo model through :meth:`BuiltModel.add_rows`, which names the rows (a :class:`RowFamily`:
what identifies a row, and the unit of its right-hand side), so :func:`solvers.model.duals.assign_duals`
maps every row's dual to a named frame in one loop (PyPSA's ``assign_duals``). The terms a family
adds to each path's NPV beyond the decisions (take-or-pay dispatch, carry-forward tax, the
decomposition's recourse) are :class:`PathTerm` s: the objective takes their mean over the paths and
the CVaR rows each path's own.

The model works in USD millions (``USD_M``) for numerical scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)
from pyomo.core.base.matrix_constraint import MatrixConstraint

from minerplan.engine.evaluate import Cancelled

from ..decisions.space import DecisionSpace
from .sparse import csr_from_rows

USD_M = 1e6  # the model works in USD millions for numerical scale


@dataclass
class RowFamily:
    """A named block of rows (one Pyomo ``MatrixConstraint``, one block of rows in HiGHS).

    ``keys`` names what identifies a row and ``labels`` holds, per key, one value per row (site
    names, month indices from the scenario's start, calendar years, path numbers, ...). ``unit`` is
    one unit of the row's right-hand side ("MW", "USD", "machine", "MWh") and ``per_unit`` how many
    of the model's row units make one ``unit`` (``1 / USD_M`` for rows in USD millions; an array for
    rows scaled one by one), so a dual (USD millions per model unit) is ``dual * USD_M * per_unit``
    USD per ``unit``.
    """

    name: str
    component: str
    keys: tuple[str, ...]
    labels: dict[str, np.ndarray | list]
    unit: str
    per_unit: float | np.ndarray = 1.0

    def label(self, i: int) -> tuple:
        """Row ``i``'s keys, as plain Python values."""
        return tuple(v.item() if isinstance(v, np.generic) else v for v in (self.labels[k][i] for k in self.keys))


@dataclass
class PathTerm:
    """Variables in each path's NPV beyond the decisions: ``width`` per path, path-major (``vars[p * width + k]``).

    ``coef``: USD millions per unit of each variable, ``[P, width]`` when it differs by path, ``[width]``
    when every path's block has the same coefficients.
    """

    vars: list
    coef: np.ndarray

    @property
    def width(self) -> int:
        return self.coef.shape[-1]


@dataclass
class TopVars:
    """A take-or-pay block's variables: ``y[p, m, k]`` shares of the slot's installed units running and
    ``s[p, m]`` shares of ``need_unit`` MWh short (path-major), their NPV per share (USD M; ``y_value``
    ``[P, M * K]``, ``s_value`` ``[M]``), the units per 1.0 of y (``unit`` ``[M, K]``) and the MWh per 1.0 of s."""

    y: list
    s: list
    y_value: np.ndarray
    s_value: np.ndarray
    unit: np.ndarray
    need_unit: float


@dataclass
class BuiltModel:
    """The Pyomo model of a decision space, with its named row families and the variables others read."""

    model: pyo.ConcreteModel
    space: DecisionSpace
    risk_aversion: float = 0.0
    cvar_level: float = 0.95
    #: "extensive": every path's take-or-pay dispatch and carry-forward tax as rows; "cuts": the
    #: decomposition's master (:mod:`solvers.benders`), one recourse variable per path bounded by cuts.
    recourse: str = "extensive"
    xs: list = field(default_factory=list)                 # x[j], the decisions, in the table's order
    families: dict[str, RowFamily] = field(default_factory=dict)   # row block name -> its family
    path_terms: list[PathTerm] = field(default_factory=list)
    take_or_pay: list[TopVars] = field(default_factory=list)       # per take-or-pay block (extensive form)
    tax_vars: list = field(default_factory=list)      # K[p, y], cumulative tax paid, USD M (carry-forward mode)
    credit_vars: list = field(default_factory=list)   # credit drawn per (view, month), USD M
    #: theta[p], each path's recourse (USD M) in the decomposition's master problem; empty otherwise.
    theta_vars: list = field(default_factory=list)
    #: rho[w, t], the recourse's cash through month t on view w (USD M) in the master's cash floor rows.
    rho_vars: list = field(default_factory=list)
    cancel: Callable[[], bool] | None = None

    @property
    def n_paths(self) -> int:
        return self.space.prices.shape[0]

    def stop_if_asked(self, what: str) -> None:
        """Raise Cancelled when Cancel (or the deadline) says so: building 2,000 paths takes ~1 s, so it
        is looked at between the families."""
        if self.cancel is not None and self.cancel():
            raise Cancelled(what)

    def add_rows(self, name: str, component: str, csr, lower: list, upper: list, cols: list, *,
                 keys: tuple[str, ...], labels: dict, unit: str, per_unit: float | np.ndarray = 1.0) -> None:
        """Add the rows ``lower <= A cols <= upper`` (``csr``: A's data, indices, indptr) as block ``name``."""
        data, idx, ptr = csr
        setattr(self.model, name, MatrixConstraint(data, idx, ptr, lower, upper, cols))
        self.families[name] = RowFamily(name, component, keys, labels, unit, per_unit)

    def add_dense_rows(self, name: str, component: str, rows: list[np.ndarray], lower: list, upper: list,
                       labels: list[tuple], *, keys: tuple[str, ...], unit: str, per_unit: float = 1.0) -> None:
        """Add dense rows over the decisions (nothing when ``rows`` is empty); ``labels``: one key tuple per row."""
        if not rows:
            return
        columns = {k: [lab[i] for lab in labels] for i, k in enumerate(keys)}
        self.add_rows(name, component, csr_from_rows(rows), lower, upper, self.xs, keys=keys, labels=columns,
                      unit=unit, per_unit=per_unit)
