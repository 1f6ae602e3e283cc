"""Breakevens for "what BTC price do we need?": three answers for one scenario, on its deterministic price path.

* the first-month BTC price (USD/BTC) at which the NPV is zero (the whole path scaled with it),
  :func:`minerplan.analysis.sensitivity.breakeven_btc_price`;
* per site and cohort, the energy price (USD/MWh, first month) above which the cohort curtails,
  :func:`minerplan.analysis.sensitivity.curtailment_power_price`;
* for each AI-capable site with convertible MW left, the colocation lease rate (USD/kW-month) above
  which converting those MW (from the month after the start month) beats mining,
  :func:`minerplan.analysis.sensitivity.conversion_breakeven_lease_rate`. The cases are the ones
  ``minerplan sensitivity`` reports (see :func:`lease_cases`).

:func:`compute_breakevens` does the work with ``progress(frac, text)`` and ``cancel()`` (the What-if
view runs it as a background job). A breakeven that does not exist
(:class:`~minerplan.analysis.root_finding.NoRootError`) or cannot be asked for this scenario carries
the reason as its ``note`` instead of a number. ``format_*`` give the texts shown, with units.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from minerplan.analysis.root_finding import NoRootError
from minerplan.analysis.sensitivity import (breakeven_btc_price, conversion_breakeven_lease_rate,
                                            curtailment_power_price)
from minerplan.engine.evaluate import Cancelled, progress_span
from minerplan.formats import dollars
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario
from minerplan.scenario.months import add_months

__all__ = ["BtcBreakeven", "CurtailmentRow", "LeaseCase", "LeaseBreakeven", "Breakevens", "lease_cases",
           "compute_breakevens", "format_btc", "format_curtailment", "format_lease"]


@dataclass(frozen=True)
class BtcBreakeven:
    """First-month BTC price (USD/BTC) for NPV 0; None with the reason in ``note`` when there is none."""

    usd_per_btc: float | None
    note: str = ""


@dataclass(frozen=True)
class CurtailmentRow:
    """One cohort: the energy price (USD/MWh, first month) above which it stops running.

    NaN: the cohort does not run that month; +inf: the site cannot curtail.
    """

    site: str
    cohort: int                 # index in the scenario's fleet
    model: str
    efficiency_j_per_th: float
    curtail_above_usd_per_mwh: float
    note: str = ""


@dataclass(frozen=True)
class LeaseCase:
    site: str
    gross_mw: float
    start_month: str


@dataclass(frozen=True)
class LeaseBreakeven:
    """Converting ``gross_mw`` at ``site`` from ``start_month`` beats mining above this lease (USD/kW-month)."""

    site: str
    gross_mw: float
    start_month: str
    usd_per_kw_month: float | None
    note: str = ""


@dataclass(frozen=True)
class Breakevens:
    scenario: Scenario          # the scenario they were computed for
    btc: BtcBreakeven
    curtailment: tuple[CurtailmentRow, ...]
    lease: tuple[LeaseBreakeven, ...]
    seconds: float = 0.0


def lease_cases(sc: Scenario) -> list[LeaseCase]:
    """Each AI site's convertible MW not yet in the conversion plan, converted from the month after the start.

    The same cases as ``minerplan sensitivity`` (sites without an ai section or with nothing
    left to convert have none).
    """
    converted: dict[str, float] = {}
    for cv in sc.conversion_plan:
        converted[cv.site] = converted.get(cv.site, 0.0) + cv.gross_mw
    start = add_months(sc.start_month, 1)
    out = []
    for site in sc.sites:
        if site.ai is None:
            continue
        mw = site.ai.convertible_gross_mw - converted.get(site.name, 0.0)
        if mw > 1e-9:
            out.append(LeaseCase(site.name, float(mw), start))
    return out


def _reason(e: Exception) -> str:
    if isinstance(e, ScenarioError):
        return e.describe()
    return str(e)


def compute_breakevens(sc: Scenario, progress: Callable[[float, str], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> Breakevens:
    """Every breakeven of ``sc``; ``progress(frac, text)`` as it goes, ``cancel()`` -> raises Cancelled."""
    t0 = time.perf_counter()
    cases = lease_cases(sc)
    # Shares of the progress bar, roughly by engine runs: the BTC search ~15, curtailment 1 a site,
    # each lease search ~15-25.
    weights = [("btc", 15.0)] + [("curtail", 1.0)] * len(sc.sites) + [("lease", 20.0)] * len(cases)
    total = sum(w for _, w in weights)
    starts = [sum(w for _, w in weights[:i]) / total for i in range(len(weights))]

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled("breakevens")

    def part(i: int, label: str):
        # cancel is checked by check() between the parts and by each search itself
        return progress_span(progress, None, starts[i], starts[i] + weights[i][1] / total, label)

    check()
    try:
        btc = BtcBreakeven(breakeven_btc_price(sc, progress=part(0, "BTC price for NPV 0"), cancel=cancel))
    except NoRootError as e:
        btc = BtcBreakeven(None, str(e))

    rows: list[CurtailmentRow] = []
    for k, site in enumerate(sc.sites):
        check()
        part(1 + k, f"curtailment prices at {site.name}")(0.0)
        df = curtailment_power_price(sc, site.name, 0)
        rows.extend(CurtailmentRow(site.name, int(r.cohort), str(r.model), float(r.efficiency_j_per_th),
                                   float(r.curtail_above_usd_per_mwh), str(r.note))
                    for r in df.itertuples(index=False))

    leases: list[LeaseBreakeven] = []
    for k, case in enumerate(cases):
        check()
        label = f"lease breakeven at {case.site} ({case.gross_mw:g} MW)"
        try:
            rate = conversion_breakeven_lease_rate(sc, case.site, case.gross_mw, case.start_month,
                                                   progress=part(1 + len(sc.sites) + k, label), cancel=cancel)
            leases.append(LeaseBreakeven(case.site, case.gross_mw, case.start_month, float(rate)))
        except (NoRootError, ScenarioError, ValueError) as e:   # no breakeven, or not askable here
            leases.append(LeaseBreakeven(case.site, case.gross_mw, case.start_month, None, _reason(e)))
    check()
    if progress is not None:
        progress(1.0, "done")
    return Breakevens(sc, btc, tuple(rows), tuple(leases), time.perf_counter() - t0)


# --------------------------------------------------------------------------- formatting (with units)

def format_btc(b: BtcBreakeven) -> str:
    """``$97,365 USD/BTC``, or the reason there is none."""
    if b.usd_per_btc is None:
        return b.note or "no breakeven BTC price"
    return f"{dollars(b.usd_per_btc, 0)} USD/BTC"


def format_curtailment(usd_per_mwh: float) -> str:
    """``$105.04 USD/MWh``; NaN: not running that month; +inf: never curtails."""
    if math.isnan(usd_per_mwh):
        return "not running"
    if math.isinf(usd_per_mwh):
        return "never (runs at any price)" if usd_per_mwh > 0 else "always curtailed"
    return f"{dollars(usd_per_mwh)} USD/MWh"


def format_lease(b: LeaseBreakeven) -> str:
    """``$164.37 USD/kW-month``, or the reason there is none."""
    if b.usd_per_kw_month is None:
        return b.note or "no breakeven lease rate"
    return f"{dollars(b.usd_per_kw_month)} USD/kW-month"
