"""The vectorized engine against a plain-loop reference (``benchmarks/naive_engine.py``).

The reference re-derives dispatch (per path, month, site, cohort, hour bucket)
and cash flow from the documented rules; the network, fleet and AI/HPC arrays
come from the engine's own helpers. Every figure must agree to 1e-9 relative.
"Relative" is measured against the magnitude of the terms that were combined
(the ``scale_*`` figures of the reference), so a curtailed energy that is 0 in
one implementation and ``total - sum(parts)`` = 1e-10 MWh in the other, or a
month's net cash flow near zero made of $10M terms, is judged by the rounding
of those terms, not divided by ~0. A dispatch difference moves a figure by a
whole slot (a cohort for an hour bucket), orders of magnitude above that.

The engine's take-or-pay rule is the exact fill to the minimum
(``_fill_to_minimum``), so the reference runs with ``take_or_pay="exact"``; a
second check shows it never does worse than the older best-of-two rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.naive_engine import engine_inputs, naive_net_cash_flow
from minerplan.scenario.catalog import load_catalog
from minerplan.engine.evaluate import run_engine
from minerplan.scenario.months import add_months
from minerplan.scenario.finance import Finance
from minerplan.scenario.model import check_consistency
from minerplan.scenario.files import scenario_from_dict
from tests.builders import catalog_cohort as cohort

RTOL = 1e-9
TAKE_OR_PAY_RULE = "exact"
TAX_MODES = (["carryforward", "linear"] if "tax_mode" in Finance.model_fields else [None])
CATALOG = load_catalog()
MODELS = sorted(CATALOG)

MINING_FIELDS = ("btc_mined", "mining_revenue_usd", "mining_power_cost_usd", "take_or_pay_shortfall_usd",
                 "curtailment_credit_usd", "mining_energy_mwh", "curtailed_energy_mwh")


# ---------------------------------------------------------------- helpers

def load_mw(fleet: list[dict], site: str) -> float:
    return sum(c["count"] * c["power_w"] / 1e6 for c in fleet if c["site"] == site)


def hourly_profile(rng: np.random.Generator, lo: float = 0.0, hi: float = 150.0) -> list[list[float]]:
    return [[float(x) for x in rng.uniform(lo, hi, 24)] for _ in range(12)]


def build(d: dict):
    sc = scenario_from_dict(d)
    assert check_consistency(sc) == []
    return sc


def run_both(sc, prices):
    prices = np.asarray(prices, dtype=float)
    eng = run_engine(sc, prices=prices)
    ref = naive_net_cash_flow(sc, prices, *engine_inputs(sc), take_or_pay=TAKE_OR_PAY_RULE)
    return eng, ref


def assert_agree(sc, eng, ref):
    """Every compared field within RTOL of the larger of |engine|, |reference| and the terms' magnitude."""
    n_p = eng.btc_price_usd.shape[0]
    credit = np.array([s.curtailment_credit_usd_per_mwh for s in sc.sites])
    contract = np.array([s.power_price_usd_per_mwh for s in sc.sites])
    minimum = np.array([s.take_or_pay_mwh_per_month for s in sc.sites])
    full = np.broadcast_to(ref["scale_full_energy_mwh"][None], (n_p,) + ref["scale_full_energy_mwh"].shape)
    scales = {
        "btc_mined": 0.0,
        "mining_revenue_usd": 0.0,
        "mining_energy_mwh": 0.0,
        "mining_power_cost_usd": ref["scale_mining_power_cost_usd"],
        "take_or_pay_shortfall_usd": (minimum * contract)[None, None, :],
        "curtailment_credit_usd": full * credit[None, None, :],
        "curtailed_energy_mwh": full,
        "tax_usd": ref["scale_net_cash_flow_usd"],
        "net_cash_flow_usd": ref["scale_net_cash_flow_usd"],
        "npv_usd": ref["scale_npv_usd"],
    }
    problems = []
    for field, scale in scales.items():
        a = np.asarray(getattr(eng, field), dtype=float)
        b = ref[field]
        assert a.shape == b.shape, (field, a.shape, b.shape)
        # 1e-12 (USD, MWh, BTC) absolute floor: values in the subnormal range carry no precision at all.
        bound = np.maximum(RTOL * np.maximum(np.maximum(np.abs(a), np.abs(b)), scale), 1e-12)
        bad = np.abs(a - b) > bound
        if bad.any():
            i = tuple(int(x) for x in np.argwhere(bad)[0])
            problems.append(f"{field}{list(i)}: engine {a[i]!r} reference {b[i]!r} "
                            f"(|diff| {abs(a[i] - b[i]):.3g}, bound {bound[i]:.3g}; {int(bad.sum())} entries)")
    assert not problems, "engine and reference disagree:\n" + "\n".join(problems)


