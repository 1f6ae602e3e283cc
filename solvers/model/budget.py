"""Capex budget: all capex of a calendar year, signed commitments included, within ``capex_budget_usd_per_year``.

Rows ``budget`` (year), in USD millions: the decisions' capex (purchases, conversions, moves' costs)
at or below the budget less the base plan's capex that year. Their duals are USD of objective per
USD of budget.
"""

from __future__ import annotations

import numpy as np

from .parts import USD_M, BuiltModel


def add_capex_budget(built: BuiltModel) -> None:
    """``budget``: capex per calendar year <= the budget (nothing without one)."""
    space = built.space
    st = space.settings
    if st.capex_budget_usd_per_year is None:
        return
    rows, upper, labels = [], [], []
    for k, year in enumerate(space.years):
        rows.append(space.capex_year[:, k] / USD_M if space.n_var else np.zeros(0))
        upper.append(float((st.capex_budget_usd_per_year - space.capex_base_year[k]) / USD_M))
        labels.append((year,))
    built.add_dense_rows("budget", "capex budget", rows, [None] * len(rows), upper, labels, keys=("year",),
                         unit="USD", per_unit=1.0 / USD_M)
