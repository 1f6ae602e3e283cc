"""The value types every scenario (and hedge) field is built from: strict models, months, names, bounds.

``StrictModel`` is the base of every document type: unknown fields, wrong types and
out-of-range values are refused, never coerced, and instances are frozen. The annotated
types carry their hard bounds (pydantic ``ge``/``le``: refused) and, for market
magnitudes, a soft range (:class:`~minerplan.scenario.plausibility.Soft`: a warning).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from minerplan.scenario.plausibility import Soft

NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Pos = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Pct = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
#: ``YYYY-MM`` with ASCII digits only (``\d`` would let any Unicode digit through) and no year 0000.
MONTH_PATTERN = r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="calendar month YYYY-MM (e.g. 2025-12)")]


def _printable_name(v: str) -> str:
    # A name reaches terminals, spreadsheets (XML forbids most control characters) and charts:
    # a tab, NUL, ANSI escape or bidi override in it is a mistake or an attack, never a name.
    if not v.isprintable():
        bad = next(ch for ch in v if not ch.isprintable())
        raise ValueError(f"must not contain control or invisible characters (found {bad!r} at position "
                         f"{v.index(bad) + 1})")
    if v != v.strip():
        raise ValueError("must not start or end with spaces")
    return v


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable_name)]

# Hard bounds (pydantic ge/le: refused) and soft ranges (Soft: a warning) of the market's
# magnitudes; see minerplan.scenario.plausibility for the convention and docs/sources.md for the anchors.
BtcPriceUsd = Annotated[float, Field(ge=1, le=100_000_000, allow_inf_nan=False),
                        Soft(5_000, 2_000_000, "USD", "BTC traded $15.5k-$126k in 2022-2025")]
UsdPerMwh = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False),
                      Soft(None, 300, "USD/MWh", "industrial power averages $30-120/MWh; ERCOT's offer cap is "
                                                 "$5,000/MWh for single hours")]


class StrictModel(BaseModel):
    """Base of the file's types: extra fields forbidden, no coercion, frozen, defaults validated."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)
