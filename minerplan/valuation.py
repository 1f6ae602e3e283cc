"""Valuation a banker accepts: a discount rate per cash-flow class, and residual values at the horizon.

Cash-flow classes (annual rates, %; sources in docs/sources.md):

* **merchant mining and the company** (``finance.discount_rate_pct``, 12% by
  default): mining margins, G&A, ASIC capex, salvage and company-level tax,
  whose losses offset all activities;
* **contracted colocation leases** (``finance.lease_discount_rate_pct``; when
  absent, by the tenant's credit, :data:`LEASE_DISCOUNT_RATE_PCT`): the
  coupon of lease-backed senior secured notes miners issued in late 2025;
* **GPU cloud** (``finance.gpu_cloud_discount_rate_pct``, 15%): rental income
  that is not contracted.

Each AI/HPC conversion's pre-tax cash (revenue, opex, power the miner pays,
capex) is discounted at its class's rate; everything else, tax included, at the
company's. Residual values at the horizon's end: a colocation hall's
contracted lease cash and, with the renewal probability, the lease cash until
the facility's life ends; a GPU hall's installed GPUs over their remaining
life; ASICs at their used-market price (:func:`asic_market_value_usd_per_th`).

Salvage: machines a plan retires are sold at the same used-market price, in
their retirement month, on each path (:func:`asic_unit_value_usd`), never at a
constant. The price is Luxor's ASIC price index (Hashrate Index, "ASIC Price
Index", https://data.hashrateindex.com/chart/asic-price-index): secondary-market
and broker listings averaged per TH/s, grouped by efficiency tier, moving with
hashprice (newest rigs fell from ~$60/TH to ~$20/TH between July 2022 and July
2023 as hashprice fell, CoinDesk 2023-07-26 citing the index). A machine's value
declines with age in two ways, and no other age factor is applied:

* **obsolescence**: its J/TH is judged against the efficiency frontier of the
  month it is sold (``minerplan.network_supply.frontier_j_per_th``), so as newer
  machines ship it falls to cheaper tiers; the index itself adds a band when
  more efficient hardware arrives and moves older machines down (Hashrate
  Index, "We're adding a new band to the ASIC Price Index", 2021);
* **wear**: it sells for the TH/s it still makes (the cohort's
  ``degradation_pct_per_year``), and its J/TH worsens with it.

The index prices used machines, so it already holds the discount of a used
unit; the ~3-year straight-line depreciation public miners book (e.g. Cipher
Mining, docs/sources.md) is book value, which taxes the gain on a sale, not a market price.

A fleet row's ``salvage_usd``, when given (> 0), is a quote per unit at the start
month: it is honoured then and moves with the index after
(:func:`salvage_quote_scale`); without it the index alone prices the unit.
"""

from __future__ import annotations

import numpy as np

from .finance import monthly_rate

#: Annual discount rate (%) of contracted colocation lease cash by tenant credit: the coupon of comparable
#: lease-backed senior secured notes. Investment grade: TeraWulf's $3.2B 7.75% notes due 2030 (Oct 2025) on a
#: Fluidstack lease backstopped by Google (Cipher's $1.4B 7.125% notes, Nov 2025, on a comparable lease).
#: High yield: Applied Digital's $2.35B 9.25% notes due 2030 (Nov 2025) on CoreWeave leases.
LEASE_DISCOUNT_RATE_PCT = {"investment_grade": 7.75, "high_yield": 9.25}

#: Used-ASIC prices by efficiency relative to the best machine of the day (USD per TH/s), Luxor's ASIC price
#: index in late 2025 when the frontier was ~13.5 J/TH and hashprice averaged $39.82 per PH/s per day
#: (November 2025): under 19 J/TH $13-17 (midpoint 15), 19-25 J/TH $5-8 (6.5), 25-38 J/TH $2-5 (3.5); above
#: that, scrap (~$0.50, a MinerPlan assumption); within 10% of the frontier ~$20 (estimate: below the $25.70
#: of a new S21 XP). Upper bounds of each tier as a multiple of the frontier's J/TH: 1.1, 19/13.5, 25/13.5,
#: 38/13.5.
ASIC_TIER_UPPER_RATIO = (1.1, 19.0 / 13.5, 25.0 / 13.5, 38.0 / 13.5)
ASIC_TIER_USD_PER_TH = (20.0, 15.0, 6.5, 3.5, 0.5)
#: Hashprice of the index's reference month (Luxor Hashrate Index, November 2025 average), USD per TH/s per day.
ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY = 0.03982


def lease_discount_rate_pct(sc, site) -> float:
    """Annual discount rate (%) of a site's colocation lease: the scenario's override or its tenant's credit."""
    if sc.finance.lease_discount_rate_pct is not None:
        return sc.finance.lease_discount_rate_pct
    return LEASE_DISCOUNT_RATE_PCT[site.ai.colocation.tenant_credit]


def conversion_discount_rate_pct(sc, site, model: str) -> float:
    """Annual discount rate (%) of a conversion's cash: its lease's rate, or the GPU cloud rate."""
    if model == "colocation":
        return lease_discount_rate_pct(sc, site)
    return sc.finance.gpu_cloud_discount_rate_pct


def conversion_monthly_rate(sc, site, model: str) -> float:
    return monthly_rate(conversion_discount_rate_pct(sc, site, model) / 100.0)


def asic_market_value_usd_per_th(efficiency_j_per_th, frontier_j_per_th, hashprice_usd_per_th_day):
    """Used-market price of an ASIC (USD per TH/s) by its efficiency relative to the frontier, scaled by hashprice.

    The tier prices (:data:`ASIC_TIER_USD_PER_TH`) are the index's at $39.82 per PH/s per day; machine
    prices move with hashprice (Luxor's index), so the price scales with ``hashprice / 0.03982``.
    Broadcasts over its arguments.
    """
    ratio = np.asarray(efficiency_j_per_th, dtype=float) / np.asarray(frontier_j_per_th, dtype=float)
    tier = np.searchsorted(np.asarray(ASIC_TIER_UPPER_RATIO), ratio, side="left")
    price = np.asarray(ASIC_TIER_USD_PER_TH)[tier]
    scale = np.maximum(np.asarray(hashprice_usd_per_th_day, dtype=float), 0.0) / ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY
    return price * scale


def asic_unit_value_usd(power_w, hashrate_ths, frontier_j_per_th, hashprice_usd_per_th_day):
    """Used-market value of one machine (USD): the TH/s it makes x the index's price per TH/s of its tier.

    ``hashrate_ths`` is what the unit makes when sold (degraded); its J/TH (``power_w / hashrate_ths``)
    is judged against ``frontier_j_per_th`` (:func:`asic_market_value_usd_per_th`). Broadcasts.
    """
    ths = np.asarray(hashrate_ths, dtype=float)
    return ths * asic_market_value_usd_per_th(np.asarray(power_w, dtype=float) / ths, frontier_j_per_th,
                                              hashprice_usd_per_th_day)


def salvage_quote_scale(quote_usd, value_at_start_usd):
    """What turns the index's value of a unit into its row's value: ``quote / index value at the start``.

    A row without a quote (``salvage_usd`` 0), or whose unit the index values at nothing at the start
    (a zero hashprice), is priced by the index alone (scale 1). Broadcasts.
    """
    quote = np.asarray(quote_usd, dtype=float)
    v0 = np.asarray(value_at_start_usd, dtype=float)
    ok = (quote > 0) & (v0 > 0)
    return np.where(ok, quote / np.where(ok, v0, 1.0), 1.0)
