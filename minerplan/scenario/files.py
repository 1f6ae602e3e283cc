"""The scenario file format: untrusted JSON in, atomic JSON out.

Every failure becomes a :class:`ScenarioError` whose problems name the field
path (``fleet[2].count``) and what is wrong, so the CLI can print it and exit 2
and the app can show it in a dialog. No pickle, no eval. The parts: strict JSON text
(:mod:`~minerplan.scenario.json_text`), pydantic errors as problems
(:mod:`~minerplan.scenario.validation_messages`), bounded reads and atomic writes
(:mod:`~minerplan.scenario.file_io`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from minerplan.scenario.errors import Problem, ScenarioError, ScenarioFileError
from minerplan.scenario.file_io import atomic_write_text, clean_stale_temps, read_document_bytes
from minerplan.scenario.hedges import describe_hedge_error
from minerplan.scenario.json_text import parse_json_document
from minerplan.scenario.model import SCHEMA_VERSION, Scenario, check_consistency
from minerplan.scenario.validation_messages import json_kind, problems_from_validation, short_value

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_SCENARIO_PATH = ASSETS_DIR / "default_scenario.json"


def resolve_scenario_path(name: str | os.PathLike) -> Path:
    """``default`` means the scenario shipped in ``assets/``."""
    if str(name) == "default":
        return DEFAULT_SCENARIO_PATH
    return Path(name)


def scenario_from_dict(data: Any, source: str | None = None) -> Scenario:
    """Validate a parsed JSON document; raises ScenarioError naming every problem."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem("", f"a scenario is a JSON object, got {json_kind(data)}")], source)
    if "schema_version" not in data:
        raise ScenarioError([Problem("schema_version", "required field is missing")], source)
    version = data["schema_version"]
    # type(...) is int: 1.0 == 1 and True == 1, but neither is schema version 1.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ScenarioError([Problem("schema_version", f"unsupported schema_version {short_value(version)}; "
                                                       f"this MinerPlan reads version {SCHEMA_VERSION}")], source)
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(problems_from_validation(e, describe_hedge_error), source) from None
    problems = check_consistency(sc)
    if problems:
        raise ScenarioError(problems, source)
    return sc


def scenario_from_json(text: str | bytes, source: str | None = None) -> Scenario:
    return scenario_from_dict(parse_json_document(text, source), source)


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file (``default`` for the shipped one)."""
    p = resolve_scenario_path(path)
    source = str(path)
    if p != DEFAULT_SCENARIO_PATH:
        clean_stale_temps(p)   # what a killed save of this file left behind
    raw = read_document_bytes(p)
    if isinstance(raw, str):
        raise ScenarioFileError([Problem("", raw)], source)
    return scenario_from_json(raw, source)


def scenario_to_dict(sc: Scenario) -> dict:
    """The JSON document for ``sc``; omits fields left unset (None)."""
    return sc.model_dump(mode="json", exclude_none=True)


def scenario_to_json(sc: Scenario) -> str:
    return json.dumps(scenario_to_dict(sc), indent=2, allow_nan=False) + "\n"


def save_scenario(sc: Scenario, path: str | os.PathLike) -> None:
    atomic_write_text(path, scenario_to_json(sc))
