"""Fleet and site import from .csv/.xlsx (issue 5): round trips, a corpus of bad files, the CLI, the template.

Workbooks are written here with plain openpyxl in the layout of minerplan.scenario.fields
(title row 1, note row 2, headers row 4, data from row 5, as the export and the template
lay them out), so the reader is checked against files it did not write itself.
Expected cells are counted by hand from that layout: Fleet A Model, B Site, C Units,
D Hashrate, E Power, F Uptime, G Degradation, H Unit price, I Age, J Useful life,
K Delivery month, L Retire month, M Salvage; Sites A Site, B Capacity ... I AI convertible,
J Critical MW per gross MW ... O Business model; Hourly prices A Site, B month, C H00 ... Z H23.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from minerplan.cli.main import main
from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, load_scenario, scenario_from_dict, scenario_to_dict
from minerplan.sheets.importing.fleet_and_sites import import_fleet_into, import_sites_into, read_fleet, read_sites
from minerplan.sheets.importing.problems import CellProblem, TableImportError
from minerplan.sheets.importing.template import put_text, write_template
from minerplan.scenario.fields import FLEET_COLUMNS, HOURLY_HEADERS, SITE_COLUMNS

DEFAULT = load_scenario("default")
FLEET_HEADERS = [c.header for c in FLEET_COLUMNS]
SITE_HEADERS = [c.header for c in SITE_COLUMNS]


# --------------------------------------------------------------------------- writing test files

def _value(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part) if obj is not None else None
    return obj


def _cell_value(column, value):
    """The value as a person would type it: yes/no, months as dates."""
    if value is None:
        return None
    if column.kind == "bool":
        return "yes" if value else "no"
    if column.kind == "month":
        y, m = value.split("-")
        return dt.datetime(int(y), int(m), 1)
    return value


def fleet_table(scenario=DEFAULT):
    return [list(FLEET_HEADERS)] + [[_cell_value(c, _value(co, c.field)) for c in FLEET_COLUMNS] for co in scenario.fleet]


def sites_table(scenario=DEFAULT):
    return [list(SITE_HEADERS)] + [[_cell_value(c, _value(s, c.field)) for c in SITE_COLUMNS] for s in scenario.sites]


def hourly_table(scenario=DEFAULT):
    rows = [list(HOURLY_HEADERS)]
    for s in scenario.sites:
        for m, prices in enumerate(s.hourly_price_usd_per_mwh or []):
            rows.append([s.name, m + 1, *prices])
    return rows


def sheet_rows(table, title="Exported by MinerPlan", note="inputs in blue"):
    """Rows 1-3 before the header (row 4), as in the export and the template."""
    return [[title], [note], []] + table


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                if v is None:
                    continue
                cell = ws.cell(row=r, column=c)
                if isinstance(v, str) and v.startswith("=") and not v.startswith("=="):
                    cell.value = v  # a real formula (this test writer's convention)
                else:
                    cell.value = v[1:] if isinstance(v, str) and v.startswith("==") else v
                    if isinstance(v, str):
                        cell.data_type = "s"
                if isinstance(v, dt.datetime):
                    cell.number_format = "yyyy-mm"
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], bom=False, sep=",") -> Path:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(
        [["" if v is None else v for v in row] for row in rows])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode())
    return path


def default_workbook(path: Path, fleet=None, sites=None, hourly=None) -> Path:
    return write_xlsx(path, {"Fleet": sheet_rows(fleet or fleet_table()),
                             "Sites": sheet_rows(sites or sites_table()),
                             "Hourly prices": sheet_rows(hourly or hourly_table())})


def problems_of(call) -> str:
    with pytest.raises(ScenarioError) as info:
        call()
    assert isinstance(info.value, TableImportError)
    return info.value.describe()


# --------------------------------------------------------------------------- round trips

def test_round_trip_default_fleet_and_sites_through_xlsx(tmp_path):
    """The default scenario's fleet and sites in the template layout read back to the same scenario;
    derived columns to the right and a totals block below the table but right of its columns are ignored."""
    fleet = fleet_table()
    fleet[0] += ["Fleet MW (derived)"]
    for r in range(1, len(fleet)):
        fleet[r] += [f"=C{r + 4}*E{r + 4}/1e6"]  # never recalculated: reads as blank, ignored anyway
    right = [None] * (len(FLEET_HEADERS) + 1)  # columns O and P: outside the table's 13 columns (A-M)
    fleet += [[], right + ["Total units", "=SUM(C5:C10)"], right + ["Check", "not a number"]]
    path = default_workbook(tmp_path / "plan.xlsx", fleet=fleet)

    rows, sites = read_fleet(path), read_sites(path)
    assert len(rows) == 6 and len(sites) == 3
    assert rows[0] == {"model": "Antminer S21 XP", "site": "Texas", "count": 18000, "hashrate_ths": 270,
                       "power_w": 3645, "uptime_pct": 97, "degradation_pct_per_year": 2,
                       "purchase_price_usd": 6939, "age_months": 6, "useful_life_months": 36, "salvage_usd": 0}
    assert sites[0]["hourly_price_usd_per_mwh"][0][:3] == [22, 22, 22]
    assert "ai" not in sites[0] and sites[2]["ai"]["colocation"]["term_months"] == 120

    # Start from a scenario whose fleet and sites differ, so the import has to replace them.
    doc = scenario_to_dict(DEFAULT)
    doc["fleet"] = doc["fleet"][:1]
    del doc["sites"][0]["hourly_price_usd_per_mwh"]
    doc["sites"][1]["capacity_mw"] = 999
    base = scenario_from_dict(doc)
    result = import_sites_into(import_fleet_into(base, rows), sites)
    assert result.model_dump() == DEFAULT.model_dump()
    assert len(result.sites[0].hourly_price_usd_per_mwh) == 12


def test_csv_fleet_import_hand_checked(tmp_path):
    path = write_csv(tmp_path / "fleet.csv", [
        [],  # a blank first line: the header is the first non-empty one
        ["Model", "Site", "Units", "Hashrate [TH/s per unit]", "Power [W per unit]", "Uptime [%]",
         "Delivery month [YYYY-MM]", "Notes"],
        ["Antminer S21", "Texas", "100", "200", "3500", "", "", "ours"],
        ["Antminer S21 XP", "Georgia", "50.5", "270", "3645", "95", "2026-03", ""],
    ], bom=True)
    rows = read_fleet(path)
    assert rows == [{"model": "Antminer S21", "site": "Texas", "count": 100, "hashrate_ths": 200, "power_w": 3500},
                    {"model": "Antminer S21 XP", "site": "Georgia", "count": 50.5, "hashrate_ths": 270,
                     "power_w": 3645, "uptime_pct": 95, "purchase_month": "2026-03"}]
    sc = import_fleet_into(DEFAULT, rows)
    assert len(sc.fleet) == 2
    assert sc.fleet[0].uptime_pct == 97.0            # blank -> schema default
    assert sc.fleet[0].efficiency_j_per_th == 17.5   # 3500 W / 200 TH/s
    assert sc.fleet[1].count == 50.5 and sc.fleet[1].purchase_month == "2026-03"
    assert sc.sites == DEFAULT.sites                 # a fleet import leaves the sites alone


def test_csv_trailing_blank_lines_are_fine(tmp_path):
    """Blank lines (and Excel's all-comma lines) after the last row end nothing: no data follows them."""
    path = write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5], ["S21", "Texas", "1", "200", "3500"],
                                              ["S19", "Georgia", "2", "95", "3250"], [], [None] * 5, []])
    rows = read_fleet(path)
    assert [r["model"] for r in rows] == ["S21", "S19"] and rows.origin.row_numbers == (2, 3)