# ---------------------------------------------------------------- fixed scenarios

def market(**kw) -> dict:
    # The trend network: the reference recomputes dispatch and finance on the engine's one network path
    # (the supply model's per-path network is tested in test_network_supply.py).
    d = {"btc_price_usd": 91_500.0, "difficulty": 1.52e14, "fees_btc_per_block": 0.02, "block_height": 925_000,
         "hashrate_growth_pct_per_month": 1.5, "network_model": "trend"}
    d.update(kw)
    return d


def mixed_scenario() -> dict:
    """3 sites, 12 months: hourly profile + credit + conversion, binding take-or-pay, no curtailment."""
    rng = np.random.default_rng(7)
    profile = []
    for month in range(12):
        summer = month in (5, 6, 7, 8)
        row = [22.0 + 8 * rng.random() for _ in range(24)]
        for h in range(17, 21):
            row[h] = (90.0 if summer else 55.0) + 60 * rng.random()
        profile.append(row)
    fleet = [
        cohort("Antminer S19j Pro", 3000, "Texas", age_months=30, retire_month="2026-08", salvage_usd=150.0,
               uptime_pct=95.0, degradation_pct_per_year=5.0),
        cohort("Antminer S21", 2500, "Texas", age_months=6),
        cohort("Antminer S21 XP", 2000, "Texas", purchase_month="2026-03", useful_life_months=36),
        cohort("Whatsminer M50S++", 3000, "Georgia", age_months=18, degradation_pct_per_year=4.0),
        cohort("Antminer S19j Pro", 2500, "Georgia", age_months=40, salvage_usd=100.0, retire_month="2026-10"),
        cohort("Avalon A1566", 1500, "Georgia", purchase_month="2026-05"),
        cohort("Antminer S21+", 2000, "Dakota", age_months=12),
        cohort("Antminer S19 XP", 1500, "Dakota", age_months=24),
    ]
    tx_cap = round(load_mw(fleet, "Texas") * 1.04 + 1, 3)
    ga_cap = round(load_mw(fleet, "Georgia") * 1.08 + 0.5, 3)
    dk_cap = round(load_mw(fleet, "Dakota") * 1.05 + 0.5, 3)
    ga_full_mwh = load_mw(fleet, "Georgia") * 1.08 * 24 * 30
    sites = [
        {"name": "Texas", "capacity_mw": tx_cap, "power_price_usd_per_mwh": 38.0, "pue": 1.04,
         "hourly_price_usd_per_mwh": profile, "curtailment_credit_usd_per_mwh": 12.0,
         "mining_opex_usd_per_mw_month": 3000.0,
         "ai": {"convertible_gross_mw": 10.0, "lead_time_months": 3, "conversion_capex_usd_per_critical_mw": 8e6}},
        {"name": "Georgia", "capacity_mw": ga_cap, "power_price_usd_per_mwh": 46.0, "pue": 1.08,
         "take_or_pay_mwh_per_month": round(0.8 * ga_full_mwh), "curtailment_credit_usd_per_mwh": 4.0,
         "mining_opex_usd_per_mw_month": 2500.0},
        {"name": "Dakota", "capacity_mw": dk_cap, "power_price_usd_per_mwh": 62.0, "pue": 1.05,
         "curtailment_enabled": False, "curtailment_credit_usd_per_mwh": 20.0},
    ]
    return {
        "schema_version": 1, "name": "mixed", "start_month": "2026-01", "horizon_months": 12,
        "market": market(), "sites": sites, "fleet": fleet,
        "conversion_plan": [{"site": "Texas", "gross_mw": 8.0, "start_month": "2026-04"}],
        "finance": {"pool_fee_pct": 2.5, "discount_rate_pct": 12.0, "tax_rate_pct": 21.0,
                    "g_and_a_usd_per_month": 400_000.0, "terminal_value": "contracted_ai"},
    }


