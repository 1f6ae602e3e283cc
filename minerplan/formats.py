"""Numbers as people read and type them: the one module of formatters and parsers.

The app's tables, the CLI's text, the workbook's notes and the reports all format money,
shares and plain numbers through these functions, so "$23.4M" means the same thing
everywhere and a value typed as "$50M" or "50,000,000" is read the same way everywhere.

Formatters never raise: ``None``, NaN and infinities print as ``n/a`` (or as an empty
cell where a table needs one). Parsers raise ``ValueError`` with a message that names the
text and what was expected, except :func:`parse_lenient`, which hands text that is no
number back unchanged so the scenario's validator can name the rule it breaks.
"""

from __future__ import annotations

import math
from typing import Any

NA = "n/a"


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- money

def usd(x: float | None, digits: int = 0) -> str:
    """``-$23.4M``, ``$1.25B``, ``$91,500``: money abbreviated from a million up (``n/a`` if missing)."""
    if not _finite(x):
        return NA
    x = float(x)
    sign, x = ("-" if x < 0 else ""), abs(x)
    if x >= 1e9:
        return f"{sign}${x / 1e9:,.2f}B"
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.1f}M"
    return f"{sign}${x:,.{digits}f}"


def usd_m(x: float | None, decimals: int = 1, *, plus: bool = False) -> str:
    """USD in millions, the sign before the dollar: ``$266.0M``, ``-$0.71M`` (``+$1.20M`` with ``plus``)."""
    if not _finite(x):
        return NA
    x = float(x)
    sign = "-" if x < 0 else ("+" if plus else "")
    return f"{sign}${abs(x) / 1e6:,.{decimals}f}M"


def dollars(x: float, digits: int = 2) -> str:
    """``$1,234.56``, ``-$3.20``: plain dollars, never abbreviated (unit prices, $/MWh, $/TH)."""
    if not _finite(x):
        return NA
    x = float(x)
    return f"{'-' if x < 0 else ''}${abs(x):,.{digits}f}"


# --------------------------------------------------------------------------- shares

def pct(share: float | None) -> str:
    """A share (0.125 = 12.5%) with as many decimals as its size needs: ``426%``, ``12.5%``, ``0.06%``."""
    if not _finite(share):
        return NA
    p = float(share) * 100
    return f"{p:,.0f}%" if abs(p) >= 100 else (f"{p:.1f}%" if abs(p) >= 10 else f"{p:.2f}%")


# --------------------------------------------------------------------------- plain numbers

def number_text(v: Any) -> str:
    """A number as a user would type it back: no separators, no exponent for whole sizes (``""`` for None)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def grouped(v: float | int | None) -> str:
    """Thousands separators, full precision, no trailing zeros: ``91,500``, ``0.35`` (``""`` for None)."""
    if v is None:
        return ""
    if isinstance(v, int) or (float(v).is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    return f"{float(v):,.10g}" if abs(v) < 1e15 else f"{float(v):.10g}"


def fixed(v: Any, decimals: int = 2) -> str:
    """Display text with separators and ``decimals`` places, fewer when whole (``""`` for None)."""
    if v is None:
        return ""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return NA
    if x.is_integer() and abs(x) < 1e15:
        return f"{x:,.0f}"
    return f"{x:,.{decimals}f}"


def message_number(x: float) -> str:
    """A number inside a sentence: grouped digits when that stays short, else 3-4 significant digits."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e12 or abs(x) < 1e-3):
        return f"{x:.3g}"
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.6g}" if abs(x) >= 1 else f"{x:.4g}"


# --------------------------------------------------------------------------- parsers

_SEPARATORS = (",", "_", " ", "\u00a0")


def _strip(text: str, extra: tuple[str, ...] = ()) -> str:
    t = str(text).strip()
    for ch in _SEPARATORS + extra:
        t = t.replace(ch, "")
    return t


def parse_number(value: Any, *, integer: bool = False, optional: bool = False) -> float | int | None:
    """Text (or a number) typed by a user -> a number; separators, ``$`` and ``%`` are ignored.

    Whole values become ``int`` (for integer fields always; otherwise below 2**53); a fractional
    value for an integer field is passed on as it is so the scenario rules report it. Blank is
    None when ``optional``. Raises ValueError with a readable reason.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value}")
    if isinstance(value, (int, float)):
        x = float(value)
    else:
        text = _strip(value, ("$", "%"))
        if not text:
            if optional:
                return None
            raise ValueError("a number is required")
        try:
            x = float(text)
        except ValueError:
            raise ValueError(f"{str(value).strip()!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError("must be a finite number")
    if integer:
        return int(x) if x.is_integer() else x
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def parse_optional_float(text: str, what: str) -> float | None:
    """A finite float, or None for blank; the ValueError names ``what`` and the text."""
    t = _strip(text)
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{what}: {text.strip()!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: {text.strip()!r} is not a finite number")
    return v


def parse_usd(text: str) -> float | None:
    """A USD amount: ``50e6``, ``50,000,000``, ``$50M``, ``1.2B``, ``750k``; blank -> None."""
    t = _strip(text, ("$",))
    if not t:
        return None
    scale = 1.0
    suffixes = {"k": 1e3, "m": 1e6, "b": 1e9}
    if t[-1].lower() in suffixes:
        scale, t = suffixes[t[-1].lower()], t[:-1]
    try:
        v = float(t) * scale
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not an amount in USD (e.g. 50000000, 50e6 or 50M)") from None
    if not math.isfinite(v):
        raise ValueError(f"{text.strip()!r} is not a finite amount")
    return v


def parse_lenient(text: str) -> Any:
    """``"$91,500"`` -> 91500, ``"1.5"`` -> 1.5; text that is no number comes back stripped, unchanged,
    so the scenario's validator names the rule it breaks ("Input should be a valid number")."""
    t = _strip(text, ("$",))
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return str(text).strip()
