"""Sparse rows for Pyomo's ``MatrixConstraint``: CSR arrays from dense rows, a dense matrix or COO triplets.

Large constraint families are ``MatrixConstraint`` blocks built from CSR arrays, which bypasses
Pyomo's expression system and keeps the build time small (numpy arrays; MatrixConstraint indexes
them like lists). Entries equal to zero are left out.
"""

from __future__ import annotations

import numpy as np


def csr_from_rows(dense_rows: list[np.ndarray]):
    """CSR arrays ``(data, indices, indptr)`` of a list of dense row vectors."""
    if not dense_rows:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    return csr_from_matrix(np.vstack(dense_rows))


def csr_from_matrix(mat: np.ndarray):
    """CSR of a 2-D dense numpy matrix, vectorized."""
    mask = mat != 0
    counts = mask.sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    rows, cols = np.nonzero(mask)
    return mat[rows, cols], cols, indptr


def csr_from_coo(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int):
    """CSR of ``n_rows`` rows from COO triplets (entries sorted by row, then column)."""
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return vals, cols, ptr