def mixed_prices(n_months: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n_months)
    rng = np.random.default_rng(11)
    return np.array([
        np.full(n_months, 91_500.0),
        20_000.0 + 180_000.0 * t,                 # recovery from a crash
        200_000.0 - 180_000.0 * t,                # slide
        rng.uniform(20_000.0, 200_000.0, n_months),
        np.full(n_months, 52_000.0),
    ])


def ai_heavy_scenario() -> dict:
    """2 sites, 18 months across a halving: GPU cloud and a landlord-pays-power lease under take-or-pay."""
    fleet = [
        cohort("Antminer S21 Pro", 2000, "Ohio", age_months=3),
        cohort("Antminer S19 XP", 2500, "Ohio", age_months=20, retire_month="2027-02", salvage_usd=300.0),
        cohort("Avalon A16XP", 1800, "Ohio", purchase_month="2026-09", useful_life_months=48),
        cohort("Antminer T21", 3000, "Quebec", age_months=9),
        cohort("Whatsminer M60S", 2000, "Quebec", age_months=14),
    ]
    oh_mw = load_mw(fleet, "Ohio") * 1.06
    qc_mw = load_mw(fleet, "Quebec") * 1.03
    sites = [
        {"name": "Ohio", "capacity_mw": round(oh_mw + 0.5, 3), "power_price_usd_per_mwh": 41.0, "pue": 1.06,
         "take_or_pay_mwh_per_month": round(0.9 * oh_mw * 24 * 30), "curtailment_credit_usd_per_mwh": 0.0,
         "ai": {"convertible_gross_mw": 8.0, "lead_time_months": 2, "load_factor_pct": 85.0,
                "colocation": {"tenant_pays_power": False, "term_months": 60}}},
        {"name": "Quebec", "capacity_mw": round(qc_mw + 0.5, 3), "power_price_usd_per_mwh": 33.0, "pue": 1.03,
         "mining_opex_usd_per_mw_month": 1800.0,
         "ai": {"convertible_gross_mw": 6.0, "lead_time_months": 4, "business_model": "gpu_cloud",
                "gpu_cloud": {"useful_life_months": 8}}},
    ]
    return {
        "schema_version": 1, "name": "ai-heavy", "start_month": "2025-11", "horizon_months": 18,
        "market": market(block_height=1_041_000, hashrate_growth_pct_per_month=2.0, fee_growth_pct_per_month=1.0),
        "sites": sites, "fleet": fleet,
        "conversion_plan": [{"site": "Ohio", "gross_mw": 6.0, "start_month": "2026-02"},
                            {"site": "Quebec", "gross_mw": 5.0, "start_month": "2026-01"}],
        "finance": {"pool_fee_pct": 1.5, "discount_rate_pct": 15.0, "tax_rate_pct": 25.0,
                    "g_and_a_usd_per_month": 250_000.0, "terminal_value": "contracted_ai"},
    }


def small_scenario() -> dict:
    """2 sites, 6 months, 1 path, no fee or tax; an hourly profile with negative hours."""
    rng = np.random.default_rng(3)
    profile = [[float(x) for x in rng.uniform(-20.0, 160.0, 24)] for _ in range(12)]
    fleet = [cohort("Antminer S21", 800, "West"), cohort("Antminer S19j Pro", 1200, "West", age_months=20),
             cohort("Avalon A16", 900, "East", purchase_month="2026-09", retire_month="2026-11", salvage_usd=2000.0),
             cohort("Whatsminer M66S Hydro", 600, "East")]
    return {
        "schema_version": 1, "name": "small", "start_month": "2026-07", "horizon_months": 6, "market": market(),
        "sites": [{"name": "West", "capacity_mw": 8.0, "power_price_usd_per_mwh": 30.0,
                   "hourly_price_usd_per_mwh": profile, "curtailment_credit_usd_per_mwh": 5.0,
                   "take_or_pay_mwh_per_month": 2500.0},
                  {"name": "East", "capacity_mw": 8.0, "power_price_usd_per_mwh": 55.0, "pue": 1.1}],
        "fleet": fleet,
        "finance": {"pool_fee_pct": 0.0, "discount_rate_pct": 0.0, "tax_rate_pct": 0.0, "terminal_value": "none"},
    }


