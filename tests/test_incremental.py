"""The plan against its status quo (minerplan.analysis.incremental), by hand.

Reference market (tests/builders.py) on the trend network: one TH/s earns
HP = 4.162277e-7 BTC a day, $0.0380848 at $91,500. The fleet, 1,000 x 100 TH/s
x 3,000 W = 3 MW at $40/MWh, earns 1e5 x HP x 91,500 = $3,808.48 a day and
pays 3 x 24 x 40 = $2,880 a day for power: a margin of $928.48 a day.

Tax, discount rate and pool fee are 0, so NPVs are plain sums of cash.
The colocation conversion of 5 MW gross (3.5 MW critical) at $1M per critical
MW, from 2026-02 with a 2-month lead time: capex $1.75M in 2026-02 and 2026-03,
rent less landlord opex 3,500 kW x ($140 - $20) = $420,000 a month from 2026-04
(month 3) to the horizon's end (month 23): 21 months.
"""

import numpy as np
import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.analysis.incremental import (baseline_description, incremental, path_fees, horizon_decisions,
                                   status_quo)
from minerplan.analysis.report import summary
from tests.builders import HP_BTC_PER_TH_DAY as HP
from tests.builders import PRICE, scenario

MARKET = {"btc_price_usd": PRICE, "difficulty": 1.52e14, "fees_btc_per_block": 0.02, "block_height": 925_000,
          "hashrate_growth_pct_per_month": 0.0, "network_model": "trend"}
DAYS_2026_27 = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] * 2, dtype=float)
MARGIN_PER_DAY = 1e5 * HP * PRICE - 2880.0
FLEET = [{"model": "X", "count": 1000, "hashrate_ths": 100, "power_w": 3000, "site": "A", "uptime_pct": 100,
          "degradation_pct_per_year": 0}]


def colocation_scenario(capacity_mw=10.0, convert_mw=5.0, terminal="none"):
    ai = {"convertible_gross_mw": convert_mw, "critical_mw_per_gross_mw": 0.7,
          "conversion_capex_usd_per_critical_mw": 1e6, "lead_time_months": 2,
          "colocation": {"escalator_pct_per_year": 0.0, "rate_usd_per_kw_month": 140, "opex_usd_per_kw_month": 20}}
    return scenario(horizon_months=24, market=MARKET,
                    sites=[{"name": "A", "capacity_mw": capacity_mw, "power_price_usd_per_mwh": 40, "pue": 1.0,
                            "ai": ai}],
                    fleet=FLEET, conversion_plan=[{"site": "A", "gross_mw": convert_mw, "start_month": "2026-02"}],
                    finance={"pool_fee_pct": 0, "discount_rate_pct": 0, "lease_discount_rate_pct": 0,
                             "tax_rate_pct": 0, "terminal_value": terminal, "asic_residual_value": "none"})


def irr_by_roots(flows) -> float:
    """Annual IRR of monthly end-of-month flows: the one positive root x = 1/(1+r) of sum f_t x^(t+1)."""
    coeffs = np.concatenate([np.asarray(flows, dtype=float)[::-1], [0.0]])   # highest power first
    roots = np.roots(np.trim_zeros(coeffs, "f"))
    x = [z.real for z in roots if abs(z.imag) < 1e-9 and z.real > 1e-9]
    assert len(x) == 1   # one sign change: one positive root (Descartes)
    return (1.0 / x[0]) ** 12 - 1.0


def test_status_quo_removes_exactly_the_decisions_inside_the_horizon():
    # Horizon 2026-01 .. 2026-12; 2027-01 is the first month after it.
    fleet = [
        {"model": "Old", "count": 1000, "hashrate_ths": 100, "power_w": 3000, "site": "A"},
        {"model": "Retiring", "count": 500, "hashrate_ths": 100, "power_w": 3000, "site": "A",
         "retire_month": "2026-06"},
        {"model": "Later", "count": 200, "hashrate_ths": 100, "power_w": 3000, "site": "A",
         "retire_month": "2027-01"},
        {"model": "New", "count": 300, "hashrate_ths": 200, "power_w": 3500, "site": "A",
         "purchase_month": "2026-04"},
        {"model": "Future", "count": 100, "hashrate_ths": 200, "power_w": 3500, "site": "A",
         "purchase_month": "2027-06"},
        {"model": "Both", "count": 100, "hashrate_ths": 200, "power_w": 3500, "site": "A",
         "purchase_month": "2026-02", "retire_month": "2026-09"},
    ]
    sc = scenario(horizon_months=12, market=MARKET, fleet=fleet,
                  sites=[{"name": "A", "capacity_mw": 20, "power_price_usd_per_mwh": 40, "pue": 1.0,
                          "ai": {"convertible_gross_mw": 10}}],
                  conversion_plan=[{"site": "A", "gross_mw": 4, "start_month": "2026-12"},
                                   {"site": "A", "gross_mw": 3, "start_month": "2027-01"}])
    sq = status_quo(sc)
    assert sq.name == "Test (status quo)"
    assert [(cv.gross_mw, cv.start_month) for cv in sq.conversion_plan] == [(3, "2027-01")]
    assert [(c.model, c.purchase_month, c.retire_month) for c in sq.fleet] == [
        ("Old", None, None), ("Retiring", None, None), ("Later", None, "2027-01"), ("Future", "2027-06", None)]
    # Everything else is untouched.
    assert sq.model_dump(exclude={"name", "fleet", "conversion_plan"}) == sc.model_dump(
        exclude={"name", "fleet", "conversion_plan"})
    assert horizon_decisions(sq).empty
    assert baseline_description(sc) == (
        "the same scenario without the 1 conversion (4 MW at A from 2026-12), the 2 purchases "
        "(300 x New at A in 2026-04; 100 x Both at A in 2026-02) and the 1 retirement "
        "(500 x Retiring at A from 2026-06, kept running) inside the horizon, on the same price paths")


