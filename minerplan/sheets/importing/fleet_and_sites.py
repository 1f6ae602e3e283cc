"""Import a scenario's fleet and sites from a spreadsheet (.xlsx) or a CSV file, and write the template.

Miners keep their fleet in Excel. This module reads the table laid out by
:mod:`minerplan.scenario.fields` (the same layout the Excel export and the template
use), checks every cell by the kind of its column and reports *every* problem
at once, each naming the sheet, row and column the user sees
(``Fleet!D7 (Hashrate [TH/s per unit]): expected a number, got 'fast'``).
Nothing is evaluated: formulas are never computed (the values Excel stored are
read), and text that looks like a formula stays text.

An import reads exactly what the table holds or refuses (issue 11): a blank row
with data below it, a CSV row with more fields than the header and a number
typed with thousands separators or a decimal comma are refused, with the fix in
the message. An .xlsx is streamed, one pass over each imported sheet and nothing
of the others, and refused as soon as it passes a limit (a value below row
20,031, a million cells), so a large workbook costs seconds and megabytes, not
minutes and gigabytes.

The result is validated with the scenario schema before anything is written,
and the schema's own messages (``fleet[3].site``) are translated back to the
cell they came from, so the user can fix the sheet, not guess at JSON paths.
"""

from __future__ import annotations

import os
from typing import Any

from minerplan.scenario.dotted import get_path, nest, set_path
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.fields import (FLEET_COLUMNS, FLEET_SHEET, HOURLY_COLUMNS, HOURLY_HEADERS, HOURLY_SHEET,
                                       SITE_COLUMNS, SITES_SHEET, Column)
from minerplan.scenario.files import scenario_from_dict, scenario_to_dict
from minerplan.scenario.model import Scenario
from minerplan.sheets.importing.files import open_grids
from minerplan.sheets.importing.grids import Grid
from minerplan.sheets.importing.origins import HourlyOrigin, TableOrigin, TableRows, translate_problems
from minerplan.sheets.importing.problems import TableImportError, raise_if
from minerplan.sheets.importing.tables import Table, read_table

_CONVERTIBLE_HEADER = next(c.header for c in SITE_COLUMNS if c.field == "ai.convertible_gross_mw")


def read_fleet(path: str | os.PathLike) -> TableRows:
    """The cohorts in a fleet table (.csv, or the ``Fleet`` sheet of an .xlsx) as scenario dicts.

    Raises TableImportError (a ScenarioError) listing every bad cell.
    """
    source, grid, _ = open_grids(path, FLEET_SHEET, FLEET_COLUMNS)
    problems: list[Problem] = []
    table, parsed = read_table(grid, FLEET_COLUMNS, problems)
    raise_if(problems, source)
    origin = TableOrigin(source, table, tuple(row for row, _, _ in parsed))
    return TableRows([values for _, values, _ in parsed], origin)


def _site_dict(table: Table, row: int, values: dict, invalid: set[str], problems: list[Problem]) -> dict:
    """A site's dict: without an AI convertible figure the site has no AI/HPC section,
    and AI terms given anyway are a mistake worth naming (they would be dropped silently)."""
    ai_fields = [c.field for c in SITE_COLUMNS if c.field.startswith("ai.")]
    if "ai.convertible_gross_mw" not in values and "ai.convertible_gross_mw" not in invalid:
        convertible = table.columns.get("ai.convertible_gross_mw", (0, _CONVERTIBLE_HEADER))[1]
        for f in ai_fields:
            if f in values:
                problems.append(table.place(row, f).problem(
                    f"{convertible!r} is blank, so the site has no AI/HPC section; leave this cell blank "
                    f"or give the convertible MW"))
        values = {k: v for k, v in values.items() if k not in ai_fields}
    return nest(values)


