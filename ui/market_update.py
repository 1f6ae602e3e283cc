"""Update market data in the app: mempool.space (or the cache, or the shipped snapshot) in the background.

The work is :func:`minerplan.markets.market_data.update_market`; this module is the Qt side. A
:class:`MarketUpdateJob` runs it on a daemon thread (never on the GUI thread, and never waited
for when the window closes) and hands back the snapshot and its warnings, or the one-line message of a
:class:`~minerplan.markets.market_data.MarketDataError` when not even the shipped snapshot can be read.
The Market view turns the result into one undoable edit of the scenario's ``market`` section,
named after where the values came from (:func:`edit_text`), or into no edit at all when the
values are already the scenario's (:func:`updated_market`).

Where to fetch from is read when the update starts: :func:`api_url` (QSettings key
``market/api_url``, default https://mempool.space), :func:`cache_path`, :data:`TIMEOUT_S` and
:data:`SNAPSHOT_PATH`. Tests replace these module attributes.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from minerplan.markets import market_data as md
from minerplan.scenario.errors import ScenarioError, escape_control
from minerplan.markets.market_data import MarketDataError, MarketSnapshot, format_snapshot
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict

from .excel_actions import show_message, show_status

log = logging.getLogger(__name__)

SETTINGS_KEY = "market/api_url"
DEFAULT_API_URL = md.DEFAULT_API_URL
ORG, APP = "MinerPlan", "MinerPlan"     # the app's QSettings, as in ui.main_window
TITLE = "Update market data"
#: Deadline of each HTTP request, wall-clock seconds (update_market makes up to five).
TIMEOUT_S: float = md.DEFAULT_TIMEOUT_S
#: The shipped snapshot file; None = assets/market_snapshot.json.
SNAPSHOT_PATH: str | Path | None = None
_TRACEBACK = "\n\nTraceback (most recent call last):"


# --------------------------------------------------------------------------- where from

def settings_for(widget: QWidget | None) -> QSettings:
    """The settings of ``widget``'s main window (``window().settings``), else the app's QSettings."""
    if widget is not None and isValid(widget):
        s = getattr(widget.window(), "settings", None)
        if isinstance(s, QSettings):
            return s
    return QSettings(ORG, APP)


def api_url(widget: QWidget | None = None) -> str:
    """The API base URL: QSettings ``market/api_url``, else https://mempool.space."""
    value = settings_for(widget).value(SETTINGS_KEY, DEFAULT_API_URL)
    if not isinstance(value, str) or not value.strip():
        return DEFAULT_API_URL
    return value.strip()


def cache_path() -> Path:
    """The market cache file (``$MINERPLAN_CACHE_DIR/market.json``, else the user's cache folder)."""
    return md.default_cache_path()


def host_of(url: str) -> str:
    """``mempool.space`` or ``127.0.0.1:8999`` for messages (never the credentials or the path)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except (ValueError, TypeError):
        host, port = "", None
    if not host:
        return escape_control(str(url))[:80] or "?"
    if ":" in host:
        host = f"[{host}]"
    return escape_control(f"{host}:{port}" if port else host)


# --------------------------------------------------------------------------- what it does to the scenario

def edit_text(snap: MarketSnapshot) -> str:
    """The undo command's name: ``Update market data (live)`` / ``(cache)`` / ``(snapshot)``."""
    return f"{TITLE} ({snap.source})"


def updated_market(sc: Scenario, snap: MarketSnapshot) -> dict | None:
    """The scenario's ``market`` section with the snapshot's values, or None when that changes nothing."""
    d = scenario_to_dict(sc)
    new = snap.apply_to_market(d["market"])
    if new == d["market"]:
        return None
    try:
        candidate = scenario_from_dict({**d, "market": new}, "market update")
    except ScenarioError:
        return new                  # the edit will be refused and say why
    return None if candidate.market == sc.market else new