def test_mixed_scenario_matches_reference():
    sc = build(mixed_scenario())
    prices = mixed_prices(sc.horizon_months)
    eng, ref = run_both(sc, prices)
    assert_agree(sc, eng, ref)
    # The scenario exercises what it claims to.
    full = ref["scale_full_energy_mwh"]
    curt = ref["curtailed_energy_mwh"]
    assert ((curt[:, :, 0] > 1.0) & (curt[:, :, 0] < full[None, :, 0] - 1.0)).any()  # hours partly curtailed
    assert (ref["curtailment_credit_usd"][:, :, 0] > 0).any()
    assert ref["used_prepaid_dispatch"][:, :, 1].any()                                  # take-or-pay binds
    assert (ref["take_or_pay_shortfall_usd"][:, :, 1] > 0).any()
    minimum = sc.sites[1].take_or_pay_mwh_per_month
    filled = np.isclose(ref["mining_energy_mwh"][:, :, 1], minimum, rtol=1e-12) & (curt[:, :, 1] > 1.0)
    assert filled.any()                                                                 # filled exactly to it
    assert np.all(curt[:, :, 2] == 0.0) and (ref["mining_power_cost_usd"][:, :, 2] > 0).all()
    assert (eng.fleet.placed_fraction[:, 0:3] < 1.0).any()                              # conversion stood some down
    assert (ref["tax_usd"] > 0).any() and (ref["net_cash_flow_usd"] < 0).any()


def test_ai_heavy_scenario_matches_reference():
    sc = build(ai_heavy_scenario())
    prices = mixed_prices(sc.horizon_months)[:3]
    eng, ref = run_both(sc, prices)
    assert_agree(sc, eng, ref)
    assert np.all(eng.terminal_value_usd != 0.0)
    assert (eng.ai.energy_mwh[:, 0] > 0).any() and ref["used_prepaid_dispatch"][:, :, 0].any()


def test_small_scenario_matches_reference():
    sc = build(small_scenario())
    prices = np.array([np.linspace(40_000.0, 120_000.0, sc.horizon_months)])
    eng, ref = run_both(sc, prices)
    assert_agree(sc, eng, ref)


def test_monte_carlo_paths_match_reference():
    sc = build(mixed_scenario())
    eng = run_engine(sc, n_paths=5, seed=42)
    ref = naive_net_cash_flow(sc, eng.btc_price_usd, *engine_inputs(sc), take_or_pay=TAKE_OR_PAY_RULE)
    assert_agree(sc, eng, ref)


@pytest.mark.parametrize("make", [mixed_scenario, ai_heavy_scenario, small_scenario])
def test_exact_take_or_pay_never_worse_than_best_of_two(make):
    sc = build(make())
    prices = mixed_prices(sc.horizon_months)
    eng = run_engine(sc, prices=prices)
    two = naive_net_cash_flow(sc, prices, *engine_inputs(sc), take_or_pay="best_of_two")

    def margin(r):
        return (r["mining_revenue_usd"] + r["curtailment_credit_usd"] - r["mining_power_cost_usd"]
                - r["take_or_pay_shortfall_usd"])

    m_eng = margin({f: getattr(eng, f) for f in MINING_FIELDS})
    m_two = margin(two)
    assert np.all(m_eng >= m_two - 1e-9 * (np.abs(m_two) + two["scale_mining_power_cost_usd"] + 1.0))


