"""Hedges evaluated on an engine run: cash flows of forwards, puts and collars, and risk summaries.

The hedges' data and validation (the separate hedge file and the scenario's own
``hedges`` list) are in :mod:`minerplan.scenario.hedges`; this module evaluates them.

Cash flows are ``[path, month]`` USD, falling at month ends like every engine flow,
so they are discounted with the scenario's :func:`~minerplan.engine.finance.discount_factors`.

* **Hashprice forward** (the miner *sells* hashprice forward): in each month of the
  tenor the miner receives ``(fixed - path hashprice) x notional PH/s x days in the
  month``, settled in cash at the month's end. It is positive when hashprice falls
  below the fixed price. The path hashprice is the engine's
  ``hashprice_usd_per_th_day x 1000`` (USD per PH/s per day), the network's gross
  hashprice **before the pool fee** (what hashprice indices such as Luxor's quote).
* **BTC put / collar**: European, cash-settled at the expiry month's end on the path's
  BTC price of that month. The premium is paid in month 0 (the scenario's start
  month) and priced with Black-Scholes: spot = the path's month-0 BTC price
  (the scenario's first-month price; every path starts there), time to expiry
  ``T = months from the start month to the expiry month / 12`` (the months between
  the premium and the payoff), the user's implied volatility and a continuously
  compounded risk-free rate. The collar is a long put and a short call; its premium
  (put - call) may be negative, a credit. The premium uses the *implied* volatility
  while the payoffs follow the scenario's price paths, so a hedge has a non-zero
  expected value whenever the two disagree.

**Tax** (one rule everywhere): :func:`hedge_cash_flows` returns pre-tax USD. Hedge
P&L is taxed at the scenario's ``tax_rate_pct`` *linearly*, in the month it occurs:
a gain pays tax at the rate, a loss or a premium earns a credit at the rate at once
(as in ``tax_mode: linear``, i.e. the group has other taxable income to absorb
hedge losses), whatever the scenario's ``tax_mode``. So the after-tax hedge flow is
``(1 - rate) x`` the pre-tax flow; :func:`hedged_npv` adds those, discounted.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from minerplan.engine.evaluate import EngineResult
from minerplan.engine.finance import discount_factors
from minerplan.scenario.errors import Problem
from minerplan.scenario.hedges import BtcCollar, BtcPut, HashpriceForward, HedgeError, hedge_list
from minerplan.scenario.months import add_months, days_in_months, month_index


# --------------------------------------------------------------------------- pricing

def norm_cdf(x: float) -> float:
    """Standard normal CDF (:func:`scipy.special.ndtr`: accurate in the far tails, where ``(1 + erf) / 2`` cancels)."""
    return float(ndtr(x))


def black_scholes(spot: float, strike: float, years: float, rate: float, vol: float, kind: str) -> float:
    """European option value per unit (Black-Scholes, no dividends); ``rate``, ``vol`` as decimals per year.

    ``rate`` is continuously compounded. At ``years == 0`` or ``vol == 0`` the value is the
    discounted intrinsic value of the forward, ``max(S - K e^{-rT}, 0)`` for a call.
    """
    if kind not in ("call", "put"):
        raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")
    if spot <= 0 or strike <= 0 or years < 0 or vol < 0:
        raise ValueError("spot and strike must be > 0, years and vol >= 0")
    disc_k = strike * math.exp(-rate * years)
    sd = vol * math.sqrt(years)
    if sd == 0.0:
        return max(spot - disc_k, 0.0) if kind == "call" else max(disc_k - spot, 0.0)
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / sd
    d2 = d1 - sd
    if kind == "call":
        return spot * norm_cdf(d1) - disc_k * norm_cdf(d2)
    return disc_k * norm_cdf(-d2) - spot * norm_cdf(-d1)


def _expiry_index(res: EngineResult, h, i: int) -> int:
    sc = res.scenario
    k = month_index(sc.start_month, h.expiry_month)
    if not 0 <= k < sc.horizon_months:
        last = add_months(sc.start_month, sc.horizon_months - 1)
        raise HedgeError([Problem(f"hedges[{i}].expiry_month",
                                  f"{h.expiry_month} is outside the scenario's months "
                                  f"({sc.start_month} to {last})")])
    return k


def option_premium_usd(res: EngineResult, h: BtcPut | BtcCollar, i: int = 0) -> float:
    """Premium of an option hedge paid in month 0, USD (negative: a collar's net credit).

    Spot is the run's month-0 BTC price (taken from its first path; every engine path
    starts at the scenario's, or the preset's, first-month price).
    """
    k = _expiry_index(res, h, i)
    spot = float(res.btc_price_usd[0, 0])
    years = k / 12.0
    r, v = h.risk_free_pct / 100.0, h.implied_vol_pct / 100.0
    if isinstance(h, BtcPut):
        return h.btc_amount * black_scholes(spot, h.strike_usd, years, r, v, "put")
    return h.btc_amount * (black_scholes(spot, h.put_strike_usd, years, r, v, "put")
                           - black_scholes(spot, h.call_strike_usd, years, r, v, "call"))


def collar_payoff(price: np.ndarray, put_strike: float, call_strike: float) -> np.ndarray:
    """Per BTC: ``max(Kp - S, 0) - max(S - Kc, 0)``."""
    s = np.asarray(price, dtype=float)
    return np.maximum(put_strike - s, 0.0) - np.maximum(s - call_strike, 0.0)


def hedge_cash_flows(hedges, res: EngineResult) -> np.ndarray:
    """Pre-tax hedge cash flows ``[path, month]``, USD, for a :class:`HedgeBook` or a list of hedges.

    Raises :class:`HedgeError` naming ``hedges[i].<field>`` when a hedge's months fall
    outside the scenario's horizon (a forward starting before it or running past it,
    an option expiring outside it).
    """
    sc = res.scenario
    n_p, n_m = res.btc_price_usd.shape
    out = np.zeros((n_p, n_m))
    days = days_in_months(sc.start_month, n_m)
    hp_ph = res.hashprice_usd_per_th_day * 1000.0            # USD per PH/s per day, before pool fee
    hp_ph = np.broadcast_to(hp_ph, (n_p, n_m))
    last = add_months(sc.start_month, n_m - 1)
    problems = []
    for i, h in enumerate(hedge_list(hedges)):
        if isinstance(h, HashpriceForward):
            a = month_index(sc.start_month, h.start_month)
            b = a + h.tenor_months
            if a < 0 or a >= n_m:
                problems.append(Problem(f"hedges[{i}].start_month", f"{h.start_month} is outside the scenario's "
                                                                     f"months ({sc.start_month} to {last})"))
                continue
            if b > n_m:
                problems.append(Problem(f"hedges[{i}].tenor_months",
                                        f"{h.tenor_months} months from {h.start_month} run to "
                                        f"{add_months(h.start_month, h.tenor_months - 1)}, past the scenario's "
                                        f"last month {last}"))
                continue
            out[:, a:b] += (h.fixed_usd_per_ph_day - hp_ph[:, a:b]) * h.notional_ph * days[None, a:b]
        else:
            try:
                k = _expiry_index(res, h, i)
            except HedgeError as e:
                problems += e.problems
                continue
            out[:, 0] -= option_premium_usd(res, h, i)
            s_t = res.btc_price_usd[:, k]
            if isinstance(h, BtcPut):
                out[:, k] += h.btc_amount * np.maximum(h.strike_usd - s_t, 0.0)
            else:
                out[:, k] += h.btc_amount * collar_payoff(s_t, h.put_strike_usd, h.call_strike_usd)
    if problems:
        raise HedgeError(problems)
    return out


def hedge_tax_rate(res: EngineResult) -> float:
    """The rate hedge P&L is taxed at: the scenario's statutory rate, applied linearly (see the module doc)."""
    return res.scenario.finance.tax_rate_pct / 100.0


