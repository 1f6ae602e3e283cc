"""Random draws for the market paths: seeds, correlated standard normals, and the checks of every argument.

:func:`as_rng` turns a seed into a numpy Generator; :func:`correlated_normals` draws ``K`` series of
standard normals ``[K, path, month]`` with a given correlation matrix (its root from
:func:`correlation_root`: Cholesky, or an eigen-decomposition root when only positive semidefinite).
:func:`check_shape`, :func:`check_number` and :func:`step_shocks` refuse arguments the path functions
cannot use, naming them; :func:`cumulate` turns monthly log steps into factors (1 at month 0).

:func:`correlated_normals` applies a triangular root in place instead of ``np.tensordot`` (measured,
issue 13): 25 ms against 42 ms (and 74 ms for ``@``) for 4 series x 10,000 paths x 60 months (40 ms
against 66 ms and 61 ms in a busier run), with no second array of that size.
"""

from __future__ import annotations

import math

import numpy as np

#: One month in years.
DT = 1.0 / 12.0

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator: ``seed`` itself when it is one, else ``default_rng(seed)``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)):
        raise TypeError(f"seed must be an integer, a numpy Generator or None, not {type(seed).__name__}")
    return np.random.default_rng(seed)


def check_shape(n_paths, n_months) -> tuple[int, int]:
    for name, v in (("n_paths", n_paths), ("n_months", n_months)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, not {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    return int(n_paths), int(n_months)


def check_number(name: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
                 hi_open: bool = False) -> float:
    """``value`` as a finite float within [lo, hi] (open ends when asked), or a ValueError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not bool")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {v:g}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {v:g}")
    return v


def step_shocks(name: str, shocks, n_paths: int, n_months: int) -> np.ndarray:
    """Standard normals for the ``n_months - 1`` steps.

    Accepts ``[n_paths, n_months]`` (column ``t`` drives the step into month ``t``;
    column 0 is ignored, as :func:`correlated_normals` gives) or ``[n_paths, n_months - 1]``.
    """
    z = np.asarray(shocks, dtype=float)
    if z.ndim != 2 or z.shape[0] != n_paths or z.shape[1] not in (n_months, n_months - 1):
        raise ValueError(f"{name} must have shape ({n_paths}, {n_months}) or ({n_paths}, {n_months - 1}), "
                         f"got {z.shape}")
    if z.shape[1] == n_months:
        z = z[:, 1:]
    if not np.all(np.isfinite(z)):
        raise ValueError(f"{name} must be finite")
    return z


def cumulate(steps: np.ndarray, n_paths: int, n_months: int) -> np.ndarray:
    """``exp`` of the running sum of log steps, with a leading column of zeros (factor 1 at month 0)."""
    out = np.empty((n_paths, n_months))
    out[:, 0] = 0.0
    if n_months > 1:
        np.cumsum(steps, axis=1, out=out[:, 1:])
    np.exp(out, out=out)
    return out


def correlation_root(corr_matrix) -> np.ndarray:
    """A matrix ``L`` with ``L @ L.T == corr_matrix``: the Cholesky factor, or an
    eigen-decomposition root when the matrix is only positive *semi*-definite."""
    c = np.asarray(corr_matrix, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ValueError(f"correlation matrix must be square K x K, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("correlation matrix must be finite")
    if not np.allclose(c, c.T, rtol=0, atol=1e-10):
        raise ValueError("correlation matrix must be symmetric")
    if not np.allclose(np.diag(c), 1.0, rtol=0, atol=1e-10):
        raise ValueError("correlation matrix must have ones on the diagonal")
    if np.any(np.abs(c) > 1.0 + 1e-12):
        raise ValueError("correlations must lie in [-1, 1]")
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        if w.min() < -1e-10:
            raise ValueError(f"correlation matrix is not positive semidefinite "
                             f"(smallest eigenvalue {w.min():.3g})") from None
        return v * np.sqrt(np.clip(w, 0.0, None))


def correlated_normals(rng: SeedLike, n_paths: int, n_months: int, corr_matrix) -> np.ndarray:
    """``K`` correlated standard-normal arrays, shape ``[K, n_paths, n_months]``.

    Row ``i`` is a standard normal array; ``corr(row i, row j) = corr_matrix[i, j]``
    cell by cell, independent across cells. Unpack it: ``z_price, z_fee, z_hash, z_gpu = ...``.
    Pass a row as ``shocks`` to the path functions (they ignore column 0).
    """
    n_paths, n_months = check_shape(n_paths, n_months)
    root = correlation_root(corr_matrix)
    k = root.shape[0]
    z = as_rng(rng).standard_normal((k, n_paths, n_months))
    if np.any(np.triu(root, 1)):                     # an eigen-decomposition root: a full product
        return np.tensordot(root, z, axes=1)
    # Lower-triangular: row i = sum_{j<=i} L[i, j] z_j, in place from the last row up
    # (rows j < i are still the raw draws), skipping zero entries (independent series).
    scratch = np.empty((n_paths, n_months))
    for i in range(k - 1, -1, -1):
        if root[i, i] != 1.0:
            z[i] *= root[i, i]
        for j in range(i):
            if root[i, j] != 0.0:
                np.multiply(z[j], root[i, j], out=scratch)
                z[i] += scratch
    return z
