"""Period economics (minerplan.analysis.periods) against hand calculations.

Reference market (tests/builders.py) on the trend network: 144 blocks a day,
3.145 BTC per block, so one TH/s earns HP = 4.162277e-7 BTC a day whatever the
BTC price. The horizon is 2025-12 .. 2027-01 (14 months): a one-month 2025,
a full 2026 and a one-month 2027.

Site A mines: 1,000 x 100 TH/s x 3,000 W = 3 MW, 100 PH/s, always on (it
earns 52.896 x 0.98 USD/MWh at $91,500 against a $40 price). Per month of
``d`` days: BTC = 1e5 x d x HP x 0.98 (2% pool fee), energy 3 x 24 x d x 40 =
2,880 d USD, mining opex 3 MW x $5,000, ASIC depreciation 1,000 x $2,000 / 48.
Site B is converted whole (5 MW gross, 3.5 MW critical) to a colocation lease
from month 0 with no lead time: rent 3,500 kW x $140 = $490,000 a month,
landlord opex 3,500 x $20 = $70,000, the tenant pays power. G&A $100,000 a month.
"""

import json

import numpy as np
import pytest

from minerplan.engine.evaluate import run_engine
from minerplan.analysis.periods import halving_year, period_rows_for, period_table
from tests.builders import HP_BTC_PER_TH_DAY as HP
from tests.builders import PRICE, scenario

DAYS = np.array([31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31], dtype=float)   # 2025-12 .. 2027-01
MONTHS_OF = {"2025": slice(0, 1), "2026": slice(1, 13), "2027": slice(13, 14),
             "2025-Q4": slice(0, 1), "2026-Q1": slice(1, 4), "2026-Q2": slice(4, 7), "2026-Q3": slice(7, 10),
             "2026-Q4": slice(10, 13), "2027-Q1": slice(13, 14)}
RENT, AI_OPEX, G_AND_A, OPEX = 490_000.0, 70_000.0, 100_000.0, 15_000.0
DEP = 1000 * 2000 / 48
MARKET = {"btc_price_usd": PRICE, "difficulty": 1.52e14, "fees_btc_per_block": 0.02, "block_height": 925_000,
          "hashrate_growth_pct_per_month": 0.0, "network_model": "trend"}


def two_site_scenario(share_pct=None, **top):
    ai = {"convertible_gross_mw": 5, "critical_mw_per_gross_mw": 0.7, "conversion_capex_usd_per_critical_mw": 1e6,
          "lead_time_months": 0, "colocation": {"escalator_pct_per_year": 0.0}}
    finance = {"pool_fee_pct": 2, "discount_rate_pct": 0, "tax_rate_pct": 0, "terminal_value": "none",
               "g_and_a_usd_per_month": G_AND_A}
    if share_pct is not None:
        finance["g_and_a_mining_share_pct"] = share_pct
    d = dict(start_month="2025-12", horizon_months=14, market=MARKET, finance=finance,
             sites=[{"name": "A", "capacity_mw": 10, "power_price_usd_per_mwh": 40, "pue": 1.0,
                     "mining_opex_usd_per_mw_month": 5000},
                    {"name": "B", "capacity_mw": 5, "power_price_usd_per_mwh": 40, "pue": 1.0, "ai": ai}],
             fleet=[{"model": "X", "count": 1000, "hashrate_ths": 100, "power_w": 3000, "site": "A",
                     "uptime_pct": 100, "degradation_pct_per_year": 0, "purchase_price_usd": 2000,
                     "useful_life_months": 48}],
             conversion_plan=[{"site": "B", "gross_mw": 5, "start_month": "2025-12"}])
    d.update(top)
    return scenario(**d)


def by_hand(period: str, price: float = PRICE, share_pct=None) -> dict:
    """The period's row computed from the docstring's formulas."""
    sl = MONTHS_OF[period]
    days, k = DAYS[sl].sum(), DAYS[sl].size
    btc = 1e5 * days * HP * 0.98
    mining_rev = btc * price
    energy = 2880.0 * days
    share = share_pct / 100.0 if share_pct is not None else mining_rev / (mining_rev + RENT * k)
    cash = energy + OPEX * k + share * G_AND_A * k
    return {"months": k, "btc_mined": btc, "cost_per_btc_energy_usd": energy / btc,
            "cost_per_btc_cash_usd": cash / btc, "cost_per_btc_all_in_usd": (cash + DEP * k) / btc,
            "cost_usd_per_ph_day": cash / (100.0 * days),
            "ebitda_usd": mining_rev + RENT * k - energy - OPEX * k - AI_OPEX * k - G_AND_A * k,
            "ai_revenue_usd": RENT * k}


def test_hashprice_by_hand():
    assert HP == pytest.approx(4.162277e-7, rel=1e-6)


def test_rows_years_then_quarters_with_partial_periods():
    rows = period_table(run_engine(two_site_scenario()))
    assert [(r["period"], r["kind"], r["months"]) for r in rows] == [
        ("2025", "year", 1), ("2026", "year", 12), ("2027", "year", 1),
        ("2025-Q4", "quarter", 1), ("2026-Q1", "quarter", 3), ("2026-Q2", "quarter", 3),
        ("2026-Q3", "quarter", 3), ("2026-Q4", "quarter", 3), ("2027-Q1", "quarter", 1)]
    assert (rows[0]["first_month"], rows[0]["last_month"]) == ("2025-12", "2025-12")
    assert (rows[1]["first_month"], rows[1]["last_month"]) == ("2026-01", "2026-12")
    json.dumps(rows, allow_nan=False)   # JSON-safe