def hedged_npv(res: EngineResult, hedges) -> np.ndarray:
    """``res.npv_usd`` plus the after-tax hedge flows discounted at the scenario's rate, ``[path]`` USD."""
    sc = res.scenario
    flows = hedge_cash_flows(hedges, res) * (1.0 - hedge_tax_rate(res))
    factors = discount_factors(sc.finance.discount_rate_pct / 100.0, sc.horizon_months)
    return res.npv_usd + flows @ factors


# --------------------------------------------------------------------------- risk

def tail_mean(values: np.ndarray, level: float = 0.05) -> float:
    """Mean of the worst ``level`` share of equally likely outcomes (the lower tail).

    With n outcomes sorted ascending, the tail holds ``level x n`` outcomes: the
    ``floor(level x n)`` lowest in full and the next one with the remaining fraction,
    so the definition is exact for any n (n = 100: the mean of the 5 lowest;
    n = 30: (x1 + 0.5 x2) / 1.5; n <= 20: the lowest value). Written here because scipy has
    no expected shortfall (``scipy.stats.trim_mean`` cuts both tails and whole outcomes only).
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    n = x.size
    if n == 0:
        raise ValueError("no outcomes")
    if not 0 < level <= 1:
        raise ValueError("level must be in (0, 1]")
    m = level * n
    full = int(math.floor(m + 1e-12))
    frac = m - full
    if full == 0:
        return float(x[0])                 # the tail lies within the worst outcome
    total = x[:full].sum()
    if frac > 1e-12 and full < n:
        total += frac * x[full]
    return float(total / m)


def risk_summary(npv: np.ndarray) -> dict[str, float]:
    """Risk figures of an NPV distribution ``[path]`` (equally likely paths), USD.

    ``mean_usd``; ``p5_usd``, ``p50_usd``, ``p95_usd`` (percentiles, linear interpolation
    between order statistics); ``cvar95_usd``, the conditional value at risk at 95% written
    as an NPV: the mean NPV of the worst 5% of paths (:func:`tail_mean`; a negative
    value is an expected loss in that tail); ``prob_npv_negative``, the share of
    paths with NPV < 0; ``n_paths``.
    """
    x = np.asarray(npv, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("no paths")
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    return {"mean_usd": float(x.mean()), "p5_usd": float(p5), "p50_usd": float(p50), "p95_usd": float(p95),
            "cvar95_usd": tail_mean(x, 0.05), "prob_npv_negative": float(np.mean(x < 0)), "n_paths": int(x.size)}


def compare(res: EngineResult, hedges) -> dict[str, Any]:
    """Unhedged and hedged risk summaries of one run, with each hedge's premium and mean value.

    Returns ``{"unhedged": risk_summary, "hedged": risk_summary, "hedges": [{"kind",
    "premium_usd" (options; month 0), "mean_pv_after_tax_usd"}], "tax_rate": rate applied to hedge P&L}``.
    """
    items = hedge_list(hedges)
    sc = res.scenario
    factors = discount_factors(sc.finance.discount_rate_pct / 100.0, sc.horizon_months)
    rate = hedge_tax_rate(res)
    hedge_cash_flows(items, res)          # every problem at once, named by its index in the list
    per = []
    for i, h in enumerate(items):
        pv = (hedge_cash_flows([h], res) * (1.0 - rate)) @ factors
        row = {"index": i, "kind": h.kind, "mean_pv_after_tax_usd": float(np.mean(pv))}
        if not isinstance(h, HashpriceForward):
            row["premium_usd"] = option_premium_usd(res, h, i)
        per.append(row)
    return {"unhedged": risk_summary(res.npv_usd), "hedged": risk_summary(hedged_npv(res, items)), "hedges": per,
            "tax_rate": rate}

