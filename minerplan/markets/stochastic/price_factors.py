"""BTC price factors ``[path, month]`` (factor 1 at month 0): Merton jump-diffusion and two-state regimes.

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

:func:`median_drift_pct_per_year` is the drift of each model that keeps the median price on the
entered path (MinerPlan's convention).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from minerplan.markets.stochastic.shocks import DT, SeedLike, as_rng, check_number, check_shape, cumulate, step_shocks

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
    n_paths, n_months = check_shape(n_paths, n_months)
    mu = check_number("drift_pct_per_year", drift_pct_per_year, -1000, 1000) / 100.0
    sigma = check_number("volatility_pct_per_year", volatility_pct_per_year, 0, 1000) / 100.0
    lam = check_number("jump_intensity_per_year", jump_intensity_per_year, 0, 1200)
    k = check_number("jump_mean_pct", jump_mean_pct, -100, 1000, lo_open=True) / 100.0
    delta = check_number("jump_volatility_pct", jump_volatility_pct, 0, 1000) / 100.0
    rng = as_rng(seed)
    n_steps = n_months - 1
    z = (step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
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
    factors = cumulate(steps, n_paths, n_months)
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
    n_paths, n_months = check_shape(n_paths, n_months)
    mu_c = check_number("calm_drift_pct_per_year", calm_drift_pct_per_year, -1000, 1000) / 100.0
    sg_c = check_number("calm_volatility_pct_per_year", calm_volatility_pct_per_year, 0, 1000) / 100.0
    mu_s = check_number("stressed_drift_pct_per_year", stressed_drift_pct_per_year, -1000, 1000) / 100.0
    sg_s = check_number("stressed_volatility_pct_per_year", stressed_volatility_pct_per_year, 0, 1000) / 100.0
    p_in = check_number("p_enter_stressed_per_month", p_enter_stressed_per_month, 0, 1)
    p_out = check_number("p_exit_stressed_per_month", p_exit_stressed_per_month, 0, 1)
    if start not in ("stationary", "calm", "stressed"):
        raise ValueError(f"start must be 'stationary', 'calm' or 'stressed', got {start!r}")
    rng = as_rng(seed)
    z = (step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
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
    factors = cumulate(drift + vol * z, n_paths, n_months)
    return (factors, stressed) if return_states else factors


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
