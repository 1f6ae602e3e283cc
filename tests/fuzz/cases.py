"""The fuzz corpus: malformed and implausible inputs for every file MinerPlan reads, as cases.

Each :class:`Case` is a command line, the files it runs on, and what a correct answer is:

* ``bad``: exit 2, stderr names the field or cell (one of ``names``), nothing written, inputs untouched;
* ``warn``: exit 0 with a warning naming the field (a value beyond its soft range), nothing written.

The corpus is generated from the shipped scenario and recorded API answers with fixed rules (no
randomness), so the same ids always mean the same inputs. The expectations come from the input
(1e300 is beyond any market's range; a string is never a number), not from running the code.
Families: scenario JSON (every numeric field, names, structure), fleet/site CSV and XLSX imports,
hedge files, price CSVs for ``calibrate`` and market-API answers for ``fetch-market``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import typing
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "assets" / "default_scenario.json"
API_DATA = ROOT / "tests" / "data" / "mempool"


@dataclass
class Case:
    id: str
    argv: list[str]                       # "{d}" is replaced by the case's folder
    files: dict[str, bytes]               # written into the folder before the run
    expect: str                           # "bad", "warn", or "ok" (a control: the unchanged input is accepted)
    names: tuple[str, ...]                # stderr must contain one of these (field path, cell, row ...)
    api: dict[str, bytes] | None = None   # fetch-market: path -> body served on 127.0.0.1 ("{api}" in argv)
    may_write: bool = False               # a "warn" case that still writes its good part (fetch-market)


def _scenario() -> dict:
    return json.loads(DEFAULT.read_text(encoding="utf-8"))


def _dump(d: Any) -> bytes:
    return json.dumps(d, indent=1).encode("utf-8")


def _path_text(parts: tuple) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _set(d: Any, parts: tuple, value: Any) -> None:
    for p in parts[:-1]:
        d = d[p]
    d[parts[-1]] = value


def _numeric_leaves(x: Any, parts: tuple = ()) -> Iterator[tuple]:
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numeric_leaves(v, parts + (k,))
    elif isinstance(x, list):
        if parts and parts[-1] == "hourly_price_usd_per_mwh":
            yield parts + (0, 0)          # one cell stands for the 288 of a profile
            yield parts + (11, 23)
            return
        for i, v in enumerate(x):
            yield from _numeric_leaves(v, parts + (i,))
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield parts


#: Values no field of any file accepts: beyond every hard bound, or not a number at all.
_NEVER_VALID = {
    "huge": 1e300,
    "minus_huge": -1e300,
    "string": "12",
    "bool": True,
    "array": [1],
    "object": {"value": 1},
    "null_in_number": None,
}


def _model_field(parts: tuple):
    """The pydantic model class and field name at ``parts`` of a Scenario (None for list cells)."""
    from minerplan.scenario.model import Scenario
    from pydantic import BaseModel

    cls = Scenario
    for i, p in enumerate(parts):
        if isinstance(p, int):
            continue
        info = cls.model_fields[p]
        if i == len(parts) - 1:
            return cls, p, info
        ann = info.annotation
        while True:   # unwrap Optional / list / Annotated down to the model class
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                break
            if not args:
                return None
            ann = args[0]
        cls = ann
    return None


def scenario_cases() -> Iterator[Case]:
    from minerplan.scenario.plausibility import _soft_of

    base = _scenario()
    yield Case("scenario/unchanged", ["validate", "{d}/s.json"], {"s.json": _dump(base)}, "ok", ())
    optional_null_ok = {"difficulty", "network_hashrate_ehs", "drift_pct_per_year", "g_and_a_mining_share_pct",
                        "lease_discount_rate_pct", "pipeline_growth_pct_per_month", "starting_cash_usd"}
    for parts in _numeric_leaves(base):
        name = _path_text(parts)
        for kind, value in _NEVER_VALID.items():
            if kind == "null_in_number" and parts[-1] in optional_null_ok:
                continue
            if parts[0] == "schema_version" and kind in ("string", "bool", "array", "object", "null_in_number"):
                names = ("schema_version",)
            else:
                names = (name,)
            if "hourly_price_usd_per_mwh" in parts:   # a profile cell: the field, then "row 0 hour 0"
                names = (_path_text(parts[:parts.index("hourly_price_usd_per_mwh") + 1]),)
            d = copy.deepcopy(base)
            _set(d, parts, value)
            cmd = "validate" if zlib.crc32(name.encode()) % 3 else "evaluate"   # both commands get cases
            argv = [cmd, "{d}/s.json"] if cmd == "validate" else ["evaluate", "{d}/s.json", "--json"]
            yield Case(f"scenario/{name}/{kind}", argv, {"s.json": _dump(d)}, "bad", names)
        # a value beyond the field's soft range but within its hard bound: loads, with a warning
        found = _model_field(parts)
        if found is None:
            continue
        cls, fname, info = found
        soft = _soft_of(info)
        if soft is None:
            continue
        for side, value in (("above", None if soft.hi is None else _beyond(soft.hi, +1)),
                            ("below", None if soft.lo is None else _beyond(soft.lo, -1))):
            if value is None or not _within_hard(info, value):
                continue
            if info.annotation is int:               # an integer field (a block height)
                value = int(round(value))
            d = copy.deepcopy(base)
            _set(d, parts, value)
            if parts in (("market", "difficulty"), ("market", "network_hashrate_ehs")):
                factor = value / base_value(base, parts)       # the two describe one network: move both
                other = "network_hashrate_ehs" if parts[1] == "difficulty" else "difficulty"
                d["market"][other] = base["market"][other] * factor
            if parts == ("market", "hashrate_growth_pct_per_month"):
                d["market"]["network_model"] = "trend"         # the growth rate is read by the trend model
            if parts == ("price_path", "growth_pct_per_month"):
                d["price_path"]["kind"] = "growth"
            _fit_capacity(d)
            yield Case(f"scenario/{name}/{side}_soft_range", ["validate", "{d}/s.json"], {"s.json": _dump(d)},
                       "warn", (name,))

    # names with control characters, for every name field
    for parts in [("name",)] + [("sites", i, "name") for i in range(len(base["sites"]))] + \
            [("fleet", i, "model") for i in range(len(base["fleet"]))]:
        for kind, bad in {"vertical_tab": "\x0b", "nul": "\x00", "ansi": "\x1b[31m", "osc": "\x1b]0;t\x07",
                          "bidi": "\u202e", "newline": "\n"}.items():
            d = copy.deepcopy(base)
            _set(d, parts, base_value(base, parts) + bad)
            yield Case(f"scenario/{_path_text(parts)}/{kind}", ["export", "{d}/s.json", "--xlsx", "{d}/out.xlsx"],
                       {"s.json": _dump(d)}, "bad", (_path_text(parts),))

    # structure: unknown keys, missing keys, wrong kinds of objects
    for section in ("market", "finance", "monte_carlo", "price_path"):
        d = copy.deepcopy(base)
        d.setdefault(section, {})["surprise_field"] = 1
        yield Case(f"scenario/{section}/unknown_key", ["validate", "{d}/s.json"], {"s.json": _dump(d)}, "bad",
                   (f"{section}.surprise_field",))
        d = copy.deepcopy(base)
        d[section] = "text"
        yield Case(f"scenario/{section}/not_an_object", ["validate", "{d}/s.json"], {"s.json": _dump(d)}, "bad",
                   (section,))
    for key in ("name", "start_month", "horizon_months", "market", "sites"):
        d = copy.deepcopy(base)
        del d[key]
        yield Case(f"scenario/{key}/missing", ["validate", "{d}/s.json"], {"s.json": _dump(d)}, "bad", (key,))
    for key in ("btc_price_usd", "block_height"):
        d = copy.deepcopy(base)
        del d["market"][key]
        yield Case(f"scenario/market.{key}/missing", ["validate", "{d}/s.json"], {"s.json": _dump(d)}, "bad",
                   (f"market.{key}",))
    text = DEFAULT.read_text(encoding="utf-8")
    for enc in ("utf-16-le", "utf-16-be", "utf-16", "utf-32-le"):
        yield Case(f"scenario/encoding/{enc}", ["validate", "{d}/s.json"], {"s.json": text.encode(enc)}, "bad",
                   ("UTF-16", "UTF-32"))
    for kind, raw in {"empty": b"", "truncated": text.encode()[: len(text) // 2], "trailing": text.encode() + b"x",
                      "nan": text.replace('"btc_price_usd": 91500', '"btc_price_usd": NaN').encode(),
                      "duplicate_key": text.replace('"horizon_months": 60', '"horizon_months": 60, '
                                                                            '"horizon_months": 61').encode()}.items():
        names = {"nan": ("NaN",), "duplicate_key": ("horizon_months",)}.get(kind, ("JSON", "empty"))
        yield Case(f"scenario/file/{kind}", ["validate", "{d}/s.json"], {"s.json": raw}, "bad", names)


def _beyond(bound: float, direction: int) -> float:
    """A value clearly past a soft bound: 3x above an upper one, a third of a positive lower one
    (a negative or zero lower bound: that much further down)."""
    if direction > 0:
        return bound * 3 if bound > 0 else bound + max(abs(bound) / 3, 1)
    return bound / 3 if bound > 0 else bound - max(abs(bound) / 3, 1)


def _within_hard(info, value: float) -> bool:
    from annotated_types import Ge, Gt, Le, Lt

    for m in info.metadata:
        if (isinstance(m, Le) and value > m.le) or (isinstance(m, Lt) and value >= m.lt) or \
                (isinstance(m, Ge) and value < m.ge) or (isinstance(m, Gt) and value <= m.gt):
            return False
    return True


def base_value(d: Any, parts: tuple) -> Any:
    for p in parts:
        d = d[p]
    return d


def _fit_capacity(d: dict) -> None:
    """Grow each site so its fleet fits (a soft-range hashrate or power must not trip the hard capacity rule)."""
    for s in d["sites"]:
        load = sum(c["count"] * c["power_w"] / 1e6 for c in d["fleet"] if c["site"] == s["name"])
        s["capacity_mw"] = max(s["capacity_mw"], min(load * s.get("pue", 1.05) * 1.01, 50_000))


# --------------------------------------------------------------------------- fleet and site imports

def _table(kind: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows (CSV text) and numeric column indexes of the shipped scenario's fleet or sites."""
    from minerplan.scenario.files import load_scenario
    from minerplan.scenario.dotted import get_path as _attr
    from minerplan.sheets.importing.template import csv_cell as _csv_cell
    from minerplan.scenario.fields import FLEET_COLUMNS, SITE_COLUMNS

    sc = load_scenario(DEFAULT)
    layout, items = (FLEET_COLUMNS, sc.fleet) if kind == "fleet" else (SITE_COLUMNS, sc.sites)
    header = [c.header for c in layout]
    rows = [[_csv_cell(c, _attr(it, c.field)) for c in layout] for it in items]
    numeric = [i for i, c in enumerate(layout) if c.kind in ("number", "integer")
               and any(r[i] != "" for r in rows)]
    return header, rows, numeric


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _col(i: int) -> str:
    """Spreadsheet column letters of 0-based column ``i`` (0 -> A, 26 -> AA)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


#: Cell values no number column accepts, with why.
_BAD_NUMBER_CELLS = {
    "text": "abc",
    "negative": "-1",
    "huge": "1e300",
    "thousands_separator": "1,200",
    "decimal_comma": "3,5",
    "european": "1.234,5",
    "formula_text": "=1+1",
    "nan": "nan",
    "infinity": "inf",
}


def import_cases() -> Iterator[Case]:
    scenario_file = DEFAULT.read_bytes()
    for kind, cmd in (("fleet", "import-fleet"), ("sites", "import-sites")):
        header, rows, numeric = _table(kind)
        argv = [cmd, "--into", "{d}/s.json", "{d}/in.csv"]
        yield Case(f"{kind}.csv/unchanged", argv, {"s.json": scenario_file, "in.csv": _csv(header, rows)}, "ok", ())
        for r in range(len(rows)):
            line = r + 2          # the header is line 1
            for c in numeric:
                for what, cell in _BAD_NUMBER_CELLS.items():
                    if what == "negative" and "escalator" in header[c].lower():
                        continue      # a lease may escalate by -x% a year
                    bad = copy.deepcopy(rows)
                    bad[r][c] = cell
                    yield Case(f"{kind}.csv/row{line}/{header[c]}/{what}", argv,
                               {"s.json": scenario_file, "in.csv": _csv(header, bad)}, "bad",
                               (f"{_col(c)}{line}", f"row {line}"))
            extra = copy.deepcopy(rows)
            extra[r] = extra[r] + ["200"]
            yield Case(f"{kind}.csv/row{line}/extra_field", argv, {"s.json": scenario_file,
                                                                   "in.csv": _csv(header, extra)}, "bad",
                       (f"row {line}", f"{_col(len(header))}{line}"))
            for what, ch in {"vertical_tab": "\x0b", "escape": "\x1b[2J", "nul": "\x00", "bidi": "\u202e"}.items():
                bad = copy.deepcopy(rows)
                name = bad[r][0]
                bad[r][0] = name[:3] + ch + name[3:]     # inside the name: not trimmed away as whitespace
                yield Case(f"{kind}.csv/row{line}/name/{what}", argv,
                           {"s.json": scenario_file, "in.csv": _csv(header, bad)}, "bad",
                           (f"A{line}", f"row {line}"))
            if r < len(rows) - 1:
                blank = copy.deepcopy(rows)
                blank.insert(r + 1, [""] * len(header))
                yield Case(f"{kind}.csv/blank_row_after_{line}", argv,
                           {"s.json": scenario_file, "in.csv": _csv(header, blank)}, "bad",
                           (f"row {line + 1}",))
        if kind == "fleet":
            col = header.index("Salvage [USD per unit]")
            odd = copy.deepcopy(rows)
            odd[0][col] = "60000"
            yield Case("fleet.csv/row2/salvage_above_soft_range", argv,
                       {"s.json": scenario_file, "in.csv": _csv(header, odd)}, "warn", ("fleet[0].salvage_usd",),
                       may_write=True)
        else:
            col = header.index("Power price [USD/MWh]")
            odd = copy.deepcopy(rows)
            odd[0][col] = "900"
            yield Case("sites.csv/row2/power_price_above_soft_range", argv,
                       {"s.json": scenario_file, "in.csv": _csv(header, odd)}, "warn",
                       ("sites[0].power_price_usd_per_mwh",), may_write=True)
        yield Case(f"{kind}.csv/utf16", argv, {"s.json": scenario_file,
                                               "in.csv": _csv(header, rows).decode().encode("utf-16-le")},
                   "bad", ("UTF-16",))
    yield from xlsx_cases()


def xlsx_cases() -> Iterator[Case]:
    import openpyxl

    header, rows, numeric = _table("fleet")
    scenario_file = DEFAULT.read_bytes()
    argv = ["import-fleet", "--into", "{d}/s.json", "{d}/in.xlsx"]

    def book(r: int | None, c: int | None, cell) -> bytes:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Fleet"
        ws.append(header)
        for i, row in enumerate(rows):
            vals = [_typed(v) for v in row]
            if i == r:
                vals[c] = cell
            ws.append(vals)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()

    yield Case("fleet.xlsx/unchanged", argv, {"s.json": scenario_file, "in.xlsx": book(None, None, None)}, "ok", ())
    for r in range(len(rows)):
        for c in numeric:
            for what, cell in {"text": "abc", "thousands_separator": "1,200", "huge": 1e300,
                               "negative": -5}.items():
                yield Case(f"fleet.xlsx/{_col(c)}{r + 2}/{what}", argv,
                           {"s.json": scenario_file, "in.xlsx": book(r, c, cell)}, "bad", (f"{_col(c)}{r + 2}",))


def _typed(v: str):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v or None


# --------------------------------------------------------------------------- hedge files

def hedge_cases() -> Iterator[Case]:
    book = {"schema_version": 1, "hedges": [
        {"kind": "hashprice_forward", "fixed_usd_per_ph_day": 45, "notional_ph": 1000, "start_month": "2026-01",
         "tenor_months": 12},
        {"kind": "btc_put", "strike_usd": 80000, "btc_amount": 100, "expiry_month": "2026-12",
         "implied_vol_pct": 50, "risk_free_pct": 4},
        {"kind": "btc_collar", "put_strike_usd": 75000, "call_strike_usd": 120000, "btc_amount": 100,
         "expiry_month": "2026-12", "implied_vol_pct": 50, "risk_free_pct": 4}]}
    yield Case("hedges/unchanged", ["evaluate", "default", "--hedge", "{d}/h.json", "--paths", "20"],
               {"h.json": _dump(book)}, "ok", ())
    odd = copy.deepcopy(book)
    odd["hedges"][0]["fixed_usd_per_ph_day"] = 900
    yield Case("hedges/hedges[0].fixed_usd_per_ph_day/above_soft_range",
               ["evaluate", "default", "--hedge", "{d}/h.json", "--paths", "20"], {"h.json": _dump(odd)}, "warn",
               ("hedges[0].fixed_usd_per_ph_day",))
    for i, h in enumerate(book["hedges"]):
        for k, v in h.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            for kind, value in _NEVER_VALID.items():
                b = copy.deepcopy(book)
                b["hedges"][i][k] = value
                yield Case(f"hedges/hedges[{i}].{k}/{kind}", ["evaluate", "default", "--hedge", "{d}/h.json",
                                                              "--paths", "20"],
                           {"h.json": _dump(b)}, "bad", (f"hedges[{i}].{k}",))


# --------------------------------------------------------------------------- price CSVs (calibrate)

def _monthly_closes() -> list[tuple[str, float]]:
    rows = list(csv.reader((ROOT / "assets" / "history" / "btc_price_monthly.csv").open(encoding="utf-8")))
    out = []
    for row in rows:
        if len(row) >= 2 and row[0][:1].isdigit():
            out.append((row[0], float(row[1])))
    return out


def price_cases() -> Iterator[Case]:
    closes = _monthly_closes()
    if len(closes) < 40:
        return
    header = ["date", "close"]
    body = [[d, f"{p:.2f}"] for d, p in closes]
    argv = ["calibrate", "{d}/p.csv", "--into", "{d}/s.json", "--output", "{d}/out.json"]
    scenario_file = DEFAULT.read_bytes()
    yield Case("prices.csv/unchanged", argv, {"p.csv": _csv(header, body), "s.json": scenario_file}, "ok", ())
    for r in range(0, len(body), 3):
        line = r + 2
        for what, mutate in {
            "extra_field": lambda row: row + ["172"],
            "text_close": lambda row: [row[0], "abc"],
            "negative_close": lambda row: [row[0], "-5"],
            "zero_close": lambda row: [row[0], "0"],
            "huge_close": lambda row: [row[0], "1e300"],
            "bad_date": lambda row: ["2021-13-45", row[1]],
            "thousands_separator": lambda row: [row[0], "48,172"],
        }.items():
            rows = copy.deepcopy(body)
            rows[r] = mutate(rows[r])
            yield Case(f"prices.csv/row{line}/{what}", argv, {"p.csv": _csv(header, rows), "s.json": scenario_file},
                       "bad", (f"row {line}", f"line {line}"))
    yield Case("prices.csv/utf16", argv, {"p.csv": _csv(header, body).decode().encode("utf-16-le"),
                                          "s.json": scenario_file}, "bad", ("UTF-16",))
    yield Case("prices.csv/too_short", argv, {"p.csv": _csv(header, body[:3]), "s.json": scenario_file}, "bad",
               ("returns", "closes", "prices"))
    yield Case("prices.csv/constant", argv, {"p.csv": _csv(header, [[d, "50000"] for d, _ in closes]),
                                             "s.json": scenario_file}, "bad", ("constant", "variance", "vary"))


# --------------------------------------------------------------------------- market API answers

def _api_base() -> dict[str, bytes]:
    return {
        "/api/v1/prices": (API_DATA / "prices.json").read_bytes(),
        "/api/v1/mining/hashrate/3d": (API_DATA / "hashrate-3d.json").read_bytes(),
        "/api/blocks/tip/height": (API_DATA / "tip-height.txt").read_bytes(),
        "/api/v1/mining/reward-stats/144": (API_DATA / "reward-stats-144.json").read_bytes(),
        "/api/v1/difficulty-adjustment": (API_DATA / "difficulty-adjustment.json").read_bytes(),
    }


#: The fields fetch-market reads from each answer (others are ignored, so garbage there is no fault).
_API_FIELDS = {
    "/api/v1/prices": ("USD",),
    "/api/v1/mining/hashrate/3d": ("currentHashrate", "currentDifficulty"),
    "/api/v1/mining/reward-stats/144": ("startBlock", "endBlock", "totalFee"),
    "/api/v1/difficulty-adjustment": ("difficultyChange", "remainingBlocks", "estimatedRetargetDate"),
}


def _api_expect(path: str) -> str:
    """The next retarget is shown, never written into a scenario: a bad answer there is a warning
    (the rest of the snapshot is still good); a bad price, hashrate, height or fee answer refuses all."""
    return "warn" if path == "/api/v1/difficulty-adjustment" else "bad"


def market_cases() -> Iterator[Case]:
    if not API_DATA.is_dir():
        return
    base = _api_base()
    argv = ["fetch-market", "--api-url", "{api}", "--cache", "{d}/cache.json", "--into", "{d}/s.json",
            "--timeout", "10"]
    scenario_file = DEFAULT.read_bytes()
    yield Case("api/unchanged", argv, {"s.json": scenario_file}, "ok", (), api=base)
    for path, body in base.items():
        if path.endswith("/height"):
            for what, text in {"text": b"abc", "negative": b"-5", "huge": b"1" * 40, "float": b"925112.5",
                               "empty": b"", "far_future": b"99999999"}.items():
                yield Case(f"api{path}/{what}", argv, {"s.json": scenario_file}, "bad", (path,),
                           api={**base, path: text})
            continue
        doc = json.loads(body)
        for key in _API_FIELDS[path]:
            value = doc[key]
            bad_values = dict(_NEVER_VALID)
            if key == "totalFee":      # satoshis as a decimal string
                bad_values = {"text": "abc", "negative": "-5", "huge": "1" * 40, "fraction": "12.5",
                              "number_not_string": 1e300, "null": None}
            elif key != "difficultyChange":   # a retarget of -x% or 1e-300% is possible
                bad_values.update(tiny=1e-300, negative=-abs(float(value)) - 1)
            for kind, bad in bad_values.items():
                d = dict(doc)
                d[key] = bad
                yield Case(f"api{path}/{key}/{kind}", argv, {"s.json": scenario_file}, _api_expect(path), (path,),
                           api={**base, path: json.dumps(d).encode()}, may_write=_api_expect(path) == "warn")
            d = dict(doc)
            del d[key]
            yield Case(f"api{path}/{key}/missing", argv, {"s.json": scenario_file}, _api_expect(path), (path,),
                       api={**base, path: json.dumps(d).encode()}, may_write=_api_expect(path) == "warn")
        for kind, raw in {"not_json": b"<html>oops</html>", "array": b"[1,2]", "empty": b""}.items():
            yield Case(f"api{path}/{kind}", argv, {"s.json": scenario_file}, _api_expect(path), (path,),
                       api={**base, path: raw}, may_write=_api_expect(path) == "warn")

    prices = json.loads(base["/api/v1/prices"])
    yield Case("api/price_9m_written_with_a_warning", argv, {"s.json": scenario_file}, "warn",
               ("market.btc_price_usd",), api={**base, "/api/v1/prices": json.dumps({**prices, "USD": 9e6}).encode()},
               may_write=True)
    # the reproductions: a $150 price, a hashrate 900x the difficulty's, reward stats far from the tip
    prices = json.loads(base["/api/v1/prices"])
    yield Case("api/price_150", argv, {"s.json": scenario_file}, "bad", ("/api/v1/prices",),
               api={**base, "/api/v1/prices": json.dumps({**prices, "USD": 150}).encode()})
    hr = json.loads(base["/api/v1/mining/hashrate/3d"])
    yield Case("api/hashrate_900x", argv, {"s.json": scenario_file}, "bad", ("currentHashrate",),
               api={**base, "/api/v1/mining/hashrate/3d": json.dumps(
                   {**hr, "currentHashrate": hr["currentHashrate"] * 900}).encode()})
    rw = json.loads(base["/api/v1/mining/reward-stats/144"])
    yield Case("api/rewards_far_from_tip", argv, {"s.json": scenario_file}, "bad", ("endBlock", "startBlock"),
               api={**base, "/api/v1/mining/reward-stats/144": json.dumps(
                   {**rw, "startBlock": 800000, "endBlock": 800143}).encode()})


def all_cases() -> list[Case]:
    cases = [*scenario_cases(), *import_cases(), *hedge_cases(), *price_cases(), *market_cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases
