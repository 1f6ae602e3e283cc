"""A geometric Brownian motion fitted to log returns by moments: :func:`fit_gbm_moments`, :class:`GbmFit`.

Drift and volatility come out in percent per year, as :func:`minerplan.markets.prices.gbm_factors`
takes them, with standard errors and the normal log-likelihood (for the AIC against the Merton fit).
The moments are numpy's mean and sample variance (n - 1): ``scipy.stats.norm.fit`` is the maximum
likelihood fit, whose variance divides by n, a different estimator; the log-likelihood is
``scipy.stats.norm.logpdf`` summed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from minerplan.markets.calibration.log_returns import check_dt, dt_text, returns_array, se_text

#: Fewest returns each fit accepts.
MIN_RETURNS_GBM = 12


@dataclass(frozen=True)
class GbmFit:
    """A GBM fitted by moments: ``r ~ Normal((mu - sigma^2/2) dt, sigma^2 dt)`` per step.

    ``sigma = sd(r) / sqrt(dt)`` (sample standard deviation, n - 1) and
    ``mu = mean(r) / dt + sigma^2 / 2``; in percent per year, as
    :func:`minerplan.markets.prices.gbm_factors` takes them. ``log_likelihood`` is the
    normal log-likelihood of the returns at these parameters.
    """

    drift_pct_per_year: float
    volatility_pct_per_year: float
    log_likelihood: float
    n_obs: int
    dt: float
    drift_se_pct: float | None
    volatility_se_pct: float | None

    n_params = 2

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.log_likelihood

    def factor_kwargs(self) -> dict[str, float]:
        """Keyword arguments for :func:`minerplan.markets.prices.gbm_factors`."""
        return {"drift_pct_per_year": self.drift_pct_per_year, "volatility_pct_per_year": self.volatility_pct_per_year}

    def describe(self) -> str:
        return "\n".join([
            f"GBM, fitted by moments to {self.n_obs:,} log returns (dt = {dt_text(self.dt)}):",
            f"  drift {self.drift_pct_per_year:.1f} %/yr ({se_text(self.drift_se_pct)}), "
            f"volatility {self.volatility_pct_per_year:.1f} %/yr ({se_text(self.volatility_se_pct)})",
            f"  log-likelihood {self.log_likelihood:,.1f}, AIC {self.aic:,.1f} ({self.n_params} parameters)",
        ])


def _normal_loglik(r: np.ndarray, mean: float, var: float) -> float:
    """Log-likelihood of the returns under Normal(mean, var): scipy's normal log density, summed."""
    from scipy.stats import norm

    return float(norm.logpdf(r, loc=mean, scale=math.sqrt(var)).sum())


def fit_gbm_moments(returns, dt: float = 1.0 / 12.0) -> GbmFit:
    """Fit a GBM to log returns by moments (see :class:`GbmFit`).

    Standard errors: ``se(sigma) = sigma / sqrt(2 (n - 1))`` and, by the delta method,
    ``se(mu)^2 = s^2 / (n dt^2) + (sigma se(sigma))^2``.
    """
    d = check_dt(dt)
    r = returns_array(returns, MIN_RETURNS_GBM, "a GBM fit")
    n = r.size
    m, s2 = float(r.mean()), float(r.var(ddof=1))
    sigma = math.sqrt(s2 / d)
    mu = m / d + 0.5 * sigma**2
    se_sigma = sigma / math.sqrt(2.0 * (n - 1))
    se_mu = math.sqrt(s2 / (n * d * d) + (sigma * se_sigma) ** 2)
    return GbmFit(100 * mu, 100 * sigma, _normal_loglik(r, m, s2), n, d, 100 * se_mu, 100 * se_sigma)
