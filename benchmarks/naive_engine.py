"""A deliberately plain reference for the engine's mining dispatch and cash flow.

Everything deterministic that is *not* dispatch or finance (the network path,
the fleet arrays, the AI/HPC arrays) comes from the engine's own helpers via
:func:`engine_inputs`; everything else is re-derived here from the documented
rules with ordinary Python loops over path, month, site, cohort and hour
bucket, on Python floats. No numpy vectorization happens inside the loops, and
nothing is copied from ``minerplan.engine.evaluate``: this is meant to be slow, obvious
and independently written, so it can check the vectorized engine.

The rules, as documented in ``minerplan/engine/evaluate.py``:

* A *slot* is one cohort in one hour bucket at one site: one bucket when the
  site has a flat price, 24 when it has a 12x24 hourly profile (each bucket
  carries 1/24 of the cohort's month). A cohort "running every hour" yields
  ``units x TH/s x days`` TH/s-days and ``units x W x PUE / 1e6 x 24 x days``
  MWh, with ``units = count x active x placed_fraction x uptime``.
* The path's hashprice (USD per TH/s per day) is ``btc_price x
  hashprice_btc_per_th_day``. A slot runs iff that hashprice is at or above its
  breakeven ``(price_h + credit) x MWh-per-TH/s-day / (1 - pool fee)``;
  otherwise it is curtailed and its energy earns the curtailment credit.
  A slot with no hashrate never runs. Sites with curtailment disabled run
  every slot that has hashrate.
* Take-or-pay (a site with a monthly minimum; shortfall = ``max(minimum -
  mining MWh - AI MWh at the meter, 0) x contract price``). Two rules are
  implemented, chosen with ``take_or_pay=``:

  - ``"best_of_two"`` (the rule in the engine's module docstring): a second
    dispatch uses breakevens from ``(price_h - contract price + credit)``
    (energy below the minimum is prepaid); per (path, month, site) the dispatch
    with the higher margin ``revenue + credit - energy cost - shortfall`` is
    kept (the plain one on ties).
  - ``"exact"`` (the default; the rule of the engine's ``_fill_to_minimum``):
    the margin-maximising dispatch. Slots worth running at their own price run
    in full; slots worth running only when their energy is prepaid (hashprice
    at or above the prepaid breakeven) then run, best net value per MWh first,
    until mining + AI energy reaches the minimum, the last one in part; the rest
    are curtailed.
* Cash flow per (path, month): mining EBITDA per site (revenue + credit - energy
  - shortfall - AI power paid by the miner at the average of the month's 24
  hourly prices - mining opex on the placed ASIC load incl. PUE) plus AI
  revenue minus AI opex, summed over sites, minus G&A; taxable = EBITDA -
  depreciation + salvage, summed per calendar year and taxed at the year's last month with an unlimited loss carry-forward (no
  carry-back), or at the flat rate every month (losses credited at once) when
  ``finance.tax_mode`` is ``"linear"``; net cash = EBITDA - capex + salvage - tax. Salvage: a cohort retired
  in month ``t`` (after its delivery; a cohort owned at the start may retire in month 0) sells its units in
  month ``t`` at ``TH/s per unit in month t x`` the
  used-ASIC index's price per TH/s for its J/TH against the frontier of month ``t``, at month ``t``'s
  hashprice on the path, times ``salvage_usd / (the same value of one unit in the first month)`` when the
  cohort has a quote (``salvage_usd > 0``). NPV discounts month
  ``t`` by ``(1 + r_m)^-(t+1)`` with ``r_m = (1 + r)^(1/12) - 1`` and adds the
  after-tax terminal value (contracted AI leases past the horizon) discounted
  like the last month.

Besides the engine's fields, the result carries ``scale_*`` arrays: the sum of
the absolute values of the terms that went into a figure, so a comparison can
judge rounding against the magnitudes actually combined (a net cash flow near
zero made of large opposite terms has no meaningful relative error of its own).
"""

from __future__ import annotations

import math

import numpy as np

from minerplan.engine.ai import AIArrays, ai_arrays
from minerplan.engine.evaluate import scenario_network
from minerplan.engine.fleet import FleetArrays, fleet_arrays
from minerplan.scenario.months import month_index
from minerplan.engine.network import NetworkPath
from minerplan.scenario.model import Scenario


def engine_inputs(sc: Scenario) -> tuple[NetworkPath, FleetArrays, AIArrays]:
    """The deterministic inputs the engine builds before dispatch, from the engine's own helpers."""
    network = scenario_network(sc)
    days = network.days[0]
    ai = ai_arrays(sc, days)
    cap = np.array([[max(site.capacity_mw - ai.converted_gross_mw[m, s], 0.0) for s, site in enumerate(sc.sites)]
                    for m in range(sc.horizon_months)])
    fleet = fleet_arrays(sc, cap)
    return network, fleet, ai


