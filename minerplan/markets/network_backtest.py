"""Backtest and calibration of the supply network model on realized history (``minerplan backtest-network``).

A backtest starts the model at ``from`` with the realized difficulty of that
month (and the installed base :func:`~minerplan.markets.network_supply.installed_base_tiers`
assumes for that date), replays the realized monthly BTC prices (the mean of
the daily closes in each month, or the monthly value as given) and fees, and
compares the predicted difficulty (block-weighted monthly mean, as the engine
reports it) with the realized one, month by month. It is an open-loop forecast:
nothing realized after ``from`` but prices and fees enters the model.

The shipped history (``assets/history/``, monthly since 2019 from Coin Metrics'
community data; see its README) and the documented non-economic supply shock
(China's mining ban, mid-2021, ``assets/history/supply_shocks.csv``) are the
defaults. :func:`calibrate` fits the model's free parameters on an in-sample
window by least squares on log difficulty (scipy), so the out-of-sample error
can be reported honestly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from minerplan.markets.calibration.history_csv import load_dated_values_csv
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.months import add_months, month_index, parse_month
from minerplan.engine.network import HALVING_INTERVAL_BLOCKS
from minerplan.markets.network_supply import DEFAULT_SUPPLY, SupplyParams, SupplyShock, simulate_supply_network

HISTORY_DIR = Path(__file__).resolve().parents[2] / "assets" / "history"
PRICES_CSV = HISTORY_DIR / "bitcoin_daily.csv"
DIFFICULTY_CSV = HISTORY_DIR / "difficulty_monthly.csv"
FEES_CSV = HISTORY_DIR / "fees_monthly.csv"
SHOCKS_CSV = HISTORY_DIR / "supply_shocks.csv"

#: Block 840,000 (the fourth halving) was mined on 2024-04-20 at 00:09 UTC: the anchor for estimating
#: the height at a month's start when a difficulty file has no block_height column (144 blocks a day).
HEIGHT_ANCHOR = ("2024-04-20", 840_000)


class HistoryError(ScenarioError):
    headline = "cannot read network history"


@dataclass(frozen=True)
class MonthlyHistory:
    """Realized monthly series keyed by ``YYYY-MM``."""

    price_usd: dict[str, float]
    difficulty: dict[str, float]
    block_height: dict[str, float]          # at the month's start (may be empty)
    fees_btc_per_block: dict[str, float]    # may be empty


def _by_month(series) -> dict[str, float]:
    """Monthly mean of dated values (one value per month stays as it is)."""
    out: dict[str, list[float]] = {}
    for ts, v in series.items():
        out.setdefault(f"{ts.year:04d}-{ts.month:02d}", []).append(float(v))
    return {m: float(np.mean(v)) for m, v in out.items()}


def load_history(prices: str | Path = PRICES_CSV, difficulty: str | Path = DIFFICULTY_CSV,
                 fees: str | Path | None = FEES_CSV) -> MonthlyHistory:
    """Read the three history files (untrusted: every problem names the file, row and column)."""
    price = load_dated_values_csv(prices, value_columns=("close", "adj close", "price", "usd"), kind="close",
                                  error=HistoryError)
    diff = load_dated_values_csv(difficulty, value_columns=("difficulty",), kind="difficulty", error=HistoryError)
    heights: dict[str, float] = {}
    try:
        h = load_dated_values_csv(difficulty, value_columns=("block_height",), kind="block_height",
                                  error=HistoryError)
        heights = {f"{ts.year:04d}-{ts.month:02d}": float(v) for ts, v in h.items()}
    except HistoryError as e:
        if not any("missing column 'block_height'" in p.message for p in e.problems):
            raise
    fee = {}
    if fees is not None:
        fee = _by_month(load_dated_values_csv(fees, value_columns=("fees_btc_per_block", "fees"),
                                              kind="fees_btc_per_block", error=HistoryError, allow_zero=True))
    return MonthlyHistory(_by_month(price), _by_month(diff), heights, fee)


def load_shocks(path: str | Path = SHOCKS_CSV) -> tuple[SupplyShock, ...]:
    """Supply shocks from a CSV with columns ``month,removed_pct,return_months`` (other columns ignored)."""
    p = Path(path)
    rows = []
    with p.open(newline="", encoding="utf-8") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=2):
            try:
                parse_month(rec["month"])
                removed = float(rec["removed_pct"])
                back = int(rec["return_months"])
                if not (0 <= removed <= 100 and 0 <= back <= 120):
                    raise ValueError("removed_pct must be 0-100 and return_months 0-120")
            except (KeyError, ValueError, TypeError) as e:
                raise HistoryError([Problem(f"{p.name} row {i}", f"not a supply shock: {e}")]) from None
            rows.append(SupplyShock(rec["month"], removed, back))
    return tuple(rows)


def estimated_height(month: str) -> float:
    """Block height at the start of ``month`` at 144 blocks a day from :data:`HEIGHT_ANCHOR`."""
    import datetime as dt

    y, m = parse_month(month)
    days = (dt.date(y, m, 1) - dt.date.fromisoformat(HEIGHT_ANCHOR[0])).days
    return float(HEIGHT_ANCHOR[1] + 144.0 * days)


@dataclass(frozen=True)
class BacktestResult:
    months: list[str]
    predicted_difficulty: np.ndarray
    realized_difficulty: np.ndarray          # NaN where the history has no value
    price_usd: np.ndarray
    start_height: float
    params: SupplyParams

    @property
    def errors_pct(self) -> np.ndarray:
        """Predicted over realized difficulty - 1, in percent (NaN where not realized)."""
        return (self.predicted_difficulty / self.realized_difficulty - 1.0) * 100.0

    @property
    def mape_pct(self) -> float | None:
        """Mean absolute percentage error over the months after the start that have a realized value."""
        e = self.errors_pct[1:]
        e = e[np.isfinite(e)]
        return float(np.mean(np.abs(e))) if e.size else None

    def to_json(self) -> dict:
        rows = [{"month": m, "predicted_difficulty": float(p),
                 "realized_difficulty": float(r) if math.isfinite(r) else None,
                 "btc_price_usd": float(x)}
                for m, p, r, x in zip(self.months, self.predicted_difficulty, self.realized_difficulty,
                                      self.price_usd)]
        return {"months": rows, "mape_pct": self.mape_pct, "start_block_height": self.start_height,
                "from": self.months[0], "to": self.months[-1]}


def _months(from_month: str, to_month: str) -> list[str]:
    n = month_index(from_month, to_month) + 1
    if n < 2:
        raise HistoryError([Problem("--to", f"{to_month} must be after --from {from_month}")])
    return [add_months(from_month, i) for i in range(n)]


def run_backtest(history: MonthlyHistory, from_month: str, to_month: str,
                 params: SupplyParams = DEFAULT_SUPPLY, *, pool_fee_pct: float = 2.0,
                 default_fee_btc_per_block: float = 0.1) -> BacktestResult:
    """Run the supply model from ``from_month`` to ``to_month`` on realized prices and fees."""
    months = _months(from_month, to_month)
    missing = [m for m in months if m not in history.price_usd]
    if missing:
        raise HistoryError([Problem("--prices", f"no BTC price for {', '.join(missing[:6])}"
                                                f"{' ...' if len(missing) > 6 else ''}; the prices must cover "
                                                f"{from_month} to {to_month}")])
    if from_month not in history.difficulty:
        raise HistoryError([Problem("--difficulty", f"no difficulty for the start month {from_month}")])
    prices = np.array([history.price_usd[m] for m in months])[None, :]
    fee0 = history.fees_btc_per_block.get(from_month, default_fee_btc_per_block)
    fees = np.array([history.fees_btc_per_block.get(m, fee0) for m in months])[None, :]
    height = history.block_height.get(from_month, estimated_height(from_month))
    pipeline = _pipeline_before(history, from_month, params, pool_fee_pct)
    p = params if pipeline is None else replace(params, pipeline_growth_pct_per_month=pipeline)
    net = simulate_supply_network(start_month=from_month, horizon_months=len(months),
                                  difficulty=history.difficulty[from_month], block_height=int(height),
                                  prices_usd=prices, fees_btc_per_block=fees, params=p, pool_fee_pct=pool_fee_pct)
    realized = np.array([history.difficulty.get(m, np.nan) for m in months])
    return BacktestResult(months, net.difficulty[0], realized, prices[0], height, p)


def _pipeline_before(history: MonthlyHistory, from_month: str, params: SupplyParams,
                     pool_fee_pct: float) -> float | None:
    """Orders placed in the months before ``from_month`` (share of the installed base per month, %).

    The model's own order rule applied to the realized price, difficulty and fees of the
    ``delivery_lag_months`` months before the start, each month at most what the pipeline
    delivers in a month; None when the history does not reach back.
    """
    from minerplan.engine.network import block_subsidy_btc
    from minerplan.markets.network_supply import entry_ratio, expected_subsidy_btc, frontier_j_per_th, order_share

    lag = int(math.ceil(params.delivery_lag_months))
    before = [add_months(from_month, -k) for k in range(1, lag + 1)]
    if not before or any(m not in history.price_usd or m not in history.difficulty for m in before):
        return None
    shares = []
    for m in before:
        h = history.block_height.get(m, estimated_height(m))
        to_halving = (int(h // HALVING_INTERVAL_BLOCKS) + 1) * HALVING_INTERVAL_BLOCKS - h
        subsidy = float(expected_subsidy_btc(block_subsidy_btc(int(h)), to_halving, params))
        fee = history.fees_btc_per_block.get(m, 0.0)
        hp = (history.price_usd[m] * 86_400 * 1e12 / 2**32 * (subsidy + fee) / history.difficulty[m]
              * (1 - pool_fee_pct / 100.0))
        e = float(frontier_j_per_th(m, params)[0]) * params.install_mix_factor
        shares.append(min(float(order_share(entry_ratio(hp, e, params), params)),
                          params.max_growth_pct_per_month / 100.0))
    return float(np.mean(shares)) * 100.0


def format_backtest(res: BacktestResult) -> str:
    """The table ``minerplan backtest-network`` prints."""
    lines = [f"Supply network model, {res.months[0]} to {res.months[-1]}: difficulty predicted from realized BTC "
             f"prices and fees (open loop from the realized difficulty of {res.months[0]})",
             f"  {'month':<9}{'BTC USD':>10}{'predicted T':>13}{'realized T':>12}{'error':>9}"]
    for m, x, p, r, e in zip(res.months, res.price_usd, res.predicted_difficulty, res.realized_difficulty,
                             res.errors_pct):
        real = f"{r / 1e12:,.2f}" if math.isfinite(r) else "n/a"
        err = f"{e:+.1f}%" if math.isfinite(e) else ""
        lines.append(f"  {m:<9}{x:>10,.0f}{p / 1e12:>13,.2f}{real:>12}{err:>9}")
    mape = res.mape_pct
    lines.append(f"mean absolute error: {mape:.1f}% over {int(np.isfinite(res.errors_pct[1:]).sum())} months "
                 "after the start" if mape is not None else "mean absolute error: n/a (no realized months)")
    return "\n".join(lines)


#: Parameters :func:`calibrate` fits, with bounds: (name, low, high). The rest are fixed a priori: the
#: delivery lag (6 months: machines bought for delivery about two quarters out, the short end of the 6-12
#: month pipeline seen in 2021-22), the 24-month payback window, orders at half speed at exactly payback
#: (``entry_midpoint`` 1; the all-in cost absorbs any other hurdle), 1%/month attrition.
FITTED = (("max_growth_pct_per_month", 1.0, 20.0), ("new_capex_usd_per_w", 0.2, 5.0),
          ("entry_width", 0.1, 1.5), ("halving_foresight", 0.0, 1.0))
#: Starting points of the multi-start fit (one per row, in the order of :data:`FITTED`).
FIT_STARTS = ((3.0, 0.8, 0.2, 0.3), (6.0, 1.5, 0.3, 0.6), (10.0, 1.0, 0.5, 0.1), (4.0, 2.5, 1.0, 0.9))


def fit_windows(from_month: str, to_month: str, length_months: int = 24) -> list[tuple[str, str]]:
    """The backtests a fit over ``[from_month, to_month]`` scores: the whole span, and a window of
    ``length_months`` starting each January inside it (so early and late starts both count)."""
    out = [(from_month, to_month)]
    y0, _ = parse_month(from_month)
    y1, _ = parse_month(to_month)
    for y in range(y0, y1 + 1):
        a = f"{y:04d}-01"
        if month_index(from_month, a) <= 0 or month_index(a, to_month) < 12:
            continue
        b = add_months(a, length_months - 1)
        out.append((a, b if month_index(b, to_month) >= 0 else to_month))
    return out


def calibrate(history: MonthlyHistory, windows: list[tuple[str, str]], params: SupplyParams = DEFAULT_SUPPLY,
              fitted=FITTED, starts=FIT_STARTS) -> tuple[SupplyParams, float]:
    """Fit ``fitted`` parameters by least squares on log difficulty over the backtest ``windows``.

    Multi-start (``starts``), bounded trust-region least squares
    (:func:`scipy.optimize.least_squares`); returns the best parameters and
    their root-mean-square log error.
    """
    from scipy.optimize import least_squares

    names = [f[0] for f in fitted]
    lo = np.array([f[1] for f in fitted])
    hi = np.array([f[2] for f in fitted])

    def residuals(x):
        p = replace(params, **dict(zip(names, map(float, x))))
        out = []
        for a, b in windows:
            res = run_backtest(history, a, b, p)
            r = np.log(res.predicted_difficulty[1:] / res.realized_difficulty[1:])
            out.append(r[np.isfinite(r)])
        return np.concatenate(out)

    best, best_rms = params, math.inf
    for x0 in starts:
        fit = least_squares(residuals, np.clip(np.asarray(x0, dtype=float), lo, hi), bounds=(lo, hi),
                            diff_step=1e-3, x_scale="jac")
        rms = float(np.sqrt(np.mean(fit.fun ** 2)))
        if rms < best_rms:
            best, best_rms = replace(params, **dict(zip(names, map(float, fit.x)))), rms
    return best, best_rms
