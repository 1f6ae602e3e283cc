"""Formula texts more than one sheet writes: the used-ASIC price of a unit and a lease's share of its cash.

One formula each, so the sheets that value the same thing (a cohort's salvage and its residual
at the horizon; a lease's cash on the AI-HPC sheet and past the horizon) cannot disagree.
"""

from __future__ import annotations

BIG = "1E+300"   # stands for infinity in comparisons (a slot that never / always runs)


def asic_unit_value(power_w: str, ths: str, hashprice: str) -> str:
    """Formula text of :func:`minerplan.engine.valuation.asic_unit_value_usd`: a unit's TH/s x the used-market price
    per TH/s of its J/TH at ``hashprice`` (USD per TH/s per day): days of margin at a buyer's power price."""
    eff = f"({power_w}/({ths}))"
    return (f"({ths})*MAX(asic_margin_days*(MAX({hashprice},0)-asic_buyer_power_usd_per_kwh*0.024*{eff}),"
            f"asic_scrap_usd_per_th)")


def lease_weight_formula(idx: str, ready: str, term: str, life: str, renewal: str) -> str:
    """Excel formula for the share of a colocation lease's cash in month `idx` (a 0-based month index
    cell): 1 under contract, `renewal` (a 0..1 expression) after the term until the facility's life
    ends, else 0. `ready`, `term` and `life` are cells in months; one formula for the AI-HPC sheet and
    the terminal value, so both read a lease the same way."""
    return (f"IF(AND({idx}>={ready},{idx}<{ready}+{term}),1,IF(AND({idx}>={ready}+{term},"
            f"{idx}<{ready}+MAX({life},{term})),{renewal},0))")
