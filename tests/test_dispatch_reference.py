"""The dispatch (``minerplan/engine/dispatch.py``, slots, take_or_pay, hourly_fill) against the code it replaced.

The reference below is the engine's dispatch as it was before it was made fast
(issue 12, item 5), kept verbatim: slots sorted by breakeven per (month, site),
and the take-or-pay fill at hourly-priced sites by sorting every slot of every
binding (path, month, site) by its net cost. The new code must give the same
``(TH/s-days, MWh, energy USD)`` to 1e-9 relative on every path, month and site,
and the engine the same results on every output array.

Relative differences are judged against the larger of the two values and, as an
absolute floor, 1e-12 of the array's largest magnitude (a sum of positive terms
that cancels to ~0 carries no relative precision).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import minerplan.engine.evaluate as engine_module
from minerplan.engine import dispatch, take_or_pay
from minerplan.engine import slots as engine_slots
from minerplan.scenario.catalog import load_catalog
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.months import add_months
from minerplan.markets.prices import price_paths
from minerplan.scenario.model import check_consistency
from minerplan.scenario.files import scenario_from_dict
from tests.builders import catalog_cohort as cohort

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RTOL = 1e-9
CATALOG = load_catalog()
MODELS = sorted(CATALOG)


# ---------------------------------------------------------------- the reference (the former engine code, verbatim)

def _monotone_key(x: np.ndarray) -> np.ndarray:
    """Map [-inf, inf] monotonically into [0, 1] so rows can be offset into one sorted array."""
    return 0.5 + np.arctan(x) / np.pi


class _SlotTable:
    """Slots sorted by breakeven hashprice, with cumulative quantities, answering per-path dispatch.

    All sites' slots of a month are merged into one sorted list, so a path's
    hashprice is looked up once per month (not once per site); the cumulative
    sums keep one column per site. When that layout would be too large (many
    sites with hourly profiles) each (month, site) row is searched instead.
    """

    MERGED_MAX_FLOATS = 40_000_000

    def __init__(self, breakeven: np.ndarray, quantities: np.ndarray):
        # breakeven [M, S, K]; quantities [M, S, K, Q]
        n_m, n_s, k = breakeven.shape
        n_q = quantities.shape[3]
        self.shape = (n_m, n_s, k)
        self.merged = n_m * (n_s * k + 1) * n_q * n_s <= self.MERGED_MAX_FLOATS
        if self.merged:
            sk = n_s * k
            flat_be = breakeven.reshape(n_m, sk)
            order = np.argsort(flat_be, axis=1, kind="stable")
            sorted_be = np.take_along_axis(flat_be, order, axis=1)
            q_sorted = np.take_along_axis(quantities.reshape(n_m, sk, n_q), order[..., None], axis=1)
            contrib = np.zeros((n_m, sk, n_q, n_s))
            mm, pp = np.meshgrid(np.arange(n_m), np.arange(sk), indexing="ij")
            contrib[mm, pp, :, order // k] = q_sorted
            cum = np.concatenate([np.zeros((n_m, 1, n_q, n_s)), np.cumsum(contrib, axis=1)], axis=1)
            # one contiguous [row, site] table per quantity, so each result is contiguous too
            self.cum = [np.ascontiguousarray(cum[:, :, i, :].reshape(n_m * (sk + 1), n_s)) for i in range(n_q)]
            self.keys = (2.0 * np.arange(n_m)[:, None] + _monotone_key(sorted_be)).ravel()
        else:
            order = np.argsort(breakeven, axis=2, kind="stable")
            sorted_be = np.take_along_axis(breakeven, order, axis=2)
            q_sorted = np.take_along_axis(quantities, order[..., None], axis=2)
            cum = np.concatenate([np.zeros((n_m, n_s, 1, n_q)), np.cumsum(q_sorted, axis=2)], axis=2)
            self.cum = cum.reshape(n_m * n_s * (k + 1), n_q)
            rows = np.arange(n_m * n_s, dtype=float).reshape(n_m, n_s, 1)
            self.keys = (2.0 * rows + _monotone_key(sorted_be)).ravel()

    def running_totals(self, hashprice: np.ndarray) -> list[np.ndarray]:
        """Sums of each quantity over slots whose breakeven <= hashprice; ``hashprice`` is [path, month].

        Returns one contiguous ``[path, month, site]`` array per quantity.
        """
        n_m, n_s, k = self.shape
        n_p = hashprice.shape[0]
        if self.merged:
            months = np.arange(n_m)
            q = 2.0 * months[None, :] + _monotone_key(hashprice)
            pos = np.searchsorted(self.keys, q.ravel(), side="right").reshape(n_p, n_m)
            idx = pos + months[None, :]  # month m's slots start at m*S*K in keys and at m*(S*K+1) in cum
            return [c[idx] for c in self.cum]
        rows = np.arange(n_m * n_s).reshape(n_m, n_s, 1)
        q = 2.0 * rows + _monotone_key(hashprice.T)[:, None, :]
        pos = np.searchsorted(self.keys, q.ravel(), side="right").reshape(n_m, n_s, n_p)
        out = self.cum[(pos + rows).ravel()].reshape(n_m, n_s, n_p, -1)   # row r: index = pos + r
        return [np.ascontiguousarray(out[..., i].transpose(2, 0, 1)) for i in range(out.shape[3])]


@dataclass(frozen=True)
class _Slots:
    """Operating slots per (month, site) row, padded to ``K`` slots: ``[month, site, K]`` arrays."""

    table_a: _SlotTable
    breakeven_prepaid: np.ndarray   # breakeven hashprice when energy is prepaid at the contract price
    quantities: np.ndarray          # [month, site, K, (TH-days, MWh, energy USD)] if the slot runs
    price_usd_per_mwh: np.ndarray   # energy price of the slot's hours
    mwh_per_th_day: np.ndarray      # 0 for padding
    energy_total: np.ndarray        # [month, site] MWh if every slot ran
    contract_usd_per_mwh: np.ndarray  # [site]
    n_slots: np.ndarray             # [site] real (unpadded) slots per row
    buckets: np.ndarray             # [site] hour buckets (1 for a flat price, 24 with a profile)


def _build_slots(sc, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                 can_curtail) -> _Slots:
    """Breakevens and quantities of every (cohort, hour bucket) slot, per (month, site)."""
    n_m, n_s = sc.horizon_months, len(sc.sites)
    per_site = [np.flatnonzero(fl.site == s) for s in range(n_s)]
    k = max([len(idx) * buckets[s] for s, idx in enumerate(per_site)] + [1])
    be_a = np.full((n_m, n_s, k), np.inf)
    be_b = np.full((n_m, n_s, k), np.inf)
    qty = np.zeros((n_m, n_s, k, 3))
    slot_price = np.zeros((n_m, n_s, k))  # for ordering a take-or-pay fill only
    slot_e_th = np.zeros((n_m, n_s, k))
    energy_total = np.zeros((n_m, n_s))
    net_share = 1.0 - fee
    for s, idx in enumerate(per_site):
        if idx.size == 0:
            continue
        nb = buckets[s]
        p = hour_price[:, s, :nb]                                  # [M, B]
        th = th_days[:, idx][:, :, None] / nb                       # [M, C, 1]
        e = energy_mwh[:, idx][:, :, None] / nb
        e_th = mwh_per_th_day[:, idx][:, :, None]
        shape = (n_m, idx.size, nb)
        valid = np.broadcast_to(th > 0, shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            be = np.where(valid, (p[:, None, :] + credit[s]) * e_th / net_share, np.inf)
            be2 = np.where(valid, (p[:, None, :] - contract[s] + credit[s]) * e_th / net_share, np.inf)
        if not can_curtail[s]:
            be = be2 = np.where(valid, -np.inf, np.inf)
        n = idx.size * nb
        be_a[:, s, :n] = be.reshape(n_m, n)
        be_b[:, s, :n] = be2.reshape(n_m, n)
        qty[:, s, :n, 0] = np.broadcast_to(th, shape).reshape(n_m, n)
        qty[:, s, :n, 1] = np.broadcast_to(e, shape).reshape(n_m, n)
        qty[:, s, :n, 2] = (e * p[:, None, :]).reshape(n_m, n)
        slot_price[:, s, :n] = np.broadcast_to(p[:, None, :], shape).reshape(n_m, n)
        slot_e_th[:, s, :n] = np.where(valid, np.broadcast_to(e_th, shape), 0.0).reshape(n_m, n)
        if not can_curtail[s]:
            slot_price[:, s, :n] = -np.inf  # runs whatever the price: first in any take-or-pay fill
        energy_total[:, s] = energy_mwh[:, idx].sum(axis=1)
    n_slots = np.array([len(idx) * buckets[s] for s, idx in enumerate(per_site)])
    return _Slots(_SlotTable(be_a, qty), be_b, qty, slot_price, slot_e_th, energy_total, np.asarray(contract),
                  n_slots, np.asarray(buckets))


def _fill_to_minimum(slots: _Slots, where: tuple[np.ndarray, ...], hp_usd: np.ndarray, need_mwh: np.ndarray,
                     fee: float, credit: np.ndarray, batch: int = 8_192) -> np.ndarray:
    """Exact dispatch where take-or-pay binds at an hourly-priced site: cheapest slots first, to the minimum.

    A slot's net cost of running, per MWh, is ``price + credit - revenue per MWh``; below the
    take-or-pay minimum each MWh drawn also saves the contract price. Where running
    everything worth it at the contract price would overshoot the minimum
    but the plain dispatch falls short of it, the optimum (a fractional
    knapsack) draws exactly the minimum, cheapest slots first, the last in part.
    The order depends on the path's hashprice, so these entries are sorted, in
    batches. Returns ``[entry, (TH-days, MWh, energy USD)]``.
    """
    p_idx, m_idx, s_idx = where
    out = np.empty((p_idx.size, 3))
    for site in np.unique(s_idx):  # per site, so rows are only as wide as that site's slots
        k = max(int(slots.n_slots[site]), 1)
        rows = np.flatnonzero(s_idx == site)
        need = need_mwh[rows]
        for lo in range(0, rows.size, batch):
            sel = rows[lo:lo + batch]
            out[sel] = _fill_sorted(slots, site, k, p_idx[sel], m_idx[sel], need[lo:lo + batch], hp_usd, fee,
                                    credit[site])
    return out


def _fill_fixed_order(slots: _Slots, site: int, need: np.ndarray) -> np.ndarray:
    """Fill to ``need`` MWh per month at a flat-price site, ``[month, 3]``.

    Every slot pays the same price there, so the cheapest slots to run are the
    most efficient machines (lowest MWh per TH-day) on every path.
    """
    k = max(int(slots.n_slots[site]), 1)
    e_th = slots.mwh_per_th_day[:, site, :k]                               # [M, k]
    order = np.argsort(np.where(e_th > 0, e_th, np.inf), axis=1, kind="stable")
    q = np.take_along_axis(slots.quantities[:, site, :k], order[..., None], axis=1)   # [M, k, 3]
    cum = np.concatenate([np.zeros((q.shape[0], 1, 3)), np.cumsum(q, axis=1)], axis=1)  # [M, k+1, 3]
    months = np.arange(q.shape[0])
    j = np.minimum((cum[:, 1:, 1] <= need[:, None]).sum(axis=1), k - 1)   # the slot run in part
    before = cum[months, j]
    part = q[months, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(part[:, 1] > 0, np.clip((need - before[:, 1]) / part[:, 1], 0.0, 1.0), 0.0)
    return before + frac[:, None] * part


def _fill_sorted(slots: _Slots, site: int, k: int, p: np.ndarray, m: np.ndarray, need: np.ndarray,
                 hp_usd: np.ndarray, fee: float, credit: float) -> np.ndarray:
    e_th = slots.mwh_per_th_day[m, site, :k]                               # [n, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(e_th > 0, slots.price_usd_per_mwh[m, site, :k] + credit
                        - hp_usd[p, m][:, None] * (1.0 - fee) / e_th, np.inf)
    q = slots.quantities[m, site, :k]                                      # [n, k, 3]
    e = q[..., 1]
    order = np.argsort(cost, axis=1)
    cum_e = np.cumsum(np.take_along_axis(e, order, axis=1), axis=1)
    j = np.minimum((cum_e < need[:, None]).sum(axis=1), k - 1)             # first slot reaching the minimum
    lam = np.take_along_axis(cost, np.take_along_axis(order, j[:, None], axis=1), axis=1)  # [n, 1]
    full = cost < lam
    tied = cost == lam                                                     # equal cost: share the remainder
    e_full = (full * e).sum(axis=1)
    e_tied = (tied * e).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(e_tied > 0, np.clip((need - e_full) / e_tied, 0.0, 1.0), 0.0)
    w = full + frac[:, None] * tied
    return np.einsum("nk,nkq->nq", w, q)


def reference_dispatch(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                       can_curtail, top_mwh, ai_energy_mwh, hp_usd, step=None):
    """The former dispatch block of ``run_engine``, with ``mining_dispatch``'s signature."""
    n_s = len(buckets)
    sc = SimpleNamespace(horizon_months=n_m, sites=[None] * n_s)
    slots = _build_slots(sc, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract,
                         can_curtail)
    th_run, e_run, cost_run = slots.table_a.running_totals(hp_usd)  # each [path, month, site]
    if np.any(top_mwh > 0):
        # Energy the mining load must draw to avoid paying for unused take-or-pay energy.
        need_mwh = np.where(top_mwh[None, :] > 0, top_mwh[None, :] - ai_energy_mwh, -np.inf)   # [M, S]
        prepaid = _SlotTable(slots.breakeven_prepaid, slots.quantities).running_totals(hp_usd)
        use_b = prepaid[1] <= need_mwh[None]  # still short with every prepaid-worthy slot running: optimal
        for a, b in zip((th_run, e_run, cost_run), prepaid):
            np.copyto(a, b, where=use_b)
        binding = (e_run < need_mwh[None]) & ~use_b
        flat = (slots.buckets == 1) & (top_mwh > 0)
        if (binding & flat[None, None, :]).any():
            # Flat price: the fill (most efficient first, to exactly the minimum) is the same on every path.
            fixed = np.zeros((n_m, n_s, 3))
            for site in np.flatnonzero(flat):
                fixed[:, site] = _fill_fixed_order(slots, site, need_mwh[:, site])
            where = binding & flat[None, None, :]
            for i, a in enumerate((th_run, e_run, cost_run)):
                np.copyto(a, np.broadcast_to(fixed[None, :, :, i], a.shape), where=where)
        hourly = binding & ~flat[None, None, :]
        if hourly.any():
            p_i, m_i, s_i = np.nonzero(hourly)
            filled = _fill_to_minimum(slots, (p_i, m_i, s_i), hp_usd, need_mwh[m_i, s_i], fee, credit)
            for i, a in enumerate((th_run, e_run, cost_run)):
                a[p_i, m_i, s_i] = filled[:, i]
    return th_run, e_run, cost_run, slots.energy_total


