"""Period economics in peer terms: cost per BTC, cost per PH/s-day and EBITDA by calendar year and quarter.

Listed miners report cost per BTC by quarter, so a five-year average that
spans a halving compares with nothing they publish. :func:`period_table`
cuts an engine run into the calendar years and quarters its horizon touches
(a partial first or last period covers only the modelled months and says so
in ``months``).

Cost lines (USD; CoinShares' split, as in :func:`minerplan.analysis.report.summary`):

* energy: mining power + take-or-pay shortfall - curtailment credits;
* cash: energy + mining opex + mining's share of G&A;
* all-in: cash + ASIC depreciation.

Mining's G&A share is ``finance.g_and_a_mining_share_pct`` when given, else
mining's share of revenue in the period (mining / (mining + AI/HPC); all of it
when both are 0), so a site converting to AI/HPC stops loading the whole
overhead onto its remaining BTC. With several price paths every figure is
computed per path (ratios too: a path's cost per BTC is its cost over its
BTC), then the median (or mean) is taken across paths, ignoring paths where a
ratio has no value (no BTC mined). Sums are matrix products with a
month-to-period indicator, vectorized over paths.
"""

from __future__ import annotations

import warnings

import numpy as np

from minerplan.engine.evaluate import EngineResult
from minerplan.scenario.months import parse_month
from minerplan.analysis.report import json_number as _num

STATISTICS = ("median", "mean")


