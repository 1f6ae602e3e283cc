"""Messages about untrusted input: values shown safely, field paths, pydantic errors as problems.

A value from a file reaches a terminal or a dialog only through :func:`short_value`
(escaped, never longer than a line, never raising) or :func:`json_kind`. Pydantic's
errors become :class:`~minerplan.scenario.errors.Problem` entries whose path is the
field path as the user wrote it (``fleet[2].count``), with pydantic's phrases in plain words
(:func:`plain_message`: "must be at least 0", not "Input should be greater than or equal to 0"), at most
:data:`MAX_PROBLEMS_PER_FIELD` per field. Scenario and hedge files both report through here.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from pydantic import ValidationError

from minerplan.scenario.errors import Problem
from minerplan.scenario.value_types import MONTH_PATTERN

#: At most this many problems are listed for one field (a 12x24 profile has 288 cells).
MAX_PROBLEMS_PER_FIELD = 5


def _int_digits(value: int) -> int:
    """Decimal digits of ``abs(value)``, without str() (which refuses > 4300 digits)."""
    v = abs(value)
    if v < 10:
        return 1
    d = int((v.bit_length() - 1) * math.log10(2)) + 1
    while d > 1 and v < 10 ** (d - 1):
        d -= 1
    while v >= 10 ** d:
        d += 1
    return d


def json_kind(value: Any) -> str:
    """The JSON kind of a parsed value: ``null``, ``true``, ``a number``, ``an array`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    try:
        return f"a {type(value).__name__} (not a JSON value)"
    except Exception:  # noqa: BLE001 - never fail while describing a value
        return "a value that is not JSON"


def short_value(value: Any, limit: int = 60) -> str:
    """``value`` for a message, JSON-style and escaped; never raises and stays short.

    Strings are shown as Python literals (``'2000'``), so control characters, ANSI
    escapes and newlines appear as ``\\x1b`` / ``\\n`` and cannot forge output lines.
    """
    try:
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()   # np.float64(1.5) -> 1.5: show the number, not numpy's repr
        if value is None or isinstance(value, bool):
            return json_kind(value)
        if isinstance(value, int):
            if value.bit_length() > 200:
                return f"an integer with {_int_digits(value):,} digits"
            return str(int(value))
        if isinstance(value, float):
            if value != value:
                return "NaN"
            if value in (math.inf, -math.inf):
                return "Infinity" if value > 0 else "-Infinity"
            return repr(value)
        if isinstance(value, str):
            if len(value) <= limit:
                return repr(value)
            return f"{value[:limit - 20]!r}... ({len(value):,} characters)"
        return json_kind(value)
    except Exception:  # noqa: BLE001 - the error path must never raise anything else
        return "a value that cannot be shown"


def format_loc(loc: tuple) -> str:
    """``('fleet', 2, 'site')`` -> ``fleet[2].site``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# --------------------------------------------------------------------------- pydantic errors -> problems

# Errors about the JSON kind of a value: the message names the kind that was expected, and
# the "(got ...)" names the kind that came even when it is an object or array.
_KIND_MESSAGES = {
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be an array",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "finite_number": "must be a finite number",
}
_TYPE_ERRORS = frozenset(_KIND_MESSAGES) - {"finite_number", "int_from_float", "bool_parsing", "float_parsing",
                                            "int_parsing"}
#: Bounds: pydantic's error type -> the plain phrase before the bound.
_BOUNDS = {"greater_than_equal": ("ge", "must be at least"), "greater_than": ("gt", "must be more than"),
           "less_than_equal": ("le", "must be at most"), "less_than": ("lt", "must be less than"),
           "multiple_of": ("multiple_of", "must be a multiple of")}


def bound_text(x: Any) -> str:
    """A bound as people write it: ``0``, ``50,000,000``, ``0.005``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return short_value(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e18:
        x = int(x)
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def plain_message(e: dict) -> str:
    """Pydantic's phrase for error ``e`` in plain words: "must be at least 0", "must be a number",
    "must be one of colocation, gpu_cloud"; pydantic's own words when no plainer ones are known."""
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind in _KIND_MESSAGES:
        return _KIND_MESSAGES[kind]
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, phrase = _BOUNDS[kind]
        return f"{phrase} {bound_text(ctx[key])}"
    if kind in ("literal_error", "enum") and "expected" in ctx:
        choices = re.findall(r"'((?:[^'\\]|\\.)*)'", str(ctx["expected"])) or [str(ctx["expected"])]
        return f"must be one of {', '.join(choices)}" if len(choices) > 1 else f"must be {choices[0]}"
    if kind in ("too_short", "too_long") and ("min_length" in ctx or "max_length" in ctx):
        n = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        has = f" (has {ctx['actual_length']:,})" if "actual_length" in ctx else ""
        return f"must have at {'least' if kind == 'too_short' else 'most'} {n:,} entr{'y' if n == 1 else 'ies'}{has}"
    if kind in ("string_too_short", "string_too_long"):
        n = ctx.get("min_length") if kind == "string_too_short" else ctx.get("max_length")
        if n is not None:
            return (f"must have at {'least' if kind == 'string_too_short' else 'most'} {n:,} "
                    f"character{'' if n == 1 else 's'}")
    msg = str(e["msg"])
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if msg.startswith("Input should be "):
        return "must be " + msg[len("Input should be "):]
    return msg


def _field_key(loc: tuple) -> tuple:
    """The field a problem belongs to: its loc without trailing list indices
    (``sites[0].hourly_price_usd_per_mwh[3][5]`` -> ``sites[0].hourly_price_usd_per_mwh``)."""
    end = len(loc)
    while end > 1 and isinstance(loc[end - 1], int) and not isinstance(loc[end - 1], bool):
        end -= 1
    return loc[:end]


def validation_message(e: dict) -> str:
    kind = e["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == MONTH_PATTERN:
        return f"expected a month as YYYY-MM (e.g. 2025-12), got {short_value(e.get('input'))}"
    msg = plain_message(e)
    if "input" in e and kind not in ("too_short", "too_long"):
        value = e["input"]
        if kind in _TYPE_ERRORS or not isinstance(value, (dict, list, tuple)):
            msg = f"{msg} (got {short_value(value)})"
    return msg


def default_entry(e: dict) -> tuple[tuple, Problem]:
    """The loc of a pydantic error as it is and its problem (every part a real key or index of the input)."""
    loc = tuple(e["loc"])
    return loc, Problem(format_loc(loc), validation_message(e))


def problems_from_validation(err: ValidationError,
                             describe: Callable[[dict], tuple[tuple, Problem]] = default_entry) -> list[Problem]:
    """Every problem of ``err``, at most MAX_PROBLEMS_PER_FIELD per field and a count of the rest.

    ``describe(error)`` gives an error's loc and problem; the default uses the loc as it is
    (for the scenario's own types pydantic inserts no union or function tags: every union
    is X | None). The hedges' discriminated union adds its tag, which their describe drops.
    """
    entries = []
    for e in err.errors(include_url=False):
        loc, problem = describe(e)
        entries.append((_field_key(loc), problem))
    totals: dict[tuple, int] = {}
    for field, _ in entries:
        totals[field] = totals.get(field, 0) + 1
    shown: dict[tuple, int] = {}
    problems = []
    for field, problem in entries:
        n = shown[field] = shown.get(field, 0) + 1
        if n <= MAX_PROBLEMS_PER_FIELD:
            problems.append(problem)
        if n == MAX_PROBLEMS_PER_FIELD and totals[field] > n:
            problems.append(Problem(format_loc(field), f"... and {totals[field] - n} more problems "
                                                       "in this field (not shown)", omitted=totals[field] - n))
    return problems
