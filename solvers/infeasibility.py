"""Why the model is infeasible, in business words: the limits that must give way, and by how much.

An elastic re-solve (:meth:`solvers.highs_backend.HighsModel.elastic_slacks`) says how far each soft
limit (site capacity, capex budget, crews, convertible MW, the cash floor) must be relaxed; without
it, the rows of HiGHS's irreducible infeasible subset are named. Each row is named by its family
(:class:`solvers.model.parts.RowFamily`): "capex budget 2026: commitments need $266.0M, above the
$150.0M budget; needs $116.0M more".
"""

from __future__ import annotations

from minerplan.scenario.months import add_months, month_index

from .decisions.space import DecisionSpace
from .highs_backend import HighsModel
from .model.parts import BuiltModel


def explain_infeasibility(space: DecisionSpace, built: BuiltModel, hm: HighsModel, iis_rows: list[int],
                          slack: dict[int, float] | None = None) -> list[str]:
    """Business-language reasons: the limits that must give way, and by how much.

    ``slack`` (from an elastic re-solve) says how far each limit must be relaxed; without
    it, the rows of HiGHS's irreducible infeasible subset are named.
    """
    sc = space.scenario
    st = space.settings
    msgs = []
    rows = sorted(slack) if slack else (iis_rows or [])
    cap = {s.name: s.capacity_mw for s in sc.sites}
    cash_short: dict[str, list[tuple[int, float | None]]] = {}
    for r in rows:
        block, i = hm.form.row_block[r]
        family = built.families.get(block)
        label = family.label(i) if family is not None else None
        amount = slack.get(r) if slack else None
        if block == "capacity":
            site, m = label
            s = space.site_names.index(site)
            ai = sum(c.gross_mw for c in sc.conversion_plan if c.site == site
                     and month_index(sc.start_month, c.start_month) <= m)
            need = f"; {amount:,.1f} MW short" if amount else ""
            msgs.append(f"site {site}: in {add_months(sc.start_month, m)} machines ({space.cap_base[s, m] - ai:,.1f} MW "
                        f"with PUE) and AI/HPC commitments ({ai:,.1f} MW) exceed its {cap[site]:,.1f} MW capacity{need}")
        elif block == "budget":
            (year,) = label
            k = space.years.index(year)
            more = f"; needs ${amount:,.1f}M more" if amount else ""
            msgs.append(f"capex budget {year}: commitments need ${space.capex_base_year[k] / 1e6:,.1f}M, "
                        f"above the ${st.capex_budget_usd_per_year / 1e6:,.1f}M budget{more}")
        elif block == "crews":
            (m,) = label
            msgs.append(f"construction crews {add_months(sc.start_month, m)}: committed conversions exceed "
                        f"{st.max_conversion_mw_per_month:,.1f} MW a month")
        elif block == "cash_floor":
            view, m = label
            cash_short.setdefault(view, []).append((m, amount))
        elif block == "convertible":
            (site,) = label
            msgs.append(f"site {site}: fixed conversions exceed its convertible MW")
        elif block.startswith("top_"):
            msgs.append(f"site {label[0]}: its take-or-pay dispatch cannot satisfy the other limits")
        else:
            msgs.append(f"constraint {block}{label} cannot be met")
    for view, items in cash_short.items():
        months = sorted(m for m, _ in items)
        worst_m, worst = max(items, key=lambda it: it[1] or 0.0)
        span = (f"in {len(months)} months from {add_months(sc.start_month, months[0])} to "
                f"{add_months(sc.start_month, months[-1])}") if len(months) > 1 else f"in {add_months(sc.start_month, months[0])}"
        # Solved by decomposition, the master only knows the recourse's cash from above (its cuts), so
        # the shortfall it finds is a lower bound.
        least = "at least " if built.theta_vars else ""
        amount = f", at worst {least}${worst:,.1f}M short in {add_months(sc.start_month, worst_m)}" if worst else ""
        msgs.append(f"cash floor, {view}: cash falls below the ${st.min_cash_usd / 1e6:,.1f}M floor {span}{amount}, "
                    f"even with the ${st.credit_line_usd / 1e6:,.1f}M credit line and the best plan")
    if cash_short:
        fin = sc.finance
        if fin.starting_cash_usd is not None and st.starting_cash_usd == fin.starting_cash_usd:
            msgs.append(f"the cash floor comes from the scenario: it starts with ${st.starting_cash_usd / 1e6:,.1f}M "
                        f"(finance.starting_cash_usd) and keeps cash at or above ${st.min_cash_usd / 1e6:,.1f}M "
                        "(finance.min_cash_usd); raise the starting cash or the credit line, lower the floor, or "
                        "plan without it (minerplan optimize --no-cash-floor)")
    msgs = list(dict.fromkeys(msgs))  # one line per distinct reason, in order
    if len(msgs) > 12:
        msgs = msgs[:12] + [f"... and {len(msgs) - 12} more"]
    return msgs or ["HiGHS reports the model infeasible but found no limit to name"]