def _read_hourly(grid: Grid, site_names: list[str], problems: list[Problem]
                 ) -> tuple[dict[int, list[list[float]]], HourlyOrigin | None]:
    """12x24 profiles by site index from the ``Hourly prices`` sheet: one row per (site, month)."""
    table, parsed = read_table(grid, HOURLY_COLUMNS, problems, allow_empty=True)
    if table is None:
        return {}, None
    index = {name: i for i, name in enumerate(site_names)}
    cells: dict[int, dict[int, tuple[int, list]]] = {}  # site index -> month 0-11 -> (row, 24 prices)
    for row, values, invalid in parsed:
        if "site" not in values:
            continue
        site = values["site"]
        if site not in index:
            known = ", ".join(repr(n) for n in site_names[:20]) + (", ..." if len(site_names) > 20 else "")
            problems.append(table.place(row, "site").problem(
                f"no site named {site!r} on the {SITES_SHEET} sheet (sites: {known or 'none'})"))
            continue
        month = values.get("month")
        if month is None:
            continue
        if not 1 <= month <= 12:
            problems.append(table.place(row, "month").problem(f"expected a calendar month 1-12, got {month}"))
            continue
        months = cells.setdefault(index[site], {})
        if month - 1 in months:
            problems.append(table.place(row, "month").problem(
                f"a second row for site {site!r}, month {month} (the first is row {months[month - 1][0]})"))
            continue
        months[month - 1] = (row, [values.get(h) for h in HOURLY_HEADERS[2:]])
    profiles: dict[int, list[list[float]]] = {}
    for i, months in cells.items():
        missing = [m + 1 for m in range(12) if m not in months]
        if missing:
            first_row = min(r for r, _ in months.values())
            problems.append(table.place(first_row, "month").problem(
                f"site {site_names[i]!r} has no row for calendar month(s) {', '.join(map(str, missing))}; "
                "an hourly profile needs all 12 months"))
            continue
        profiles[i] = [months[m][1] for m in range(12)]
    origin = HourlyOrigin(table, {i: {m: r for m, (r, _) in months.items()} for i, months in cells.items()})
    return profiles, origin


def read_sites(path: str | os.PathLike) -> TableRows:
    """The sites in a site table (.csv, or the ``Sites`` sheet of an .xlsx) as scenario dicts.

    In an .xlsx, a site with 12 rows on the optional ``Hourly prices`` sheet gets its
    12x24 ``hourly_price_usd_per_mwh`` profile. Raises TableImportError listing every bad cell.
    """
    source, grid, hourly_grid = open_grids(path, SITES_SHEET, SITE_COLUMNS, HOURLY_SHEET)
    problems: list[Problem] = []
    table, parsed = read_table(grid, SITE_COLUMNS, problems)
    sites = [_site_dict(table, row, values, invalid, problems) for row, values, invalid in parsed]
    hourly_origin = None
    if hourly_grid is not None and table is not None:
        names = [s.get("name", "") for s in sites]
        profiles, hourly_origin = _read_hourly(hourly_grid, names, problems)
        for i, profile in profiles.items():
            sites[i]["hourly_price_usd_per_mwh"] = profile
    raise_if(problems, source)
    origin = TableOrigin(source, table, tuple(row for row, _, _ in parsed), hourly_origin,
                         hourly_given=hourly_grid is not None)
    return TableRows(sites, origin)


# --------------------------------------------------------------------------- into a scenario

def _validated(scenario: Scenario, key: str, items: list[dict], origin: TableOrigin | None) -> Scenario:
    data = scenario_to_dict(scenario)
    data[key] = [dict(item) for item in items]
    source = origin.source if origin is not None else None
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as e:
        raise TableImportError(translate_problems(e.problems, key, origin), source) from None


def _present_fields(rows) -> set[str] | None:
    """The fields the file has a column for (None when the rows came from elsewhere: all of them)."""
    origin = getattr(rows, "origin", None)
    return None if origin is None or origin.table is None else set(origin.table.columns)


