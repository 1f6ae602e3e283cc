"""Reading one field of an untrusted JSON answer or file: present, of the right type, within its range.

Every failure is a :class:`~minerplan.markets.live.errors.MarketDataError` naming the endpoint (or file)
and the field, with the offending value shortened and escaped (``/api/v1/prices: USD: expected a number,
got 'abc'``). JSON is parsed with NaN and Infinity turned into floats so that :func:`number_field` reports
them with the field's name; nothing is ever evaluated.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from minerplan.formats import grouped
from minerplan.markets.live.errors import field_error
from minerplan.markets.live.utc import iso_utc, parse_utc
from minerplan.scenario.errors import escape_control
from minerplan.scenario.validation_messages import json_kind, short_value


def value_text(v: float) -> str:
    """``42``, ``10,000,000``, ``925,112.5``, ``1e+15``: readable in a one-line message.

    :func:`minerplan.formats.grouped` below 1e9; from 1e9 up (and below 1e-4) four significant
    digits, so a range reads ``1e+09..1e+18`` (:func:`minerplan.formats.message_number` would group
    the digits up to 1e12 and keep three).
    """
    if abs(v) >= 1e9 or (v and abs(v) < 1e-4):
        return f"{v:.4g}"
    return grouped(v)


def range_text(lo: float, hi: float) -> str:
    return f"{value_text(lo)}..{value_text(hi)}"


def get_key(where: str, doc: Any, key: str) -> Any:
    if not isinstance(doc, dict):
        raise field_error(where, None, f"expected a JSON object, got {json_kind(doc)}")
    if key not in doc:
        raise field_error(where, key, "missing")
    return doc[key]


def number_field(where: str, doc: Any, key: str, lo: float, hi: float, unit: str = "",
                 *, integer: bool = False, optional: bool = False) -> float | int | None:
    """``doc[key]`` as a finite number (an int when ``integer``) within ``lo..hi``."""
    if optional and isinstance(doc, dict) and doc.get(key, None) is None:
        return None
    v = get_key(where, doc, key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        what = "a whole number" if integer else "a number"
        raise field_error(where, key, f"expected {what}, got {short_value(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise field_error(where, key, f"expected a finite number, got {short_value(v)}")
    if integer:
        if isinstance(v, float):
            if not v.is_integer():
                raise field_error(where, key, f"expected a whole number, got {short_value(v)}")
            v = int(v)
    elif isinstance(v, int):
        if v.bit_length() > 1000:
            raise field_error(where, key, f"{short_value(v)} is outside the plausible range {range_text(lo, hi)}"
                                          f"{' ' + unit if unit else ''}")
        v = float(v)
    if not lo <= v <= hi:
        shown = short_value(v) if isinstance(v, int) else value_text(v)
        raise field_error(where, key, f"{shown} is outside the plausible range {range_text(lo, hi)}"
                                      f"{' ' + unit if unit else ''}")
    return v


_SATS_RE = re.compile(r"[0-9]{1,20}")


def satoshis_field(where: str, doc: Any, key: str) -> int:
    """An amount in satoshi: mempool.space sends sums as strings of digits ("291937584")."""
    v = get_key(where, doc, key)
    if isinstance(v, str) and _SATS_RE.fullmatch(v):
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**20:
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and 0 <= v < 1e20:
        return int(v)
    raise field_error(where, key, f"expected an amount in satoshi (a string of digits), got {short_value(v)}")


def text_field(where: str, doc: Any, key: str, max_len: int = 500, optional: bool = False) -> str | None:
    if optional and isinstance(doc, dict) and doc.get(key, None) is None:
        return None
    v = get_key(where, doc, key)
    if not isinstance(v, str):
        raise field_error(where, key, f"expected a string, got {short_value(v)}")
    if len(v) > max_len:
        raise field_error(where, key, f"longer than {max_len} characters")
    return v


def utc_field(where: str, doc: Any, key: str, optional: bool = False) -> str | None:
    v = text_field(where, doc, key, 64, optional)
    if v is None:
        return None
    try:
        return iso_utc(parse_utc(v))
    except (ValueError, OverflowError):
        raise field_error(where, key, f"expected a UTC time like 2025-11-25T00:00:00Z, got {short_value(v)}") from None


def _constant(token: str) -> float:
    # NaN / Infinity become floats here and are reported by number_field with the field's name
    # (json's own handling, made explicit: the check is in number_field, not in the parser).
    return float(token)


def parse_json(where: str, raw: bytes, what: str = "response") -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise field_error(where, None, f"not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise field_error(where, None, f"{what} is empty")
    try:
        return json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as e:
        msg = e.msg[:1].lower() + e.msg[1:]
        raise field_error(where, None, f"not valid JSON: {msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise field_error(where, None, "not valid JSON: nested too deeply") from None
    except ValueError as e:  # an integer longer than Python's digit limit
        raise field_error(where, None, f"not valid JSON: {escape_control(str(e))[:120]}") from None