def test_csv_with_field_names_as_headers_and_semicolons(tmp_path):
    path = write_csv(tmp_path / "fleet.csv", [["MODEL", " site ", "count", "hashrate_ths", "power_w", "age_months"],
                                              ["S19", "Georgia", "10", "95", "3250", "6.0"]], sep=";")
    assert read_fleet(path) == [{"model": "S19", "site": "Georgia", "count": 10, "hashrate_ths": 95,
                                 "power_w": 3250, "age_months": 6}]


def test_month_cells_dates_and_text(tmp_path):
    fleet = [FLEET_HEADERS, ["A", "Texas", 1, 100, 3000, None, None, None, None, None,
                             dt.datetime(2026, 3, 15), "2027-04"],
             ["B", "Texas", 1, 100, 3000, None, None, None, None, None, dt.date(2026, 1, 1), "2028-02-01"]]
    rows = read_fleet(write_xlsx(tmp_path / "m.xlsx", {"Fleet": sheet_rows(fleet)}))
    assert (rows[0]["purchase_month"], rows[0]["retire_month"]) == ("2026-03", "2027-04")
    assert (rows[1]["purchase_month"], rows[1]["retire_month"]) == ("2026-01", "2028-02")


def test_csv_sites_keep_the_hourly_profile_a_csv_cannot_carry(tmp_path):
    rows = sites_table()
    path = write_csv(tmp_path / "sites.csv", [rows[0]] + [["" if v is None else v for v in r] for r in rows[1:]])
    sites = read_sites(path)
    assert all("hourly_price_usd_per_mwh" not in s for s in sites)
    sc = import_sites_into(DEFAULT, sites)
    assert sc.model_dump() == DEFAULT.model_dump()  # Texas keeps its 12x24 profile


def test_hyperlink_formula_text_stays_literal(tmp_path):
    evil = '=HYPERLINK("http://example.com/x","S21")'
    fleet = fleet_table()
    fleet[1][0] = "=" + evil  # '==' prefix: this writer stores the rest as a text cell
    rows = read_fleet(default_workbook(tmp_path / "f.xlsx", fleet=fleet))
    assert import_fleet_into(DEFAULT, rows).fleet[0].model == evil
    csv_rows = read_fleet(write_csv(tmp_path / "f.csv", [FLEET_HEADERS[:5], [evil, "Texas", 1, 100, 3000]]))
    assert import_fleet_into(DEFAULT, csv_rows).fleet[0].model == evil


# --------------------------------------------------------------------------- blank rows inside a table (issue 11)

def _with_blanks(table, *after):
    """``table`` (header first) with an empty row after each data row number in ``after`` (0 = the header)."""
    out = list(table)
    for a in sorted(after, reverse=True):
        out.insert(a + 1, [])
    return out


