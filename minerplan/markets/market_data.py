"""Live market data: BTC price, difficulty, hashrate, block height and fees from mempool.space.

:func:`fetch_market` reads the public mempool.space API (standard library HTTP only),
checks every field of the untrusted answers for type and plausible range, cross-checks the
answers against each other (hashrate against difficulty, the fee statistics' blocks against the
tip) and returns a :class:`MarketSnapshot`. :func:`update_market` compares the live price with
the previous snapshot (the cache, else the shipped one) and adds the fallbacks: on success it
saves a cache file (atomically); when the live fetch fails or is refused it uses the cache, and
without a usable cache the snapshot shipped in ``assets/market_snapshot.json``, and says in its
warnings which one it used, how old it is and why the live data was not used. A cache or
snapshot dated in the future is refused, never shown as "0 s old". :func:`run_fetch_market` is
what the CLI's ``fetch-market`` command calls.

Every request has a wall-clock deadline (``timeout_s``): resolving the host, connecting,
sending, the status line, every header line and the body must all be done within it, so a
server that trickles its answer a byte or a header line at a time cannot hold a fetch longer.

Every failure is a :class:`MarketDataError` with a one-line message that names the endpoint
and the field (``/api/v1/prices: USD: expected a number, got 'abc'``) or what went wrong
on the way (timeout, HTTP 429, offline). Text taken from a response or a file is escaped
before it reaches a message. Nothing is ever evaluated.
"""

from __future__ import annotations

import email.utils
import errno
import functools
import http.client
import io
import ipaddress
import json
import math
import os
import re
import socket
import ssl
import stat
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

from minerplan import __version__
from minerplan.scenario.errors import escape_control
from minerplan.engine.network import block_subsidy_btc
from minerplan.scenario.files import ASSETS_DIR, _kind, _short, atomic_write_text

DEFAULT_API_URL = "https://mempool.space"
DEFAULT_TIMEOUT_S = 10.0
#: A response body (or a cache file) larger than this is refused without being parsed.
MAX_RESPONSE_BYTES = 2_000_000
SNAPSHOT_PATH = ASSETS_DIR / "market_snapshot.json"
CACHE_FILE_NAME = "market.json"
FILE_FORMAT = "minerplan-market-data"
FILE_VERSION = 1
#: Blocks averaged for fees per block (Luxor's hashprice index also uses the last 144).
FEE_WINDOW_BLOCKS = 144

EP_PRICES = "/api/v1/prices"
EP_HASHRATE = "/api/v1/mining/hashrate/3d"
EP_HEIGHT = "/api/blocks/tip/height"
EP_REWARDS = f"/api/v1/mining/reward-stats/{FEE_WINDOW_BLOCKS}"
EP_ADJUSTMENT = "/api/v1/difficulty-adjustment"

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

Source = Literal["live", "cache", "snapshot"]


