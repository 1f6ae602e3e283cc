"""Network hashrate as a supply market: new machines arrive when hashprice pays for them, old ones switch off.

This is MinerPlan's default network model (``market.network_model = "supply"``).
The trend model (hashrate grows at a fixed rate whatever it earns) and the
capitulation model (the trend, plus switching off) stay as explicit choices.
The idea follows Prat and Walter (2021, "An Equilibrium Model of the Market
for Bitcoin Mining", JPE 129(8)): free entry ties the revenue of a unit of
hashrate to the cost of new machines, the machines' efficiency improves
steadily, and an irreversible investment made under uncertainty arrives
after a lag. Here, per price path and vectorized over paths:

* **Installed base by breakeven.** Installed hashrate sits in bins of
  breakeven hashprice (USD per TH/s per day, ``0.024 x J/TH x USD/kWh``) on a
  log grid. A bin's share switched on is the logistic of
  ``ln(hashprice / breakeven) / switch width`` (miners keep what exists and
  switch it back on when it pays again); the online share follows its target
  with a lag of about a week, as in the capitulation model.
* **New capacity.** At each month's start the builders compare what a new
  machine earns over ``payback_months`` (hashprice net of the pool fee, the
  subsidy after a halving counted for the part of the window past it, less
  power at ``new_power_usd_per_kwh``) with its all-in cost
  (``new_capex_usd_per_w`` x W per TH). Orders, as a share of the installed
  base per month, are ``max_growth x logistic(ln(ratio / entry_midpoint) /
  entry_width)``: nothing much below payback, the pipeline's limit well above
  it. Orders are delivered and energised ``delivery_lag_months`` later, at the
  efficiency of the frontier when they were ordered (new machines do not
  switch off until hashprice falls to their own breakeven).
* **The frontier.** New machines' J/TH follow :data:`FRONTIER` (launch years
  of the mainstream generations) and improve at ``frontier_improvement_pct_per_year``
  after the last entry.
* **Attrition.** Every bin loses ``attrition_pct_per_month`` of its machines
  (failures, scrapping).
* **Protocol.** Hashprice comes from difficulty; blocks arrive at ``H / (D x 2^32)``
  per second; difficulty retargets every 2016 blocks (clamped x4 / x0.25) and the
  subsidy halves every 210,000 blocks, so a halving is a shock that switches off
  the tiers it strands and stops new orders until hashprice recovers.

The start: the scenario's difficulty and, when given, the network hashrate
online now (a 7-day average below the difficulty-implied level means blocks
are slow and the next retarget falls). The installed base is the hashrate
online divided by the share switched on at the start hashprice.

Why the logistic is ``1 / (1 + exp(-clip(x, -60, 60)))`` written out, not ``scipy.special.expit``
(measured, issue 13): on the model's [path, bin] arrays numpy's vectorized exp is the faster, 10.5 us
against 22 us for 100 x 40 and 70 us against 218 us for 1,000 x 40; and the two differ in the last
bit, which the retarget timing amplifies on crash paths: on 1,000 paths of 48 %/yr volatility over
60 months, expit moved 32 paths' difficulty by more than 1e-9 (one, whose difficulty swings between
retargets, by 63 % after three years), so every pinned result would shift for nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from minerplan.scenario.months import SECONDS_PER_DAY, add_months, month_index
from minerplan.engine.network import (RETARGET_INTERVAL_BLOCKS, TARGET_BLOCK_TIME_S, TWO_32,
                      hashrate_hs_from_difficulty, network_path_from_sums, path_inputs)
from minerplan.markets.network_response import STEPS_PER_MONTH, Tier, halving_state, month_subsidy_btc, pass_halving

AVG_MONTH_DAYS = 365.25 / 12

#: Mainstream new-generation ASIC efficiency by the month it shipped in volume (J/TH at the wall):
#: Antminer S9 (2016, ~98), S17 Pro (2019, ~45), S19 Pro (2020, ~29.5), S19 XP (2022, 21.5), S21 (2024, 17.5),
#: S21 XP (2025, 13.5), Avalon A16XP (Oct 2025, 12.8). Sources: the manufacturers' spec sheets as listed in
#: assets/asic_catalog.csv and docs/sources.md; ship dates from press coverage of each launch.
FRONTIER: tuple[tuple[str, float], ...] = (
    ("2016-06", 98.0),
    ("2019-05", 45.0),
    ("2020-06", 29.5),
    ("2022-09", 21.5),
    ("2024-03", 17.5),
    ("2025-03", 13.5),
    ("2025-10", 12.8),
)

#: Power-cost classes of the installed base (all-in cash cost of a kWh: power plus hosting or site opex, USD)
#: and their shares of hashrate: a MinerPlan assumption bracketing public miners' reported power costs
#: (Q3 2025: MARA ~$0.04, Riot ~$0.035-0.04, hosted capacity $0.06-0.08 all-in) plus 5% on stranded or
#: flared gas that never switches off. See docs/sources.md.
POWER_CLASSES: tuple[tuple[float, float], ...] = ((0.015, 5.0), (0.035, 30.0), (0.05, 35.0), (0.065, 20.0),
                                                  (0.08, 10.0))

# Breakeven grid (USD per TH/s per day): 1e-3 .. 1.0 covers $1 to $1,000 per PH/s per day.
_GRID_LO, _GRID_HI, _GRID_N = math.log(1e-3), math.log(1.0), 64


def grid_breakevens() -> np.ndarray:
    """Breakeven hashprice at each bin of the installed-base grid, USD per TH/s per day."""
    return np.exp(np.linspace(_GRID_LO, _GRID_HI, _GRID_N))


def _to_bins(breakeven_usd_per_th_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bin index and weight of the upper bin for each breakeven (linear in log; clipped to the grid)."""
    step = (_GRID_HI - _GRID_LO) / (_GRID_N - 1)
    pos = (np.log(np.maximum(breakeven_usd_per_th_day, 1e-300)) - _GRID_LO) / step
    pos = np.clip(pos, 0.0, _GRID_N - 1.0 - 1e-9)
    lo = pos.astype(np.int64)
    return lo, pos - lo


