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
constant. The price follows Luxor's ASIC price index (Hashrate Index, "ASIC Price
Index", https://data.hashrateindex.com/chart/asic-price-index): secondary-market
and broker listings averaged per TH/s, grouped by efficiency tier, moving with
hashprice (newest rigs fell from ~$60/TH to ~$20/TH between July 2022 and July
2023 as hashprice fell, CoinDesk 2023-07-26 citing the index). MinerPlan prices a
machine as ~22 months of its margin at a buyer's $0.05/kWh (fitted to the index's
late-2025 tiers, :data:`ASIC_MARGIN_DAYS`), with the halving of the next 22 months
in the hashprice (:func:`halving_ahead_factor`). A machine's value declines with
age in two ways, and no other age factor is applied:

* **obsolescence**: as newer machines ship the network grows and hashprice
  falls, and an inefficient machine's margin falls fastest (to scrap);
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

from minerplan.engine.finance import monthly_rate

#: Annual discount rate (%) of contracted colocation lease cash by tenant credit: the coupon of comparable
#: lease-backed senior secured notes. Investment grade: TeraWulf's $3.2B 7.75% notes due 2030 (Oct 2025) on a
#: Fluidstack lease backstopped by Google (Cipher's $1.4B 7.125% notes, Nov 2025, on a comparable lease).
#: High yield: Applied Digital's $2.35B 9.25% notes due 2030 (Nov 2025) on CoreWeave leases.
LEASE_DISCOUNT_RATE_PCT = {"investment_grade": 7.75, "high_yield": 9.25}

#: Used-ASIC prices (USD per TH/s) are what a buyer pays for the machine's margin: ``ASIC_MARGIN_DAYS`` days
#: of (hashprice - ASIC_BUYER_POWER_USD_PER_KWH x 0.024 x J/TH), never below scrap. The two constants are
#: the least-squares fit to Luxor's ASIC price index tiers in late 2025 at the index month's hashprice
#: ($39.82 per PH/s per day, November 2025): under 19 J/TH $13-17 (midpoint 15, at ~16 J/TH), 19-25 J/TH
#: $5-8 (6.5, at 22), 25-38 J/TH $2-5 (3.5, at 30) (Hashrate Index ASIC Price Index; docs/sources.md).
#: Fit: 663 days (~22 months of margin) at $0.050/kWh; it gives $13.6, $8.9 and $2.5 per TH/s for those
#: tiers (in-sample errors -1.4, +2.4, -1.0) and $15.6 for a 13.5 J/TH S21 XP (new: $25.70, Luxor
#: 2025-11-03). Unlike a price per tier scaled by hashprice, a margin falls faster than hashprice, so a
#: miner whose power is cheaper than the buyer's keeps machines the market values less than they earn
#: (tests/test_salvage.py checks the fit against the published tiers).
ASIC_MARGIN_DAYS = 663.0
ASIC_BUYER_POWER_USD_PER_KWH = 0.050
#: Scrap (parts, hash boards, metal) for a machine no buyer would run, USD per TH/s (MinerPlan assumption).
ASIC_SCRAP_USD_PER_TH = 0.5
#: Hashprice of the index's reference month (Luxor Hashrate Index, November 2025 average), USD per TH/s per day.
ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY = 0.03982


#: Months of block subsidy a buyer of a used machine prices in. The index's prices move with hashprice,
#: but buyers know the halving schedule: ahead of the April 2024 halving used-ASIC prices fell while
#: hashprice had not yet (Hashrate Index ASIC Price Index, Q1 2024), and a price tied to the current
#: month's hashprice alone would let a plan sell a fleet just before a halving at pre-halving prices.
#: The window is the margin a buyer pays for (ASIC_MARGIN_DAYS, ~22 months); docs/sources.md.
SALE_FORESIGHT_MONTHS = 22


def halving_ahead_factor(subsidy_btc_per_block) -> np.ndarray:
    """``[path or 1, month]``: the mean block subsidy of the ``SALE_FORESIGHT_MONTHS`` months from each
    month on (fewer at the horizon's end) over that month's; 1 where no halving is that close.

    A used machine sold in month t is priced at hashprice(t) x this factor: the halving ahead, which
    every buyer knows, is in the price; the path's future BTC price and network are not.
    """
    s = np.atleast_2d(np.asarray(subsidy_btc_per_block, dtype=float))
    n = s.shape[1]
    if n == 0:
        return np.ones_like(s)
    cs = np.concatenate([np.zeros((s.shape[0], 1)), np.cumsum(s, axis=1)], axis=1)
    t = np.arange(n)
    end = np.minimum(t + SALE_FORESIGHT_MONTHS, n)
    mean = (cs[:, end] - cs[:, t]) / (end - t)
    return np.divide(mean, s, out=np.ones_like(s), where=s > 0)


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


def asic_market_value_usd_per_th(efficiency_j_per_th, hashprice_usd_per_th_day):
    """Used-market price of an ASIC (USD per TH/s): ``ASIC_MARGIN_DAYS`` days of its margin at a buyer's
    power price (``ASIC_BUYER_POWER_USD_PER_KWH``) at ``hashprice_usd_per_th_day``, at least scrap.

    0.024 kWh per TH/s per day per J/TH turns efficiency into energy. Broadcasts over its arguments.
    """
    eff = np.asarray(efficiency_j_per_th, dtype=float)
    hp = np.maximum(np.asarray(hashprice_usd_per_th_day, dtype=float), 0.0)
    margin = hp - ASIC_BUYER_POWER_USD_PER_KWH * 0.024 * eff
    return np.maximum(ASIC_MARGIN_DAYS * margin, ASIC_SCRAP_USD_PER_TH)


def asic_unit_value_usd(power_w, hashrate_ths, hashprice_usd_per_th_day):
    """Used-market value of one machine (USD): the TH/s it makes when sold (degraded) x the price per TH/s
    of its J/TH (``power_w / hashrate_ths``) at that hashprice (:func:`asic_market_value_usd_per_th`)."""
    ths = np.asarray(hashrate_ths, dtype=float)
    return ths * asic_market_value_usd_per_th(np.asarray(power_w, dtype=float) / ths, hashprice_usd_per_th_day)


def salvage_quote_scale(quote_usd, value_at_start_usd):
    """What turns the index's value of a unit into its row's value: ``quote / index value at the start``.

    A row without a quote (``salvage_usd`` 0), or whose unit the index values at nothing at the start
    (a zero hashprice), is priced by the index alone (scale 1). Broadcasts.
    """
    quote = np.asarray(quote_usd, dtype=float)
    v0 = np.asarray(value_at_start_usd, dtype=float)
    ok = (quote > 0) & (v0 > 0)
    return np.where(ok, quote / np.where(ok, v0, 1.0), 1.0)
