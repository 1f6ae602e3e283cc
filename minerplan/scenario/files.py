"""Reading and writing scenario files: untrusted JSON in, atomic JSON out.

Every failure becomes a :class:`ScenarioError` whose problems name the field
path (``fleet[2].count``) and what is wrong, so the CLI can print it and exit 2
and the app can show it in a dialog. No pickle, no eval.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from json.decoder import scanstring
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from minerplan.scenario.errors import Problem, ScenarioError, ScenarioFileError, safe_path
from minerplan.scenario.model import SCHEMA_VERSION, Scenario, check_consistency
from minerplan.scenario.value_types import MONTH_PATTERN

MAX_FILE_BYTES = 50 * 1024 * 1024
#: Integers with more digits are refused while parsing (no scenario field needs more than
#: nine; Python's own limit is 4300, and converting longer ones costs quadratic time).
MAX_INT_DIGITS = 4300
#: At most this many problems are listed for one field (a 12x24 profile has 288 cells).
MAX_PROBLEMS_PER_FIELD = 5
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_SCENARIO_PATH = ASSETS_DIR / "default_scenario.json"


def resolve_scenario_path(name: str | os.PathLike) -> Path:
    """``default`` means the scenario shipped in ``assets/``."""
    if str(name) == "default":
        return DEFAULT_SCENARIO_PATH
    return Path(name)


# --------------------------------------------------------------------------- showing input values safely

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


def _kind(value: Any) -> str:
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


def _short(value: Any, limit: int = 60) -> str:
    """``value`` for a message, JSON-style and escaped; never raises and stays short.

    Strings are shown as Python literals (``'2000'``), so control characters, ANSI
    escapes and newlines appear as ``\\x1b`` / ``\\n`` and cannot forge output lines.
    """
    try:
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()   # np.float64(1.5) -> 1.5: show the number, not numpy's repr
        if value is None or isinstance(value, bool):
            return _kind(value)
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
        return _kind(value)
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
    "model_type": "Input should be an object",
    "model_attributes_type": "Input should be an object",
    "dict_type": "Input should be an object",
    "list_type": "Input should be an array",
    "bool_type": "Input should be true or false",
}
_TYPE_ERRORS = frozenset(_KIND_MESSAGES) | {"float_type", "int_type", "string_type"}


def _field_key(loc: tuple) -> tuple:
    """The field a problem belongs to: its loc without trailing list indices
    (``sites[0].hourly_price_usd_per_mwh[3][5]`` -> ``sites[0].hourly_price_usd_per_mwh``)."""
    end = len(loc)
    while end > 1 and isinstance(loc[end - 1], int) and not isinstance(loc[end - 1], bool):
        end -= 1
    return loc[:end]


def _message(e: dict) -> str:
    kind = e["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and (e.get("ctx") or {}).get("pattern") == MONTH_PATTERN:
        return f"expected a month as YYYY-MM (e.g. 2025-12), got {_short(e.get('input'))}"
    msg = _KIND_MESSAGES.get(kind, e["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind in ("too_short", "too_long") and msg.startswith("List "):
        msg = "Array " + msg[len("List "):].replace(" after validation", "")
    if "input" in e:
        value = e["input"]
        if kind in _TYPE_ERRORS or not isinstance(value, (dict, list, tuple)):
            msg = f"{msg} (got {_short(value)})"
    return msg


def _problems_from_validation(err: ValidationError) -> list[Problem]:
    # The loc is used as it is: for this schema pydantic inserts no union or function tags
    # (every union is X | None), so every part is a real key or index of the input.
    entries = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        entries.append((_field_key(loc), Problem(format_loc(loc), _message(e))))
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


def scenario_from_dict(data: Any, source: str | None = None) -> Scenario:
    """Validate a parsed JSON document; raises ScenarioError naming every problem."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("", f"a scenario is a JSON object, got {_kind(data)}")], source)
    if "schema_version" not in data:
        raise ScenarioError([Problem("schema_version", "required field is missing")], source)
    version = data["schema_version"]
    # type(...) is int: 1.0 == 1 and True == 1, but neither is schema version 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ScenarioError([Problem("schema_version", f"unsupported schema_version {_short(version)}; "
                                                       f"this MinerPlan reads version {SCHEMA_VERSION}")], source)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(_problems_from_validation(e), source) from None
    problems = check_consistency(sc)
    if problems:
        raise ScenarioError(problems, source)
    return sc


