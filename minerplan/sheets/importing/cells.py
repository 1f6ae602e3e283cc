"""One cell's value by the kind of its column: numbers, whole numbers, months, yes/no, choices and text.

A number typed with thousands separators or a decimal comma is refused, never guessed at (see
:func:`separator_hint`), which is why this is not :func:`minerplan.formats.parse_number` (that one
reads a number typed into the app and drops separators). A formula whose value was never
calculated is reported (:class:`Uncalculated`), never read as blank.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from minerplan.scenario.errors import escape_control
from minerplan.scenario.fields import Column
from minerplan.sheets.importing.problems import CellError

_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_TEXT_RE = re.compile(r"[+-]?[0-9]+")
_MONTH_TEXT_RE = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?")
_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})


def show_value(value: Any) -> str:
    """A cell value for a message: short, and clear about dates and booleans."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return f"the boolean {str(value).upper()}"
    if isinstance(value, dt.datetime):
        return f"the date {value.date().isoformat()}"
    if isinstance(value, (dt.date, dt.time)):
        return f"the {'date' if isinstance(value, dt.date) else 'time'} {value.isoformat()}"
    if isinstance(value, dt.timedelta):
        return f"the duration {value}"
    return repr(value)


class Uncalculated:
    """A formula cell whose value was never calculated (a workbook saved by a program that does not compute).

    Reading it as blank would import the wrong thing silently (a retire month
    linked to the Plan sheet would vanish), so it is reported instead.
    """

    def __init__(self, formula: str):
        self.formula = str(formula)

    def message(self) -> str:
        f = self.formula if len(self.formula) <= 60 else self.formula[:57] + "..."
        return (f"holds the formula {escape_control(f)!r} with no calculated value; open the workbook in Excel or "
                "LibreOffice and save it (so the values are stored), or type the value")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


#: Characters people type between groups of three digits: space, no-break spaces, apostrophes (Swiss).
_GROUP_SEPARATORS = " '\u00a0\u202f\u2019"
_SPACE_GROUPED_RE = re.compile(rf"([1-9][0-9]{{0,2}}(?:[{_GROUP_SEPARATORS}][0-9]{{3}})+)(?:([.,])([0-9]+))?")
_COMMA_GROUPED_RE = re.compile(r"([1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.([0-9]+))?")     # 1,234,567.5
_DOT_GROUPED_RE = re.compile(r"([1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:,([0-9]+))?")       # 1.234.567,5
_DECIMAL_COMMA_RE = re.compile(r"([0-9]+),([0-9]+)")                                  # 3,5


def _plain(sign: str, digits: str, fraction: str = "") -> str:
    """A plain number as the user should type it: ``1200``, ``1.2``, ``-3.5``."""
    digits = re.sub(r"[^0-9]", "", digits).lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{'-' if sign == '-' else ''}{digits}{'.' + fraction if fraction else ''}"


def separator_hint(text: str, dot_groups: bool = False) -> str | None:
    """What a number typed with thousands separators or a decimal comma should be written as,
    or None when ``text`` does not look like one.

    Such numbers are refused, never guessed at: ``1,200`` is 1200 to an American and 1.2
    to a German, and a wrong guess changes a fleet by a factor of a thousand without a
    word. The hint shows the plain form of every reading, so the fix is a retype. With
    ``dot_groups`` (a ``;``-separated CSV file, which is what Excel writes where the decimal
    separator is a comma) ``1.200`` is ambiguous in the same way and is refused too.
    """
    t = text.strip()
    sign = t[:1] if t[:1] in "+-" else ""
    body = t[len(sign):]

    def what(groups: str, decimal_comma: bool = False) -> str:
        n = sum(not ch.isdigit() for ch in groups)
        return "(" + ("a thousands separator" if n == 1 else "thousands separators") + \
            (" and a decimal comma" if decimal_comma else "") + ")"

    m = _SPACE_GROUPED_RE.fullmatch(body)
    if m:
        return f"{what(m.group(1), m.group(2) == ',')}: write {_plain(sign, m.group(1), m.group(3) or '')}"
    m = _COMMA_GROUPED_RE.fullmatch(body)
    if m:
        thousands = _plain(sign, m.group(1), m.group(2) or "")
        if m.group(2) is None and body.count(",") == 1:
            decimal = _plain(sign, *body.split(","))
            return (f"(a thousands separator or a decimal comma?): write {thousands} if the comma separates "
                    f"thousands, or {decimal} if it is a decimal comma")
        return f"{what(m.group(1))}: write {thousands}"
    m = _DOT_GROUPED_RE.fullmatch(body)
    if m and (m.group(2) is not None or body.count(".") > 1):
        return f"{what(m.group(1), m.group(2) is not None)}: write {_plain(sign, m.group(1), m.group(2) or '')}"
    if m and dot_groups:
        return (f"(in a file separated by ';', where numbers have decimal commas, the dot may separate "
                f"thousands): write {_plain(sign, m.group(1))} if it does, or {_plain(sign, *body.split('.'))} "
                "if it is a decimal point")
    m = _DECIMAL_COMMA_RE.fullmatch(body)
    if m:
        return f"(a decimal comma): write {_plain(sign, m.group(1), m.group(2))}"
    return None


