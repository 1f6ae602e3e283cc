"""Scenario validation: malformed files are rejected with a message that names the field.

* a corpus of malformed scenario files (``tests/corpus/bad``), one problem each, with the
  expected field path and message fragment in ``tests/corpus/bad/EXPECTED.json``;
  entries with an ``"xfail"`` reason document a known loader defect (the expectation
  states the correct behaviour, the test xfails while the defect is there);
* the ``minerplan validate`` command: exit status 2, the field path on stderr, no traceback;
* the shipped default scenario validates and round-trips, and saves are atomic;
* property tests: arbitrary JSON values, mutations of the default scenario and arbitrary
  bytes never make the loader raise anything but :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minerplan.scenario import file_io
from minerplan.scenario import validation_messages
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import (
    DEFAULT_SCENARIO_PATH,
    load_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_from_json,
    scenario_to_json,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "bad"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "EXPECTED.json").read_text(encoding="utf-8"))
TOP_LEVEL_FIELDS = frozenset(Scenario.model_fields)
DEFAULT_DOC: dict = json.loads(DEFAULT_SCENARIO_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- corpus

def test_corpus_and_expectations_match():
    files = {p.name for p in CORPUS.glob("*.json")} - {"EXPECTED.json"}
    assert len(files) >= 30
    assert files == set(EXPECTED), (sorted(files - set(EXPECTED)), sorted(set(EXPECTED) - files))
    for name, exp in EXPECTED.items():
        assert set(exp) <= {"path", "contains", "xfail"}, name
        assert isinstance(exp["path"], str) and isinstance(exp["contains"], str) and exp["contains"], name
        assert exp["contains"] == exp["contains"].lower(), f"{name}: 'contains' must be lowercase"


def _first_segment(path: str) -> str:
    return re.match(r"[^.\[]*", path).group(0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_rejected_naming_the_field(name):
    exp = EXPECTED[name]
    try:
        load_scenario(CORPUS / name)
    except ScenarioError as e:  # any other exception type fails the test, xfail or not
        err = e
    else:
        if "xfail" in exp:
            pytest.xfail(exp["xfail"])
        pytest.fail(f"{name} was accepted as a valid scenario")

    assert err.problems, "a ScenarioError must carry at least one problem"
    for p in err.problems:
        assert isinstance(p, Problem) and isinstance(p.path, str) and isinstance(p.message, str) and p.message
    assert "Traceback" not in str(err)
    for line in str(err).split("\n"):  # nothing from the file reaches a terminal unescaped
        assert line.isprintable(), line
    assert err.source == str(CORPUS / name)

    hits = [p for p in err.problems if p.path == exp["path"] and exp["contains"] in p.message.lower()]
    if not hits:
        got = "; ".join(f"{p.path!r}: {p.message}" for p in err.problems)
        if "xfail" in exp:
            pytest.xfail(f"{exp['xfail']} (got {got})")
        pytest.fail(f"{name}: expected a problem at {exp['path']!r} containing {exp['contains']!r}; got {got}")


# --------------------------------------------------------------------------- CLI

def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("MINERPLAN_DEBUG", None)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return subprocess.run([sys.executable, "-m", "minerplan.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, errors="replace", timeout=120, **kwargs)


CLI_CASES = ["fleet_unknown_site.json", "unknown_nested_typo.json", "count_string.json",
             "fleet_exceeds_capacity_pue.json", "hourly_23_hours.json", "nan_literal.json", "non_utf8.json"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_validate_bad_file_exits_2_and_names_the_field(name):
    exp = EXPECTED[name]
    assert "xfail" not in exp
    r = run_cli("validate", str(CORPUS / name))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stderr.startswith("minerplan: ")
    if exp["path"]:
        assert f"{exp['path']}: " in r.stderr
    assert exp["contains"] in r.stderr.lower()
    assert r.stdout == ""


def test_cli_validate_missing_file_exits_2(tmp_path):
    r = run_cli("validate", str(tmp_path / "no-such-scenario.json"))
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr
    assert "not found" in r.stderr


def test_cli_validate_directory_exits_2(tmp_path):
    r = run_cli("validate", str(tmp_path))
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr
    assert "directory" in r.stderr


def test_cli_validate_default_exits_0():
    r = run_cli("validate", "default")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK: default:")
    assert "Traceback" not in r.stdout + r.stderr


def test_cli_escapes_control_characters_in_field_names(tmp_path):
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["sites"][0]["\u001b[2Jx\nOK: all good"] = 1
    f = tmp_path / "ctl.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    r = run_cli("validate", str(f))
    assert r.returncode == 2
    assert "\x1b" not in r.stderr and "\nOK: all good" not in r.stderr
    # one line, naming the field with the key escaped (\x1b and \n written out)
    assert r.stderr.count("\n") == 1, r.stderr
    assert "sites[0]" in r.stderr and "unknown field" in r.stderr
    assert "\\x1b[2Jx\\nOK: all good" in r.stderr


@pytest.mark.skipif(not (sys.platform.startswith("linux") and Path("/dev/zero").exists()), reason="needs /dev/zero")
def test_cli_validate_endless_device_exits_2():
    import resource

    def limit_memory():  # keep the runaway read bounded: 1 GiB of address space
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("MINERPLAN_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "minerplan.cli.main", "validate", "/dev/zero"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)
    assert "Traceback" not in r.stdout + r.stderr
    assert r.returncode == 2, r.stderr
    assert "not a regular file" in r.stderr
    assert "invalid scenario" not in r.stderr


# --------------------------------------------------------------------------- default scenario, round trip, saving

def test_default_scenario_round_trips():
    sc = load_scenario("default")
    text = scenario_to_json(sc)
    again = scenario_from_json(text)
    assert again == sc
    assert scenario_to_json(again) == text
    assert scenario_from_dict(json.loads(text)) == sc


def test_save_scenario_writes_atomically_and_leaves_no_temp_files(tmp_path):
    sc = load_scenario("default")
    target = tmp_path / "plan.json"
    save_scenario(sc, target)
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert load_scenario(target) == sc

    renamed = sc.model_copy(update={"name": "Renamed plan"})
    save_scenario(renamed, target)  # overwrite an existing file
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert load_scenario(target).name == "Renamed plan"


def test_save_scenario_failed_replace_keeps_original_and_no_temp(tmp_path, monkeypatch):
    sc = load_scenario("default")
    target = tmp_path / "plan.json"
    original = b'{"the": "original file"}\n'
    target.write_bytes(original)

    def failing_replace(src, dst, *a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_io.os, "replace", failing_replace)
    with pytest.raises(OSError):
        save_scenario(sc, target)
    assert target.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_save_scenario_failed_write_keeps_original_and_no_temp(tmp_path, monkeypatch):
    sc = load_scenario("default")
    target = tmp_path / "plan.json"
    original = b'{"the": "original file"}\n'
    target.write_bytes(original)

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(file_io.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        save_scenario(sc, target)
    assert target.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_save_scenario_failed_replace_creates_nothing(tmp_path, monkeypatch):
    sc = load_scenario("default")
    monkeypatch.setattr(file_io.os, "replace", lambda *a, **kw: (_ for _ in ()).throw(OSError(13, "denied")))
    with pytest.raises(OSError):
        save_scenario(sc, tmp_path / "new.json")
    assert list(tmp_path.iterdir()) == []


def test_dict_api_rejects_huge_int_with_scenario_error():
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["market"]["block_height"] = 10**5000
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert Problem("market.block_height", "must be at most 50,000,000 "
                                          "(got an integer with 5,001 digits)") in info.value.problems
    assert "set_int_max_str_digits" not in str(info.value)


@pytest.mark.parametrize("where", ["schema_version", "horizon_months", "count", "notes"])
def test_dict_api_huge_int_anywhere_raises_scenario_error(where):
    doc = copy.deepcopy(DEFAULT_DOC)
    if where == "count":
        doc["fleet"][0]["count"] = -(10**5000)
    else:
        doc[where] = 10**5000
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert "digits" in str(info.value) and "set_int_max_str_digits" not in str(info.value)


def test_short_never_raises_and_shows_json_style_values():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr")

        __str__ = __repr__

    short = validation_messages.short_value
    assert short(None) == "null" and short(True) == "true" and short(False) == "false"
    assert short(12) == "12" and short(1.5) == "1.5" and short("2000") == "'2000'"
    assert short(float("nan")) == "NaN" and short(float("-inf")) == "-Infinity"
    assert short(10**5000) == "an integer with 5,001 digits"
    assert short(-(10**4300) + 1) == "an integer with 4,300 digits"
    assert short({"a": 1}) == "an object" and short([1]) == "an array"
    assert short("\x1b[2J\nOK") == "'\\x1b[2J\\nOK'"
    long = short("x" * 10_000)
    assert len(long) < 80 and "10,000 characters" in long
    assert isinstance(short(Hostile()), str)


@pytest.mark.parametrize("value", [1.0, True, "1", None, 2, 10**5000, [1], {"v": 1}],
                         ids=["1.0", "true", "string", "null", "2", "huge", "array", "object"])
def test_schema_version_must_be_the_integer_1(value):
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["schema_version"] = value
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    [p] = info.value.problems
    assert p.path == "schema_version" and p.message.startswith("unsupported schema_version ")
    with pytest.raises(Exception):  # the model itself does not coerce 1.0 (or True) either
        Scenario.model_validate(doc)


def _problems_for(doc) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    return info.value.problems


@pytest.mark.parametrize("field", ["purchase_month", "retire_month"])
def test_cohort_months_before_start_are_rejected(field):
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["start_month"] = "2025-12"
    doc["fleet"][0].pop("age_months", None)
    doc["fleet"][0][field] = "2025-06"
    problems = _problems_for(doc)
    assert any(p.path == f"fleet[0].{field}" and p.message.startswith("2025-06 is before start_month 2025-12")
               for p in problems), problems


@pytest.mark.parametrize("month", ["0000-06", "\uff12\uff10\uff12\uff16-06", "\u0662\u0660\u0662\u0666-06",
                                   "2026-6", "2026-06\n", " 2026-06", "2026-13", "2026-00", "202606", "26-06"])
def test_month_fields_accept_only_ascii_yyyy_mm(month):
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["fleet"][0]["purchase_month"] = month
    doc["fleet"][0].pop("age_months", None)
    problems = _problems_for(doc)
    msg = f"expected a month as YYYY-MM (e.g. 2025-12), got {month!r}"
    assert Problem("fleet[0].purchase_month", msg) in problems, problems
    assert not any("pattern" in p.message for p in problems)


@pytest.mark.parametrize("key", ["none", "int", "str", "float", "constrained-float", "function-after",
                                 "list[float]", "bool"])
def test_unknown_keys_named_like_pydantic_tags_keep_their_name(key):
    for where, path in ((DEFAULT_DOC, key), (DEFAULT_DOC["sites"][0], f"sites[0].{key}"),
                        (DEFAULT_DOC["sites"][2]["ai"], f"sites[2].ai.{key}")):
        doc = copy.deepcopy(DEFAULT_DOC)
        target = doc if where is DEFAULT_DOC else doc["sites"][0] if where is DEFAULT_DOC["sites"][0] \
            else doc["sites"][2]["ai"]
        target[key] = 1
        assert Problem(path, "unknown field") in _problems_for(doc)


BAD_VALUES = [None, True, 2.5, -1, "x", [], [1], {}, {"k": 1}]


def _doc_paths(doc, prefix=()):
    items = doc.items() if isinstance(doc, dict) else enumerate(doc[:1]) if isinstance(doc, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from _doc_paths(v, prefix + (k,))


def test_problem_paths_never_drop_a_key():
    """Every problem path is the real path into the document (pydantic inserts no union
    or type tags for this schema), checked by putting wrong values into every field."""
    from minerplan.scenario.validation_messages import format_loc

    for path in _doc_paths(DEFAULT_DOC):
        for bad in BAD_VALUES:
            doc = copy.deepcopy(DEFAULT_DOC)
            _get(doc, path[:-1])[path[-1]] = bad
            try:
                scenario_from_dict(doc)
            except ScenarioError as e:
                here = format_loc(path)
                for p in e.problems:
                    if p.path.startswith(here):
                        rest = p.path[len(here):]
                        assert rest == "" or rest[0] in ".[", (path, bad, p)


def test_problems_for_one_field_are_capped():
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["sites"][0]["hourly_price_usd_per_mwh"] = [["x"] * 24 for _ in range(12)]
    problems = _problems_for(doc)
    field = "sites[0].hourly_price_usd_per_mwh"
    mine = [p for p in problems if p.path.startswith(field)]
    assert len(mine) == validation_messages.MAX_PROBLEMS_PER_FIELD + 1, mine
    assert mine[-1] == Problem(field, f"... and {288 - validation_messages.MAX_PROBLEMS_PER_FIELD} more problems "
                                      "in this field (not shown)")
    assert mine[0] == Problem(f"{field}[0][0]", "must be a number (got 'x')")
    assert mine[-1].omitted == 288 - validation_messages.MAX_PROBLEMS_PER_FIELD
    assert str(ScenarioError(problems)).startswith(f"invalid scenario ({len(problems) - 1 + mine[-1].omitted} "
                                                   "problems):")


def test_describe_caps_the_number_of_lines():
    err = ScenarioError([Problem(f"fleet[{i}].site", "bad") for i in range(500)], "f.json")
    text = str(err)
    assert len(text.splitlines()) < 60 and "450 more problems" in text
    assert len(err.problems) == 500


def test_json_kind_names_in_messages():
    for text, kind in (("null", "null"), ("[]", "an array"), ('"x"', "a string"), ("1", "a number"),
                       ("true", "true")):
        with pytest.raises(ScenarioError) as info:
            scenario_from_json(text)
        assert info.value.problems == [Problem("", f"a scenario is a JSON object, got {kind}")]
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["sites"][0]["curtailment_enabled"] = "yes"
    doc["monte_carlo"] = []
    doc["fleet"] = {}
    problems = _problems_for(doc)
    assert Problem("sites[0].curtailment_enabled", "must be true or false (got 'yes')") in problems
    assert Problem("monte_carlo", "must be an object (got an array)") in problems
    assert Problem("fleet", "must be an array (got an object)") in problems
    for p in problems:
        for word in ("dict", "list", "NoneType", "bool", "instance of"):
            assert word not in p.message, p


@pytest.mark.parametrize("text, message", [
    ("", "file is empty"),
    ("\ufeff", "file is empty"),
    (" \n\t", "not valid JSON: the file holds only whitespace"),
    ('{"name": "abc', "not valid JSON: unterminated string starting at line 1 column 10"),
    ('{"a": 1,}', "not valid JSON: illegal trailing comma before end of object at line 1 column 8"
     if sys.version_info >= (3, 13) else "not valid JSON: expecting property name enclosed in double quotes "
                                         "at line 1 column 9"),
    ('{"a": "x\ty"}', "not valid JSON: invalid control character at line 1 column 9"),
    ('{"a": 1, "b": [1, {"c": 2, "c": 3}]}',
     "duplicate key 'c' at line 1 column 28 (in b[1]); a key may appear only once in an object"),
    ('{"a": 1,\n "a": 2}', "duplicate key 'a' at line 2 column 2 (in the top-level object); "
                            "a key may appear only once in an object"),
    ('{"s": [{"x\\u001b[2J": 1, "x\\u001b[2J": 2}]}',
     "duplicate key '\\x1b[2J' at line 1 column 26 (in s[0]); a key may appear only once in an object"
     .replace("'\\x1b", "'x\\x1b")),
    ('{"m": {"h": ' + "9" * 5000 + "}}",
     "the integer at line 1 column 13 (m.h) has 5,000 digits; at most 4300 digits are allowed"),
    ("-" + "1" * 4301, "the integer at line 1 column 1 has 4,301 digits; at most 4300 digits are allowed"),
    ('{"a": [1, 2, "s,s", 3, [3, 4, 7], 5, {"k": [1,2,{"z":1,"z":2}]}]}',
     "duplicate key 'z' at line 1 column 56 (in a[6].k[2]); a key may appear only once in an object"),
    ("[[1,2],[3,[4,5,{\"q\":[1,\n -" + "1" * 4400 + "]}]]]",
     "the integer at line 2 column 2 ([1][1][2].q[1]) has 4,400 digits; at most 4300 digits are allowed"),
])
def test_json_level_messages(text, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_json(text)
    assert info.value.problems == [Problem("", message)]
    assert " at at " not in str(info.value) and "sys." not in str(info.value)


def _dump_with_duplicate(value, target, out, loc=()):
    """JSON text of ``value`` (as a list of chunks in ``out``) with the first key of the object at
    ``target`` written twice; returns (loc, position of the repeated key) once written."""
    found = None
    if isinstance(value, dict):
        out.append("{")
        items = list(value.items())
        if loc == target:
            items.append(items[0])
        for n, (k, v) in enumerate(items):
            if n:
                out.append(", " if n % 3 else ",\n  ")
            if loc == target and n == len(items) - 1:
                found = (loc, sum(map(len, out)), k)
            out.append(json.dumps(k) + ": ")
            found = _dump_with_duplicate(v, target, out, loc + (k,)) or found
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for n, v in enumerate(value):
            if n:
                out.append(",\n" if n % 4 == 3 else ", ")
            found = _dump_with_duplicate(v, target, out, loc + (n,)) or found
        out.append("]")
    else:
        out.append(json.dumps(value))
    return found


finite_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_duplicate_key_is_located_exactly(data):
    from minerplan.scenario.validation_messages import format_loc

    value = data.draw(finite_json_values.filter(lambda v: isinstance(v, (dict, list))), label="doc")
    value = {"wrap": value}
    targets = [c for c in _containers(value) if _get(value, c)]  # non-empty objects
    target = data.draw(st.sampled_from(targets), label="target")
    out: list[str] = []
    loc, pos, key = _dump_with_duplicate(value, target, out)
    text = "".join(out)
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    where = f"in {format_loc(loc)}" if loc else "in the top-level object"
    if not format_loc(loc).isprintable():
        where = f"in {format_loc(loc)!r}"
    with pytest.raises(ScenarioError) as info:
        scenario_from_json(text)
    assert info.value.problems == [Problem("", f"duplicate key {validation_messages.short_value(key)} at line {line} column "
                                                f"{column} ({where}); a key may appear only once in an object")]


def test_big_int_limit_does_not_depend_on_interpreter_setting():
    set_digits = getattr(sys, "set_int_max_str_digits", None)
    if set_digits is None:
        pytest.skip("no int digit limit in this Python")
    before = sys.get_int_max_str_digits()
    try:
        set_digits(0)  # unlimited: the loader still refuses
        with pytest.raises(ScenarioError, match="has 5,000 digits"):
            scenario_from_json("[" + "7" * 5000 + "]")
        set_digits(700)  # lower than ours: still a ScenarioError, no advice to change it
        with pytest.raises(ScenarioError) as info:
            scenario_from_json("[" + "7" * 1000 + "]")
        assert "digits" in str(info.value) and "set_int_max_str_digits" not in str(info.value)
    finally:
        set_digits(before)


def test_file_access_problems_are_not_called_invalid_scenarios(tmp_path):
    cases = [(tmp_path / "missing.json", "file not found"),
             (tmp_path, "is a directory, not a scenario file"),
             (tmp_path / "missing-dir" / "x.json", "file not found")]
    for path, message in cases:
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        assert info.value.problems == [Problem("", message)]
        assert str(info.value) == f"{path}: {message}"
    with pytest.raises(ScenarioError) as info:  # content problems still say what they are
        load_scenario(CORPUS / "truncated.json")
    assert "invalid scenario: not valid JSON" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_says_permission_denied(tmp_path):
    f = tmp_path / "secret.json"
    f.write_text("{}", encoding="utf-8")
    f.chmod(0)
    try:
        with pytest.raises(ScenarioError) as info:
            load_scenario(f)
    finally:
        f.chmod(0o600)
    assert str(info.value) == f"{f}: permission denied"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_cli_validate_fifo_exits_2_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    r = run_cli("validate", str(fifo))  # would block forever if the loader opened it for reading
    assert r.returncode == 2, r.stderr
    assert "not a regular file" in r.stderr and "Traceback" not in r.stderr


def test_load_reads_at_most_the_limit_whatever_stat_says(tmp_path, monkeypatch):
    f = tmp_path / "big.json"
    f.write_bytes(b" " * 300)
    real_stat = os.stat

    def lying_stat(path, *a, **kw):  # a device or a growing file: st_size says nothing
        st = real_stat(path, *a, **kw)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 0,
                               st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(file_io, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(file_io.os, "stat", lying_stat)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.problems == [Problem("", "file is larger than the limit of 100 bytes")]
    monkeypatch.setattr(file_io.os, "stat", real_stat)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.problems == [Problem("", "file is 300 bytes; the limit is 100")]


def test_values_and_names_from_the_file_are_escaped_when_printed():
    doc = copy.deepcopy(DEFAULT_DOC)
    doc["fleet"][0]["count"] = "1\n  - fleet[9].count: \x1b[31mforged"
    doc["fleet"][1]["site"] = "Nowhere\x1b[0m"
    doc["sites"][1]["name"] = "Geo\ngia"
    doc["x\u202ey"] = 1  # a bidi override in an unknown top-level key
    schema_errors = str(_problems_for_error(doc))
    doc = copy.deepcopy(DEFAULT_DOC)  # valid per field, so the cross-field messages show the names
    doc["fleet"][1]["site"] = "Nowhere\x1b[0m"
    doc["sites"][1]["name"] = "Geo\ngia"
    consistency_errors = str(_problems_for_error(doc))
    assert "'x\\u202ey': unknown field" in schema_errors
    assert "(got '1\\n  - fleet[9].count: \\x1b[31mforged')" in schema_errors
    assert "'Geo\\ngia'" in consistency_errors and "'Nowhere\\x1b[0m'" in consistency_errors
    for text in (schema_errors, consistency_errors):
        lines = text.split("\n")
        for line in lines:
            assert line.isprintable(), line
        assert not any(line.startswith("  - fleet[9]") for line in lines)
        assert len(lines) == 1 + text.count("\n  - ")


def _problems_for_error(doc) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert len(info.value.problems) > 1
    return info.value


# --------------------------------------------------------------------------- property tests

def _parsed(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None


def _check_error(err: ScenarioError, doc=None) -> None:
    """Every problem has a string path starting at a scenario field ('' for the whole file).

    The one exception is an unknown top-level key, which is (correctly) reported under its own name.
    """
    assert err.problems
    for p in err.problems:
        assert isinstance(p, Problem)
        assert isinstance(p.path, str) and isinstance(p.message, str) and p.message
        first = _first_segment(p.path)
        ok = p.path == "" or first in TOP_LEVEL_FIELDS
        # an unknown top-level key is reported under its own name
        ok = ok or (p.message == "unknown field" and isinstance(doc, dict) and p.path in doc)
        assert ok, f"problem path {p.path!r} does not start with a scenario field ({p})"
    str(err)  # the message renders


def _round_trips(sc: Scenario) -> None:
    text = scenario_to_json(sc)
    assert scenario_from_json(text) == sc


json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(sorted(TOP_LEVEL_FIELDS)), children, max_size=4),
    max_leaves=20,
)
# Objects that get past the schema_version gate, so the model validators see them.
scenario_like = st.fixed_dictionaries(
    {"schema_version": st.just(1)},
    optional={name: json_values for name in sorted(TOP_LEVEL_FIELDS - {"schema_version"})},
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values | scenario_like)
def test_arbitrary_json_values_raise_only_scenario_error(value):
    text = json.dumps(value)  # NaN/Infinity become literals the loader must reject
    try:
        sc = scenario_from_json(text)
    except ScenarioError as e:
        _check_error(e, value)
    else:
        assert isinstance(sc, Scenario)


def _paths(doc, prefix=()):
    """Key paths into ``doc``; of the 12x24 hourly profile only the row level and row 0 cells."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        p = prefix + (k,)
        if "hourly_price_usd_per_mwh" in prefix:
            i = prefix.index("hourly_price_usd_per_mwh")
            if len(p) - i - 1 == 2 and p[i + 1] != 0:
                continue
        out.append(p)
        out += _paths(v, p)
    return out