class MarketDataError(Exception):
    """Market data could not be fetched or read; ``str(e)`` is one line for people.

    ``endpoint`` (or file) and ``field`` name where the problem is when it is about content;
    ``kind`` is one of ``invalid``, ``timeout``, ``rate_limited``, ``http``, ``offline``,
    ``missing`` (no such file), ``unavailable`` (nothing left to fall back to).
    """

    def __init__(self, message: str, *, endpoint: str | None = None, field: str | None = None,
                 kind: str = "invalid", retry_after_s: float | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.field = field
        self.kind = kind
        self.retry_after_s = retry_after_s


# --------------------------------------------------------------------------- the snapshot

@dataclass(frozen=True, kw_only=True)
class MarketSnapshot:
    """Network and market state at one moment, with where it came from.

    ``source`` is ``live`` (fetched just now), ``cache`` (the last successful fetch, read
    from the cache file) or ``snapshot`` (the values shipped with MinerPlan); ``age_s`` is
    how old the values were when they were read (0 for live). ``fetched_at`` is UTC,
    ISO-8601 (``2025-11-25T17:30:00Z``). ``notes`` says what optional data is missing.
    """

    btc_price_usd: float
    difficulty: float
    network_hashrate_ehs: float
    block_height: int
    fees_btc_per_block: float
    fetched_at: str
    source: Source
    source_url: str
    age_s: float = 0.0
    next_retarget_change_pct: float | None = None
    next_retarget_blocks: int | None = None
    next_retarget_at: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def fetched_at_datetime(self) -> datetime:
        return _parse_utc(self.fetched_at)

    @property
    def network_hashrate_hs(self) -> float:
        return self.network_hashrate_ehs * 1e18

    @property
    def subsidy_btc(self) -> float:
        """Subsidy of the next block (height + 1)."""
        return block_subsidy_btc(self.block_height + 1)

    @property
    def hashprice_btc_per_ph_day(self) -> float:
        """144 x (subsidy + fees) / network PH/s: BTC earned per PH/s per day."""
        return 144.0 * (self.subsidy_btc + self.fees_btc_per_block) / (self.network_hashrate_ehs * 1000.0)

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        return self.hashprice_btc_per_ph_day * self.btc_price_usd

    def to_market_fields(self) -> dict[str, Any]:
        """Values for a scenario's ``market`` section (difficulty, not hashrate: the scenario
        takes one of the two). Use :meth:`apply_to_market` to merge them into a section."""
        return {
            "btc_price_usd": float(self.btc_price_usd),
            "difficulty": float(self.difficulty),
            "block_height": int(self.block_height),
            "fees_btc_per_block": float(self.fees_btc_per_block),
        }

    def apply_to_market(self, market: dict[str, Any]) -> dict[str, Any]:
        """A copy of a scenario ``market`` dict with these values; growth assumptions stay,
        ``network_hashrate_ehs`` goes: an online hashrate entered against the old difficulty would no
        longer describe the new start (the hashrate online then follows from the fetched difficulty)."""
        out = {k: v for k, v in market.items() if k != "network_hashrate_ehs"}
        out.update(self.to_market_fields())
        return out

    def describe(self) -> str:
        """One line for people: where the values come from and how old they are."""
        url = escape_control(self.source_url)
        when = _format_utc(self.fetched_at_datetime)
        if self.source == "live":
            return f"live from {url} at {when}"
        if self.source == "cache":
            return f"cache from {url} at {when}, {format_age(self.age_s)} old"
        return f"shipped snapshot of {self.fetched_at_datetime:%Y-%m-%d}, {format_age(self.age_s)} old"

    def to_dict(self) -> dict[str, Any]:
        """All fields plus derived hashprice and the description (for ``--json``)."""
        d = asdict(self)
        d["notes"] = list(self.notes)
        d["network_hashrate_hs"] = self.network_hashrate_hs
        d["subsidy_btc"] = self.subsidy_btc
        d["hashprice_btc_per_ph_day"] = self.hashprice_btc_per_ph_day
        d["hashprice_usd_per_ph_day"] = self.hashprice_usd_per_ph_day
        d["description"] = self.describe()
        d["market"] = self.to_market_fields()
        return d


def format_age(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 12 min``, ``1 day 4 h``, ``365 days``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    days, rest = divmod(s, 86400)
    if days < 3 and rest >= 3600:
        return f"{days} day{'s' if days > 1 else ''} {rest // 3600} h"
    return f"{days} day{'s' if days > 1 else ''}"


# --------------------------------------------------------------------------- time

def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime):
        raise TypeError(f"now must be a datetime, got {type(now).__name__}")
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def _iso_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


_ISO_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                     r"(Z|[+-][0-9]{2}:[0-9]{2})")


