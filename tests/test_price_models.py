"""Stochastic price, fee, GPU-rate and lease models and their calibration (issue 6).

Expected numbers come from the models' formulas worked out here by hand (means,
variances, stationary shares, medians), from data generated in this file with
plain numpy (not by the code under test), or from known optima; Monte Carlo
checks allow about four standard errors, computed from the sample.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minerplan.markets.calibration.gbm import fit_gbm_moments
from minerplan.markets.calibration.history_csv import MIN_OBSERVATIONS, PriceHistoryError, load_price_history_csv
from minerplan.markets.calibration.log_returns import monthly_log_returns
from minerplan.markets.calibration.merton_density import merton_log_density
from minerplan.markets.calibration.merton_mle import fit_merton_mle, nelder_mead
from minerplan.markets.prices import gbm_factors
from minerplan.markets.stochastic.defaults import SOURCED_DEFAULTS, default_correlation
from minerplan.markets.stochastic.fees_and_rates import fee_paths, gpu_rate_paths, lease_rate_schedule
from minerplan.markets.stochastic.joint_paths import market_paths
from minerplan.markets.stochastic.price_factors import merton_factors, regime_factors, stationary_stressed_share
from minerplan.markets.stochastic.shocks import correlated_normals

ROOT = Path(__file__).resolve().parent.parent
DT = 1.0 / 12.0

# Merton case used below: 10%/yr drift, 50% vol, 3 jumps/yr of mean -8% (E[J] - 1), log-jump sd 10%.
MU, SIGMA, LAM, K, DELTA = 0.10, 0.50, 3.0, -0.08, 0.10
M_J = math.log(1 + K) - DELTA**2 / 2                      # log(0.92) - 0.005 = -0.088382
MERTON = dict(drift_pct_per_year=10.0, volatility_pct_per_year=50.0, jump_intensity_per_year=3.0,
              jump_mean_pct=-8.0, jump_volatility_pct=10.0)
# One month's log return: mean (mu - sigma^2/2 - lam k) dt + lam dt m_J, variance sigma^2 dt + lam dt (m_J^2 + delta^2).
R_MEAN = (MU - SIGMA**2 / 2 - LAM * K) * DT + LAM * DT * M_J       # 0.0179167 - 0.0220955 = -0.0041789
R_VAR = SIGMA**2 * DT + LAM * DT * (M_J**2 + DELTA**2)             # 0.0208333 + 0.0044528 = 0.0252861


def test_hand_numbers_of_the_merton_case():
    assert M_J == pytest.approx(-0.0883820, abs=1e-6)
    assert R_MEAN == pytest.approx(-0.0041789, abs=1e-6)
    assert R_VAR == pytest.approx(0.0252861, abs=1e-6)


# --------------------------------------------------------------------------- Merton

@pytest.fixture(scope="module")
def merton_200k():
    return merton_factors(200_000, 13, **MERTON, seed=12345, return_jump_counts=True)


def test_merton_mean_factor_grows_at_the_drift(merton_200k):
    factors, _ = merton_200k
    assert factors.shape == (200_000, 13) and factors.dtype == np.float64
    assert np.all(factors[:, 0] == 1.0)
    year = factors[:, 12]
    se = year.std(ddof=1) / math.sqrt(year.size)
    assert se < 0.003                                        # the check has power
    assert abs(year.mean() - math.exp(MU)) < 4 * se          # exp(0.10) = 1.105171: compensated jumps
    half = factors[:, 6]
    assert abs(half.mean() - math.exp(MU / 2)) < 4 * half.std(ddof=1) / math.sqrt(half.size)


def test_merton_jump_counts_are_poisson_lambda_dt(merton_200k):
    _, counts = merton_200k
    assert counts.shape == (200_000, 12)
    n = counts.size
    lam_dt = LAM * DT                                        # 0.25 jumps per month
    assert abs(counts.mean() - lam_dt) < 4 * math.sqrt(lam_dt / n)
    assert counts.var() == pytest.approx(lam_dt, rel=0.01)   # Poisson: variance = mean
    p0 = math.exp(-lam_dt)                                   # 0.7788 of months without a jump
    assert abs((counts == 0).mean() - p0) < 4 * math.sqrt(p0 * (1 - p0) / n)


def test_merton_monthly_log_returns_have_the_hand_mean_and_variance(merton_200k):
    factors, _ = merton_200k
    r = np.diff(np.log(factors), axis=1).ravel()
    assert abs(r.mean() - R_MEAN) < 4 * math.sqrt(R_VAR / r.size)
    assert r.var() == pytest.approx(R_VAR, rel=0.01)
    skew = np.mean((r - r.mean()) ** 3) / r.std() ** 3
    assert skew < -0.1                                       # negative jumps: a fatter left tail


def test_merton_without_jumps_is_the_existing_gbm():
    a = merton_factors(500, 24, drift_pct_per_year=5.0, volatility_pct_per_year=60.0, jump_intensity_per_year=0.0,
                       jump_mean_pct=-8.0, jump_volatility_pct=10.0, seed=7)
    b = gbm_factors(500, 24, drift_pct_per_year=5.0, volatility_pct_per_year=60.0, seed=7)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_merton_takes_given_shocks_and_ignores_their_month_0_column():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((100, 10))
    kw = dict(drift_pct_per_year=20.0, volatility_pct_per_year=40.0, jump_intensity_per_year=0.0, jump_mean_pct=0.0,
              jump_volatility_pct=0.0)
    full = merton_factors(100, 10, **kw, shocks=z)
    steps_only = merton_factors(100, 10, **kw, shocks=z[:, 1:])
    np.testing.assert_array_equal(full, steps_only)
    expected = np.exp(np.cumsum((0.20 - 0.08) / 12 + 0.40 * math.sqrt(DT) * z[:, 1:], axis=1))
    np.testing.assert_allclose(full[:, 1:], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        merton_factors(100, 10, **kw, shocks=z[:, :5])
    # jumps land whatever the memory order of the shocks
    jumpy = {**kw, "jump_intensity_per_year": 6.0, "jump_mean_pct": -10.0, "jump_volatility_pct": 5.0}
    np.testing.assert_array_equal(merton_factors(100, 10, **jumpy, shocks=np.asfortranarray(z), seed=4),
                                  merton_factors(100, 10, **jumpy, shocks=z, seed=4))
    assert not np.allclose(merton_factors(100, 10, **jumpy, shocks=z, seed=4), full)


def test_merton_is_reproducible_and_checks_its_arguments():
    a = merton_factors(50, 12, **MERTON, seed=1)
    np.testing.assert_array_equal(a, merton_factors(50, 12, **MERTON, seed=np.random.default_rng(1)))
    assert merton_factors(3, 1, **MERTON, seed=1).tolist() == [[1.0], [1.0], [1.0]]
    with pytest.raises(ValueError, match="jump_mean_pct"):
        merton_factors(10, 12, **{**MERTON, "jump_mean_pct": -100.0})
    with pytest.raises(ValueError, match="jump_intensity_per_year"):
        merton_factors(10, 12, **{**MERTON, "jump_intensity_per_year": -1.0})
    with pytest.raises(ValueError, match="n_paths"):
        merton_factors(0, 12, **MERTON)
    with pytest.raises(ValueError, match="finite"):
        merton_factors(10, 12, **{**MERTON, "volatility_pct_per_year": float("nan")})


def test_merton_density_integrates_to_one_with_the_hand_moments():
    x = np.linspace(-2.0, 2.0, 400_001)
    f = np.exp(merton_log_density(x, **MERTON))
    w = x[1] - x[0]
    assert f.sum() * w == pytest.approx(1.0, abs=1e-9)
    mean = (x * f).sum() * w
    assert mean == pytest.approx(R_MEAN, abs=1e-9)
    assert ((x - mean) ** 2 * f).sum() * w == pytest.approx(R_VAR, rel=1e-7)
    # No jumps: the normal density of the GBM step.
    g = merton_log_density(np.array([0.0, 0.1]), **{**MERTON, "jump_intensity_per_year": 0.0})
    m, v = (MU - SIGMA**2 / 2) * DT, SIGMA**2 * DT
    np.testing.assert_allclose(g, -0.5 * np.log(2 * np.pi * v) - (np.array([0.0, 0.1]) - m) ** 2 / (2 * v))


# --------------------------------------------------------------------------- regimes

REGIME = dict(calm_drift_pct_per_year=10.0, calm_volatility_pct_per_year=40.0, stressed_drift_pct_per_year=-60.0,
              stressed_volatility_pct_per_year=80.0, p_enter_stressed_per_month=0.05, p_exit_stressed_per_month=0.20)


def test_regime_share_of_stressed_months_is_the_stationary_one():
    assert stationary_stressed_share(0.05, 0.20) == pytest.approx(0.2)      # 0.05 / (0.05 + 0.20)
    factors, stressed = regime_factors(20_000, 120, **REGIME, seed=11, return_states=True)
    assert factors.shape == stressed.shape == (20_000, 120)
    assert abs(stressed.mean() - 0.2) < 0.01
    assert abs(stressed[:, 0].mean() - 0.2) < 4 * math.sqrt(0.16 / 20_000)
    # empirical transition probabilities
    prev, nxt = stressed[:, :-1], stressed[:, 1:]
    assert (nxt & ~prev).sum() / (~prev).sum() == pytest.approx(0.05, abs=0.003)
    assert (~nxt & prev).sum() / prev.sum() == pytest.approx(0.20, abs=0.006)


def test_regime_started_calm_converges_to_the_stationary_share():
    _, stressed = regime_factors(20_000, 101, **REGIME, start="calm", seed=12, return_states=True)
    assert not stressed[:, 0].any()
    # after t months the share is 0.2 (1 - 0.75^t): 0.2 * 0.25 = 0.05 after 1 month
    assert abs(stressed[:, 1].mean() - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 20_000)
    assert abs(stressed[:, 100].mean() - 0.2) < 4 * math.sqrt(0.16 / 20_000)


def test_regime_steps_use_each_months_state():
    kw = {**REGIME, "calm_volatility_pct_per_year": 0.0, "stressed_volatility_pct_per_year": 0.0}
    factors, stressed = regime_factors(1000, 36, **kw, seed=5, return_states=True)
    step = np.where(stressed[:, 1:], -0.60, 0.10) / 12
    np.testing.assert_allclose(np.log(factors[:, 1:]), np.cumsum(step, axis=1), atol=1e-12)
    with pytest.raises(ValueError, match="p_exit_stressed_per_month"):
        regime_factors(10, 12, **{**REGIME, "p_exit_stressed_per_month": 1.5})


# --------------------------------------------------------------------------- correlated shocks

def test_correlated_normals_have_the_requested_correlations():
    corr = default_correlation()
    z = correlated_normals(np.random.default_rng(21), 50_000, 4, corr)
    assert z.shape == (4, 50_000, 4)
    flat = z.reshape(4, -1)
    np.testing.assert_allclose(flat.std(axis=1), 1.0, atol=0.01)
    np.testing.assert_allclose(np.corrcoef(flat), corr, atol=0.01)
    strong = np.array([[1.0, -0.7, 0.5], [-0.7, 1.0, -0.2], [0.5, -0.2, 1.0]])
    z = correlated_normals(1, 100_000, 2, strong).reshape(3, -1)
    np.testing.assert_allclose(np.corrcoef(z), strong, atol=0.01)


def test_correlated_normals_accept_a_singular_matrix_and_refuse_bad_ones():
    z = correlated_normals(2, 1000, 3, [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(z[0], z[1], atol=1e-12)
    with pytest.raises(ValueError, match="positive semidefinite"):
        correlated_normals(2, 10, 3, [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])
    with pytest.raises(ValueError, match="symmetric"):
        correlated_normals(2, 10, 3, [[1, 0.5], [0.4, 1]])
    with pytest.raises(ValueError, match="diagonal"):
        correlated_normals(2, 10, 3, [[2, 0.5], [0.5, 1]])


# --------------------------------------------------------------------------- fees

FEE = dict(volatility_pct_per_month=40.0, mean_reversion_per_month=0.25)


def test_fee_floor_is_never_violated():
    fees = fee_paths(0.02, 20_000, 60, **FEE, floor_btc_per_block=0.015, rng=4)
    assert fees.min() >= 0.015
    assert (fees == 0.015).mean() > 0.1                    # the floor does bind
    assert np.all(fees[:, 0] == 0.02)


def test_fee_shocks_correlate_with_price_shocks_as_requested():
    rng = np.random.default_rng(8)
    z_price = rng.standard_normal((20_000, 25))
    base, s, phi = 0.02, 0.40, 0.75
    fees = fee_paths(base, 20_000, 25, **FEE, floor_btc_per_block=1e-12, price_shocks=z_price,
                     corr_with_price=0.6, rng=rng)
    x = np.log(fees / base)
    eps = (x[:, 1:] - phi * x[:, :-1]) / s                  # the AR(1) innovations, by hand
    assert eps.std() == pytest.approx(1.0, abs=0.01)
    assert abs(np.corrcoef(eps.ravel(), z_price[:, 1:].ravel())[0, 1] - 0.6) < 0.02
    # mean reversion: regressing x_t on x_{t-1} gives phi = 1 - 0.25
    slope = (x[:, 1:] * x[:, :-1]).sum() / (x[:, :-1] ** 2).sum()
    assert slope == pytest.approx(0.75, abs=0.01)


def test_fee_trend_moves_the_median():
    fees = fee_paths(0.02, 40_000, 13, **FEE, floor_btc_per_block=1e-9, trend_pct_per_year=10.0, rng=9)
    assert np.median(fees[:, 12]) == pytest.approx(0.022, rel=0.02)   # 0.02 x 1.10 after a year


def test_fee_paths_refuse_ambiguous_shocks():
    z = np.zeros((5, 12))
    with pytest.raises(ValueError, match="price_shocks"):
        fee_paths(0.02, 5, 12, **FEE, floor_btc_per_block=0.0, corr_with_price=0.3)
    with pytest.raises(ValueError, match="not both"):
        fee_paths(0.02, 5, 12, **FEE, floor_btc_per_block=0.0, shocks=z, price_shocks=z, corr_with_price=0.3)
    with pytest.raises(ValueError, match="mean_reversion_per_month"):
        fee_paths(0.02, 5, 12, volatility_pct_per_month=10.0, mean_reversion_per_month=1.5, floor_btc_per_block=0.0)


# --------------------------------------------------------------------------- GPU rates and leases

def test_gpu_rate_median_declines_as_requested():
    rates = gpu_rate_paths(1.70, 50_000, 25, decline_pct_per_year=25.0, volatility_pct_per_year=20.0,
                           floor_usd_per_gpu_hour=0.0, rng=13)
    assert np.all(rates[:, 0] == 1.70)
    # median after a year 1.70 x 0.75 = 1.275; the sample median's se is ~0.1%
    assert np.median(rates[:, 12]) == pytest.approx(1.275, rel=0.01)
    assert np.median(rates[:, 24]) == pytest.approx(1.70 * 0.75**2, rel=0.01)


def test_gpu_rate_without_volatility_is_the_decline_and_the_floor_holds():
    rates = gpu_rate_paths(1.70, 3, 37, decline_pct_per_year=25.0, volatility_pct_per_year=0.0,
                           floor_usd_per_gpu_hour=0.0, rng=1)
    np.testing.assert_allclose(rates[0], 1.70 * 0.75 ** (np.arange(37) / 12), rtol=1e-12)
    floored = gpu_rate_paths(1.70, 10_000, 37, decline_pct_per_year=25.0, volatility_pct_per_year=30.0,
                             floor_usd_per_gpu_hour=1.2, rng=2)
    assert floored.min() >= 1.2 and (floored == 1.2).mean() > 0.1


def test_lease_rate_steps_up_every_twelve_months():
    sched = lease_rate_schedule(140.0, 3.0, 30, 2)
    assert sched[:2].tolist() == [0.0, 0.0]
    assert np.all(sched[2:14] == 140.0)
    np.testing.assert_allclose(sched[14:26], 144.2)         # 140 x 1.03
    np.testing.assert_allclose(sched[26:], 148.526)         # 140 x 1.03^2
    running = lease_rate_schedule(100.0, 10.0, 4, -11)      # live for 11 months at month 0
    np.testing.assert_allclose(running, [100.0, 110.0, 110.0, 110.0])
    both = lease_rate_schedule(100.0, 10.0, 14, np.array([0, 13]), term_months=12)
    np.testing.assert_allclose(both[0], [100.0] * 12 + [0.0, 0.0])
    np.testing.assert_allclose(both[1], [0.0] * 13 + [100.0])


# --------------------------------------------------------------------------- defaults

def test_sourced_defaults_name_their_source():
    for name, d in SOURCED_DEFAULTS.items():
        assert d.source.strip(), name
        assert d.basis in ("sourced", "estimate", "assumption"), name
        assert d.assumption == (d.basis != "sourced")
    assert 0.016 <= SOURCED_DEFAULTS["fee_btc_per_block"].value <= 0.025
    assert SOURCED_DEFAULTS["gpu_usd_per_gpu_hour"].value == 1.70
    assert not SOURCED_DEFAULTS["gpu_usd_per_gpu_hour"].assumption
    for name in ("jump_intensity_per_year", "jump_mean_pct", "jump_volatility_pct", "gpu_decline_pct_per_year"):
        assert SOURCED_DEFAULTS[name].assumption, name
    assert 20 <= SOURCED_DEFAULTS["gpu_decline_pct_per_year"].value <= 30
    assert np.linalg.eigvalsh(default_correlation()).min() > 0


def test_market_paths_from_the_defaults():
    out = market_paths(2000, 24, seed=3)
    for a in (out.price_factors, out.fee_btc_per_block, out.gpu_usd_per_gpu_hour, out.hashrate_shocks):
        assert a.shape == (2000, 24)
    assert out.shocks.shape == (4, 2000, 24)
    assert out.fee_btc_per_block.min() >= SOURCED_DEFAULTS["fee_floor_btc_per_block"].value
    assert out.gpu_usd_per_gpu_hour.min() >= SOURCED_DEFAULTS["gpu_floor_usd_per_gpu_hour"].value
    with pytest.raises(KeyError):
        market_paths(10, 12, params={"no_such_parameter": 1.0})


# --------------------------------------------------------------------------- calibration

def test_nelder_mead_finds_known_minima():
    rosen = nelder_mead(lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2, [-1.2, 1.0], xtol=1e-8,
                        ftol=1e-14)
    assert rosen.converged
    np.testing.assert_allclose(rosen.x, [1.0, 1.0], atol=1e-5)
    target = np.array([3.0, -1.0, 0.5, 2.0, -4.0])
    quad = nelder_mead(lambda x: float(np.sum((np.arange(1, 6) * (x - target)) ** 2)), np.zeros(5),
                       xtol=1e-8, ftol=1e-14, max_evals=20_000)
    np.testing.assert_allclose(quad.x, target, atol=1e-5)
    # nan counts as +inf: the optimizer stays where f is defined
    walled = nelder_mead(lambda x: float("nan") if x[0] < 0.5 else (x[0] - 1) ** 2, [2.0], xtol=1e-9, ftol=1e-14)
    assert walled.x[0] == pytest.approx(1.0, abs=1e-6)


def test_gbm_fit_recovers_known_volatility_and_drift():
    rng = np.random.default_rng(31)
    mu, sigma = 0.15, 0.60
    r = (mu - sigma**2 / 2) * DT + sigma * math.sqrt(DT) * rng.standard_normal(20_000)
    fit = fit_gbm_moments(r)
    assert fit.n_obs == 20_000
    assert abs(fit.volatility_pct_per_year - 60.0) < 0.05 * 60.0
    assert fit.volatility_se_pct == pytest.approx(60 / math.sqrt(2 * 19_999), rel=0.02)   # 0.30
    assert abs(fit.drift_pct_per_year - 15.0) < 4 * fit.drift_se_pct                      # se ~1.5 pct points
    assert fit.aic == pytest.approx(4 - 2 * fit.log_likelihood)
    text = fit.describe()
    assert "volatility" in text and "log-likelihood" in text and "AIC" in text


def _merton_returns(seed, n, *, mu, sigma, lam, k, s):
    """Monthly log returns drawn here with plain numpy from the Merton formula."""
    rng = np.random.default_rng(seed)
    m_j = math.log1p(k) - s * s / 2
    jumps = rng.poisson(lam * DT, n)
    return ((mu - sigma**2 / 2 - lam * k) * DT + sigma * math.sqrt(DT) * rng.standard_normal(n)
            + jumps * m_j + np.sqrt(jumps) * s * rng.standard_normal(n))


def test_merton_mle_recovers_known_parameters():
    truth = dict(mu=0.10, sigma=0.40, lam=3.0, k=-0.10, s=0.12)
    r = _merton_returns(0, 50_000, **truth)
    fit = fit_merton_mle(r)
    assert fit.n_obs == 50_000 and fit.converged
    assert abs(fit.volatility_pct_per_year - 40.0) < 0.10 * 40.0
    assert abs(fit.jump_intensity_per_year - 3.0) < 0.30 * 3.0
    assert abs(fit.jump_mean_pct / 100 - (-0.10)) < 0.05
    assert abs(fit.log_jump_mean_pct / 100 - (math.log(0.9) - 0.0072)) < 0.05
    assert abs(fit.jump_volatility_pct - 12.0) < 0.30 * 12.0
    # a maximum likelihood estimate is at least as likely as the truth
    ll_truth = float(np.sum(merton_log_density(r, drift_pct_per_year=10.0, volatility_pct_per_year=40.0,
                                               jump_intensity_per_year=3.0, jump_mean_pct=-10.0,
                                               jump_volatility_pct=12.0)))
    assert fit.log_likelihood >= ll_truth - 1e-6
    assert fit.log_likelihood > fit.gbm.log_likelihood and fit.aic < fit.gbm.aic
    assert all(se is not None and se > 0 for se in (fit.drift_se_pct, fit.volatility_se_pct, fit.jump_intensity_se,
                                                     fit.jump_mean_se_pct, fit.jump_volatility_se_pct))
    text = fit.describe()
    for words in ("Merton", "jumps", "log-likelihood", "AIC", "GBM on the same returns", "prefers the Merton"):
        assert words in text
    again = merton_factors(10, 12, **fit.factor_kwargs(), seed=1)    # the fit feeds the generator
    assert again.shape == (10, 12)


def test_merton_mle_on_gbm_data_is_no_worse_than_gbm():
    rng = np.random.default_rng(41)
    r = (0.05 - 0.125) * DT + 0.5 * math.sqrt(DT) * rng.standard_normal(600)
    fit = fit_merton_mle(r)
    assert fit.log_likelihood >= fit.gbm.log_likelihood - 1e-6                 # nested model
    assert fit.n_evals > 0 and "GBM" in fit.describe()
    with pytest.raises(ValueError, match="at least 20"):
        fit_merton_mle(r[:10])
    with pytest.raises(ValueError, match="finite"):
        fit_gbm_moments(np.r_[r, np.nan])
    with pytest.raises(ValueError, match="no variation"):
        fit_gbm_moments(np.zeros(30))


# --------------------------------------------------------------------------- monthly returns

def test_monthly_returns_from_daily_closes_use_month_ends():
    days = pd.date_range("2024-01-01", "2024-06-15", freq="D")
    closes = pd.Series(100.0, index=days)
    month_end = {"2024-01-31": 110.0, "2024-02-29": 99.0, "2024-03-31": 120.0, "2024-04-30": 96.0,
                 "2024-05-31": 100.0}
    for d, v in month_end.items():
        closes[pd.Timestamp(d)] = v
    r = monthly_log_returns(closes)
    # Jan->Feb, Feb->Mar, Mar->Apr, Apr->May; June is partial (ends on the 15th) and dropped
    expected = np.log([99 / 110, 120 / 99, 96 / 120, 100 / 96])
    np.testing.assert_allclose(r.to_numpy(), expected, rtol=1e-12)
    assert [d.strftime("%Y-%m-%d") for d in r.index] == ["2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]


def test_monthly_returns_from_monthly_closes_skip_gaps():
    idx = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-05-01", "2024-06-01"])
    r = monthly_log_returns(pd.Series([100.0, 110.0, 121.0, 50.0, 60.0], index=idx))
    np.testing.assert_allclose(r.to_numpy(), np.log([1.1, 1.1, 1.2]))       # no return across April's gap
    with pytest.raises(ValueError, match="one close per month"):
        monthly_log_returns(pd.Series([1.0, 2.0, 3.0, 4.0],
                                      index=pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-28", "2024-04-01"])))


# --------------------------------------------------------------------------- the CSV loader

def _rows(n, start="2022-01-01", freq="MS", price=lambda i: 30_000 + 100 * i):
    return [f"{d.date()},{price(i)}" for i, d in enumerate(pd.date_range(start, periods=n, freq=freq))]


def _write(tmp_path, text_or_bytes, name="prices.csv"):
    p = tmp_path / name
    if isinstance(text_or_bytes, bytes):
        p.write_bytes(text_or_bytes)
    else:
        p.write_text(text_or_bytes, encoding="utf-8")
    return p


def test_loader_reads_a_good_file(tmp_path):
    p = _write(tmp_path, "\ufeffDate,Open,High,Low,Close,Volume\n"
               + "\n".join(f"{line.split(',')[0]},1,2,3,{line.split(',')[1]},9" for line in _rows(30)) + "\n\n")
    s = load_price_history_csv(p)
    assert len(s) == 30 and s.dtype == np.float64 and s.name == "close"
    assert s.index[0] == pd.Timestamp("2022-01-01") and s.iloc[0] == 30_000.0 and s.iloc[-1] == 32_900.0
    assert len(monthly_log_returns(s)) == 29


@pytest.mark.parametrize("header, sep", [("DATE;PRICE", ";"), ("Timestamp,USD", ","), ("date\tClose", "\t")])
def test_loader_accepts_other_column_names_and_delimiters(tmp_path, header, sep):
    lines = [line.replace(",", sep) for line in _rows(MIN_OBSERVATIONS, freq="D")]
    s = load_price_history_csv(_write(tmp_path, header + "\n" + "\n".join(lines)))
    assert len(s) == MIN_OBSERVATIONS


def test_loader_accepts_times_and_time_zones(tmp_path):
    lines = [f"2024-01-{d:02d} 00:00:00 UTC,{100 + d}" for d in range(1, 25)]
    lines[0] = "2024-01-01T00:00:00Z,101"
    s = load_price_history_csv(_write(tmp_path, "date,close\n" + "\n".join(lines)))
    assert s.index[0] == pd.Timestamp("2024-01-01") and len(s) == 24


GOOD = "date,close\n" + "\n".join(_rows(30)) + "\n"
_lines = GOOD.splitlines()


def _with(row, text):
    """GOOD with file row ``row`` (1 = header) replaced by ``text``."""
    lines = list(_lines)
    lines[row - 1] = text
    return "\n".join(lines) + "\n"


# (file content, substrings the message must hold): each names the row and the column.
CORPUS = {
    "bad number": (_with(17, "2023-03-01,n/a"),
                   ["prices.csv row 17, column close: expected a positive number, got 'n/a'"]),
    "negative price": (_with(5, "2022-04-01,-5"),
                       ["prices.csv row 5, column close: expected a positive number, got '-5'"]),
    "duplicate column": ("date,close,Close\n" + "\n".join(r + ",1" for r in _rows(30)),
                         ["prices.csv row 1, column close: 2 columns are named 'close' (columns 2, 3)"]),
    "thousands separator": (_with(6, '2022-05-01,"92,000"'), ["row 6, column close", "thousands separators"]),
    "missing column": ("date,open\n" + "\n".join(_rows(30)), ["prices.csv row 1, column close: missing column 'close'",
                                                              "the header has: date, open"]),
    "missing date column": ("when,close\n" + "\n".join(_rows(30)), ["row 1, column date: missing column 'date'"]),
    "decreasing dates": (_with(10, "2021-06-01,30800"),
                         ["prices.csv row 10, column date: 2021-06-01 comes before 2022-08-01 on row 9",
                          "dates must increase"]),
    "too short": ("date,close\n" + "\n".join(_rows(10)) + "\n",
                  ["prices.csv rows 2-11, column close: only 10 prices; at least 24 are needed"]),
    "duplicate date": (_with(12, "2022-10-01,1"),
                       ["prices.csv row 12, column date: duplicate date 2022-10-01 (also on row 11)"]),
    "bad date": (_with(3, "01/02/2022,30100"), ["prices.csv row 3, column date: expected a date like 2025-11-30"]),
    "impossible date": (_with(4, "2022-02-30,30100"), ["row 4, column date: expected a date"]),
    "short row": (_with(8, "2022-07-01"), ["prices.csv row 8, column close: missing value"]),
    "empty": ("", ["prices.csv row 1: the file is empty"]),
    "only blank lines": ("\n \n\t\n", ["prices.csv row 1: the file is empty"]),
    # PNG magic: \x89 P N G \r \n \x1a \n \x00 -> the first NUL is byte 8, after two newlines: row 3
    "binary garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", ["prices.csv row 3: not a text file",
                                                                                 "NUL byte at byte 8"]),
    "not utf-8": (("date,close\n" + "\n".join(_rows(3)) + "\n").encode() + b"2022-04-01,caf\xe9\n",
                  ["prices.csv row 5: not UTF-8 text"]),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_loader_refuses_a_malformed_file_naming_row_and_column(tmp_path, case):
    content, expected = CORPUS[case]
    with pytest.raises(PriceHistoryError) as info:
        load_price_history_csv(_write(tmp_path, content))
    message = str(info.value)
    for text in expected:
        assert text in message, message
    assert "row" in message


def test_loader_reports_every_bad_cell_at_once(tmp_path):
    text = _with(4, "2022-03-01,abc").replace("2022-06-01,30500", "June,30500")
    with pytest.raises(PriceHistoryError) as info:
        load_price_history_csv(_write(tmp_path, text))
    paths = [p.path for p in info.value.problems]
    assert paths == ["prices.csv row 4, column close", "prices.csv row 7, column date"]


def test_loader_escapes_control_characters_from_the_file(tmp_path):
    with pytest.raises(PriceHistoryError) as info:
        load_price_history_csv(_write(tmp_path, _with(5, "2022-04-01,\x1b[31mred")))
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)


def test_loader_refuses_a_file_over_20_mb_and_odd_paths(tmp_path):
    big = tmp_path / "prices.csv"
    with open(big, "wb") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)                   # sparse: nothing written
    with pytest.raises(PriceHistoryError, match="limit is 20,971,520"):
        load_price_history_csv(big)
    with pytest.raises(PriceHistoryError, match="file not found"):
        load_price_history_csv(tmp_path / "missing.csv")
    with pytest.raises(PriceHistoryError, match="directory"):
        load_price_history_csv(tmp_path)


# --------------------------------------------------------------------------- architecture

def test_new_modules_load_no_qt_pyomo_or_scipy():
    code = ("import sys, minerplan.markets.stochastic.joint_paths, minerplan.markets.calibration.price_model; bad = [m for m in sys.modules if "
            "m.split('.')[0] in ('PySide6', 'pyqtgraph', 'pyomo', 'highspy', 'shiboken6', 'scipy')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
