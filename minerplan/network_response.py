"""Network hashrate that answers hashprice: miner capitulation and its feedback, per price path.

Late 2025 showed the loop: BTC falls, hashprice falls, the least efficient
machines stop paying for their power and switch off, network hashrate drops
(~15% in weeks), blocks slow down, and the next difficulty retarget hands the
survivors a higher hashprice. This module simulates that loop on every price
path at once (numpy over paths; the loop runs over quarter-month steps only).

The model, per path, in steps of a quarter of a calendar month:

* Installed hashrate follows the scenario's trend (new machines arriving):
  ``H_installed(t) = H_installed(0) (1 + g)^(t / average month)``.
* It is split into efficiency tiers, each with a share of the installed
  hashrate, an efficiency (J/TH) and an all-in power price (USD/kWh). A tier
  pays for its power while hashprice (USD per TH/s per day) is above
  ``0.024 x J/TH x USD/kWh``; within a tier costs spread, so the share
  switched off is a logistic in the log of hashprice over breakeven
  (``switch_width_pct`` is its scale). The *target* online share is
  ``sum(share x (1 - off))``.
* Miners follow the target with a lag: each step closes ``1 - exp(-dt/lag)``
  of the gap (switching off and back on alike).
* Hashprice comes from difficulty, not from hashrate (a hash finds a block
  with probability 1 / (D x 2^32)): ``BTC per TH/s per day = 86,400 x 1e12 /
  (D x 2^32) x (subsidy + fees)``, times the path's BTC price.
* Blocks arrive at ``H / (D x 2^32)`` per second, so they come slower while
  hashrate is below what difficulty assumes; every 2016 blocks difficulty
  retargets by ``2016 x 600 s / elapsed``, clamped to x4 / x0.25 (Bitcoin
  Core), and the subsidy halves every 210,000 blocks (the halving date moves
  with the block rate).

The start is an equilibrium: the online share at month 0 is the target at the
start hashprice, and installed hashrate is the network hashrate divided by
it. Monthly outputs use the engine's definitions (``NetworkPath``), each
shaped ``[path, month]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .months import SECONDS_PER_DAY, days_in_months
from .network import (HALVING_INTERVAL_BLOCKS, RETARGET_INTERVAL_BLOCKS, SATS_PER_BTC, TARGET_BLOCK_TIME_S, TWO_32,
                      NetworkPath, hashrate_hs_from_difficulty)

STEPS_PER_MONTH = 4


@dataclass(frozen=True)
class Tier:
    """A slice of the network's installed hashrate with one efficiency and one power price."""

    share_pct: float
    efficiency_j_per_th: float
    power_usd_per_kwh: float

    @property
    def breakeven_usd_per_th_day(self) -> float:
        return 0.024 * self.efficiency_j_per_th * self.power_usd_per_kwh


#: The late-2025 network by efficiency (a MinerPlan assumption, documented here): machine generations
#: from shared/reference/market-facts.md (S21 XP / A16 ~13.5 J/TH; S21 Pro / S21 / M60S 15-18.5; S19 XP
#: / M50S++ ~21.5; S19j Pro ~29.5; older S19 / S17 ~38) plus 5% on stranded power that never switches
#: off. The USD/kWh is the all-in cash cost of running a kWh (power plus hosting or site opex). Breakevens
#: run from ~$10 to ~$50 per PH/s per day, bracketing the ~$44/PH/day median total hashcost (TheMinerMag,
#: Q3 2025). Calibrated on the October-to-November 2025 move: BTC -25% took hashprice from ~$49 to ~$38
#: per PH/s per day and switches off ~11% of the hashrate the month after (seen: the 7-day hashrate ~15%
#: below the Oct 19 peak within ~5 weeks); tests/test_network_response.py holds it to 10-20%.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(5.0, 20.0, 0.020),
    Tier(20.0, 13.5, 0.045),
    Tier(25.0, 17.0, 0.045),
    Tier(20.0, 21.5, 0.050),
    Tier(15.0, 29.5, 0.055),
    Tier(15.0, 38.0, 0.055),
)
DEFAULT_LAG_MONTHS = 0.25         # about a week: miners switch off within days of a hashprice drop
DEFAULT_SWITCH_WIDTH_PCT = 15.0   # spread of switch-off points inside a tier (hosting terms, curtailment deals)


def online_share(hashprice_usd_per_th_day: np.ndarray, tiers: tuple[Tier, ...],
                 switch_width_pct: float = DEFAULT_SWITCH_WIDTH_PCT) -> np.ndarray:
    """Share of installed hashrate that pays for its power at this hashprice (0..1), elementwise."""
    hp = np.maximum(np.asarray(hashprice_usd_per_th_day, dtype=float), 1e-12)
    total = sum(t.share_pct for t in tiers)
    width = max(switch_width_pct / 100.0, 1e-6)
    out = np.zeros_like(hp)
    for t in tiers:
        z = np.log(hp / t.breakeven_usd_per_th_day) / width
        out += t.share_pct / total / (1.0 + np.exp(-np.clip(z, -60, 60)))
    return out


def _subsidy_btc(height: np.ndarray) -> np.ndarray:
    """Subsidy per block (BTC) at fractional heights, Bitcoin Core's integer-satoshi halving."""
    era = np.minimum(np.floor(height / HALVING_INTERVAL_BLOCKS), 63).astype(np.int64)
    return np.right_shift(np.int64(50 * SATS_PER_BTC), era) / SATS_PER_BTC


def _subsidy_between(h0: np.ndarray, h1: np.ndarray) -> np.ndarray:
    """Total subsidy of the block range [h0, h1) (BTC); a step crosses at most one halving."""
    boundary = (np.floor(h0 / HALVING_INTERVAL_BLOCKS) + 1) * HALVING_INTERVAL_BLOCKS
    first = np.minimum(h1, boundary) - h0
    rest = np.maximum(h1 - boundary, 0.0)
    return first * _subsidy_btc(h0) + rest * _subsidy_btc(np.maximum(boundary, h0))


