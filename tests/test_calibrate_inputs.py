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

from minerplan.calibration import PriceHistoryError, load_price_history_csv
from minerplan.cli import main

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
