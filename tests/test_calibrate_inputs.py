"""`minerplan calibrate` on the inputs issue 11's fuzzing pass broke it with.

Each case is the reproduction from the issue, run through the CLI (exit 2 and a message
naming the row or the count, never an internal error), with the numbers checked by hand.

The monthly history used here alternates between two closes, 48,172 and 48,172 x 1.1
(month ends from 2018-03-31, 38 closes, 37 log returns of +-a, a = ln 1.1: 19 up, 18 down).
Its GBM volatility by moments is, by hand,
sd = a * sqrt((37 - 1/37) / 36) = 0.0965885 a month, x sqrt(12) = 33.46 %/yr.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from minerplan.markets.calibration.history_csv import PriceHistoryError, load_price_history_csv
from minerplan.cli.main import main

A = math.log(1.1)
HAND_VOL_PCT = 100 * A * math.sqrt((37 - 1 / 37) / 36) * math.sqrt(12)   # 33.46 %/yr


def _month_ends(n: int, start: str = "2018-03-31") -> list[str]:
    return [str(d.date()) for d in pd.date_range(start, periods=n, freq="ME")]


def _alternating_rows() -> list[str]:
    """38 month-end closes: 48172 in even months (from 0), 52989.2 in odd ones."""
    return [f"{d},{48172 if i % 2 == 0 else 52989.2}" for i, d in enumerate(_month_ends(38))]


def _csv(tmp_path, rows: list[str], header: str = "date,close", name: str = "prices.csv",
         encoding: str = "utf-8", bom: bytes = b""):
    path = tmp_path / name
    path.write_bytes(bom + (header + "\n" + "\n".join(rows) + "\n").encode(encoding))
    return path


def _calibrate(capsys, *args) -> tuple[int, str, str]:
    code = main(["calibrate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_alternating_history_has_the_hand_volatility(tmp_path, capsys):
    code, out, err = _calibrate(capsys, _csv(tmp_path, _alternating_rows()), "--model", "gbm", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["observations"], doc["monthly_returns"]) == (38, 37)
    assert doc["monte_carlo"]["volatility_pct_per_year"] == pytest.approx(HAND_VOL_PCT, rel=1e-12)
    assert HAND_VOL_PCT == pytest.approx(33.46, abs=0.01)


# --------------------------------------------------------------------------- a row with more fields than the header

def test_row_with_an_unquoted_thousands_separator_is_refused(tmp_path, capsys):
    """Issue 11: ``2021-03-31,48,172`` under ``date,close`` was read as a close of 48 and turned the
    volatility from 11.9 %/yr into 492.7 %/yr. 2021-03-31 is month 36 (even: 48172), file row 38."""
    rows = _alternating_rows()
    assert rows[36] == "2021-03-31,48172"
    rows[36] = "2021-03-31,48,172"
    path = _csv(tmp_path, rows)
    code, out, err = _calibrate(capsys, path, "--model", "gbm")
    assert code == 2 and out == ""
    assert ("prices.csv row 38: the row has 3 fields but the header has 2 (the last is 'close'): field 3 holds "
            "'172' under no header, so the row's values cannot be matched to their columns ('48' and '172' look "
            "like the number 48,172 split at its comma): write 48172") in err
    assert "internal error" not in err


def test_extra_fields_right_of_ignored_columns_are_refused_too(tmp_path):
    """Columns the reader ignores (open, volume) still count as headers; a value beyond the last one is not."""
    rows = [f"{r},1,9" for r in _alternating_rows()]
    rows[4] += ",5"                                   # file row 6
    with pytest.raises(PriceHistoryError) as info:
        load_price_history_csv(_csv(tmp_path, rows, header="date,close,open,volume"))
    assert [p.path for p in info.value.problems] == ["prices.csv row 6"]
    assert ("the row has 5 fields but the header has 4 (the last is 'volume'): field 5 holds '5' under no header"
            in str(info.value))
    rows[4] = rows[4][:-2] + ",,"                     # empty trailing fields are not data
    assert len(load_price_history_csv(_csv(tmp_path, rows, header="date,close,open,volume"))) == 38


# --------------------------------------------------------------------------- UTF-16

@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path, capsys, encoding, bom):
    """Issue 11: a UTF-16 price CSV was "not a text file (a NUL byte ...)". With a BOM it is read
    (Excel's "Unicode Text" is tab-separated UTF-16LE with a BOM)."""
    path = _csv(tmp_path, [r.replace(",", "\t") for r in _alternating_rows()], header="Date\tClose",
                encoding=encoding, bom=bom)
    series = load_price_history_csv(path)
    assert len(series) == 38 and series.iloc[0] == 48172 and series.iloc[1] == 52989.2
    code, out, err = _calibrate(capsys, path, "--model", "gbm", "--json")
    assert code == 0, err
    assert json.loads(out)["monte_carlo"]["volatility_pct_per_year"] == pytest.approx(HAND_VOL_PCT, rel=1e-12)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_named(tmp_path, capsys, encoding):
    path = _csv(tmp_path, _alternating_rows(), encoding=encoding)
    code, out, err = _calibrate(capsys, path)
    assert code == 2
    assert ("prices.csv: looks like UTF-16 text without a byte order mark (a NUL byte at every other position); "
            "save it as UTF-8 ('CSV UTF-8' in Excel)") in err
    assert "not a text file" not in err


def test_binary_file_is_still_not_a_text_file(tmp_path):
    """NULs on both byte positions (a PNG header) are not UTF-16: the old message stays."""
    path = tmp_path / "prices.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    with pytest.raises(PriceHistoryError, match=r"prices.csv row 3: .*not a text file \(a NUL byte at byte 8\)"):
        load_price_history_csv(path)


# --------------------------------------------------------------------------- histories too short or flat for a fit

def _daily_rows(n: int = 430, start: str = "2023-01-01", price=None) -> list[str]:
    """``n`` daily closes; by default 48172 through even calendar months (from January 2023) and
    52989.2 through odd ones, so the month-end closes alternate like the monthly history."""
    days = pd.date_range(start, periods=n, freq="D")
    price = price or (lambda d: 48172 if (d.year * 12 + d.month - 1) % 2 == 0 else 52989.2)
    return [f"{d.date()},{price(d)}" for d in days]


def test_auto_with_too_few_returns_for_merton_falls_back_to_gbm_and_says_why(tmp_path, capsys):
    """Issue 11: 430 daily closes in auto mode were an internal error ("a Merton fit needs at least
    20 returns"). 2023-01-01 + 429 days = 2024-03-05: the complete months are January 2023 to
    February 2024 (14 month-end closes, 13 returns: 7 up, 6 down), so the GBM is fitted:
    sd = a sqrt((13 - 1/13) / 12), volatility = sd sqrt(12)."""
    path = _csv(tmp_path, _daily_rows())
    code, out, err = _calibrate(capsys, path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["observations"], doc["monthly_returns"], doc["to"]) == (430, 13, "2024-03-05")
    assert doc["monte_carlo"]["model"] == "gbm"
    assert doc["monte_carlo"]["volatility_pct_per_year"] == pytest.approx(
        100 * A * math.sqrt((13 - 1 / 13) / 12) * math.sqrt(12), rel=1e-12)
    assert doc["model_reason"] == "only 13 monthly returns: a Merton fit needs at least 20, so the GBM was fitted"
    code, out, err = _calibrate(capsys, path)
    assert code == 0 and err == ""
    assert "GBM, fitted by moments to 13 log returns" in out
    assert out.rstrip().endswith("model kept: gbm (only 13 monthly returns: a Merton fit needs at least 20, "
                                 "so the GBM was fitted)")


def test_merton_with_too_few_returns_is_bad_input(tmp_path, capsys):
    code, out, err = _calibrate(capsys, _csv(tmp_path, _daily_rows()), "--model", "merton")
    assert (code, out) == (2, "")
    assert err == ("minerplan: cannot read price history: prices.csv: 13 monthly log returns from 430 closes "
                   "(2023-01-01 to 2024-03-05); a Merton fit needs at least 20 (a GBM needs 12): give a longer "
                   "history or fit the GBM (--model gbm)\n")


@pytest.mark.parametrize("model", ["auto", "gbm", "merton"])
def test_too_few_returns_for_any_fit_is_bad_input(tmp_path, capsys, model):
    """40 daily closes (2024-01-01 to 2024-02-09): January is the only complete month, no return."""
    code, _, err = _calibrate(capsys, _csv(tmp_path, _daily_rows(40, "2024-01-01")), "--model", model)
    assert code == 2
    assert ("prices.csv: 0 monthly log returns from 40 closes (2024-01-01 to 2024-02-09); a fit needs at least "
            "12 (a GBM; a Merton fit 20)") in err
    assert "internal error" not in err


@pytest.mark.parametrize("model", ["auto", "gbm", "merton"])
def test_constant_prices_are_bad_input(tmp_path, capsys, model):
    """Issue 11: constant prices were an internal error ("returns have no variation")."""
    path = _csv(tmp_path, [f"{d},100" for d in _month_ends(40, "2020-01-31")])
    code, _, err = _calibrate(capsys, path, "--model", model)
    assert code == 2
    assert ("prices.csv: the 39 monthly log returns from 40 closes (2020-01-31 to 2023-04-30) are all 0: the "
            "closes do not change; a price model needs returns that vary (the volatility would be 0)") in err
    # Doubling every month: every return is ln 2 = 0.693147, no variation either.
    path = _csv(tmp_path, [f"{d},{2 ** i}" for i, d in enumerate(_month_ends(26, "2020-01-31"))])  # to 2^25 < $100M
    code, _, err = _calibrate(capsys, path, "--model", model)
    assert code == 2 and "are all +0.693147: the closes change at one fixed rate" in err


def test_two_closes_in_one_month_name_the_rows(tmp_path, capsys):
    """Issue 11: monthly data with two closes in May 2020 was an internal error. Monthly closes
    from 2020-01-01 (rows 2-6 for January-May), an extra 2020-05-20 close is row 7."""
    rows = [f"{d.date()},{30000 + 100 * i}" for i, d in enumerate(pd.date_range("2020-01-01", periods=40,
                                                                                   freq="MS"))]
    rows.insert(5, "2020-05-20,30450")
    code, out, err = _calibrate(capsys, _csv(tmp_path, rows))
    assert (code, out) == (2, "")
    assert err == ("minerplan: cannot read price history: prices.csv rows 6 and 7, column date: 2020-05-01 and "
                   "2020-05-20 are both in 2020-05: monthly closes need one close per calendar month; delete all "
                   "but the month's last close (or give daily closes)\n")
    del rows[4]                                    # 2020-05-01 gone: one close in May, the file fits
    code, out, err = _calibrate(capsys, _csv(tmp_path, rows), "--model", "gbm", "--json")
    assert code == 0 and json.loads(out)["monthly_returns"] == 39


# --------------------------------------------------------------------------- magnitudes (found by the fuzz corpus)

@pytest.mark.parametrize("close", ["1e300", "1e200", "100000001"])
def test_a_close_above_the_scenarios_price_cap_is_bad_input(tmp_path, capsys, close):
    # Found by tests/fuzz: a close of 1e300 in row 5 raised OverflowError inside the fit (exit 1).
    rows = _alternating_rows()
    rows[3] = f"{rows[3].split(',')[0]},{close}"
    code, out, err = _calibrate(capsys, _csv(tmp_path, rows), "--json")
    assert code == 2 and out == ""
    assert "prices.csv row 5" in err and "above the largest plausible close (100,000,000 USD)" in err
    assert "internal error" not in err