@dataclass(frozen=True)
class SupplyParams:
    """Parameters of the supply model; units in the names.

    The defaults are MinerPlan's calibration on 2019-07..2025-11 (``minerplan
    backtest-network --fit 2019-07:2025-11``; README "Network model"): the
    fitted ones are ``max_growth_pct_per_month``, ``new_capex_usd_per_w``,
    ``entry_width`` and ``halving_foresight``; the others are fixed a priori
    (see :data:`minerplan.markets.network_backtest.FITTED`). ``new_capex_usd_per_w`` is a
    *revealed* hurdle: builders in 2019-2025 bought as if new capacity cost about
    $1.58 per W against today's hashprice over 24 months, a little below list prices
    (~$1.9/W for an S21 XP plus ~$0.3/W of site in late 2025); and they did not hold
    back ahead of a halving (``halving_foresight`` fitted at 0).
    """

    frontier_improvement_pct_per_year: float = 10.0
    new_power_usd_per_kwh: float = 0.045
    new_capex_usd_per_w: float = 1.58
    payback_months: float = 24.0
    max_growth_pct_per_month: float = 5.3
    entry_midpoint: float = 1.0
    entry_width: float = 0.52
    delivery_lag_months: float = 6.0
    attrition_pct_per_month: float = 1.0
    pipeline_growth_pct_per_month: float | None = None
    lag_months: float = 0.5
    switch_width_pct: float = 15.0
    install_mix_factor: float = 1.15
    history_growth_pct_per_month: float = 3.0
    halving_foresight: float = 0.0
    order_ceiling_multiple: float = 2.0
    tiers: tuple[Tier, ...] | None = None
    frontier: tuple[tuple[str, float], ...] = field(default=FRONTIER)
    shocks: tuple["SupplyShock", ...] = ()


@dataclass(frozen=True)
class SupplyShock:
    """A non-economic supply shock: ``removed_pct`` of the installed base leaves at the start of ``month``
    and comes back evenly over the ``return_months`` after it (0: never), e.g. China's 2021 mining ban."""

    month: str
    removed_pct: float
    return_months: int = 0


DEFAULT_SUPPLY = SupplyParams()


def frontier_j_per_th(months: list[str] | str, params: SupplyParams = DEFAULT_SUPPLY) -> np.ndarray:
    """Efficiency of the mainstream new machine (J/TH) in each calendar month.

    Log-linear between the :data:`FRONTIER` points, flat before the first, and
    improving at ``frontier_improvement_pct_per_year`` after the last.
    """
    pts = params.frontier
    ref = pts[0][0]
    xs = np.array([month_index(ref, m) for m, _ in pts], dtype=float)
    ys = np.log([j for _, j in pts])
    q = np.atleast_1d(np.array([month_index(ref, m) for m in ([months] if isinstance(months, str) else months)],
                               dtype=float))
    out = np.interp(q, xs, ys)
    past = q > xs[-1]
    rate = math.log1p(-params.frontier_improvement_pct_per_year / 100.0) / 12.0
    out[past] = ys[-1] + rate * (q[past] - xs[-1])
    return np.exp(out)


