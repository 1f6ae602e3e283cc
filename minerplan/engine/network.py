"""Bitcoin network economics: subsidy schedule, difficulty, hashrate, hashprice.

Protocol constants follow Bitcoin Core (``GetBlockSubsidy``, ``pow.cpp``):
50 BTC halved every 210,000 blocks in integer satoshis, a retarget every
2016 blocks towards a 600 s block time, clamped to x4 / x0.25.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.scenario.months import SECONDS_PER_DAY, days_in_months

SATS_PER_BTC = 100_000_000
HALVING_INTERVAL_BLOCKS = 210_000
RETARGET_INTERVAL_BLOCKS = 2016
TARGET_BLOCK_TIME_S = 600.0
TWO_32 = 2.0**32
BLOCKS_PER_DAY_AT_TARGET = SECONDS_PER_DAY / TARGET_BLOCK_TIME_S  # 144


def block_subsidy_sats(height: int) -> int:
    """Subsidy of the block at ``height`` in satoshis (Bitcoin Core's integer shift)."""
    halvings = int(height) // HALVING_INTERVAL_BLOCKS
    if halvings >= 64:
        return 0
    return (50 * SATS_PER_BTC) >> halvings


def block_subsidy_btc(height: int) -> float:
    return block_subsidy_sats(height) / SATS_PER_BTC


def subsidy_sum_btc(h_from: float, h_to: float) -> float:
    """Total subsidy of the (fractional) block range ``[h_from, h_to)``, BTC.

    Blocks are continuous here because months hold fractional block counts;
    the halving boundary splits the range exactly.
    """
    total = 0.0
    h = h_from
    while h < h_to:
        era_end = (int(h // HALVING_INTERVAL_BLOCKS) + 1) * HALVING_INTERVAL_BLOCKS
        seg_end = min(h_to, era_end)
        total += (seg_end - h) * block_subsidy_btc(int(h))
        h = seg_end
    return total


def hashrate_hs_from_difficulty(difficulty):
    """Network hashrate (hash/s) implied by difficulty at a 600 s block time."""
    return np.asarray(difficulty, dtype=float) * TWO_32 / TARGET_BLOCK_TIME_S


def difficulty_from_hashrate_hs(hashrate_hs):
    return np.asarray(hashrate_hs, dtype=float) * TARGET_BLOCK_TIME_S / TWO_32


def hashprice_btc_per_ph_day(subsidy_btc, fees_btc_per_block, network_hashrate_hs, blocks_per_day=144.0):
    """BTC earned per PH/s per day: blocks/day x (subsidy + fees) / network PH/s (Luxor's definition)."""
    network_phs = np.asarray(network_hashrate_hs, dtype=float) / 1e15
    return blocks_per_day * (np.asarray(subsidy_btc) + np.asarray(fees_btc_per_block)) / network_phs


def breakeven_power_usd_per_kwh(hashprice_usd_per_th_day, efficiency_j_per_th):
    """Power price at which a machine's revenue equals its energy cost.

    A machine of E J/TH uses E x 24 h / 1000 = 0.024 x E kWh per TH/s per day.
    """
    return np.asarray(hashprice_usd_per_th_day) / (0.024 * np.asarray(efficiency_j_per_th))


@dataclass(frozen=True)
class NetworkPath:
    """Monthly network series, each shaped ``[1, month]`` (a path axis left for per-path networks).

    ``blocks`` are blocks found in the month (fractional), ``subsidy_btc``
    the average subsidy per block in it, ``hashprice_btc_per_th_day`` what one
    TH/s earned per day before pool fees.
    """

    days: np.ndarray
    blocks: np.ndarray
    height_start: np.ndarray
    subsidy_btc: np.ndarray
    fees_btc_per_block: np.ndarray
    difficulty: np.ndarray
    hashrate_hs: np.ndarray
    hashprice_btc_per_th_day: np.ndarray

    @property
    def network_hashrate_ehs(self) -> np.ndarray:
        return self.hashrate_hs / 1e18

    @property
    def hashprice_btc_per_ph_day(self) -> np.ndarray:
        return self.hashprice_btc_per_th_day * 1000.0


def _blocks_between(h0_hs: float, k: float, t_a: float, t_b: float, difficulty: float) -> float:
    """Blocks found from time t_a to t_b (s) when hashrate is h0 * exp(k t)."""
    if abs(k) < 1e-18:
        integral = h0_hs * (t_b - t_a)
    else:
        integral = h0_hs * (np.exp(k * t_b) - np.exp(k * t_a)) / k
    return integral / (difficulty * TWO_32)


def _time_to_blocks(h0_hs: float, k: float, t_a: float, n_blocks: float, difficulty: float) -> float:
    """Time (s) at which ``n_blocks`` more blocks are found, starting at t_a."""
    work = n_blocks * difficulty * TWO_32
    if abs(k) < 1e-18:
        return t_a + work / h0_hs
    arg = np.exp(k * t_a) + work * k / h0_hs
    if arg <= 0:  # shrinking hashrate never finds that many blocks
        return np.inf
    return float(np.log(arg) / k)


def simulate_network(*, start_month: str, horizon_months: int, difficulty: float, block_height: int,
                     fees_btc_per_block: float, hashrate_growth_pct_per_month: float,
                     fee_growth_pct_per_month: float = 0.0, hashrate_hs: float | None = None) -> NetworkPath:
    """Project the network month by month with retargets every 2016 blocks.

    Hashrate follows a smooth trend H(t) = H0 (1+g)^(t / average month); the
    difficulty only catches up at retargets, so block time runs fast while
    hashrate grows (and the halving arrives earlier), slow while it falls.
    The start hashrate is ``hashrate_hs`` (what is online now), or what the
    difficulty implies when that is None. This is a deterministic path (cheap:
    one event per retarget and per month); the models that answer hashprice
    are in :mod:`minerplan.markets.network_supply` and :mod:`minerplan.markets.network_response`.
    """
    days = days_in_months(start_month, horizon_months)
    month_s = days * SECONDS_PER_DAY
    bounds = np.concatenate([[0.0], np.cumsum(month_s)])
    avg_month_s = 365.25 / 12 * SECONDS_PER_DAY
    k = np.log1p(hashrate_growth_pct_per_month / 100.0) / avg_month_s
    h0 = float(hashrate_hs_from_difficulty(difficulty)) if hashrate_hs is None else float(hashrate_hs)

    blocks = np.zeros(horizon_months)
    subsidy = np.zeros(horizon_months)
    height_start = np.zeros(horizon_months)
    diff_avg = np.zeros(horizon_months)

    d = float(difficulty)
    height = float(block_height)
    epoch_start_t = -(block_height % RETARGET_INTERVAL_BLOCKS) * TARGET_BLOCK_TIME_S
    next_retarget = (block_height // RETARGET_INTERVAL_BLOCKS + 1) * RETARGET_INTERVAL_BLOCKS
    t = 0.0
    for m in range(horizon_months):
        t_end = bounds[m + 1]
        height_start[m] = height
        weighted_d = 0.0
        while t < t_end:
            t_retarget = _time_to_blocks(h0, k, t, next_retarget - height, d)
            seg_end = min(t_end, t_retarget)
            n = next_retarget - height if t_retarget <= t_end else _blocks_between(h0, k, t, seg_end, d)
            subsidy[m] += subsidy_sum_btc(height, height + n)
            weighted_d += d * n
            blocks[m] += n
            height += n
            t = seg_end
            if t_retarget <= t_end:
                height = float(next_retarget)
                elapsed = t - epoch_start_t
                ratio = (RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S) / max(elapsed, 1e-9)
                d *= min(4.0, max(0.25, ratio))
                epoch_start_t = t
                next_retarget += RETARGET_INTERVAL_BLOCKS
        diff_avg[m] = weighted_d / blocks[m] if blocks[m] > 0 else d

    t0, t1 = bounds[:-1], bounds[1:]
    if abs(k) < 1e-18:
        hashrate = np.full(horizon_months, h0)
    else:
        hashrate = h0 * (np.exp(k * t1) - np.exp(k * t0)) / (k * (t1 - t0))
    months = np.arange(horizon_months)
    fees = fees_btc_per_block * (1 + fee_growth_pct_per_month / 100.0) ** months
    avg_subsidy = np.divide(subsidy, blocks, out=np.zeros_like(subsidy), where=blocks > 0)
    blocks_per_day = blocks / days
    hp_btc_per_th_day = blocks_per_day * (avg_subsidy + fees) / (hashrate / 1e12)

    row = lambda a: np.asarray(a, dtype=float)[None, :]  # noqa: E731
    return NetworkPath(days=row(days), blocks=row(blocks), height_start=row(height_start),
                       subsidy_btc=row(avg_subsidy), fees_btc_per_block=row(fees), difficulty=row(diff_avg),
                       hashrate_hs=row(hashrate), hashprice_btc_per_th_day=row(hp_btc_per_th_day))


def network_path_from_sums(*, blocks: np.ndarray, subsidy_btc_sum: np.ndarray, hashes: np.ndarray,
                           height_start: np.ndarray, days: np.ndarray, fees_btc_per_block,
                           difficulty_start: float) -> NetworkPath:
    """Monthly network series ``[path, month]`` from a simulation's monthly sums.

    ``blocks`` found, ``subsidy_btc_sum`` their subsidy (BTC), ``hashes`` done in the month, and the
    height at its start; difficulty is block-weighted (hashes / 2^32 / blocks), hashprice the BTC a
    TH/s earned per day (before pool fees). Used by the capitulation and supply network models.
    """
    n_p, n_m = blocks.shape
    month_s = days * SECONDS_PER_DAY
    fees = np.broadcast_to(np.asarray(fees_btc_per_block, dtype=float), (n_p, n_m))
    avg_subsidy = np.divide(subsidy_btc_sum, blocks, out=np.zeros_like(blocks), where=blocks > 0)
    diff = np.divide(hashes / TWO_32, blocks, out=np.full_like(blocks, float(difficulty_start)), where=blocks > 0)
    hashrate = hashes / month_s[None, :]
    hp_btc = (blocks / days[None, :]) * (avg_subsidy + fees) / (hashrate / 1e12)
    row = np.broadcast_to(days[None, :], (n_p, n_m)).copy()
    return NetworkPath(days=row, blocks=blocks, height_start=height_start, subsidy_btc=avg_subsidy,
                       fees_btc_per_block=np.array(fees), difficulty=diff, hashrate_hs=hashrate,
                       hashprice_btc_per_th_day=hp_btc)


def path_inputs(prices_usd, fees_btc_per_block, start_month: str, horizon_months: int):
    """``(prices [path, month], fees [path, month], days [month])`` for a per-path network simulation;
    prices must cover the horizon, fees are a scalar or ``[path, month]``."""
    prices = np.atleast_2d(np.asarray(prices_usd, dtype=float))
    n_p, n_m = prices.shape
    if n_m != horizon_months:
        raise ValueError(f"prices must be [path, {horizon_months}], got {prices.shape}")
    fees = np.broadcast_to(np.asarray(fees_btc_per_block, dtype=float), (n_p, n_m))
    return prices, fees, days_in_months(start_month, horizon_months)
