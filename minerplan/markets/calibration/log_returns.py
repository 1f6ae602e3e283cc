"""Monthly log returns from daily or monthly closes, and the checks every fit makes of its inputs.

:func:`monthly_log_returns` takes month-end closes (complete months only) and returns
``log(close_m / close_{m-1})`` between consecutive calendar months. :func:`returns_array` and
:func:`check_dt` refuse returns or a step (``dt``, years) that a fit cannot use; :func:`dt_text` and
:func:`se_text` are the pieces of a fit's description.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def monthly_log_returns(series: pd.Series) -> pd.Series:
    """Monthly log returns ``log(close_m / close_{m-1})`` from daily or monthly closes.

    Monthly data (median spacing of 20 days or more) must hold one close per
    calendar month. Daily (or weekly) data is resampled to month-end closes: a
    month counts only when its last observation is within ``max(3 days, 1.5 x
    the median spacing)`` of the month's end, so a partial last month (or a gap)
    does not pass for a full one. Returns are taken between consecutive
    calendar months only; the result is indexed by month-end dates.
    """
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("expected a pandas Series indexed by dates (see load_price_history_csv)")
    values = series.to_numpy(dtype=float)
    if values.size and not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ValueError("prices must be positive and finite")
    idx = series.index.tz_localize(None) if series.index.tz is not None else series.index
    if values.size < 2:
        return pd.Series([], index=pd.DatetimeIndex([], name="month"), name="log_return", dtype=float)
    if not idx.is_monotonic_increasing or idx.has_duplicates:
        raise ValueError("dates must strictly increase")
    spacing_days = float(np.median((idx[1:] - idx[:-1]).total_seconds())) / 86_400.0
    periods = idx.to_period("M")
    if spacing_days >= 20:
        if periods.has_duplicates:
            dup = periods[periods.duplicated()][0]
            raise ValueError(f"two closes in month {dup}; monthly data needs one close per month")
        month_close = pd.Series(values, index=periods)
    else:
        frame = pd.DataFrame({"close": values, "date": idx}, index=periods)
        last = frame.groupby(level=0).last()
        month_end = last.index.to_timestamp(how="end").normalize()
        slack = pd.Timedelta(days=max(3.0, 1.5 * spacing_days))
        complete = (month_end - pd.DatetimeIndex(last["date"]).normalize()) <= slack
        month_close = last.loc[np.asarray(complete), "close"]
    ordinal = np.asarray([p.ordinal for p in month_close.index])
    logs = np.log(month_close.to_numpy(dtype=float))
    consecutive = np.diff(ordinal) == 1
    rets = np.diff(logs)[consecutive]
    months = month_close.index[1:][consecutive].to_timestamp(how="end").normalize()
    return pd.Series(rets, index=pd.DatetimeIndex(months, name="month"), name="log_return")


def returns_array(returns, minimum: int, what: str) -> np.ndarray:
    r = returns.to_numpy(dtype=float) if isinstance(returns, pd.Series) else np.asarray(returns, dtype=float)
    if r.ndim != 1:
        raise ValueError("returns must be one-dimensional")
    bad = np.flatnonzero(~np.isfinite(r))
    if bad.size:
        raise ValueError(f"returns must be finite; entry {int(bad[0])} is {r[bad[0]]}")
    if r.size < minimum:
        raise ValueError(f"{what} needs at least {minimum} returns, got {r.size}")
    if np.ptp(r) == 0.0:
        raise ValueError("returns have no variation; nothing to fit")
    return r


def check_dt(dt_years: float) -> float:
    v = float(dt_years)
    if not (math.isfinite(v) and 0.0 < v <= 1.0):
        raise ValueError(f"dt must be in (0, 1] years, got {dt_years!r}")
    return v


def dt_text(dt_years: float) -> str:
    inv = 1.0 / dt_years
    return f"1/{inv:.0f} year" if abs(inv - round(inv)) < 1e-9 else f"{dt_years:g} year"


def se_text(x: float | None, fmt: str = ".1f") -> str:
    return f"se {x:{fmt}}" if x is not None and math.isfinite(x) else "se n/a"