def _csv_rows(table):
    return [["" if v is None else (v.strftime("%Y-%m") if isinstance(v, dt.datetime) else v) for v in row]
            for row in table]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_cli_refuses_a_fleet_with_a_blank_row_and_keeps_the_scenario(tmp_path, capsys, kind):
    """Issue 11's reproduction: 6 cohorts with a blank row after the third, where the import
    used to replace the fleet with the first 3 and say nothing."""
    table = _with_blanks(fleet_table(), 3)
    if kind == "xlsx":   # header row 4, cohorts 1-3 in rows 5-7, the blank row 8, cohorts 4-6 in rows 9-11
        path = default_workbook(tmp_path / "plan.xlsx", fleet=table)
        where = "Fleet row 8: this row is blank but rows 9-11"
    else:                # header line 1, cohorts in rows 2-4, blank row 5, cohorts in rows 6-8
        path = write_csv(tmp_path / "fleet.csv", _csv_rows(table))
        where = "fleet.csv row 5: this row is blank but rows 6-8"
    scenario = _scenario_file(tmp_path)
    before = scenario.read_bytes()
    assert main(["import-fleet", str(path), "--into", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert f"{where} below it hold data: delete the blank row (rows after a blank row are not read silently" in err
    assert scenario.read_bytes() == before
    # Without the blank row the same file imports all 6 cohorts.
    table = fleet_table()
    path = default_workbook(tmp_path / "plan.xlsx", fleet=table) if kind == "xlsx" else \
        write_csv(tmp_path / "fleet.csv", _csv_rows(table))
    assert main(["import-fleet", str(path), "--into", str(scenario)]) == 0
    assert len(load_scenario(scenario).fleet) == 6


BLANK_CASES = {
    # Sites: header row 4, Texas row 5, blank row 6, the other two sites in rows 7-8.
    "sites sheet": (lambda t: read_sites(default_workbook(t / "p.xlsx", sites=_with_blanks(sites_table(), 1))),
                    "Sites row 6: this row is blank but rows 7-8 below it hold data: delete the blank row "
                    "(rows after a blank row are not read silently; notes and totals belong in columns outside "
                    "the table or on another sheet)"),
    # sites.csv: header line 1, two sites in rows 2-3, blank row 4, the third site in row 5.
    "sites csv": (lambda t: read_sites(write_csv(t / "sites.csv", _csv_rows(_with_blanks(sites_table(), 2)))),
                  "sites.csv row 4: this row is blank but row 5 below it holds data: delete the blank row "
                  "(rows after a blank row are not read silently; notes and totals do not belong in a CSV table)"),
    # Texas months 1-12 in rows 5-16; a blank row after month 6 is row 11, months 7-12 move to rows 12-17.
    "hourly sheet": (lambda t: read_sites(default_workbook(t / "p.xlsx", hourly=_with_blanks(hourly_table(), 6))),
                     "Hourly prices row 11: this row is blank but rows 12-17 below it hold data"),
    # Cohort 1 in row 5, blanks in rows 6-7, cohorts 2-4 in rows 8-10, blank row 11, cohorts 5-6 in rows 12-13.
    "several blank rows": (lambda t: read_fleet(default_workbook(t / "p.xlsx",
                                                                 fleet=_with_blanks(fleet_table(), 1, 1, 4))),
                           "Fleet row 6: this row (and rows 7, 11) is blank but rows 8-10, 12-13 below it hold data: "
                           "delete the blank rows"),
    # A blank row right below the header (row 5): the cohorts in rows 6-11 are not "no data".
    "blank row under the header": (lambda t: read_fleet(default_workbook(t / "p.xlsx",
                                                                         fleet=_with_blanks(fleet_table(), 0))),
                                   "Fleet row 5: this row is blank but rows 6-11 below it hold data"),
    # A totals line in the table's own columns below a blank row is data below a blank row too.
    "totals in the table's columns": (
        lambda t: read_fleet(default_workbook(t / "p.xlsx", fleet=fleet_table() + [[], ["Total", None, 33000]])),
        "Fleet row 11: this row is blank but row 12 below it holds data"),
}


@pytest.mark.parametrize("case", list(BLANK_CASES))
def test_blank_row_with_data_below_is_refused(tmp_path, case):
    build, expected = BLANK_CASES[case]
    text = problems_of(lambda: build(tmp_path))
    assert expected in text, text


def test_rows_below_a_blank_row_are_still_checked(tmp_path):
    """The refusal comes first, and the rows below the blank row are parsed in the same pass."""
    fleet = _with_blanks(_fleet(r5_D="fast"), 3)   # cohort 5 moves from row 9 to row 10
    with pytest.raises(TableImportError) as info:
        read_fleet(default_workbook(tmp_path / "f.xlsx", fleet=fleet))
    assert [p.path for p in info.value.problems] == ["Fleet row 8", "Fleet!D10"]


# --------------------------------------------------------------------------- separators inside numbers (issue 11)

def _fleet_csv_text(last_salvage: str) -> str:
    """The default fleet as CSV text (14 columns, Salvage last), the last cohort's salvage typed as given."""
    lines = [",".join(FLEET_HEADERS)]
    for row in _csv_rows(fleet_table())[1:]:
        lines.append(",".join(str(v) for v in row))
    lines[-1] = lines[-1].rsplit(",", 1)[0] + "," + last_salvage
    return "\r\n".join(lines) + "\r\n"


def test_cli_refuses_a_csv_row_with_more_fields_than_the_header(tmp_path, capsys):
    """Issue 11's reproduction: ``...,3645,1,200`` under ``...,Salvage [USD per unit]`` imported salvage = 1."""
    path = tmp_path / "fleet.csv"
    path.write_text(_fleet_csv_text("1,200"), encoding="utf-8")   # the 6th cohort: file row 7
    scenario = _scenario_file(tmp_path)
    before = scenario.read_bytes()
    assert main(["import-fleet", str(path), "--into", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert ("fleet.csv row 7: the row has 15 fields but the header has 14 (the last is 'Salvage [USD per unit]'): "
            "field 15 (column O in a spreadsheet) holds '200' under no header, so the row's values cannot be "
            "matched to their columns ('1' and '200' look like the number 1,200 split at its comma): write 1200") in err
    assert scenario.read_bytes() == before
    path.write_text(_fleet_csv_text("1200"), encoding="utf-8")
    assert main(["import-fleet", str(path), "--into", str(scenario)]) == 0
    assert load_scenario(scenario).fleet[5].salvage_usd == 1200


def test_extra_fields_only_count_when_they_hold_something(tmp_path):
    """Empty fields right of the header (Excel's trailing commas) are not extra data; a named
    header column that is not in the layout (Notes) is not extra either."""
    rows = read_fleet(write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5] + ["Notes", ""],
                                                         ["S21", "Texas", "1", "200", "3500", "new", "", "", ""]]))
    assert rows == [{"model": "S21", "site": "Texas", "count": 1, "hashrate_ths": 200, "power_w": 3500}]
    text = problems_of(lambda: read_fleet(write_csv(tmp_path / "f.csv", [FLEET_HEADERS[:5],
                                                                         ["S21", "Texas", "1", "200", "3", "500"]])))
    assert ("f.csv row 2: the row has 6 fields but the header has 5 (the last is 'Power [W per unit]'): field 6 "
            "(column F in a spreadsheet) holds '500' under no header, so the row's values cannot be matched to their "
            "columns ('3' and '500' look like the number 3,500 split at its comma): write 3500") in text
    text = problems_of(lambda: read_fleet(write_csv(tmp_path / "g.csv", [FLEET_HEADERS[:5],
                                                                         ["S21", "Texas", "1", "200", "3500", "x"]])))
    assert ("field 6 (column F in a spreadsheet) holds 'x' under no header, so the row's values cannot be matched "
            "to their columns (a number with a thousands separator splits in two at the comma: write 1200, "
            "not 1,200)") in text
    # Tab-separated: no comma splits a number, so no thousands hint.
    text = problems_of(lambda: read_fleet(write_csv(tmp_path / "t.csv", [FLEET_HEADERS[:5],
                                                                         ["S21", "Texas", "1", "200", "3500", "x"]],
                                                    sep="\t")))
    assert "field 6 (column F in a spreadsheet) holds 'x' under no header" in text and "1,200" not in text


# (typed text, what the message must say): every form is refused with the plain number to type.
SEPARATED = {
    "1,200": "(a thousands separator or a decimal comma?): write 1200 if the comma separates thousands, "
             "or 1.2 if it is a decimal comma",
    "1.234,5": "(a thousands separator and a decimal comma): write 1234.5",
    "3,5": "(a decimal comma): write 3.5",
    "1 200": "(a thousands separator): write 1200",
    "1'200": "(a thousands separator): write 1200",
    "1\u00a0200": "(a thousands separator): write 1200",
    "1,234,567.5": "(thousands separators): write 1234567.5",
    "-2,5": "(a decimal comma): write -2.5",
}


@pytest.mark.parametrize("typed", list(SEPARATED))
def test_separators_inside_a_number_are_refused_with_the_plain_form(tmp_path, typed):
    # Unit price (H) of the first cohort: Fleet!H5 as a text cell; in a CSV row 2, quoted by the writer.
    shown = repr(typed)
    xlsx = default_workbook(tmp_path / "f.xlsx", fleet=_fleet(r1_H=typed))  # a str: a text cell
    assert (f"Fleet!H5 (Unit price [USD]): expected a number, got {shown} {SEPARATED[typed]}"
            in problems_of(lambda: read_fleet(xlsx)))
    table = fleet_table()[:2]
    table[1][7] = typed
    path = write_csv(tmp_path / "fleet.csv", _csv_rows(table))
    assert (f"fleet.csv row 2 (Unit price [USD]): expected a number, got {shown} {SEPARATED[typed]}"
            in problems_of(lambda: read_fleet(path)))


def test_separator_hint_in_a_whole_number_column(tmp_path):
    path = write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5] + ["Age at start [months]"],
                                              ["S21", "Texas", "1", "200", "3500", "1,200"]])
    assert ("fleet.csv row 2 (Age at start [months]): expected a whole number, got '1,200' (a thousands "
            "separator or a decimal comma?)") in problems_of(lambda: read_fleet(path))


def test_semicolon_csv_refuses_dot_grouped_numbers(tmp_path):
    """In a ';'-separated file (Excel's layout for decimal-comma locales) '18.000' may be 18000:
    refused there; '97.5' and '0.125' cannot be thousands and read as they are; in a comma file
    '18.000' is 18."""
    header = FLEET_HEADERS[:6]
    path = write_csv(tmp_path / "fleet.csv", [header, ["S21", "Texas", "18.000", "200", "3500", "97.5"],
                                              ["S19", "Texas", "0.125", "95", "3250", "97"]], sep=";")
    text = problems_of(lambda: read_fleet(path))
    assert ("fleet.csv row 2 (Units): expected a number, got '18.000' (in a file separated by ';', where numbers "
            "have decimal commas, the dot may separate thousands): write 18000 if it does, or 18 if it is a "
            "decimal point") in text
    assert text.count("expected") == 1
    path = write_csv(tmp_path / "fleet.csv", [header, ["S21", "Texas", "18.000", "200", "3500", "97.5"]])
    assert read_fleet(path)[0]["count"] == 18.0


# --------------------------------------------------------------------------- text encodings (issue 11)

