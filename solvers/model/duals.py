"""Every row's dual, family by family, as named pandas frames (PyPSA's ``assign_duals``); the shadow-price summary.

:func:`assign_duals` walks the rows HiGHS solved once and gives each row family
(:class:`~solvers.model.parts.RowFamily`) one frame: the family's key columns (site, month, year,
path, ... as the family names them), then

- ``dual_usd``: d objective / d right-hand side, in USD of objective (E[NPV] - risk weight x CVaR)
  per one unit of the row (the family's ``unit``: USD per MW for ``capacity``, USD per USD for
  ``budget`` and ``cash_floor``, USD per machine, per MWh, ...). HiGHS reports duals of a
  maximization this way round: raising a binding upper bound by one gains ``dual_usd``, raising a
  binding lower bound by one loses ``-dual_usd``;
- ``relax_usd``: what loosening the row by one unit is worth, so >= 0 up to solver tolerances:
  ``dual_usd`` for a ``<=`` row, ``-dual_usd`` for a ``>=`` row, ``|dual_usd|`` for a range, NaN for
  an equality (a definition: loosening it has no direction).

``frame.attrs`` holds the family's ``component``, ``unit`` and ``sense`` (``<=``, ``>=``, ``=``,
``range`` or ``mixed``). A MIP's duals are those of the LP with its integers fixed at the plan
(:meth:`solvers.highs_backend.HighsModel.solve`); the decomposition's are the master's, so its
families are the first-stage ones and its cuts (``benders_cut``, per USD of a path's recourse).

:func:`shadow_price_table` is the summary people read (report, app, JSON): what one more MW at a
site (every month, and in each month) and one more budget dollar per year are worth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minerplan.scenario.months import add_months

from ..decisions.space import DecisionSpace
from ..highs_form import MatrixForm
from .parts import USD_M, BuiltModel, RowFamily

SHADOW_COLUMNS = ["kind", "name", "value_usd", "unit"]


def assign_duals(built: BuiltModel, form: MatrixForm, row_dual: np.ndarray | None) -> dict[str, pd.DataFrame]:
    """One frame per row family, keyed by the family's name, in the model's row order (see the module);
    empty without duals."""
    if row_dual is None:
        return {}
    where: dict[str, tuple[list[int], list[int]]] = {}
    for i, (name, k) in enumerate(form.row_block):
        rows, ks = where.setdefault(name, ([], []))
        rows.append(i)
        ks.append(k)
    out = {}
    for name, (rows, ks) in where.items():
        rows, ks = np.asarray(rows), np.asarray(ks)
        fam = built.families.get(name) or _unnamed(name, ks)
        per_unit = fam.per_unit if np.isscalar(fam.per_unit) else np.asarray(fam.per_unit)[ks]
        dual_usd = row_dual[rows] * (USD_M * per_unit)
        lo, up = np.isfinite(form.row_lower[rows]), np.isfinite(form.row_upper[rows])
        equal = lo & up & (form.row_lower[rows] == form.row_upper[rows])
        relax = np.where(up & ~lo, dual_usd, np.where(lo & ~up, -dual_usd,
                                                      np.where(lo & up & ~equal, np.abs(dual_usd), np.nan)))
        frame = pd.DataFrame({key: np.asarray(fam.labels[key], dtype=object if _text(fam.labels[key]) else None)[ks]
                              for key in fam.keys})
        frame["dual_usd"] = dual_usd
        frame["relax_usd"] = relax + 0.0          # no -0.0 for a row that is not binding
        sense = np.unique(np.where(up & ~lo, 0, np.where(lo & ~up, 1, np.where(equal, 2, 3))))
        frame.attrs = {"component": fam.component, "unit": fam.unit,
                       "sense": ("<=", ">=", "=", "range")[sense[0]] if sense.size == 1 else "mixed"}
        out[name] = frame
    return out


def _text(values) -> bool:
    return isinstance(values, list) and bool(values) and isinstance(values[0], str)


def _unnamed(name: str, ks: np.ndarray) -> RowFamily:
    """Rows added outside the Pyomo model: the decomposition's cuts (USD millions of a path's recourse)."""
    if name == "benders_cut":
        return RowFamily(name, "decomposition", ("cut",), {"cut": np.arange(ks.max() + 1)}, "USD", 1.0 / USD_M)
    return RowFamily(name, "other", ("row",), {"row": np.arange(ks.max() + 1)}, "model unit", 1.0 / USD_M)


def shadow_price_table(space: DecisionSpace, duals: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """What one more MW per site (all months; and in each month where it is worth more than $0.000001) and one
    more budget dollar per calendar year are worth (USD): ``kind``, ``name``, ``value_usd``, ``unit``. A value
    below zero is solver noise (loosening a limit never loses), shown as 0."""
    if not duals:
        return pd.DataFrame(columns=SHADOW_COLUMNS)
    rows = []
    cap = duals.get("capacity")
    cap_rows = [] if cap is None else list(zip(cap["site"], cap["month"], cap["relax_usd"].map(_at_least_zero)))
    per_site: dict[str, float] = {}
    for site, _, v in cap_rows:
        per_site[site] = per_site.get(site, 0.0) + v
    for site in space.site_names:
        if site in per_site:
            rows.append(dict(kind="site_capacity", name=site, value_usd=per_site[site],
                             unit="USD per MW (every month)"))
    budget = duals.get("budget")
    if budget is not None:
        for year, v in zip(budget["year"], budget["relax_usd"]):
            rows.append(dict(kind="capex_budget", name=str(year), value_usd=_at_least_zero(v),
                             unit="USD per USD of budget"))
    for site, month, v in cap_rows:
        if v > 1e-6:
            rows.append(dict(kind="site_capacity_month", name=f"{site} {add_months(space.scenario.start_month, month)}",
                             value_usd=v, unit="USD per MW in that month"))
    return pd.DataFrame(rows, columns=SHADOW_COLUMNS)


def _at_least_zero(v: float) -> float:
    return float(v) if v > 0 else 0.0
