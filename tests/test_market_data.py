"""Live market data (minerplan.markets.live) against a local fake mempool.space.

The tests never touch the internet: a ThreadingHTTPServer on 127.0.0.1 serves the
responses in tests/data/mempool/ (and, per test, broken variants), and an autouse guard
fails any connection to a host that is not loopback.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from minerplan.markets.live import cache as market_cache
from minerplan.markets.live.cache import read_market_file
from minerplan.markets.live.errors import MarketDataError
from minerplan.markets.live.mempool import fetch_market
from minerplan.markets.live.ranges import MAX_RESPONSE_BYTES
from minerplan.markets.live.snapshot import MarketSnapshot, format_age
from minerplan.markets.live.update import run_fetch_market, update_market
from minerplan.engine.network import block_subsidy_btc
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, scenario_from_dict
from tests.gate import Gate

DATA = Path(__file__).resolve().parent / "data" / "mempool"
NOW = datetime(2025, 11, 25, 17, 30, tzinfo=timezone.utc)

# The recorded values, by hand from the files in tests/data/mempool/.
PRICE = 91234.0
DIFFICULTY = 152271405447597.44
HASHRATE_HS = 1.0743281903456789e21
HASHRATE_EHS = 1074.3281903456789  # H/s / 1e18
HEIGHT = 925112
FEES = 291937584 / (925112 - 924969 + 1) / 1e8  # totalFee sat / 144 blocks -> BTC per block
RETARGET_PCT = -1.9512744093458154
RETARGET_BLOCKS = 232
RETARGET_AT = "2025-11-27T08:52:32Z"  # estimatedRetargetDate 1764233552000 ms

P_PRICES = "/api/v1/prices"
P_HASHRATE = "/api/v1/mining/hashrate/3d"
P_HEIGHT = "/api/blocks/tip/height"
P_REWARDS = "/api/v1/mining/reward-stats/144"
P_ADJUST = "/api/v1/difficulty-adjustment"


# --------------------------------------------------------------------------- the fake server

@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0   # before the status line
    drip_s: float = 0.0    # between single bytes of the body
    send_length: bool = True
    hold: Gate | None = None   # before the status line: wait until the test opens the gate (tests/gate.py)


def _recorded() -> dict[str, Reply]:
    return {
        P_PRICES: Reply((DATA / "prices.json").read_bytes()),
        P_HASHRATE: Reply((DATA / "hashrate-3d.json").read_bytes()),
        P_HEIGHT: Reply((DATA / "tip-height.txt").read_bytes(), content_type="text/plain"),
        P_REWARDS: Reply((DATA / "reward-stats-144.json").read_bytes()),
        P_ADJUST: Reply((DATA / "difficulty-adjustment.json").read_bytes()),
    }


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        fake: FakeMempool = self.server.fake
        fake.requests.append((self.path, self.headers.get("User-Agent", "")))
        reply = fake.routes.get(self.path, Reply(b"Not Found", 404, "text/plain"))
        try:
            if reply.hold is not None:
                reply.hold.hold(fake.stop.is_set)
            if reply.delay_s:
                fake.stop.wait(reply.delay_s)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.send_length:
                self.send_header("Content-Length", str(len(reply.body)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if reply.drip_s:
                for i in range(len(reply.body)):
                    self.wfile.write(reply.body[i:i + 1])
                    self.wfile.flush()
                    if fake.stop.wait(reply.drip_s):
                        break
                else:
                    fake.answered.append(self.path)
            else:
                self.wfile.write(reply.body)
                fake.answered.append(self.path)
        except OSError:  # the client gave up (timeouts, size limits)
            pass

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class FakeMempool:
    def __init__(self):
        self.routes = _recorded()
        self.requests: list[tuple[str, str]] = []
        self.answered: list[str] = []       # paths whose whole body was sent
        self.stop = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def set(self, path: str, body: bytes | str = b"", **kw) -> None:
        self.routes[path] = Reply(body.encode() if isinstance(body, str) else body, **kw)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def fake():
    server = FakeMempool()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch):
    """Fail any connection to a host that is not this machine: the tests stay offline."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        host = address[0]
        assert host in ("127.0.0.1", "localhost", "::1"), f"test tried to connect to {host!r}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _err(fn, *args, **kwargs) -> MarketDataError:
    with pytest.raises(MarketDataError) as ei:
        fn(*args, **kwargs)
    return ei.value


# --------------------------------------------------------------------------- good responses

