"""Stochastic market paths for Monte Carlo runs (issue 6), shaped ``[path, month]``.

Everything here is vectorized over paths with numpy; only the recursions that
need the previous month (the regime chain, the fee AR(1)) loop over months,
with numpy over all paths inside the loop. Month 0 is the start month: price
factors are exactly 1 there, fees and GPU rates equal their starting level
(floored), and column ``t`` is the value after ``t`` monthly steps of
``dt = 1/12`` year.

Models and their exact parameterization
---------------------------------------

**Merton jump-diffusion** (:func:`merton_factors`). With ``mu`` = drift,
``sigma`` = volatility (both per year, as fractions), ``lam`` = jumps per year,
``k`` = mean jump as a fraction (``jump_mean_pct / 100``, i.e. ``E[J - 1]`` for
the multiplicative jump ``J``) and ``delta`` = volatility of the log jump size::

    log J ~ Normal(m_J, delta^2),   m_J = log(1 + k) - delta^2 / 2   (so E[J] = 1 + k)
    N_t   ~ Poisson(lam * dt)        (jumps in month t, independent)
    r_t   = (mu - sigma^2/2 - lam*k) * dt + sigma*sqrt(dt)*Z_t + (sum of N_t log J's)
          = (mu - sigma^2/2 - lam*k) * dt + sigma*sqrt(dt)*Z_t + N_t*m_J + sqrt(N_t)*delta*Z'_t

The ``- lam*k`` term compensates the jumps, so ``E[factor_t] = exp(mu * t_years)``
whatever the jump parameters: jumps change the shape of the fan (fatter left
tail for a negative ``k``), not its mean. ``jump_intensity_per_year = 0`` is the
plain GBM of :func:`minerplan.markets.prices.gbm_factors`.

**Two-state regime switching** (:func:`regime_factors`): a Markov chain over
calm/stressed months with monthly probabilities ``p_enter`` (calm -> stressed)
and ``p_exit`` (stressed -> calm); the long-run share of stressed months is
``p_enter / (p_enter + p_exit)``. The step into month ``t`` is a GBM step with
the drift and volatility of month ``t``'s state:
``r_t = (mu_s - sigma_s^2/2) dt + sigma_s sqrt(dt) Z_t``.

**Fees per block** (:func:`fee_paths`): log deviation ``x_t`` from a (possibly
trending) median level follows an AR(1)::

    x_0 = 0,   x_t = (1 - kappa) * x_{t-1} + s * eps_t,   fee_t = max(base * (1+g)^(t/12) * exp(x_t), floor)

with ``kappa`` = mean reversion per month (the share of a deviation removed each
month), ``s`` = volatility per month, ``g`` = trend per year and
``eps_t = rho * Z_price_t + sqrt(1 - rho^2) * Z_own_t`` (so ``corr(eps, Z_price) = rho``).
The base is the *median* level before the floor (the mean is higher by the
log-normal convexity).

**GPU rental rates** (:func:`gpu_rate_paths`): a GBM in log space with
``r_t = log(1 - d) * dt + sigma * sqrt(dt) * Z_t`` for a decline ``d`` per year, so
the *median* rate after ``y`` years is ``rate * (1 - d)^y``; the floor is applied
to the output (the latent rate keeps moving under it and the rate recovers when
the latent one climbs back above the floor).

**Lease rates** (:func:`lease_rate_schedule`): deterministic, stepped up by the
escalator every 12 months after the lease starts, as :mod:`minerplan.engine.ai` does.

:data:`SOURCED_DEFAULTS` holds default parameters, each with its source and
whether it is a sourced figure, an estimate from public knowledge or a
MinerPlan assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

#: One month in years.
DT = 1.0 / 12.0

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


# --------------------------------------------------------------------------- helpers

def as_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator: ``seed`` itself when it is one, else ``default_rng(seed)``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)):
        raise TypeError(f"seed must be an integer, a numpy Generator or None, not {type(seed).__name__}")
    return np.random.default_rng(seed)


def _shape(n_paths, n_months) -> tuple[int, int]:
    for name, v in (("n_paths", n_paths), ("n_months", n_months)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, not {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    return int(n_paths), int(n_months)


def _num(name: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
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


def _step_shocks(name: str, shocks, n_paths: int, n_months: int) -> np.ndarray:
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


def _cumulate(steps: np.ndarray, n_paths: int, n_months: int) -> np.ndarray:
    """``exp`` of the running sum of log steps, with a leading column of zeros (factor 1 at month 0)."""
    out = np.empty((n_paths, n_months))
    out[:, 0] = 0.0
    if n_months > 1:
        np.cumsum(steps, axis=1, out=out[:, 1:])
    np.exp(out, out=out)
    return out


# --------------------------------------------------------------------------- BTC price factors

def merton_factors(n_paths: int, n_months: int, *, drift_pct_per_year: float, volatility_pct_per_year: float,
                   jump_intensity_per_year: float, jump_mean_pct: float, jump_volatility_pct: float,
                   seed: SeedLike = None, shocks: np.ndarray | None = None,
                   return_jump_counts: bool = False):
    """Multiplicative Merton jump-diffusion factors ``[path, month]``, factor 1 at month 0.

    Parameters are in the units of their names: ``jump_mean_pct`` is the mean
    jump *size* in percent (-8 means a jump multiplies the price by 0.92 on
    average), ``jump_volatility_pct`` the standard deviation of the *log* jump
    size in percent. See the module docstring for the exact formula; the jump
    term is compensated so ``E[factor at t years] = exp(drift * t)``.

    ``shocks`` (optional) are the diffusion's standard normals, ``[n_paths, n_months]``
    (column 0 unused) or ``[n_paths, n_months - 1]``, e.g. one row of
    :func:`correlated_normals`; jumps are always drawn from ``seed``.
    With ``return_jump_counts`` the result is ``(factors, counts)``, counts
    ``[n_paths, n_months - 1]`` holding the number of jumps in each step.
    """
    n_paths, n_months = _shape(n_paths, n_months)
    mu = _num("drift_pct_per_year", drift_pct_per_year, -1000, 1000) / 100.0
    sigma = _num("volatility_pct_per_year", volatility_pct_per_year, 0, 1000) / 100.0
    lam = _num("jump_intensity_per_year", jump_intensity_per_year, 0, 1200)
    k = _num("jump_mean_pct", jump_mean_pct, -100, 1000, lo_open=True) / 100.0
    delta = _num("jump_volatility_pct", jump_volatility_pct, 0, 1000) / 100.0
    rng = as_rng(seed)
    n_steps = n_months - 1
    z = (_step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
         else rng.standard_normal((n_paths, n_steps)))
    # A new C-ordered array (given shocks may be in any memory order): its flat view below is writable.
    steps = np.ascontiguousarray((mu - 0.5 * sigma**2 - lam * k) * DT + (sigma * math.sqrt(DT)) * z)
    counts = None
    if lam > 0.0 and n_steps > 0:
        counts = rng.poisson(lam * DT, size=(n_paths, n_steps))
        where = np.flatnonzero(counts)                      # ~lam*dt of the cells: draw jump sizes only there
        n_j = counts.ravel()[where].astype(float)
        m_j = math.log1p(k) - 0.5 * delta**2
        flat = steps.reshape(-1)                            # a view: steps is C-contiguous
        assert np.shares_memory(flat, steps)
        flat[where] += n_j * m_j + np.sqrt(n_j) * delta * rng.standard_normal(where.size)
    factors = _cumulate(steps, n_paths, n_months)
    if return_jump_counts:
        if counts is None:
            counts = np.zeros((n_paths, n_steps), dtype=np.int64)
        return factors, counts
    return factors


def stationary_stressed_share(p_enter_stressed_per_month: float, p_exit_stressed_per_month: float) -> float:
    """Long-run share of stressed months, ``p_enter / (p_enter + p_exit)`` (0 when both are 0)."""
    total = p_enter_stressed_per_month + p_exit_stressed_per_month
    return p_enter_stressed_per_month / total if total > 0 else 0.0


def regime_factors(n_paths: int, n_months: int, *, calm_drift_pct_per_year: float,
                   calm_volatility_pct_per_year: float, stressed_drift_pct_per_year: float,
                   stressed_volatility_pct_per_year: float, p_enter_stressed_per_month: float,
                   p_exit_stressed_per_month: float,
                   start: Literal["stationary", "calm", "stressed"] = "stationary",
                   seed: SeedLike = None, shocks: np.ndarray | None = None, return_states: bool = False):
    """Two-state (calm / stressed) Markov-switching GBM factors ``[path, month]``, factor 1 at month 0.

    Month 0's state is drawn from the stationary distribution (``start="stationary"``)
    or fixed; month ``t``'s state follows from month ``t - 1``'s with the monthly
    transition probabilities, and the step into month ``t`` uses month ``t``'s
    drift and volatility. Each state's drift is the mean growth *while in that
    state*. With ``return_states`` the result is ``(factors, stressed)``, a bool
    array ``[path, month]``.
    """
    n_paths, n_months = _shape(n_paths, n_months)
    mu_c = _num("calm_drift_pct_per_year", calm_drift_pct_per_year, -1000, 1000) / 100.0
    sg_c = _num("calm_volatility_pct_per_year", calm_volatility_pct_per_year, 0, 1000) / 100.0
    mu_s = _num("stressed_drift_pct_per_year", stressed_drift_pct_per_year, -1000, 1000) / 100.0
    sg_s = _num("stressed_volatility_pct_per_year", stressed_volatility_pct_per_year, 0, 1000) / 100.0
    p_in = _num("p_enter_stressed_per_month", p_enter_stressed_per_month, 0, 1)
    p_out = _num("p_exit_stressed_per_month", p_exit_stressed_per_month, 0, 1)
    if start not in ("stationary", "calm", "stressed"):
        raise ValueError(f"start must be 'stationary', 'calm' or 'stressed', got {start!r}")
    rng = as_rng(seed)
    z = (_step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
         else rng.standard_normal((n_paths, n_months - 1)))
    u = rng.random((n_paths, n_months))
    stressed = np.empty((n_paths, n_months), dtype=bool)
    if start == "stationary":
        stressed[:, 0] = u[:, 0] < stationary_stressed_share(p_in, p_out)
    else:
        stressed[:, 0] = start == "stressed"
    stay_stressed = 1.0 - p_out
    for t in range(1, n_months):                     # the chain needs last month's state
        stressed[:, t] = u[:, t] < np.where(stressed[:, t - 1], stay_stressed, p_in)
    st = stressed[:, 1:]
    drift = np.where(st, (mu_s - 0.5 * sg_s**2) * DT, (mu_c - 0.5 * sg_c**2) * DT)
    vol = np.where(st, sg_s * math.sqrt(DT), sg_c * math.sqrt(DT))
    factors = _cumulate(drift + vol * z, n_paths, n_months)
    return (factors, stressed) if return_states else factors


# --------------------------------------------------------------------------- correlated shocks

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
    n_paths, n_months = _shape(n_paths, n_months)
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


# --------------------------------------------------------------------------- fees, GPU rates, leases

def fee_paths(base_btc_per_block: float, n_paths: int, n_months: int, *, volatility_pct_per_month: float,
              mean_reversion_per_month: float, floor_btc_per_block: float, trend_pct_per_year: float = 0.0,
              price_shocks: np.ndarray | None = None, corr_with_price: float = 0.0,
              shocks: np.ndarray | None = None, rng: SeedLike = None) -> np.ndarray:
    """Transaction fees per block (BTC), ``[path, month]``: a mean-reverting log AR(1) with a floor.

    See the module docstring for the formula. ``mean_reversion_per_month`` is in
    [0, 1] (0: a random walk in logs; 1: independent monthly draws around the
    median). Correlation with the price: give the price's standard normals as
    ``price_shocks`` (``[n_paths, n_months]`` or ``[n_paths, n_months - 1]``) and
    ``corr_with_price``; or give ready-made, already-correlated ``shocks`` (e.g. a
    row of :func:`correlated_normals`), not both.
    """
    n_paths, n_months = _shape(n_paths, n_months)
    base = _num("base_btc_per_block", base_btc_per_block, 0, lo_open=True)
    s = _num("volatility_pct_per_month", volatility_pct_per_month, 0, 500) / 100.0
    kappa = _num("mean_reversion_per_month", mean_reversion_per_month, 0, 1)
    floor = _num("floor_btc_per_block", floor_btc_per_block, 0)
    g = _num("trend_pct_per_year", trend_pct_per_year, -100, 1000, lo_open=True) / 100.0
    rho = _num("corr_with_price", corr_with_price, -1, 1)
    gen = as_rng(rng)
    n_steps = n_months - 1
    if shocks is not None:
        if price_shocks is not None or rho != 0.0:
            raise ValueError("give either ready-made shocks or price_shocks with corr_with_price, not both")
        eps = _step_shocks("shocks", shocks, n_paths, n_months)
    elif rho != 0.0:
        if price_shocks is None:
            raise ValueError("corr_with_price needs the price's standard normals as price_shocks")
        zp = _step_shocks("price_shocks", price_shocks, n_paths, n_months)
        eps = rho * zp + math.sqrt(1.0 - rho * rho) * gen.standard_normal((n_paths, n_steps))
    else:
        eps = gen.standard_normal((n_paths, n_steps))
    phi = 1.0 - kappa
    x = np.empty((n_paths, n_months))
    x[:, 0] = 0.0
    if n_steps:
        np.multiply(eps, s, out=x[:, 1:])
        for t in range(2, n_months):                 # AR(1): x_t = phi x_{t-1} + s eps_t
            x[:, t] += phi * x[:, t - 1]
    trend = np.log1p(g) * (np.arange(n_months) / 12.0) + math.log(base)
    x += trend
    np.exp(x, out=x)
    np.maximum(x, floor, out=x)
    return x


def gpu_rate_paths(usd_per_gpu_hour: float, n_paths: int, n_months: int, *, decline_pct_per_year: float,
                   volatility_pct_per_year: float, floor_usd_per_gpu_hour: float, rng: SeedLike = None,
                   shocks: np.ndarray | None = None) -> np.ndarray:
    """GPU rental rates (USD per GPU-hour), ``[path, month]``: a declining GBM with a floor.

    The median rate after ``y`` years is ``usd_per_gpu_hour * (1 - decline)^y``
    (before the floor). ``shocks`` (optional) are ready-made standard normals.
    """
    n_paths, n_months = _shape(n_paths, n_months)
    r0 = _num("usd_per_gpu_hour", usd_per_gpu_hour, 0, lo_open=True)
    d = _num("decline_pct_per_year", decline_pct_per_year, -1000, 100, hi_open=True) / 100.0
    sigma = _num("volatility_pct_per_year", volatility_pct_per_year, 0, 1000) / 100.0
    floor = _num("floor_usd_per_gpu_hour", floor_usd_per_gpu_hour, 0)
    z = (_step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
         else as_rng(rng).standard_normal((n_paths, n_months - 1)))
    steps = math.log1p(-d) * DT + (sigma * math.sqrt(DT)) * z
    rates = _cumulate(steps, n_paths, n_months)
    rates *= r0
    np.maximum(rates, floor, out=rates)
    return rates


def lease_rate_schedule(rate_usd_per_kw_month: float, escalator_pct_per_year: float, n_months: int,
                        start_offset=0, *, term_months: int | None = None) -> np.ndarray:
    """Colocation lease rate (USD per kW-month) by month, stepped up every 12 months.

    ``rate * (1 + escalator)^floor((month - start_offset) / 12)`` from month
    ``start_offset`` (the month the lease goes live) on, 0 before it and, with
    ``term_months``, 0 from ``start_offset + term_months`` on. A negative
    ``start_offset`` is a lease already running at month 0. ``start_offset`` may
    be an array of starts: the result is then ``[start, month]``.
    """
    rate = _num("rate_usd_per_kw_month", rate_usd_per_kw_month, 0)
    esc = _num("escalator_pct_per_year", escalator_pct_per_year, -100, 1000, lo_open=True) / 100.0
    _, n_months = _shape(1, n_months)
    starts = np.asarray(start_offset)
    if starts.dtype.kind not in "iu":
        if starts.dtype.kind != "f" or not np.all(np.isfinite(starts)) or np.any(starts != np.round(starts)):
            raise ValueError("start_offset must be a whole number of months (or an array of them)")
        starts = starts.astype(np.int64)
    if term_months is not None:
        if isinstance(term_months, bool) or not isinstance(term_months, (int, np.integer)) or term_months < 1:
            raise ValueError(f"term_months must be a whole number of months >= 1, got {term_months!r}")
    months = np.arange(n_months)
    since = months - starts[..., None]
    years = np.floor_divide(np.maximum(since, 0), 12)
    out = rate * (1.0 + esc) ** years
    live = since >= 0
    if term_months is not None:
        live &= since < term_months
    return np.where(live, out, 0.0)


# --------------------------------------------------------------------------- sourced defaults

@dataclass(frozen=True)
class SourcedDefault:
    """A default parameter: its value, unit and where it comes from.

    ``basis`` is ``"sourced"`` (a figure in docs/sources.md or the
    shipped scenario), ``"estimate"`` (public knowledge not in that file, rounded)
    or ``"assumption"`` (a MinerPlan judgement the user should review).
    """

    value: float
    unit: str
    source: str
    basis: Literal["sourced", "estimate", "assumption"]

    @property
    def assumption(self) -> bool:
        """True unless the value is a sourced figure."""
        return self.basis != "sourced"


_MF = "docs/sources.md"

SOURCED_DEFAULTS: dict[str, SourcedDefault] = {
    # BTC price: Merton jump-diffusion
    "btc_drift_pct_per_year": SourcedDefault(
        12.5, "%/yr", "MinerPlan convention: the entered price path is the MEDIAN path, so the mean grows at "
        "sigma^2/2 (12.5%/yr at 50% volatility); the MonteCarlo default (no drift given) in scenario.py",
        "assumption"),
    "btc_volatility_pct_per_year": SourcedDefault(
        50.0, "%/yr", "estimate: BTC realized and implied (Deribit DVOL) annualized volatility was roughly "
        "40-60% through 2024-2025 (public market data, not in " + _MF + "); the MonteCarlo default", "estimate"),
    "jump_intensity_per_year": SourcedDefault(
        3.0, "jumps/yr", "MinerPlan assumption: a few liquidation-driven breaks a year, like the late-Nov 2025 "
        "slide below $92k with ~$865M of 24h liquidations (" + _MF + ")", "assumption"),
    "jump_mean_pct": SourcedDefault(
        -8.0, "% per jump", "MinerPlan assumption: a break below $92k toward $87k and the $72-74k options tail "
        "is -5% to -20% (" + _MF + "); -8% as the mean jump", "assumption"),
    "jump_volatility_pct": SourcedDefault(
        10.0, "% (log jump size)", "MinerPlan assumption: spread of jump sizes", "assumption"),
    # BTC price: regime switching
    "calm_drift_pct_per_year": SourcedDefault(
        10.0, "%/yr", "MinerPlan assumption", "assumption"),
    "calm_volatility_pct_per_year": SourcedDefault(
        40.0, "%/yr", "estimate: low end of BTC's 2024-2025 volatility range (public market data)", "estimate"),
    "stressed_drift_pct_per_year": SourcedDefault(
        -60.0, "%/yr", "estimate: BTC fell ~64% over 2022 (public price history); used as a stressed-regime "
        "drift", "estimate"),
    "stressed_volatility_pct_per_year": SourcedDefault(
        80.0, "%/yr", "MinerPlan assumption: about twice the calm volatility", "assumption"),
    "p_enter_stressed_per_month": SourcedDefault(
        0.04, "1/month", "MinerPlan assumption: with the exit probability, ~17% of months stressed", "assumption"),
    "p_exit_stressed_per_month": SourcedDefault(
        0.20, "1/month", "MinerPlan assumption: a stressed spell lasts 5 months on average", "assumption"),
    # fees per block
    "fee_btc_per_block": SourcedDefault(
        0.02, "BTC/block", "~0.016-0.025 BTC per block, Dec 2025 (Braiins Insights; Luxor) in " + _MF
        + "; midpoint", "sourced"),
    "fee_volatility_pct_per_month": SourcedDefault(
        30.0, "%/month", "MinerPlan assumption: monthly average fees per block often move by a third", "assumption"),
    "fee_mean_reversion_per_month": SourcedDefault(
        0.25, "1/month", "MinerPlan assumption: fee spikes (inscriptions, runes) fade within a few months "
        "(half-life ~2.4 months)", "assumption"),
    "fee_floor_btc_per_block": SourcedDefault(
        0.005, "BTC/block", "MinerPlan assumption: about half of a full block at 1 sat/vB "
        "(~1M vbytes x 1 sat = 0.01 BTC)", "assumption"),
    "fee_trend_pct_per_year": SourcedDefault(0.0, "%/yr", "MinerPlan assumption: no trend", "assumption"),
    # GPU cloud
    "gpu_usd_per_gpu_hour": SourcedDefault(
        1.70, "USD/GPU-hour", "H100 ~$1.70/GPU-hour trough, 1-yr reserved, Oct 2025 (SemiAnalysis via press) "
        "in " + _MF, "sourced"),
    "gpu_decline_pct_per_year": SourcedDefault(
        25.0, "%/yr", "MinerPlan assumption: an older GPU generation rents for ~20-30% less each year as newer "
        "ones ship (cf. H100 at a ~$1.70 trough against H200/B200 at ~$2.50-6 per GPU-hour, " + _MF + ")",
        "assumption"),
    "gpu_volatility_pct_per_year": SourcedDefault(
        20.0, "%/yr", "MinerPlan assumption", "assumption"),
    "gpu_floor_usd_per_gpu_hour": SourcedDefault(
        0.30, "USD/GPU-hour", "MinerPlan assumption near cash cost: $150/GPU-month opex (scenario default) "
        "~$0.21/h plus ~1.3 kW per GPU (DGX H100 10.2 kW / 8, " + _MF + ") at ~$50/MWh ~$0.06/h", "assumption"),
    # colocation leases
    "lease_rate_usd_per_kw_month": SourcedDefault(
        140.0, "USD/kW-month", "miner colocation deals 2024-2025 derive to ~$102-159/kW-month (" + _MF
        + "); the ColocationLease default", "sourced"),
    "lease_escalator_pct_per_year": SourcedDefault(
        3.0, "%/yr", "MinerPlan assumption (the ColocationLease default); escalators are not disclosed in the "
        "deals listed in " + _MF, "assumption"),
    # correlations of the monthly shocks (order: price, fee, hashrate, gpu)
    "corr_price_fee": SourcedDefault(
        0.3, "correlation", "MinerPlan assumption: on-chain demand rises with the price", "assumption"),
    "corr_price_hashrate": SourcedDefault(
        0.4, "correlation", "MinerPlan assumption: hashrate follows hashprice with a lag; only the same-month "
        "shock is correlated here", "assumption"),
    "corr_price_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
    "corr_fee_hashrate": SourcedDefault(0.1, "correlation", "MinerPlan assumption", "assumption"),
    "corr_fee_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
    "corr_hashrate_gpu": SourcedDefault(0.0, "correlation", "MinerPlan assumption: independent", "assumption"),
}

#: The order of the series in :func:`default_correlation` and :func:`market_paths`.
SERIES = ("price", "fee", "hashrate", "gpu")


def default_values(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The values of :data:`SOURCED_DEFAULTS`, with ``overrides`` applied (unknown names refused)."""
    values = {name: d.value for name, d in SOURCED_DEFAULTS.items()}
    for name, v in (overrides or {}).items():
        if name not in values:
            raise KeyError(f"unknown parameter {name!r}")
        values[name] = float(v)
    return values


