"""Fit BTC price models to a price history (issue 6).

* :func:`load_price_history_csv` reads a CSV of daily or monthly closes. The file
  is untrusted input: it is size-limited, every problem names the row and the
  column (``prices.csv row 17, column close: expected a positive number, got 'n/a'``),
  dates must strictly increase and at least :data:`MIN_OBSERVATIONS` prices are needed.
* :func:`monthly_log_returns` turns closes into monthly log returns (month-end
  closes when the data is daily).
* :func:`fit_gbm_moments` fits a geometric Brownian motion by moments;
  :func:`fit_merton_mle` fits the Merton jump-diffusion of
  :func:`minerplan.markets.stochastic.merton_factors` by maximum likelihood, with the
  Nelder-Mead optimizer (scipy's). Both return frozen dataclasses whose
  parameters are in the units of the factor functions' arguments (percent per
  year, jumps per year) and whose ``describe()`` is the fit shown to the user.

The Merton density of one step's log return ``r`` (``h = lam * dt`` jumps expected
per step, ``a = (mu - sigma^2/2 - lam*k) * dt``, log jump size ~ Normal(m_J, s_J^2))
is the Poisson-weighted mixture of normals::

    f(r) = sum_{n=0}^{10} e^{-h} h^n / n! * Normal(r; a + n*m_J, sigma^2*dt + n*s_J^2)

truncated at 10 jumps per step (the intensity is capped at 4 jumps per step, where
the truncation leaves out 0.3% of the probability).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from minerplan.scenario.errors import Problem, ScenarioError

#: Larger files are refused before they are read.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Fewer prices than this are refused.
MIN_OBSERVATIONS = 24
#: Problems collected before reading stops (the message shows the first 50).
MAX_PROBLEMS = 200
#: Accepted names of the date column and of the price column, in order of preference (case-insensitive).
DATE_COLUMNS = ("date", "timestamp", "time", "day")
PRICE_COLUMNS = ("close", "adj close", "adj_close", "price", "usd")
#: Fewest returns each fit accepts.
MIN_RETURNS_GBM = 12
MIN_RETURNS_MERTON = 20
#: Jumps per step in the truncated Merton density, and the cap on the expected jumps per step.
MAX_JUMPS_PER_STEP = 10
MAX_JUMPS_EXPECTED_PER_STEP = 4.0


class PriceHistoryError(ScenarioError):
    """A price history file cannot be used; carries every problem found, each naming row and column."""

    headline = "cannot read price history"


# --------------------------------------------------------------------------- reading the CSV

def _read_bytes(path: Path, name: str) -> bytes:
    def fail(message: str) -> PriceHistoryError:
        return PriceHistoryError([Problem(name, message)])
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise fail("is a directory, not a CSV file")
        if not stat.S_ISREG(st.st_mode):
            raise fail("not a regular file; give a CSV file")
        if st.st_size > MAX_FILE_BYTES:
            raise fail(f"file is {st.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise fail("not a regular file; give a CSV file")
            data = fh.read(MAX_FILE_BYTES + 1)           # never trust st_size
    except PriceHistoryError:
        raise
    except (FileNotFoundError, NotADirectoryError):
        raise fail("file not found") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or type(e).__name__}") from None
    except ValueError:                                   # e.g. a NUL in the file name
        raise fail("cannot read: not a valid file name") from None
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes")
    return data


def _row_of_byte(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _show(text: str) -> str:
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"'{text}'"


_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_YM_RE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})")
_YMD_RE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_TZ_SUFFIX_RE = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)


#: The largest value each kind of series may hold: the scenario's hard bounds (minerplan.scenario.model),
#: so a history file cannot feed a fit (or a backtest) a close of 1e300.
VALUE_MAX = {"close": (100_000_000.0, "USD"), "difficulty": (1e17, ""), "block_height": (50_000_000.0, ""),
             "fees_btc_per_block": (100.0, "BTC per block")}


def _parse_price(text: str, allow_zero: bool = False, kind: str = "close") -> float:
    t = text.strip()
    if t == "":
        raise ValueError("expected a positive number, the cell is empty")
    if len(t) <= 40 and _NUMBER_RE.fullmatch(t):
        x = float(t)
        top, unit = VALUE_MAX.get(kind, (math.inf, ""))
        if math.isfinite(x) and x > top:
            top_text = f"{top:,.0f}" if top < 1e12 else f"{top:.3g}"
            raise ValueError(f"{_show(t)} is above the largest plausible {kind} ({top_text}{' ' + unit if unit else ''})")
        if math.isfinite(x) and (x > 0 or (allow_zero and x == 0)):
            return x
        if not math.isfinite(x):
            raise ValueError(f"expected a positive number, got {_show(t)} (too large)")
        raise ValueError(f"expected a positive number, got {_show(t)}")
    hint = (" (write plain numbers like 91234.5: no thousands separators, currency signs or units)"
            if any(ch.isdigit() for ch in t) else "")
    raise ValueError(f"expected a positive number, got {_show(t)}{hint}")


def _parse_date(text: str) -> dt.datetime:
    """ISO dates: 2025-11-30, 2025/11/30, 2025-11 (a month), with an optional time and time zone
    (converted to UTC); day-first or month-first dates are refused as ambiguous."""
    t = _TZ_SUFFIX_RE.sub("", text.strip())
    if t == "":
        raise ValueError("expected a date like 2025-11-30, the cell is empty")
    try:
        if _YM_RE.fullmatch(t):
            y, m = map(int, _YM_RE.fullmatch(t).groups())
            return dt.datetime(y, m, 1)
        m_ = _YMD_RE.fullmatch(t)
        if m_:
            return dt.datetime(*map(int, m_.groups()))
        if len(t) <= 40 and re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]", t):
            d = dt.datetime.fromisoformat(t.replace(" ", "T", 1) if t[10] == " " else t)
            if d.tzinfo is not None:
                d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return d
    except ValueError:
        pass
    raise ValueError(f"expected a date like 2025-11-30 (year-month-day), got {_show(t)}")


def _guess_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _norm_header(cell: str) -> str:
    return " ".join(cell.strip().strip('"').lower().split())


def load_price_history_csv(path: str | os.PathLike) -> pd.Series:
    """Daily or monthly BTC closes from a CSV file, as a float Series indexed by date.

    See :func:`load_dated_values_csv`; the value column is ``close`` (or one of
    :data:`PRICE_COLUMNS`) and at least :data:`MIN_OBSERVATIONS` prices are needed.
    """
    return load_dated_values_csv(path, value_columns=PRICE_COLUMNS, kind="close",
                                 min_observations=MIN_OBSERVATIONS, error=PriceHistoryError)


def load_dated_values_csv(path: str | os.PathLike, *, value_columns: Sequence[str], kind: str,
                          min_observations: int = 1, error: type[ScenarioError] = ScenarioError,
                          allow_zero: bool = False) -> pd.Series:
    """Dated positive numbers (daily or monthly) from a CSV file, as a float Series indexed by date.

    The header row (the first non-blank row) must have a date column (named
    ``date``, ``timestamp``, ``time`` or ``day``) and a value column (one of
    ``value_columns``, the first present is used; for prices ``close``,
    ``adj close``, ``price`` or ``usd``), case-insensitive; other columns are
    ignored. Delimiter: comma, or ``;`` or tab when the header uses it. A row with
    a value right of the last named header is refused (an unquoted ``48,172`` is
    two fields, and reading on would take a close of 48). Text must be UTF-8 (a
    BOM is fine), or UTF-16 with a byte order mark (see
    :func:`minerplan.sheets.table_import.decode_text`). Values must be plain positive numbers (zero too with
    ``allow_zero``); dates ISO (``2025-11-30``, ``2025-11``, with an optional
    time). Dates must strictly increase (no duplicates), and at least
    ``min_observations`` values are needed. Rows are numbered as lines of the
    file (the header is usually row 1); ``series.attrs["rows"]`` holds the row of
    each value. Raises ``error`` with every problem found.
    """
    PriceHistoryError = error  # noqa: N806 - the error class this reader raises
    p = Path(path)
    name = p.name or str(path)
    data = _read_bytes(p, name)

    def fail(row: int | None, message: str, column: str | None = None) -> PriceHistoryError:
        return PriceHistoryError([Problem(_where(name, row, column), message)])

    from minerplan.sheets.table_import import TextDecodeError, decode_text, split_fields_hint  # one answer for a file in both readers

    empty = f"the file is empty; expected a header row naming the columns date and {kind}"
    if data.strip() == b"":
        raise fail(1, empty)
    try:
        text = decode_text(data)
    except TextDecodeError as e:
        row = _row_of_byte(data, e.offset) if e.offset is not None else None
        what = f"; expected CSV text with columns date and {kind}" if str(e).startswith("not a text file") else ""
        raise fail(row, f"{e}{what}") from None
    if text.strip() == "":
        raise fail(1, empty)

    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = _guess_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    header: list[str] | None = None
    header_row = 0
    width = 0      # fields up to the last named header
    date_col = price_col = -1
    rows: list[int] = []
    dates: list[dt.datetime] = []
    prices: list[float] = []
    try:
        for record in reader:
            row = reader.line_num
            if all(c.strip() == "" for c in record):
                continue
            if header is None:
                header, header_row = [_norm_header(c) for c in record], row
                date_col, price_col = _find_columns(header, name, row, kind, tuple(value_columns), error)
                width = max(i + 1 for i, h in enumerate(header) if h)
                continue
            ok = True
            extra = [i for i in range(width, len(record)) if record[i].strip()]
            if extra:
                # "2021-03-31,48,172" under "date,close": reading on would take a close of 48
                hint = split_fields_hint(record[width - 1:extra[-1] + 1], delimiter)
                problems.append(Problem(_where(name, row, None),
                                        f"the row has {len(record)} fields but the header has {width} (the last is "
                                        f"{header[width - 1]!r}): field {extra[0] + 1} holds {_show(record[extra[0]])} "
                                        f"under no header, so the row's values cannot be matched to their "
                                        f"columns{hint}"))
                ok = False
            values = []
            for col, what in ((date_col, "date"), (price_col, "value")):
                label = header[col]
                cell = record[col] if col < len(record) else None
                if cell is None:
                    problems.append(Problem(_where(name, row, label),
                                            f"missing value (the row has {len(record)} "
                                            f"field{'s' if len(record) != 1 else ''})"))
                    ok = False
                    continue
                try:
                    values.append(_parse_date(cell) if what == "date" else _parse_price(cell, allow_zero, kind))
                except ValueError as e:
                    problems.append(Problem(_where(name, row, label), str(e)))
                    ok = False
            if ok:
                rows.append(row)
                dates.append(values[0])
                prices.append(values[1])
            if len(problems) >= MAX_PROBLEMS:
                problems.append(Problem(name, "too many problems; reading stopped here"))
                break
    except csv.Error as e:
        problems.append(Problem(_where(name, reader.line_num, None), f"not a readable CSV row: {e}"))
    if header is None:  # pragma: no cover - a non-blank file always has a header row
        raise fail(1, "no header row")
    if problems:
        raise PriceHistoryError(problems)

    date_label = header[date_col]
    seen: dict[dt.datetime, int] = {}
    for i, (row, d) in enumerate(zip(rows, dates)):
        if d in seen:
            problems.append(Problem(_where(name, row, date_label),
                                    f"duplicate date {_fmt_date(d)} (also on row {seen[d]})"))
        elif i and d < dates[i - 1]:
            problems.append(Problem(_where(name, row, date_label),
                                    f"{_fmt_date(d)} comes before {_fmt_date(dates[i - 1])} on row {rows[i - 1]}; "
                                    "dates must increase"))
        seen.setdefault(d, row)
    if problems:
        raise PriceHistoryError(problems)
    if len(prices) < min_observations:
        span = f"rows {rows[0]}-{rows[-1]}" if rows else f"row {header_row}"
        raise PriceHistoryError([Problem(f"{name} {span}, column {header[price_col]}",
                                         f"only {len(prices)} {'price' if kind == 'close' else 'value'}"
                                         f"{'s' if len(prices) != 1 else ''}; at least {min_observations} are needed")])
    index = pd.DatetimeIndex(pd.to_datetime(dates), name="date")
    series = pd.Series(np.asarray(prices, dtype=float), index=index, name=kind)
    series.attrs["rows"] = tuple(rows)       # the file row of each value, for messages that name rows
    return series


def _where(name: str, row: int | None, column: str | None) -> str:
    where = name if row is None else f"{name} row {row}"
    return f"{where}, column {column}" if column else where


def _fmt_date(d: dt.datetime) -> str:
    return d.date().isoformat() if d.time() == dt.time() else d.isoformat(sep=" ")


def _find_columns(header: list[str], name: str, row: int, value_kind: str = "close",
                  value_columns: tuple[str, ...] = PRICE_COLUMNS,
                  error: type[ScenarioError] = PriceHistoryError) -> tuple[int, int]:
    problems = []
    found = ", ".join(h or "(blank)" for h in header[:20]) + (", ..." if len(header) > 20 else "")
    cols = []
    for kind, names in (("date", DATE_COLUMNS), (value_kind, value_columns)):
        hit = next((n for n in names if n in header), None)
        if hit is None:
            others = f" (also accepted: {', '.join(names[1:])})" if len(names) > 1 else ""
            problems.append(Problem(_where(name, row, kind),
                                    f"missing column {kind!r}{others}; the header has: {found}"))
            cols.append(-1)
            continue
        where = [i for i, h in enumerate(header) if h == hit]
        if len(where) > 1:
            numbers = ", ".join(str(i + 1) for i in where)
            problems.append(Problem(_where(name, row, hit),
                                    f"{len(where)} columns are named {hit!r} (columns {numbers}); keep one"))
        cols.append(where[0])
    if problems:
        raise error(problems)
    return cols[0], cols[1]


# --------------------------------------------------------------------------- returns

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


def _returns_array(returns, minimum: int, what: str) -> np.ndarray:
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


def _check_dt(dt_years: float) -> float:
    v = float(dt_years)
    if not (math.isfinite(v) and 0.0 < v <= 1.0):
        raise ValueError(f"dt must be in (0, 1] years, got {dt_years!r}")
    return v


def _dt_text(dt_years: float) -> str:
    inv = 1.0 / dt_years
    return f"1/{inv:.0f} year" if abs(inv - round(inv)) < 1e-9 else f"{dt_years:g} year"


def _se(x: float | None, fmt: str = ".1f") -> str:
    return f"se {x:{fmt}}" if x is not None and math.isfinite(x) else "se n/a"


# --------------------------------------------------------------------------- GBM

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
            f"GBM, fitted by moments to {self.n_obs:,} log returns (dt = {_dt_text(self.dt)}):",
            f"  drift {self.drift_pct_per_year:.1f} %/yr ({_se(self.drift_se_pct)}), "
            f"volatility {self.volatility_pct_per_year:.1f} %/yr ({_se(self.volatility_se_pct)})",
            f"  log-likelihood {self.log_likelihood:,.1f}, AIC {self.aic:,.1f} ({self.n_params} parameters)",
        ])


def _normal_loglik(r: np.ndarray, mean: float, var: float) -> float:
    return float(-0.5 * r.size * math.log(2 * math.pi * var) - 0.5 * np.sum((r - mean) ** 2) / var)


def fit_gbm_moments(returns, dt: float = 1.0 / 12.0) -> GbmFit:
    """Fit a GBM to log returns by moments (see :class:`GbmFit`).

    Standard errors: ``se(sigma) = sigma / sqrt(2 (n - 1))`` and, by the delta method,
    ``se(mu)^2 = s^2 / (n dt^2) + (sigma se(sigma))^2``.
    """
    d = _check_dt(dt)
    r = _returns_array(returns, MIN_RETURNS_GBM, "a GBM fit")
    n = r.size
    m, s2 = float(r.mean()), float(r.var(ddof=1))
    sigma = math.sqrt(s2 / d)
    mu = m / d + 0.5 * sigma**2
    se_sigma = sigma / math.sqrt(2.0 * (n - 1))
    se_mu = math.sqrt(s2 / (n * d * d) + (sigma * se_sigma) ** 2)
    return GbmFit(100 * mu, 100 * sigma, _normal_loglik(r, m, s2), n, d, 100 * se_mu, 100 * se_sigma)


# --------------------------------------------------------------------------- Merton density

_LGAMMA = np.array([math.lgamma(k + 1.0) for k in range(64)])


def _merton_logpdf(r: np.ndarray, a: float, v0: float, h: float, m: float, s2: float,
                   n_max: int = MAX_JUMPS_PER_STEP) -> np.ndarray:
    """Per-step log density: Poisson(h)-weighted mixture of Normal(a + n m, v0 + n s2), n = 0..n_max.

    A log-sum-exp over the terms scaled by the no-jump term (so the sum is >= 1
    and never underflows), one term at a time on vectors of the size of ``r``
    (in cache: ~3x faster than a [term, obs] array). Where a jump term exceeds
    the no-jump one by more than e^700 (a return hundreds of standard deviations
    out) the sum is redone scaled by the largest term.
    """
    d = r - a
    log_h = math.log(h)
    consts = [(-h + n * log_h - _LGAMMA[n] - 0.5 * math.log(2 * math.pi * (v0 + n * s2)),
               -0.5 / (v0 + n * s2)) for n in range(n_max + 1)]

    def term(n: int, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        c, q = consts[n]
        np.subtract(x, n * m, out=out)
        np.square(out, out=out)
        np.multiply(out, q, out=out)
        np.add(out, c, out=out)
        return out

    top = term(0, d, np.empty_like(d))
    acc = np.ones_like(d)
    tmp = np.empty_like(d)
    with np.errstate(over="ignore"):
        for n in range(1, n_max + 1):
            t = term(n, d, tmp)
            t -= top
            np.exp(t, out=t)
            acc += t
    bad = np.flatnonzero(~np.isfinite(acc))
    if bad.size:
        db = d[bad]
        terms = np.stack([term(n, db, np.empty_like(db)) for n in range(n_max + 1)])
        tb = terms.max(axis=0)
        acc[bad] = np.exp(terms - tb).sum(axis=0)
        top[bad] = tb
    np.log(acc, out=acc)
    acc += top
    return acc


def merton_log_density(r, *, dt: float = 1.0 / 12.0, drift_pct_per_year: float, volatility_pct_per_year: float,
                       jump_intensity_per_year: float, jump_mean_pct: float, jump_volatility_pct: float,
                       max_jumps: int = MAX_JUMPS_PER_STEP) -> np.ndarray:
    """Log density of one step's log return under :func:`minerplan.markets.stochastic.merton_factors`'
    parameterization (the truncated Poisson mixture of the module docstring)."""
    mu, sigma = drift_pct_per_year / 100.0, volatility_pct_per_year / 100.0
    lam, k, delta = jump_intensity_per_year, jump_mean_pct / 100.0, jump_volatility_pct / 100.0
    if sigma <= 0 or lam < 0 or k <= -1 or delta < 0:
        raise ValueError("need volatility > 0, intensity >= 0, jump mean > -100% and jump volatility >= 0")
    r = np.atleast_1d(np.asarray(r, dtype=float))
    a = (mu - 0.5 * sigma**2 - lam * k) * dt
    if lam == 0:
        return -0.5 * np.log(2 * math.pi * sigma**2 * dt) - (r - a) ** 2 / (2 * sigma**2 * dt)
    return _merton_logpdf(r, a, sigma**2 * dt, lam * dt, math.log1p(k) - 0.5 * delta**2, delta**2, max_jumps)


# --------------------------------------------------------------------------- Nelder-Mead

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


# --------------------------------------------------------------------------- Merton MLE

@dataclass(frozen=True)
class MertonFit:
    """A Merton jump-diffusion fitted by maximum likelihood.

    Parameters are the arguments of :func:`minerplan.markets.stochastic.merton_factors`
    (``factor_kwargs()``): drift and volatility in percent per year, jumps per
    year, ``jump_mean_pct`` = mean jump size ``100 * (E[J] - 1)``,
    ``jump_volatility_pct`` = standard deviation of the log jump size in percent;
    ``log_jump_mean_pct`` is the mean log jump ``100 * m_J``. ``*_se`` are
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
        """Keyword arguments for :func:`minerplan.markets.stochastic.merton_factors`."""
        return {"drift_pct_per_year": self.drift_pct_per_year,
                "volatility_pct_per_year": self.volatility_pct_per_year,
                "jump_intensity_per_year": self.jump_intensity_per_year,
                "jump_mean_pct": self.jump_mean_pct, "jump_volatility_pct": self.jump_volatility_pct}

    def describe(self) -> str:
        g = self.gbm
        d_aic = g.aic - self.aic
        lines = [
            f"Merton jump-diffusion, maximum likelihood on {self.n_obs:,} log returns (dt = {_dt_text(self.dt)}):",
            f"  drift {self.drift_pct_per_year:.1f} %/yr ({_se(self.drift_se_pct)}), "
            f"volatility {self.volatility_pct_per_year:.1f} %/yr ({_se(self.volatility_se_pct)})",
            f"  jumps {self.jump_intensity_per_year:.2f} per year ({_se(self.jump_intensity_se, '.2f')}), "
            f"mean jump {self.jump_mean_pct:+.1f} % ({_se(self.jump_mean_se_pct)}), "
            f"jump volatility {self.jump_volatility_pct:.1f} % ({_se(self.jump_volatility_se_pct)})",
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
        return float(_merton_logpdf(self.r, a, vol * vol, h, m, s * s, self.n_max).sum())

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
    d = _check_dt(dt)
    r = _returns_array(returns, MIN_RETURNS_MERTON, "a Merton fit")
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


# --------------------------------------------------------------------------- the calibrate command's fit

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
