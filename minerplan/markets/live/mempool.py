"""The mempool.space endpoints: :func:`fetch_market` (the market now) and :func:`fetch_price_history`.

``fetch_market`` reads the BTC price (USD), difficulty and hashrate (H/s), the tip's height, the fees
of the last :data:`FEE_WINDOW_BLOCKS` blocks (BTC per block) and the next retarget, each answer parsed
by its own function that checks every field for type and plausible range
(:mod:`minerplan.markets.live.ranges`) and the answers against each other: the hashrate within
0.5x..2x of what the difficulty implies (difficulty x 2^32 / 600 s), the fee statistics ending at the
tip. Each request has its own wall-clock deadline of ``timeout_s``
(:func:`minerplan.markets.live.http_fetch.http_get`). Failures are
:class:`~minerplan.markets.live.errors.MarketDataError` naming the endpoint and the field.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from minerplan.markets.live.errors import MarketDataError, field_error
from minerplan.markets.live.fields import get_key, number_field, parse_json, range_text, satoshis_field, value_text
from minerplan.markets.live.http_fetch import check_api_url, check_timeout, http_get
from minerplan.markets.live.ranges import (BLOCK_INTERVAL_S, DIFFICULTY_RANGE, FEES_RANGE_BTC, HASHES_PER_DIFFICULTY,
                                           HASHRATE_RANGE_HS, HASHRATE_VS_DIFFICULTY_RANGE, HEIGHT_RANGE,
                                           PRICE_RANGE_USD, RETARGET_BLOCKS_RANGE, RETARGET_CHANGE_RANGE_PCT,
                                           RETARGET_DATE_RANGE_MS, REWARDS_TIP_SLACK_BLOCKS)
from minerplan.markets.live.snapshot import MarketSnapshot
from minerplan.markets.live.utc import iso_utc, utc_now
from minerplan.scenario.validation_messages import short_value

DEFAULT_API_URL = "https://mempool.space"
DEFAULT_TIMEOUT_S = 10.0
#: Blocks averaged for fees per block (Luxor's hashprice index also uses the last 144).
FEE_WINDOW_BLOCKS = 144

EP_PRICES = "/api/v1/prices"
EP_HASHRATE = "/api/v1/mining/hashrate/3d"
EP_HEIGHT = "/api/blocks/tip/height"
EP_REWARDS = f"/api/v1/mining/reward-stats/{FEE_WINDOW_BLOCKS}"
EP_ADJUSTMENT = "/api/v1/difficulty-adjustment"


def _parse_price(raw: bytes) -> float:
    doc = parse_json(EP_PRICES, raw)
    return number_field(EP_PRICES, doc, "USD", *PRICE_RANGE_USD, "USD")


def implied_hashrate_hs(difficulty: float) -> float:
    """The hashrate a difficulty implies, H/s: difficulty x 2^32 hashes per block, one block per 600 s."""
    return difficulty * HASHES_PER_DIFFICULTY / BLOCK_INTERVAL_S


def _parse_hashrate(raw: bytes) -> tuple[float, float]:
    """(difficulty, hashrate in H/s); a hashrate outside HASHRATE_VS_DIFFICULTY_RANGE of what the
    difficulty implies is refused (the two fields of one answer must describe one network)."""
    doc = parse_json(EP_HASHRATE, raw)
    difficulty = number_field(EP_HASHRATE, doc, "currentDifficulty", *DIFFICULTY_RANGE)
    hashrate = number_field(EP_HASHRATE, doc, "currentHashrate", *HASHRATE_RANGE_HS, "H/s")
    implied = implied_hashrate_hs(difficulty)
    ratio = hashrate / implied
    lo, hi = HASHRATE_VS_DIFFICULTY_RANGE
    if not lo <= ratio <= hi:
        raise field_error(EP_HASHRATE, "currentHashrate",
                          f"{value_text(hashrate)} H/s is {ratio:.3g}x the {value_text(implied)} H/s that "
                          f"currentDifficulty {value_text(difficulty)} implies (difficulty x 2^32 / 600 s); "
                          f"expected {lo:g}x..{hi:g}x")
    return difficulty, hashrate


_HEIGHT_RE = re.compile(r"[0-9]{1,20}")


def _parse_height(raw: bytes) -> int:
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise field_error(EP_HEIGHT, "block height",
                          f"expected a plain integer, got a non-ASCII byte at {e.start}") from None
    if not _HEIGHT_RE.fullmatch(text):
        raise field_error(EP_HEIGHT, "block height", f"expected a plain integer, got {short_value(text)}")
    height = int(text)
    lo, hi = HEIGHT_RANGE
    if not lo <= height <= hi:
        raise field_error(EP_HEIGHT, "block height", f"{height:,} is outside the plausible range {range_text(lo, hi)}")
    return height


def _parse_rewards(raw: bytes, tip: int) -> float:
    """Average fees per block over the block range, BTC; the range must end within
    REWARDS_TIP_SLACK_BLOCKS of ``tip`` (the height from /api/blocks/tip/height)."""
    doc = parse_json(EP_REWARDS, raw)
    end = number_field(EP_REWARDS, doc, "endBlock", *HEIGHT_RANGE, integer=True)
    start = number_field(EP_REWARDS, doc, "startBlock", 0, HEIGHT_RANGE[1], integer=True)
    blocks = end - start + 1
    if not 1 <= blocks <= 10_000:
        raise field_error(EP_REWARDS, "startBlock", f"block range {start:,}..{end:,} holds {blocks:,} blocks; "
                                                    "expected 1..10,000")
    if abs(end - tip) > REWARDS_TIP_SLACK_BLOCKS:
        raise field_error(EP_REWARDS, "endBlock", f"blocks {start:,}..{end:,} end {abs(end - tip):,} blocks "
                                                  f"{'before' if end < tip else 'after'} the tip {tip:,} "
                                                  f"({EP_HEIGHT}); expected the last blocks, ending within "
                                                  f"{REWARDS_TIP_SLACK_BLOCKS} of the tip")
    total_fee_sats = satoshis_field(EP_REWARDS, doc, "totalFee")
    fees = total_fee_sats / blocks / 1e8
    lo, hi = FEES_RANGE_BTC
    if not lo <= fees <= hi:
        raise field_error(EP_REWARDS, "totalFee", f"{fees:,.4g} BTC per block over {blocks:,} blocks is outside the "
                                                  f"plausible range {range_text(lo, hi)} BTC/block")
    return fees


def _parse_adjustment(raw: bytes) -> tuple[float, int, str]:
    """(difficultyChange %, remainingBlocks, estimatedRetargetDate as ISO UTC)."""
    doc = parse_json(EP_ADJUSTMENT, raw)
    change = number_field(EP_ADJUSTMENT, doc, "difficultyChange", *RETARGET_CHANGE_RANGE_PCT, "%")
    blocks = number_field(EP_ADJUSTMENT, doc, "remainingBlocks", *RETARGET_BLOCKS_RANGE, "blocks", integer=True)
    ms = number_field(EP_ADJUSTMENT, doc, "estimatedRetargetDate", *RETARGET_DATE_RANGE_MS, "ms since 1970")
    return change, blocks, iso_utc(datetime.fromtimestamp(ms / 1000.0, timezone.utc))



def fetch_market(api_url: str = DEFAULT_API_URL, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 now: datetime | None = None) -> MarketSnapshot:
    """Fetch the current market from a mempool.space-compatible API; raises MarketDataError.

    Reads ``/api/v1/prices`` (USD), ``/api/v1/mining/hashrate/3d`` (currentDifficulty,
    currentHashrate in H/s), ``/api/blocks/tip/height`` and ``/api/v1/mining/reward-stats/144``
    (totalFee over startBlock..endBlock), stopping at the first failure; then
    ``/api/v1/difficulty-adjustment``, whose failure only leaves the retarget fields empty
    (and says so in ``notes``). Besides each field's range, the answers must agree: the
    hashrate within 0.5x..2x of what the difficulty implies, the fee statistics ending at
    the tip (:data:`HASHRATE_VS_DIFFICULTY_RANGE`, :data:`REWARDS_TIP_SLACK_BLOCKS`).

    ``timeout_s`` is a wall-clock deadline for each request (name lookup, connecting, the
    status line, the headers and the body together), so the whole fetch takes at most five
    times that; ``now`` sets ``fetched_at`` (tests).
    """
    timeout_s = check_timeout(timeout_s)
    fetched = utc_now(now)
    base, host = check_api_url(api_url)

    def get(endpoint: str, accept: str = "application/json") -> bytes:
        return http_get(base, host, endpoint, timeout_s, accept)

    price = _parse_price(get(EP_PRICES))
    difficulty, hashrate_hs = _parse_hashrate(get(EP_HASHRATE))
    height = _parse_height(get(EP_HEIGHT, "text/plain"))
    fees = _parse_rewards(get(EP_REWARDS), height)
    change = blocks = retarget_at = None
    notes: list[str] = []
    try:
        change, blocks, retarget_at = _parse_adjustment(get(EP_ADJUSTMENT))
    except MarketDataError as e:
        notes.append(f"next difficulty adjustment unavailable: {e}")
    return MarketSnapshot(
        btc_price_usd=price, difficulty=difficulty, network_hashrate_ehs=hashrate_hs / 1e18,
        block_height=height, fees_btc_per_block=fees, fetched_at=iso_utc(fetched), source="live",
        source_url=base, age_s=0.0, next_retarget_change_pct=change, next_retarget_blocks=blocks,
        next_retarget_at=retarget_at, notes=tuple(notes))


EP_PRICE_HISTORY = "/api/v1/historical-price?currency=USD"
MAX_HISTORY_BYTES = 20_000_000
MAX_HISTORY_POINTS = 500_000


def fetch_price_history(api_url: str = DEFAULT_API_URL, *, timeout_s: float = 30.0):
    """Daily-or-finer BTC closes in USD from ``/api/v1/historical-price?currency=USD``, as a pandas Series.

    The response shape, ``{"prices": [{"time": unix seconds, "USD": price, ...}], "exchangeRates":
    {...}}``, is the one public mempool.space clients use (not among the endpoints docs/sources.md lists). Every
    entry is checked: a time that is not a whole number of seconds in 2009-2100, times that do not
    increase, or a price that is not a positive number is refused with the entry's index; entries
    with a price of 0 or below (mempool's "no price yet" for the earliest days) are skipped. The
    result feeds :func:`minerplan.markets.calibration.log_returns.monthly_log_returns` like a CSV history.
    """
    import pandas as pd

    timeout_s = check_timeout(timeout_s)
    base, host = check_api_url(api_url)
    raw = http_get(base, host, EP_PRICE_HISTORY, timeout_s, max_bytes=MAX_HISTORY_BYTES)
    doc = parse_json(EP_PRICE_HISTORY, raw)
    rows = get_key(EP_PRICE_HISTORY, doc, "prices")
    if not isinstance(rows, list):
        raise field_error(EP_PRICE_HISTORY, "prices", f"expected a list, got {type(rows).__name__}")
    if len(rows) > MAX_HISTORY_POINTS:
        raise field_error(EP_PRICE_HISTORY, "prices", f"{len(rows):,} entries; the limit is {MAX_HISTORY_POINTS:,}")
    times, closes = [], []
    last = None
    for i, row in enumerate(rows):
        where = f"{EP_PRICE_HISTORY} prices[{i}]"
        t = number_field(where, row, "time", 1_230_000_000, 4_102_444_800, "s")
        if t != int(t):
            raise field_error(where, "time", "expected whole seconds")
        price = row.get("USD") if isinstance(row, dict) else None
        if isinstance(price, (int, float)) and not isinstance(price, bool) and price <= 0:
            continue   # no price recorded for that day
        usd = number_field(where, row, "USD", 0.0001, PRICE_RANGE_USD[1], "USD")
        if last is not None and t <= last:
            raise field_error(where, "time", "times must increase")
        last = t
        times.append(int(t))
        closes.append(float(usd))
    if len(closes) < 2:
        raise field_error(EP_PRICE_HISTORY, "prices", "fewer than two usable prices")
    index = pd.to_datetime(pd.Series(times, dtype="int64"), unit="s", utc=True).dt.tz_localize(None)
    return pd.Series(closes, index=pd.DatetimeIndex(index), name="close")
