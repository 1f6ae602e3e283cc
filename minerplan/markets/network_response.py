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

Two pieces of numerics are written out rather than taken from a library (measured, issue 13): the
logistic of :func:`online_share`, as in :mod:`minerplan.markets.network_supply` (``scipy.special.expit``
differs in the last bit, which the retarget timing amplifies on crash paths), and the lookup of the
tabulated switch-off curve on its uniform grid (:class:`_OnlineTable`), which takes 8 us for 1,000
paths and 41 us for 10,000 against 18 us and 732 us for ``np.interp``'s binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.scenario.months import SECONDS_PER_DAY
from minerplan.engine.network import (HALVING_INTERVAL_BLOCKS, RETARGET_INTERVAL_BLOCKS, SATS_PER_BTC, TARGET_BLOCK_TIME_S, TWO_32,
                      NetworkPath, hashrate_hs_from_difficulty, network_path_from_sums, path_inputs)

STEPS_PER_MONTH = 4   # a step (~7.6 days) must stay shorter than a difficulty epoch (~14 days)


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
#: from docs/sources.md (S21 XP / A16 ~13.5 J/TH; S21 Pro / S21 / M60S 15-18.5; S19 XP
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
    """Share of installed hashrate that pays for its power at this hashprice (0..1), elementwise.

    Each tier's share on is the logistic of ``ln(hashprice / breakeven) / width``.
    """
    hp = np.maximum(np.asarray(hashprice_usd_per_th_day, dtype=float), 1e-12)
    total = sum(t.share_pct for t in tiers)
    width = max(switch_width_pct / 100.0, 1e-6)
    out = np.zeros_like(hp)
    for t in tiers:
        z = np.log(hp / t.breakeven_usd_per_th_day) / width
        out += t.share_pct / total / (1.0 + np.exp(-np.clip(z, -60, 60)))
    return out


_SUBSIDY_BY_ERA = np.array([(50 * SATS_PER_BTC >> e) / SATS_PER_BTC for e in range(64)] + [0.0])