def _keep_absent_columns(items: list[dict], old: list, key, layout: tuple[Column, ...], present: set[str] | None,
                         what: str, notes: list[str] | None) -> None:
    """Fill the fields the file has no column for from the scenario's matching entry.

    A table without, say, a Take-or-pay column says nothing about take-or-pay; importing it must
    not quietly reset every site's contract (or every cohort's salvage) to the default. Entries
    are matched by ``key`` (a site's name; a cohort's model and site when that pair is unique);
    unmatched ones take the defaults, and ``notes`` says which columns were missing and what happened.
    """
    if present is None:
        return
    absent = [c for c in layout if c.field not in present]
    if not absent:
        return
    by_key: dict[Any, list] = {}
    for o in old:
        by_key.setdefault(key(o), []).append(o)
    no_ai_columns = not any(f.startswith("ai.") for f in present)
    kept = defaulted = 0
    for item in items:
        match = by_key.get(key(item), [])
        if len(match) != 1:
            defaulted += 1
            continue
        kept += 1
        src = match[0]
        for c in absent:
            if c.field.startswith("ai.") and no_ai_columns:
                continue
            value = get_path(src, c.field)
            if value is not None:
                set_path(item, c.field, value)
        if no_ai_columns and getattr(src, "ai", None) is not None:
            item["ai"] = src.ai.model_dump(mode="json", exclude_none=True)   # the whole AI/HPC section
    if notes is not None:
        headers = [c.header for c in absent if not (no_ai_columns and c.field.startswith("ai."))]
        if no_ai_columns and any(c.field.startswith("ai.") for c in layout):
            headers.append("the AI/HPC columns")
        cols = ", ".join(headers[:6]) + (f" and {len(headers) - 6} more" if len(headers) > 6 else "")
        parts = [f"kept the scenario's values for {kept} {what}"] if kept else []
        if defaulted:
            parts.append(f"{defaulted} {what} not in the scenario (or not matched one to one) take the defaults")
        notes.append(f"the file has no column for {cols}: " + "; ".join(parts))


def import_fleet_into(scenario: Scenario, rows: list[dict], notes: list[str] | None = None) -> Scenario:
    """``scenario`` with its fleet replaced by ``rows`` (from :func:`read_fleet`), validated.

    Columns the file lacks keep each cohort's values where its model and site match exactly one
    cohort of the scenario (see :func:`_keep_absent_columns`; ``notes`` gets what happened).
    Raises TableImportError; problems in imported rows name their sheet cell.
    """
    items = [dict(r) for r in rows]
    _keep_absent_columns(items, scenario.fleet, _cohort_key, FLEET_COLUMNS, _present_fields(rows), "cohorts",
                         notes)
    return _validated(scenario, "fleet", items, getattr(rows, "origin", None))


def _cohort_key(c) -> tuple:
    return get_path(c, "model"), get_path(c, "site")


def import_sites_into(scenario: Scenario, sites: list[dict], notes: list[str] | None = None) -> Scenario:
    """``scenario`` with its sites replaced by ``sites`` (from :func:`read_sites`), validated.

    When the file held no hourly price table (a CSV, or a workbook without the sheet), a
    site keeps the hourly profile the scenario already has under the same name: a CSV
    cannot carry one, and dropping it would quietly change the site's power cost. Likewise a
    column the file lacks (take-or-pay, the AI/HPC section ...) keeps the same-named site's values.
    """
    origin = getattr(sites, "origin", None)
    items = [dict(s) for s in sites]
    if origin is None or not origin.hourly_given:
        kept = {s.name: s.hourly_price_usd_per_mwh for s in scenario.sites if s.hourly_price_usd_per_mwh}
        for item in items:
            if "hourly_price_usd_per_mwh" not in item and item.get("name") in kept:
                item["hourly_price_usd_per_mwh"] = kept[item["name"]]
    _keep_absent_columns(items, scenario.sites, _site_key, SITE_COLUMNS, _present_fields(sites), "sites", notes)
    return _validated(scenario, "sites", items, origin)


def _site_key(s) -> Any:
    return get_path(s, "name")
