"""ASIC cohorts month by month: what is installed, how fast it hashes, what fits the site.

Arrays are ``[month, cohort]``. Hashrate degrades with age
(``(1 - d)^(age / 12)``), power does not, so efficiency worsens over time.
When a site's mining capacity shrinks (a conversion to AI/HPC), the most
efficient cohorts keep their place and the least efficient are stood down:
``placed_fraction`` is the share of each cohort that fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerplan.scenario.months import month_index
from minerplan.scenario.model import Scenario


@dataclass(frozen=True)
class FleetArrays:
    site: np.ndarray                  # [cohort] site index
    active: np.ndarray                # [month, cohort] bool: bought and not retired
    placed_fraction: np.ndarray       # [month, cohort] share of units that fit the site's mining capacity
    hashrate_ths_per_unit: np.ndarray  # [month, cohort] after degradation
    power_w_per_unit: np.ndarray      # [cohort]
    count: np.ndarray                 # [cohort]
    uptime: np.ndarray                # [cohort] fraction
    capex_usd: np.ndarray             # [month, cohort] purchases delivered in the horizon
    depreciation_usd: np.ndarray      # [month, cohort] incl. write-off of book value at retirement
    retire_index: np.ndarray          # [cohort] month the units are sold at retirement (-1: no sale in the horizon)
    salvage_quote_usd: np.ndarray     # [cohort] Cohort.salvage_usd: a resale quote per unit at the start (0: none)
    residual_book_usd: np.ndarray     # [cohort] book value of the units still installed at the horizon's end
    #: [cohort] Cohort.sale_price_usd: a stated price per unit at retirement (NaN: the market price)
    sale_price_usd: np.ndarray = None

    @property
    def running_units(self) -> np.ndarray:
        """Units installed and placed, ``[month, cohort]`` (before uptime and curtailment)."""
        return self.count[None, :] * self.active * self.placed_fraction


def fleet_arrays(sc: Scenario, mining_capacity_mw: np.ndarray) -> FleetArrays:
    """Build cohort arrays; ``mining_capacity_mw`` is ``[month, site]`` gross MW left for mining."""
    n_m, n_c = sc.horizon_months, len(sc.fleet)
    months = np.arange(n_m)[:, None]
    sidx = sc.site_index()
    site = np.array([sidx[c.site] for c in sc.fleet], dtype=int)
    count = np.array([c.count for c in sc.fleet], dtype=float)
    power = np.array([c.power_w for c in sc.fleet], dtype=float)
    ths = np.array([c.hashrate_ths for c in sc.fleet], dtype=float)
    uptime = np.array([c.uptime_pct / 100.0 for c in sc.fleet])
    degr = np.array([c.degradation_pct_per_year / 100.0 for c in sc.fleet])
    price = np.array([c.purchase_price_usd for c in sc.fleet])
    life = np.array([c.useful_life_months for c in sc.fleet], dtype=float)
    quote = np.array([c.salvage_usd for c in sc.fleet], dtype=float)
    sale = np.array([np.nan if c.sale_price_usd is None else c.sale_price_usd for c in sc.fleet], dtype=float)
    buy = np.array([month_index(sc.start_month, c.purchase_month) if c.purchase_month else -1 for c in sc.fleet])
    retire = np.array([month_index(sc.start_month, c.retire_month) if c.retire_month else 10**6
                       for c in sc.fleet])
    age0 = np.array([c.age_months for c in sc.fleet], dtype=float)
    if n_c == 0:
        empty = np.zeros((n_m, 0))
        none = np.zeros(0)
        return FleetArrays(site, empty.astype(bool), empty, empty, power, count, uptime, empty, empty,
                           np.zeros(0, dtype=int), none, none, none)

    bought = months >= np.maximum(buy, 0)[None, :]
    active = bought & (months < retire[None, :])
    age = np.where(buy[None, :] >= 0, months - buy[None, :], age0[None, :] + months).astype(float)
    age = np.maximum(age, 0.0)
    ths_unit = ths[None, :] * (1.0 - degr[None, :]) ** (age / 12.0)

    capex = np.where(months == buy[None, :], count * price, 0.0)
    # Straight-line depreciation while age < life; the book value left at retirement is written off then.
    monthly_dep = count * price / life
    in_life = active & (age < life[None, :])
    dep = np.where(in_life, monthly_dep[None, :], 0.0)
    age_at_retire = np.where(buy >= 0, retire - buy, age0 + retire)
    book_left = count * price * np.clip(1.0 - age_at_retire / life, 0.0, 1.0)
    # Retired after delivery (a cohort owned at the start may be retired in the start month): its book value
    # is written off and its units are sold in the retirement month, at the used-market price of that month
    # on each path (minerplan.engine.evaluate.asic_salvage_by_row; it depends on the path, so it is not an array here).
    sells = (retire > buy) & (retire >= 0)
    at_retire = (months == retire[None, :]) & sells[None, :]
    dep = dep + np.where(at_retire, book_left[None, :], 0.0)
    retire_index = np.where(sells & (retire < n_m), retire, -1).astype(int)

    placed = _place_by_efficiency(sc, site, active, count, power, ths_unit, mining_capacity_mw)
    # Units installed in the last month could be sold at the horizon's end (the end of month n_m - 1).
    at_end = active[-1] if n_m else np.zeros(n_c, bool)
    age_end = np.where(buy >= 0, n_m - buy, age0 + n_m)
    residual_book = np.where(at_end, count * price * np.clip(1.0 - age_end / life, 0.0, 1.0), 0.0)
    return FleetArrays(site, active, placed, ths_unit, power, count, uptime, capex, dep, retire_index, quote,
                       residual_book, sale)


def _place_by_efficiency(sc: Scenario, site, active, count, power, ths_unit, capacity_mw) -> np.ndarray:
    """Share of each cohort that fits its site's mining capacity, best J/TH first. ``[month, cohort]``."""
    placed = np.zeros(active.shape)
    pue = np.array([s.pue for s in sc.sites])
    for s in range(len(sc.sites)):
        idx = np.flatnonzero(site == s)
        if idx.size == 0:
            continue
        load_mw = active[:, idx] * (count[idx] * power[idx] * pue[s] / 1e6)[None, :]
        eff = power[idx][None, :] / ths_unit[:, idx]
        order = np.argsort(eff, axis=1, kind="stable")
        load_sorted = np.take_along_axis(load_mw, order, axis=1)
        before = np.cumsum(load_sorted, axis=1) - load_sorted
        room = np.maximum(capacity_mw[:, s][:, None] - before, 0.0)
        frac_sorted = np.where(load_sorted > 0, np.clip(room / np.where(load_sorted > 0, load_sorted, 1.0), 0, 1), 0.0)
        frac = np.empty_like(frac_sorted)
        np.put_along_axis(frac, order, frac_sorted, axis=1)
        placed[:, idx] = frac
    return placed