def default_correlation(values: Mapping[str, float] | None = None) -> np.ndarray:
    """The 4 x 4 correlation matrix of the (price, fee, hashrate, gpu) monthly shocks."""
    v = default_values(values)
    c = np.eye(len(SERIES))
    for i, a in enumerate(SERIES):
        for j, b in enumerate(SERIES[i + 1:], start=i + 1):
            c[i, j] = c[j, i] = v[f"corr_{a}_{b}"]
    return c


@dataclass(frozen=True)
class MarketPaths:
    """Joint Monte Carlo paths ``[path, month]`` from :func:`market_paths`."""

    price_factors: np.ndarray
    fee_btc_per_block: np.ndarray
    gpu_usd_per_gpu_hour: np.ndarray
    #: Standard normals for a hashrate response, correlated with the others (no hashrate model here yet).
    hashrate_shocks: np.ndarray
    #: All correlated standard normals, ``[series, path, month]`` in the order of :data:`SERIES`.
    shocks: np.ndarray


def market_paths(n_paths: int, n_months: int, *, seed: SeedLike = None,
                 params: Mapping[str, float] | None = None) -> MarketPaths:
    """Merton price factors, fees and GPU rates with correlated shocks, from
    :data:`SOURCED_DEFAULTS` overridden by ``params`` (names as in that dict)."""
    v = default_values(params)
    rng = as_rng(seed)
    z = correlated_normals(rng, n_paths, n_months, default_correlation(v))
    price = merton_factors(n_paths, n_months, drift_pct_per_year=v["btc_drift_pct_per_year"],
                           volatility_pct_per_year=v["btc_volatility_pct_per_year"],
                           jump_intensity_per_year=v["jump_intensity_per_year"], jump_mean_pct=v["jump_mean_pct"],
                           jump_volatility_pct=v["jump_volatility_pct"], seed=rng, shocks=z[0])
    fees = fee_paths(v["fee_btc_per_block"], n_paths, n_months,
                     volatility_pct_per_month=v["fee_volatility_pct_per_month"],
                     mean_reversion_per_month=v["fee_mean_reversion_per_month"],
                     floor_btc_per_block=v["fee_floor_btc_per_block"], trend_pct_per_year=v["fee_trend_pct_per_year"],
                     shocks=z[1], rng=rng)
    gpu = gpu_rate_paths(v["gpu_usd_per_gpu_hour"], n_paths, n_months,
                         decline_pct_per_year=v["gpu_decline_pct_per_year"],
                         volatility_pct_per_year=v["gpu_volatility_pct_per_year"],
                         floor_usd_per_gpu_hour=v["gpu_floor_usd_per_gpu_hour"], shocks=z[3])
    return MarketPaths(price, fees, gpu, z[2], z)


