"""The model as arrays for HiGHS: :func:`to_matrix_form` reads a Pyomo model into a :class:`MatrixForm`.

Our own reading instead of Pyomo's solver interfaces: ``MatrixConstraint`` blocks are taken as CSR
arrays directly (no expression walking), so translation stays far cheaper than the solve. Columns
and row blocks come in Pyomo's sorted order (component names, then indices), and each row keeps
its block's name and its index in the block (``row_block``), which is how results name rows
(:func:`solvers.model.duals.assign_duals`). :func:`new_highs` makes a silent ``highspy.Highs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.core as pyo  # not pyomo.environ: its contrib plugins trip PySide6's import hook (see solvers/__init__.py)
from pyomo.core.base.matrix_constraint import MatrixConstraint
from pyomo.repn.standard_repn import generate_standard_repn

INF = highspy.kHighsInf
_banner_shown = False


def new_highs() -> highspy.Highs:
    """A silent ``highspy.Highs``.

    HiGHS prints a copyright banner to the process's stdout the first time an
    instance is made, before any option can silence it; that would corrupt
    ``minerplan optimize --json``. The first construction runs with file
    descriptor 1 pointed at /dev/null.
    """
    global _banner_shown
    if not _banner_shown:
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_shown = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class MatrixForm:
    """The model as arrays: columns, rows (CSR), objective (maximize)."""

    col_vars: list
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    cost: np.ndarray
    offset: float
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    row_block: list[tuple[str, int]]   # (block name, row within the block) per row
    maximize: bool = True

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.row_lower), len(self.col_vars), len(self.a_value)


def to_matrix_form(model: pyo.ConcreteModel) -> MatrixForm:
    col_vars = list(model.component_data_objects(pyo.Var, active=True, descend_into=True, sort=True))
    col_of = {id(v): i for i, v in enumerate(col_vars)}
    n = len(col_vars)
    lo = np.array([-INF if v.lb is None else v.lb for v in col_vars], dtype=float)
    up = np.array([INF if v.ub is None else v.ub for v in col_vars], dtype=float)
    integer = np.array([v.is_integer() for v in col_vars], dtype=bool)

    starts, indices, values, rlo, rup, blocks = [np.zeros(1, dtype=np.int64)], [], [], [], [], []
    nnz = 0
    for con in model.component_objects(pyo.Constraint, active=True, descend_into=True, sort=True):
        if isinstance(con, MatrixConstraint):
            xmap = np.array([col_of[id(v)] for v in con._x], dtype=np.int32)
            ptr = np.asarray(con._A_indptr, dtype=np.int64)
            idx = xmap[np.asarray(con._A_indices, dtype=np.int64)] if len(con._A_indices) else np.zeros(0, np.int32)
            val = np.asarray(con._A_data, dtype=float)
            starts.append(ptr[1:] + nnz)
            indices.append(idx)
            values.append(val)
            nnz += val.size
            rlo.extend(-INF if b is None else b for b in con._lower)
            rup.extend(INF if b is None else b for b in con._upper)
            blocks.extend((con.local_name, i) for i in range(len(con._lower)))
        else:
            for i, data in enumerate(con.values()):
                repn = generate_standard_repn(data.body, compute_values=True)
                if repn.nonlinear_expr is not None or repn.quadratic_vars:
                    raise ValueError(f"constraint {data.name} is not linear")
                idx = np.array([col_of[id(v)] for v in repn.linear_vars], dtype=np.int32)
                val = np.array(repn.linear_coefs, dtype=float)
                const = float(repn.constant)
                starts.append(np.array([nnz + idx.size]))
                indices.append(idx)
                values.append(val)
                nnz += idx.size
                rlo.append(-INF if data.lower is None else pyo.value(data.lower) - const)
                rup.append(INF if data.upper is None else pyo.value(data.upper) - const)
                blocks.append((con.local_name, i))
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    repn = generate_standard_repn(obj.expr, compute_values=True)
    cost = np.zeros(n)
    for v, c in zip(repn.linear_vars, repn.linear_coefs):
        cost[col_of[id(v)]] += c
    return MatrixForm(col_vars, lo, up, integer, cost, float(repn.constant), np.array(rlo, dtype=float),
                      np.array(rup, dtype=float), np.concatenate(starts).astype(np.int32),
                      np.concatenate(indices).astype(np.int32) if indices else np.zeros(0, np.int32),
                      np.concatenate(values) if values else np.zeros(0), blocks,
                      maximize=obj.sense == pyo.maximize)