# ---------------------------------------------------------------- comparison helpers

DISPATCH_FIELDS = ("btc_mined", "mining_revenue_usd", "mining_power_cost_usd", "mining_energy_mwh")


def worst_relative(a, b, floor_share: float = 1e-12, scale=0.0) -> float:
    """Largest ``|a - b| / max(|a|, |b|, scale, floor)``, ``floor`` = ``floor_share`` x the array's largest |b|.

    ``scale`` is the magnitude of the terms summed into each figure where they may cancel (energy cost
    with negative hour prices)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    if a.size == 0:
        return 0.0
    floor = max(floor_share * float(np.max(np.abs(b))), 1e-300)
    diff = np.abs(a - b)
    size = np.maximum(np.maximum(np.abs(a), np.abs(b)), np.maximum(scale, floor))
    return float(np.max(np.where(diff == 0, 0.0, diff / size)))


def price_scale(sc, energy_mwh):
    """Energy x the site's largest |hour price|: the size of the terms summed into an energy cost."""
    top = np.array([np.max(np.abs(s.hourly_price_usd_per_mwh)) if s.hourly_price_usd_per_mwh is not None
                    else abs(s.power_price_usd_per_mwh) for s in sc.sites])
    return np.abs(energy_mwh) * top


def run_both(sc, prices, monkeypatch):
    new = run_engine(sc, prices=prices)
    with monkeypatch.context() as m:
        m.setattr(engine_module, "mining_dispatch", reference_dispatch)
        old = run_engine(sc, prices=prices)
    return new, old


