"""The decision space's types: one row per decision variable, and what one unit of each does.

:class:`DecisionSpace` holds the candidate decisions as a tidy table (PyPSA's habit: one row per
variable in ``table``) and numpy arrays of what one unit of each decision does to every path's NPV
(USD), to each site's gross MW per month, to capex per calendar year, to cash per liquidity view
and month, and (carry-forward tax) to taxable income per path and calendar year. :class:`TopBlock`
is one take-or-pay site's per-path dispatch. The builders are in :mod:`solvers.decisions.build`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from minerplan.engine.finance import year_end_months, year_onehot
from minerplan.scenario.model import Scenario

from ..settings import OptimizerSettings



@dataclass
class DecisionSpace:
    """Everything the model builder needs, in tidy tables and arrays (USD, MW, months)."""

    scenario: Scenario
    settings: OptimizerSettings
    prices: np.ndarray                 # [path, month] BTC USD
    table: pd.DataFrame                # one row per variable
    coef_path: np.ndarray              # [path, n_var] NPV (USD) per unit of each variable
    base_npv: np.ndarray               # [path] NPV (USD) of commitments and the existing fleet, all placed
    cap_use: np.ndarray                # [n_var, site, month] gross MW used per unit of each variable
    cap_base: np.ndarray               # [site, month] gross MW used by the fleet and commitments
    decided_sites: np.ndarray          # [site] bool: the model decides here (no take-or-pay)
    capex_year: np.ndarray             # [n_var, year] capex per unit by calendar year (USD)
    capex_base_year: np.ndarray        # [year]
    years: list[int]
    site_names: list[str]
    notes: list[str] = field(default_factory=list)
    top_blocks: list["TopBlock"] = field(default_factory=list)
    discount: np.ndarray | None = None   # [month] end-of-month discount factors
    tax_rate: float = 0.0
    cash_views: list[str] = field(default_factory=list)     # liquidity views: "expected", "P10 path" ...
    cash_weights: np.ndarray | None = None                  # [view, path] weights of each view over paths
    cf_base: np.ndarray | None = None                       # [view, month] cash flow of the base plan (USD)
    cf_x: np.ndarray | None = None                          # [view, month, n_var] cash flow per unit of each var
    carryforward: bool = False                              # tax per calendar year with losses carried forward
    tax_rate_statutory: float = 0.0
    year_of_month: np.ndarray | None = None                 # [month] index into years
    taxable_base: np.ndarray | None = None                  # [path, year] taxable income of the base plan (USD)
    taxable_x: np.ndarray | None = None                     # [path, year, n_var] per unit of each variable
    #: move-in row -> the moved machine as delivered at its destination (count 1); move-out row -> the book
    #: value per unit it leaves its site at (USD). See :mod:`solvers.decisions.moves`.
    move_arrivals: dict = field(default_factory=dict)
    move_sale_usd: dict = field(default_factory=dict)
    salvage_unit_usd: np.ndarray | None = None              # [n_var] a retirement's proceeds per unit in its month,
                                                            # expected over the paths (USD, before tax); 0 otherwise

    @property
    def n_var(self) -> int:
        return len(self.table)

    @property
    def year_onehot(self) -> np.ndarray:
        """``[month, year]``: ``monthly @ year_onehot`` sums by calendar year."""
        return year_onehot(self.year_of_month)

    @property
    def year_ends(self) -> np.ndarray:
        """``[year]`` each calendar year's last month, where its carry-forward tax is paid."""
        return year_end_months(self.year_of_month)

    @property
    def tax_npv_weights(self) -> np.ndarray:
        """``[year]`` g_y = df(end of y) - df(end of y + 1) (the last: df(end)): the NPV of the cumulative
        carry-forward tax K[., y] is -sum_y g_y K[., y] (tax paid in y is K[y] - K[y - 1], at y's end)."""
        df_end = self.discount[self.year_ends]
        return df_end - np.concatenate([df_end[1:], [0.0]])

    @property
    def last_year_paid(self) -> np.ndarray:
        """``[month]`` the last calendar year whose tax is paid by the end of that month (-1: none yet)."""
        return np.searchsorted(self.year_ends, np.arange(self.year_of_month.size), side="right") - 1

    @property
    def path_dependent(self) -> np.ndarray:
        """Variables whose NPV coefficient differs between paths (mining decisions)."""
        return (self.table["kind"] != "convert").to_numpy()


@dataclass
class TopBlock:
    """A take-or-pay site's per-path dispatch: slot = (fleet row, hour bucket); arrays in USD and MWh.

    Variables y[p, m, k] (units of the slot's fleet row running in that bucket, up to those installed)
    and shortfall s[p, m] >= need - drawn - AI energy. Running a unit in a slot is worth
    ``value[p, m, k]`` (revenue - energy cost - the credit it forgoes); the credit on idle energy is
    already in each installed unit's coefficient.
    """

    site: int
    cohorts: np.ndarray          # [C_s] fleet rows at the site
    slot_cohort: np.ndarray      # [K] index into cohorts
    value: np.ndarray            # [P, M, K] USD per unit running in the slot
    energy: np.ndarray           # [M, K] MWh per unit running in the slot
    units_base: np.ndarray       # [M, C_s] installed units before decisions
    need_mwh: np.ndarray         # [M] take-or-pay minimum less committed AI/HPC draw
    contract_usd_per_mwh: float
    can_curtail: bool
    ai_energy: np.ndarray        # [n_var, M] MWh drawn by AI/HPC per unit of each decision


def retirement_slots(space: DecisionSpace, blk: TopBlock) -> list[tuple[int, int, np.ndarray]]:
    """The retirement decisions of a take-or-pay block's fleet rows: ``(variable, month, the block's
    slots of that row)`` each; the units they retire leave those slots from that month on."""
    if not space.n_var:
        return []
    t = space.table
    cohort, month = t["cohort"].to_numpy(), t["month_idx"].to_numpy()
    row_of_slot = blk.cohorts[blk.slot_cohort]
    out = []
    for j in np.flatnonzero((t["kind"] == "retire").to_numpy()):
        slots = np.flatnonzero(row_of_slot == cohort[j])
        if slots.size:
            out.append((int(j), int(month[j]), slots))
    return out
