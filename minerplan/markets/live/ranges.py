"""What live market data may hold: the plausible range of every field, and the cross-checks between answers.

Anything outside a range is a broken or hostile answer, not a market move: the fetch refuses it with a
message naming the endpoint and the field (:mod:`minerplan.markets.live.fields`). The cross-checks compare
answers with each other (hashrate against difficulty, the fee statistics against the tip) and the live
price with the previous snapshot. Units are in the names (USD, H/s, BTC, %, ms, s, days).
"""

from __future__ import annotations

#: A response body (or a cache file) larger than this is refused without being parsed.
MAX_RESPONSE_BYTES = 2_000_000

# Plausible ranges: anything outside is a broken or hostile answer, not a market move.
#: BTC price band, USD. The floor: BTC has closed above $1,000 every day since April 2017 and above
#: $3,000 since 2018 (Coin Metrics ``PriceUSD`` daily closes, the history docs/sources.md cites); a live
#: price under $1,000 would be a 99 % fall from late 2025's ~$91,000 and is far likelier a broken or
#: hostile feed (the fuzzing pass of issue 11 got $150 cached) than a market to plan from - a price that
#: low can still be typed into a scenario, which takes $1..$100M. The ceiling: ~80x the all-time high of
#: ~$126,000 (October 2025), a tenth of the scenario's own cap of $100,000,000 (``scenario.BtcPriceUsd``).
PRICE_RANGE_USD = (1_000.0, 10_000_000.0)
DIFFICULTY_RANGE = (1e9, 1e18)
HASHRATE_RANGE_HS = (1e15, 1e24)
HEIGHT_RANGE = (800_000, 5_000_000)
FEES_RANGE_BTC = (0.0, 10.0)
RETARGET_CHANGE_RANGE_PCT = (-75.0, 300.0)  # the protocol clamps a retarget to x0.25 .. x4
RETARGET_BLOCKS_RANGE = (0, 2016)
# estimatedRetargetDate in ms since the epoch: 2009-01-03 .. 2200-01-01.
RETARGET_DATE_RANGE_MS = (1_230_940_800_000, 7_258_118_400_000)

# Cross-checks between answers, and with the previous snapshot.
#: Hashes per unit of difficulty, and the block interval the difficulty targets: a block takes
#: difficulty x 2^32 hashes on average and the protocol retargets to one block per 600 s, so the
#: hashrate a difficulty implies is difficulty x 2^32 / 600 s (the relation scenario.Market uses).
HASHES_PER_DIFFICULTY = 2.0**32
BLOCK_INTERVAL_S = 600.0
#: A reported hashrate outside 0.5x..2x of what the difficulty implies is refused: the same band the
#: scenario accepts for a hashrate given beside a difficulty (``scenario.Market``). The hashrate online
#: differs from what the difficulty implies only by the retargets' lag: a few percent in 2024-2025 (the
#: recorded answer in tests/data/mempool is 0.986x), -28 % at the largest retarget of the last decade
#: (July 2021, after China's mining ban). 900x (issue 11) is a broken answer.
HASHRATE_VS_DIFFICULTY_RANGE = (0.5, 2.0)
#: The fee statistics must end at the tip: at most this many blocks before or after the height the
#: tip endpoint gave. The two are separate requests (a block or two can arrive in between, and the
#: statistics can lag the tip by a block); 6 blocks is about an hour at 600 s per block. Blocks that end
#: 125,000 below the tip (issue 11) are somebody else's statistics.
REWARDS_TIP_SLACK_BLOCKS = 6
#: A live price more than PRICE_MOVE_FACTOR times the previous snapshot's, or below 1/PRICE_MOVE_FACTOR
#: of it, is refused while that snapshot is under PRICE_MOVE_WINDOW_DAYS old. BTC's largest 30-day moves
#: since 2017 stayed inside that: a rise of just under 3x (mid-November to mid-December 2017) and falls of
#: about -50 % (November-December 2018, February-March 2020) (Coin Metrics daily closes); with an annual
#: volatility of 50-80 %, ln 3 = 1.10 is 4.8 or more standard deviations of a 30-day log return. An older
#: snapshot says too little about today to refuse anything; the sanity band PRICE_RANGE_USD still applies.
PRICE_MOVE_FACTOR = 3.0
PRICE_MOVE_WINDOW_DAYS = 30.0
#: How far in the future a cache or snapshot may be dated before it is refused: clocks of two machines
#: (the one that wrote the cache, this one) disagree by seconds when synchronised and by minutes when not.
CLOCK_SKEW_S = 600.0
