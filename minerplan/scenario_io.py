"""Reading and writing scenario files: untrusted JSON in, atomic JSON out.

Every failure becomes a :class:`ScenarioError` whose problems name the field
path (``fleet[2].count``) and what is wrong, so the CLI can print it and exit 2
and the app can show it in a dialog. No pickle, no eval.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import Problem, ScenarioError
from .scenario import SCHEMA_VERSION, Scenario, check_consistency

MAX_FILE_BYTES = 50 * 1024 * 1024
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_SCENARIO_PATH = ASSETS_DIR / "default_scenario.json"


def resolve_scenario_path(name: str | os.PathLike) -> Path:
    """``default`` means the scenario shipped in ``assets/``."""
    if str(name) == "default":
        return DEFAULT_SCENARIO_PATH
    return Path(name)


def _reject_constant(token: str):
    raise ValueError(f"{token} is not allowed in a scenario (numbers must be finite)")


def _no_duplicate_keys(pairs):
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def format_loc(loc: tuple) -> str:
    """``('fleet', 2, 'site')`` -> ``fleet[2].site``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _problems_from_validation(err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic puts union members and tagged literals into the loc; drop type names.
        loc = tuple(p for p in loc if p not in ("float", "int", "str", "list[float]", "list[list[float]]",
                                                  "none", "constrained-float", "constrained-int"))
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "literal_error" and loc == ("schema_version",):
            msg = f"unsupported schema_version {e.get('input')!r}; this MinerPlan reads version {SCHEMA_VERSION}"
        elif "input" in e and e["type"] not in ("model_type", "dict_type") and _short(e["input"]) is not None:
            msg = f"{msg} (got {_short(e['input'])})"
        problems.append(Problem(format_loc(loc), msg))
    return problems


def _short(value: Any) -> str | None:
    if isinstance(value, (dict, list)):
        return None
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def scenario_from_dict(data: Any, source: str | None = None) -> Scenario:
    """Validate a parsed JSON document; raises ScenarioError naming every problem."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("", f"a scenario is a JSON object, got {type(data).__name__}")], source)
    version = data.get("schema_version")
    if "schema_version" not in data:
        raise ScenarioError([Problem("schema_version", "required field is missing")], source)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ScenarioError([Problem("schema_version", f"unsupported schema_version {version!r}; "
                                                       f"this MinerPlan reads version {SCHEMA_VERSION}")], source)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(_problems_from_validation(e), source) from None
    problems = check_consistency(sc)
    if problems:
        raise ScenarioError(problems, source)
    return sc


def scenario_from_json(text: str | bytes, source: str | None = None) -> Scenario:
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError([Problem("", f"file is {len(text):,} bytes; the limit is {MAX_FILE_BYTES:,}")], source)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ScenarioError([Problem("", f"not UTF-8 text (byte {e.start})")], source) from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise ScenarioError([Problem("", f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")],
                            source) from None
    except ValueError as e:
        raise ScenarioError([Problem("", f"not valid JSON: {e}")], source) from None
    except RecursionError:
        raise ScenarioError([Problem("", "not valid JSON: nested too deeply")], source) from None
    return scenario_from_dict(data, source)


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file (``default`` for the shipped one)."""
    p = resolve_scenario_path(path)
    source = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError([Problem("", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")], source)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem("", "file not found")], source) from None
    except IsADirectoryError:
        raise ScenarioError([Problem("", "is a directory, not a scenario file")], source) from None
    except PermissionError:
        raise ScenarioError([Problem("", "permission denied")], source) from None
    except OSError as e:
        raise ScenarioError([Problem("", f"cannot read: {e.strerror or e}")], source) from None
    return scenario_from_json(raw, source)


def scenario_to_dict(sc: Scenario) -> dict:
    """The JSON document for ``sc``; omits fields left unset (None)."""
    return sc.model_dump(mode="json", exclude_none=True)


def scenario_to_json(sc: Scenario) -> str:
    return json.dumps(scenario_to_dict(sc), indent=2, allow_nan=False) + "\n"


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename.

    A crash mid-write leaves either the old file or the new one, never half of one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_scenario(sc: Scenario, path: str | os.PathLike) -> None:
    atomic_write_text(path, scenario_to_json(sc))