def test_fetch_parses_the_recorded_responses(fake):
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.btc_price_usd == PRICE
    assert snap.difficulty == DIFFICULTY
    assert snap.network_hashrate_ehs == pytest.approx(HASHRATE_EHS, rel=1e-15)
    assert snap.network_hashrate_hs == pytest.approx(HASHRATE_HS, rel=1e-15)
    assert snap.block_height == HEIGHT and type(snap.block_height) is int
    assert snap.fees_btc_per_block == pytest.approx(0.020273443333333, rel=1e-12)
    assert snap.fees_btc_per_block == pytest.approx(FEES, rel=1e-15)
    assert snap.next_retarget_change_pct == RETARGET_PCT
    assert snap.next_retarget_blocks == RETARGET_BLOCKS
    assert snap.next_retarget_at == RETARGET_AT
    assert snap.fetched_at == "2025-11-25T17:30:00Z"
    assert (snap.source, snap.source_url, snap.age_s, snap.notes) == ("live", fake.url, 0.0, ())
    assert snap.describe() == f"live from {fake.url} at 2025-11-25 17:30 UTC"
    assert [p for p, _ in fake.requests] == [P_PRICES, P_HASHRATE, P_HEIGHT, P_REWARDS, P_ADJUST]
    assert all(ua.startswith("MinerPlan/") for _, ua in fake.requests)


def test_hashprice_by_hand(fake):
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.subsidy_btc == 3.125 == block_subsidy_btc(HEIGHT)
    by_hand = 144 * (3.125 + FEES) / (HASHRATE_HS / 1e15) * PRICE
    assert snap.hashprice_usd_per_ph_day == pytest.approx(by_hand, rel=1e-12)
    assert 35 < snap.hashprice_usd_per_ph_day < 40  # Luxor's late-Nov-2025 range


def test_market_fields_make_a_valid_scenario(fake):
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.to_market_fields() == {"btc_price_usd": PRICE, "difficulty": DIFFICULTY,
                                       "block_height": HEIGHT, "fees_btc_per_block": snap.fees_btc_per_block}
    doc = json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"))
    doc["market"] = snap.apply_to_market(doc["market"])
    sc = scenario_from_dict(doc)
    assert sc.market.btc_price_usd == PRICE and sc.market.block_height == HEIGHT
    assert sc.market.hashrate_growth_pct_per_month == 1.0  # assumptions stay
    # A market given by hashrate switches to difficulty (the scenario takes one of the two).
    by_hashrate = {k: v for k, v in doc["market"].items() if k != "difficulty"} | {"network_hashrate_ehs": 900.0}
    merged = snap.apply_to_market(by_hashrate)
    assert "network_hashrate_ehs" not in merged and merged["difficulty"] == DIFFICULTY


def test_total_fee_as_a_number_and_integral_floats_are_accepted(fake):
    fake.set(P_REWARDS, '{"startBlock": 924969.0, "endBlock": 925112, "totalFee": 291937584}')
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.fees_btc_per_block == pytest.approx(FEES, rel=1e-15)


def test_height_with_a_trailing_newline(fake):
    fake.set(P_HEIGHT, b"925112\n", content_type="text/plain")
    assert fetch_market(fake.url, timeout_s=5, now=NOW).block_height == HEIGHT


# --------------------------------------------------------------------------- untrusted JSON

