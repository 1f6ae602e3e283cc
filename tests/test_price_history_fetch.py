"""Calibration from fetched price history: mempool.space's historical-price endpoint, served locally."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minerplan.cli.main import main
from minerplan.markets.live.errors import MarketDataError
from minerplan.markets.live.mempool import EP_PRICE_HISTORY, fetch_price_history
from tests.test_market_data import closed_port, fake, only_loopback  # noqa: F401 - pytest fixtures


def _history_body(n_days=3650, sigma_day=0.03, seed=0, start=1_420_070_400):   # 2015-01-01 UTC
    rng = np.random.default_rng(seed)
    price = 300.0 * np.exp(np.cumsum(rng.normal(0.0, sigma_day, n_days)))
    prices = [{"time": start + 86_400 * i, "USD": round(float(p), 6), "EUR": round(float(p) * 0.9, 6)}
              for i, p in enumerate(price)]
    prices.insert(0, {"time": start - 86_400, "USD": 0, "EUR": 0})    # "no price yet": skipped
    return json.dumps({"prices": prices, "exchangeRates": {"USDEUR": 0.9}})


def test_fetched_history_parses_and_calibrates(fake, tmp_path, capsys):
    fake.set(EP_PRICE_HISTORY, _history_body())
    series = fetch_price_history(fake.url)
    assert len(series) == 3650 and series.index[0].year == 2015 and (series > 0).all()
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--fetch", "--api-url", fake.url, "--model", "gbm", "--into", "default",
                 "--output", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # Daily log-vol 3% is 3% x sqrt(365.25) = 57.3% a year; monthly sampling over ten years pins it within ~10%.
    assert doc["monte_carlo"]["volatility_pct_per_year"] == pytest.approx(3.0 * 365.25 ** 0.5, rel=0.12)
    assert doc["history"].endswith(EP_PRICE_HISTORY)


@pytest.mark.parametrize("body, words", [
    ('{"prices": "soon"}', "prices: expected a list"),
    ('{"prices": [{"time": 1420070400, "USD": "abc"}, {"time": 1420156800, "USD": 2}]}', "prices[0]"),
    ('{"prices": [{"time": 1420156800, "USD": 1}, {"time": 1420070400, "USD": 2}]}', "times must increase"),
    ('{"prices": [{"time": 1420070400.5, "USD": 1}, {"time": 1420156800, "USD": 2}]}', "whole seconds"),
    ('{"nothing": []}', "prices"),
    ("not json", EP_PRICE_HISTORY),
])
def test_broken_history_is_named(fake, body, words):
    fake.set(EP_PRICE_HISTORY, body)
    with pytest.raises(MarketDataError) as e:
        fetch_price_history(fake.url)
    assert words in str(e.value)


def test_calibrate_fetch_offline_exits_2(closed_port, capsys):
    assert main(["calibrate", "--fetch", "--api-url", f"http://127.0.0.1:{closed_port}"]) == 2
    assert "offline" in capsys.readouterr().err


def test_calibrate_needs_a_file_or_fetch(capsys, tmp_path):
    assert main(["calibrate"]) == 2
    assert "one of them" in capsys.readouterr().err


def test_fetched_short_history_auto_fits_gbm_merton_is_bad_input(fake, capsys):
    """Issue 11 through --fetch: 430 daily closes from 2015-01-01 end on 2016-03-05, so the complete
    months are January 2015 to February 2016: 14 month-end closes, 13 returns. Auto fits the GBM and
    says why (it was an internal error); --model merton is bad input (exit 2) naming the source."""
    fake.set(EP_PRICE_HISTORY, _history_body(n_days=430))
    assert main(["calibrate", "--fetch", "--api-url", fake.url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["observations"], doc["monthly_returns"], doc["to"]) == (430, 13, "2016-03-05")
    assert doc["monte_carlo"]["model"] == "gbm"
    assert doc["model_reason"] == "only 13 monthly returns: a Merton fit needs at least 20, so the GBM was fitted"
    assert main(["calibrate", "--fetch", "--api-url", fake.url, "--model", "merton"]) == 2
    err = capsys.readouterr().err
    source = fake.url.rstrip("/") + EP_PRICE_HISTORY
    assert (f"{source}: 13 monthly log returns from 430 closes (2015-01-01 to 2016-03-05); a Merton fit needs "
            "at least 20 (a GBM needs 12)") in err
    assert "internal error" not in err


def test_fetched_constant_history_is_bad_input(fake, capsys):
    """400 days of a price of 100 from 2015-01-01 (to 2016-02-04): 13 complete months, 12 returns, all 0."""
    start = 1_420_070_400
    prices = [{"time": start + 86_400 * i, "USD": 100, "EUR": 90} for i in range(400)]
    fake.set(EP_PRICE_HISTORY, json.dumps({"prices": prices, "exchangeRates": {"USDEUR": 0.9}}))
    for model in ("auto", "gbm", "merton"):
        assert main(["calibrate", "--fetch", "--api-url", fake.url, "--model", model]) == 2
        err = capsys.readouterr().err
        assert ("the 12 monthly log returns from 400 closes (2015-01-01 to 2016-02-04) are all 0: the closes do not "
                "change") in err, err
