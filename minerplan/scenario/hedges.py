"""The hedge book's data: hashprice forwards, BTC puts and collars, and their validation (no engine).

A hedge book travels two ways, both untrusted JSON:

* inside a scenario file, as its optional ``hedges`` list (``Scenario.hedges``), so a
  book is saved and loaded with the scenario (a file without it has no book);
* as a separate hedge file (schema version 1)::

    {"schema_version": 1, "hedges": [
      {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 5000,
       "start_month": "2026-01", "tenor_months": 12},
      {"kind": "btc_put", "strike_usd": 80000, "btc_amount": 100, "expiry_month": "2026-06",
       "implied_vol_pct": 55, "risk_free_pct": 4.0},
      {"kind": "btc_collar", "put_strike_usd": 80000, "call_strike_usd": 110000, "btc_amount": 100,
       "expiry_month": "2026-06", "implied_vol_pct": 55, "risk_free_pct": 4.0}]}

Both report problems by field path (``hedges[1].strike_usd``); the union tag pydantic puts
after a list index is dropped (:func:`describe_hedge_error`). Rules that need the scenario's
months (a forward past the horizon) are checked where the hedges are evaluated, in
:mod:`minerplan.analysis.hedges`, so shortening a horizon never makes a saved file unreadable.
Money in USD, hashprice in USD per PH/s per day, rates and volatilities in % per year.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal, Sequence, Union

from pydantic import Field, ValidationError, field_validator

from minerplan.scenario.errors import Problem, ScenarioError, ScenarioFileError
from minerplan.scenario.file_io import read_document_bytes
from minerplan.scenario.json_text import parse_json_document
from minerplan.scenario.plausibility import Soft
from minerplan.scenario.validation_messages import (MAX_PROBLEMS_PER_FIELD, format_loc, json_kind, short_value,
                                                    validation_message)
from minerplan.scenario.value_types import Month, StrictModel

HEDGE_SCHEMA_VERSION = 1
MAX_HEDGES = 1000
MAX_HEDGE_FILE_BYTES = 5 * 1024 * 1024


class HedgeError(ScenarioError):
    """A hedge file is invalid, or does not fit the scenario it is applied to."""

    headline = "invalid hedges"


Vol = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False, description="implied volatility, % per year")]
#: Hard bounds refuse, soft ranges warn (minerplan.scenario.plausibility): a strike is a BTC price.
StrikeUsd = Annotated[float, Field(gt=0, le=100_000_000, allow_inf_nan=False),
                      Soft(5_000, 2_000_000, "USD", "BTC traded $15.5k-$126k in 2022-2025")]
#: No one can hedge more BTC than will ever exist (21 million).
BtcAmount = Annotated[float, Field(gt=0, le=21_000_000, allow_inf_nan=False),
                      Soft(None, 100_000, "BTC", "the largest miners hold ~50,000 BTC")]
RiskFree = Annotated[float, Field(ge=-20, le=100, allow_inf_nan=False,
                                  description="risk-free rate, % per year, continuously compounded")]


class HashpriceForward(StrictModel):
    """Sell hashprice forward: receive fixed, pay the path's hashprice, monthly, on ``notional_ph`` PH/s."""

    kind: Literal["hashprice_forward"]
    fixed_usd_per_ph_day: Annotated[float, Soft(10, 500, "USD per PH/s per day", "hashprice ranged ~$35-400 in "
                                                                                 "2021-2025")] = Field(
        gt=0, le=10_000, allow_inf_nan=False, description="fixed hashprice, USD per PH/s per day")
    notional_ph: Annotated[float, Soft(None, 100_000, "PH/s", "the largest miners run ~60 EH/s = 60,000 PH/s")] = \
        Field(gt=0, le=10_000_000, allow_inf_nan=False, description="notional hashrate, PH/s")
    start_month: Month
    tenor_months: int = Field(ge=1, le=600)


class BtcPut(StrictModel):
    """A European cash-settled put on ``btc_amount`` BTC, bought in month 0."""

    kind: Literal["btc_put"]
    strike_usd: StrikeUsd
    btc_amount: BtcAmount
    expiry_month: Month
    implied_vol_pct: Vol
    risk_free_pct: RiskFree = 4.0


class BtcCollar(StrictModel):
    """Long a put at ``put_strike_usd``, short a call at ``call_strike_usd``, on ``btc_amount`` BTC."""

    kind: Literal["btc_collar"]
    put_strike_usd: StrikeUsd
    call_strike_usd: StrikeUsd
    btc_amount: BtcAmount
    expiry_month: Month
    implied_vol_pct: Vol
    risk_free_pct: RiskFree = 4.0