# --------------------------------------------------------------------------- JSON text -> document

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
            return (f"duplicate key {_short(dup)} at {_line_col(text, pos)} ({_where(obj_loc)}); "
                    "a key may appear only once in an object")
    return f"duplicate key {_short(key)} in an object; a key may appear only once in an object"


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


def scenario_from_json(text: str | bytes, source: str | None = None) -> Scenario:
    return scenario_from_dict(parse_json_document(text, source), source)


# --------------------------------------------------------------------------- files

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open


def _not_regular(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a directory, not a scenario file"
    if not stat.S_ISREG(mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")
        return f"not a regular file ({what}); give a scenario JSON file"
    return None


def _read_scenario_bytes(p: Path) -> bytes | str:
    """The file's bytes (at most MAX_FILE_BYTES + 1 of them), or why it cannot be read."""
    try:
        st = os.stat(p)
        refusal = _not_regular(st.st_mode)
        if refusal:
            return refusal
        if st.st_size > MAX_FILE_BYTES:
            return f"file is {st.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
        fd = os.open(p, _OPEN_FLAGS)
        try:
            fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with fh:
            refusal = _not_regular(os.fstat(fh.fileno()).st_mode)  # replaced since the stat?
            if refusal:
                return refusal
            # Never trust st_size: read one byte past the limit to tell "too large".
            raw = fh.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return "file not found"
    except IsADirectoryError:
        return "is a directory, not a scenario file"
    except PermissionError:
        return "permission denied"
    except BlockingIOError:
        return "not a regular file; give a scenario JSON file"
    except OSError as e:
        return f"cannot read: {e.strerror or type(e).__name__}"
    except ValueError:  # e.g. a NUL character in the file name
        return "cannot read: not a valid file name"
    if len(raw) > MAX_FILE_BYTES:
        return f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes"
    return raw


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file (``default`` for the shipped one)."""
    p = resolve_scenario_path(path)
    source = str(path)
    if p != DEFAULT_SCENARIO_PATH:
        clean_stale_temps(p)   # what a killed save of this file left behind
    raw = _read_scenario_bytes(p)
    if isinstance(raw, str):
        raise ScenarioFileError([Problem("", raw)], source)
    return scenario_from_json(raw, source)


def scenario_to_dict(sc: Scenario) -> dict:
    """The JSON document for ``sc``; omits fields left unset (None)."""
    return sc.model_dump(mode="json", exclude_none=True)


def scenario_to_json(sc: Scenario) -> str:
    return json.dumps(scenario_to_dict(sc), indent=2, allow_nan=False) + "\n"


def _new_file_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would give: the old file's, or 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: Temp files of an atomic write are named ``.<target>.<pid>.<random>.tmp`` (a later step may add
#: ``.splice``); the pid lets a later write or load remove the ones a killed process left.
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp(\.splice)?$")
#: Temp files from before the pid was in the name are removed once this old (s): no write takes an hour.
_LEGACY_TEMP_AGE_S = 3600.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True   # someone else's live process (or unknowable): leave its file alone
    return True


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temp files that a crashed or killed write of ``path`` left next to it.

    ``kill -9`` (or a power cut) during :func:`atomic_write` cannot run any cleanup, so the
    next write or load of the same file does it: temps whose writing process is gone, and
    pid-less temps of older versions once an hour old. Returns what was removed.
    """
    import time

    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    removed = []
    try:
        candidates = list(directory.glob(f".{glob_escape(target.name)}.*.tmp*"))
    except OSError:
        return removed
    for f in candidates:
        m = _TEMP_RE.match(f.name)
        try:
            if m is not None and m.group("name") == target.name:
                stale = not _pid_alive(int(m.group("pid")))
            elif m is None and f.name.endswith((".tmp", ".tmp.splice")):
                stale = time.time() - f.lstat().st_mtime > _LEGACY_TEMP_AGE_S
            else:
                stale = False
            if stale and f.is_file() and not f.is_symlink():
                f.unlink()
                removed.append(f)
        except OSError:
            continue   # best effort: a temp we cannot remove is no reason to fail the write
    return removed


def clean_stale_temps_in(directory: str | os.PathLike) -> list[Path]:
    """:func:`clean_stale_temps` for every file of ``directory`` (the app's autosave folder, whose
    files are named per window, so no later write of the same name would find a killed one's temp)."""
    removed: list[Path] = []
    try:
        names = {m.group("name") for f in Path(directory).iterdir()
                 if (m := _TEMP_RE.match(f.name)) is not None}
    except OSError:
        return removed
    for name in sorted(names):
        removed += clean_stale_temps(Path(directory) / name)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped ([, *, ?)."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def _pending_dir() -> Path:
    from minerplan.scenario.user_dirs import cache_dir

    return cache_dir() / "pending-writes"


def _register_pending(tmp: str) -> Path | None:
    """Note ``tmp`` (an atomic write's temp file) in the register of writes in progress, so a
    later start can remove it if this process is killed first. Best effort: None if it cannot."""
    try:
        d = _pending_dir()
        d.mkdir(parents=True, exist_ok=True)
        fd, entry = tempfile.mkstemp(prefix=f"{os.getpid()}.", suffix=".txt", dir=d)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(os.path.abspath(tmp))
        return Path(entry)
    except OSError:
        return None


def clean_pending_writes() -> list[Path]:
    """Remove the temp files of atomic writes whose process died (``kill -9``, a power cut) and
    their register entries; called when the command or the app starts. Returns the files removed.

    Only a file named like an atomic write's temp (``.<name>.<pid>.<random>.tmp``, with that dead
    pid) is removed, so a damaged or forged entry cannot delete anything else.
    """
    removed: list[Path] = []
    try:
        entries = list(_pending_dir().glob("*.txt"))
    except OSError:
        return removed
    for entry in entries:
        try:
            pid = int(entry.name.split(".", 1)[0])
        except ValueError:
            continue
        if _pid_alive(pid):
            continue
        try:
            if entry.stat().st_size <= 4096:
                tmp = Path(entry.read_text(encoding="utf-8").strip())
                m = _TEMP_RE.match(tmp.name)
                if tmp.is_absolute() and m is not None and int(m.group("pid")) == pid:
                    for leftover in (tmp, Path(str(tmp) + ".splice")):
                        if leftover.is_file() and not leftover.is_symlink():
                            leftover.unlink()
                            removed.append(leftover)
            entry.unlink()
        except (OSError, UnicodeDecodeError, ValueError):
            continue   # best effort: a start must never fail over a leftover
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temp file in the same folder and a rename.

    ``write(tmp_path)`` fills the temp file (openpyxl's ``wb.save``, say). A
    crash mid-write leaves either the old file or the new one, never half of
    one; the new file gets the mode a plain write would have given it
    (mkstemp's private 0600 would surprise whoever shares the file). Ctrl-C
    removes the temp file at once; after ``kill -9`` the next start of MinerPlan
    removes it (:func:`clean_pending_writes`), as does the next write of the same
    file (its name carries the dead writer's pid).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    os.close(fd)
    entry = _register_pending(tmp)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, tmp + ".splice"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
        raise
    finally:
        if entry is not None:
            try:
                entry.unlink()
            except OSError:
                pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (see :func:`atomic_write`)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    atomic_write(path, write)


def save_scenario(sc: Scenario, path: str | os.PathLike) -> None:
    atomic_write_text(path, scenario_to_json(sc))