def period_keys(months: list[str]) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The calendar years, then quarters, that ``months`` (``YYYY-MM``) touch, in time order.

    Returns ``([(label, kind)], indicator)`` with ``indicator`` ``[month, period]``
    1.0 where the month falls in the period, so ``a @ indicator`` sums a
    ``[..., month]`` array per period.
    """
    ym = [parse_month(m) for m in months]
    years = [str(y) for y, _ in ym]
    quarters = [f"{y}-Q{(m - 1) // 3 + 1}" for y, m in ym]
    keys = [(k, "year") for k in dict.fromkeys(years)] + [(k, "quarter") for k in dict.fromkeys(quarters)]
    index = {k: j for j, k in enumerate(keys)}
    rows = np.arange(len(months))
    indicator = np.zeros((len(months), len(keys)))
    indicator[rows, [index[(y, "year")] for y in years]] = 1.0
    indicator[rows, [index[(q, "quarter")] for q in quarters]] = 1.0
    return keys, indicator


def g_and_a_mining_share(share_pct: float | None, mining_revenue_usd: np.ndarray,
                         ai_revenue_usd: np.ndarray) -> np.ndarray:
    """Share of G&A charged to mining (0..1), elementwise: the input share, else mining's share of revenue
    (all of it when there is no revenue)."""
    mining, ai = np.broadcast_arrays(np.asarray(mining_revenue_usd, dtype=float), np.asarray(ai_revenue_usd, dtype=float))
    if share_pct is not None:
        return np.full(mining.shape, share_pct / 100.0)
    both = mining + ai
    share = np.ones_like(both)
    np.divide(mining, both, out=share, where=both != 0)
    return share


def ai_revenue_usd(res: EngineResult) -> np.ndarray:
    """AI/HPC revenue per path and month, ``[path or 1, month]`` (USD): with the GPU rates of each path."""
    if res.ai_revenue_path_usd is not None:
        return np.asarray(res.ai_revenue_path_usd, dtype=float).sum(axis=2)
    return res.ai.revenue_usd.sum(axis=1)[None, :]


def ph_days_run(res: EngineResult) -> np.ndarray:
    """PH/s-days actually run per path and month, ``[path, month]`` (after uptime and curtailment).

    The engine pays ``btc = TH-days run x hashprice_btc_per_th_day x (1 - pool fee)``,
    so TH-days run = btc / (hashprice x (1 - fee)); /1000 for PH. NaN where the
    inversion is undefined (hashprice 0 or a 100% pool fee).
    """
    fee = res.scenario.finance.pool_fee_pct / 100.0
    btc = res.btc_mined.sum(axis=2)
    per_th_day = np.broadcast_to(res.network.hashprice_btc_per_th_day * (1.0 - fee), btc.shape)
    out = np.full(btc.shape, np.nan)
    np.divide(btc, per_th_day, out=out, where=per_th_day > 0)
    return out / 1000.0


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere (no BTC, no PH-days: no cost per unit)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _across_paths(a: np.ndarray, statistic: str) -> np.ndarray:
    """Median or mean over axis 0 ignoring NaN paths; NaN where every path is NaN."""
    with warnings.catch_warnings():   # all-NaN columns warn; their NaN is the answer
        warnings.simplefilter("ignore", RuntimeWarning)
        a = np.asarray(a, dtype=float)
        return np.nanmedian(a, axis=0) if statistic == "median" else np.nanmean(a, axis=0)


def period_figures(res: EngineResult) -> tuple[list[tuple[str, str]], np.ndarray, dict[str, np.ndarray]]:
    """Per-path period figures before any statistic: ``(keys, indicator, {name: [path, period]})``.

    ``keys`` and ``indicator`` ``[month, period]`` are :func:`period_keys`'; the names are
    those of :func:`period_table`'s rows (USD, BTC, USD per BTC, USD per PH/s-day).
    """
    keys, w = period_keys(res.months)
    n_p = res.n_paths
    full = lambda a: np.broadcast_to(np.asarray(a, dtype=float), (n_p, w.shape[1]))  # noqa: E731

    btc = res.btc_mined.sum(axis=2) @ w
    energy = (res.mining_power_cost_usd + res.take_or_pay_shortfall_usd
              - res.curtailment_credit_usd).sum(axis=2) @ w
    opex = res.mining_opex_usd.sum(axis=1) @ w
    g_and_a = res.g_and_a_usd @ w
    mining_rev = res.mining_revenue_usd.sum(axis=2) @ w
    ai_rev = full(ai_revenue_usd(res) @ w)
    share = g_and_a_mining_share(res.scenario.finance.g_and_a_mining_share_pct, mining_rev, ai_rev)
    cash = energy + opex[None, :] + share * g_and_a[None, :]
    all_in = cash + (res.asic_depreciation_usd.sum(axis=1) @ w)[None, :]
    ph_days = np.nan_to_num(ph_days_run(res), nan=0.0) @ w
    ebitda = (res.ebitda_usd.sum(axis=2) - res.g_and_a_usd[None, :]) @ w
    figures = {
        "btc_mined": btc,
        "cost_per_btc_energy_usd": _ratio(energy, btc),
        "cost_per_btc_cash_usd": _ratio(cash, btc),
        "cost_per_btc_all_in_usd": _ratio(all_in, btc),
        "cost_usd_per_ph_day": _ratio(cash, ph_days),
        "ebitda_usd": ebitda,
        "ai_revenue_usd": ai_rev,
    }
    return keys, w, figures


def period_table(res: EngineResult, *, statistic: str = "median") -> list[dict]:
    """One row per calendar year, then per calendar quarter, of the horizon (JSON-safe; None for no value).

    Row: ``period`` ("2026", "2026-Q1"), ``kind`` ("year"/"quarter"), ``months``
    (modelled months in it: fewer than 12/3 for a partial first or last period),
    ``first_month``/``last_month`` (``YYYY-MM``), ``btc_mined`` (net of pool fee),
    ``cost_per_btc_energy_usd``, ``cost_per_btc_cash_usd``, ``cost_per_btc_all_in_usd``
    (USD/BTC), ``cost_usd_per_ph_day`` (cash cost per PH/s-day run), ``ebitda_usd``
    (company EBITDA incl. AI/HPC, less all G&A) and ``ai_revenue_usd``.
    ``statistic``: "median" or "mean" across paths, taken after each path's ratios.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    keys, w, figures = period_figures(res)
    stats = {name: _across_paths(a, statistic) for name, a in figures.items()}
    rows = []
    for j, (label, kind) in enumerate(keys):
        in_period = np.flatnonzero(w[:, j])
        row = {"period": label, "kind": kind, "months": int(in_period.size),
               "first_month": res.months[in_period[0]], "last_month": res.months[in_period[-1]]}
        row.update({name: _num(v[j]) for name, v in stats.items()})
        rows.append(row)
    return rows


def period_rows_for(res: EngineResult, year_or_quarter: str, *, statistic: str = "median") -> dict | None:
    """The :func:`period_table` row for ``"2026"`` or ``"2026-Q1"``; None when the horizon does not touch it."""
    key = str(year_or_quarter).strip().upper()
    return next((r for r in period_table(res, statistic=statistic) if r["period"] == key), None)


def halving_year(res: EngineResult) -> int | None:
    """Calendar year of the first month whose block subsidy is below month 0's (median path); None if none.

    The subsidy is the month's average per block, so the halving month itself
    already shows a drop. A relative tolerance of 1e-9 keeps float noise in the
    average from counting as a halving.
    """
    sub = np.asarray(res.network.subsidy_btc, dtype=float)
    sub = sub[0] if sub.shape[0] == 1 else np.median(sub, axis=0)
    dropped = np.flatnonzero(sub < sub[0] * (1.0 - 1e-9))
    if dropped.size == 0:
        return None
    return parse_month(res.months[int(dropped[0])])[0]