Hedge = Annotated[Union[HashpriceForward, BtcPut, BtcCollar], Field(discriminator="kind")]
HEDGE_KINDS = ("hashprice_forward", "btc_put", "btc_collar")


class HedgeBook(StrictModel):
    """A separate hedge file: its schema version and the hedges."""

    schema_version: Literal[1]
    hedges: list[Hedge] = Field(max_length=MAX_HEDGES)

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, v):
        if type(v) is not int:
            raise ValueError(f"unsupported schema_version; this MinerPlan reads hedge files version "
                             f"{HEDGE_SCHEMA_VERSION}")
        return v


# --------------------------------------------------------------------------- validation messages

def _strip_tags(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after a list index: ``hedges, 1, btc_put, strike_usd`` -> without it."""
    out = []
    for i, part in enumerate(loc):
        if (part in HEDGE_KINDS and i >= 2 and loc[i - 2] == "hedges" and isinstance(loc[i - 1], int)
                and not isinstance(loc[i - 1], bool)):
            continue
        out.append(part)
    return tuple(out)


def describe_hedge_error(e: dict) -> tuple[tuple, Problem]:
    """A pydantic error of a document holding ``hedges``: its loc without union tags, and its problem."""
    loc = _strip_tags(tuple(e["loc"]))
    if e["type"] == "union_tag_invalid":
        tag = (e.get("ctx") or {}).get("tag")
        return loc, Problem(format_loc(loc + ("kind",)),
                            f"unknown kind {short_value(tag)}; expected one of {', '.join(HEDGE_KINDS)}")
    if e["type"] == "union_tag_not_found":
        return loc, Problem(format_loc(loc + ("kind",)),
                            f"required field is missing (one of {', '.join(HEDGE_KINDS)})")
    return loc, Problem(format_loc(loc), validation_message(e))


def _problems(err: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    per_field: dict[tuple, int] = {}
    for e in err.errors(include_url=False):
        loc, problem = describe_hedge_error(e)
        n = per_field[loc] = per_field.get(loc, 0) + 1
        if n <= MAX_PROBLEMS_PER_FIELD:
            problems.append(problem)
    return problems


def hedge_list(hedges: HedgeBook | Sequence | None) -> list:
    """The hedges of a :class:`HedgeBook`, a list of hedges, or None (no book: no hedges)."""
    if hedges is None:
        return []
    if isinstance(hedges, HedgeBook):
        return list(hedges.hedges)
    return list(hedges)


def check_hedges(hedges: HedgeBook | Sequence | None) -> list[Problem]:
    """Rules across fields of one hedge (the scenario-dependent ones are checked where hedges are evaluated)."""
    problems = []
    for i, h in enumerate(hedge_list(hedges)):
        if isinstance(h, BtcCollar) and h.call_strike_usd <= h.put_strike_usd:
            problems.append(Problem(f"hedges[{i}].call_strike_usd",
                                    f"{h.call_strike_usd:g} USD must be above put_strike_usd "
                                    f"({h.put_strike_usd:g} USD)"))
    return problems


# --------------------------------------------------------------------------- hedge files

def hedges_from_dict(data: Any, source: str | None = None) -> HedgeBook:
    """Validate a parsed hedge document; raises :class:`HedgeError` naming every field path."""
    if not isinstance(data, dict):
        raise HedgeError([Problem("", f"a hedge file is a JSON object, got {json_kind(data)}")], source)
    if "schema_version" not in data:
        raise HedgeError([Problem("schema_version", "required field is missing")], source)
    version = data["schema_version"]
    if type(version) is not int or version != HEDGE_SCHEMA_VERSION:
        raise HedgeError([Problem("schema_version", f"unsupported schema_version {short_value(version)}; "
                                                    f"this MinerPlan reads hedge files version "
                                                    f"{HEDGE_SCHEMA_VERSION}")], source)
    try:
        book = HedgeBook.model_validate(data)
    except ValidationError as e:
        raise HedgeError(_problems(e), source) from None
    problems = check_hedges(book)
    if problems:
        raise HedgeError(problems, source)
    return book


def hedges_from_json(text: str | bytes, source: str | None = None) -> HedgeBook:
    data = parse_json_document(text, source, max_bytes=MAX_HEDGE_FILE_BYTES, error=HedgeError, what="hedge file")
    return hedges_from_dict(data, source)


def load_hedges(path: str | os.PathLike) -> HedgeBook:
    """Read and validate a hedge file; raises :class:`HedgeError` (or ScenarioFileError when unreadable)."""
    source = str(path)
    raw = read_document_bytes(os.fspath(path))
    if isinstance(raw, str):
        raise ScenarioFileError([Problem("", raw.replace("scenario", "hedge"))], source)
    return hedges_from_json(raw, source)