def _subsidy_btc(height: np.ndarray) -> np.ndarray:
    """Subsidy per block (BTC) at fractional heights, Bitcoin Core's integer-satoshi halving (a table lookup)."""
    era = (np.asarray(height) // HALVING_INTERVAL_BLOCKS).astype(np.int64)
    return _SUBSIDY_BY_ERA[np.minimum(era, 64)]


def month_subsidy_btc(month_subsidy: np.ndarray, blocks: np.ndarray, height: np.ndarray, halving_at: np.ndarray,
                      subsidy_now: np.ndarray) -> np.ndarray:
    """Subsidy earned in a month, BTC per path: its ``blocks`` at the subsidy the month began with, less what
    the blocks past a halving (at height ``halving_at`` > 0, now at ``height``) did not earn. Resets
    ``halving_at`` for the next month."""
    out = month_subsidy * blocks
    past = halving_at > 0
    if past.any():
        out[past] -= (height[past] - halving_at[past]) * (month_subsidy[past] - subsidy_now[past])
        halving_at[:] = 0.0
    return out


def halving_state(height: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each path's subsidy era, its subsidy (BTC per block) and the height of its next halving, at ``height``:
    the state :func:`pass_halving` advances."""
    era = (height // HALVING_INTERVAL_BLOCKS).astype(np.int64)
    return era, _SUBSIDY_BY_ERA[np.minimum(era, 64)], (era + 1) * float(HALVING_INTERVAL_BLOCKS)


def pass_halving(halved: np.ndarray, era: np.ndarray, halving_at: np.ndarray, subsidy_now: np.ndarray,
                 next_halving: np.ndarray) -> np.ndarray:
    """Move the paths ``halved`` (indices) into the next subsidy era, in place: the halving height is kept in
    ``halving_at`` for :func:`month_subsidy_btc`, and the next one is an interval on. Returns their new
    subsidy, BTC per block."""
    era[halved] += 1
    new_sub = _SUBSIDY_BY_ERA[np.minimum(era[halved], 64)]
    halving_at[halved] = next_halving[halved]
    subsidy_now[halved] = new_sub
    next_halving[halved] += HALVING_INTERVAL_BLOCKS
    return new_sub


class _OnlineTable:
    """``online_share`` tabulated on a uniform grid of log hashprice, for the simulation's inner loop.

    Linear interpolation on 16,384 points between 1e-4 and 10 USD per TH/s per
    day is within ~1e-7 of the exact logistic sum (outside, the end values:
    everything off, or on), and costs a handful of array operations per step.
    """

    N = 16_384

    def __init__(self, tiers: tuple[Tier, ...], switch_width_pct: float):
        self.lo, hi = np.log(1e-4), np.log(10.0)
        self.inv_step = (self.N - 1) / (hi - self.lo)
        self.table = online_share(np.exp(self.lo + np.arange(self.N) / self.inv_step), tiers, switch_width_pct)
        self.slope = np.append(np.diff(self.table), 0.0)

    def __call__(self, hashprice_usd_per_th_day: np.ndarray) -> np.ndarray:
        return self.from_log(np.log(np.maximum(hashprice_usd_per_th_day, 1e-300)))

    def from_log(self, log_hashprice: np.ndarray) -> np.ndarray:
        """The same, given ``ln(hashprice)`` (the simulation keeps it up to date cheaply)."""
        return self.from_grid((log_hashprice - self.lo) * self.inv_step)

    def from_grid(self, u: np.ndarray) -> np.ndarray:
        """The same, given the grid position ``(ln(hashprice) - lo) x inv_step`` (overwritten)."""
        np.clip(u, 0.0, self.N - 1.0, out=u)
        i = u.astype(np.int64)
        u -= i
        return self.table[i] + u * self.slope[i]


#: The smallest share of the installed base taken to be online at the start (see simulate_responsive_network).
MIN_START_ONLINE_SHARE = 0.25


def simulate_responsive_network(*, start_month: str, horizon_months: int, difficulty: float, block_height: int,
                                prices_usd: np.ndarray, fees_btc_per_block: np.ndarray | float,
                                hashrate_growth_pct_per_month: float, tiers: tuple[Tier, ...] = DEFAULT_TIERS,
                                lag_months: float = DEFAULT_LAG_MONTHS,
                                switch_width_pct: float = DEFAULT_SWITCH_WIDTH_PCT,
                                pool_fee_pct: float = 0.0, hashrate_ehs: float | None = None) -> NetworkPath:
    """Monthly network series per price path, ``[path, month]``, with the capitulation feedback.

    ``prices_usd`` is ``[path, month]`` (held flat within a month);
    ``fees_btc_per_block`` a scalar or ``[path, month]``; ``hashrate_ehs`` the
    hashrate online at the start (default: what the difficulty implies). Miners
    judge hashprice net of the pool fee.
    """
    prices, fees, days = path_inputs(prices_usd, fees_btc_per_block, start_month, horizon_months)
    n_p, n_m = prices.shape
    avg_month_s = 365.25 / 12 * SECONDS_PER_DAY
    growth = np.log1p(hashrate_growth_pct_per_month / 100.0) / avg_month_s       # per second
    net_share = 1.0 - pool_fee_pct / 100.0

    d = np.full(n_p, float(difficulty))
    height = np.full(n_p, float(block_height))
    epoch_blocks = np.full(n_p, float(block_height % RETARGET_INTERVAL_BLOCKS))
    epoch_elapsed = epoch_blocks * TARGET_BLOCK_TIME_S        # the epoch so far ran at the target pace
    btc_per_th_day_per_btc_reward = SECONDS_PER_DAY * 1e12 / TWO_32   # x (subsidy + fees) / D

    hp0 = btc_per_th_day_per_btc_reward / d * (_subsidy_btc(height) + fees[:, 0]) * prices[:, 0] * net_share
    # A start price far below the network's cash costs (a typed $200) would make the observed hashrate
    # a sliver of an installed base 100x larger, which then floods back as difficulty falls; no
    # market has had more than a few times its online hashrate idle, so the base is at most
    # 1 / MIN_START_ONLINE_SHARE times what is online.
    online = np.maximum(online_share(hp0, tiers, switch_width_pct), MIN_START_ONLINE_SHARE)
    target_online = _OnlineTable(tiers, switch_width_pct)
    online_hs = hashrate_ehs * 1e18 if hashrate_ehs is not None else hashrate_hs_from_difficulty(difficulty)
    installed0 = online_hs / online

    # Accumulators are [month, path] so each month's row is contiguous; transposed at the end.
    # (Block-weighted difficulty needs no accumulator of its own: blocks x difficulty = hashes / 2^32.)
    out = {k: np.zeros((n_m, n_p)) for k in ("blocks", "subsidy", "hash_s", "height_start")}
    prices_t = np.ascontiguousarray(prices.T) * (btc_per_th_day_per_btc_reward * net_share)   # USD per BTC reward
    fees_t = np.ascontiguousarray(fees.T)
    lag_s = max(lag_months, 1e-6) * avg_month_s
    # The subsidy only changes at a halving: keep each path's current subsidy and next halving height.
    era, subsidy_now, next_halving = halving_state(height)
    # The switch-off curve is read at the grid position of ln(hashprice) = ln(value x (subsidy + fees))
    # - ln(difficulty): the first part changes monthly (and at a halving), the second at a retarget.
    grid_d = np.log(d) * target_online.inv_step
    epoch_start = -epoch_elapsed        # time (s) at which each path's current epoch began
    halving_at = np.zeros(n_p)          # this month's halving height on paths that crossed one (else 0)
    max_blocks_per_month = 0.0
    t = 0.0
    for m in range(n_m):
        dt = days[m] * SECONDS_PER_DAY / STEPS_PER_MONTH
        keep = np.exp(-dt / lag_s)
        out["height_start"][m] = height
        value, fee = prices_t[m], fees_t[m]
        grid_value = (np.log(value * (subsidy_now + fee)) - target_online.lo) * target_online.inv_step
        acc_blocks, acc_hash = out["blocks"][m], out["hash_s"][m]
        month_subsidy = subsidy_now.copy()
        # A halving this month is possible only on paths within reach of their next halving height.
        near_halving = bool(np.any(next_halving - height <= 3.0 * max(max_blocks_per_month, 10_000.0)))
        for _ in range(STEPS_PER_MONTH):
            target = target_online.from_grid(grid_value - grid_d)
            online = target + (online - target) * keep
            hashrate = installed0 * (np.exp(growth * (t + 0.5 * dt)) * online)      # H/s over the step
            blocks = hashrate * (dt / TWO_32) / d
            # A retarget inside the step (only some paths): blocks up to it at the old difficulty, the rest
            # at the new one; the epoch clock restarts at the retarget.
            to_retarget = RETARGET_INTERVAL_BLOCKS - epoch_blocks
            epoch_blocks += blocks
            hit = np.flatnonzero(blocks >= to_retarget)
            if hit.size:
                before = np.maximum(to_retarget[hit], 0.0)
                t_hit = before / np.maximum(blocks[hit], 1e-300) * dt
                ratio = (RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S) / np.maximum(
                    t + t_hit - epoch_start[hit], 1e-9)
                d_new = d[hit] * np.clip(ratio, 0.25, 4.0)
                after = hashrate[hit] * ((dt - t_hit) / TWO_32) / d_new
                blocks[hit] = before + after
                epoch_blocks[hit] = after
                epoch_start[hit] = t + t_hit
                d[hit] = d_new
                grid_d[hit] = np.log(d_new) * target_online.inv_step
            height = height + blocks
            if near_halving:
                halved = np.flatnonzero(height > next_halving)
                if halved.size:   # blocks past the halving height earn the new subsidy from here on
                    new_sub = pass_halving(halved, era, halving_at, subsidy_now, next_halving)
                    grid_value[halved] = (np.log(value[halved] * (new_sub + fee[halved])) - target_online.lo) \
                        * target_online.inv_step
            acc_blocks += blocks
            acc_hash += hashrate
            t += dt
        acc_hash *= dt                       # H/s summed over equal steps -> hashes
        out["subsidy"][m] = month_subsidy_btc(month_subsidy, acc_blocks, height, halving_at, subsidy_now)
        max_blocks_per_month = float(acc_blocks.max()) if n_p else 0.0
    out = {k: v.T for k, v in out.items()}
    return network_path_from_sums(blocks=out["blocks"], subsidy_btc_sum=out["subsidy"], hashes=out["hash_s"],
                                  height_start=out["height_start"], days=days, fees_btc_per_block=fees,
                                  difficulty_start=difficulty)
