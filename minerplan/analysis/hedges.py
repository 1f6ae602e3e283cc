"""Hedges on top of an engine run: hashprice forwards, BTC puts and collars, and risk summaries.

A hedge file is untrusted JSON (schema version 1)::

    {"schema_version": 1, "hedges": [
      {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 5000,
       "start_month": "2026-01", "tenor_months": 12},
      {"kind": "btc_put", "strike_usd": 80000, "btc_amount": 100, "expiry_month": "2026-06",
       "implied_vol_pct": 55, "risk_free_pct": 4.0},
      {"kind": "btc_collar", "put_strike_usd": 80000, "call_strike_usd": 110000, "btc_amount": 100,
       "expiry_month": "2026-06", "implied_vol_pct": 55, "risk_free_pct": 4.0}]}

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
import os
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from minerplan.engine.evaluate import EngineResult
from minerplan.scenario.errors import Problem, ScenarioError, ScenarioFileError
from minerplan.engine.finance import discount_factors
from minerplan.scenario.months import add_months, days_in_months, month_index
from minerplan.scenario.plausibility import Soft
from minerplan.scenario.value_types import Month
from minerplan.scenario.files import (MAX_PROBLEMS_PER_FIELD, _kind, _message, _read_scenario_bytes, _short, format_loc,
                          parse_json_document)

HEDGE_SCHEMA_VERSION = 1
MAX_HEDGES = 1000
MAX_HEDGE_FILE_BYTES = 5 * 1024 * 1024


class HedgeError(ScenarioError):
    """A hedge file is invalid, or does not fit the scenario it is applied to."""

    headline = "invalid hedges"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


Vol = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False, description="implied volatility, % per year")]
#: Hard bounds refuse, soft ranges warn (minerplan.scenario.plausibility): a strike is a BTC price.
StrikeUsd = Annotated[float, Field(gt=0, le=100_000_000, allow_inf_nan=False),
                      Soft(5_000, 2_000_000, "USD", "BTC traded $15.5k-$126k in 2022-2025")]
#: No one can hedge more BTC than will ever exist (21 million).
BtcAmount = Annotated[float, Field(gt=0, le=21_000_000, allow_inf_nan=False),
                      Soft(None, 100_000, "BTC", "the largest miners hold ~50,000 BTC")]
RiskFree = Annotated[float, Field(ge=-20, le=100, allow_inf_nan=False,
                                  description="risk-free rate, % per year, continuously compounded")]


class HashpriceForward(_Strict):
    """Sell hashprice forward: receive fixed, pay the path's hashprice, monthly, on ``notional_ph`` PH/s."""

    kind: Literal["hashprice_forward"]
    fixed_usd_per_ph_day: Annotated[float, Soft(10, 500, "USD per PH/s per day", "hashprice ranged ~$35-400 in "
                                                                                 "2021-2025")] = Field(
        gt=0, le=10_000, allow_inf_nan=False, description="fixed hashprice, USD per PH/s per day")
    notional_ph: Annotated[float, Soft(None, 100_000, "PH/s", "the largest miners run ~60 EH/s = 60,000 PH/s")] = \
        Field(gt=0, le=10_000_000, allow_inf_nan=False, description="notional hashrate, PH/s")
    start_month: Month
    tenor_months: int = Field(ge=1, le=600)


class BtcPut(_Strict):
    """A European cash-settled put on ``btc_amount`` BTC, bought in month 0."""

    kind: Literal["btc_put"]
    strike_usd: StrikeUsd
    btc_amount: BtcAmount
    expiry_month: Month
    implied_vol_pct: Vol
    risk_free_pct: RiskFree = 4.0


class BtcCollar(_Strict):
    """Long a put at ``put_strike_usd``, short a call at ``call_strike_usd``, on ``btc_amount`` BTC."""

    kind: Literal["btc_collar"]
    put_strike_usd: StrikeUsd
    call_strike_usd: StrikeUsd
    btc_amount: BtcAmount
    expiry_month: Month
    implied_vol_pct: Vol
    risk_free_pct: RiskFree = 4.0


Hedge = Annotated[Union[HashpriceForward, BtcPut, BtcCollar], Field(discriminator="kind")]
_KINDS = ("hashprice_forward", "btc_put", "btc_collar")


