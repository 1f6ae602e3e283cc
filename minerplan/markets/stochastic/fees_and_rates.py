"""Fees per block, GPU rental rates and colocation lease rates by month, ``[path, month]``.

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

Why the fee AR(1) is a loop over months, not ``scipy.signal.lfilter`` (measured, issue 13): both give
the same bits, but lfilter filters path by path, and the loop over months runs numpy over all paths at
once: 3 ms against 16-19 ms for 10,000 paths x 60 months (the size benchmarks/scenario_paths.py
times) and 0.4 ms against 0.8-4 ms for 1,000 x 120; lfilter is faster only for a hundred paths or
fewer, where both take under 0.1 ms.
"""

from __future__ import annotations

import math

import numpy as np

from minerplan.markets.stochastic.shocks import DT, SeedLike, as_rng, check_number, check_shape, cumulate, step_shocks

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
    n_paths, n_months = check_shape(n_paths, n_months)
    base = check_number("base_btc_per_block", base_btc_per_block, 0, lo_open=True)
    s = check_number("volatility_pct_per_month", volatility_pct_per_month, 0, 500) / 100.0
    kappa = check_number("mean_reversion_per_month", mean_reversion_per_month, 0, 1)
    floor = check_number("floor_btc_per_block", floor_btc_per_block, 0)
    g = check_number("trend_pct_per_year", trend_pct_per_year, -100, 1000, lo_open=True) / 100.0
    rho = check_number("corr_with_price", corr_with_price, -1, 1)
    gen = as_rng(rng)
    n_steps = n_months - 1
    if shocks is not None:
        if price_shocks is not None or rho != 0.0:
            raise ValueError("give either ready-made shocks or price_shocks with corr_with_price, not both")
        eps = step_shocks("shocks", shocks, n_paths, n_months)
    elif rho != 0.0:
        if price_shocks is None:
            raise ValueError("corr_with_price needs the price's standard normals as price_shocks")
        zp = step_shocks("price_shocks", price_shocks, n_paths, n_months)
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
    n_paths, n_months = check_shape(n_paths, n_months)
    r0 = check_number("usd_per_gpu_hour", usd_per_gpu_hour, 0, lo_open=True)
    d = check_number("decline_pct_per_year", decline_pct_per_year, -1000, 100, hi_open=True) / 100.0
    sigma = check_number("volatility_pct_per_year", volatility_pct_per_year, 0, 1000) / 100.0
    floor = check_number("floor_usd_per_gpu_hour", floor_usd_per_gpu_hour, 0)
    z = (step_shocks("shocks", shocks, n_paths, n_months) if shocks is not None
         else as_rng(rng).standard_normal((n_paths, n_months - 1)))
    steps = math.log1p(-d) * DT + (sigma * math.sqrt(DT)) * z
    rates = cumulate(steps, n_paths, n_months)
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
    rate = check_number("rate_usd_per_kw_month", rate_usd_per_kw_month, 0)
    esc = check_number("escalator_pct_per_year", escalator_pct_per_year, -100, 1000, lo_open=True) / 100.0
    _, n_months = check_shape(1, n_months)
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