def _parse_utc(text: str) -> datetime:
    """``2025-11-25T00:00:00Z`` (or with an offset) -> aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or not _ISO_RE.fullmatch(text):
        raise ValueError("not an ISO-8601 UTC time")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# --------------------------------------------------------------------------- validating untrusted values

def _bad(where: str, key: str | None, problem: str) -> MarketDataError:
    msg = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
    return MarketDataError(msg, endpoint=where, field=key)


def _fmt_num(v: float) -> str:
    """``42``, ``10,000,000``, ``925,112.5``, ``1e+15``: readable in a one-line message."""
    if abs(v) >= 1e9 or (v and abs(v) < 1e-4):
        return f"{v:.4g}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.10g}"


def _range_text(lo: float, hi: float) -> str:
    return f"{_fmt_num(lo)}..{_fmt_num(hi)}"


def _get_key(where: str, doc: Any, key: str) -> Any:
    if not isinstance(doc, dict):
        raise _bad(where, None, f"expected a JSON object, got {_kind(doc)}")
    if key not in doc:
        raise _bad(where, key, "missing")
    return doc[key]


def _number(where: str, doc: Any, key: str, lo: float, hi: float, unit: str = "",
            *, integer: bool = False, optional: bool = False) -> float | int | None:
    """``doc[key]`` as a finite number (an int when ``integer``) within ``lo..hi``."""
    if optional and isinstance(doc, dict) and doc.get(key, None) is None:
        return None
    v = _get_key(where, doc, key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        what = "a whole number" if integer else "a number"
        raise _bad(where, key, f"expected {what}, got {_short(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _bad(where, key, f"expected a finite number, got {_short(v)}")
    if integer:
        if isinstance(v, float):
            if not v.is_integer():
                raise _bad(where, key, f"expected a whole number, got {_short(v)}")
            v = int(v)
    elif isinstance(v, int):
        if v.bit_length() > 1000:
            raise _bad(where, key, f"{_short(v)} is outside the plausible range {_range_text(lo, hi)}"
                                   f"{' ' + unit if unit else ''}")
        v = float(v)
    if not lo <= v <= hi:
        raise _bad(where, key, f"{_short(v) if isinstance(v, int) else _fmt_num(v)} is outside the plausible "
                               f"range {_range_text(lo, hi)}{' ' + unit if unit else ''}")
    return v


_SATS_RE = re.compile(r"[0-9]{1,20}")


def _satoshis(where: str, doc: Any, key: str) -> int:
    """An amount in satoshi: mempool.space sends sums as strings of digits ("291937584")."""
    v = _get_key(where, doc, key)
    if isinstance(v, str) and _SATS_RE.fullmatch(v):
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**20:
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and 0 <= v < 1e20:
        return int(v)
    raise _bad(where, key, f"expected an amount in satoshi (a string of digits), got {_short(v)}")


def _text(where: str, doc: Any, key: str, max_len: int = 500, optional: bool = False) -> str | None:
    if optional and isinstance(doc, dict) and doc.get(key, None) is None:
        return None
    v = _get_key(where, doc, key)
    if not isinstance(v, str):
        raise _bad(where, key, f"expected a string, got {_short(v)}")
    if len(v) > max_len:
        raise _bad(where, key, f"longer than {max_len} characters")
    return v


def _utc_field(where: str, doc: Any, key: str, optional: bool = False) -> str | None:
    v = _text(where, doc, key, 64, optional)
    if v is None:
        return None
    try:
        return _iso_utc(_parse_utc(v))
    except (ValueError, OverflowError):
        raise _bad(where, key, f"expected a UTC time like 2025-11-25T00:00:00Z, got {_short(v)}") from None


def _constant(token: str) -> float:
    # NaN / Infinity become floats here and are reported by _number with the field's name
    # (json's own handling, made explicit: the check is in _number, not in the parser).
    return float(token)


def _parse_json(where: str, raw: bytes, what: str = "response") -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _bad(where, None, f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise _bad(where, None, f"{what} is empty")
    try:
        return json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as e:
        msg = e.msg[:1].lower() + e.msg[1:]
        raise _bad(where, None, f"not valid JSON: {msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise _bad(where, None, "not valid JSON: nested too deeply") from None
    except ValueError as e:  # an integer longer than Python's digit limit
        raise _bad(where, None, f"not valid JSON: {escape_control(str(e))[:120]}") from None


# --------------------------------------------------------------------------- HTTP

def _check_api_url(api_url: str) -> tuple[str, str]:
    """(base URL without a trailing slash and without credentials, host for messages)."""
    if not isinstance(api_url, str) or not api_url:
        raise MarketDataError("api_url: give an http:// or https:// URL", field="api_url")
    api_url = api_url.strip()
    if not api_url.isprintable() or any(c.isspace() for c in api_url):
        raise MarketDataError(f"api_url: contains spaces or control characters: {_short(api_url)}", field="api_url")
    try:
        parts = urlsplit(api_url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise MarketDataError(f"api_url: not a valid URL: {_short(api_url)}", field="api_url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise MarketDataError(f"api_url: expected an http:// or https:// URL, got {_short(api_url)}",
                              field="api_url")
    if parts.query or parts.fragment:
        raise MarketDataError(f"api_url: give the server's base URL without ?query or #fragment, "
                              f"got {_short(api_url)}", field="api_url")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, escape_control(netloc)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- deadlines

class _Deadline:
    """A wall-clock deadline (monotonic clock): what is left of it before each blocking step.

    A socket timeout bounds one read: a server that sends a header line every 0.5 s never trips a
    2 s timeout and holds the request as long as it likes (issue 11: 40 s with ``--timeout 2``).
    Giving every step only what is left of the request's time turns the timeout into a deadline.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; TimeoutError when there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the {self.seconds:g} s deadline has passed")
        return left