@pytest.mark.parametrize("share_pct", [60.0, None])
def test_every_period_by_hand(share_pct):
    rows = period_table(run_engine(two_site_scenario(share_pct)))
    for row in rows:
        expected = by_hand(row["period"], share_pct=share_pct)
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-9), (row["period"], key)


def test_g_and_a_share_given_versus_revenue_share():
    given = period_rows_for(run_engine(two_site_scenario(100.0)), "2026")
    by_revenue = period_rows_for(run_engine(two_site_scenario(None)), "2026")
    # Mining earns $1.36M of $7.24M revenue in 2026, so it carries 18.8% of G&A instead of all of it.
    saved = given["cost_per_btc_cash_usd"] - by_revenue["cost_per_btc_cash_usd"]
    mining_rev = 1e5 * 365 * HP * 0.98 * PRICE
    share = mining_rev / (mining_rev + 12 * RENT)
    assert share == pytest.approx(0.1881, abs=1e-4)
    assert saved == pytest.approx((1 - share) * 12 * G_AND_A / given["btc_mined"], rel=1e-9)
    assert given["ebitda_usd"] == pytest.approx(by_revenue["ebitda_usd"], rel=1e-12)   # EBITDA carries all G&A


def test_quarters_sum_to_years():
    rows = {r["period"]: r for r in period_table(run_engine(two_site_scenario()))}
    for year, quarters in {"2025": ["2025-Q4"], "2026": ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"],
                           "2027": ["2027-Q1"]}.items():
        for key in ("btc_mined", "ebitda_usd", "ai_revenue_usd"):
            assert sum(rows[q][key] for q in quarters) == pytest.approx(rows[year][key], rel=1e-12)
        assert sum(rows[q]["months"] for q in quarters) == rows[year]["months"]


def test_median_and_mean_across_paths_of_per_path_ratios():
    # Three paths (with two, the median IS the mean). With G&A shared by revenue, a higher BTC price
    # loads more G&A on mining, so the cost per BTC differs by path; BTC mined does not (trend network).
    levels = np.array([PRICE, 100_000.0, 200_000.0])
    res = run_engine(two_site_scenario(None), prices=np.repeat(levels[:, None], 14, axis=1))
    per_path = [by_hand("2026-Q2", price=p) for p in levels]
    med = period_rows_for(res, "2026-Q2")
    mean = period_rows_for(res, "2026-Q2", statistic="mean")
    for key in ("cost_per_btc_cash_usd", "cost_per_btc_all_in_usd", "cost_usd_per_ph_day", "ebitda_usd"):
        values = np.array([p[key] for p in per_path])
        assert med[key] == pytest.approx(np.median(values), rel=1e-9)
        assert mean[key] == pytest.approx(np.mean(values), rel=1e-9)
        assert med[key] != pytest.approx(mean[key], rel=1e-6)


def test_a_path_without_btc_is_left_out_of_the_cost_per_btc():
    # At $30,000 a MWh earns 52.896 x 30,000 / 91,500 x 0.98 = $17 < $40: path 2 curtails everything.
    prices = np.array([[PRICE] * 14, [30_000.0] * 14])
    res = run_engine(two_site_scenario(100.0), prices=prices)
    row = period_rows_for(res, "2026", statistic="mean")
    assert res.btc_mined[1].sum() == 0
    assert row["cost_per_btc_cash_usd"] == pytest.approx(by_hand("2026", share_pct=100.0)["cost_per_btc_cash_usd"],
                                                         rel=1e-9)
    assert row["btc_mined"] == pytest.approx(by_hand("2026")["btc_mined"] / 2, rel=1e-9)


def test_no_btc_mined_gives_none():
    res = run_engine(two_site_scenario(None), prices=np.full((1, 14), 30_000.0))
    row = period_rows_for(res, "2026-Q1")
    assert row["btc_mined"] == 0.0
    for key in ("cost_per_btc_energy_usd", "cost_per_btc_cash_usd", "cost_per_btc_all_in_usd",
                "cost_usd_per_ph_day"):
        assert row[key] is None
    # EBITDA still counts: rent - landlord opex - mining opex - all G&A (mining's revenue share is 0).
    assert row["ebitda_usd"] == pytest.approx(3 * (RENT - AI_OPEX - OPEX - G_AND_A), rel=1e-12)


def test_period_rows_for_and_errors():
    res = run_engine(two_site_scenario())
    assert period_rows_for(res, "2026-q3")["period"] == "2026-Q3"
    assert period_rows_for(res, "2030") is None
    with pytest.raises(ValueError, match="statistic"):
        period_table(res, statistic="p95")


def test_halving_year():
    assert halving_year(run_engine(two_site_scenario())) is None   # 125,000 blocks to go: ~29 months
    # 10,000 blocks before the halving at 1,050,000: Nov (4,320) and Dec (4,464) make 8,784, so it is in January.
    sc = two_site_scenario(start_month="2026-11", market={**MARKET, "block_height": 1_040_000},
                           conversion_plan=[])
    res = run_engine(sc)
    assert res.network.subsidy_btc[0, 2] < 3.125 and res.network.subsidy_btc[0, 1] == pytest.approx(3.125)
    assert halving_year(res) == 2027
