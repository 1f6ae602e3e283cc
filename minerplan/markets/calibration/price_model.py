"""The price model ``minerplan calibrate`` keeps, and why: :func:`fit_price_model`.

It turns a price history into monthly log returns, refuses what no fit can use with a
:class:`~minerplan.markets.calibration.history_csv.PriceHistoryError` that says what the history
holds and what is needed, fits the GBM and (with enough returns) the Merton jump-diffusion, and keeps
the one with the lower AIC unless a model was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from minerplan.markets.calibration.gbm import MIN_RETURNS_GBM, GbmFit, fit_gbm_moments
from minerplan.markets.calibration.history_csv import PriceHistoryError
from minerplan.markets.calibration.log_returns import monthly_log_returns
from minerplan.markets.calibration.merton_mle import MIN_RETURNS_MERTON, MertonFit, fit_merton_mle
from minerplan.scenario.errors import Problem

@dataclass(frozen=True)
class PriceModelFit:
    """The price model ``minerplan calibrate`` keeps, and why.

    ``fit`` is the kept model's fit (its ``factor_kwargs()`` go into the scenario);
    ``shown`` is the fit to describe (the Merton fit, which also shows the GBM, whenever
    a Merton fit was made); ``reason`` says why ``model`` was kept, in words.
    """

    model: str
    fit: GbmFit | MertonFit
    shown: GbmFit | MertonFit
    reason: str
    returns: pd.Series


def _history_text(series: pd.Series) -> str:
    """``430 closes (2023-01-01 to 2024-03-05)``: what the returns were taken from."""
    if len(series) == 0:
        return "no closes"
    return f"{len(series):,} closes ({series.index[0].date()} to {series.index[-1].date()})"


def _same_month_problems(series: pd.Series, source: str) -> list[Problem]:
    """One problem per calendar month holding more than one close, naming the file rows when known."""
    rows = series.attrs.get("rows")
    if rows is not None and len(rows) != len(series):
        rows = None
    months = series.index.to_period("M")
    problems = []
    for month in months[months.duplicated()].unique():
        at = np.flatnonzero(months == month)
        dates = " and ".join(str(series.index[i].date()) for i in at)
        numbers = [str(rows[i]) for i in at] if rows is not None else []
        listed = " and ".join(numbers) if len(numbers) == 2 else ", ".join(numbers)
        where = f"{source} rows {listed}, column date" if rows is not None else source
        problems.append(Problem(where, f"{dates} are both in {month}: monthly closes need one close per calendar "
                                       "month; delete all but the month's last close (or give daily closes)"))
    return problems


def fit_price_model(series: pd.Series, model: str = "auto", source: str = "price history") -> PriceModelFit:
    """Fit ``model`` (``auto``, ``gbm`` or ``merton``) to a price history as ``minerplan calibrate`` does.

    Inputs the fits cannot use are a PriceHistoryError (exit 2 in the CLI) that says what
    the history holds and what is needed, never a bare ValueError from inside a fit:

    * monthly data with two closes in one month names the rows (which close is the month's
      is the user's call, so none is dropped silently);
    * fewer than :data:`MIN_RETURNS_GBM` monthly returns, or returns without variation
      (constant prices: the volatility would be 0), are refused for every model;
    * ``merton`` needs :data:`MIN_RETURNS_MERTON` returns; ``auto`` with fewer fits the GBM
      and says so in ``reason`` (the jumps could not be fitted, so they are not kept).

    ``auto`` otherwise keeps the model with the lower AIC, as before.
    """
    if model not in ("auto", "gbm", "merton"):
        raise ValueError(f"model must be auto, gbm or merton, got {model!r}")
    try:
        returns = monthly_log_returns(series)
    except ValueError as e:
        problems = _same_month_problems(series, source)
        raise PriceHistoryError(problems or [Problem(source, str(e))]) from None
    n = len(returns)
    have = f"{n} monthly log return{'s' if n != 1 else ''} from {_history_text(series)}"
    if n < MIN_RETURNS_GBM:
        raise PriceHistoryError([Problem(source, (
            f"{have}; a fit needs at least {MIN_RETURNS_GBM} (a GBM; a Merton fit {MIN_RETURNS_MERTON}): give a "
            f"longer history (returns are taken between month-end closes of consecutive calendar months, and a "
            f"month of daily closes counts only when it is complete)"))])
    r = returns.to_numpy(dtype=float)
    if float(np.std(r)) <= 1e-12 * max(1.0, float(np.max(np.abs(r)))):
        same = ("0: the closes do not change" if abs(r[0]) < 1e-15 else
                f"{r[0]:+.6g}: the closes change at one fixed rate")
        raise PriceHistoryError([Problem(source, (
            f"the {have} are all {same}; a price model needs returns that vary (the volatility would be 0): "
            "give a real price history"))])
    if model == "gbm":
        fit = fit_gbm_moments(returns)
        return PriceModelFit("gbm", fit, fit, "asked for", returns)
    if n < MIN_RETURNS_MERTON:
        if model == "merton":
            raise PriceHistoryError([Problem(source, (
                f"{have}; a Merton fit needs at least {MIN_RETURNS_MERTON} (a GBM needs {MIN_RETURNS_GBM}): give "
                "a longer history or fit the GBM (--model gbm)"))])
        fit = fit_gbm_moments(returns)
        return PriceModelFit("gbm", fit, fit, f"only {n} monthly returns: a Merton fit needs at least "
                                              f"{MIN_RETURNS_MERTON}, so the GBM was fitted", returns)
    merton = fit_merton_mle(returns)
    if model == "merton":
        return PriceModelFit("merton", merton, merton, "asked for", returns)
    if merton.gbm.aic <= merton.aic:   # the jumps do not earn their three extra parameters
        return PriceModelFit("gbm", merton.gbm, merton, "lower AIC", returns)
    return PriceModelFit("merton", merton, merton, "lower AIC", returns)
