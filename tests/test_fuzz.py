"""A sampled subset of the fuzz corpus (tests/fuzz) on every test run; `make fuzz` runs all of it.

Each case must be answered clearly: exit 2 naming the field or cell (or exit 0 with a warning for a
value beyond its plausible range), no traceback, nothing written, inputs untouched. Controls (the
unchanged inputs) must be accepted, so a mutation, not a broken base file, is what each case tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))

from cases import all_cases  # noqa: E402
from harness import run_case, sample  # noqa: E402

#: One case in this many of each family runs here (the controls always do).
EVERY = 12

_ALL = all_cases()
_SAMPLE = sample(_ALL, EVERY) + [c for c in _ALL if c.expect == "ok" and c not in sample(_ALL, EVERY)]


def test_the_corpus_is_large_and_covers_every_input():
    assert len(_ALL) >= 1000
    families = {c.id.split("/")[0] for c in _ALL}
    assert {"scenario", "fleet.csv", "sites.csv", "fleet.xlsx", "hedges", "prices.csv", "api"} <= families
    assert sum(c.expect == "ok" for c in _ALL) == len(families)   # one control per family


@pytest.mark.parametrize("case", _SAMPLE, ids=[c.id for c in _SAMPLE])
def test_fuzz_case_is_answered_clearly(case):
    out = run_case(case)
    assert out.verdict == "clear", f"{out.verdict}: exit {out.exit_code}\n{out.stderr}"