def test_description_lists_three_then_counts():
    sc = colocation_scenario()
    assert baseline_description(sc) == ("the same scenario without the 1 conversion (5 MW at A from 2026-02) "
                                        "inside the horizon, on the same price paths")
    many = scenario(horizon_months=12, market=MARKET, sites=[{"name": "A", "capacity_mw": 10,
                                                              "power_price_usd_per_mwh": 40, "pue": 1.0}],
                    fleet=[{**FLEET[0], "count": 100, "purchase_month": f"2026-0{i}"} for i in range(1, 6)])
    assert "the 5 purchases (100 x X at A in 2026-01; 100 x X at A in 2026-02; 100 x X at A in 2026-03; " \
           "and 2 more)" in baseline_description(many)


def test_colocation_increment_by_hand():
    res = run_engine(colocation_scenario())
    inc = incremental(res)
    # The site keeps 5 MW for 3 MW of machines: mining loses nothing. Increment: -1.75M, -1.75M, 21 x +420k.
    flows = np.zeros(24)
    flows[1:3] = -1.75e6
    flows[3:] = 420_000.0
    assert inc["npv_usd"] == pytest.approx(21 * 420_000 - 3.5e6, rel=1e-9)          # $5.32M
    assert inc["baseline_npv_usd"] == pytest.approx(DAYS_2026_27.sum() * MARGIN_PER_DAY, rel=1e-9)
    assert inc["npv_usd"] == float(np.median(res.npv_usd)) - inc["baseline_npv_usd"]
    assert inc["npv_usd"] == summary(res, with_irr=False)["npv_usd"] - inc["baseline_npv_usd"]
    assert inc["expected_npv_usd"] == pytest.approx(inc["npv_usd"], rel=1e-12)
    assert inc["irr"] == pytest.approx(irr_by_roots(flows), rel=1e-7)
    # Cumulative: -3.5M at month 2, -0.14M after 8 rents (month 10), +0.28M after 9 (month 11): 12 months.
    assert inc["payback_months"] == 12.0
    assert inc["payback_share_of_paths"] == 1.0
    assert inc["statistic"] == "on the entered price path"
    assert "irr_note" not in inc
    assert list(inc) == ["baseline", "baseline_npv_usd", "npv_usd", "expected_npv_usd", "irr", "payback_months",
                         "payback_share_of_paths", "statistic"]


def test_conversion_that_takes_mining_capacity_by_hand():
    # 5 MW site, 3 MW of machines, 4 MW converted from month 1: 1 MW is left, so 2/3 of the fleet stops.
    res = run_engine(colocation_scenario(capacity_mw=5.0, convert_mw=4.0))
    inc = incremental(res)
    capex = 2.8 * 1e6                               # 2.8 MW critical
    lease = 21 * 2800 * 120.0
    lost = 2 / 3 * DAYS_2026_27[1:].sum() * MARGIN_PER_DAY
    assert inc["npv_usd"] == pytest.approx(lease - capex - lost, rel=1e-9)
    flows = -2 / 3 * DAYS_2026_27 * MARGIN_PER_DAY
    flows[0] = 0.0
    flows[1:3] -= capex / 2
    flows[3:] += 2800 * 120.0
    assert inc["irr"] == pytest.approx(irr_by_roots(flows), rel=1e-7)


def test_terminal_value_difference_counts_in_the_irr_not_the_payback():
    # Contracted rent past the horizon: months 24..122 of the 120-month lease from month 3, 99 x $420k at 0%.
    res = run_engine(colocation_scenario(terminal="contracted_ai"))
    inc = incremental(res)
    tail = 99 * 420_000.0
    assert res.terminal_value_usd == pytest.approx(tail, rel=1e-12)
    assert inc["npv_usd"] == pytest.approx(21 * 420_000 - 3.5e6 + tail, rel=1e-9)
    flows = np.zeros(24)
    flows[1:3] = -1.75e6
    flows[3:] = 420_000.0
    flows[-1] += tail
    assert inc["irr"] == pytest.approx(irr_by_roots(flows), rel=1e-7)
    assert inc["payback_months"] == 12.0