def assert_same_results(new, old) -> float:
    """Every float array of the two engine results agrees to RTOL: the dispatch's sums of positive terms
    element by element, the figures derived from them (where terms cancel, like curtailed energy = full -
    run) against the array's largest magnitude. Returns the dispatch fields' largest relative difference."""
    problems, worst = [], 0.0
    for field in dataclasses.fields(new):
        a, b = getattr(new, field.name), getattr(old, field.name)
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            continue
        scale = price_scale(new.scenario, old.mining_energy_mwh) if field.name == "mining_power_cost_usd" else 0.0
        rel = worst_relative(a, b, 1e-12 if field.name in DISPATCH_FIELDS else 1.0, scale)
        if field.name in DISPATCH_FIELDS:
            worst = max(worst, rel)
        if rel > RTOL:
            problems.append(f"{field.name}: max relative difference {rel:.3g}")
    assert not problems, "new and former dispatch disagree:\n" + "\n".join(problems)
    return worst


def dispatch_inputs(sc, prices):
    """The arguments ``run_engine`` passes to ``mining_dispatch`` (captured from a run)."""
    seen = {}

    def capture(*args, **kw):
        seen["args"] = args
        return dispatch.mining_dispatch(*args, **kw)

    original = engine_module.mining_dispatch
    engine_module.mining_dispatch = capture
    try:
        run_engine(sc, prices=prices)
    finally:
        engine_module.mining_dispatch = original
    return seen["args"][:-1]   # without the progress step