UTF16_NO_BOM = ("looks like UTF-16 text without a byte order mark (a NUL byte at every other position); "
                "save it as UTF-8 ('CSV UTF-8' in Excel)")


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_csv_with_a_byte_order_mark_is_read(tmp_path, encoding, bom):
    """Excel's "Unicode Text": tab-separated UTF-16 with a BOM, read like the UTF-8 file."""
    text = "Model\tSite\tUnits\tHashrate [TH/s per unit]\tPower [W per unit]\r\nS21 Pro\tTexas\t12\t234\t3510\r\n"
    (tmp_path / "fleet.csv").write_bytes(bom + text.encode(encoding))
    assert read_fleet(tmp_path / "fleet.csv") == [{"model": "S21 Pro", "site": "Texas", "count": 12,
                                                   "hashrate_ths": 234, "power_w": 3510}]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_csv_without_a_byte_order_mark_gets_the_same_answer_as_the_price_reader(tmp_path, encoding):
    from minerplan.markets.calibration.history_csv import load_price_history_csv

    (tmp_path / "fleet.csv").write_bytes("Model,Site,Units\r\nS21,Texas,1\r\n".encode(encoding))
    assert f"fleet.csv: cannot import: {UTF16_NO_BOM}" in problems_of(lambda: read_fleet(tmp_path / "fleet.csv"))
    (tmp_path / "prices.csv").write_bytes("date,close\n2024-01-31,42000\n".encode(encoding))
    with pytest.raises(ScenarioError) as info:
        load_price_history_csv(tmp_path / "prices.csv")
    assert f"prices.csv: {UTF16_NO_BOM}" in str(info.value)


# --------------------------------------------------------------------------- the malformed corpus

def _changed(table, changes):
    """``table`` with cells changed: keys like r1_D (data row 1, column D; r0 is the header row)."""
    for key, value in changes.items():
        r, col = key[1:].split("_")
        row = table[int(r)]
        row += [None] * (ord(col) - 64 - len(row))
        row[ord(col) - 65] = value
    return table


def _fleet(**changes):
    return _changed(fleet_table(), changes)


def _sites(**changes):
    return _changed(sites_table(), changes)


def _xlsx_fleet(tmp_path, **kw):
    path = default_workbook(tmp_path / "plan.xlsx", fleet=_fleet(**kw))
    return lambda: import_fleet_into(DEFAULT, read_fleet(path))


def _xlsx_sites(tmp_path, sites=None, hourly=None):
    path = default_workbook(tmp_path / "plan.xlsx", sites=sites, hourly=hourly)
    return lambda: import_sites_into(DEFAULT, read_sites(path))


def _hourly(edit):
    rows = hourly_table()
    edit(rows)
    return rows


def _csv(tmp_path, rows, name="fleet.csv"):
    path = write_csv(tmp_path / name, rows)
    return lambda: import_fleet_into(DEFAULT, read_fleet(path))


def _raw(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)
    return lambda: read_fleet(tmp_path / name)


def _missing_header(tmp_path):
    table = fleet_table()
    for row in table:
        del row[4]  # the Power column
    return lambda: read_fleet(write_xlsx(tmp_path / "f.xlsx", {"Fleet": sheet_rows(table)}))


def _many_rows(tmp_path):
    rows = [FLEET_HEADERS[:5]] + [["S21", "Texas", "1", "200", "3500"]] * 20_001
    return _csv(tmp_path, rows)


def _huge_file(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)  # sparse: no 20 MB written
    return lambda: read_fleet(path)


def _uncalculated_formula(tmp_path):
    # openpyxl stores no cached value for a formula: with data_only it reads blank, never evaluated.
    return _xlsx_fleet(tmp_path, r2_C="=1+1")


CORPUS = {
    "missing header": (_missing_header, ["Fleet row 4", "'Power [W per unit]'", "missing"]),
    "bad number": (lambda t: _xlsx_fleet(t, r3_D="fast"),
                   ["Fleet!D7 (Hashrate [TH/s per unit]): expected a number, got 'fast'"]),
    "thousands separator in csv": (lambda t: _csv(t, [FLEET_HEADERS[:5], ["S21", "Texas", "1", "200", "3,645"]]),
                                   ["fleet.csv row 2 (Power [W per unit]): expected a number, got '3,645' "
                                    "(a thousands separator or a decimal comma?): write 3645 if the comma separates "
                                    "thousands, or 3.645 if it is a decimal comma"]),
    "nan text": (lambda t: _xlsx_fleet(t, r1_E="NaN"), ["Fleet!E5 (Power [W per unit]): expected a number, got 'NaN'"]),
    "6.5 months": (lambda t: _xlsx_fleet(t, r2_I=6.5),
                   ["Fleet!I6 (Age at start [months]): expected a whole number, got 6.5"]),
    "unknown site": (lambda t: _xlsx_fleet(t, r4_B="Nowhere"),
                     ["Fleet!B8 (Site): names site 'Nowhere', which does not exist"]),
    "month 2026-13": (lambda t: _xlsx_fleet(t, r1_K="2026-13"),
                      ["Fleet!K5 (Delivery month [YYYY-MM]): expected a month as YYYY-MM", "'2026-13'"]),
    "number where a month goes": (lambda t: _xlsx_fleet(t, r1_L=46023),
                                  ["Fleet!L5 (Retire month [YYYY-MM]): expected a month", "46023"]),
    "required cell blank": (lambda t: _xlsx_fleet(t, r5_A="   "), ["Fleet!A9 (Model): a value is required here"]),
    "formula never calculated": (_uncalculated_formula, ["Fleet!C6 (Units): holds the formula", "no calculated value", "save it"]),
    "schema range kept in words": (lambda t: _xlsx_fleet(t, r6_F=120),
                                   ["Fleet!F10 (Uptime [%]): must be at most 100 (got 120)"]),
    "purchase before start": (lambda t: _xlsx_fleet(t, r1_K=dt.datetime(2025, 1, 1), r1_I=None),
                              ["Fleet!K5 (Delivery month [YYYY-MM]): 2025-01 is before start_month 2025-12"]),
    "duplicate column": (lambda t: _xlsx_fleet(t, r0_N="Units"),
                         ["Fleet!N4 (Units): the column 'Units' appears twice (also column C)"]),
    "empty table": (lambda t: lambda: read_fleet(write_xlsx(t / "e.xlsx", {"Fleet": sheet_rows([FLEET_HEADERS])})),
                    ["Fleet row 5", "no data rows"]),
    "no Fleet sheet": (lambda t: lambda: read_fleet(write_xlsx(t / "s.xlsx", {"Sheet1": [["x"]]})),
                       ["s.xlsx: cannot import: no sheet named 'Fleet'", "'Sheet1'"]),
    "capacity exceeded": (lambda t: _xlsx_sites(t, sites=_sites(r1_B=10)),
                          # Texas: 18,000 x 3,645 W + 15,000 x 3,510 W = 118.26 MW; x PUE 1.04 = 122.99 MW
                          ["Sites!B5 (Capacity [MW]): fleet at site 'Texas' draws 122.99 MW including PUE 1.04",
                           "above its capacity of 10.00 MW"]),
    "ai columns without convertible": (lambda t: _xlsx_sites(t, sites=_sites(r2_J=0.7, r2_O="gpu_cloud")),
                                       ["Sites!J6 (Critical MW per gross MW): 'AI convertible [gross MW]' is blank",
                                        "Sites!O6 (Business model)"]),
    "convertible above capacity": (lambda t: _xlsx_sites(t, sites=_sites(r3_I=130)),
                                   ["Sites!I7 (AI convertible [gross MW]): 130 MW exceeds capacity_mw (120 MW)"]),
    "bad bool": (lambda t: _xlsx_sites(t, sites=_sites(r1_F="maybe")),
                 ["Sites!F5 (Can curtail [yes/no]): expected yes or no, got 'maybe'"]),
    "bad choice": (lambda t: _xlsx_sites(t, sites=_sites(r3_O="mining")),
                   ["Sites!O7 (Business model): expected one of colocation, gpu_cloud, got 'mining'"]),
    "duplicate site name": (lambda t: _xlsx_sites(t, sites=_sites(r2_A="Texas")),
                            ["Sites!A6 (Site): duplicate site name 'Texas'"]),
    # Texas months 1..12 sit in rows 5..16; a copy of the month-12 row goes to row 17.
    "duplicate hourly rows": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r.append(list(r[12])))),
                              ["Hourly prices!B17 (Calendar month [1-12]): a second row for site 'Texas', month 12 "
                               "(the first is row 16)"]),
    "hourly month missing": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r.pop(7))),
                             ["Hourly prices!B5 (Calendar month [1-12]): site 'Texas' has no row for calendar "
                              "month(s) 7"]),
    "hourly hour blank": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r[5].__setitem__(7, None))),
                          ["Hourly prices!H9 (H05): a value is required here"]),
    "hourly month 13": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r[1].__setitem__(1, 13))),
                        ["Hourly prices!B5 (Calendar month [1-12]): expected a calendar month 1-12, got 13"]),
    "hourly unknown site": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r.append(["Narnia", 1] + [30] * 24))),
                            ["Hourly prices!A17 (Site): no site named 'Narnia' on the Sites sheet"]),
    "hourly price out of range": (lambda t: _xlsx_sites(t, hourly=_hourly(lambda r: r[3].__setitem__(4, 150_000))),
                                  ["Hourly prices!E7 (H02): 150000", "USD/MWh is out of range"]),
    "empty csv": (lambda t: _raw(t, "fleet.csv", b""), ["fleet.csv: cannot import: the file is empty"]),
    "not utf-8 csv": (lambda t: _raw(t, "fleet.csv", "Model,Site\nMünchen".encode("cp1252")),
                      ["fleet.csv: cannot import: row 2: not UTF-8 text", "CSV UTF-8"]),
    "binary csv": (lambda t: _raw(t, "fleet.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"),
                   ["fleet.csv: cannot import: row 3: not a text file (a NUL byte at byte 8)"]),
    "wrong extension": (lambda t: _raw(t, "fleet.txt", b"Model,Site\n"), ["fleet.txt", "cannot import a .txt file"]),
    "binary garbage xlsx": (lambda t: _raw(t, "fleet.xlsx", bytes(range(256)) * 40),
                            ["fleet.xlsx: cannot import: not an .xlsx workbook"]),
    "zip but not a workbook": (lambda t: _raw(t, "fleet.xlsx", _zip_with_text()),
                               ["fleet.xlsx: cannot import: cannot read the workbook"]),
    "huge row count": (_many_rows, ["fleet.csv row 20002: the table has more than 20,000 data rows"]),
    "file over 20 MB": (_huge_file, ["big.csv: cannot import: file is 20,971,521 bytes", "20,971,520"]),
}