def installed_base_tiers(month: str, params: SupplyParams = DEFAULT_SUPPLY) -> tuple[Tier, ...]:
    """The installed base MinerPlan assumes at ``month``: past vintages by power-cost class.

    Vintages of the last 72 months, each at the frontier efficiency of its
    month times ``install_mix_factor`` (the mix bought is a little behind the
    best), weighted by a network that grew ``history_growth_pct_per_month`` and
    lost ``attrition_pct_per_month``; each vintage split over :data:`POWER_CLASSES`.
    """
    ages = np.arange(72)
    months = [add_months(month, -int(a)) for a in ages]
    eff = frontier_j_per_th(months, params) * params.install_mix_factor
    weight = ((1 + params.history_growth_pct_per_month / 100.0) ** -ages
              * (1 - params.attrition_pct_per_month / 100.0) ** ages)
    weight = weight / weight.sum() * 100.0
    tiers = []
    total_class = sum(s for _, s in POWER_CLASSES)
    for e, w in zip(eff, weight):
        for usd_kwh, share in POWER_CLASSES:
            tiers.append(Tier(float(w * share / total_class), float(e), usd_kwh))
    return tuple(tiers)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def entry_ratio(hashprice_net_usd_per_th_day, efficiency_j_per_th: float,
                params: SupplyParams = DEFAULT_SUPPLY) -> np.ndarray:
    """What a new machine earns over its payback window, over what it costs (1: it just pays back).

    ``(hashprice - 0.024 x J/TH x new_power_usd_per_kwh) x payback days / (new_capex_usd_per_w x J/TH)``;
    hashprice in USD per TH/s per day net of the pool fee, as the machine expects it over the window.
    """
    hp = np.asarray(hashprice_net_usd_per_th_day, dtype=float)
    energy = 0.024 * efficiency_j_per_th * params.new_power_usd_per_kwh
    capex = efficiency_j_per_th * params.new_capex_usd_per_w
    return (hp - energy) * (params.payback_months * AVG_MONTH_DAYS) / capex


def expected_subsidy_btc(subsidy_btc, blocks_to_halving, params: SupplyParams = DEFAULT_SUPPLY) -> np.ndarray:
    """The subsidy a machine ordered now expects over its payback window, BTC per block.

    The window starts at delivery (``delivery_lag_months``); the part of it past the next halving,
    placed at 144 blocks a day from here, earns half, as far as ``halving_foresight`` says.
    """
    to_halving = np.asarray(blocks_to_halving, dtype=float) / (144.0 * AVG_MONTH_DAYS)       # months
    w0 = params.delivery_lag_months
    w1 = w0 + params.payback_months
    after = np.clip((w1 - np.maximum(to_halving, w0)) / (w1 - w0), 0.0, 1.0)
    return np.asarray(subsidy_btc, dtype=float) * (1.0 - 0.5 * params.halving_foresight * after)


def order_share(ratio, params: SupplyParams = DEFAULT_SUPPLY) -> np.ndarray:
    """New capacity ordered in a month as a share of the installed base, from the entry ratio.

    Up to ``order_ceiling_multiple`` times what the pipeline delivers in a month: in a boom,
    orders outrun deliveries and a backlog builds.
    """
    r = np.asarray(ratio, dtype=float)
    rate = params.order_ceiling_multiple * params.max_growth_pct_per_month / 100.0 * _logistic(
        (np.log(np.maximum(r, 1e-9)) - math.log(params.entry_midpoint)) / params.entry_width)
    return np.where(r > 0, rate, 0.0)


@dataclass
class SupplyTrace:
    """Per-month internals of a supply run (``[path, month]``), for the app's charts and the backtest."""

    installed_hs: np.ndarray        # installed hashrate at the month's start (H/s)
    orders_hs: np.ndarray           # hashrate ordered in the month (H/s)
    deliveries_hs: np.ndarray       # hashrate delivered at the month's start (H/s)
    entry_ratio: np.ndarray         # value of a new machine over its payback window / its cost
    frontier_j_per_th: np.ndarray   # [month] efficiency of machines ordered in the month