BROKEN = [
    # (path, body, exact message or substring after the endpoint)
    (P_PRICES, b'{"USD": 91234', "/api/v1/prices: not valid JSON: expecting ',' delimiter at line 1 column 14"),
    (P_PRICES, b'{"USD": "abc"}', "/api/v1/prices: USD: expected a number, got 'abc'"),
    (P_PRICES, b'{"USD": NaN}', "/api/v1/prices: USD: expected a finite number, got NaN"),
    (P_PRICES, b'{"USD": Infinity}', "/api/v1/prices: USD: expected a finite number, got Infinity"),
    (P_PRICES, b'{"USD": -1e999}', "/api/v1/prices: USD: expected a finite number, got -Infinity"),
    (P_PRICES, b'{"USD": true}', "/api/v1/prices: USD: expected a number, got true"),
    (P_PRICES, b'{"USD": null}', "/api/v1/prices: USD: expected a number, got null"),
    (P_PRICES, b'{"USD": [91234]}', "/api/v1/prices: USD: expected a number, got an array"),
    (P_PRICES, b'{"EUR": 78931}', "/api/v1/prices: USD: missing"),
    (P_PRICES, b'{"USD": 42}', "/api/v1/prices: USD: 42 is outside the plausible range 1,000..10,000,000 USD"),
    (P_PRICES, b'{"USD": 2e7}', "/api/v1/prices: USD: 20,000,000 is outside the plausible range 1,000..10,000,000 USD"),
    (P_PRICES, b'[91234]', "/api/v1/prices: expected a JSON object, got an array"),
    (P_PRICES, b'91234', "/api/v1/prices: expected a JSON object, got a number"),
    (P_PRICES, b'', "/api/v1/prices: response is empty"),
    (P_PRICES, b'\xff\xfe{}', "/api/v1/prices: not UTF-8 text (byte 0)"),
    (P_PRICES, b'[' * 100_000, "/api/v1/prices: not valid JSON"),
    (P_PRICES, b'{"USD": ' + b'9' * 5000 + b'}', "/api/v1/prices: not valid JSON"),
    (P_HASHRATE, b'{"currentHashrate": 1.07e21, "currentDifficulty": "152T"}',
     "/api/v1/mining/hashrate/3d: currentDifficulty: expected a number, got '152T'"),
    (P_HASHRATE, b'{"currentDifficulty": 1.52e14}', "/api/v1/mining/hashrate/3d: currentHashrate: missing"),
    (P_HASHRATE, b'{"currentHashrate": 0, "currentDifficulty": 0}',  # mempool without Bitcoin Core sends zeros
     "/api/v1/mining/hashrate/3d: currentDifficulty: 0 is outside the plausible range 1e+09..1e+18"),
    (P_HASHRATE, b'{"currentHashrate": 1e30, "currentDifficulty": 1.52e14}',
     "/api/v1/mining/hashrate/3d: currentHashrate: 1e+30 is outside the plausible range 1e+15..1e+24 H/s"),
    (P_HASHRATE, b'{"currentHashrate": false, "currentDifficulty": 1.52e14}',
     "/api/v1/mining/hashrate/3d: currentHashrate: expected a number, got false"),
    (P_HEIGHT, b"abc", "/api/blocks/tip/height: block height: expected a plain integer, got 'abc'"),
    (P_HEIGHT, b"925112.5", "/api/blocks/tip/height: block height: expected a plain integer, got '925112.5'"),
    (P_HEIGHT, b"-925112", "/api/blocks/tip/height: block height: expected a plain integer, got '-925112'"),
    (P_HEIGHT, b"9.25e5", "/api/blocks/tip/height: block height: expected a plain integer, got '9.25e5'"),
    (P_HEIGHT, b"", "/api/blocks/tip/height: block height: expected a plain integer, got ''"),
    (P_HEIGHT, b'{"height": 925112}', "/api/blocks/tip/height: block height: expected a plain integer"),
    (P_HEIGHT, "\u0669\u0662\u0665".encode(), "/api/blocks/tip/height: block height: expected a plain integer, "
                                              "got a non-ASCII byte at 0"),
    (P_HEIGHT, b"12", "/api/blocks/tip/height: block height: 12 is outside the plausible range 800,000..5,000,000"),
    (P_HEIGHT, b"99999999999999", "/api/blocks/tip/height: block height: 99,999,999,999,999 is outside"),
    (P_REWARDS, b'{"startBlock": 924969, "endBlock": 925112, "totalFee": "2.9 BTC"}',
     "/api/v1/mining/reward-stats/144: totalFee: expected an amount in satoshi (a string of digits), got '2.9 BTC'"),
    (P_REWARDS, b'{"startBlock": 924969, "endBlock": 925112, "totalFee": "-291937584"}',
     "/api/v1/mining/reward-stats/144: totalFee: expected an amount in satoshi"),
    (P_REWARDS, b'{"startBlock": 924969, "totalFee": "291937584"}',
     "/api/v1/mining/reward-stats/144: endBlock: missing"),
    (P_REWARDS, b'{"startBlock": 924969, "endBlock": "925112", "totalFee": "291937584"}',
     "/api/v1/mining/reward-stats/144: endBlock: expected a whole number, got '925112'"),
    (P_REWARDS, b'{"startBlock": 924969, "endBlock": 925112.5, "totalFee": "291937584"}',
     "/api/v1/mining/reward-stats/144: endBlock: expected a whole number, got 925112.5"),
    (P_REWARDS, b'{"startBlock": 925113, "endBlock": 925112, "totalFee": "291937584"}',
     "/api/v1/mining/reward-stats/144: startBlock: block range 925,113..925,112 holds 0 blocks; expected 1..10,000"),
    (P_REWARDS, b'{"startBlock": 924969, "endBlock": 925112, "totalFee": "291937584000"}',
     "/api/v1/mining/reward-stats/144: totalFee: 20.27 BTC per block over 144 blocks is outside the plausible "
     "range 0..10 BTC/block"),
]


@pytest.mark.parametrize("path,body,expected", BROKEN, ids=[f"{p.rsplit('/', 1)[1]}-{i}" for i, (p, _, _) in
                                                           enumerate(BROKEN)])
def test_broken_responses_name_endpoint_and_field(fake, path, body, expected):
    fake.set(path, body)
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e).startswith(expected), str(e)
    assert "\n" not in str(e)
    assert e.endpoint == path and e.kind == "invalid"


def test_exact_message_for_a_string_price(fake):
    fake.set(P_PRICES, '{"USD": "abc", "EUR": 1}')
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == "/api/v1/prices: USD: expected a number, got 'abc'"
    assert (e.endpoint, e.field) == (P_PRICES, "USD")