# --------------------------------------------------------------------------- the median convention

def median_drift_pct_per_year(mc) -> float:
    """The drift (%/yr, the growth of the MEAN) that keeps the median price on the entered path.

    A price factor's log has mean zero per step when:

    * GBM: ``mu = sigma^2 / 2`` (the median of ``exp(N(m, v))`` is ``exp(m)``, exactly);
    * Merton: ``mu = sigma^2/2 + lam*k - lam*m_J`` with ``m_J = log(1 + k) - delta^2/2``
      (the log's mean is zero; with jumps the median is within a fraction of a percent of it);
    * regimes: the calm drift that makes the long-run mean log step zero,
      ``mu_c = sigma_c^2/2 - (pi_s / pi_c) (mu_s - sigma_s^2/2)`` with the stationary shares
      ``pi_s = p_enter / (p_enter + p_exit)``, ``pi_c = 1 - pi_s``.

    ``mc`` is a scenario's ``monte_carlo`` section.
    """
    sigma = mc.volatility_pct_per_year / 100.0
    if mc.model == "merton":
        lam, k, delta = mc.jump_intensity_per_year, mc.jump_mean_pct / 100.0, mc.jump_volatility_pct / 100.0
        m_j = math.log1p(k) - 0.5 * delta**2
        return (0.5 * sigma**2 + lam * k - lam * m_j) * 100.0
    if mc.model == "regime":
        pi_s = stationary_stressed_share(mc.p_enter_stressed_per_month, mc.p_exit_stressed_per_month)
        if pi_s >= 1.0:
            return 0.5 * sigma**2 * 100.0
        mu_s = mc.stressed_drift_pct_per_year / 100.0
        sigma_s = mc.stressed_volatility_pct_per_year / 100.0
        return (0.5 * sigma**2 - pi_s / (1.0 - pi_s) * (mu_s - 0.5 * sigma_s**2)) * 100.0
    return 0.5 * sigma**2 * 100.0
