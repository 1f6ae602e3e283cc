"""All market series drawn together: Merton price factors, fees and GPU rates with correlated shocks.

:func:`market_paths` draws the correlated standard normals of the :data:`~.defaults.SERIES` once and
feeds each series its row, with the parameters of :data:`~.defaults.SOURCED_DEFAULTS` overridden by
``params``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from minerplan.markets.stochastic.defaults import default_correlation, default_values
from minerplan.markets.stochastic.fees_and_rates import fee_paths, gpu_rate_paths
from minerplan.markets.stochastic.price_factors import merton_factors
from minerplan.markets.stochastic.shocks import SeedLike, as_rng, correlated_normals

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