def simulate_supply_network(*, start_month: str, horizon_months: int, difficulty: float, block_height: int,
                            prices_usd: np.ndarray, fees_btc_per_block: np.ndarray | float,
                            params: SupplyParams = DEFAULT_SUPPLY, pool_fee_pct: float = 0.0,
                            hashrate_ehs: float | None = None, return_trace: bool = False):
    """Monthly network series per price path, ``[path, month]``, from the supply model.

    ``prices_usd`` ``[path, month]`` (flat within a month); ``fees_btc_per_block``
    a scalar or ``[path, month]``; ``hashrate_ehs`` the hashrate online at the
    start (default: what the difficulty implies). Orders placed in the
    ``delivery_lag_months`` before the start are ``pipeline_growth_pct_per_month``
    of the installed base a month (when that is None: the start month's own
    order rate, at most what the pipeline delivers in a month).
    With ``return_trace`` the result is ``(NetworkPath, SupplyTrace)``.
    """
    p = params
    prices, fees, days = path_inputs(prices_usd, fees_btc_per_block, start_month, horizon_months)
    n_p, n_m = prices.shape
    avg_month_s = AVG_MONTH_DAYS * SECONDS_PER_DAY
    net_share = 1.0 - pool_fee_pct / 100.0
    width = max(p.switch_width_pct / 100.0, 1e-6)
    ln_be = np.log(grid_breakevens())                                        # [B]

    # Installed base at the start, in breakeven bins: shares only (scaled below).
    tiers = p.tiers if p.tiers is not None else installed_base_tiers(start_month, p)
    share0 = np.zeros(_GRID_N)
    lo, up = _to_bins(np.array([t.breakeven_usd_per_th_day for t in tiers]))
    w = np.array([t.share_pct for t in tiers], dtype=float)
    w = w / w.sum()
    np.add.at(share0, lo, w * (1 - up))
    np.add.at(share0, lo + 1, w * up)

    reward_per_btc = SECONDS_PER_DAY * 1e12 / TWO_32       # BTC per TH/s per day = this x (subsidy + fees) / D
    d = np.full(n_p, float(difficulty))
    height = np.full(n_p, float(block_height))
    epoch_blocks = np.full(n_p, float(block_height % RETARGET_INTERVAL_BLOCKS))
    epoch_start = -epoch_blocks * TARGET_BLOCK_TIME_S
    era, subsidy_now, next_halving = halving_state(height)

    value = prices * (reward_per_btc * net_share)                          # USD per TH/s per day per (BTC / D)
    hp0 = value[:, 0] * (subsidy_now + fees[:, 0]) / d                       # USD per TH/s per day, net of pool fee
    target0 = _logistic((np.log(hp0)[:, None] - ln_be[None, :]) / width)    # [P, B]
    online_share0 = target0 @ share0
    h_online0 = (hashrate_ehs * 1e18) if hashrate_ehs is not None else float(hashrate_hs_from_difficulty(difficulty))
    installed = (h_online0 / online_share0)[:, None] * share0[None, :]      # [P, B] H/s
    online = target0.copy()

    # Orders: placed at a month's start, ready for delivery ``delivery_lag_months`` later (split between two
    # months when the lag is fractional), then delivered first-in first-out up to the pipeline's capacity
    # (``max_growth_pct_per_month`` of the installed base a month), at the frontier efficiency of the month
    # they were ordered in. In a boom the backlog grows and deliveries stretch out; in a bust they are quick.
    # The months before the start hold the orders already placed.
    lag = max(p.delivery_lag_months, 0.0)
    lag_lo = int(math.floor(lag))
    lag_w = lag - lag_lo
    first = -lag_lo - 1                                                     # earliest order month kept
    n_j = n_m - first
    months_abs = [add_months(start_month, j) for j in range(first, n_m)]
    frontier = frontier_j_per_th(months_abs, p) * p.install_mix_factor     # [order month]
    lo_b, up_b = _to_bins(0.024 * frontier * p.new_power_usd_per_kwh)
    to_grid = np.zeros((n_j, _GRID_N))                                      # order month -> bin weights
    to_grid[np.arange(n_j), lo_b] = 1.0 - up_b
    to_grid[np.arange(n_j), np.minimum(lo_b + 1, _GRID_N - 1)] += up_b
    ordered = np.zeros((n_j, n_p))                                          # H/s ordered, row j - first
    delivered = np.zeros((n_j, n_p))                                        # H/s of those delivered so far
    attrition = p.attrition_pct_per_month / 100.0
    deliver_cap = p.max_growth_pct_per_month / 100.0
    shocks = [(month_index(start_month, sh.month), sh) for sh in p.shocks]
    shock_store: list[tuple[int, int, np.ndarray]] = []    # (first return month, last, removed [P, B])

    def ready_share(age: np.ndarray) -> np.ndarray:
        """Share of an order that is ready for delivery ``age`` months after it was placed."""
        return np.where(age > lag_lo, 1.0, np.where(age == lag_lo, 1.0 - lag_w, 0.0))

    def order_rate(m: int, hp_net_usd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders (share of the installed base) and the entry ratio, per path, for month ``m``."""
        ratio = entry_ratio(hp_net_usd, frontier[m - first], p)
        return order_share(ratio, p), ratio

    # Builders judge last month's average difficulty and subsidy (at the start: today's): a retarget or a
    # halving right at a month's end then moves orders by as little as one right after it.
    seen_d = d.copy()
    seen_subsidy = subsidy_now.copy()

    def forward_hashprice(m: int, fee: np.ndarray) -> np.ndarray:
        """Hashprice a machine ordered now expects over its payback window (USD per TH/s per day, net).

        This month's price and fees, last month's average difficulty and subsidy
        (:func:`expected_subsidy_btc` for the halving).
        """
        return value[:, m] * (expected_subsidy_btc(seen_subsidy, next_halving - height, p) + fee) / seen_d

    # The pipeline at the start: orders of the months before it.
    total0 = installed.sum(axis=1)
    if p.pipeline_growth_pct_per_month is not None:
        pre = np.full(n_p, p.pipeline_growth_pct_per_month / 100.0) * total0
    else:   # what the start month's economics order, at most what the pipeline delivers in a month
        pre = np.minimum(order_rate(0, forward_hashprice(0, fees[:, 0]))[0], deliver_cap) * total0
    ordered[: -first] = pre[None, :]

    out = {k: np.zeros((n_m, n_p)) for k in ("blocks", "subsidy", "hash_s", "height_start")}
    trace = {k: np.zeros((n_m, n_p)) for k in ("installed", "orders", "deliveries", "ratio")}
    lag_s = max(p.lag_months, 1e-6) * avg_month_s
    halving_at = np.zeros(n_p)
    max_blocks_per_month = 0.0
    t = 0.0
    ages = np.arange(first, n_m)
    for m in range(n_m):
        # Month start: attrition and shocks, this month's orders, then deliveries (first in, first out).
        installed *= (1.0 - attrition)
        for m_sh, sh in shocks:
            if m_sh == m:
                removed = installed * (sh.removed_pct / 100.0)
                installed -= removed
                if sh.return_months > 0:
                    shock_store.append((m + 1, m + sh.return_months, removed / sh.return_months))
        for first_m, last_m, back in shock_store:
            if first_m <= m <= last_m:
                installed += back * (1.0 - attrition) ** (m - first_m + 1)
        fee = fees[:, m]
        total = installed.sum(axis=1)
        rate, ratio = order_rate(m, forward_hashprice(m, fee))
        ordered[m - first] = rate * total
        trace["orders"][m], trace["ratio"][m] = ordered[m - first], ratio
        rows = m - first + 1
        avail = np.maximum(ordered[:rows] * ready_share(m - ages[:rows])[:, None] - delivered[:rows], 0.0)
        cum = np.cumsum(avail, axis=0)
        take_total = np.minimum(cum[-1], deliver_cap * total)
        take = np.clip(take_total[None, :] - (cum - avail), 0.0, avail)  # FIFO: oldest orders first
        delivered[:rows] += take
        installed += take.T @ to_grid[:rows]
        trace["deliveries"][m] = take_total
        trace["installed"][m] = installed.sum(axis=1)

        dt = days[m] * SECONDS_PER_DAY / STEPS_PER_MONTH
        out["height_start"][m] = height
        v = value[:, m]
        ln_v = np.log(v * (subsidy_now + fee))
        acc_blocks, acc_hash = out["blocks"][m], out["hash_s"][m]
        month_subsidy = subsidy_now.copy()
        near_halving = bool(np.any(next_halving - height <= 3.0 * max(max_blocks_per_month, 10_000.0)))
        ln_d = np.log(d)
        # Only bins that hold machines take part (the rest of the grid is empty): ~half the work.
        cols = np.flatnonzero(installed.max(axis=0) > 0)
        be_c = ln_be[cols]
        inst_c = installed[:, cols]
        onl_c = online[:, cols]
        for _ in range(STEPS_PER_MONTH):
            # Event-driven within the step: advance every path to its next retarget or halving (or the step's
            # end), apply the event, and go on with what is left, so an event at one step's end and at the
            # next step's start give the same answer (no jump in NPV as a price crosses that point).
            left = np.full(n_p, dt)                   # time left in the step, per path (s)
            done = np.zeros(n_p)                      # time of the step already covered
            for _event in range(6):
                act = np.flatnonzero(left > 0)
                if act.size == 0:
                    break
                tgt = _logistic(((ln_v[act] - ln_d[act])[:, None] - be_c[None, :]) / width)
                keep_full = np.exp(-left[act] / lag_s)[:, None]
                end_online = tgt + (onl_c[act] - tgt) * keep_full
                h = np.einsum("pb,pb->p", inst_c[act], end_online)
                blocks = h * (left[act] / TWO_32) / d[act]
                to_retarget = RETARGET_INTERVAL_BLOCKS - epoch_blocks[act]
                to_halving = (next_halving[act] - height[act]) if near_halving else np.full(act.size, np.inf)
                to_event = np.maximum(np.minimum(to_retarget, to_halving), 0.0)
                ev = blocks >= to_event
                # paths with no event: take the whole remainder
                q = act[~ev]
                if q.size:
                    onl_c[q] = end_online[~ev]
                    acc_blocks[q] += blocks[~ev]
                    acc_hash[q] += h[~ev] * left[q]
                    height[q] += blocks[~ev]
                    epoch_blocks[q] += blocks[~ev]
                    left[q] = 0.0
                q = act[ev]
                if q.size == 0:
                    continue
                # paths with an event: advance to it (the blocks up to it at the current difficulty)
                b_e = to_event[ev]
                tau = np.minimum(b_e / np.maximum(blocks[ev], 1e-300), 1.0) * left[q]
                onl_c[q] = tgt[ev] + (onl_c[q] - tgt[ev]) * np.exp(-tau / lag_s)[:, None]
                acc_blocks[q] += b_e
                acc_hash[q] += b_e * d[q] * TWO_32
                height[q] += b_e
                epoch_blocks[q] += b_e
                done[q] += tau
                left[q] -= tau
                ret = q[epoch_blocks[q] >= RETARGET_INTERVAL_BLOCKS - 1e-9]
                if ret.size:
                    now = t + done[ret]
                    ratio_t = (RETARGET_INTERVAL_BLOCKS * TARGET_BLOCK_TIME_S) / np.maximum(now - epoch_start[ret], 1e-9)
                    d[ret] = d[ret] * np.clip(ratio_t, 0.25, 4.0)
                    ln_d[ret] = np.log(d[ret])
                    epoch_blocks[ret] = 0.0
                    epoch_start[ret] = now
                if near_halving:
                    halved = q[height[q] >= next_halving[q] - 1e-9]
                    if halved.size:
                        new_sub = pass_halving(halved, era, halving_at, subsidy_now, next_halving)
                        ln_v[halved] = np.log(v[halved] * (new_sub + fee[halved]))
            t += dt
        online[:, cols] = onl_c
        out["subsidy"][m] = month_subsidy_btc(month_subsidy, acc_blocks, height, halving_at, subsidy_now)
        max_blocks_per_month = float(acc_blocks.max()) if n_p else 0.0
        ok = acc_blocks > 0
        seen_d = np.where(ok, acc_hash / TWO_32 / np.where(ok, acc_blocks, 1.0), seen_d)
        seen_subsidy = np.where(ok, out["subsidy"][m] / np.where(ok, acc_blocks, 1.0), seen_subsidy)

    out = {k: v.T for k, v in out.items()}
    net = network_path_from_sums(blocks=out["blocks"], subsidy_btc_sum=out["subsidy"], hashes=out["hash_s"],
                                 height_start=out["height_start"], days=days, fees_btc_per_block=fees,
                                 difficulty_start=difficulty)
    if not return_trace:
        return net
    tr = SupplyTrace(installed_hs=trace["installed"].T, orders_hs=trace["orders"].T,
                     deliveries_hs=trace["deliveries"].T, entry_ratio=trace["ratio"].T,
                     frontier_j_per_th=frontier[-first:].copy())
    return net, tr