def values_text(snap: MarketSnapshot) -> str:
    """``BTC 91,234 USD, difficulty 152.27 T, height 925,112, fees 0.0203 BTC/block``."""
    return (f"BTC {snap.btc_price_usd:,.0f} USD, difficulty {snap.difficulty / 1e12:,.2f} T, "
            f"height {snap.block_height:,}, fees {snap.fees_btc_per_block:.4f} BTC/block")


def result_text(snap: MarketSnapshot, warnings: list[str], outcome: str) -> str:
    """The Market view's label after an update; ``outcome`` is ``applied``, ``unchanged`` or ``refused``."""
    lines = [values_text(snap), f"Source: {snap.describe()}"]
    lines.append({"applied": f"Applied to the scenario: one edit ({edit_text(snap)}), undo restores the previous "
                             "values.",
                  "unchanged": "The scenario already has these values: nothing changed.",
                  "refused": "Not applied: the scenario rejects these values (see below)."}[outcome])
    lines.extend(f"Warning: {w}" for w in warnings)
    return "\n".join(lines)


def tooltip_text(snap: MarketSnapshot, warnings: list[str]) -> str:
    text = format_snapshot(snap)
    if warnings:
        text += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings)
    return text


def say(widget: QWidget, text: str) -> None:
    """``text`` in the status bar of ``widget``'s main window (if it has one)."""
    show_status(widget, text)


def show_error(widget: QWidget | None, message: str):
    """A window-modal message box that does not block the event loop (plain text, no traceback)."""
    return show_message(widget, TITLE, message)


def error_text(message: str) -> str:
    """A background failure as people read it: the message without the traceback."""
    return message.split(_TRACEBACK, 1)[0].strip() or "The market data update failed"


# --------------------------------------------------------------------------- the background job

@dataclass
class _Outcome:
    snapshot: MarketSnapshot | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    expected: bool = True       # a MarketDataError (one line for people), not a crash


_live: set["MarketUpdateJob"] = set()     # running jobs, kept alive (on the GUI thread) until they finish