def _zip_with_text() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_corpus_names_sheet_row_and_column(tmp_path, case):
    build, expected = CORPUS[case]
    text = problems_of(build(tmp_path))
    for part in expected:
        assert part in text, f"{case}: {part!r} not in\n{text}"
    assert "Traceback" not in text


def test_all_problems_are_collected_in_one_error(tmp_path):
    path = default_workbook(tmp_path / "f.xlsx", fleet=_fleet(r1_D="fast", r2_I=6.5, r3_K="2026-13", r6_A=None))
    with pytest.raises(TableImportError) as info:
        read_fleet(path)
    assert [p.path for p in info.value.problems] == ["Fleet!D5", "Fleet!I6", "Fleet!K7", "Fleet!A10"]
    assert all(isinstance(p, CellProblem) for p in info.value.problems)
    assert info.value.problems[0].header == "Hashrate [TH/s per unit]"
    assert info.value.describe().splitlines()[0].endswith("f.xlsx: cannot import (4 problems):")


# --------------------------------------------------------------------------- CLI

def _scenario_file(tmp_path) -> Path:
    path = tmp_path / "my.json"
    path.write_bytes(DEFAULT_SCENARIO_PATH.read_bytes())
    return path


def test_cli_import_fleet_csv(tmp_path, capsys):
    scenario = _scenario_file(tmp_path)
    csv_path = write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5], ["S21", "Texas", "100", "200", "3500"],
                                                  ["S19", "Georgia", "10", "95", "3250"]])
    assert main(["import-fleet", str(csv_path), "--into", str(scenario)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == f"imported 2 cohorts from fleet.csv into {scenario}"
    assert out[1] == ("  note: the file has no column for Uptime [%], Degradation [%/yr], Unit price [USD], Age at "
                      "start [months], Useful life [months], Delivery month [YYYY-MM] and 3 more: 2 cohorts not in "
                      "the scenario (or not matched one to one) take the defaults")
    doc = json.loads(scenario.read_text())
    assert [(c["model"], c["count"]) for c in doc["fleet"]] == [("S21", 100.0), ("S19", 10.0)]
    assert load_scenario(scenario).sites == DEFAULT.sites


def test_cli_import_error_exit_2_file_unchanged(tmp_path, capsys):
    scenario = _scenario_file(tmp_path)
    before = scenario.read_bytes()
    csv_path = write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5], ["S21", "Texas", "100", "fast", "3500"],
                                                  ["S19", "Nowhere", "10", "95", "3250"]])
    assert main(["import-fleet", str(csv_path), "--into", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "fleet.csv row 2 (Hashrate [TH/s per unit]): expected a number, got 'fast'" in err
    assert "Traceback" not in err
    assert scenario.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.csv", "my.json"]  # no temp file left

    # A valid table whose site is unknown fails in the schema check, named by cell.
    csv_path = write_csv(tmp_path / "fleet.csv", [FLEET_HEADERS[:5], ["S19", "Nowhere", "10", "95", "3250"]])
    assert main(["import-fleet", str(csv_path), "--into", str(scenario)]) == 2
    assert "fleet.csv row 2 (Site): names site 'Nowhere'" in capsys.readouterr().err
    assert scenario.read_bytes() == before


def test_cli_into_default_needs_output(tmp_path, capsys):
    before = DEFAULT_SCENARIO_PATH.read_bytes()
    xlsx = default_workbook(tmp_path / "plan.xlsx")
    assert main(["import-fleet", str(xlsx), "--into", "default"]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["import-fleet", str(xlsx), "--into", "default", "--output", str(DEFAULT_SCENARIO_PATH)]) == 2
    capsys.readouterr()
    out = tmp_path / "out.json"
    assert main(["import-sites", str(xlsx), "--into", "default", "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (f"imported 3 sites (1 hourly price profile) from plan.xlsx into {out} "
                                               "(based on default)")
    assert load_scenario(out).model_dump() == DEFAULT.model_dump()
    assert DEFAULT_SCENARIO_PATH.read_bytes() == before


def test_cli_import_sites_error_names_cell(tmp_path, capsys):
    scenario = _scenario_file(tmp_path)
    before = scenario.read_bytes()
    xlsx = default_workbook(tmp_path / "plan.xlsx", sites=_sites(r1_B=10))
    assert main(["import-sites", str(xlsx), "--into", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minerplan: ") and "Sites!B5 (Capacity [MW]): fleet at site 'Texas'" in err
    assert scenario.read_bytes() == before


def test_cli_missing_file_and_bad_extension(tmp_path, capsys):
    scenario = _scenario_file(tmp_path)
    assert main(["import-fleet", str(tmp_path / "nope.xlsx"), "--into", str(scenario)]) == 2
    assert "nope.xlsx: cannot import: file not found" in capsys.readouterr().err
    assert main(["import-fleet", str(scenario), "--into", str(scenario)]) == 2
    assert "cannot import a .json file" in capsys.readouterr().err


# --------------------------------------------------------------------------- template

def test_template_layout_and_formatting(tmp_path, capsys):
    out = tmp_path / "template.xlsx"
    assert main(["template", "--xlsx", str(out), "--csv-dir", str(tmp_path)]) == 0
    assert "template.xlsx" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Fleet", "Sites", "Hourly prices"]
    for name, headers in (("Fleet", FLEET_HEADERS), ("Sites", SITE_HEADERS), ("Hourly prices", list(HOURLY_HEADERS))):
        ws = wb[name]
        assert ws["A1"].value and ws["A2"].value
        assert [c.value for c in ws[4]][:len(headers)] == headers
        assert all(c.font.bold for c in ws[4][:len(headers)])
    fleet = wb["Fleet"]
    # The default's first cohort: Antminer S21 XP at Texas, 18,000 units of 270 TH/s and 3,645 W.
    assert [c.value for c in fleet[5]][:6] == ["Antminer S21 XP", "Texas", 18000, 270, 3645, 97]
    assert fleet["A5"].font.color.rgb.endswith("0000FF") and fleet["C5"].font.color.rgb.endswith("0000FF")
    assert fleet["K5"].number_format == "yyyy-mm" and fleet["A6"].value is None
    sites = wb["Sites"]
    assert [c.value for c in sites[5]][:8] == ["Texas", 150, 38, 1.04, 5, "yes", 0, 4500]
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in sites.data_validations.dataValidation}
    assert lists == {"F5": '"yes,no"', "O5": '"colocation,gpu_cloud"', "S5": '"yes,no"',
                     "U5": '"investment_grade,high_yield"'}
    hourly = wb["Hourly prices"]
    assert [hourly.cell(row=r, column=2).value for r in range(5, 17)] == list(range(1, 13))
    assert (tmp_path / "fleet.csv").read_text().splitlines()[1] == "Antminer S21 XP,Texas,18000,270,3645,97,2,6939,6,36,,,,0"


def test_template_reads_back_to_the_first_cohort_and_site(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path, DEFAULT)
    assert read_fleet(path) == [DEFAULT.fleet[0].model_dump(exclude_none=True)]
    assert import_fleet_into(DEFAULT, read_fleet(path)).fleet == [DEFAULT.fleet[0]]
    assert read_sites(path) == [DEFAULT.sites[0].model_dump(exclude_none=True)]  # Texas, with its 12x24 profile


def test_template_writes_formula_like_names_as_text(tmp_path):
    doc = scenario_to_dict(DEFAULT)
    evil = "=cmd|' /C calc'!A0"
    doc["fleet"][0]["model"] = evil
    path = tmp_path / "t.xlsx"
    write_template(path, scenario_from_dict(doc))
    ws = openpyxl.load_workbook(path)["Fleet"]  # data_only=False: a formula would show as one
    assert ws["A5"].value == evil and ws["A5"].data_type == "s"
    assert read_fleet(path)[0]["model"] == evil


def test_put_text_keeps_text(tmp_path):
    wb = openpyxl.Workbook()
    put_text(wb.active["A1"], "@SUM(1)")
    wb.save(tmp_path / "x.xlsx")
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").active["A1"].data_type == "s"


def test_cli_template_write_failure_exit_2(tmp_path, capsys):
    assert main(["template", "--xlsx", str(tmp_path / "missing-dir" / "t.xlsx")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["template"]) == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- bounded work on large files (issue 11)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# ~200 bytes a row; the cells after B carry no reference (optional in the format: they follow B).
_FLEET_ROW = ('<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>Antminer S21 XP</t></is></c>'
              '<c r="B{r}" t="inlineStr"><is><t>Texas</t></is></c><c><v>18000</v></c>'
              '<c><v>270</v></c><c><v>3645</v></c><c><v>97</v></c></row>')


def _sheet_xml_chunks(n_rows: int, dimension: bool = True):
    """A Fleet sheet's XML in pieces: the header in row 4 (five required columns and Uptime),
    then ``n_rows`` cohorts from row 5. Written by hand: openpyxl would take minutes for 980,000 rows."""
    head = f'<worksheet xmlns="{_MAIN_NS}">'
    if dimension:
        head += f'<dimension ref="A1:F{n_rows + 4}"/>'
    headers = "".join(f'<c r="{chr(65 + i)}4" t="inlineStr"><is><t>{h}</t></is></c>'
                      for i, h in enumerate(FLEET_HEADERS[:6]))
    yield (head + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>big</t></is></c></row>'
           + f'<row r="4">{headers}</row>')
    for start in range(5, n_rows + 5, 20_000):
        yield "".join(_FLEET_ROW.format(r=r) for r in range(start, min(start + 20_000, n_rows + 5)))
    yield "</sheetData></worksheet>"


def write_streamed_xlsx(path: Path, sheets: dict[str, tuple[int, bool] | str]) -> Path:
    """An .xlsx with a fleet-like sheet per name: {name: (data rows, with a <dimension> element)},
    each sheet's XML streamed into the zip; or {name: the sheetData's rows as XML text}."""
    import zipfile

    names = list(sheets)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                      f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(names)))
            + "</Types>"))
        zf.writestr("_rels/.rels", f'<Relationships xmlns="{_PKG_NS}"><Relationship Id="rId1" Type="{_R_NS}/'
                                   'officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_R_NS}"><sheets>'
                    + "".join(f'<sheet name="{n}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(names))
                    + "</sheets></workbook>")
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG_NS}">'
                    + "".join(f'<Relationship Id="rId{i + 1}" Type="{_R_NS}/worksheet" '
                              f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(names)))
                    + "</Relationships>")
        for i, spec in enumerate(sheets.values()):
            chunks = ([f'<worksheet xmlns="{_MAIN_NS}"><sheetData>{spec}</sheetData></worksheet>']
                      if isinstance(spec, str) else _sheet_xml_chunks(*spec))
            with zf.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(chunk.encode())
    return path


