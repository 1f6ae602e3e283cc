"""Market view, "Update market data": mempool.space (a local fake), the cache and the shipped snapshot in the app.

No test reaches the internet: the URL is the FakeMempool of tests/test_market_data.py on 127.0.0.1 (or a
closed port there), its autouse loopback guard fails any other connection, and the market cache lives in a
temporary folder (MINERPLAN_CACHE_DIR), never in ~/.cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from minerplan.markets.live import update as md
from tests.gate import Gate, deliver_posted_events
from tests.test_market_data import (DIFFICULTY, FEES, HEIGHT, P_PRICES, PRICE, closed_port,  # noqa: F401 - fixtures
                                    fake, only_loopback)
from ui import market_update
from ui.kit.jobs import live_jobs
from ui.kit.settings import MARKET_API_URL
from ui.document import ScenarioDocument
from ui.evaluation import Evaluation

SNAPSHOT_PRICE = 91_000.0          # assets/market_snapshot.json
DEFAULT_PRICE = 91_500.0           # assets/default_scenario.json
REAL_API_URL = market_update.api_url


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A private cache folder; a URL no test forgets to set (a refused port: the loopback guard stays happy)."""
    monkeypatch.setenv("MINERPLAN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(market_update, "TIMEOUT_S", 5.0)
    monkeypatch.setattr(market_update, "SNAPSHOT_PATH", None)
    monkeypatch.setattr(market_update, "api_url", lambda widget=None: "http://127.0.0.1:9")
    return tmp_path / "cache" / "market.json"


@pytest.fixture
def market(qtbot):
    from ui.views.market.view import MarketView

    doc = ScenarioDocument.open("default")
    ev = Evaluation(doc)
    ev.mc.paths = 1
    ev.refresh()
    view = MarketView(doc, ev)
    qtbot.addWidget(view)
    yield view, doc, ev
    view.shutdown()
    for box in view.findChildren(QMessageBox):
        box.close()
    ev.wait_idle()
    doc.undo_stack.setClean()       # as tests/test_ui_market.py: a dirty document trips a Qt-side lambda


def use_url(monkeypatch, url: str) -> None:
    monkeypatch.setattr(market_update, "api_url", lambda widget=None: url)


def click_update(qtbot, view, timeout: int = 15_000):
    """Click the button as a person does and wait (with the event loop running) until the fetch has ended."""
    qtbot.mouseClick(view.update_market_btn, Qt.MouseButton.LeftButton)
    job = view.market_job
    assert job is not None
    qtbot.waitUntil(lambda: not job.running and view.update_market_btn.isEnabled(), timeout=timeout)
    return job


def market_of(doc) -> dict:
    mk = doc.scenario.market
    return {"btc_price_usd": mk.btc_price_usd, "difficulty": mk.difficulty, "block_height": mk.block_height,
            "fees_btc_per_block": mk.fees_btc_per_block}


# --------------------------------------------------------------------------- live

def test_live_update_is_one_undoable_edit(market, qtbot, fake, isolated, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    before = doc.scenario.market
    job = click_update(qtbot, view)
    assert job.state == "done" and job.snapshot.source == "live"
    mk = doc.scenario.market
    assert (mk.btc_price_usd, mk.difficulty, mk.block_height) == (PRICE, DIFFICULTY, HEIGHT)
    assert mk.fees_btc_per_block == pytest.approx(FEES, rel=1e-15)
    assert mk.hashrate_growth_pct_per_month == before.hashrate_growth_pct_per_month     # assumptions stay
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == "Update market data (live)"
    assert ev.result.btc_price_usd[0][0] == PRICE                                        # the engine follows
    assert view.fields["market.btc_price_usd"].text() == "91,234"
    assert view.fields["market.block_height"].text() == "925,112"
    text = view.market_label.text()
    assert f"live from {fake.url} at " in text and "BTC 91,234 USD" in text and "Warning" not in text
    assert "Hashprice" in view.market_label.toolTip()
    assert isolated.is_file()                                                            # cached, in tmp
    assert [p for p, _ in fake.requests][0] == P_PRICES
    doc.undo_stack.undo()
    assert doc.scenario.market == before
    assert view.fields["market.btc_price_usd"].text() == "91,500"


def test_same_values_show_the_source_and_make_no_edit(market, qtbot, fake, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    click_update(qtbot, view)
    assert doc.undo_stack.count() == 1
    click_update(qtbot, view)
    assert doc.undo_stack.count() == 1                         # nothing new to undo
    text = view.market_label.text()
    assert f"live from {fake.url}" in text and "nothing changed" in text


def test_an_api_url_from_the_settings(market, qtbot, fake, tmp_path, monkeypatch):
    view, doc, ev = market
    monkeypatch.setattr(market_update, "api_url", REAL_API_URL)     # reads QSettings
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    view.settings = settings                                   # a top-level view is its own window()
    assert market_update.api_url(view) == "https://mempool.space"
    settings.setValue(MARKET_API_URL.key, ["not", "a", "url"])
    assert market_update.api_url(view) == "https://mempool.space"
    settings.setValue(MARKET_API_URL.key, f"  {fake.url}/ ")
    assert market_update.api_url(view) == f"{fake.url}/"
    click_update(qtbot, view)
    assert doc.scenario.market.btc_price_usd == PRICE and doc.undo_stack.text(0) == "Update market data (live)"
    assert md.default_cache_path() == tmp_path / "cache" / "market.json"


def test_the_host_in_messages():
    assert market_update.host_of("https://mempool.space") == "mempool.space"
    assert market_update.host_of("http://user:secret@127.0.0.1:8999/api") == "127.0.0.1:8999"
    assert market_update.host_of("http://[::1]:80") == "[::1]:80"


# --------------------------------------------------------------------------- offline: cache, then snapshot

def test_offline_falls_back_to_the_cache(market, qtbot, fake, closed_port, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    click_update(qtbot, view)                                  # fills the cache
    doc.undo_stack.undo()
    assert doc.scenario.market.btc_price_usd == DEFAULT_PRICE
    use_url(monkeypatch, f"http://127.0.0.1:{closed_port}")
    job = click_update(qtbot, view)
    assert job.snapshot.source == "cache"
    assert market_of(doc)["btc_price_usd"] == PRICE and doc.scenario.market.block_height == HEIGHT
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == "Update market data (cache)"
    text = view.market_label.text()
    assert f"Source: cache from {fake.url} at " in text
    assert f"Warning: live market data unavailable: cannot reach 127.0.0.1:{closed_port} (connection refused)" \
           in text and "offline?" in text
    assert "live market data unavailable" in view.market_label.toolTip()
    doc.undo_stack.undo()
    assert doc.scenario.market.btc_price_usd == DEFAULT_PRICE


def test_offline_without_a_cache_uses_the_shipped_snapshot(market, qtbot, closed_port, monkeypatch, isolated):
    view, doc, ev = market
    use_url(monkeypatch, f"http://127.0.0.1:{closed_port}")
    job = click_update(qtbot, view)
    assert job.snapshot.source == "snapshot"
    assert doc.scenario.market.btc_price_usd == SNAPSHOT_PRICE
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == "Update market data (snapshot)"
    text = view.market_label.text()
    assert "Source: shipped snapshot of 2025-11-25, " in text
    assert "offline?" in text and f"Warning: no market cache at {isolated} yet" in text
    assert not isolated.exists()                               # nothing written anywhere on a fallback


def test_an_invalid_response_shows_the_fallback(market, qtbot, fake, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    fake.set(P_PRICES, '{"USD": "abc"}')
    job = click_update(qtbot, view)
    assert job.state == "done" and job.snapshot.source == "snapshot"
    text = view.market_label.text()
    assert "Warning: live market data unavailable: /api/v1/prices: USD: expected a number, got 'abc'" in text
    assert "Source: shipped snapshot of 2025-11-25" in text
    assert doc.undo_stack.text(0) == "Update market data (snapshot)"
    assert not view.findChildren(QMessageBox)                 # a fallback is no error


# --------------------------------------------------------------------------- the GUI thread never waits

def test_the_gui_stays_responsive_during_a_slow_fetch(market, qtbot, fake, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    monkeypatch.setattr(market_update, "TIMEOUT_S", 60.0)       # the held answer below must not time out
    # The fake holds its answer to the first request until the test opens the gate: the fetch is slow for
    # as long as the checks below take, however fast this machine is.
    gate = Gate()
    fake.set(P_PRICES, (Path(__file__).parent / "data" / "mempool" / "prices.json").read_bytes(), hold=gate)
    with gate.ticking(20) as ticks:   # one per timer tick: was the fetch held then?
        qtbot.mouseClick(view.update_market_btn, Qt.MouseButton.LeftButton)
        assert not gate.passed.is_set()                        # the click returned before the fetch could end
        job = view.market_job
        assert job.running and not view.update_market_btn.isEnabled()
        assert view.market_label.text() == f"Fetching from 127.0.0.1:{fake.port}\u2026"
        assert view.update_market_data() is None               # one at a time
        qtbot.waitUntil(gate.reached.is_set, timeout=15_000)   # the worker waits for the answer now
        # a person keeps working meanwhile: the edit is taken and survives the update
        assert view.fields["market.hashrate_growth_pct_per_month"].set_value_text("2")
        qtbot.waitUntil(lambda: ticks.count(True) >= 5, timeout=15_000)   # the event loop kept turning
        assert gate.holding and job.running and not view.update_market_btn.isEnabled()
    qtbot.waitUntil(lambda: view.update_market_btn.isEnabled(), timeout=15_000)
    assert job.state == "done" and doc.scenario.market.btc_price_usd == PRICE and not gate.timed_out
    assert doc.scenario.market.hashrate_growth_pct_per_month == 2.0
    assert [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())] == [
        "Edit market.hashrate_growth_pct_per_month", "Update market data (live)"]


def _probe(job) -> list:
    """Everything the job sends from now on (plain callables: they outlive any widget)."""
    got: list = []
    job.finished.connect(lambda snap, warnings: got.append("finished"))
    job.failed.connect(lambda message: got.append("failed"))
    job.done.connect(lambda: got.append("done"))
    return got


def _held_fetch(qtbot, fake, monkeypatch, start) -> tuple[Gate, object]:
    """A fetch provably in flight: the fake holds its first answer until the test opens the gate."""
    monkeypatch.setattr(market_update, "TIMEOUT_S", 60.0)       # only the gate may end the held request
    gate = Gate()
    fake.set(P_PRICES, (Path(__file__).parent / "data" / "mempool" / "prices.json").read_bytes(), hold=gate)
    job = start()
    qtbot.waitUntil(gate.reached.is_set, timeout=15_000)       # the worker waits for the answer now
    return gate, job


# The fake holds the answer until the test opens the gate (at most HOLD_S = 30 s): a shutdown that waited for
# the fetch would return only when the gate gives up, so "the gate still holds after shutdown returned" shows
# it did not wait, on any machine. The time bound is a generous second witness (issue 11: 45 s).
SHUTDOWN_BOUND_S = 10.0


def test_closing_the_view_during_a_fetch_returns_at_once_and_drops_the_result(market, qtbot, fake, monkeypatch):
    view, doc, ev = market
    use_url(monkeypatch, fake.url)
    gate, job = _held_fetch(qtbot, fake, monkeypatch, view.update_market_data)
    got = _probe(job)
    try:
        t0 = time.monotonic()
        view.shutdown()                                        # MarketView passes ms=60_000: never used
        elapsed = time.monotonic() - t0
        assert gate.holding and job.thread_alive and job.running    # returned while the fetch is in flight
        assert elapsed < SHUTDOWN_BOUND_S
    finally:
        gate.open()
    qtbot.waitUntil(lambda: not job.thread_alive, timeout=15_000)
    deliver_posted_events()                                    # what the thread sent before it ended
    assert job.state == "done" and job.snapshot.source == "live"     # it finished on its own ...
    assert got == []                                           # ... and sent nothing to anyone
    assert doc.undo_stack.count() == 0 and doc.scenario.market.btc_price_usd == DEFAULT_PRICE
    qtbot.waitUntil(lambda: job not in live_jobs(), timeout=5_000)   # let go on the GUI thread


def test_closing_the_app_during_a_fetch_does_not_wait_and_nothing_reaches_the_deleted_window(
        qtbot, fake, monkeypatch, tmp_path):
    from shiboken6 import delete, isValid

    from ui import autosave, main_window as mw

    monkeypatch.setattr(autosave, "autosave_dir", lambda: tmp_path / "autosave")
    (tmp_path / "autosave").mkdir()
    use_url(monkeypatch, fake.url)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = mw.MainWindow("default", settings=settings, check_recovery=False)
    w.evaluation.mc.paths = 1
    view = w.ensure_view("Market")
    gate, job = _held_fetch(qtbot, fake, monkeypatch, view.update_market_data)
    got = _probe(job)
    try:
        t0 = time.monotonic()
        assert w.close()                                       # closeEvent: every view's shutdown, then accept
        elapsed = time.monotonic() - t0
        assert gate.holding and job.thread_alive               # the close did not wait for the fetch
        assert elapsed < SHUTDOWN_BOUND_S
        w.evaluation.wait_idle()
        delete(w)                                              # the window and its views are gone ...
        assert not isValid(view)
    finally:
        gate.open()                                            # ... before the answer arrives
    qtbot.waitUntil(lambda: not job.thread_alive, timeout=15_000)
    deliver_posted_events()
    qtbot.waitUntil(lambda: job not in live_jobs(), timeout=5_000)
    # a slot of the deleted view would have raised (pytest-qt fails the test on an exception in a slot)
    assert got == [] and job.state == "done"


def test_the_process_exits_at_once_with_a_fetch_in_flight(tmp_path):
    # Quitting the app while the worker waits on a server that never answers: the process ends cleanly and
    # promptly (a QThread still running at exit would abort it; waiting would take the 60 s deadline).
    script = textwrap.dedent("""
        import socket, sys
        from PySide6.QtWidgets import QApplication
        from ui import market_update

        app = QApplication([])
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(30)
        url = "http://127.0.0.1:%d" % server.getsockname()[1]
        job = market_update.MarketUpdateJob(url, sys.argv[1], timeout_s=60.0).start()
        conn, _ = server.accept()          # the request is on its way; no answer will ever come
        conn.recv(4096)
        job.shutdown()
        assert job.thread_alive
        app.quit()
        print("exiting", flush=True)
        sys.exit(0)
    """)
    cache = tmp_path / "market.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MINERPLAN_CACHE_DIR": str(tmp_path)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script, str(cache)], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "exiting\n" and "QThread" not in proc.stderr
    assert not cache.exists()
    assert elapsed < 45                                        # not the 60 s deadline of the request


# --------------------------------------------------------------------------- errors

def test_no_data_at_all_shows_a_message_and_changes_nothing(market, qtbot, closed_port, monkeypatch, tmp_path):
    view, doc, ev = market
    use_url(monkeypatch, f"http://127.0.0.1:{closed_port}")
    monkeypatch.setattr(market_update, "SNAPSHOT_PATH", tmp_path / "no-snapshot.json")
    before = doc.scenario
    job = click_update(qtbot, view)
    assert job.state == "failed"
    boxes = view.findChildren(QMessageBox)
    assert len(boxes) == 1
    box = boxes[0]
    assert box.isVisible() and box.windowModality() != Qt.WindowModality.ApplicationModal
    assert box.text().startswith("no market data: live: cannot reach 127.0.0.1") and "Traceback" not in box.text()
    assert "shipped snapshot:" in box.text() and "file not found" in box.text()
    assert view.market_label.text().startswith("Market data not updated: no market data:")
    assert doc.scenario is before and doc.undo_stack.count() == 0
    assert view.update_market_btn.isEnabled()


def test_an_unexpected_failure_shows_no_traceback(market, qtbot, monkeypatch):
    view, doc, ev = market

    def broken(*args, **kwargs):
        raise RuntimeError("something broke")

    monkeypatch.setattr(md, "update_market", broken)
    job = click_update(qtbot, view)
    assert job.state == "failed" and job.error == "RuntimeError: something broke"
    (box,) = view.findChildren(QMessageBox)
    assert box.text() == "RuntimeError: something broke"
    assert "Traceback" not in view.market_label.text() + view.market_label.toolTip()
    assert doc.undo_stack.count() == 0


def test_values_the_scenario_rejects_are_not_applied(market, qtbot, monkeypatch):
    view, doc, ev = market
    snap = md.MarketSnapshot(btc_price_usd=95_000.0, difficulty=1.5e14, network_hashrate_ehs=1000.0,
                             block_height=925_100, fees_btc_per_block=0.02, fetched_at="2025-11-26T00:00:00Z",
                             source="live", source_url="http://127.0.0.1:1")
    monkeypatch.setattr(md.MarketSnapshot, "to_market_fields",
                        lambda self: {"btc_price_usd": -1.0, "difficulty": 1.5e14, "block_height": 925_100,
                                      "fees_btc_per_block": 0.02})
    view._on_market_data(snap, [])
    assert doc.undo_stack.count() == 0
    assert "Not applied" in view.market_label.text() and "BTC price (USD): must be at least 1" in view.status.text()
