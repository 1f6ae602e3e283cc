"""The fleet: a row cannot sell or move more units than it has, and a move's two sides are the same units.

Rows, in machines (duals: USD per machine):

- ``retire_limit`` (fleet row): units retired plus units moved away, over all months, at most the
  row's count;
- ``move_link`` (move): units leaving (``move_out``) equal units arriving (``move_in``).
"""

from __future__ import annotations

import numpy as np

from .parts import BuiltModel

COMPONENT = "fleet"


def add_fleet_limits(built: BuiltModel) -> None:
    """``retire_limit`` per fleet row with retirement or move candidates, and ``move_link`` per move."""
    space = built.space
    sc, t, n_var = space.scenario, space.table, space.n_var
    ret = t["kind"].isin(["retire", "move_out"]).to_numpy() if n_var else np.zeros(0, bool)
    rows, upper, labels = [], [], []
    for c in sorted(set(t.loc[ret, "cohort"].tolist())):
        sel = ret & (t["cohort"].to_numpy() == c)
        rows.append(sel.astype(float))
        upper.append(float(sc.fleet[c].count))
        labels.append((c,))
    built.add_dense_rows("retire_limit", COMPONENT, rows, [None] * len(rows), upper, labels, keys=("fleet_row",),
                         unit="machine")

    if not (n_var and "link" in t and (t["kind"] == "move_in").any()):
        return
    kind, link = t["kind"].to_numpy(), t["link"].to_numpy()
    out_of = {int(link[j]): j for j in np.flatnonzero(kind == "move_out")}
    rows, labels = [], []
    for j in np.flatnonzero(kind == "move_in"):
        row = np.zeros(n_var)
        row[out_of[int(link[j])]] = 1.0
        row[j] = -1.0
        rows.append(row)
        labels.append((int(link[j]),))
    built.add_dense_rows("move_link", COMPONENT, rows, [0.0] * len(rows), [0.0] * len(rows), labels, keys=("move",),
                         unit="machine")
