"""Calendar months as ``YYYY-MM`` strings and month offsets from a start month."""

from __future__ import annotations

import calendar
import re

import numpy as np

MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
SECONDS_PER_DAY = 86_400.0


def parse_month(text: str) -> tuple[int, int]:
    """``"2025-12"`` -> ``(2025, 12)``; raises ValueError on anything else."""
    m = MONTH_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"expected a month as YYYY-MM, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def month_index(start: str, month: str) -> int:
    """Months from ``start`` to ``month`` (0 for the start month itself; may be negative)."""
    y0, m0 = parse_month(start)
    y1, m1 = parse_month(month)
    return (y1 - y0) * 12 + (m1 - m0)


def add_months(start: str, n: int) -> str:
    y, m = parse_month(start)
    total = y * 12 + (m - 1) + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_labels(start: str, horizon_months: int) -> list[str]:
    return [add_months(start, i) for i in range(horizon_months)]


def days_in_months(start: str, horizon_months: int) -> np.ndarray:
    """Calendar days in each modelled month, shape ``[month]``."""
    y, m = parse_month(start)
    out = np.empty(horizon_months)
    for i in range(horizon_months):
        total = y * 12 + (m - 1) + i
        out[i] = calendar.monthrange(total // 12, total % 12 + 1)[1]
    return out


def calendar_month_numbers(start: str, horizon_months: int) -> np.ndarray:
    """Calendar month (0 = January) of each modelled month, shape ``[month]``."""
    _, m = parse_month(start)
    return (np.arange(horizon_months) + (m - 1)) % 12