# ---------------------------------------------------------------- random scenarios

@st.composite
def random_case(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_months = draw(st.integers(1, 18))
    start = add_months("2025-06", draw(st.integers(0, 24)))
    n_sites = draw(st.integers(1, 3))
    fleet, sites, plan = [], [], []
    for s in range(n_sites):
        name = f"S{s}"
        pue = draw(st.floats(1.0, 1.3))
        for _ in range(draw(st.integers(1, 4))):
            extra = {"uptime_pct": draw(st.floats(85.0, 100.0)),
                     "degradation_pct_per_year": draw(st.floats(0.0, 10.0))}
            when = draw(st.sampled_from(["old", "bought", "old-retired", "bought-retired"]))
            if when.startswith("old"):
                extra["age_months"] = draw(st.integers(0, 48))
            if when.startswith("bought"):
                extra["purchase_month"] = add_months(start, draw(st.integers(0, max(n_months - 1, 0))))
            if when.endswith("retired"):
                first = 1 if when.startswith("bought") else 0
                buy = extra.get("purchase_month", start)
                extra["retire_month"] = add_months(buy, draw(st.integers(1, n_months + 1 - first)))
                extra["salvage_usd"] = draw(st.floats(0.0, 800.0))
            fleet.append(cohort(draw(st.sampled_from(MODELS)), draw(st.integers(50, 3000)), name, **extra))
        mw = load_mw(fleet, name) * pue
        site = {"name": name, "capacity_mw": mw * draw(st.floats(1.0, 1.4)) + 0.01, "pue": pue,
                "power_price_usd_per_mwh": draw(st.floats(0.0, 150.0)),
                "curtailment_credit_usd_per_mwh": draw(st.sampled_from([0.0, float(rng.uniform(0, 30))])),
                "curtailment_enabled": draw(st.booleans()),
                "mining_opex_usd_per_mw_month": draw(st.floats(0.0, 5000.0))}
        if draw(st.booleans()):
            site["hourly_price_usd_per_mwh"] = hourly_profile(rng)
        if draw(st.booleans()):
            site["take_or_pay_mwh_per_month"] = mw * 24 * 30 * draw(st.floats(0.0, 1.5))
        if draw(st.booleans()):
            convertible = site["capacity_mw"] * draw(st.floats(0.1, 1.0))
            site["ai"] = {"convertible_gross_mw": convertible, "lead_time_months": draw(st.integers(0, 6)),
                          "business_model": draw(st.sampled_from(["colocation", "gpu_cloud"])),
                          "colocation": {"tenant_pays_power": draw(st.booleans()),
                                         "term_months": draw(st.integers(1, 60))}}
            plan.append({"site": name, "gross_mw": convertible * draw(st.floats(0.05, 1.0)),
                         "start_month": add_months(start, draw(st.integers(0, max(n_months - 1, 0))))})
        sites.append(site)
    d = {"schema_version": 1, "name": "random", "start_month": start, "horizon_months": n_months,
         "market": market(hashrate_growth_pct_per_month=draw(st.floats(-2.0, 4.0))),
         "sites": sites, "fleet": fleet, "conversion_plan": plan,
         "finance": {"pool_fee_pct": draw(st.floats(0.0, 5.0)), "discount_rate_pct": draw(st.floats(0.0, 30.0)),
                     "tax_rate_pct": draw(st.floats(0.0, 40.0)), "g_and_a_usd_per_month": draw(st.floats(0.0, 1e6)),
                     "terminal_value": draw(st.sampled_from(["none", "contracted_ai"]))}}
    tax_mode = draw(st.sampled_from(TAX_MODES))
    if tax_mode is not None:
        d["finance"]["tax_mode"] = tax_mode
    n_paths = draw(st.integers(1, 5))
    prices = rng.uniform(20_000.0, 200_000.0, (n_paths, n_months))
    return d, prices


@settings(max_examples=60, deadline=None)
@given(random_case())
def test_random_scenarios_match_reference(case):
    d, prices = case
    sc = build(d)
    eng, ref = run_both(sc, prices)
    assert_agree(sc, eng, ref)
