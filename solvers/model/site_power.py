"""Site power: machines and conversions fit each site's MW, conversions within its convertible MW and the crews.

Rows (gross MW, so their duals are USD per MW):

- ``capacity`` (site, month): installed machines (their power with PUE) and converted MW at or below
  the site's capacity, each month, at every site the model decides; rows no decision touches and
  the base plan already meets are left out;
- ``convertible`` (site): MW the plan converts, beyond the signed conversions, at or below the
  site's convertible MW;
- ``crews`` (month): gross MW starting conversion in a month, signed conversions included, at or
  below ``max_conversion_mw_per_month`` (construction crews), company-wide.
"""

from __future__ import annotations

import numpy as np

from minerplan.scenario.months import month_index

from .parts import BuiltModel
from .sparse import csr_from_matrix

COMPONENT = "site power"


def add_site_capacity(built: BuiltModel) -> None:
    """``capacity``: MW used (base plan + decisions) <= capacity per decided site and month."""
    space = built.space
    sc, n_var, xs = space.scenario, space.n_var, built.xs
    cap = np.array([s.capacity_mw for s in sc.sites])
    dec = np.flatnonzero(space.decided_sites)
    n_m = sc.horizon_months
    if not dec.size:
        return
    mat = space.cap_use[:, dec, :].reshape(n_var, dec.size * n_m).T          # [site-month, var]
    rhs = (cap[dec, None] - space.cap_base[dec]).ravel()
    keep = np.flatnonzero((mat != 0).any(axis=1) | (rhs < -1e-9)) if n_var else np.flatnonzero(rhs < -1e-9)
    if not keep.size:
        return
    csr = csr_from_matrix(mat[keep]) if n_var else ([], [], [0] * (keep.size + 1))
    built.add_rows("capacity", COMPONENT, csr, [None] * keep.size, rhs[keep].tolist(), xs,
                   keys=("site", "month"),
                   labels={"site": [sc.sites[dec[k // n_m]].name for k in keep], "month": [int(k % n_m) for k in keep]},
                   unit="MW")


def add_conversion_limits(built: BuiltModel) -> None:
    """``convertible`` per site and ``crews`` per month (with ``max_conversion_mw_per_month``)."""
    space = built.space
    sc, st, t = space.scenario, space.settings, space.table
    conv = (t["kind"] == "convert").to_numpy()
    scale = t["scale_mw"].to_numpy()
    # Convertible MW per site (beyond commitments already in the plan).
    rows, upper, labels = [], [], []
    for s, site in enumerate(sc.sites):
        sel = conv & (t["site_idx"].to_numpy() == s)
        if not sel.any():
            continue
        fixed_mw = sum(c.gross_mw for c in sc.conversion_plan if c.site == site.name)
        rows.append(np.where(sel, scale, 0.0))
        upper.append(float(site.ai.convertible_gross_mw - fixed_mw))
        labels.append((site.name,))
    built.add_dense_rows("convertible", COMPONENT, rows, [None] * len(rows), upper, labels, keys=("site",), unit="MW")

    # Construction crews: gross MW starting conversion each month, company-wide.
    if st.max_conversion_mw_per_month is None or not conv.any():
        return
    rows, upper, labels = [], [], []
    fixed_by_month = np.zeros(sc.horizon_months)
    for c in sc.conversion_plan:
        fixed_by_month[month_index(sc.start_month, c.start_month)] += c.gross_mw
    for mo in range(sc.horizon_months):
        sel = conv & (t["month_idx"].to_numpy() == mo)
        if sel.any() or fixed_by_month[mo] > st.max_conversion_mw_per_month:
            rows.append(np.where(sel, scale, 0.0))
            upper.append(float(st.max_conversion_mw_per_month - fixed_by_month[mo]))
            labels.append((mo,))
    built.add_dense_rows("crews", COMPONENT, rows, [None] * len(rows), upper, labels, keys=("month",), unit="MW")