def test_several_paths_median_identity_and_mean():
    # At $60,000 a MWh earns $34.7 < $40: the fleet is curtailed and the conversion costs no margin there.
    levels = np.array([PRICE, 60_000.0, 600_000.0])
    sc = colocation_scenario(capacity_mw=5.0, convert_mw=4.0)
    res = run_engine(sc, prices=np.repeat(levels[:, None], 24, axis=1))
    base = run_engine(status_quo(sc), prices=res.btc_price_usd)
    inc = incremental(res)
    assert inc["statistic"] == "median of 3 paths"
    assert inc["baseline_npv_usd"] == float(np.median(base.npv_usd))
    assert inc["npv_usd"] == float(np.median(res.npv_usd)) - float(np.median(base.npv_usd))
    assert inc["npv_usd"] == summary(res, with_irr=False)["npv_usd"] - inc["baseline_npv_usd"]
    assert inc["expected_npv_usd"] == pytest.approx(np.mean(res.npv_usd) - np.mean(base.npv_usd), rel=1e-12)
    assert inc["expected_npv_usd"] != pytest.approx(inc["npv_usd"], rel=1e-6)
    # The lost margin scales with the price: at $600,000 2/3 of the fleet earns 2/3 x (1e5 x HP x 600,000
    # - 2,880) = $14,729 a day, more than the lease's $336,000 a month, so that path never pays back.
    d = res.net_cash_flow_usd - base.net_cash_flow_usd
    months_to_pay = []
    for row in np.cumsum(d, axis=1):
        negative = [t for t, c in enumerate(row) if c < 0]
        if negative[-1] < len(row) - 1:
            months_to_pay.append(negative[-1] + 2)     # last negative month t ends at t + 1; paid by t + 2
    assert len(months_to_pay) == 2
    assert inc["payback_share_of_paths"] == pytest.approx(2 / 3)
    assert inc["payback_months"] == np.median(months_to_pay)
    assert incremental(res, baseline=base) == inc


def test_random_fees_are_shared_with_the_baseline():
    sc = colocation_scenario(capacity_mw=5.0, convert_mw=4.0)
    data = sc.model_dump(mode="json", exclude_none=True)
    data["monte_carlo"] = {"fee_volatility_pct_per_month": 30.0, "volatility_pct_per_year": 40.0}
    from minerplan.scenario.files import scenario_from_dict

    sc = scenario_from_dict(data)
    res = run_engine(sc, n_paths=4, seed=3)
    fees = path_fees(res)
    assert fees is not None and fees.shape == (4, 24)
    base = run_engine(status_quo(sc), prices=res.btc_price_usd, fees_btc_per_block=fees)
    assert incremental(res) == incremental(res, baseline=base)
    assert path_fees(run_engine(colocation_scenario())) is None


def test_increment_that_starts_with_income_has_no_irr():
    # Machines losing money on an uncurtailable $60 contract, retired from 2026-03: the increment is savings,
    # and the machines' sale in 2026-03 at the used-ASIC market price: 663 days of margin at a buyer's
    # $0.05/kWh on this market's hashprice ($0.0380848): 663 x (0.0380848 - 0.05 x 0.024 x 30) per TH/s.
    sc = scenario(horizon_months=12, market=MARKET,
                  sites=[{"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 60, "pue": 1.0,
                          "curtailment_enabled": False}],
                  fleet=[{**FLEET[0], "retire_month": "2026-03"}])
    res = run_engine(sc)
    inc = incremental(res)
    loss_per_day = 3 * 24 * 60.0 - 1e5 * HP * PRICE
    salvage = 1000 * 100 * 663.0 * (HP * PRICE - 0.05 * 0.024 * 30)
    assert inc["npv_usd"] == pytest.approx(DAYS_2026_27[2:12].sum() * loss_per_day + salvage, rel=1e-9)
    assert inc["irr"] is None and inc["payback_months"] is None and inc["payback_share_of_paths"] is None
    assert inc["irr_note"] == "the plan's extra cash flows do not start with an outlay"
    assert "the 1 retirement (1,000 x X at A from 2026-03, kept running)" in inc["baseline"]


def test_nothing_to_compare():
    res = run_engine(scenario(horizon_months=6, market=MARKET))
    inc = incremental(res)
    assert inc["npv_usd"] == 0.0 and inc["expected_npv_usd"] == 0.0
    assert inc["baseline_npv_usd"] == float(res.npv_usd[0])
    assert inc["irr"] is None and inc["payback_months"] is None
    assert inc["irr_note"] == "the plan is the status quo (nothing to compare)"
    assert inc["baseline"].startswith("the plan itself")


def test_baseline_on_other_paths_is_refused():
    sc = colocation_scenario()
    res = run_engine(sc)
    other = run_engine(status_quo(sc), prices=np.full((1, 24), 80_000.0))
    with pytest.raises(ValueError, match="price paths"):
        incremental(res, baseline=other)