def test_control_characters_from_the_server_are_escaped(fake):
    fake.set(P_PRICES, '{"USD": "\\u001b[31m91234\\n\\u202e"}')
    msg = str(_err(fetch_market, fake.url, timeout_s=5, now=NOW))
    assert "\x1b" not in msg and "\n" not in msg and "\u202e" not in msg
    assert "\\x1b[31m91234\\n" in msg


def test_a_broken_difficulty_adjustment_only_leaves_the_retarget_empty(fake):
    fake.set(P_ADJUST, '{"difficultyChange": "soon", "remainingBlocks": 232, "estimatedRetargetDate": 1764233552000}')
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.source == "live" and snap.btc_price_usd == PRICE
    assert (snap.next_retarget_change_pct, snap.next_retarget_blocks, snap.next_retarget_at) == (None, None, None)
    assert snap.notes == ("next difficulty adjustment unavailable: /api/v1/difficulty-adjustment: "
                          "difficultyChange: expected a number, got 'soon'",)


def test_a_rate_limited_difficulty_adjustment_is_a_note(fake):
    fake.set(P_ADJUST, "Too Many Requests", status=429, content_type="text/plain")
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.next_retarget_change_pct is None
    assert "rate-limited" in snap.notes[0]


@pytest.mark.parametrize("bad", [
    '{"difficultyChange": 500, "remainingBlocks": 232, "estimatedRetargetDate": 1764233552000}',
    '{"difficultyChange": -1.9, "remainingBlocks": 2017, "estimatedRetargetDate": 1764233552000}',
    '{"difficultyChange": -1.9, "remainingBlocks": 232, "estimatedRetargetDate": 1764233552}',
    '{"difficultyChange": -1.9, "remainingBlocks": 232}',
])
def test_difficulty_adjustment_ranges(fake, bad):
    fake.set(P_ADJUST, bad)
    snap = fetch_market(fake.url, timeout_s=5, now=NOW)
    assert snap.next_retarget_change_pct is None and snap.notes[0].count("/api/v1/difficulty-adjustment: ") == 1


# --------------------------------------------------------------------------- transport errors

def test_http_429_with_retry_after_seconds(fake):
    fake.set(P_PRICES, "Too Many Requests", status=429, content_type="text/plain", headers={"Retry-After": "120"})
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == f"rate-limited by {fake.host} (HTTP 429); retry after 120 s"
    assert (e.kind, e.retry_after_s, e.endpoint) == ("rate_limited", 120.0, P_PRICES)