class HedgeBook(_Strict):
    schema_version: Literal[1]
    hedges: list[Hedge] = Field(max_length=MAX_HEDGES)

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, v):
        if type(v) is not int:
            raise ValueError(f"unsupported schema_version; this MinerPlan reads hedge files version "
                             f"{HEDGE_SCHEMA_VERSION}")
        return v


# --------------------------------------------------------------------------- reading

def _strip_tags(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after a list index: ``hedges, 1, btc_put, strike_usd`` -> without it."""
    out = []
    for i, part in enumerate(loc):
        if (part in _KINDS and i >= 2 and loc[i - 2] == "hedges" and isinstance(loc[i - 1], int)
                and not isinstance(loc[i - 1], bool)):
            continue
        out.append(part)
    return tuple(out)


def _problems(err: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    per_field: dict[tuple, int] = {}
    for e in err.errors(include_url=False):
        loc = _strip_tags(tuple(e["loc"]))
        if e["type"] == "union_tag_invalid":
            tag = (e.get("ctx") or {}).get("tag")
            problem = Problem(format_loc(loc + ("kind",)),
                              f"unknown kind {_short(tag)}; expected one of {', '.join(_KINDS)}")
        elif e["type"] == "union_tag_not_found":
            problem = Problem(format_loc(loc + ("kind",)),
                              f"required field is missing (one of {', '.join(_KINDS)})")
        else:
            problem = Problem(format_loc(loc), _message(e))
        n = per_field[loc] = per_field.get(loc, 0) + 1
        if n <= MAX_PROBLEMS_PER_FIELD:
            problems.append(problem)
    return problems


def check_hedges(book: HedgeBook) -> list[Problem]:
    """Rules across fields of one hedge (the scenario-dependent ones are in :func:`hedge_cash_flows`)."""
    problems = []
    for i, h in enumerate(book.hedges):
        if isinstance(h, BtcCollar) and h.call_strike_usd <= h.put_strike_usd:
            problems.append(Problem(f"hedges[{i}].call_strike_usd",
                                    f"{h.call_strike_usd:g} USD must be above put_strike_usd "
                                    f"({h.put_strike_usd:g} USD)"))
    return problems


def hedges_from_dict(data: Any, source: str | None = None) -> HedgeBook:
    """Validate a parsed hedge document; raises :class:`HedgeError` naming every field path."""
    if not isinstance(data, dict):
        raise HedgeError([Problem("", f"a hedge file is a JSON object, got {_kind(data)}")], source)
    if "schema_version" not in data:
        raise HedgeError([Problem("schema_version", "required field is missing")], source)
    version = data["schema_version"]
    if type(version) is not int or version != HEDGE_SCHEMA_VERSION:
        raise HedgeError([Problem("schema_version", f"unsupported schema_version {_short(version)}; "
                                                    f"this MinerPlan reads hedge files version "
                                                    f"{HEDGE_SCHEMA_VERSION}")], source)
    try:
        book = HedgeBook.model_validate(data)
    except ValidationError as e:
        raise HedgeError(_problems(e), source) from None
    problems = check_hedges(book)
    if problems:
        raise HedgeError(problems, source)
    return book


def hedges_from_json(text: str | bytes, source: str | None = None) -> HedgeBook:
    data = parse_json_document(text, source, max_bytes=MAX_HEDGE_FILE_BYTES, error=HedgeError, what="hedge file")
    return hedges_from_dict(data, source)


def load_hedges(path: str | os.PathLike) -> HedgeBook:
    """Read and validate a hedge file; raises :class:`HedgeError` (or ScenarioFileError when unreadable)."""
    source = str(path)
    raw = _read_scenario_bytes(os.fspath(path))
    if isinstance(raw, str):
        raise ScenarioFileError([Problem("", raw.replace("scenario", "hedge"))], source)
    return hedges_from_json(raw, source)


def _as_list(hedges) -> list:
    if isinstance(hedges, HedgeBook):
        return list(hedges.hedges)
    return list(hedges)


# --------------------------------------------------------------------------- pricing

def norm_cdf(x: float) -> float:
    """Standard normal CDF, ``(1 + erf(x / sqrt 2)) / 2``."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


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
    for i, h in enumerate(_as_list(hedges)):
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
    n = 30: (x1 + 0.5 x2) / 1.5; n <= 20: the lowest value).
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
    items = _as_list(hedges)
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