def _calendar_month(start_month: str, m: int) -> int:
    """0 = January, for month ``m`` of a horizon starting at ``start_month`` (YYYY-MM)."""
    first = int(start_month[5:7]) - 1
    return (first + m) % 12


def _dispatch(slots, hashprice_usd: float, prepaid: bool):
    """Run every slot whose breakeven is at or below the hashprice; the rest are curtailed."""
    th_run = 0.0
    e_run = 0.0
    cost_run = 0.0
    cost_abs = 0.0
    e_curtailed = 0.0
    for slot in slots:
        th, e, price, be_plain, be_prepaid = slot
        breakeven = be_prepaid if prepaid else be_plain
        if hashprice_usd >= breakeven:
            th_run += th
            e_run += e
            cost_run += e * price
            cost_abs += abs(e * price)
        else:
            e_curtailed += e
    return th_run, e_run, cost_run, cost_abs, e_curtailed


def _fill_to_minimum(slots, hashprice_usd: float, net_share: float, credit: float, need_mwh: float):
    """Take-or-pay optimum: worthwhile slots in full, then prepaid-worthy ones up to ``need_mwh``, best first."""
    must_run = []
    candidates = []
    for slot in slots:
        th, e, price, be_plain, be_prepaid = slot
        if hashprice_usd >= be_plain:
            must_run.append(slot)
        elif hashprice_usd >= be_prepaid:
            # Net value of running one MWh of this slot, before the take-or-pay saving.
            value_per_mwh = th * hashprice_usd * net_share / e - price - credit
            candidates.append((value_per_mwh, slot))
    candidates.sort(key=lambda pair: -pair[0])   # stable: ties keep slot order
    th_run = 0.0
    e_run = 0.0
    cost_run = 0.0
    cost_abs = 0.0
    e_curtailed = 0.0
    for th, e, price, _, _ in must_run:
        th_run += th
        e_run += e
        cost_run += e * price
        cost_abs += abs(e * price)
    for _, (th, e, price, _, _) in candidates:
        share = min(1.0, max(need_mwh - e_run, 0.0) / e)
        th_run += th * share
        e_run += e * share
        cost_run += e * share * price
        cost_abs += abs(e * share * price)
        e_curtailed += e * (1.0 - share)
    for slot in slots:
        th, e, price, be_plain, be_prepaid = slot
        if hashprice_usd < be_plain and hashprice_usd < be_prepaid:
            e_curtailed += e
    return th_run, e_run, cost_run, cost_abs, e_curtailed