def simulate_responsive_network(*, start_month: str, horizon_months: int, difficulty: float, block_height: int,
                                prices_usd: np.ndarray, fees_btc_per_block: np.ndarray | float,
                                hashrate_growth_pct_per_month: float, tiers: tuple[Tier, ...] = DEFAULT_TIERS,
                                lag_months: float = DEFAULT_LAG_MONTHS,
                                switch_width_pct: float = DEFAULT_SWITCH_WIDTH_PCT,
                                pool_fee_pct: float = 0.0) -> NetworkPath:
    """Monthly network series per price path, ``[path, month]``, with the capitulation feedback.

    ``prices_usd`` is ``[path, month]`` (held flat within a month);
    ``fees_btc_per_block`` a scalar or ``[path, month]``. Miners judge
    hashprice net of the pool fee.
    """
    prices = np.atleast_2d(np.asarray(prices_usd, dtype=float))
    n_p, n_m = prices.shape
    if n_m != horizon_months:
        raise ValueError(f"prices must be [path, {horizon_months}], got {prices.shape}")
    fees = np.broadcast_to(np.asarray(fees_btc_per_block, dtype=float), (n_p, n_m))
    days = days_in_months(start_month, horizon_months)
    avg_month_s = 365.25 / 12 * SECONDS_PER_DAY
    growth = np.log1p(hashrate_growth_pct_per_month / 100.0) / avg_month_s       # per second
    net_share = 1.0 - pool_fee_pct / 100.0

    d = np.full(n_p, float(difficulty))
    height = np.full(n_p, float(block_height))
    epoch_blocks = np.full(n_p, float(block_height % RETARGET_INTERVAL_BLOCKS))
    epoch_elapsed = epoch_blocks * TARGET_BLOCK_TIME_S        # the epoch so far ran at the target pace
    btc_per_th_day_per_btc_reward = SECONDS_PER_DAY * 1e12 / TWO_32   # x (subsidy + fees) / D

    hp0 = btc_per_th_day_per_btc_reward / d * (_subsidy_btc(height) + fees[:, 0]) * prices[:, 0] * net_share
    online = online_share(hp0, tiers, switch_width_pct)
    installed0 = hashrate_hs_from_difficulty(difficulty) / online

    out = {k: np.zeros((n_p, n_m)) for k in ("blocks", "subsidy", "weighted_d", "hash_s", "height_start")}
    t = 0.0
    for m in range(n_m):
        dt = days[m] * SECONDS_PER_DAY / STEPS_PER_MONTH
        keep = np.exp(-dt / (max(lag_months, 1e-6) * avg_month_s))
        out["height_start"][:, m] = height
        price, fee = prices[:, m], fees[:, m]
        for _ in range(STEPS_PER_MONTH):
            hp_usd = btc_per_th_day_per_btc_reward / d * (_subsidy_btc(height) + fee) * price * net_share
            target = online_share(hp_usd, tiers, switch_width_pct)
            online = target + (online - target) * keep
            mid = t + 0.5 * dt
            hashrate = installed0 * np.exp(growth * mid) * online                  # H/s over the step
            blocks = hashrate * dt / (d * TWO_32)
            # A retarget inside the step: blocks up to it at the old difficulty, the rest at the new one.
            to_retarget = np.maximum(RETARGET_INTERVAL_BLOCKS - epoch_blocks, 0.0)
            hit = blocks >= to_retarget
            if hit.any():
                t_hit = np.where(hit, to_retarget / np.maximum(blocks, 1e-300) * dt, dt)
                ratio = RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S / np.maximum(epoch_elapsed + t_hit, 1e-9)
                d_new = np.where(hit, d * np.clip(ratio, 0.25, 4.0), d)
                after = np.where(hit, hashrate * (dt - t_hit) / (d_new * TWO_32), 0.0)
                before = np.where(hit, to_retarget, blocks)
                new_blocks = before + after
                out["weighted_d"][:, m] += before * d + after * d_new
                out["subsidy"][:, m] += _subsidy_between(height, height + new_blocks)
                epoch_blocks = np.where(hit, after, epoch_blocks + blocks)
                epoch_elapsed = np.where(hit, dt - t_hit, epoch_elapsed + dt)
                d = d_new
                blocks = new_blocks
            else:
                out["weighted_d"][:, m] += blocks * d
                out["subsidy"][:, m] += _subsidy_between(height, height + blocks)
                epoch_blocks = epoch_blocks + blocks
                epoch_elapsed = epoch_elapsed + dt
            height = height + blocks
            out["blocks"][:, m] += blocks
            out["hash_s"][:, m] += hashrate * dt
            t += dt
    month_s = days * SECONDS_PER_DAY
    blocks = out["blocks"]
    avg_subsidy = np.divide(out["subsidy"], blocks, out=np.zeros_like(blocks), where=blocks > 0)
    diff = np.divide(out["weighted_d"], blocks, out=np.full_like(blocks, float(difficulty)), where=blocks > 0)
    hashrate = out["hash_s"] / month_s[None, :]
    hp_btc = (blocks / days[None, :]) * (avg_subsidy + fees) / (hashrate / 1e12)
    row = np.broadcast_to(days[None, :], (n_p, n_m)).copy()
    return NetworkPath(days=row, blocks=blocks, height_start=out["height_start"], subsidy_btc=avg_subsidy,
                       fees_btc_per_block=np.array(fees), difficulty=diff, hashrate_hs=hashrate,
                       hashprice_btc_per_th_day=hp_btc)
