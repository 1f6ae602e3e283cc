"""Live market data, else the cache, else the shipped snapshot: :func:`update_market`, and the
``minerplan fetch-market`` command (:func:`run_fetch_market`).

:func:`update_market` compares the live price with the previous snapshot (the cache, else the
shipped one; :func:`check_price_move`) and adds the fallbacks: on success it saves the cache; when
the live fetch fails or is refused it uses the cache, and without a usable cache the shipped
snapshot, and says in its warnings which one it used, how old it is and why the live data was not
used. Text taken from a response or a file is escaped before it reaches a message.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from minerplan.markets.live.cache import default_cache_path, load_shipped_snapshot, read_market_file, write_cache
from minerplan.markets.live.errors import MarketDataError, field_error
from minerplan.markets.live.fields import value_text
from minerplan.markets.live.http_fetch import check_timeout
from minerplan.markets.live.mempool import DEFAULT_API_URL, DEFAULT_TIMEOUT_S, EP_PRICES, fetch_market
from minerplan.markets.live.ranges import PRICE_MOVE_FACTOR, PRICE_MOVE_WINDOW_DAYS
from minerplan.markets.live.snapshot import MarketSnapshot, format_snapshot
from minerplan.markets.live.utc import format_utc, utc_now
from minerplan.scenario.errors import escape_control

def check_price_move(snap: MarketSnapshot, previous: MarketSnapshot | None) -> None:
    """Refuse a live price more than PRICE_MOVE_FACTOR times (or below 1/PRICE_MOVE_FACTOR of) the
    ``previous`` snapshot's when that is less than PRICE_MOVE_WINDOW_DAYS older; MarketDataError naming
    both prices and their times. A range check alone lets a broken feed's $150 through the day after
    $91,000 was cached; the previous snapshot is the one thing this side knows the price was."""
    if previous is None:
        return
    elapsed_s = (snap.fetched_at_datetime - previous.fetched_at_datetime).total_seconds()
    if elapsed_s >= PRICE_MOVE_WINDOW_DAYS * 86400.0:
        return
    ratio = snap.btc_price_usd / previous.btc_price_usd
    if 1.0 / PRICE_MOVE_FACTOR <= ratio <= PRICE_MOVE_FACTOR:
        return
    what = "market cache" if previous.source == "cache" else "shipped snapshot"
    then = format_utc(previous.fetched_at_datetime)
    raise field_error(EP_PRICES, "USD",
                      f"{value_text(snap.btc_price_usd)} USD at {format_utc(snap.fetched_at_datetime)} is "
                      f"{ratio:.3g}x the {value_text(previous.btc_price_usd)} USD of the {what} from {then}; "
                      f"a move beyond {PRICE_MOVE_FACTOR:g}x either way within {PRICE_MOVE_WINDOW_DAYS:g} days is "
                      "refused as a broken answer")


def update_market(api_url: str = DEFAULT_API_URL, cache_path: str | os.PathLike | None = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S, now: datetime | None = None, *,
                  snapshot_path: str | os.PathLike | None = None,
                  on_refused: Literal["fallback", "raise"] = "fallback") -> tuple[MarketSnapshot, list[str]]:
    """Live data (saved to the cache), else the cache, else the shipped snapshot.

    Returns the snapshot and warnings for people: why live failed, which fallback was used
    and how old it is, a corrupt or future-dated cache that was skipped, a cache that could not
    be saved. A cache older than the shipped snapshot loses to it. The live price is compared
    with the newer of the two (:func:`check_price_move`) before anything is saved.

    Live data that arrived but was refused (a field out of range, answers that disagree, a price
    move too large: ``kind == 'invalid'``) is never saved; with ``on_refused='raise'`` that
    refusal is raised instead of falling back (``fetch-market --into`` writes nothing then: the
    person asked for today's market, and the source of it needs looking at). Otherwise raises
    MarketDataError (``kind='unavailable'``) only when nothing at all can be read.
    """
    if on_refused not in ("fallback", "raise"):
        raise ValueError(f"on_refused must be 'fallback' or 'raise', got {on_refused!r}")
    now_utc = utc_now(now)
    cache = Path(cache_path) if cache_path is not None else default_cache_path()
    cache_label = escape_control(str(cache))
    warnings: list[str] = []

    cached: MarketSnapshot | None = None
    cache_error: str | None = None
    try:
        cached = read_market_file(cache, source="cache", now=now_utc)
    except MarketDataError as e:
        if e.kind == "missing":
            cache_error = f"no market cache at {cache_label} yet"
        else:
            cache_error = f"ignored the market cache: {e}"
    except Exception as e:  # noqa: BLE001 - a corrupt cache must never crash the fallback
        cache_error = f"ignored the market cache {cache_label}: unexpected {type(e).__name__}"

    shipped: MarketSnapshot | None = None
    shipped_error: str | None = None
    try:
        shipped = load_shipped_snapshot(now_utc, snapshot_path)
    except MarketDataError as e:
        shipped_error = str(e)
    newest = cached if cached is not None and (
        shipped is None or cached.fetched_at_datetime >= shipped.fetched_at_datetime) else shipped

    try:
        snap = fetch_market(api_url, timeout_s=timeout_s, now=now_utc)
        check_price_move(snap, newest)
    except MarketDataError as e:
        if on_refused == "raise" and e.kind == "invalid":
            raise MarketDataError(f"refused the live market data: {e}", endpoint=e.endpoint, field=e.field,
                                  kind=e.kind) from None
        live_error = str(e)
    else:
        warnings.extend(snap.notes)
        try:
            write_cache(snap, cache)
        except (OSError, ValueError) as e:
            why = getattr(e, "strerror", None) or type(e).__name__
            warnings.append(f"could not save the market cache {cache_label}: {escape_control(str(why))}")
        return snap, warnings

    warnings.append(f"live market data unavailable: {live_error}")
    if cache_error:
        warnings.append(cache_error)
    if cached is not None and newest is cached:
        if shipped_error:
            warnings.append(f"the shipped market snapshot is unreadable: {shipped_error}")
        warnings.append(f"using the {cached.describe()}")
        return cached, warnings
    if shipped is not None:
        if cached is not None:
            warnings.append(f"the market cache ({cached.describe()}) is older than the shipped snapshot")
        warnings.append(f"using the {shipped.describe()}")
        return shipped, warnings
    raise MarketDataError(f"no market data: live: {live_error}; cache: {cache_error}; "
                          f"shipped snapshot: {shipped_error}", kind="unavailable")


def run_fetch_market(api_url: str = DEFAULT_API_URL, cache_path: str | os.PathLike | None = None,
                     timeout_s: float = DEFAULT_TIMEOUT_S, as_json: bool = False, *,
                     out: TextIO | None = None, err: TextIO | None = None, now: datetime | None = None,
                     snapshot_path: str | os.PathLike | None = None) -> int:
    """``minerplan fetch-market``: print the snapshot (text or one JSON object) on ``out``,
    warnings on ``err``. Exit 0 when live data or a fallback was used, 2 when the timeout
    is invalid or even the shipped snapshot cannot be read."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        timeout_s = check_timeout(timeout_s)
    except ValueError as e:
        print(f"minerplan: {e}", file=err)
        return 2
    try:
        snap, warnings = update_market(api_url, cache_path, timeout_s, now, snapshot_path=snapshot_path)
    except MarketDataError as e:
        print(f"minerplan: {e}", file=err)
        return 2
    for w in warnings:
        print(f"minerplan: warning: {w}", file=err)
    if as_json:
        doc = snap.to_dict()
        doc["warnings"] = list(warnings)
        json.dump(doc, out, allow_nan=False)
        out.write("\n")
    else:
        print(format_snapshot(snap), file=out)
    return 0
