"""UTC times of market data: now (or a test's clock), ISO-8601 text (``2025-11-25T17:30:00Z``) and back.

Times read from a response or a file must match the ISO pattern in full before they are parsed.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone


def utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime):
        raise TypeError(f"now must be a datetime, got {type(now).__name__}")
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


_ISO_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                     r"(Z|[+-][0-9]{2}:[0-9]{2})")


def parse_utc(text: str) -> datetime:
    """``2025-11-25T00:00:00Z`` (or with an offset) -> aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or not _ISO_RE.fullmatch(text):
        raise ValueError("not an ISO-8601 UTC time")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)