@pytest.fixture
def opened_parts(monkeypatch):
    """Bytes read from each part of a zip, by part name (counting work, not time)."""
    import zipfile

    counts: dict[str, int] = {}
    real_open = zipfile.ZipFile.open

    class Counting:
        def __init__(self, stream, name):
            self.stream, self.name = stream, name
            counts.setdefault(name, 0)

        def read(self, n=-1):
            data = self.stream.read(n)
            counts[self.name] += len(data)
            return data

        def close(self):
            self.stream.close()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def __getattr__(self, attr):
            return getattr(self.stream, attr)

    def counting_open(zf, name, mode="r", *args, **kwargs):
        stream = real_open(zf, name, mode, *args, **kwargs)
        part = name.filename if hasattr(name, "filename") else name
        return Counting(stream, part) if mode == "r" else stream

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    return counts


def test_a_980000_row_sheet_is_refused_while_streaming(tmp_path, opened_parts):
    """Issue 11: an .xlsx under both size limits (about 15 MB, 196 MB unzipped, 980,000 rows) took
    107 s and 3.9 GB to refuse, because openpyxl loaded the sheet twice before rows were counted.
    Now the sheet is streamed and refused at the first value below row 20,031 (a header in the
    first 30 rows and 20,000 data rows end above it): a fraction of the sheet is read and little
    memory is used. (Time is only bounded generously; the work is what is counted.)"""
    import time
    import tracemalloc
    import zipfile

    path = write_streamed_xlsx(tmp_path / "big.xlsx", {"Fleet": (980_000, True)})
    with zipfile.ZipFile(path) as zf:
        unzipped = zf.getinfo("xl/worksheets/sheet1.xml").file_size
    assert path.stat().st_size < 20 * 1024 * 1024 and 190e6 < unzipped < 200 * 1024 * 1024   # under both limits
    opened_parts.clear()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        text = problems_of(lambda: read_fleet(path))
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ("big.xlsx: cannot import: Fleet: row 20,032 holds a value, below the last row an import reads "
            "(20,031: at most 20,000 data rows under a header in the first 30 rows); split the table or delete "
            "the rows below it") in text
    # Rows 1-20,032 are ~20,030 x 200 bytes = 4 MB of the 196 MB; the stream reads ahead in small blocks.
    assert opened_parts["xl/worksheets/sheet1.xml"] < 0.05 * unzipped
    assert peak < 500 * 1024 * 1024
    assert seconds < 60


