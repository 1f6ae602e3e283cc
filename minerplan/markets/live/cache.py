"""The market cache file and the snapshot shipped in ``assets/market_snapshot.json``: writing and reading.

The cache is the last successful live fetch, saved atomically (temp file + rename) as a small JSON
document (:data:`FILE_FORMAT`, version :data:`FILE_VERSION`); the shipped snapshot has the same shape.
Both are untrusted when read: a file larger than
:data:`~minerplan.markets.live.ranges.MAX_RESPONSE_BYTES`, not a regular file, or with a field out of
its plausible range is refused with a message naming the file and the field, and a file dated more
than :data:`~minerplan.markets.live.ranges.CLOCK_SKEW_S` in the future is refused, never shown as
"0 s old".
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

from minerplan.markets.live.errors import MarketDataError, field_error
from minerplan.markets.live.fields import get_key, number_field, parse_json, text_field, utc_field
from minerplan.markets.live.ranges import (CLOCK_SKEW_S, DIFFICULTY_RANGE, FEES_RANGE_BTC, HASHRATE_RANGE_HS,
                                           HEIGHT_RANGE, MAX_RESPONSE_BYTES, PRICE_RANGE_USD, RETARGET_BLOCKS_RANGE,
                                           RETARGET_CHANGE_RANGE_PCT)
from minerplan.markets.live.snapshot import MarketSnapshot, Source
from minerplan.markets.live.utc import iso_utc, parse_utc, utc_now
from minerplan.scenario.errors import escape_control
from minerplan.scenario.file_io import atomic_write_text
from minerplan.scenario.files import ASSETS_DIR
from minerplan.scenario.validation_messages import short_value

SNAPSHOT_PATH = ASSETS_DIR / "market_snapshot.json"
CACHE_FILE_NAME = "market.json"
FILE_FORMAT = "minerplan-market-data"
FILE_VERSION = 1


def default_cache_path() -> Path:
    """``market.json`` in :func:`minerplan.scenario.user_dirs.cache_dir` (``$MINERPLAN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/minerplan``, else ``~/.cache/minerplan``)."""
    from minerplan.scenario.user_dirs import cache_dir

    return cache_dir() / CACHE_FILE_NAME


def snapshot_to_file_dict(snap: MarketSnapshot) -> dict[str, Any]:
    """The JSON document saved as the cache (the shipped snapshot has the same shape)."""
    return {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "fetched_at": snap.fetched_at,
        "source_url": snap.source_url,
        "btc_price_usd": snap.btc_price_usd,
        "difficulty": snap.difficulty,
        "network_hashrate_ehs": snap.network_hashrate_ehs,
        "block_height": snap.block_height,
        "fees_btc_per_block": snap.fees_btc_per_block,
        "next_retarget_change_pct": snap.next_retarget_change_pct,
        "next_retarget_blocks": snap.next_retarget_blocks,
        "next_retarget_at": snap.next_retarget_at,
    }


def write_cache(snap: MarketSnapshot, path: str | os.PathLike) -> None:
    """Save ``snap`` to ``path`` atomically (temp file + rename), creating the folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, json.dumps(snapshot_to_file_dict(snap), indent=2, allow_nan=False) + "\n")


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))


def _read_small_file(path: Path, label: str) -> bytes:
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise MarketDataError(f"{label}: is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise MarketDataError(f"{label}: not a regular file")
        if st.st_size > MAX_RESPONSE_BYTES:
            raise MarketDataError(f"{label}: file is {st.st_size:,} bytes; the limit is {MAX_RESPONSE_BYTES:,}")
        fd = os.open(path, _OPEN_FLAGS)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise MarketDataError(f"{label}: not a regular file")
            raw = fh.read(MAX_RESPONSE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise MarketDataError(f"{label}: file not found", kind="missing") from None
    except PermissionError:
        raise MarketDataError(f"{label}: permission denied") from None
    except OSError as e:
        raise MarketDataError(f"{label}: cannot read ({escape_control(e.strerror or type(e).__name__)})") from None
    except ValueError:  # a NUL in the path
        raise MarketDataError(f"{label}: not a valid file name") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise MarketDataError(f"{label}: file is larger than the limit of {MAX_RESPONSE_BYTES:,} bytes")
    return raw


def read_market_file(path: str | os.PathLike, *, source: Source = "cache",
                     now: datetime | None = None) -> MarketSnapshot:
    """Read and validate a cache file or the shipped snapshot; raises MarketDataError
    (``kind == 'missing'`` when there is no such file). A file dated more than CLOCK_SKEW_S
    after ``now`` is refused."""
    p = Path(path)
    label = escape_control(str(p))
    now_utc = utc_now(now)
    doc = parse_json(label, _read_small_file(p, label), "file")
    fmt = get_key(label, doc, "format")
    if fmt != FILE_FORMAT:
        raise field_error(label, "format", f"expected {FILE_FORMAT!r}, got {short_value(fmt)}")
    version = get_key(label, doc, "version")
    if type(version) is not int or version != FILE_VERSION:
        raise field_error(label, "version",
                          f"unsupported version {short_value(version)}; this MinerPlan reads {FILE_VERSION}")
    fetched_at = utc_field(label, doc, "fetched_at")
    source_url = text_field(label, doc, "source_url", optional=True)
    price = number_field(label, doc, "btc_price_usd", *PRICE_RANGE_USD, "USD")
    difficulty = number_field(label, doc, "difficulty", *DIFFICULTY_RANGE)
    lo, hi = HASHRATE_RANGE_HS
    hashrate_ehs = number_field(label, doc, "network_hashrate_ehs", lo / 1e18, hi / 1e18, "EH/s")
    height = number_field(label, doc, "block_height", *HEIGHT_RANGE, integer=True)
    fees = number_field(label, doc, "fees_btc_per_block", *FEES_RANGE_BTC, "BTC/block")
    change = number_field(label, doc, "next_retarget_change_pct", *RETARGET_CHANGE_RANGE_PCT, "%", optional=True)
    blocks = number_field(label, doc, "next_retarget_blocks", *RETARGET_BLOCKS_RANGE, integer=True, optional=True)
    retarget_at = utc_field(label, doc, "next_retarget_at", optional=True)
    age = (now_utc - parse_utc(fetched_at)).total_seconds()
    if age < -CLOCK_SKEW_S:
        # A cache cannot come from the future: either this computer's clock or the file is wrong, and
        # an age of "0 s" would pass years-old (or made-up) values off as fresh.
        raise field_error(label, "fetched_at", f"{fetched_at} is later than now ({iso_utc(now_utc)} by this computer's "
                                               "clock); refused (is the clock wrong?)")
    age = max(0.0, age)       # a few minutes ahead: clocks disagree a little
    return MarketSnapshot(
        btc_price_usd=price, difficulty=difficulty, network_hashrate_ehs=hashrate_ehs, block_height=height,
        fees_btc_per_block=fees, fetched_at=fetched_at, source=source,
        source_url=source_url if source_url is not None else str(p), age_s=age,
        next_retarget_change_pct=change, next_retarget_blocks=blocks, next_retarget_at=retarget_at)


def load_shipped_snapshot(now: datetime | None = None, path: str | os.PathLike | None = None) -> MarketSnapshot:
    """The snapshot shipped in ``assets/market_snapshot.json`` (source ``snapshot``)."""
    # The shipped file cites its sources in a note and has no source_url: source_url
    # becomes the file's path.
    return read_market_file(Path(path) if path is not None else SNAPSHOT_PATH, source="snapshot", now=now)
