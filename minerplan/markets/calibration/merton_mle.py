"""The Merton jump-diffusion fitted to log returns by maximum likelihood: :func:`fit_merton_mle`.

The likelihood (:mod:`minerplan.markets.calibration.merton_density`) is maximized with scipy's
Nelder-Mead (:func:`nelder_mead`) over unconstrained coordinates, from many starting points (the
likelihood of a mixture has several local maxima); standard errors come from the numerical Hessian
of the log-likelihood by the delta method. :class:`MertonFit` holds the parameters in the units of
:func:`minerplan.markets.stochastic.price_factors.merton_factors` and describes the fit beside the GBM
fitted to the same returns.

Why the Hessian is central differences written out here, not ``scipy.differentiate.hessian``
(measured, issue 13): at the fit on the shipped history scipy's adaptive Hessian took 18,225
evaluations of the log-likelihood (1.0 s, and reported no convergence where the jump volatility
sits at its floor) and on 50,000 returns 6,625 (7.5 s), against 51 here (2.8 ms and 57 ms), for the
same standard errors to 4-5 significant digits where the likelihood is curved; its cheapest setting
(order 2, one iteration) still took 225 evaluations, with no error control left to gain. The
delta method's Jacobian of the reported parameters is differenced the same way: on the same fits
``scipy.differentiate.jacobian`` took 135 evaluations and reported no convergence (its first steps of
0.5 in theta cross the clips of the log transforms), against 10 here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from minerplan.markets.calibration.gbm import GbmFit, fit_gbm_moments
from minerplan.markets.calibration.log_returns import check_dt, dt_text, returns_array, se_text
from minerplan.markets.calibration.merton_density import MAX_JUMPS_PER_STEP, merton_logpdf

#: Fewest returns a Merton fit accepts.
MIN_RETURNS_MERTON = 20
#: The cap on the expected jumps per step (the density is truncated at MAX_JUMPS_PER_STEP).
MAX_JUMPS_EXPECTED_PER_STEP = 4.0


@dataclass(frozen=True)
class NelderMeadResult:
    x: np.ndarray
    fun: float
    n_evals: int
    converged: bool


def nelder_mead(f: Callable[[np.ndarray], float], x0, *, step=0.5, xtol: float = 1e-7, ftol: float = 1e-10,
                max_evals: int = 5000) -> NelderMeadResult:
    """Minimize ``f`` by the Nelder-Mead simplex method with the adaptive coefficients of Gao and Han
    (2012): scipy's implementation (``scipy.optimize.minimize``, ``adaptive=True``), started from the
    simplex ``x0`` + ``step`` along each axis. A ``nan`` value counts as ``+inf``. Stops when the simplex
    is within ``xtol`` (each coordinate, from the best vertex) and its values within ``ftol`` of the best,
    or after ``max_evals`` evaluations (``converged`` False).
    """
    from scipy.optimize import minimize

    x0 = np.asarray(x0, dtype=float).reshape(-1)
    n = x0.size
    if n < 1:
        raise ValueError("x0 must have at least one coordinate")

    def fx(x: np.ndarray) -> float:
        v = float(f(x))
        return v if math.isfinite(v) else math.inf

    steps = np.broadcast_to(np.asarray(step, dtype=float), (n,))
    sim = np.vstack([x0] + [x0 + np.eye(n)[i] * (steps[i] if steps[i] != 0 else 0.05) for i in range(n)])
    res = minimize(fx, x0, method="Nelder-Mead",
                   options={"xatol": xtol, "fatol": ftol, "maxfev": max_evals, "maxiter": 10 * max_evals,
                            "adaptive": True, "initial_simplex": sim})
    return NelderMeadResult(np.asarray(res.x, dtype=float).copy(), float(res.fun), int(res.nfev), bool(res.success))



@dataclass(frozen=True)
class MertonFit:
    """A Merton jump-diffusion fitted by maximum likelihood.

    Parameters are the arguments of :func:`minerplan.markets.stochastic.price_factors.merton_factors`
    (``factor_kwargs()``): drift and volatility in percent per year, jumps per
    year, ``jump_mean_pct`` = mean jump size ``100 * (E[J] - 1)``,
    ``jump_volatility_pct`` = standard deviation of the log jump size in percent;
    ``log_jump_mean_pct`` is the mean log jump ``100 * m_J``. ``*se_text`` are
    standard errors from the numerical Hessian of the log-likelihood (delta
    method), ``None`` when it is not positive definite (e.g. no jumps found).
    """

    drift_pct_per_year: float
    volatility_pct_per_year: float
    jump_intensity_per_year: float
    jump_mean_pct: float
    jump_volatility_pct: float
    log_jump_mean_pct: float
    log_likelihood: float
    n_obs: int
    dt: float
    drift_se_pct: float | None
    volatility_se_pct: float | None
    jump_intensity_se: float | None
    jump_mean_se_pct: float | None
    jump_volatility_se_pct: float | None
    gbm: GbmFit
    converged: bool
    n_evals: int
    at_intensity_cap: bool = False
    #: True when the jump volatility sits at its floor (1% of the returns' standard deviation).
    jumps_collapsed: bool = False

    n_params = 5

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.log_likelihood

    def factor_kwargs(self) -> dict[str, float]:
        """Keyword arguments for :func:`minerplan.markets.stochastic.price_factors.merton_factors`."""
        return {"drift_pct_per_year": self.drift_pct_per_year,
                "volatility_pct_per_year": self.volatility_pct_per_year,
                "jump_intensity_per_year": self.jump_intensity_per_year,
                "jump_mean_pct": self.jump_mean_pct, "jump_volatility_pct": self.jump_volatility_pct}

    def describe(self) -> str:
        g = self.gbm
        d_aic = g.aic - self.aic
        lines = [
            f"Merton jump-diffusion, maximum likelihood on {self.n_obs:,} log returns (dt = {dt_text(self.dt)}):",
            f"  drift {self.drift_pct_per_year:.1f} %/yr ({se_text(self.drift_se_pct)}), "
            f"volatility {self.volatility_pct_per_year:.1f} %/yr ({se_text(self.volatility_se_pct)})",
            f"  jumps {self.jump_intensity_per_year:.2f} per year ({se_text(self.jump_intensity_se, '.2f')}), "
            f"mean jump {self.jump_mean_pct:+.1f} % ({se_text(self.jump_mean_se_pct)}), "
            f"jump volatility {self.jump_volatility_pct:.1f} % ({se_text(self.jump_volatility_se_pct)})",
            f"  log-likelihood {self.log_likelihood:,.1f}, AIC {self.aic:,.1f} ({self.n_params} parameters)",
            f"  GBM on the same returns: drift {g.drift_pct_per_year:.1f} %/yr, volatility "
            f"{g.volatility_pct_per_year:.1f} %/yr, log-likelihood {g.log_likelihood:,.1f}, AIC {g.aic:,.1f} "
            f"({g.n_params} parameters)",
            f"  AIC prefers the {'Merton' if d_aic > 0 else 'GBM'} model (by {abs(d_aic):,.1f})",
        ]
        if self.n_obs < 100:
            lines.append(f"  note: jump parameters are poorly determined from {self.n_obs} returns; "
                         "treat them as indicative")
        if not self.converged:
            lines.append("  note: the optimizer stopped at its evaluation limit before converging")
        if self.jumps_collapsed:
            lines.append("  note: the jump volatility is at its floor (every jump the same size), a sign that the "
                         "returns pin the jump sizes down poorly; standard errors are not available there")
        if self.at_intensity_cap:
            lines.append(f"  note: the jump intensity sits at its cap ({MAX_JUMPS_EXPECTED_PER_STEP:g} per step); "
                         "the returns look like many small jumps, i.e. a diffusion")
        return "\n".join(lines)


#: Volatilities are kept above this share of the sample standard deviation (the
#: mixture likelihood is unbounded as the no-jump variance goes to 0).
_VOL_FLOOR = 0.01
#: Limits of the log transforms: below 1e-4 (of the sample sd above the floor, or of the
#: jumps per step) a parameter changes nothing measurable, so Nelder-Mead stops walking.
_EXP_CLIP = (math.log(1e-4), 6.0)
_LOG_H_MIN = math.log(1e-6)
_COARSE_XTOL, _COARSE_FTOL = 3e-3, 1e-8
#: The coarse stage truncates the density at this many jumps per step (the polish at MAX_JUMPS_PER_STEP).
_COARSE_JUMPS = 6
_XTOL, _FTOL = 1e-4, 1e-10
#: A coarse optimum this close in log-likelihood to the best one is polished too (polishing
#: a converged coarse optimum gains far less than this).
_RIVAL_LL = 2.0


class _MertonObjective:
    """Mean negative log-likelihood in unconstrained coordinates
    ``theta = (a/sd, log(sigma sqrt(dt)/sd - floor), log h, m_J/sd, log(s_J/sd - floor))``."""

    def __init__(self, r: np.ndarray, n_max: int = MAX_JUMPS_PER_STEP):
        self.r = r
        self.sd = float(r.std())
        self.n_max = n_max
        self.h_cap_log = math.log(MAX_JUMPS_EXPECTED_PER_STEP)

    def natural(self, th: Sequence[float]) -> tuple[float, float, float, float, float]:
        """(a, sigma*sqrt(dt), h, m_J, s_J)."""
        sd = self.sd
        lo, hi = _EXP_CLIP
        a = th[0] * sd
        vol = sd * (_VOL_FLOOR + math.exp(min(max(th[1], lo), hi)))
        h = math.exp(min(max(th[2], _LOG_H_MIN), self.h_cap_log))
        m = th[3] * sd
        s = sd * (_VOL_FLOOR + math.exp(min(max(th[4], lo), hi)))
        return a, vol, h, m, s

    def theta(self, a: float, vol: float, h: float, m: float, s: float) -> np.ndarray:
        sd = self.sd
        return np.array([a / sd, math.log(max(vol / sd - _VOL_FLOOR, 1e-12)), math.log(h), m / sd,
                         math.log(max(s / sd - _VOL_FLOOR, 1e-12))])

    def loglik(self, th: Sequence[float]) -> float:
        a, vol, h, m, s = self.natural(th)
        return float(merton_logpdf(self.r, a, vol * vol, h, m, s * s, self.n_max).sum())

    def __call__(self, th: np.ndarray) -> float:
        return -self.loglik(th) / self.r.size


def _start_points(r: np.ndarray, obj: _MertonObjective) -> list[np.ndarray]:
    mean, var = float(r.mean()), float(r.var())
    starts = [obj.theta(mean, math.sqrt(var), 1e-4, 0.0, math.sqrt(var))]          # ~ the GBM
    for h in (0.02, 0.08, 0.25, 0.6, 1.5):
        for w in (0.25, 0.6):                                                   # share of variance from jumps
            j2 = w * var / h                                                    # E[Y^2] of one log jump
            for c in (-0.8, 0.0, 0.8):                                          # E[Y] / sqrt(E[Y^2])
                m = c * math.sqrt(j2)
                starts.append(obj.theta(mean - h * m, math.sqrt((1 - w) * var), h, m, math.sqrt(j2 * (1 - c * c))))
    return starts


def fit_merton_mle(returns, dt: float = 1.0 / 12.0, *, n_best_starts: int = 3, max_evals: int = 3000) -> MertonFit:
    """Fit the Merton jump-diffusion to log returns by maximum likelihood.

    The likelihood (module docstring) is maximized over unconstrained
    coordinates (log transforms keep the volatilities above 1% of the sample
    standard deviation and the intensity positive, capped at
    :data:`MAX_JUMPS_EXPECTED_PER_STEP` jumps per step) with :func:`nelder_mead`:
    31 starting points from the sample moments (jump intensities 0.02-1.5 per
    step, 25% or 60% of the variance from jumps, negative, zero or positive
    mean jump, plus a near-GBM start) are scored; the ``n_best_starts`` best are
    optimized coarsely (density truncated at 6 jumps, loose tolerance); the best
    coarse optimum, and any other one elsewhere within 2 log-likelihood units
    of it, are polished with the full density, and the winner is restarted
    until a restart stops improving.
    """
    d = check_dt(dt)
    r = returns_array(returns, MIN_RETURNS_MERTON, "a Merton fit")
    obj = _MertonObjective(r)
    starts = _start_points(r, obj)
    rough = _MertonObjective(r, n_max=_COARSE_JUMPS)
    scores = [rough(th) for th in starts]
    evals = len(starts)
    chosen = [starts[i] for i in np.argsort(scores, kind="stable")[:max(1, n_best_starts)]]
    # Stage 1: a coarse search from each chosen start; stage 2 polishes the distinct
    # optima found (the likelihood of a mixture has several local maxima).
    coarse: list[NelderMeadResult] = []
    for th in chosen:
        res = nelder_mead(rough, th, step=0.3, max_evals=max_evals, xtol=_COARSE_XTOL, ftol=_COARSE_FTOL)
        evals += res.n_evals
        coarse.append(res)
    coarse.sort(key=lambda res: res.fun)
    # Polish the best coarse optimum, and any other one elsewhere (> 0.02 apart in
    # theta) with a log-likelihood within _RIVAL_LL of it: it may be the better one.
    candidates = [coarse[0]]
    for res in coarse[1:]:
        if ((res.fun - coarse[0].fun) * r.size <= _RIVAL_LL
                and all(np.max(np.abs(res.x - c.x)) > 0.02 for c in candidates)):
            candidates.append(res)
    best: NelderMeadResult | None = None
    for res in candidates:
        res = nelder_mead(obj, res.x, step=0.02, max_evals=max_evals, xtol=_XTOL, ftol=_FTOL)
        evals += res.n_evals
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    for _ in range(4):                                   # restarts: Nelder-Mead can stall on a ridge
        again = nelder_mead(obj, best.x, step=0.02, max_evals=max_evals, xtol=_XTOL, ftol=_FTOL)
        evals += again.n_evals
        improved = again.fun < best.fun - _FTOL
        if again.fun <= best.fun:
            best = again
        if not improved:
            break
    th = best.x
    params = _reported(np.array(th), obj, d)
    ses, extra = _standard_errors(obj, th, d)
    evals += extra
    gbm = fit_gbm_moments(r, d)
    return MertonFit(*params, log_likelihood=obj.loglik(th), n_obs=r.size, dt=d,
                     drift_se_pct=ses[0], volatility_se_pct=ses[1], jump_intensity_se=ses[2],
                     jump_mean_se_pct=ses[3], jump_volatility_se_pct=ses[4], gbm=gbm, converged=best.converged,
                     n_evals=evals, at_intensity_cap=bool(th[2] >= obj.h_cap_log - 1e-6),
                     jumps_collapsed=bool(th[4] <= _EXP_CLIP[0] + 1e-6 or math.exp(th[4]) < 0.01 * _VOL_FLOOR))


def _reported(th: np.ndarray, obj: _MertonObjective, d: float) -> tuple[float, ...]:
    """(drift %, volatility %, jumps/yr, jump mean %, jump volatility %, log jump mean %) from theta."""
    a, vol, h, m, s = obj.natural(th)
    sigma = vol / math.sqrt(d)
    lam = h / d
    k = math.expm1(m + 0.5 * s * s)
    mu = a / d + 0.5 * sigma**2 + lam * k
    return 100 * mu, 100 * sigma, lam, 100 * k, 100 * s, 100 * m


def _standard_errors(obj: _MertonObjective, th: np.ndarray, d: float) -> tuple[list[float | None], int]:
    """Delta-method standard errors of the reported parameters from the numerical Hessian in theta."""
    n = th.size
    eps = 1e-3
    f = obj.loglik
    f0 = f(th)
    evals = 1
    hess = np.empty((n, n))
    e = np.eye(n) * eps
    for i in range(n):
        fp, fm = f(th + e[i]), f(th - e[i])
        hess[i, i] = (fp - 2 * f0 + fm) / eps**2
        evals += 2
        for j in range(i):
            v = (f(th + e[i] + e[j]) - f(th + e[i] - e[j]) - f(th - e[i] + e[j]) + f(th - e[i] - e[j])) / (4 * eps**2)
            hess[i, j] = hess[j, i] = v
            evals += 4
    none = [None] * 5
    info = -hess
    if not np.all(np.isfinite(info)):
        return none, evals
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return none, evals
    cov = np.linalg.inv(info)
    jac = np.empty((5, n))
    for i in range(n):
        hi, lo = np.array(_reported(th + e[i], obj, d)), np.array(_reported(th - e[i], obj, d))
        jac[:, i] = (hi[:5] - lo[:5]) / (2 * eps)
    var = np.einsum("ij,jk,ik->i", jac, cov, jac)
    return [float(math.sqrt(v)) if v >= 0 else None for v in var], evals