def test_a_full_table_of_20000_rows_is_read(tmp_path):
    """The limit is the table's, not less: 20,000 cohorts under the header in row 4 import (rows 5-20,004)."""
    path = write_streamed_xlsx(tmp_path / "full.xlsx", {"Fleet": (20_000, False)})
    rows = read_fleet(path)
    assert len(rows) == 20_000 and rows.origin.row_numbers[-1] == 20_004
    assert rows[-1] == {"model": "Antminer S21 XP", "site": "Texas", "count": 18000, "hashrate_ths": 270,
                        "power_w": 3645, "uptime_pct": 97}
    path = write_streamed_xlsx(tmp_path / "over.xlsx", {"Fleet": (20_001, False)})
    assert "Fleet row 20005: the table has more than 20,000 data rows" in problems_of(lambda: read_fleet(path))


def test_only_the_imported_sheets_are_read_and_each_once(tmp_path, opened_parts):
    """A large other sheet (here 200,000 rows without a <dimension>, which openpyxl's reader would
    parse whole just to size it) is never opened; the fleet sheet is streamed once."""
    path = write_streamed_xlsx(tmp_path / "two.xlsx", {"Fleet": (3, True), "Data": (200_000, False)})
    opened_parts.clear()
    assert len(read_fleet(path)) == 3
    assert "xl/worksheets/sheet2.xml" not in opened_parts
    with __import__("zipfile").ZipFile(path) as zf:
        assert opened_parts["xl/worksheets/sheet1.xml"] == zf.getinfo("xl/worksheets/sheet1.xml").file_size
    # A workbook with all three sheets: Sites and Hourly prices are read once each, Fleet not at all.
    book = default_workbook(tmp_path / "plan.xlsx")
    import zipfile
    with zipfile.ZipFile(book) as zf:
        sizes = {i.filename: i.file_size for i in zf.infolist()}
    opened_parts.clear()
    assert len(read_sites(book)) == 3
    read = {name: n for name, n in opened_parts.items() if name.startswith("xl/worksheets/")}
    assert read == {"xl/worksheets/sheet2.xml": sizes["xl/worksheets/sheet2.xml"],
                    "xl/worksheets/sheet3.xml": sizes["xl/worksheets/sheet3.xml"]}