def assert_same_dispatch(sc, prices) -> float:
    """``mining_dispatch`` and the former dispatch element by element; returns the largest relative difference."""
    args = dispatch_inputs(sc, prices)
    new = dispatch.mining_dispatch(*args)
    old = reference_dispatch(*args)
    worst = 0.0
    scales = (0.0, 0.0, price_scale(sc, old[1]), 0.0)
    for name, a, b, scale in zip(("TH/s-days", "MWh", "energy USD", "MWh if all ran"), new, old, scales):
        rel = worst_relative(a, b, scale=scale)
        assert rel <= RTOL, f"{name}: max relative difference {rel:.3g}"
        worst = max(worst, rel)
    return worst


# ---------------------------------------------------------------- scenarios

def random_scenario(seed: int, *, n_paths: int = 300) -> tuple:
    """1-4 sites, most with a 12x24 profile and a take-or-pay minimum that binds on many paths; credits,
    a site that cannot curtail, an AI/HPC conversion; cohorts bought and retired inside the horizon, some
    identical (equal costs: ties); hour prices rounded to whole dollars (equal hours: ties), some negative;
    some paths repeated (equal hashprices)."""
    rng = np.random.default_rng(seed)
    start = "2026-01"
    n_months = int(rng.integers(2, 13))
    sites, fleet, plan = [], [], []
    for s in range(int(rng.integers(1, 5))):
        name = f"S{s}"
        pue = float(rng.uniform(1.02, 1.2))
        price = float(rng.uniform(10.0, 90.0))
        cohorts = []
        for _ in range(int(rng.integers(1, 9))):
            kw = {"uptime_pct": float(rng.uniform(90, 100)), "degradation_pct_per_year": float(rng.uniform(0, 8))}
            if rng.random() < 0.3:
                kw["purchase_month"] = add_months(start, int(rng.integers(0, n_months)))
            else:
                kw["age_months"] = int(rng.integers(0, 48))
            if rng.random() < 0.3:
                kw["retire_month"] = add_months(kw.get("purchase_month", start), int(rng.integers(1, n_months + 1)))
                kw["salvage_usd"] = float(rng.uniform(0, 500))
            c = cohort(MODELS[int(rng.integers(len(MODELS)))], int(rng.integers(50, 3000)), name, **kw)
            cohorts += [c, dict(c)] if rng.random() < 0.25 else [c]     # an identical twin: exact ties
        mw = sum(c["count"] * c["power_w"] / 1e6 for c in cohorts) * pue
        site = {"name": name, "capacity_mw": mw * float(rng.uniform(1.0, 1.3)) + 0.01, "pue": pue,
                "power_price_usd_per_mwh": price,
                "curtailment_credit_usd_per_mwh": float(rng.choice([0.0, rng.uniform(0, 30)])),
                "curtailment_enabled": bool(rng.random() < 0.85),
                "mining_opex_usd_per_mw_month": float(rng.uniform(0, 4000))}
        if rng.random() < 0.75:
            shape = rng.uniform(0.3, 2.5, (12, 24))
            shape[:, rng.integers(0, 24, 3)] *= -0.2                    # a few negative hours
            site["hourly_price_usd_per_mwh"] = np.round(price * shape).tolist()
        if rng.random() < 0.75:
            site["take_or_pay_mwh_per_month"] = mw * 24 * 30 * float(rng.uniform(0.3, 1.1))
        if rng.random() < 0.25:
            convertible = site["capacity_mw"] * float(rng.uniform(0.1, 0.6))
            site["ai"] = {"convertible_gross_mw": convertible, "lead_time_months": int(rng.integers(0, 4))}
            plan.append({"site": name, "gross_mw": convertible * float(rng.uniform(0.2, 1.0)),
                         "start_month": add_months(start, int(rng.integers(0, n_months)))})
        sites.append(site)
        fleet += cohorts
    d = {"schema_version": 1, "name": f"random {seed}", "start_month": start, "horizon_months": n_months,
         "market": {"btc_price_usd": 91_500.0, "difficulty": 1.52e14, "fees_btc_per_block": 0.02,
                    "block_height": 925_000, "hashrate_growth_pct_per_month": float(rng.uniform(-1, 3)),
                    "network_model": "trend"},
         "sites": sites, "fleet": fleet, "conversion_plan": plan,
         "finance": {"pool_fee_pct": float(rng.uniform(0, 4)), "discount_rate_pct": 10.0, "tax_rate_pct": 21.0,
                     "g_and_a_usd_per_month": 1e5}}
    sc = scenario_from_dict(d)
    assert check_consistency(sc) == []
    # a third of the paths anywhere in $15k-$400k, the rest around one price (many in a take-or-pay band)
    prices = np.exp(rng.uniform(np.log(15_000.0), np.log(400_000.0), (n_paths, n_months)))
    around = np.exp(rng.uniform(np.log(30_000.0), np.log(200_000.0)) + rng.normal(0.0, 0.3, (n_paths, n_months)))
    prices[n_paths // 3:] = around[n_paths // 3:]
    prices[: n_paths // 10] = prices[n_paths // 10: 2 * (n_paths // 10)]      # repeated paths
    return sc, prices


def benchmark_case(hourly: bool = True):
    from benchmarks.engine import build_case

    sc = scenario_from_dict(build_case(hourly=hourly))
    flat = scenario_from_dict(build_case(hourly=False))
    return sc, price_paths(flat, n_paths=1_000, seed=7)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("seed", range(24))
def test_engine_matches_the_former_dispatch_on_random_scenarios(seed, monkeypatch):
    sc, prices = random_scenario(seed)
    new, old = run_both(sc, prices, monkeypatch)
    assert_same_results(new, old)
    assert_same_dispatch(sc, prices)


def test_benchmark_case_matches_the_former_dispatch(monkeypatch):
    """The 10-site benchmark with a 12x24 profile at every site, on 40 of its paths."""
    sc, prices = benchmark_case(hourly=True)
    new, old = run_both(sc, prices[:40], monkeypatch)
    assert_same_results(new, old)
    assert assert_same_dispatch(sc, prices[:40]) <= RTOL


def test_many_paths_per_site_and_month(monkeypatch):
    """Thousands of binding paths in one (site, month): the fill's intervals are split, verified and copied."""
    rng = np.random.default_rng(5)
    fleet = [cohort(m, int(rng.integers(200, 2000)), "A", age_months=int(rng.integers(0, 30)))
             for m in rng.choice(MODELS, 12)]
    fleet.append(dict(fleet[0]))                                        # an identical twin
    mw = sum(c["count"] * c["power_w"] / 1e6 for c in fleet) * 1.05
    profile = np.round(rng.uniform(15, 140, (12, 24))).tolist()         # whole dollars: hours tie
    site = {"name": "A", "capacity_mw": mw * 1.1, "pue": 1.05, "power_price_usd_per_mwh": 45.0,
            "curtailment_credit_usd_per_mwh": 4.0, "hourly_price_usd_per_mwh": profile,
            "take_or_pay_mwh_per_month": mw * 24 * 30 * 0.6}
    d = {"schema_version": 1, "name": "dense", "start_month": "2026-01", "horizon_months": 2,
         "market": {"btc_price_usd": 91_500.0, "difficulty": 1.52e14, "fees_btc_per_block": 0.02,
                    "block_height": 925_000, "network_model": "trend"},
         "sites": [site], "fleet": fleet, "finance": {"pool_fee_pct": 2.0}}
    sc = scenario_from_dict(d)
    prices = np.exp(rng.uniform(np.log(30_000.0), np.log(200_000.0), (3_000, 2)))
    prices[:300] = prices[300:600]
    new, old = run_both(sc, prices, monkeypatch)
    assert_same_results(new, old)
    assert assert_same_dispatch(sc, prices) <= RTOL


def test_hourly_fill_does_not_depend_on_the_order_of_its_entries():
    sc, prices = random_scenario(0)
    args = dispatch_inputs(sc, prices)
    captured = {}
    original = take_or_pay.fill_hourly

    def capture(hours, group, hpf, need, **kw):
        captured.update(hours=hours, group=group, hpf=hpf, need=need)
        return original(hours, group, hpf, need, **kw)

    take_or_pay.fill_hourly = capture
    try:
        dispatch.mining_dispatch(*args)
    finally:
        take_or_pay.fill_hourly = original
    assert captured, "the scenario has binding hourly take-or-pay entries"
    hours, group, hpf, need = (captured[k] for k in ("hours", "group", "hpf", "need"))
    in_order = original(hours, group, hpf, need)
    shuffle = np.random.default_rng(0).permutation(group.size)
    shuffled = original(hours, group[shuffle], hpf[shuffle], need[shuffle])
    assert worst_relative(shuffled, in_order[shuffle]) <= 1e-15
    for fanout in (3, 5):
        assert worst_relative(original(hours, group, hpf, need, fanout=fanout), in_order) <= RTOL


def test_slot_table_counts_a_slot_whose_breakeven_equals_the_hashprice():
    rng = np.random.default_rng(1)
    n_m, n_s, n_slots, n_p = 4, 3, 200, 50
    hashprice = rng.uniform(0.02, 0.08, (n_p, n_m))
    month = rng.integers(0, n_m, n_slots)
    site = rng.integers(0, n_s, n_slots)
    breakeven = rng.uniform(0.01, 0.09, n_slots)
    breakeven[:40] = hashprice[rng.integers(0, n_p, 40), month[:40]]   # exactly a path's hashprice
    breakeven[40:45] = -np.inf                                          # always runs
    breakeven[45:50] = np.inf                                           # never runs
    q = rng.uniform(0, 10, (n_slots, 3))
    got = engine_slots.SlotTable(n_m, n_s, month, site, breakeven, q).running_totals(hashprice)
    want = np.zeros((3, n_p, n_m, n_s))
    for i in range(n_slots):
        runs = hashprice[:, month[i]] >= breakeven[i]
        want[:, runs, month[i], site[i]] += q[i][:, None]
    for a, b in zip(got, want):
        assert worst_relative(a, b) <= 1e-13


@pytest.mark.parametrize("seed", [0, 1, 4, 9, 12, 15, 21])
def test_fill_to_any_minimum_matches_the_former_fill(seed):
    """Every (path, month, site) of the scenario's sites filled to a minimum between none and all of the
    site's energy (not only where a minimum binds), at sites with a profile, a flat price or no curtailment."""
    sc, prices = random_scenario(seed, n_paths=150)
    args = dispatch_inputs(sc, prices)
    n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract, can_curtail = args[:11]
    hp_usd = args[13]
    new_slots = engine_slots.build_slots(n_m, fl, th_days, energy_mwh, mwh_per_th_day, hour_price, buckets,
                                         fee, credit, contract, can_curtail, np.ones(len(buckets)))
    old_slots = _build_slots(SimpleNamespace(horizon_months=n_m, sites=[None] * len(buckets)), fl, th_days,
                             energy_mwh, mwh_per_th_day, hour_price, buckets, fee, credit, contract, can_curtail)
    rng = np.random.default_rng(seed)
    need = old_slots.energy_total * rng.uniform(0.02, 1.0, old_slots.energy_total.shape)   # [M, S]
    for s in range(len(buckets)):
        if old_slots.n_slots[s] == 0 or need[:, s].max() <= 0:
            continue
        p_i, m_i = (x.ravel() for x in np.meshgrid(np.arange(hp_usd.shape[0]), np.arange(n_m), indexing="ij"))
        s_i = np.full(p_i.size, s)
        where = (p_i, m_i, s_i)
        if buckets[s] == 1:
            new = take_or_pay.fill_fixed_order(new_slots.sites[s], need[:, s])[m_i]
            old = _fill_fixed_order(old_slots, s, need[:, s])[m_i]
        else:
            new = take_or_pay.fill_to_minimum(new_slots.sites, where, hp_usd, need[m_i, s], fee, credit)
            old = _fill_to_minimum(old_slots, where, hp_usd, need[m_i, s], fee, credit)
        scale = np.abs(old[:, 1:2]) * np.abs(hour_price[:, s]).max()
        for i in range(3):
            assert worst_relative(new[:, i], old[:, i], scale=scale[:, 0] if i == 2 else 0.0) <= RTOL, (s, i)


def test_one_path_repeated_paths_and_a_minimum_without_machines(monkeypatch):
    sc, prices = random_scenario(15)
    d = {"schema_version": 1, "name": "edge", "start_month": sc.start_month, "horizon_months": sc.horizon_months,
         "market": sc.market.model_dump(), "finance": sc.finance.model_dump(),
         "sites": [s.model_dump() for s in sc.sites] + [
             {"name": "Empty", "capacity_mw": 10.0, "power_price_usd_per_mwh": 40.0,
              "take_or_pay_mwh_per_month": 3_000.0, "hourly_price_usd_per_mwh": [[40.0] * 24] * 12}],
         "fleet": [c.model_dump() for c in sc.fleet]}
    edge = scenario_from_dict(d)
    for p in (prices[:1], np.repeat(prices[7:8], 400, axis=0), prices):
        new, old = run_both(edge, p, monkeypatch)
        assert_same_results(new, old)
        assert np.all(new.take_or_pay_shortfall_usd[..., -1] > 0)