def _resolve_within(deadline: _Deadline, host: str, port: int) -> list:
    """``getaddrinfo`` bounded by the deadline. The resolver has no timeout of its own (a broken DNS
    set-up can take tens of seconds), so it runs on a daemon thread that is left behind when time is up."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:       # a literal address: nothing to look up
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    box: dict[str, Any] = {}
    done = threading.Event()

    def resolve() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=resolve, name="minerplan-resolve", daemon=True).start()
    if not done.wait(deadline.remaining()):
        raise TimeoutError(f"looking up {host} took longer than the deadline")
    if "error" in box:
        raise box["error"]
    return box["infos"]


def _connect_within(deadline: _Deadline, address: tuple[str, int], source_address=None) -> socket.socket:
    """A connected socket to ``address`` (each of its addresses in turn) within the deadline; the socket's
    timeout is then what is left (a TLS handshake on it is bounded by that as a whole)."""
    host, port = address
    last: OSError | None = None
    for _family, _type, _proto, _name, sockaddr in _resolve_within(deadline, host, port):
        try:
            sock = socket.create_connection(sockaddr[:2], deadline.remaining(), source_address)
        except TimeoutError:
            raise
        except OSError as e:
            last = e
            continue
        try:
            sock.settimeout(deadline.remaining())
        except BaseException:
            sock.close()
            raise
        return sock
    raise last if last is not None else OSError(f"no address found for {host}")


class _DeadlineReader(io.RawIOBase):
    """The response's byte stream: each read may block only for what is left of the deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: _Deadline):
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        self._sock.settimeout(self._deadline.remaining())
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineSocket:
    """What http.client sees as its socket: sending and the response stream keep to the deadline
    (http.client reads the status line and the headers line by line through ``makefile``)."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data, *args):
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.sendall(data, *args)

    def makefile(self, mode: str = "r", *args, **kwargs):
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        # the socket's own raw file keeps its reference counting: closing the connection while the
        # response is being read leaves the socket open until the response is closed too
        return io.BufferedReader(_DeadlineReader(self._sock.makefile("rb", buffering=0), self._sock, self._deadline))

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Mixed into http.client's connections: connecting (name lookup included) and everything read or
    sent afterwards keep to one deadline."""

    def __init__(self, *args, deadline: _Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        # HTTPConnection.connect calls self._create_connection(address, timeout, source_address)
        self._create_connection = lambda address, timeout=None, source_address=None: \
            _connect_within(deadline, address, source_address)

    def connect(self) -> None:
        super().connect()       # for HTTPS, the TLS handshake too (bounded by the socket's timeout)
        self.sock = _DeadlineSocket(self.sock, self._deadline)


class _DeadlineHTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self._deadline = deadline

    def http_open(self, req):
        return self.do_open(functools.partial(_DeadlineHTTPConnection, deadline=self._deadline), req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self._deadline = deadline

    def https_open(self, req):
        kwargs: dict[str, Any] = {"context": self._context}
        if getattr(self, "_check_hostname", None) is not None:     # Python 3.11 only
            kwargs["check_hostname"] = self._check_hostname
        return self.do_open(functools.partial(_DeadlineHTTPSConnection, deadline=self._deadline), req, **kwargs)


def _opener(base: str, deadline: _Deadline) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_DeadlineHTTPHandler(deadline), _DeadlineHTTPSHandler(deadline)]
    # A proxy never makes sense for a server on this machine (a self-hosted mempool, the tests).
    host = urlsplit(base).hostname or ""
    if _is_loopback(host):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", value):
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _status_text(code: int, reason: Any) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        text = escape_control(str(reason or ""))[:60]
        return f"{code} {text}".rstrip()


def _secs(timeout_s: float) -> str:
    return f"{timeout_s:g}"


_UNREACHABLE = {getattr(errno, n) for n in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN")
                if hasattr(errno, n)}


def _offline_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made, or None when ``exc`` is not about connecting."""
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ConnectionAbortedError):
        return "connection aborted"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return "network unreachable"
    return None


def _network_error(exc: BaseException, host: str, endpoint: str, timeout_s: float) -> MarketDataError:
    get = f"GET {endpoint}"
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            exc = reason
        else:
            return MarketDataError(f"cannot reach {host} ({escape_control(str(reason))[:120]}) for {get}; offline?",
                                   endpoint=endpoint, kind="offline")
    if isinstance(exc, TimeoutError):
        return MarketDataError(f"{host} did not answer within {_secs(timeout_s)} s ({get})",
                               endpoint=endpoint, kind="timeout")
    if isinstance(exc, ssl.SSLError):
        what = getattr(exc, "reason", None) or type(exc).__name__
        return MarketDataError(f"secure connection to {host} failed ({escape_control(str(what))[:120]}) for {get}",
                               endpoint=endpoint, kind="offline")
    why = _offline_reason(exc)
    if why:
        return MarketDataError(f"cannot reach {host} ({why}) for {get}; offline?", endpoint=endpoint, kind="offline")
    if isinstance(exc, http.client.IncompleteRead):
        return MarketDataError(f"{host} closed the connection in the middle of the answer to {get}",
                               endpoint=endpoint, kind="offline")
    if isinstance(exc, http.client.HTTPException):
        return MarketDataError(f"{host} sent an invalid HTTP answer to {get} ({type(exc).__name__})",
                               endpoint=endpoint, kind="offline")
    if isinstance(exc, OSError):
        text = exc.strerror or type(exc).__name__
        return MarketDataError(f"cannot reach {host} ({escape_control(str(text))[:120]}) for {get}; offline?",
                               endpoint=endpoint, kind="offline")
    return MarketDataError(f"{host}: {get} failed ({type(exc).__name__})", endpoint=endpoint, kind="offline")


def _http_get(base: str, host: str, endpoint: str, timeout_s: float, accept: str = "application/json",
              max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
    """The body of ``GET base+endpoint`` (status 200), at most MAX_RESPONSE_BYTES, all within a
    deadline of ``timeout_s`` from now: name lookup, connecting, the request, the status line, the
    headers and the body (a server that trickles bytes or header lines does not get to hold us longer)."""
    req = urllib.request.Request(base + endpoint, headers={
        "User-Agent": f"MinerPlan/{__version__} (market data)",
        "Accept": accept,
        "Accept-Encoding": "identity",
    })
    deadline = _Deadline(timeout_s)
    try:
        resp = _opener(base, deadline).open(req, timeout=deadline.remaining())
    except urllib.error.HTTPError as e:
        try:
            code = e.code
            if code == 429:
                retry = _retry_after_s(e.headers.get("Retry-After") if e.headers else None)
                when = f"retry after {math.ceil(retry)} s" if retry is not None else "retry later"
                raise MarketDataError(f"rate-limited by {host} (HTTP 429); {when}", endpoint=endpoint,
                                      kind="rate_limited", retry_after_s=retry) from None
            raise MarketDataError(f"{host} answered HTTP {_status_text(code, e.reason)} for GET {endpoint}",
                                  endpoint=endpoint, kind="http") from None
        finally:
            e.close()
    except MarketDataError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise _network_error(e, host, endpoint, timeout_s) from None
    except ValueError as e:  # e.g. a control character in the URL
        raise MarketDataError(f"api_url: cannot request {escape_control(str(e))[:120]}", field="api_url") from None
    with resp:
        status = getattr(resp, "status", 200)
        if status != 200:
            raise MarketDataError(f"{host} answered HTTP {_status_text(status, resp.reason)} for GET {endpoint}; "
                                  "expected 200", endpoint=endpoint, kind="http")
        length = resp.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > max_bytes:
            raise _bad(endpoint, None, f"response is {int(length):,} bytes; the limit is {max_bytes:,}")
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                deadline.remaining()                # TimeoutError once time is up
                chunk = resp.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise _bad(endpoint, None, f"response is larger than the limit of {max_bytes:,} bytes")
                chunks.append(chunk)
        except MarketDataError:
            raise
        except (OSError, http.client.HTTPException) as e:
            raise _network_error(e, host, endpoint, timeout_s) from None
    return b"".join(chunks)


# --------------------------------------------------------------------------- the endpoints

def _parse_price(raw: bytes) -> float:
    doc = _parse_json(EP_PRICES, raw)
    return _number(EP_PRICES, doc, "USD", *PRICE_RANGE_USD, "USD")


def implied_hashrate_hs(difficulty: float) -> float:
    """The hashrate a difficulty implies, H/s: difficulty x 2^32 hashes per block, one block per 600 s."""
    return difficulty * HASHES_PER_DIFFICULTY / BLOCK_INTERVAL_S


def _parse_hashrate(raw: bytes) -> tuple[float, float]:
    """(difficulty, hashrate in H/s); a hashrate outside HASHRATE_VS_DIFFICULTY_RANGE of what the
    difficulty implies is refused (the two fields of one answer must describe one network)."""
    doc = _parse_json(EP_HASHRATE, raw)
    difficulty = _number(EP_HASHRATE, doc, "currentDifficulty", *DIFFICULTY_RANGE)
    hashrate = _number(EP_HASHRATE, doc, "currentHashrate", *HASHRATE_RANGE_HS, "H/s")
    implied = implied_hashrate_hs(difficulty)
    ratio = hashrate / implied
    lo, hi = HASHRATE_VS_DIFFICULTY_RANGE
    if not lo <= ratio <= hi:
        raise _bad(EP_HASHRATE, "currentHashrate",
                   f"{_fmt_num(hashrate)} H/s is {ratio:.3g}x the {_fmt_num(implied)} H/s that currentDifficulty "
                   f"{_fmt_num(difficulty)} implies (difficulty x 2^32 / 600 s); expected {lo:g}x..{hi:g}x")
    return difficulty, hashrate


_HEIGHT_RE = re.compile(r"[0-9]{1,20}")


def _parse_height(raw: bytes) -> int:
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise _bad(EP_HEIGHT, "block height", f"expected a plain integer, got a non-ASCII byte at {e.start}") from None
    if not _HEIGHT_RE.fullmatch(text):
        raise _bad(EP_HEIGHT, "block height", f"expected a plain integer, got {_short(text)}")
    height = int(text)
    lo, hi = HEIGHT_RANGE
    if not lo <= height <= hi:
        raise _bad(EP_HEIGHT, "block height", f"{height:,} is outside the plausible range {_range_text(lo, hi)}")
    return height


def _parse_rewards(raw: bytes, tip: int) -> float:
    """Average fees per block over the block range, BTC; the range must end within
    REWARDS_TIP_SLACK_BLOCKS of ``tip`` (the height from /api/blocks/tip/height)."""
    doc = _parse_json(EP_REWARDS, raw)
    end = _number(EP_REWARDS, doc, "endBlock", *HEIGHT_RANGE, integer=True)
    start = _number(EP_REWARDS, doc, "startBlock", 0, HEIGHT_RANGE[1], integer=True)
    blocks = end - start + 1
    if not 1 <= blocks <= 10_000:
        raise _bad(EP_REWARDS, "startBlock", f"block range {start:,}..{end:,} holds {blocks:,} blocks; "
                                             "expected 1..10,000")
    if abs(end - tip) > REWARDS_TIP_SLACK_BLOCKS:
        raise _bad(EP_REWARDS, "endBlock", f"blocks {start:,}..{end:,} end {abs(end - tip):,} blocks "
                                           f"{'before' if end < tip else 'after'} the tip {tip:,} "
                                           f"({EP_HEIGHT}); expected the last blocks, ending within "
                                           f"{REWARDS_TIP_SLACK_BLOCKS} of the tip")
    total_fee_sats = _satoshis(EP_REWARDS, doc, "totalFee")
    fees = total_fee_sats / blocks / 1e8
    lo, hi = FEES_RANGE_BTC
    if not lo <= fees <= hi:
        raise _bad(EP_REWARDS, "totalFee", f"{fees:,.4g} BTC per block over {blocks:,} blocks is outside the "
                                           f"plausible range {_range_text(lo, hi)} BTC/block")
    return fees


def _parse_adjustment(raw: bytes) -> tuple[float, int, str]:
    """(difficultyChange %, remainingBlocks, estimatedRetargetDate as ISO UTC)."""
    doc = _parse_json(EP_ADJUSTMENT, raw)
    change = _number(EP_ADJUSTMENT, doc, "difficultyChange", *RETARGET_CHANGE_RANGE_PCT, "%")
    blocks = _number(EP_ADJUSTMENT, doc, "remainingBlocks", *RETARGET_BLOCKS_RANGE, "blocks", integer=True)
    ms = _number(EP_ADJUSTMENT, doc, "estimatedRetargetDate", *RETARGET_DATE_RANGE_MS, "ms since 1970")
    return change, blocks, _iso_utc(datetime.fromtimestamp(ms / 1000.0, timezone.utc))


def _check_timeout(timeout_s: float) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) \
            or not 0 < timeout_s <= 600:
        raise ValueError(f"timeout_s must be a number of seconds in (0, 600], got {timeout_s!r}")
    return float(timeout_s)


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
    timeout_s = _check_timeout(timeout_s)
    fetched = _utc_now(now)
    base, host = _check_api_url(api_url)

    def get(endpoint: str, accept: str = "application/json") -> bytes:
        return _http_get(base, host, endpoint, timeout_s, accept)

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
        block_height=height, fees_btc_per_block=fees, fetched_at=_iso_utc(fetched), source="live",
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
    result feeds :func:`minerplan.markets.calibration.monthly_log_returns` like a CSV history.
    """
    import pandas as pd

    timeout_s = _check_timeout(timeout_s)
    base, host = _check_api_url(api_url)
    raw = _http_get(base, host, EP_PRICE_HISTORY, timeout_s, max_bytes=MAX_HISTORY_BYTES)
    doc = _parse_json(EP_PRICE_HISTORY, raw)
    rows = _get_key(EP_PRICE_HISTORY, doc, "prices")
    if not isinstance(rows, list):
        raise _bad(EP_PRICE_HISTORY, "prices", f"expected a list, got {type(rows).__name__}")
    if len(rows) > MAX_HISTORY_POINTS:
        raise _bad(EP_PRICE_HISTORY, "prices", f"{len(rows):,} entries; the limit is {MAX_HISTORY_POINTS:,}")
    times, closes = [], []
    last = None
    for i, row in enumerate(rows):
        where = f"{EP_PRICE_HISTORY} prices[{i}]"
        t = _number(where, row, "time", 1_230_000_000, 4_102_444_800, "s")
        if t != int(t):
            raise _bad(where, "time", "expected whole seconds")
        price = row.get("USD") if isinstance(row, dict) else None
        if isinstance(price, (int, float)) and not isinstance(price, bool) and price <= 0:
            continue   # no price recorded for that day
        usd = _number(where, row, "USD", 0.0001, PRICE_RANGE_USD[1], "USD")
        if last is not None and t <= last:
            raise _bad(where, "time", "times must increase")
        last = t
        times.append(int(t))
        closes.append(float(usd))
    if len(closes) < 2:
        raise _bad(EP_PRICE_HISTORY, "prices", "fewer than two usable prices")
    index = pd.to_datetime(pd.Series(times, dtype="int64"), unit="s", utc=True).dt.tz_localize(None)
    return pd.Series(closes, index=pd.DatetimeIndex(index), name="close")


# --------------------------------------------------------------------------- cache and shipped snapshot files

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
    now_utc = _utc_now(now)
    doc = _parse_json(label, _read_small_file(p, label), "file")
    fmt = _get_key(label, doc, "format")
    if fmt != FILE_FORMAT:
        raise _bad(label, "format", f"expected {FILE_FORMAT!r}, got {_short(fmt)}")
    version = _get_key(label, doc, "version")
    if type(version) is not int or version != FILE_VERSION:
        raise _bad(label, "version", f"unsupported version {_short(version)}; this MinerPlan reads {FILE_VERSION}")
    fetched_at = _utc_field(label, doc, "fetched_at")
    source_url = _text(label, doc, "source_url", optional=True)
    price = _number(label, doc, "btc_price_usd", *PRICE_RANGE_USD, "USD")
    difficulty = _number(label, doc, "difficulty", *DIFFICULTY_RANGE)
    lo, hi = HASHRATE_RANGE_HS
    hashrate_ehs = _number(label, doc, "network_hashrate_ehs", lo / 1e18, hi / 1e18, "EH/s")
    height = _number(label, doc, "block_height", *HEIGHT_RANGE, integer=True)
    fees = _number(label, doc, "fees_btc_per_block", *FEES_RANGE_BTC, "BTC/block")
    change = _number(label, doc, "next_retarget_change_pct", *RETARGET_CHANGE_RANGE_PCT, "%", optional=True)
    blocks = _number(label, doc, "next_retarget_blocks", *RETARGET_BLOCKS_RANGE, integer=True, optional=True)
    retarget_at = _utc_field(label, doc, "next_retarget_at", optional=True)
    age = (now_utc - _parse_utc(fetched_at)).total_seconds()
    if age < -CLOCK_SKEW_S:
        # A cache cannot come from the future: either this computer's clock or the file is wrong, and
        # an age of "0 s" would pass years-old (or made-up) values off as fresh.
        raise _bad(label, "fetched_at", f"{fetched_at} is later than now ({_iso_utc(now_utc)} by this computer's "
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


# --------------------------------------------------------------------------- live, else cache, else snapshot

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
    then = _format_utc(previous.fetched_at_datetime)
    raise _bad(EP_PRICES, "USD",
               f"{_fmt_num(snap.btc_price_usd)} USD at {_format_utc(snap.fetched_at_datetime)} is {ratio:.3g}x the "
               f"{_fmt_num(previous.btc_price_usd)} USD of the {what} from {then}; "
               f"a move beyond {PRICE_MOVE_FACTOR:g}x either way within {PRICE_MOVE_WINDOW_DAYS:g} days is refused "
               "as a broken answer")


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
    now_utc = _utc_now(now)
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


# --------------------------------------------------------------------------- the CLI command

def format_snapshot(snap: MarketSnapshot) -> str:
    """The text ``minerplan fetch-market`` prints: values, derived hashprice and the source."""
    rows = [
        ("BTC price", f"{snap.btc_price_usd:,.0f} USD"),
        ("Difficulty", f"{snap.difficulty / 1e12:,.2f} T"),
        ("Network hashrate", f"{snap.network_hashrate_ehs:,.1f} EH/s"),
        ("Block height", f"{snap.block_height:,}"),
        ("Fees", f"{snap.fees_btc_per_block:.4f} BTC/block"),
        ("Block subsidy", f"{snap.subsidy_btc:g} BTC"),
        ("Hashprice", f"{snap.hashprice_usd_per_ph_day:,.2f} USD/PH/day "
                      f"({snap.hashprice_btc_per_ph_day:.6f} BTC/PH/day)"),
    ]
    if snap.next_retarget_change_pct is not None:
        text = f"{snap.next_retarget_change_pct:+.2f} %"
        if snap.next_retarget_blocks is not None:
            text += f" in {snap.next_retarget_blocks:,} blocks"
        if snap.next_retarget_at is not None:
            text += f" (about {_format_utc(_parse_utc(snap.next_retarget_at))})"
        rows.append(("Next retarget", text))
    rows.append(("Source", snap.describe()))
    return "\n".join(f"{k:<18}{v}" for k, v in rows)


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
        timeout_s = _check_timeout(timeout_s)
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
