"""Strict JSON text of untrusted files: UTF-8, bounded, finite numbers, no duplicate keys, no huge integers.

:func:`parse_json_document` turns bytes or text into a JSON value or raises a
:class:`~minerplan.scenario.errors.ScenarioError` kind whose message has the line and
column (and the field path, found by walking the text once more when ``json.loads``
gives no position: a duplicate key, an integer of thousands of digits).
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from typing import Any, Iterator

from minerplan.scenario.errors import Problem, ScenarioError, ScenarioFileError, safe_path
from minerplan.scenario.file_io import MAX_FILE_BYTES
from minerplan.scenario.validation_messages import format_loc, short_value

#: Integers with more digits are refused while parsing (no scenario field needs more than
#: nine; Python's own limit is 4300, and converting longer ones costs quadratic time).
MAX_INT_DIGITS = 4300


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _TooManyDigits(ValueError):
    def __init__(self, digits: int):
        super().__init__(digits)
        self.digits = digits


def _no_duplicate_keys(pairs):
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _parse_int(token: str) -> int:
    digits = len(token) - token.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _TooManyDigits(digits)
    try:
        return int(token)
    except ValueError:  # a lower sys.set_int_max_str_digits() limit
        raise _TooManyDigits(digits) from None


_WS_RE = re.compile(r"[ \t\n\r]*")
_NUMBER_RE = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
_STRUCTURE_RE = re.compile(r'[\[\]{}"]')
_LONG_DIGITS_RE = re.compile("[0-9]{%d}" % (MAX_INT_DIGITS + 1))


def _json_events(text: str) -> Iterator[tuple]:
    """Walk JSON ``text`` in order, yielding ``("key", object_loc, key, pos, is_duplicate)``
    and ``("number", loc, match)``. Stops quietly at the first syntax error.

    Only used to locate (line, column, field path) a problem ``json.loads`` reported
    without a position; iterative, so deep nesting does not matter.
    """
    def ws(i: int) -> int:
        return _WS_RE.match(text, i).end()

    def key_at(frame: list, i: int) -> tuple[str, int, int]:
        if text[i:i + 1] != '"':
            raise ValueError("expected a key")
        key, j = scanstring(text, i + 1, True)
        j = ws(j)
        if text[j:j + 1] != ":":
            raise ValueError("expected ':'")
        return key, i, ws(j + 1)

    stack: list[list] = []  # [is_object, loc, keys seen, index]
    loc: tuple = ()
    try:
        i = ws(0)
        while True:
            if stack and not stack[-1][0]:
                # Inside an array, everything up to the next bracket, brace or string is a run
                # of scalars: skip it in one step (counting elements) unless it may hold a long
                # integer. (The text before the problem json.loads found is valid JSON.)
                m = _STRUCTURE_RE.search(text, i)
                k = text.rfind(",", i, m.start() if m else len(text))
                if k >= 0 and not _LONG_DIGITS_RE.search(text, i, k):
                    stack[-1][3] += text.count(",", i, k + 1)
                    i = ws(k + 1)
                    loc = stack[-1][1] + (stack[-1][3],)
            c = text[i:i + 1]
            if c in ("{", "["):
                frame = [c == "{", loc, set(), 0]
                i = ws(i + 1)
                if text[i:i + 1] == ("}" if frame[0] else "]"):
                    i += 1
                else:
                    stack.append(frame)
                    if frame[0]:
                        key, pos, i = key_at(frame, i)
                        yield ("key", frame[1], key, pos, False)
                        frame[2].add(key)
                        loc = frame[1] + (key,)
                    else:
                        loc = frame[1] + (0,)
                    continue
            elif c == '"':
                _, i = scanstring(text, i + 1, True)
            else:
                m = _NUMBER_RE.match(text, i)
                if m:
                    yield ("number", loc, m)
                    i = m.end()
                else:
                    lit = next((t for t in _LITERALS if text.startswith(t, i)), None)
                    if lit is None:
                        return
                    i += len(lit)
            while True:  # after a value: the next element, or close containers
                if not stack:
                    return
                i = ws(i)
                frame = stack[-1]
                c = text[i:i + 1]
                if c == ",":
                    i = ws(i + 1)
                    if frame[0]:
                        key, pos, i = key_at(frame, i)
                        yield ("key", frame[1], key, pos, key in frame[2])
                        frame[2].add(key)
                        loc = frame[1] + (key,)
                    else:
                        frame[3] += 1
                        loc = frame[1] + (frame[3],)
                    break
                if c == ("}" if frame[0] else "]"):
                    i += 1
                    stack.pop()
                    continue
                return
    except (ValueError, IndexError):
        return


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - text.rfind(chr(10), 0, pos)}"


def _where(loc: tuple) -> str:
    return f"in {safe_path(format_loc(loc))}" if loc else "in the top-level object"


def _duplicate_key_message(text: str, key: str) -> str:
    for ev in _json_events(text):
        if ev[0] == "key" and ev[4]:
            _, obj_loc, dup, pos, _ = ev
            return (f"duplicate key {short_value(dup)} at {_line_col(text, pos)} ({_where(obj_loc)}); "
                    "a key may appear only once in an object")
    return f"duplicate key {short_value(key)} in an object; a key may appear only once in an object"


def _too_many_digits_message(text: str, digits: int) -> str:
    for ev in _json_events(text):
        if ev[0] == "number" and not (ev[2].group(2) or ev[2].group(3)):
            n = len(ev[2].group(1)) - ev[2].group(1).startswith("-")
            if n > MAX_INT_DIGITS:
                at = f" ({safe_path(format_loc(ev[1]))})" if ev[1] else ""
                return (f"the integer at {_line_col(text, ev[2].start())}{at} has {n:,} digits; "
                        f"at most {MAX_INT_DIGITS} digits are allowed")
    return f"an integer has {digits:,} digits; at most {MAX_INT_DIGITS} digits are allowed"


def _json_error_message(e: json.JSONDecodeError) -> str:
    msg = e.msg[:1].lower() + e.msg[1:]
    # "Unterminated string starting at" already ends in "at": no "at at".
    where = f"line {e.lineno} column {e.colno}"
    return f"not valid JSON: {msg} {where}" if msg.endswith(" at") else f"not valid JSON: {msg} at {where}"


def wide_encoding(head: bytes) -> str | None:
    """``"UTF-16"`` / ``"UTF-32"`` when the first bytes of a text file look like that encoding
    (a BOM, or the NUL byte of every second or fourth byte that ASCII text has in it), else None.

    JSON and CSV files must be UTF-8; Windows tools often save "Unicode" text as UTF-16,
    and a user is helped by being told so rather than by "not valid JSON at line 1 column 1".
    """
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    if len(head) >= 4 and b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if head[1:4] == b"\x00\x00\x00" or head[:3] == b"\x00\x00\x00":
            return "UTF-32"
        if even.count(0) >= len(even) // 2 or odd.count(0) >= len(odd) // 2:
            return "UTF-16"
    return None


def parse_json_document(text: str | bytes, source: str | None = None, *, max_bytes: int = MAX_FILE_BYTES,
                        error: type[ScenarioError] = ScenarioError, what: str = "scenario") -> Any:
    """Strict JSON of an untrusted file: UTF-8 (a BOM is fine), at most ``max_bytes``, no NaN or
    Infinity (``what`` names the document in that message), no duplicate keys, no huge integers.

    Problems raise ``error`` (a :class:`ScenarioError` kind) with the line and column; an
    oversized file raises :class:`ScenarioFileError`. Scenario and hedge files both read through here.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > max_bytes:
            raise ScenarioFileError([Problem("", f"file is {len(text):,} bytes; the limit is {max_bytes:,}")],
                                    source)
        wide = wide_encoding(bytes(text[:64]))
        if wide is not None:
            raise error([Problem("", f"the file looks like {wide} text; save it as UTF-8")], source)
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise error([Problem("", f"not UTF-8 text (byte {e.start})")], source) from None
    elif text.startswith("\ufeff"):
        text = text[1:]
    if text == "":
        raise error([Problem("", "file is empty")], source)
    if text.strip(" \t\n\r") == "":
        raise error([Problem("", "not valid JSON: the file holds only whitespace")], source)

    def reject_constant(token: str):
        raise ValueError(f"{token} is not allowed in a {what} (numbers must be finite)")

    try:
        return json.loads(text, parse_constant=reject_constant, object_pairs_hook=_no_duplicate_keys,
                          parse_int=_parse_int)
    except json.JSONDecodeError as e:
        raise error([Problem("", _json_error_message(e))], source) from None
    except _DuplicateKey as e:
        raise error([Problem("", _duplicate_key_message(text, e.key))], source) from None
    except _TooManyDigits as e:
        raise error([Problem("", _too_many_digits_message(text, e.digits))], source) from None
    except ValueError as e:
        raise error([Problem("", f"not valid JSON: {e}")], source) from None
    except RecursionError:
        raise error([Problem("", "not valid JSON: nested too deeply")], source) from None