def test_http_429_with_retry_after_date_and_without(fake):
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    fake.set(P_PRICES, "", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert 80 <= e.retry_after_s <= 91 and "retry after " in str(e)
    fake.set(P_PRICES, "", status=429)
    assert str(_err(fetch_market, fake.url, timeout_s=5)) == f"rate-limited by {fake.host} (HTTP 429); retry later"
    fake.set(P_PRICES, "", status=429, headers={"Retry-After": "soon\x1b"})
    assert str(_err(fetch_market, fake.url, timeout_s=5)).endswith("retry later")


def test_http_500_names_the_endpoint(fake):
    fake.set(P_HASHRATE, "boom", status=500, content_type="text/plain")
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == f"{fake.host} answered HTTP 500 Internal Server Error for GET {P_HASHRATE}"
    assert e.kind == "http"


def test_http_404_and_unusual_status(fake):
    del fake.routes[P_HEIGHT]
    assert "answered HTTP 404 Not Found for GET /api/blocks/tip/height" in str(_err(fetch_market, fake.url,
                                                                                    timeout_s=5))
    fake.set(P_HEIGHT, "", status=204)
    assert "HTTP 204 No Content" in str(_err(fetch_market, fake.url, timeout_s=5))


def test_a_slow_endpoint_times_out(fake):
    # The fake holds its answer until the client has given up (the gate opens after the call): the call
    # can only end with the timeout, not by waiting the answer out, however fast or slow this machine is.
    # (Were the timeout ignored, the answer would come after HOLD_S and the call would not fail.)
    gate = Gate()
    fake.set(P_PRICES, (DATA / "prices.json").read_bytes(), hold=gate)
    try:
        e = _err(fetch_market, fake.url, timeout_s=0.5, now=NOW)
        assert gate.holding                                  # still holding the answer: the client did not wait
    finally:
        gate.open()
    assert str(e) == f"{fake.host} did not answer within 0.5 s (GET {P_PRICES})"
    assert e.kind == "timeout"


def test_a_trickling_body_times_out_in_total(fake):
    # Every byte arrives well within the socket timeout, but the whole (valid) body would take a minute:
    # only the total timeout ends the call early, and the fake is still sending when it has.
    fake.set(P_PRICES, b'{"USD": 91234}' + b" " * 600, drip_s=0.1)
    e = _err(fetch_market, fake.url, timeout_s=0.5, now=NOW)
    assert P_PRICES not in fake.answered
    assert e.kind == "timeout" and "did not answer within 0.5 s" in str(e)


def test_oversized_body_with_content_length(fake):
    fake.set(P_PRICES, b'{"USD": 91234, "pad": "' + b"x" * 2_500_000 + b'"}')
    e = _err(fetch_market, fake.url, timeout_s=5)
    assert str(e) == "/api/v1/prices: response is 2,500,025 bytes; the limit is 2,000,000"


def test_oversized_body_without_content_length(fake):
    fake.set(P_PRICES, b'{"USD": 91234, "pad": "' + b"x" * 2_500_000 + b'"}', send_length=False)
    e = _err(fetch_market, fake.url, timeout_s=5)
    assert str(e) == "/api/v1/prices: response is larger than the limit of 2,000,000 bytes"


def test_closed_port_is_offline_quickly(closed_port):
    # A refused connection is reported at once, not after the timeout: with a 120 s timeout, a bound of
    # half of it tells the two apart on any machine (the answer takes milliseconds).
    t0 = time.monotonic()
    e = _err(fetch_market, f"http://127.0.0.1:{closed_port}", timeout_s=120, now=NOW)
    assert time.monotonic() - t0 < 60
    assert str(e) == f"cannot reach 127.0.0.1:{closed_port} (connection refused) for GET {P_PRICES}; offline?"
    assert e.kind == "offline"


def test_dns_failure_is_offline(monkeypatch):
    def no_dns(self, req, *args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_dns)
    e = _err(fetch_market, timeout_s=5)  # the default https://mempool.space, never reached
    assert str(e) == "cannot reach mempool.space (host name not found) for GET /api/v1/prices; offline?"


def test_server_closing_the_connection(fake):
    class Hangup(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.close_connection = True

        def log_message(self, *args):
            pass

    fake.httpd.RequestHandlerClass = Hangup
    e = _err(fetch_market, fake.url, timeout_s=5)
    assert e.kind == "offline" and fake.host in str(e) and P_PRICES in str(e)


@pytest.mark.parametrize("url", ["ftp://mempool.space", "mempool.space", "http://", "file:///etc/passwd",
                                 "https://mempool.space/?x=1", "http://host:99999", "",
                                 "https://mempool.space/a b", "https://mempool.space/\x1b[31m"])
def test_bad_api_url(url):
    e = _err(fetch_market, url, timeout_s=5)
    assert str(e).startswith("api_url: ") and e.field == "api_url"


def test_api_url_with_a_path_and_trailing_slash(fake):
    fake.routes = {"/mempool" + p: r for p, r in fake.routes.items()}
    snap = fetch_market(fake.url + "/mempool/", timeout_s=5, now=NOW)
    assert snap.source_url == fake.url + "/mempool" and snap.block_height == HEIGHT


def test_credentials_in_the_url_are_not_kept(fake):
    snap = fetch_market(f"http://user:secret@127.0.0.1:{fake.port}", timeout_s=5, now=NOW)
    assert "secret" not in snap.source_url and "secret" not in snap.describe()


def test_loopback_ignores_proxy_settings(fake, closed_port, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert fetch_market(fake.url, timeout_s=5, now=NOW).btc_price_usd == PRICE


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, 601])
def test_bad_timeout(timeout):
    with pytest.raises(ValueError):
        fetch_market("http://127.0.0.1:1", timeout_s=timeout)


# --------------------------------------------------------------------------- cache and fallbacks

def test_live_success_writes_the_cache_atomically(fake, tmp_path, monkeypatch):
    cache = tmp_path / "sub" / "market.json"
    calls = []
    real = market_cache.atomic_write_text
    monkeypatch.setattr(market_cache, "atomic_write_text", lambda p, text: (calls.append(Path(p)), real(p, text)))
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=NOW)
    assert (snap.source, warnings) == ("live", [])
    assert calls == [cache]
    doc = json.loads(cache.read_text(encoding="utf-8"))
    assert doc["fetched_at"] == "2025-11-25T17:30:00Z" and doc["source_url"] == fake.url
    assert doc["btc_price_usd"] == PRICE and doc["block_height"] == HEIGHT
    assert sorted(os.listdir(cache.parent)) == ["market.json"]  # no temp file left behind


def test_a_failed_cache_write_keeps_the_old_cache(fake, tmp_path, monkeypatch):
    cache = tmp_path / "market.json"
    update_market(fake.url, cache, timeout_s=5, now=NOW)
    before = cache.read_bytes()

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    fake.set(P_PRICES, '{"USD": 95000}')
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=NOW + timedelta(hours=1))
    assert snap.source == "live" and snap.btc_price_usd == 95000
    assert warnings == [f"could not save the market cache {cache}: No space left on device"]
    assert cache.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["market.json"]


