"""The scenario document (schema version 1): the :class:`Scenario` aggregate and its cross-field rules.

A scenario is one JSON object. Every field has a unit in its name (or in its
description) and a default, so a minimal file only states what differs.
The models are strict: unknown fields, wrong types and out-of-range values
are rejected, never coerced (:mod:`minerplan.scenario.value_types`). The parts live
by concept: :mod:`~minerplan.scenario.market` (network, price path, Monte Carlo),
:mod:`~minerplan.scenario.sites` (sites, AI/HPC, conversions),
:mod:`~minerplan.scenario.fleet` (cohorts), :mod:`~minerplan.scenario.finance`,
:mod:`~minerplan.scenario.hedges` (the hedge book).
Cross-field rules (site names, capacity, plans) live in :func:`check_consistency`;
:mod:`minerplan.scenario.files` turns both into
:class:`~minerplan.scenario.errors.ScenarioError` messages that name the field path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from minerplan.scenario.errors import Problem
from minerplan.scenario.finance import Finance
from minerplan.scenario.fleet import Cohort
from minerplan.scenario.hedges import MAX_HEDGES, Hedge, check_hedges
from minerplan.scenario.market import Market, MonteCarlo, PricePath
from minerplan.scenario.months import add_months, month_index, parse_month
from minerplan.scenario.sites import Conversion, Site
from minerplan.scenario.value_types import Month, Name, StrictModel

SCHEMA_VERSION = 1


class Scenario(StrictModel):
    schema_version: Literal[1]
    name: Name
    start_month: Month
    horizon_months: int = Field(ge=1, le=600)
    market: Market
    price_path: PricePath = Field(default_factory=PricePath)
    monte_carlo: MonteCarlo = Field(default_factory=MonteCarlo)
    sites: list[Site] = Field(min_length=1, max_length=1000)
    fleet: list[Cohort] = Field(default_factory=list, max_length=20_000)
    conversion_plan: list[Conversion] = Field(default_factory=list, max_length=10_000)
    finance: Finance = Field(default_factory=Finance)
    notes: str = Field("", max_length=100_000)
    hedges: list[Hedge] | None = Field(
        None, max_length=MAX_HEDGES,
        description="the hedge book (forwards, puts, collars; see minerplan.scenario.hedges), saved with the "
                    "scenario; absent: no book")

    @field_validator("schema_version", mode="before")
    @classmethod
    def _version_is_an_integer(cls, v):
        # strict Literal[1] still accepts 1.0 (== 1); every other integer field rejects floats.
        if type(v) is not int:
            raise ValueError(f"unsupported schema_version; this MinerPlan reads version {SCHEMA_VERSION}")
        return v

    @property
    def months(self) -> list[str]:
        return [add_months(self.start_month, i) for i in range(self.horizon_months)]

    @property
    def fleet_owned_at_start_ths(self) -> float:
        """Nameplate hashrate of the cohorts owned at the start (none bought in the horizon), TH/s."""
        return sum(c.count * c.hashrate_ths for c in self.fleet if not c.purchase_month)

    def site_index(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.sites)}


def check_consistency(sc: Scenario) -> list[Problem]:
    """Rules that span fields; returns every problem found (empty when fine)."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, site in enumerate(sc.sites):
        if site.name in seen:
            problems.append(Problem(f"sites[{i}].name", f"duplicate site name {site.name!r} "
                                                         f"(also sites[{seen[site.name]}])"))
        seen.setdefault(site.name, i)
        if site.ai is not None and site.ai.convertible_gross_mw > site.capacity_mw:
            problems.append(Problem(f"sites[{i}].ai.convertible_gross_mw",
                                    f"{site.ai.convertible_gross_mw:g} MW exceeds capacity_mw "
                                    f"({site.capacity_mw:g} MW)"))
    if sc.price_path.kind == "growth" and sc.price_path.growth_pct_per_month != 0:
        # The path must stay within the bounds the start price has (a growth of 50% a month for 600
        # months reaches 1e105 USD, which the engine would turn into an NPV of the same size).
        g = sc.price_path.growth_pct_per_month
        end = sc.market.btc_price_usd * (1 + g / 100) ** (sc.horizon_months - 1)
        if not 1.0 <= end <= 100_000_000:
            problems.append(Problem("price_path.growth_pct_per_month",
                                    f"at {g:g}% a month the price path reaches {end:,.4g} USD by "
                                    f"{add_months(sc.start_month, sc.horizon_months - 1)}; BTC prices must stay "
                                    "within 1 to 100,000,000 USD"))
    if sc.price_path.kind == "points" and not sc.price_path.points:
        problems.append(Problem("price_path.points", "kind 'points' needs at least one entry in points"))
    for i, pt in enumerate(sc.price_path.points):
        if month_index(sc.start_month, pt.month) < 0:
            problems.append(Problem(f"price_path.points[{i}].month",
                                    f"{pt.month} is before start_month {sc.start_month}"))
    months = sc.price_path.points
    for i in range(1, len(months)):
        if month_index(months[i - 1].month, months[i].month) <= 0:
            problems.append(Problem(f"price_path.points[{i}].month", "points must be in increasing month order"))

    load_mw: dict[str, float] = {}
    for i, c in enumerate(sc.fleet):
        # A purchase before the start would be modelled as new (age 0) with its capex never booked.
        if c.purchase_month and month_index(sc.start_month, c.purchase_month) < 0:
            problems.append(Problem(f"fleet[{i}].purchase_month",
                                    f"{c.purchase_month} is before start_month {sc.start_month}; a cohort "
                                    "owned at the start has no purchase_month (give age_months instead)"))
        if c.retire_month and month_index(sc.start_month, c.retire_month) < 0:
            problems.append(Problem(f"fleet[{i}].retire_month",
                                    f"{c.retire_month} is before start_month {sc.start_month}; a cohort "
                                    "retired before the start does not belong in the fleet"))
        if c.site not in seen:
            names = ", ".join(repr(n) for n in list(seen)[:20]) + (", ..." if len(seen) > 20 else "")
            problems.append(Problem(f"fleet[{i}].site", f"names site {c.site!r}, which does not exist "
                                                        f"(sites: {names or 'none'})"))
            continue
        if c.purchase_month and c.retire_month and month_index(c.purchase_month, c.retire_month) <= 0:
            problems.append(Problem(f"fleet[{i}].retire_month", "must be after purchase_month"))
        if c.purchase_month and c.age_months:
            problems.append(Problem(f"fleet[{i}].age_months", "a cohort bought during the horizon has no age; "
                                                              "omit age_months or purchase_month"))
        load_mw[c.site] = load_mw.get(c.site, 0.0) + c.count * c.power_w / 1e6

    # Capacity: the peak concurrent load (purchases arrive, retirements leave) with PUE.
    for name, i in seen.items():
        site = sc.sites[i]
        peak_mw, peak_month = _peak_site_load_mw(sc, name)
        if peak_mw * site.pue > site.capacity_mw * (1 + 1e-9):
            problems.append(Problem(
                f"sites[{i}].capacity_mw",
                f"fleet at site {name!r} draws {peak_mw * site.pue:,.2f} MW including PUE {site.pue:g}"
                f" (in {peak_month}), above its capacity of {site.capacity_mw:,.2f} MW"))

    # A fleet larger than the network would earn more than every block's reward.
    fleet_ths = sc.fleet_owned_at_start_ths
    network_ths = sc.market.online_hashrate_ehs * 1e6
    if fleet_ths >= network_ths:
        problems.append(Problem("market.difficulty" if sc.market.network_hashrate_ehs is None
                                else "market.network_hashrate_ehs",
                                f"the network's {network_ths / 1e6:,.4g} EH/s is less than the fleet owned at the "
                                f"start ({fleet_ths / 1e6:,.4g} EH/s), which is part of it"))
    elif sc.market.network_model != "supply" and sc.market.hashrate_growth_pct_per_month < 0:
        # An exogenous trend that shrinks the network below the fleet (every machine it will own counted).
        all_ths = sum(c.count * c.hashrate_ths for c in sc.fleet)
        g = sc.market.hashrate_growth_pct_per_month
        end_ths = network_ths * (1 + g / 100) ** (sc.horizon_months - 1)
        if all_ths >= end_ths:
            problems.append(Problem("market.hashrate_growth_pct_per_month",
                                    f"at {g:g}% a month the network falls to {end_ths / 1e6:,.4g} EH/s by "
                                    f"{add_months(sc.start_month, sc.horizon_months - 1)}, below the fleet's "
                                    f"{all_ths / 1e6:,.4g} EH/s, which is part of it"))

    converted: dict[str, float] = {}
    for i, cv in enumerate(sc.conversion_plan):
        if cv.site not in seen:
            problems.append(Problem(f"conversion_plan[{i}].site", f"names site {cv.site!r}, which does not exist"))
            continue
        site = sc.sites[seen[cv.site]]
        if site.ai is None:
            problems.append(Problem(f"conversion_plan[{i}].site",
                                    f"site {cv.site!r} has no ai section, so nothing there is convertible"))
            continue
        if month_index(sc.start_month, cv.start_month) < 0:
            problems.append(Problem(f"conversion_plan[{i}].start_month",
                                    f"{cv.start_month} is before start_month {sc.start_month}"))
        converted[cv.site] = converted.get(cv.site, 0.0) + cv.gross_mw
        if converted[cv.site] > site.ai.convertible_gross_mw * (1 + 1e-9):
            problems.append(Problem(f"conversion_plan[{i}].gross_mw",
                                    f"plan converts {converted[cv.site]:g} MW at {cv.site!r}, above its "
                                    f"convertible_gross_mw of {site.ai.convertible_gross_mw:g} MW"))
    problems += check_hedges(sc.hedges)
    try:
        parse_month(sc.start_month)
    except ValueError as e:  # pragma: no cover - the pattern already guarantees it
        problems.append(Problem("start_month", str(e)))
    return problems


def _peak_site_load_mw(sc: Scenario, site: str) -> tuple[float, str]:
    """Highest ASIC load (MW, without PUE) present at once at ``site`` over the horizon."""
    events: set[int] = {0}
    rows = []
    for c in sc.fleet:
        if c.site != site:
            continue
        start = month_index(sc.start_month, c.purchase_month) if c.purchase_month else 0
        end = month_index(sc.start_month, c.retire_month) if c.retire_month else 10**9
        rows.append((max(start, 0), end, c.count * c.power_w / 1e6))
        if 0 <= start < sc.horizon_months:
            events.add(start)
    best, best_m = 0.0, 0
    for m in sorted(events):
        load = sum(mw for s, e, mw in rows if s <= m < e)
        if load > best:
            best, best_m = load, m
    return best, add_months(sc.start_month, best_m)
