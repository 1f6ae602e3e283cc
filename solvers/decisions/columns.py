"""The decision variables as they are added, family by family: one table row and one column of each array.

Each family of candidate decisions (:mod:`~solvers.decisions.conversions`,
:mod:`~solvers.decisions.retirements`, :mod:`~solvers.decisions.purchases`,
:mod:`~solvers.decisions.moves`) calls :meth:`Columns.add` once per variable, in the order the
variables get in the model; :mod:`solvers.decisions.build` stacks them into a
:class:`~solvers.decisions.space.DecisionSpace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The decision table's columns: what a variable is (``kind``: convert, retire, move_out, buy, move_in),
#: where and when, the unit of one (``unit``: MW, halls or units) and its gross MW (``scale_mw``),
#: bounds, whether it is whole, a move's destination site and the link between a move's two sides.
TABLE_COLUMNS = ["kind", "site", "site_idx", "month_idx", "month", "business_model", "cohort", "model", "unit",
                 "scale_mw", "lb", "ub", "integer", "dest", "link"]


@dataclass
class Columns:
    """Per variable: its table row and what one unit of it does (USD, gross MW; shapes as in DecisionSpace)."""

    rows: list[dict] = field(default_factory=list)
    coef: list[np.ndarray] = field(default_factory=list)      # [P] NPV per unit
    cap: list[np.ndarray] = field(default_factory=list)       # [S, M] gross MW per unit
    capex: list[np.ndarray] = field(default_factory=list)     # [Y] capex per unit by calendar year
    cf: list[np.ndarray] = field(default_factory=list)        # [W, M] cash flow per unit
    ti: list[np.ndarray] = field(default_factory=list)        # [P, Y] taxable income per unit (carry-forward)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: dict, *, coef: np.ndarray, cap: np.ndarray, capex: np.ndarray, cf: np.ndarray,
            ti: np.ndarray | None) -> int:
        """Append one variable (``ti`` only in carry-forward mode); returns its index."""
        self.rows.append(row)
        self.coef.append(coef)
        self.cap.append(cap)
        self.capex.append(capex)
        self.cf.append(cf)
        if ti is not None:
            self.ti.append(ti)
        return len(self.rows) - 1


def grid(start: int, step: int, n: int, extra=()) -> list[int]:
    """Months ``start, start + step, ...`` below ``n``, with the months of ``extra`` in that range."""
    return sorted({m for m in range(start, n, step)} | {m for m in extra if start <= m < n})