def naive_net_cash_flow(sc: Scenario, prices, network: NetworkPath, fleet: FleetArrays,
                        ai: AIArrays, *, take_or_pay: str = "exact") -> dict[str, np.ndarray]:
    """Recompute dispatch and cash flow with plain loops; ``prices`` is ``[path, month]`` BTC in USD.

    ``take_or_pay`` is ``"exact"`` (default) or ``"best_of_two"``; see the module docstring.
    """
    if take_or_pay not in ("exact", "best_of_two"):
        raise ValueError(f"take_or_pay must be 'exact' or 'best_of_two', got {take_or_pay!r}")
    price_rows = [[float(x) for x in row] for row in np.asarray(prices, dtype=float)]
    n_p = len(price_rows)
    n_m = sc.horizon_months
    n_s = len(sc.sites)
    n_c = len(sc.fleet)
    for row in price_rows:
        if len(row) != n_m:
            raise ValueError(f"prices must be [path, {n_m}]")

    days = [float(x) for x in network.days[0]]
    hp_btc = [float(x) for x in network.hashprice_btc_per_th_day[0]]
    # A used machine's sale price prices in a halving within SALE_FORESIGHT_MONTHS (loops, as this engine does).
    from minerplan.engine.valuation import SALE_FORESIGHT_MONTHS
    subsidy = [float(x) for x in network.subsidy_btc[0]]
    halving_ahead = []
    for m in range(len(subsidy)):
        window = subsidy[m:min(m + SALE_FORESIGHT_MONTHS, len(subsidy))]
        halving_ahead.append(sum(window) / len(window) / subsidy[m] if subsidy[m] > 0 else 1.0)
    fee = sc.finance.pool_fee_pct / 100.0
    tax_rate = sc.finance.tax_rate_pct / 100.0
    tax_mode = getattr(sc.finance, "tax_mode", "carryforward")  # "linear" where the schema has it
    if tax_mode not in ("carryforward", "linear"):
        raise ValueError(f"unknown tax_mode {tax_mode!r}")

    # Plain Python copies of the fleet and AI arrays.
    cohort_site = [int(x) for x in fleet.site]
    count = [float(x) for x in fleet.count]
    power_w = [float(x) for x in fleet.power_w_per_unit]
    uptime = [float(x) for x in fleet.uptime]
    active = fleet.active.tolist()
    placed = fleet.placed_fraction.tolist()
    ths_unit = fleet.hashrate_ths_per_unit.tolist()
    f_capex = fleet.capex_usd.tolist()
    f_dep = fleet.depreciation_usd.tolist()
    ai_rev = ai.revenue_usd.tolist()
    ai_opex = ai.opex_usd.tolist()
    ai_meter = ai.energy_mwh.tolist()
    ai_paid = ai.energy_paid_by_miner_mwh.tolist()
    ai_capex = ai.capex_usd.tolist()
    ai_dep = ai.depreciation_usd.tolist()

    # ---- deterministic part: the slots of every (month, site), and per-site monthly figures ----
    slots = [[[] for _ in range(n_s)] for _ in range(n_m)]
    full_energy = [[0.0] * n_s for _ in range(n_m)]     # MWh if every cohort ran all month
    avg_price = [[0.0] * n_s for _ in range(n_m)]       # flat-load average energy price
    opex = [[0.0] * n_s for _ in range(n_m)]
    capex = [[0.0] * n_s for _ in range(n_m)]
    depreciation = [[0.0] * n_s for _ in range(n_m)]
    for m in range(n_m):
        cal = _calendar_month(sc.start_month, m)
        for s, site in enumerate(sc.sites):
            if site.hourly_price_usd_per_mwh is not None:
                bucket_prices = [float(x) for x in site.hourly_price_usd_per_mwh[cal]]
            else:
                bucket_prices = [float(site.power_price_usd_per_mwh)]
            nb = len(bucket_prices)
            total = 0.0
            for h in range(24):
                total += bucket_prices[h] if nb == 24 else bucket_prices[0]
            avg_price[m][s] = total / 24.0
            capex[m][s] = ai_capex[m][s]
            depreciation[m][s] = ai_dep[m][s]
            for c in range(n_c):
                if cohort_site[c] != s:
                    continue
                capex[m][s] += f_capex[m][c]
                depreciation[m][s] += f_dep[m][c]
                installed = count[c] * (1.0 if active[m][c] else 0.0) * placed[m][c]
                load_mw = installed * power_w[c] * site.pue / 1e6
                opex[m][s] += load_mw * site.mining_opex_usd_per_mw_month
                units = installed * uptime[c]
                th_days = units * ths_unit[m][c] * days[m]
                energy = units * power_w[c] * site.pue / 1e6 * 24.0 * days[m]
                full_energy[m][s] += energy
                if energy == 0.0 and th_days == 0.0:
                    continue
                # MWh at the meter per TH/s-day of hashing for this cohort this month.
                mwh_per_th_day = power_w[c] * site.pue * 24.0 / 1e6 / ths_unit[m][c] if ths_unit[m][c] > 0 else 0.0
                for h in range(nb):
                    price_h = bucket_prices[h]
                    if th_days <= 0.0:
                        be_plain = be_prepaid = math.inf        # no hashrate: never worth running
                    elif not site.curtailment_enabled:
                        be_plain = be_prepaid = -math.inf       # cannot curtail: always runs
                    else:
                        be_plain = (price_h + site.curtailment_credit_usd_per_mwh) * mwh_per_th_day / (1.0 - fee)
                        be_prepaid = ((price_h - site.power_price_usd_per_mwh + site.curtailment_credit_usd_per_mwh)
                                      * mwh_per_th_day / (1.0 - fee))
                    slots[m][s].append((th_days / nb, energy / nb, price_h, be_plain, be_prepaid))

    # ---- per path: dispatch, then the monthly cash flow ----
    shape3 = (n_p, n_m, n_s)
    btc_mined = np.zeros(shape3)
    revenue = np.zeros(shape3)
    power_cost = np.zeros(shape3)
    shortfall = np.zeros(shape3)
    credit_usd = np.zeros(shape3)
    mining_energy = np.zeros(shape3)
    curtailed_energy = np.zeros(shape3)
    used_prepaid = np.zeros(shape3, dtype=bool)
    scale_power_cost = np.zeros(shape3)
    net_cf = np.zeros((n_p, n_m))
    tax = np.zeros((n_p, n_m))
    scale_net_cf = np.zeros((n_p, n_m))
    npv = np.zeros(n_p)
    scale_npv = np.zeros(n_p)

    annual = sc.finance.discount_rate_pct / 100.0
    monthly = (1.0 + annual) ** (1.0 / 12.0) - 1.0
    # AI/HPC past the horizon, each conversion at its own class rate, and the class rates' difference on
    # each conversion's pre-tax cash inside the horizon (deterministic: GPU rates are not random here).
    ai_value = 0.0
    for cv in ai.conversions:
        eff = cv.effect
        for m in range(n_m):
            cash_m = (float(eff.revenue_usd[m]) - float(eff.opex_usd[m]) - float(eff.capex_usd[m])
                      - float(eff.energy_paid_by_miner_mwh[m]) * avg_price[m][cv.site])
            ai_value += cash_m * ((1.0 + cv.monthly_discount_rate) ** -(m + 1.0) - (1.0 + monthly) ** -(m + 1.0))
        ai_value += eff.after_horizon_usd * (1.0 - tax_rate) * (1.0 + cv.monthly_discount_rate) ** -float(n_m)
    g_and_a = sc.finance.g_and_a_usd_per_month

    from minerplan.engine.valuation import asic_market_value_usd_per_th

    bought_at = [month_index(sc.start_month, co.purchase_month) if co.purchase_month else -1 for co in sc.fleet]
    retire_at = [month_index(sc.start_month, co.retire_month) if co.retire_month else None for co in sc.fleet]

    def quote_scale(p: int, c: int) -> float:
        """The cohort's salvage quote over the market model's value of one of its units in the first month at
        the index month's hashprice (1: none)."""
        from minerplan.engine.valuation import ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY

        co = sc.fleet[c]
        ths0 = float(fleet.hashrate_ths_per_unit[0, c])
        v0 = ths0 * float(asic_market_value_usd_per_th(co.power_w / ths0, ASIC_INDEX_HASHPRICE_USD_PER_TH_DAY))
        return co.salvage_usd / v0 if co.salvage_usd > 0 and v0 > 0 else 1.0

    # Calendar year of each month (carry-forward tax is assessed per calendar year, paid in its last month).
    first_year, first_month = (int(x) for x in sc.start_month.split("-"))
    cal_year = [first_year + (first_month - 1 + m) // 12 for m in range(n_m)]

    for p in range(n_p):
        loss_carried = 0.0
        year_income = 0.0
        abs_taxable_so_far = 0.0
        value = 0.0
        value_scale = 0.0
        for m in range(n_m):
            btc_price = price_rows[p][m]
            hashprice_usd = btc_price * hp_btc[m]
            ebitda = -g_and_a
            gross = abs(g_and_a)
            capex_m = 0.0
            dep_m = 0.0
            for s, site in enumerate(sc.sites):
                credit = site.curtailment_credit_usd_per_mwh
                contract = site.power_price_usd_per_mwh
                minimum = site.take_or_pay_mwh_per_month

                def settle(totals):
                    """Margin and figures of one dispatch of this (path, month, site)."""
                    th_run, e_run, cost_run, cost_abs, e_curt = totals
                    btc = th_run * hp_btc[m] * (1.0 - fee)
                    rev = btc * btc_price
                    cred = e_curt * credit
                    short = max(minimum - e_run - ai_meter[m][s], 0.0) * contract
                    margin = rev + cred - cost_run - short
                    return margin, (btc, rev, cost_run, short, cred, e_run, e_curt, cost_abs)

                plain = _dispatch(slots[m][s], hashprice_usd, False)
                margin, parts = settle(plain)
                chose_prepaid = False
                if minimum > 0.0 and take_or_pay == "exact":
                    filled = _fill_to_minimum(slots[m][s], hashprice_usd, 1.0 - fee, credit,
                                              minimum - ai_meter[m][s])
                    margin, parts = settle(filled)
                    chose_prepaid = filled[1] > plain[1]
                elif minimum > 0.0:
                    margin_b, parts_b = settle(_dispatch(slots[m][s], hashprice_usd, True))
                    if margin_b > margin:
                        margin, parts, chose_prepaid = margin_b, parts_b, True
                btc, rev, cost_run, short, cred, e_run, e_curt, cost_abs = parts
                btc_mined[p, m, s] = btc
                revenue[p, m, s] = rev
                power_cost[p, m, s] = cost_run
                shortfall[p, m, s] = short
                credit_usd[p, m, s] = cred
                mining_energy[p, m, s] = e_run
                curtailed_energy[p, m, s] = e_curt
                used_prepaid[p, m, s] = chose_prepaid
                scale_power_cost[p, m, s] = cost_abs

                ai_power = ai_paid[m][s] * avg_price[m][s]
                site_ebitda = (rev + cred + ai_rev[m][s] - cost_run - short - ai_power - opex[m][s]
                               - ai_opex[m][s])
                ebitda += site_ebitda
                gross += (abs(rev) + abs(cred) + abs(ai_rev[m][s]) + cost_abs + minimum * abs(contract)
                          + abs(ai_power) + abs(opex[m][s]) + abs(ai_opex[m][s]) + credit * full_energy[m][s])
                capex_m += capex[m][s]
                dep_m += depreciation[m][s]

            salvage_m = 0.0
            for c, co in enumerate(sc.fleet):
                if retire_at[c] == m and m > bought_at[c] and co.sale_price_usd is not None:
                    salvage_m += co.count * co.sale_price_usd          # a stated sale price
                elif retire_at[c] == m and m > bought_at[c]:
                    ths = float(fleet.hashrate_ths_per_unit[m, c])
                    salvage_m += co.count * ths * float(asic_market_value_usd_per_th(
                        co.power_w / ths, btc_price * hp_btc[m] * halving_ahead[m])) * quote_scale(p, c)
            taxable = ebitda - dep_m + salvage_m
            tax_m = 0.0
            if tax_mode == "linear":
                # Every month taxed at the rate; a loss earns a credit at once.
                tax_m = tax_rate * taxable
            else:
                year_income += taxable
                if m == n_m - 1 or cal_year[m + 1] != cal_year[m]:
                    # Year end: unlimited loss carry-forward, no carry-back.
                    if year_income <= 0.0:
                        loss_carried += -year_income
                    else:
                        used = min(loss_carried, year_income)
                        loss_carried -= used
                        tax_m = tax_rate * (year_income - used)
                    year_income = 0.0
            abs_taxable_so_far += gross + abs(dep_m) + abs(salvage_m)
            cash = ebitda - capex_m + salvage_m - tax_m
            tax[p, m] = tax_m
            net_cf[p, m] = cash
            scale = gross + abs(capex_m) + abs(salvage_m) + tax_rate * abs_taxable_so_far
            scale_net_cf[p, m] = scale
            factor = (1.0 + monthly) ** -(m + 1.0)
            value += cash * factor
            value_scale += scale * factor
        # Machines still installed at the end: their resale value (per the scenario's rule; the market price
        # moves with this path's last hashprice), taxed on the gain over book value.
        terminal = 0.0
        mode = sc.finance.asic_residual_value
        for c, co in enumerate(sc.fleet):
            if mode == "none" or not fleet.active[n_m - 1, c]:
                continue
            start = month_index(sc.start_month, co.purchase_month) if co.purchase_month else None
            age_end = (n_m - start) if start is not None else (co.age_months + n_m)
            book = co.count * co.purchase_price_usd * min(max(1.0 - age_end / co.useful_life_months, 0.0), 1.0)
            # market and salvage alike: the index at the end, times the cohort's quote scale
            ths = float(fleet.hashrate_ths_per_unit[n_m - 1, c])
            resale = co.count * ths * float(asic_market_value_usd_per_th(
                co.power_w / ths, price_rows[p][n_m - 1] * hp_btc[n_m - 1])) * quote_scale(p, c)
            terminal += resale - tax_rate * (resale - book)
        last = (1.0 + monthly) ** -float(n_m)
        npv[p] = value + terminal * last + ai_value
        scale_npv[p] = value_scale + abs(terminal) * last + abs(ai_value)

    return {
        "btc_mined": btc_mined,
        "mining_revenue_usd": revenue,
        "mining_power_cost_usd": power_cost,
        "take_or_pay_shortfall_usd": shortfall,
        "curtailment_credit_usd": credit_usd,
        "mining_energy_mwh": mining_energy,
        "curtailed_energy_mwh": curtailed_energy,
        "tax_usd": tax,
        "net_cash_flow_usd": net_cf,
        "npv_usd": npv,
        "used_prepaid_dispatch": used_prepaid,   # take-or-pay changed the dispatch (ran more than plain)
        # Magnitudes of the terms combined, for rounding-aware comparisons.
        "scale_full_energy_mwh": np.array(full_energy, dtype=float).reshape(n_m, n_s),
        "scale_mining_power_cost_usd": scale_power_cost,
        "scale_net_cash_flow_usd": scale_net_cf,
        "scale_npv_usd": scale_npv,
    }