def _number(value: Any, dot_groups: bool = False) -> int | float:
    """Plain numbers only: a thousands separator, a decimal comma or a unit is refused, not guessed at
    (see :func:`separator_hint`; the message shows the plain number to type instead)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise CellError(f"expected a finite number, got {show_value(value)}")
        return value
    if isinstance(value, str):
        text = value.strip()
        hint = separator_hint(text, dot_groups) if len(text) <= 40 else None
        if hint:
            raise CellError(f"expected a number, got {show_value(value)} {hint}")
        if len(text) <= 40 and _NUMBER_RE.fullmatch(text):
            x = float(text)
            if not math.isfinite(x):
                raise CellError(f"{show_value(value)} is too large")
            return int(text) if _INT_TEXT_RE.fullmatch(text) else x
        if any(ch.isdigit() for ch in text):
            raise CellError(f"expected a number, got {show_value(value)} "
                             "(write plain numbers like 3645.5: no thousands separators, units or %)")
    raise CellError(f"expected a number, got {show_value(value)}")


def _integer(value: Any, dot_groups: bool = False) -> int:
    try:
        x = _number(value, dot_groups)
    except CellError:
        hint = separator_hint(value, dot_groups) if isinstance(value, str) and len(value.strip()) <= 40 else None
        raise CellError(f"expected a whole number, got {show_value(value)}" + (f" {hint}" if hint else "")) from None
    if isinstance(x, float):
        if not x.is_integer():
            raise CellError(f"expected a whole number, got {show_value(value)}")
        return int(x)
    return x


def _month(value: Any) -> str:
    """A date cell (any day) or text ``YYYY-MM`` (``YYYY-MM-DD`` too) -> ``YYYY-MM``."""
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        m = _MONTH_TEXT_RE.fullmatch(value.strip())
        if m:
            year, month = int(m.group(1)), int(m.group(2))
            try:
                dt.date(year, month, int(m.group(3) or 1))
                return f"{year:04d}-{month:02d}"
            except ValueError:
                pass
    raise CellError(f"expected a month as YYYY-MM (e.g. 2026-03) or a date, got {show_value(value)}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CellError(f"expected yes or no, got {show_value(value)}")


def _choice(value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str):
        text = value.strip().casefold()
        for c in choices:
            if c.casefold() == text:
                return c
    raise CellError(f"expected one of {', '.join(choices)}, got {show_value(value)}")


def _text(value: Any) -> str:
    """Text as typed; a number typed into a text column (a site called 2024) becomes its digits."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise CellError(f"expected text, got {show_value(value)}")


def parse_cell(column: Column, value: Any, dot_groups: bool = False) -> Any:
    """The scenario value of one non-blank cell; raises ValueError saying what was expected.

    ``dot_groups``: the cell comes from a ``;``-separated CSV file, where ``1.200`` may mean 1200.
    """
    kind = column.kind
    if kind == "number":
        return _number(value, dot_groups)
    if kind == "integer":
        return _integer(value, dot_groups)
    if kind == "month":
        return _month(value)
    if kind == "bool":
        return _bool(value)
    if kind == "choice":
        return _choice(value, column.choices)
    return _text(value)
