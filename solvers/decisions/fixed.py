"""Decisions fixed by hand (``OptimizerSettings.fixed``, ``minerplan optimize --fix``): pinned in the table.

Each :class:`~solvers.settings.FixedDecision` names one candidate (kind, site, month, business model,
fleet row or catalog model) and its value (MW for a conversion, units otherwise); the matching
variable gets ``lb = ub = value``. A reference to no candidate, a bad month or a value outside the
variable's bounds is a named :class:`~minerplan.scenario.errors.ScenarioError` (these come from a
user's file).
"""

from __future__ import annotations

import numpy as np

from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.months import month_index

from .space import DecisionSpace


def apply_fixed(space: DecisionSpace) -> None:
    """Pin variables the user fixed by hand (lb = ub = value); unknown references are named errors."""
    t = space.table
    problems = []
    for i, fx in enumerate(space.settings.fixed):
        where = f"fixed[{i}]"
        try:
            m = month_index(space.scenario.start_month, fx.month)
        except ValueError as e:
            problems.append(Problem(f"{where}.month", str(e)))
            continue
        sel = (t.kind == fx.kind) & (t.month_idx == m)
        if fx.kind == "convert":
            sel &= (t.site == fx.site) & (t.business_model == (fx.business_model or "colocation"))
        elif fx.kind == "retire":
            sel &= t.cohort == fx.cohort
        else:
            sel &= (t.site == fx.site) & (t.model == fx.model)
        idx = np.flatnonzero(sel.to_numpy())
        if idx.size != 1:
            problems.append(Problem(where, f"no {fx.kind} option matches (site {fx.site!r}, month {fx.month}); "
                                           "options exist only on the optimizer's month grid at sites it decides"))
            continue
        j = idx[0]
        value = fx.value / (t.at[j, "scale_mw"] if fx.kind == "convert" else 1.0)
        if value < t.at[j, "lb"] - 1e-9 or value > t.at[j, "ub"] + 1e-9:
            top = t.at[j, "ub"] * (t.at[j, "scale_mw"] if fx.kind == "convert" else 1)
            problems.append(Problem(f"{where}.value", f"{fx.value:g} is outside 0..{top:g}"))
            continue
        t.at[j, "lb"] = t.at[j, "ub"] = value
    if problems:
        raise ScenarioError(problems, "optimizer settings")