def _get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def _containers(doc, prefix=()):
    out = [prefix] if isinstance(doc, dict) else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _containers(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:2]):
            out += _containers(v, prefix + (i,))
    return out


MUTATIONS = ("replace", "delete", "add_unknown")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_default_scenario_raises_only_scenario_error(data):
    doc = copy.deepcopy(DEFAULT_DOC)
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        op = data.draw(st.sampled_from(MUTATIONS), label="op")
        if op == "add_unknown":
            where = data.draw(st.sampled_from(_containers(doc)), label="container")
            target = _get(doc, where)
            key = data.draw(st.text(max_size=12).filter(lambda k, t=target: k not in t), label="key")
            target[key] = data.draw(json_values, label="value")
            continue
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = _get(doc, path[:-1])
        if op == "replace":
            parent[path[-1]] = data.draw(json_values, label="value")
        else:
            del parent[path[-1]]

    try:
        sc = scenario_from_dict(copy.deepcopy(doc))
    except ScenarioError as e:
        _check_error(e, doc)
    else:
        _round_trips(sc)
    # the same document as a file's text (NaN/Infinity from floats are rejected while parsing)
    try:
        scenario_from_json(json.dumps(doc))
    except ScenarioError as e:
        _check_error(e, doc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=4096))
def test_random_bytes_raise_only_scenario_error(raw):
    try:
        sc = scenario_from_json(raw)
    except ScenarioError as e:
        _check_error(e, _parsed(raw))
    else:  # pragma: no cover - random bytes that form a valid scenario
        assert isinstance(sc, Scenario)


DEFAULT_BYTES = DEFAULT_SCENARIO_PATH.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_byte_mutations_of_default_file_raise_only_scenario_error(data):
    raw = bytearray(DEFAULT_BYTES)
    for _ in range(data.draw(st.integers(1, 4), label="n_edits")):
        i = data.draw(st.integers(0, len(raw)), label="offset")
        kind = data.draw(st.sampled_from(("flip", "insert", "delete", "truncate")), label="kind")
        if kind == "truncate":
            del raw[i:]
        elif kind == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8), label="bytes")
        elif i < len(raw):
            if kind == "flip":
                raw[i] = data.draw(st.integers(0, 255), label="byte")
            else:
                del raw[i:i + data.draw(st.integers(1, 16), label="n")]
    try:
        sc = scenario_from_json(bytes(raw))
    except ScenarioError as e:
        _check_error(e, _parsed(bytes(raw)))
    else:
        assert isinstance(sc, Scenario)