def test_a_long_csv_is_refused_without_keeping_every_line(tmp_path):
    """500,000 short lines (10 MB): reading stops after the header and 20,001 rows, so memory stays
    a few times the file (keeping all lines as lists took about 170 MB)."""
    import tracemalloc

    path = tmp_path / "fleet.csv"
    path.write_text("Model,Site,Units,Hashrate [TH/s per unit],Power [W per unit]\n"
                    + "S21,Texas,1,200,3500\n" * 500_000, encoding="utf-8")
    tracemalloc.start()
    try:
        text = problems_of(lambda: read_fleet(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "fleet.csv row 20002: the table has more than 20,000 data rows" in text
    assert peak < 100 * 1024 * 1024


# --------------------------------------------------------------------------- the .xlsx reader on its own

def _header_row(r=4, columns=5) -> str:
    return f'<row r="{r}">' + "".join(f'<c r="{chr(65 + i)}{r}" t="inlineStr"><is><t>{h}</t></is></c>'
                                      for i, h in enumerate(FLEET_HEADERS[:columns])) + "</row>"


def _text(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def test_shared_formulas_without_values_name_their_own_formula(tmp_path):
    """Excel stores a filled-down formula once (a shared formula); a cell of it with no stored
    value is named with the formula moved to that cell, as Excel shows it."""
    rows = _header_row() + "".join(
        f'<row r="{r}">{_text(f"A{r}", "S21")}{_text(f"B{r}", "Texas")}<c r="C{r}"><v>1</v></c>'
        f'<c r="D{r}"><v>200</v></c><c r="E{r}">' + ('<f t="shared" ref="E5:E6" si="0">D5*17.5</f>' if r == 5 else
                                                  '<f t="shared" si="0"/>') + "</c></row>" for r in (5, 6))
    path = write_streamed_xlsx(tmp_path / "f.xlsx", {"Fleet": rows})
    text = problems_of(lambda: read_fleet(path))
    assert "Fleet!E5 (Power [W per unit]): holds the formula '=D5*17.5' with no calculated value" in text
    assert "Fleet!E6 (Power [W per unit]): holds the formula '=D6*17.5' with no calculated value" in text


def test_stored_formula_results_are_read_and_empty_text_results_are_blank(tmp_path):
    """A formula with a stored value reads as that value; a text formula whose stored result is
    empty (LibreOffice writes <v></v>) was calculated: a blank cell, not "no calculated value"."""
    rows = (_header_row(columns=6) + '<row r="5">' + _text("A5", "S21")
            + '<c r="B5" t="str"><f>"Tex"&amp;"as"</f><v>Texas</v></c>'
            '<c r="C5"><f>2*3</f><v>6</v></c><c r="D5"><v>200</v></c><c r="E5"><v>3500</v></c>'
            '<c r="F5" t="str"><f>IF(1,"","x")</f><v></v></c></row>')   # F: Uptime [%], blank -> the default
    path = write_streamed_xlsx(tmp_path / "f.xlsx", {"Fleet": rows})
    assert read_fleet(path) == [{"model": "S21", "site": "Texas", "count": 6, "hashrate_ths": 200, "power_w": 3500}]


def test_rows_out_of_order_are_refused(tmp_path):
    rows = _header_row() + "".join(f'<row r="{r}">{_text(f"A{r}", "S21")}</row>' for r in (6, 5))
    path = write_streamed_xlsx(tmp_path / "f.xlsx", {"Fleet": rows})
    assert "Fleet: row 5 comes after row 6 in the file (rows out of order" in problems_of(lambda: read_fleet(path))


def test_1904_date_system_reads_the_same_months(tmp_path):
    """A workbook in the 1904 date system (old Mac Excel) stores dates 1,462 days lower; the months read the same."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    fleet = [FLEET_HEADERS, ["A", "Texas", 1, 100, 3000, None, None, None, None, None, dt.datetime(2026, 3, 1),
                             dt.datetime(2027, 4, 1)]]
    path = write_xlsx(tmp_path / "m.xlsx", {"Fleet": sheet_rows(fleet)})
    wb = openpyxl.load_workbook(path)
    wb.epoch = CALENDAR_MAC_1904
    wb.save(path)
    import zipfile
    with zipfile.ZipFile(path) as zf:
        assert b'date1904="1"' in zf.read("xl/workbook.xml")
    rows = read_fleet(path)
    assert (rows[0]["purchase_month"], rows[0]["retire_month"]) == ("2026-03", "2027-04")


def test_sheet_and_part_limits_are_named(tmp_path, monkeypatch):
    from minerplan.sheets.importing import limits as ti

    path = default_workbook(tmp_path / "plan.xlsx")
    monkeypatch.setattr(ti, "MAX_SHEET_CELLS", 50)   # the Fleet sheet has 1 + 1 + 13 + 6 x 13 = 93 cells
    assert ("plan.xlsx: cannot import: Fleet: the sheet has more than 50 cells (formatted empty ones included)"
            in problems_of(lambda: read_fleet(path)))
    monkeypatch.setattr(ti, "MAX_SHEET_CELLS", 1_000_000)
    monkeypatch.setattr(ti, "MAX_PART_BYTES", 2000)   # the relationships and xl/workbook.xml are smaller
    assert ("plan.xlsx: cannot import: cannot read the workbook: its part xl/styles.xml unpacks to 2,631 bytes; "
            "the limit is 2,000") in problems_of(lambda: read_fleet(path))


def test_shared_strings_are_read_up_to_the_last_one_used(tmp_path, opened_parts):
    """Excel keeps text in one shared table (openpyxl writes text inline, so this workbook is
    made by hand): rich text runs join, phonetic guides are left out, and the table is read only
    as far as the last entry the sheet uses (here entry 6, the 7th of 100,007)."""
    import zipfile

    strings = ["Model", "Site", "Units", "Hashrate [TH/s per unit]", "Power [W per unit]", "Texas"]
    shared = "".join(f"<si><t>{t}</t></si>" for t in strings)
    shared += "<si><r><t>Antminer </t></r><r><rPr><b/></rPr><t>S21</t></r><rPh sb=\"0\" eb=\"1\"><t>x</t></rPh></si>"
    shared += "<si><t>unused</t></si>" * 100_000
    rows = ('<row r="1">' + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(5)) + "</row>"
            '<row r="2"><c r="A2" t="s"><v>6</v></c><c r="B2" t="s"><v>5</v></c><c r="C2"><v>2</v></c>'
            '<c r="D2"><v>200</v></c><c r="E2"><v>3500</v></c></row>')
    path = write_streamed_xlsx(tmp_path / "s.xlsx", {"Fleet": rows})
    with zipfile.ZipFile(path, "a") as zf:   # add the table and point the workbook at it
        zf.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN_NS}">{shared}</sst>')
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rels = rels.replace("</Relationships>", f'<Relationship Id="rId9" Type="{_R_NS}/sharedStrings" '
                                            'Target="sharedStrings.xml"/></Relationships>')
    _replace_in_zip(path, "xl/_rels/workbook.xml.rels", rels)
    opened_parts.clear()
    assert read_fleet(path) == [{"model": "Antminer S21", "site": "Texas", "count": 2, "hashrate_ths": 200,
                                 "power_w": 3500}]
    with zipfile.ZipFile(path) as zf:
        assert opened_parts["xl/sharedStrings.xml"] < 0.1 * zf.getinfo("xl/sharedStrings.xml").file_size


def _replace_in_zip(path: Path, name: str, text: str) -> None:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    parts[name] = text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part, data)


# --------------------------------------------------------------------------- columns the file does not have

def test_a_sites_table_without_some_columns_keeps_the_scenarios_values(tmp_path, capsys):
    # Found while building the fuzz corpus: a sites CSV with only name, capacity, price and PUE
    # silently reset Georgia's 40,000 MWh/month take-or-pay to 0 and dropped North Dakota's AI/HPC
    # section (exit 0). A column the file lacks says nothing about that field: the value stays.
    d = json.loads(DEFAULT_SCENARIO_PATH.read_text())
    d["conversion_plan"] = []
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(d))
    rows = [["Site", "Capacity [MW]", "Power price [USD/MWh]", "PUE"]] + \
        [[s["name"], str(s["capacity_mw"]), str(s["power_price_usd_per_mwh"]), str(s.get("pue", 1.05))]
         for s in d["sites"]]
    rows[2][1] = "130"                                       # the one change the file makes: Georgia's capacity
    assert main(["import-sites", str(write_csv(tmp_path / "sites.csv", rows)), "--into", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "no column for Curtailment credit [USD/MWh], Can curtail [yes/no], Take-or-pay [MWh/month], Mining " \
           "opex [USD/MW-month], the AI/HPC columns: kept the scenario's values for 3 sites" in out
    new = {s.name: s for s in load_scenario(scenario).sites}
    old = {s.name: s for s in scenario_from_dict(d, "before").sites}
    assert new["Georgia"].capacity_mw == 130
    assert new["Georgia"].take_or_pay_mwh_per_month == old["Georgia"].take_or_pay_mwh_per_month == 40_000
    assert new["North Dakota"].ai == old["North Dakota"].ai is not None
    assert new["Georgia"].model_copy(update={"capacity_mw": old["Georgia"].capacity_mw}) == old["Georgia"]
    assert new["Texas"] == old["Texas"] and new["North Dakota"] == old["North Dakota"]


def test_a_fleet_table_without_salvage_keeps_each_matched_cohorts_salvage(tmp_path):
    d = json.loads(DEFAULT_SCENARIO_PATH.read_text())
    d["fleet"][0]["salvage_usd"] = 1234.0
    sc = scenario_from_dict(d, "t")
    header = [c.header for c in FLEET_COLUMNS if c.field != "salvage_usd"]
    fields = [c.field for c in FLEET_COLUMNS if c.field != "salvage_usd"]
    body = [[("" if getattr(c, f) is None else str(getattr(c, f))) for f in fields] for c in sc.fleet]
    notes: list[str] = []
    new = import_fleet_into(sc, read_fleet(write_csv(tmp_path / "fleet.csv", [header] + body)), notes)
    assert new.fleet[0].salvage_usd == 1234.0
    assert new.fleet == sc.fleet
    assert notes == ["the file has no column for Salvage [USD per unit]: kept the scenario's values for 6 cohorts"]
