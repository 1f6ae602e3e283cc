"""Fleet rows as people read them: one row per distinct cohort, readable labels, and groups by model @ site.

An optimizer plan splits a cohort when it sells or moves part of it (``solvers.plan.write_plan``): the
units kept, and per month the units leaving. Applied twice, or on a fleet with identical rows, that
left rows differing only by their count: the same machines written twice. Here:

- :func:`merge_identical_rows`: rows equal in every field but ``count`` become one row (their counts
  added), in the order they first appear. What the engine computes does not change: every figure of a
  row is its count times the same per-unit figure (a take-or-pay site's dispatch too: identical rows
  have the same value per MWh).
- :func:`row_labels`: a label per row, distinct where rows differ, saying how (``"Antminer S19j Pro @
  Georgia, sold 2026-06"``); a row alone at its model and site is ``"model @ site"``.
- :func:`model_site_groups`: the rows of each ``"model @ site"``, for legends and bar charts, which show a
  split cohort once.

No Qt, no numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from minerplan.scenario.fleet import Cohort


def model_site(c: Cohort) -> str:
    """``"model @ site"``: what a legend or a bar chart calls a cohort's machines."""
    return f"{c.model} @ {c.site}"


def cohort_key(c: Cohort) -> tuple:
    """Every field of a row but its count: rows with the same key are the same machines."""
    return tuple(sorted((k, v) for k, v in c.model_dump(exclude={"count"}).items()))


def merge_identical_rows(fleet: Sequence[Cohort], roles: Sequence[Hashable] | None = None
                         ) -> tuple[list[Cohort], list[int]]:
    """``fleet`` with rows equal but for their count merged, and where each old row went (old index -> new).

    ``roles`` (one per row, optional) keeps rows of different roles apart even when they are equal:
    the optimizer's plan keeps the units it decides to sell apart from those the scenario already sells.
    """
    roles = [None] * len(fleet) if roles is None else list(roles)
    if len(roles) != len(fleet):
        raise ValueError("one role per fleet row")
    out: list[Cohort] = []
    where: dict[tuple, int] = {}
    new_index: list[int] = []
    for c, role in zip(fleet, roles):
        key = (role, cohort_key(c))
        k = where.get(key)
        if k is None:
            where[key] = k = len(out)
            out.append(c)
        else:
            out[k] = out[k].model_copy(update={"count": out[k].count + c.count})
        new_index.append(k)
    return out, new_index


def _events(c: Cohort) -> list[str]:
    """What sets a row apart in time: how it arrives and how it leaves, in words."""
    parts = []
    if c.moved_from:
        parts.append(f"moved from {c.moved_from}" + (f" {c.purchase_month}" if c.purchase_month else ""))
    elif c.purchase_month:
        parts.append(f"bought {c.purchase_month}")
    if c.retire_month:
        parts.append(f"sold {c.retire_month}" if c.sale_price_usd is None else
                     f"leaves {c.retire_month} at ${c.sale_price_usd:,.0f} each")
    return parts


def row_labels(fleet: Sequence[Cohort]) -> list[str]:
    """A readable label per row, distinct wherever two rows differ: ``"model @ site"``, then how it arrives
    and leaves (``"bought 2026-01"``, ``"sold 2026-06"``, ``"moved from Texas 2026-01"``), then its age,
    then its 1-based row number for rows that differ in nothing a person reads."""
    labels = []
    for c in fleet:
        events = _events(c)
        labels.append(model_site(c) + (", " + ", ".join(events) if events else ""))
    for extra in (lambda i: f"age {fleet[i].age_months} months", lambda i: f"row {i + 1}"):
        seen: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            seen.setdefault(label, []).append(i)
        for same in seen.values():
            if len(same) > 1 and len({extra(i) for i in same}) > 1:
                for i in same:
                    labels[i] = f"{labels[i]}, {extra(i)}"
    return labels


def model_site_groups(fleet: Sequence[Cohort]) -> dict[str, list[int]]:
    """The row indices of each ``"model @ site"``, in the order the groups first appear."""
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(fleet):
        groups.setdefault(model_site(c), []).append(i)
    return groups
