"""Known answers for the protocol and network model, computed by hand."""

import numpy as np
import pytest

from minerplan.engine.network import (block_subsidy_btc, block_subsidy_sats, breakeven_power_usd_per_kwh,
                               hashprice_btc_per_ph_day, hashrate_hs_from_difficulty, simulate_network,
                               subsidy_sum_btc)
from tests.builders import D_REF, HP_BTC_PER_TH_DAY


@pytest.mark.parametrize("height,btc", [(0, 50.0), (209_999, 50.0), (210_000, 25.0), (839_999, 6.25),
                                        (840_000, 3.125), (1_049_999, 3.125), (1_050_000, 1.5625),
                                        (1_260_000, 0.78125)])
def test_subsidy_schedule(height, btc):
    assert block_subsidy_btc(height) == btc


def test_subsidy_integer_satoshis_run_out():
    # 5e9 sats >> 32 = 1 sat; >> 33 = 0 (Bitcoin Core's integer shift), and 64+ halvings is 0 by rule.
    assert block_subsidy_sats(32 * 210_000) == 1
    assert block_subsidy_sats(33 * 210_000) == 0
    assert block_subsidy_sats(64 * 210_000) == 0


def test_subsidy_sum_splits_at_the_halving():
    # 10 blocks before 1,050,000 at 3.125 and 10 after at 1.5625 = 46.875 BTC
    assert subsidy_sum_btc(1_049_990, 1_050_010) == pytest.approx(46.875)
    assert subsidy_sum_btc(1_049_999.5, 1_050_000.5) == pytest.approx(0.5 * 3.125 + 0.5 * 1.5625)


def test_hashrate_from_difficulty():
    # 1.52e14 * 2^32 / 600 = 1.0880583816533e21 H/s = 1,088.06 EH/s
    assert float(hashrate_hs_from_difficulty(1.52e14)) == pytest.approx(1.0880583816533e21, rel=1e-12)


def test_hashprice_known_answer():
    # 144 * (3.125 + 0.02) / 1,088,058.38 PH/s = 452.88 / 1,088,058.38 = 4.162277e-4 BTC/PH/day; x $91,500 = $38.0848
    hp = hashprice_btc_per_ph_day(3.125, 0.02, 1.0880583816533e21)
    assert float(hp) == pytest.approx(4.162277e-4, rel=1e-6)
    assert float(hp) * 91_500 == pytest.approx(38.0848, rel=1e-5)


def test_breakeven_power_price_formula():
    # S21 at 17.5 J/TH with $0.0380849 per TH/s per day: 0.0380849 / (0.024 * 17.5) = $0.090678/kWh
    assert float(breakeven_power_usd_per_kwh(0.0380849, 17.5)) == pytest.approx(0.090678, rel=1e-5)


def test_flat_network_has_144_blocks_a_day_and_textbook_hashprice():
    net = simulate_network(start_month="2026-01", horizon_months=3, difficulty=D_REF, block_height=925_000,
                           fees_btc_per_block=0.02, hashrate_growth_pct_per_month=0.0)
    assert net.blocks[0] == pytest.approx([144 * 31, 144 * 28, 144 * 31], rel=1e-12)
    assert net.difficulty[0] == pytest.approx([D_REF] * 3, rel=1e-12)
    assert net.hashprice_btc_per_th_day[0, 0] == pytest.approx(HP_BTC_PER_TH_DAY, rel=1e-12)


def test_growing_hashrate_retargets_and_brings_the_halving_forward():
    flat = simulate_network(start_month="2025-12", horizon_months=40, difficulty=D_REF, block_height=925_000,
                            fees_btc_per_block=0.02, hashrate_growth_pct_per_month=0.0)
    grow = simulate_network(start_month="2025-12", horizon_months=40, difficulty=D_REF, block_height=925_000,
                            fees_btc_per_block=0.02, hashrate_growth_pct_per_month=3.0)
    # Flat: 125,000 blocks at 144/day = 868 days from 2025-12-01 -> the halving falls in 2028-04 (month 28).
    first_half = lambda n: int(np.argmax(n.subsidy_btc[0] < 3.125))  # noqa: E731
    assert first_half(flat) == 28
    assert first_half(grow) < first_half(flat)
    # Difficulty follows hashrate up at retargets, lagging it: block time stays under 600 s.
    assert np.all(np.diff(grow.difficulty[0]) > 0)
    assert np.all(grow.blocks[0] / grow.days[0] > 144)
    # ...but far less than the growth alone would give: retargets pull it back near 144/day.
    assert np.all(grow.blocks[0] / grow.days[0] < 144 * 1.03)


def test_retarget_clamped_to_quarter():
    # Hashrate collapsing 50%/month: difficulty can fall at most to 1/4 per retarget, never below.
    net = simulate_network(start_month="2026-01", horizon_months=6, difficulty=D_REF, block_height=925_000,
                           fees_btc_per_block=0.0, hashrate_growth_pct_per_month=-50.0)
    d = net.difficulty[0]
    assert np.all(d[1:] >= d[:-1] * 0.25 ** 3 - 1)
    assert np.all(np.isfinite(d))