def test_cache_dir_that_is_a_file_is_a_warning(fake, tmp_path):
    (tmp_path / "blocker").write_text("x")
    snap, warnings = update_market(fake.url, tmp_path / "blocker" / "market.json", timeout_s=5, now=NOW)
    assert snap.source == "live" and warnings[0].startswith("could not save the market cache")


def test_fallback_to_the_cache_with_age(fake, tmp_path):
    cache = tmp_path / "market.json"
    live, _ = update_market(fake.url, cache, timeout_s=5, now=NOW)
    fake.set(P_PRICES, "boom", status=500)
    later = NOW + timedelta(hours=3, minutes=12)
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=later)
    assert snap.source == "cache"
    assert snap.age_s == 3 * 3600 + 12 * 60
    assert snap.describe() == f"cache from {fake.url} at 2025-11-25 17:30 UTC, 3 h 12 min old"
    assert (snap.btc_price_usd, snap.difficulty, snap.block_height) == (live.btc_price_usd, live.difficulty, HEIGHT)
    assert snap.network_hashrate_ehs == live.network_hashrate_ehs
    assert snap.fees_btc_per_block == live.fees_btc_per_block
    assert snap.next_retarget_at == RETARGET_AT
    assert warnings == [
        f"live market data unavailable: {fake.host} answered HTTP 500 Internal Server Error for GET {P_PRICES}",
        f"using the cache from {fake.url} at 2025-11-25 17:30 UTC, 3 h 12 min old",
    ]


def test_the_cache_is_reused_when_offline(fake, tmp_path, closed_port):
    cache = tmp_path / "market.json"
    update_market(fake.url, cache, timeout_s=5, now=NOW)
    for days in (1, 2):
        snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5,
                                       now=NOW + timedelta(days=days))
        assert snap.source == "cache" and snap.source_url == fake.url and snap.btc_price_usd == PRICE
        assert snap.age_s == days * 86400
        assert "offline?" in warnings[0]


def test_no_cache_falls_back_to_the_snapshot(tmp_path, closed_port):
    now = datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", tmp_path / "market.json", timeout_s=5, now=now)
    assert snap.source == "snapshot" and snap.age_s == 365 * 86400
    assert snap.describe() == "shipped snapshot of 2025-11-25, 365 days old"
    assert warnings == [
        f"live market data unavailable: cannot reach 127.0.0.1:{closed_port} (connection refused) "
        f"for GET {P_PRICES}; offline?",
        f"no market cache at {tmp_path / 'market.json'} yet",
        "using the shipped snapshot of 2025-11-25, 365 days old",
    ]


def _good_cache_doc() -> dict:
    return {"format": "minerplan-market-data", "version": 1, "fetched_at": "2025-12-01T12:00:00Z",
            "source_url": "https://mempool.space", "btc_price_usd": 90000, "difficulty": 1.5e14,
            "network_hashrate_ehs": 1050.0, "block_height": 926000, "fees_btc_per_block": 0.02}


CORRUPT = {
    "garbage": b"\x00\x01not json at all",
    "empty": b"",
    "truncated": json.dumps(_good_cache_doc()).encode()[:40],
    "not an object": b"[1, 2, 3]",
    "nan price": json.dumps(_good_cache_doc() | {"btc_price_usd": float("nan")}).encode(),
    "string price": json.dumps(_good_cache_doc() | {"btc_price_usd": "90000"}).encode(),
    "bool height": json.dumps(_good_cache_doc() | {"block_height": True}).encode(),
    "missing difficulty": json.dumps({k: v for k, v in _good_cache_doc().items() if k != "difficulty"}).encode(),
    "bad time": json.dumps(_good_cache_doc() | {"fetched_at": "yesterday"}).encode(),
    "wrong format": json.dumps(_good_cache_doc() | {"format": "something else"}).encode(),
    "future version": json.dumps(_good_cache_doc() | {"version": 2}).encode(),
    "fees out of range": json.dumps(_good_cache_doc() | {"fees_btc_per_block": 50}).encode(),
    "utf-16": json.dumps(_good_cache_doc()).encode("utf-16"),
    "deep": b"[" * 100_000,
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_a_corrupt_cache_is_skipped_with_a_warning(tmp_path, closed_port, name):
    cache = tmp_path / "market.json"
    cache.write_bytes(CORRUPT[name])
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5, now=NOW)
    assert snap.source == "snapshot"
    assert warnings[1].startswith(f"ignored the market cache: {cache}: "), warnings
    assert all("\n" not in w and "\x00" not in w for w in warnings)
    assert warnings[-1].startswith("using the shipped snapshot of 2025-11-25")


def test_a_cache_that_is_a_directory_is_skipped(tmp_path, closed_port):
    cache = tmp_path / "market.json"
    cache.mkdir()
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5, now=NOW)
    assert snap.source == "snapshot"
    assert warnings[1] == f"ignored the market cache: {cache}: is a directory, not a file"


