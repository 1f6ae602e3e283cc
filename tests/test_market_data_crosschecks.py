"""Fetched market data is cross-checked before it is cached or written (issue 11, the fuzzing pass).

The reproductions: ``fetch-market`` accepted and cached a BTC price of $150, a hashrate 900x what the
difficulty implies, and fee statistics for blocks 800,000-800,143 while the tip was 925,112; with
``--into`` the $150 went into the scenario; a cache dated 2999 was used as "0 s old". Each is refused
now with a message naming the endpoint and field, and none of it reaches the cache or a scenario file
(checked byte for byte). Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from minerplan.markets.live.cache import load_shipped_snapshot, read_market_file
from minerplan.markets.live.errors import MarketDataError
from minerplan.markets.live.mempool import fetch_market, implied_hashrate_hs
from minerplan.markets.live.update import update_market
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH
from tests.test_market_data import (HEIGHT, NOW, P_HASHRATE, P_PRICES, P_REWARDS, PRICE, closed_port,  # noqa: F401
                                    fake, only_loopback)

# difficulty 1.5e14 implies 1.5e14 x 2^32 / 600 = 2^32 x 2.5e11 = 1.073741824e21 H/s exactly
DIFF = 1.5e14
IMPLIED_HS = 1.073741824e21


def _err(fn, *args, **kwargs) -> MarketDataError:
    with pytest.raises(MarketDataError) as ei:
        fn(*args, **kwargs)
    return ei.value


def _cache_doc(fetched_at: str, price: float = 90_000.0) -> str:
    return json.dumps({"format": "minerplan-market-data", "version": 1, "fetched_at": fetched_at,
                       "source_url": "https://mempool.space", "btc_price_usd": price, "difficulty": DIFF,
                       "network_hashrate_ehs": 1050.0, "block_height": 925_100, "fees_btc_per_block": 0.02}) + "\n"


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the price's sanity band

def test_a_150_usd_price_is_refused(fake):
    fake.set(P_PRICES, '{"USD": 150}')
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == "/api/v1/prices: USD: 150 is outside the plausible range 1,000..10,000,000 USD"
    assert (e.endpoint, e.field, e.kind) == (P_PRICES, "USD", "invalid")


@pytest.mark.parametrize("price,ok", [(999.99, False), (1000, True), (10_000_000, True), (10_000_001, False)])
def test_the_band_edges(fake, price, ok):
    fake.set(P_PRICES, json.dumps({"USD": price}))
    if ok:
        assert fetch_market(fake.url, timeout_s=5, now=NOW).btc_price_usd == price
    else:
        assert "outside the plausible range 1,000..10,000,000 USD" in str(_err(fetch_market, fake.url, timeout_s=5))


# --------------------------------------------------------------------------- hashrate against difficulty

def _hashrate_doc(hashrate_hs: float, difficulty: float = DIFF) -> str:
    return json.dumps({"currentHashrate": hashrate_hs, "currentDifficulty": difficulty})


def test_a_hashrate_900x_what_difficulty_implies_is_refused(fake):
    fake.set(P_HASHRATE, _hashrate_doc(900 * IMPLIED_HS))          # 9.664e23 H/s: inside 1e15..1e24 on its own
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == ("/api/v1/mining/hashrate/3d: currentHashrate: 9.664e+23 H/s is 900x the 1.074e+21 H/s that "
                      "currentDifficulty 1.5e+14 implies (difficulty x 2^32 / 600 s); expected 0.5x..2x")
    assert (e.endpoint, e.field) == (P_HASHRATE, "currentHashrate")


@pytest.mark.parametrize("ratio,ok", [(0.49, False), (0.5, True), (1.0, True), (2.0, True), (2.01, False)])
def test_hashrate_band_edges(fake, ratio, ok):
    fake.set(P_HASHRATE, _hashrate_doc(ratio * IMPLIED_HS))
    if ok:
        snap = fetch_market(fake.url, timeout_s=5, now=NOW)
        assert snap.network_hashrate_hs == pytest.approx(ratio * IMPLIED_HS, rel=1e-15)
    else:
        assert f"is {ratio:g}x the 1.074e+21 H/s" in str(_err(fetch_market, fake.url, timeout_s=5, now=NOW))


def test_the_implied_hashrate_by_hand():
    assert implied_hashrate_hs(DIFF) == IMPLIED_HS
    # the recorded answer (tests/data/mempool): 1.0743e21 H/s against 152.27T x 2^32 / 600 = 1.0900e21: 0.986x
    assert 0.98 < 1.0743281903456789e21 / implied_hashrate_hs(152271405447597.44) < 0.99


# --------------------------------------------------------------------------- fee statistics against the tip

def _rewards_doc(start: int, end: int, total_fee_sats: int = 291937584) -> str:
    return json.dumps({"startBlock": start, "endBlock": end, "totalFee": str(total_fee_sats)})


def test_reward_statistics_of_old_blocks_are_refused(fake):
    fake.set(P_REWARDS, _rewards_doc(800_000, 800_143))             # 144 blocks, 124,969 below the tip 925,112
    e = _err(fetch_market, fake.url, timeout_s=5, now=NOW)
    assert str(e) == ("/api/v1/mining/reward-stats/144: endBlock: blocks 800,000..800,143 end 124,969 blocks before "
                      "the tip 925,112 (/api/blocks/tip/height); expected the last blocks, ending within 6 of the tip")
    assert (e.endpoint, e.field) == (P_REWARDS, "endBlock")


@pytest.mark.parametrize("end,ok", [(HEIGHT - 7, False), (HEIGHT - 6, True), (HEIGHT, True), (HEIGHT + 1, True),
                                    (HEIGHT + 6, True), (HEIGHT + 7, False)])
def test_reward_statistics_tip_edges(fake, end, ok):
    fake.set(P_REWARDS, _rewards_doc(end - 143, end))
    if ok:
        assert fetch_market(fake.url, timeout_s=5, now=NOW).fees_btc_per_block == pytest.approx(291937584 / 144 / 1e8)
    else:
        side = "before" if end < HEIGHT else "after"
        assert f"end 7 blocks {side} the tip 925,112" in str(_err(fetch_market, fake.url, timeout_s=5, now=NOW))


# --------------------------------------------------------------------------- the price against the previous snapshot

def test_a_price_3_33x_the_cache_of_this_morning_is_refused_and_not_cached(fake, tmp_path):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc("2025-11-25T12:00:00Z", 90_000))
    before = cache.read_bytes()
    fake.set(P_PRICES, '{"USD": 300000}')                              # 300,000 / 90,000 = 3.33x in 5.5 h
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=NOW)
    assert snap.source == "cache" and snap.btc_price_usd == 90_000
    assert warnings[0] == ("live market data unavailable: /api/v1/prices: USD: 300,000 USD at 2025-11-25 17:30 UTC "
                           "is 3.33x the 90,000 USD of the market cache from 2025-11-25 12:00 UTC; a move beyond 3x "
                           "either way within 30 days is refused as a broken answer")
    assert cache.read_bytes() == before


def test_a_fall_to_a_fifth_of_the_shipped_snapshot_is_refused(fake, tmp_path):
    cache = tmp_path / "market.json"
    fake.set(P_PRICES, '{"USD": 18200}')                                # 18,200 / 91,000 = 0.2x, 17.5 h later
    e = _err(update_market, fake.url, cache, timeout_s=5, now=NOW, on_refused="raise")
    assert str(e) == ("refused the live market data: /api/v1/prices: USD: 18,200 USD at 2025-11-25 17:30 UTC is 0.2x "
                      "the 91,000 USD of the shipped snapshot from 2025-11-25 00:00 UTC; a move beyond 3x either way "
                      "within 30 days is refused as a broken answer")
    assert (e.endpoint, e.field, e.kind) == (P_PRICES, "USD", "invalid")
    assert not cache.exists()


@pytest.mark.parametrize("price,ok", [(270_000, True), (270_001, False), (30_000, True), (29_999, False)])
def test_the_move_band_edges(fake, tmp_path, price, ok):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc("2025-11-25T12:00:00Z", 90_000))       # 3x = 270,000; 1/3 = 30,000
    fake.set(P_PRICES, json.dumps({"USD": price}))
    snap, _ = update_market(fake.url, cache, timeout_s=5, now=NOW)
    assert (snap.source == "live") is ok
    assert read_market_file(cache, now=NOW).btc_price_usd == (price if ok else 90_000)


def test_a_snapshot_30_days_old_no_longer_refuses_a_move(fake, tmp_path):
    cache = tmp_path / "market.json"
    fake.set(P_PRICES, '{"USD": 300000}')
    for days, source in ((29, "cache"), (30, "live")):
        cache.write_text(_cache_doc("2025-11-25T12:00:00Z", 90_000))
        snap, _ = update_market(fake.url, cache, timeout_s=5,
                                now=datetime(2025, 11, 25, 12, tzinfo=timezone.utc) + timedelta(days=days))
        assert snap.source == source, days


def test_an_ordinary_move_is_taken_and_cached(fake, tmp_path):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc("2025-11-25T12:00:00Z", 90_000))
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=NOW)
    assert (snap.source, snap.btc_price_usd, warnings) == ("live", PRICE, [])
    assert read_market_file(cache, now=NOW).btc_price_usd == PRICE


# --------------------------------------------------------------------------- dates in the future

def test_a_cache_dated_2999_is_ignored_not_0_s_old(tmp_path, closed_port):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc("2999-01-01T00:00:00Z", 95_000))
    before = cache.read_bytes()
    snap, warnings = update_market(f"http://127.0.0.1:{closed_port}", cache, timeout_s=5, now=NOW)
    assert snap.source == "snapshot" and snap.btc_price_usd == 91_000
    assert warnings[1:] == [
        f"ignored the market cache: {cache}: fetched_at: 2999-01-01T00:00:00Z is later than now "
        "(2025-11-25T17:30:00Z by this computer's clock); refused (is the clock wrong?)",
        "using the shipped snapshot of 2025-11-25, 17 h 30 min old",
    ]
    assert not any("0 s old" in w for w in warnings)
    assert cache.read_bytes() == before
    e = _err(read_market_file, cache, now=NOW)
    assert (e.field, e.kind) == ("fetched_at", "invalid")


def test_a_future_cache_is_replaced_by_live_data_and_not_compared_with(fake, tmp_path):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc("2999-01-01T00:00:00Z", 10_000))    # 91,234 would be 9x this: not a reference
    snap, warnings = update_market(fake.url, cache, timeout_s=5, now=NOW)
    assert (snap.source, warnings) == ("live", [])
    assert json.loads(cache.read_text())["fetched_at"] == "2025-11-25T17:30:00Z"


@pytest.mark.parametrize("ahead_min,ok", [(5, True), (10, True), (11, False)])
def test_clock_skew_allowance(tmp_path, ahead_min, ok):
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc(_iso(NOW + timedelta(minutes=ahead_min))))
    if ok:
        snap = read_market_file(cache, now=NOW)
        assert snap.age_s == 0 and snap.describe().endswith("0 s old")
    else:
        assert "is later than now" in str(_err(read_market_file, cache, now=NOW))


def test_a_shipped_snapshot_after_the_clock_is_refused_too(tmp_path, closed_port):
    clock = datetime(2024, 6, 1, tzinfo=timezone.utc)                   # this computer's clock is wrong
    e = _err(load_shipped_snapshot, now=clock)
    assert str(e).endswith("fetched_at: 2025-11-25T00:00:00Z is later than now (2024-06-01T00:00:00Z by this "
                           "computer's clock); refused (is the clock wrong?)")
    e = _err(update_market, f"http://127.0.0.1:{closed_port}", tmp_path / "market.json", timeout_s=5, now=clock)
    assert e.kind == "unavailable" and "is later than now" in str(e)


# --------------------------------------------------------------------------- the CLI: nothing refused is written

def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    from minerplan.cli.main import main

    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture
def files(tmp_path):
    """A scenario to write into and a cache an hour old by the real clock (the CLI has no ``now``)."""
    scenario = tmp_path / "mine.json"
    scenario.write_text(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    cache = tmp_path / "market.json"
    cache.write_text(_cache_doc(_iso(datetime.now(timezone.utc) - timedelta(hours=1)), 90_000))
    return scenario, cache, scenario.read_bytes(), cache.read_bytes()


REFUSED = {
    "price 150": (P_PRICES, '{"USD": 150}', "/api/v1/prices: USD: 150 is outside the plausible range"),
    "hashrate 900x": (P_HASHRATE, _hashrate_doc(900 * IMPLIED_HS), "currentHashrate: 9.664e+23 H/s is 900x"),
    "old blocks": (P_REWARDS, _rewards_doc(800_000, 800_143), "endBlock: blocks 800,000..800,143 end 124,969"),
    "price 3.33x the cache": (P_PRICES, '{"USD": 300000}', "is 3.33x the 90,000 USD of the market cache from"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_cli_into_writes_nothing_refused(fake, files, capsys, name, tmp_path):
    scenario, cache, scenario_bytes, cache_bytes = files
    path, body, message = REFUSED[name]
    fake.set(path, body)
    rc, out, err = _cli(["fetch-market", "--api-url", fake.url, "--cache", str(cache), "--into", str(scenario)], capsys)
    assert rc == 2 and out == ""
    assert err.startswith("minerplan: refused the live market data: ") and message in err, err
    assert scenario.read_bytes() == scenario_bytes and cache.read_bytes() == cache_bytes
    # with --output, no file appears either
    rc, _, _ = _cli(["fetch-market", "--api-url", fake.url, "--cache", str(cache), "--into", str(scenario),
                     "--output", str(tmp_path / "out.json")], capsys)
    assert rc == 2 and not (tmp_path / "out.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["market.json", "mine.json"]


@pytest.mark.parametrize("name", list(REFUSED))
def test_cli_without_into_falls_back_and_keeps_the_cache(fake, files, capsys, name):
    scenario, cache, _, cache_bytes = files
    path, body, message = REFUSED[name]
    fake.set(path, body)
    rc, out, err = _cli(["fetch-market", "--api-url", fake.url, "--cache", str(cache)], capsys)
    assert rc == 0
    assert err.startswith("minerplan: warning: live market data unavailable: ") and message in err, err
    assert "BTC price         90,000 USD" in out and "Source            cache from https://mempool.space" in out
    assert cache.read_bytes() == cache_bytes


def test_cli_into_with_good_data_still_writes(fake, files, capsys):
    scenario, cache, scenario_bytes, _ = files
    rc, out, err = _cli(["fetch-market", "--api-url", fake.url, "--cache", str(cache), "--into", str(scenario)], capsys)
    assert rc == 0 and err == "" and "wrote these market values" in out
    assert json.loads(scenario.read_text())["market"]["btc_price_usd"] == PRICE
    assert json.loads(cache.read_text())["btc_price_usd"] == PRICE


def test_cli_offline_into_still_writes_the_fallback(files, capsys, closed_port):
    # Offline is no refusal: --into writes the cache's values, with the warnings, as before.
    scenario, cache, _, cache_bytes = files
    rc, out, err = _cli(["fetch-market", "--api-url", f"http://127.0.0.1:{closed_port}", "--cache", str(cache),
                         "--into", str(scenario)], capsys)
    assert rc == 0 and "offline?" in err
    assert json.loads(scenario.read_text())["market"]["btc_price_usd"] == 90_000
    assert cache.read_bytes() == cache_bytes


def test_cli_a_cache_dated_2999_is_not_shown_as_0_s_old(files, capsys, closed_port):
    scenario, cache, _, _ = files
    cache.write_text(_cache_doc("2999-01-01T00:00:00Z", 95_000))
    rc, out, err = _cli(["fetch-market", "--api-url", f"http://127.0.0.1:{closed_port}", "--cache", str(cache)],
                        capsys)
    assert rc == 0 and "0 s old" not in out + err
    assert "fetched_at: 2999-01-01T00:00:00Z is later than now" in err
    assert "Source            shipped snapshot of 2025-11-25" in out