class MarketUpdateJob(QObject):
    """One ``update_market`` call on a background thread.

    ``state`` goes idle -> running -> done | failed. ``finished(snapshot, warnings)`` or
    ``failed(message)`` then ``done``. A discarded job (:meth:`shutdown`: its window closes) emits
    nothing at all, and nobody waits for it.

    The work runs on a daemon ``threading.Thread``, not a QThread: update_market cannot be
    interrupted (each request has a deadline, but five requests of ``timeout_s`` each can take
    a while), and closing the app must not wait for it (issue 11: 45 s). A QThread still
    running when its object is destroyed aborts the process; a daemon thread is simply
    abandoned at exit. The thread touches Qt once, emitting ``_result``, whose queued
    connection runs :meth:`_on_result` on the GUI thread; the job stays in ``_live`` (so
    alive) until then, and is let go on the GUI thread.
    """

    finished = Signal(object, object)   # MarketSnapshot, list[str]
    failed = Signal(str)                # one message for people, no traceback
    done = Signal()
    _result = Signal(object)            # _Outcome, from the worker thread

    def __init__(self, url: str, cache: str | Path, timeout_s: float = md.DEFAULT_TIMEOUT_S,
                 snapshot_path: str | Path | None = None, owner: QWidget | None = None):
        super().__init__()
        self.url = url
        self.cache = Path(cache)
        self.timeout_s = timeout_s
        self.snapshot_path = snapshot_path
        self.owner = owner
        self.state = "idle"
        self.snapshot: MarketSnapshot | None = None
        self.warnings: list[str] = []
        self.error = ""
        self._discarded = threading.Event()
        self._thread: threading.Thread | None = None
        self._result.connect(self._on_result, Qt.ConnectionType.QueuedConnection)

    # ---- the worker thread (no Qt but the one emit)
    def _work(self) -> _Outcome:
        try:
            snap, warnings = md.update_market(self.url, self.cache, self.timeout_s, snapshot_path=self.snapshot_path)
        except MarketDataError as e:
            return _Outcome(error=str(e))
        except Exception as e:  # noqa: BLE001 - shown to the user without the traceback, logged with it
            return _Outcome(error=f"{type(e).__name__}: {e}\n\n{traceback.format_exc()}", expected=False)
        return _Outcome(snap, list(warnings))

    def _run(self) -> None:
        out = _Outcome(error="the market data update stopped unexpectedly", expected=False)
        try:
            out = self._work()
        finally:
            self._result.emit(out)      # queued: _on_result runs on the GUI thread

    # ---- control
    def start(self) -> "MarketUpdateJob":
        self.state = "running"
        _live.add(self)
        self._thread = threading.Thread(target=self._run, name="minerplan-market-update", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Started and its result not yet handled on the GUI thread."""
        return self.state == "running"

    @property
    def thread_alive(self) -> bool:
        """The worker thread is still inside update_market (or about to hand over its result)."""
        return self._thread is not None and self._thread.is_alive()

    def discard(self) -> None:
        """Forget the result when it comes, and send nothing more (the owner is going away)."""
        self._discarded.set()

    def wait(self, ms: int = 60_000) -> bool:
        """Turn the event loop until the job has ended (its result is handled on this thread); False when
        it is still running after ``ms``. For tests and callers that want the result: closing never waits."""
        deadline = time.monotonic() + ms / 1000.0
        while self.running and time.monotonic() < deadline:
            if self._thread is not None:
                self._thread.join(0.02)
            QCoreApplication.sendPostedEvents()
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        return not self.running

    def shutdown(self, ms: int = 0) -> None:
        """Drop the result and return at once (before the owner window closes): the fetch goes on on its
        daemon thread until its deadline and its result is thrown away; nothing is sent to the owner.
        ``ms`` is accepted for callers written when this waited for the thread; it is not used."""
        del ms
        self.discard()

    # ---- results (GUI thread)
    def _deliver(self) -> bool:
        return not self._discarded.is_set() and (self.owner is None or isValid(self.owner))

    def _close(self, state: str) -> None:
        self.state = state
        # let go on the next turn of the event loop, not while this slot is still running
        QTimer.singleShot(0, lambda: _live.discard(self))

    def _on_result(self, out: _Outcome) -> None:
        if out.error is not None:
            self._on_failed(out.error, expected=out.expected)
            return
        self.snapshot, self.warnings = out.snapshot, out.warnings
        self._close("done")
        if self._deliver():
            self.finished.emit(out.snapshot, out.warnings)
        if not self._discarded.is_set():
            self.done.emit()

    def _on_failed(self, message: str, expected: bool = False) -> None:
        if not expected:
            log.warning("market data update from %s failed: %s", self.url, message)
        self.error = error_text(message)
        self._close("failed")
        if self._deliver():
            self.failed.emit(self.error)
        if not self._discarded.is_set():
            self.done.emit()


def start_update(owner: QWidget | None = None) -> MarketUpdateJob:
    """Start an update with the current settings (:func:`api_url`, :func:`cache_path`, :data:`TIMEOUT_S`,
    :data:`SNAPSHOT_PATH`). Its results arrive through queued signals, so connecting to them right after this
    call (before control returns to the event loop) catches every one."""
    return MarketUpdateJob(api_url(owner), cache_path(), TIMEOUT_S, SNAPSHOT_PATH, owner=owner).start()


def shutdown_updates(owner: QWidget, ms: int = 0) -> None:
    """Drop the results of the updates started from ``owner``, without waiting for them (closing the app must
    not wait on the network; ``ms`` is not used, see :meth:`MarketUpdateJob.shutdown`)."""
    for job in [j for j in _live if j.owner is owner]:
        job.shutdown(ms)