def test_an_oversized_cache_is_skipped(tmp_path, closed_port):
    cache = tmp_path / "market.json"
    cache.write_bytes(b" " * (MAX_RESPONSE_BYTES + 1))
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5, now=NOW)
    assert snap.source == "snapshot" and "the limit is 2,000,000" in warnings[1]


def test_a_cache_older_than_the_snapshot_loses(tmp_path, closed_port):
    cache = tmp_path / "market.json"
    cache.write_text(json.dumps(_good_cache_doc() | {"fetched_at": "2025-06-01T00:00:00Z"}))
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5, now=NOW)
    assert snap.source == "snapshot"
    assert any("is older than the shipped snapshot" in w for w in warnings)


def test_a_hand_written_cache_is_used(tmp_path, closed_port):
    cache = tmp_path / "market.json"
    cache.write_text(json.dumps(_good_cache_doc()))
    snap, _ = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5,
                            now=datetime(2025, 12, 1, 13, 0, tzinfo=timezone.utc))
    assert (snap.source, snap.btc_price_usd, snap.block_height, snap.age_s) == ("cache", 90000.0, 926000, 3600.0)
    assert snap.next_retarget_change_pct is None


def test_nothing_readable_raises(tmp_path, closed_port):
    e = _err(update_market, f"http://127.0.0.1:{closed_port}", tmp_path / "market.json", timeout_s=5, now=NOW,
             snapshot_path=tmp_path / "missing.json")
    assert e.kind == "unavailable"
    assert "connection refused" in str(e) and "no market cache" in str(e) and "missing.json: file not found" in str(e)


