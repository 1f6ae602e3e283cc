"""Update market data in the app: mempool.space (or the cache, or the shipped snapshot) in the background.

The work is :func:`minerplan.markets.live.update.update_market`; this module is the Qt side. A
:class:`MarketUpdateJob` (a :class:`~ui.kit.jobs.Job`) runs it off the GUI thread, never waited for
when the window closes, and hands back the snapshot and its warnings, or the one-line message of a
:class:`~minerplan.markets.live.errors.MarketDataError` when not even the shipped snapshot can be read.
The Market view turns the result into one undoable edit of the scenario's ``market`` section,
named after where the values came from (:func:`edit_text`), or into no edit at all when the
values are already the scenario's (:func:`updated_market`).

Where to fetch from is read when the update starts: :func:`api_url` (the setting
:data:`ui.kit.settings.MARKET_API_URL`, default https://mempool.space), :func:`cache_path`,
:data:`TIMEOUT_S` and :data:`SNAPSHOT_PATH`. Tests replace these module attributes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from minerplan.markets.live import update as md
from minerplan.markets.live.cache import default_cache_path
from minerplan.markets.live.errors import MarketDataError
from minerplan.markets.live.mempool import DEFAULT_TIMEOUT_S
from minerplan.markets.live.snapshot import MarketSnapshot, format_snapshot
from minerplan.scenario.errors import ScenarioError, escape_control
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.model import Scenario

from .kit import settings
from .kit.jobs import Job, live_jobs

TITLE = "Update market data"
#: Deadline of each HTTP request, wall-clock seconds (update_market makes up to five).
TIMEOUT_S: float = DEFAULT_TIMEOUT_S
#: The shipped snapshot file; None = assets/market_snapshot.json.
SNAPSHOT_PATH: str | Path | None = None


# --------------------------------------------------------------------------- where from

def api_url(widget: QWidget | None = None) -> str:
    """The API base URL: the setting ``market/api_url`` of ``widget``'s window, else https://mempool.space."""
    return settings.read(settings.app_settings(widget), settings.MARKET_API_URL).strip()


def cache_path() -> Path:
    """The market cache file (``$MINERPLAN_CACHE_DIR/market.json``, else the user's cache folder)."""
    return default_cache_path()


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


# --------------------------------------------------------------------------- the background job

class MarketUpdateJob(Job):
    """One ``update_market`` call as a background :class:`~ui.kit.jobs.Job`: ``finished(snapshot, warnings)``
    or ``failed(message)`` (a MarketDataError's one line; another exception's type and text), then ``done``.

    update_market cannot be interrupted (each request has a deadline, but five requests of ``timeout_s``
    each can take a while), and closing the app must not wait for it (issue 11: 45 s): so there is no
    Cancel, and :meth:`shutdown` discards the job (it sends nothing more) instead of waiting; its daemon
    thread is simply abandoned at exit.
    """

    finished = Signal(object, object)   # MarketSnapshot, list[str]
    unpack_result = True

    def __init__(self, url: str, cache: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S,
                 snapshot_path: str | Path | None = None, owner: QWidget | None = None):
        super().__init__(self._fetch, owner, name="market-update", failure_text="The market data update failed",
                         expected=(MarketDataError,), wait_at_exit=False)
        self.url = url
        self.cache = Path(cache)
        self.timeout_s = timeout_s
        self.snapshot_path = snapshot_path

    def _fetch(self, _progress, _cancel) -> tuple[MarketSnapshot, list[str]]:
        snap, warnings = md.update_market(self.url, self.cache, self.timeout_s, snapshot_path=self.snapshot_path)
        return snap, list(warnings)

    @property
    def snapshot(self) -> MarketSnapshot | None:
        return self.result[0] if self.result is not None else None

    @property
    def warnings(self) -> list[str]:
        return self.result[1] if self.result is not None else []


def start_update(owner: QWidget | None = None) -> MarketUpdateJob:
    """Start an update with the current settings (:func:`api_url`, :func:`cache_path`, :data:`TIMEOUT_S`,
    :data:`SNAPSHOT_PATH`). Its results arrive through queued signals, so connecting to them right after this
    call (before control returns to the event loop) catches every one."""
    return MarketUpdateJob(api_url(owner), cache_path(), TIMEOUT_S, SNAPSHOT_PATH, owner=owner).start()


def shutdown_updates(owner: QWidget, ms: int = 0) -> None:
    """Drop the results of the updates started from ``owner``, without waiting for them (closing the app must
    not wait on the network; ``ms`` is not used)."""
    for job in live_jobs(owner):
        if isinstance(job, MarketUpdateJob):
            job.shutdown(ms)
