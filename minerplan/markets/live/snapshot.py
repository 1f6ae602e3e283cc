"""A market snapshot and its text: :class:`MarketSnapshot`, :func:`format_age`, :func:`format_snapshot`.

A snapshot is the network and market state at one moment (BTC price in USD, difficulty, hashrate in
EH/s, block height, fees in BTC per block, the next retarget) with where it came from: ``live``,
``cache`` or the shipped ``snapshot``, and how old it was when read. It derives the next block's
subsidy and the hashprice (per PH/s per day, BTC and USD), and puts its values into a scenario's
``market`` section. :func:`format_snapshot` is the text ``minerplan fetch-market`` prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from minerplan.engine.network import block_subsidy_btc
from minerplan.formats import fixed, grouped
from minerplan.markets.live.utc import format_utc, parse_utc
from minerplan.scenario.errors import escape_control

Source = Literal["live", "cache", "snapshot"]


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
        return parse_utc(self.fetched_at)

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
        when = format_utc(self.fetched_at_datetime)
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


def format_snapshot(snap: MarketSnapshot) -> str:
    """The text ``minerplan fetch-market`` prints: values, derived hashprice and the source."""
    rows = [
        ("BTC price", f"{fixed(snap.btc_price_usd, 0)} USD"),
        ("Difficulty", f"{snap.difficulty / 1e12:,.2f} T"),
        ("Network hashrate", f"{snap.network_hashrate_ehs:,.1f} EH/s"),
        ("Block height", grouped(snap.block_height)),
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
            text += f" (about {format_utc(parse_utc(snap.next_retarget_at))})"
        rows.append(("Next retarget", text))
    rows.append(("Source", snap.describe()))
    return "\n".join(f"{k:<18}{v}" for k, v in rows)