def test_default_cache_path(monkeypatch, tmp_path):
    monkeypatch.setenv("MINERPLAN_CACHE_DIR", str(tmp_path / "own"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert market_cache.default_cache_path() == tmp_path / "own" / "market.json"
    monkeypatch.delenv("MINERPLAN_CACHE_DIR")
    assert market_cache.default_cache_path() == tmp_path / "xdg" / "minerplan" / "market.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert market_cache.default_cache_path() == tmp_path / "home" / ".cache" / "minerplan" / "market.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert market_cache.default_cache_path() == tmp_path / "home" / ".cache" / "minerplan" / "market.json"


def test_update_market_uses_the_default_cache_path(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("MINERPLAN_CACHE_DIR", str(tmp_path / "c"))
    update_market(fake.url, timeout_s=5, now=NOW)
    assert read_market_file(tmp_path / "c" / "market.json", now=NOW).btc_price_usd == PRICE


# --------------------------------------------------------------------------- the shipped snapshot

def test_shipped_snapshot_values_and_sources():
    doc = json.loads(market_cache.SNAPSHOT_PATH.read_text(encoding="utf-8"))
    assert "docs/sources.md" in doc["source"] and "shared/" not in json.dumps(doc)
    snap = market_cache.load_shipped_snapshot(now=datetime(2025, 11, 25, tzinfo=timezone.utc))
    assert snap.source == "snapshot" and snap.age_s == 0 and snap.fetched_at == "2025-11-25T00:00:00Z"
    # 149.30T after the 26 Nov 2025 adjustment (Luxor: -1.95% from ~152.27T)
    assert snap.btc_price_usd == 91000 and snap.difficulty == pytest.approx(152.27e12 * (1 - 0.0195), rel=1e-3)
    assert snap.fees_btc_per_block == 0.02
    # online hashrate below what difficulty implies (D x 2^32 / 600 = 1,069 EH/s)
    assert snap.network_hashrate_ehs < snap.difficulty * 2**32 / 600 / 1e18
    default = json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"))["market"]
    assert snap.block_height == default["block_height"] and snap.difficulty == default["difficulty"]
    assert snap.network_hashrate_ehs == default["network_hashrate_ehs"]
    assert snap.next_retarget_blocks == 2016 - snap.block_height % 2016
    assert set(doc["sources"]) >= {"btc_price_usd", "difficulty", "network_hashrate_ehs", "block_height",
                                   "fees_btc_per_block"}
    assert 35 < snap.hashprice_usd_per_ph_day < 40  # Luxor: ~$35-40 per PH/s per day in late Nov 2025


# --------------------------------------------------------------------------- describe

@pytest.mark.parametrize("seconds,text", [(0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"),
                                          (3600, "1 h"), (11520, "3 h 12 min"), (86400, "1 day"),
                                          (86400 + 4 * 3600, "1 day 4 h"), (2 * 86400 + 7200, "2 days 2 h"),
                                          (3 * 86400 + 7200, "3 days"), (365 * 86400, "365 days"), (-5, "0 s")])
def test_format_age(seconds, text):
    assert format_age(seconds) == text


def test_snapshot_is_frozen():
    snap = market_cache.load_shipped_snapshot(now=NOW)
    with pytest.raises(AttributeError):
        snap.btc_price_usd = 1.0  # type: ignore[misc]
    assert isinstance(snap, MarketSnapshot)


# --------------------------------------------------------------------------- run_fetch_market (the CLI command)

def test_run_fetch_market_text(fake, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    rc = run_fetch_market(fake.url, tmp_path / "m.json", 5, False, out=out, err=err, now=NOW)
    assert rc == 0 and err.getvalue() == ""
    text = out.getvalue()
    hashprice = 144 * (3.125 + FEES) / (HASHRATE_HS / 1e15) * PRICE
    for expected in ["BTC price         91,234 USD", "Difficulty        152.27 T", "Network hashrate  1,074.3 EH/s",
                     "Block height      925,112", f"Fees              {FEES:.4f} BTC/block",
                     f"Hashprice         {hashprice:,.2f} USD/PH/day", "Next retarget     -1.95 % in 232 blocks",
                     f"Source            live from {fake.url} at 2025-11-25 17:30 UTC"]:
        assert expected in text, text


def test_run_fetch_market_json(fake, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert run_fetch_market(fake.url, tmp_path / "m.json", 5, True, out=out, err=err, now=NOW) == 0
    doc = json.loads(out.getvalue())
    assert out.getvalue().count("\n") == 1
    assert doc["source"] == "live" and doc["warnings"] == [] and doc["block_height"] == HEIGHT
    assert doc["network_hashrate_ehs"] == pytest.approx(HASHRATE_EHS)
    assert doc["hashprice_usd_per_ph_day"] == pytest.approx(144 * (3.125 + FEES) / (HASHRATE_HS / 1e15) * PRICE)
    assert doc["market"] == {"btc_price_usd": PRICE, "difficulty": DIFFICULTY, "block_height": HEIGHT,
                             "fees_btc_per_block": pytest.approx(FEES)}
    assert doc["description"].startswith("live from ")


def test_run_fetch_market_fallback_exits_0_with_warnings(tmp_path, closed_port):
    out, err = io.StringIO(), io.StringIO()
    rc = run_fetch_market(f"http://127.0.0.1:{closed_port}", tmp_path / "m.json", 5, False, out=out, err=err,
                          now=datetime(2026, 11, 25, tzinfo=timezone.utc))
    assert rc == 0
    assert "Source            shipped snapshot of 2025-11-25, 365 days old" in out.getvalue()
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("minerplan: warning: live market data unavailable: cannot reach")
    assert lines[-1] == "minerplan: warning: using the shipped snapshot of 2025-11-25, 365 days old"

    out, err = io.StringIO(), io.StringIO()
    assert run_fetch_market(f"http://127.0.0.1:{closed_port}", tmp_path / "m.json", 5, True, out=out, err=err,
                            now=NOW) == 0
    doc = json.loads(out.getvalue())
    assert doc["source"] == "snapshot" and len(doc["warnings"]) == 3


def test_run_fetch_market_exits_2_without_any_data(tmp_path, closed_port):
    out, err = io.StringIO(), io.StringIO()
    rc = run_fetch_market(f"http://127.0.0.1:{closed_port}", tmp_path / "m.json", 5, False, out=out, err=err,
                          now=NOW, snapshot_path=tmp_path / "nope.json")
    assert rc == 2 and out.getvalue() == ""
    assert err.getvalue().startswith("minerplan: no market data: live: cannot reach")
    assert run_fetch_market("http://127.0.0.1:1", None, -1, False, out=out, err=err) == 2


def test_module_imports_no_qt_or_pyomo():
    import subprocess
    import sys

    code = ("import sys, minerplan.markets.live.update; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'pyomo', 'highspy', 'shiboken6')]; sys.exit(1 if bad else 0)")
    root = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_cli_fetch_market_writes_the_values_into_a_scenario(fake, tmp_path, capsys):
    """``minerplan fetch-market --into`` puts the live values in the market section; the rest stays."""
    from minerplan.cli.main import main
    from minerplan.scenario.files import load_scenario

    out = tmp_path / "now.json"
    rc = main(["fetch-market", "--api-url", fake.url, "--cache", str(tmp_path / "c.json"),
               "--into", "default", "--output", str(out)])
    assert rc == 0
    sc = load_scenario(out)
    snap = fetch_market(fake.url)
    assert sc.market.btc_price_usd == snap.btc_price_usd
    assert sc.market.difficulty == snap.difficulty and sc.market.block_height == snap.block_height
    assert sc.market.hashrate_growth_pct_per_month == load_scenario("default").market.hashrate_growth_pct_per_month
    assert "wrote these market values" in capsys.readouterr().out


def test_cli_fetch_market_refuses_to_overwrite_the_shipped_default(fake, capsys):
    from minerplan.cli.main import main

    assert main(["fetch-market", "--api-url", fake.url, "--into", "default"]) == 2
    assert "not overwritten" in capsys.readouterr().err
