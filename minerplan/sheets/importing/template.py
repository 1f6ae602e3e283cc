"""The import template: the Fleet, Sites and Hourly prices tables (:mod:`minerplan.scenario.fields`' layout)
with notes, input formatting, choice lists and one example each from a scenario; and the same as
``fleet.csv`` and ``sites.csv``. What the template holds imports as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

from minerplan.scenario.dotted import get_path
from minerplan.scenario.fields import (FLEET_COLUMNS, FLEET_SHEET, HOURLY_COLUMNS, HOURLY_SHEET, SITE_COLUMNS,
                                       SITES_SHEET, Column)
from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.model import Scenario
from minerplan.sheets.importing.problems import column_letter

TEMPLATE_INPUT_ROWS = 200  # rows below the header formatted for input (blue font, validation lists)
_BLUE = "0000FF"
_INSTRUCTIONS = {
    FLEET_SHEET: "One row per cohort (identical ASICs at one site) from row 5, no blank rows in between (a "
                 "blank row with data below it is refused). Blank optional cells take the default. Blue cells "
                 "are inputs.",
    SITES_SHEET: "One row per site from row 5. Leave 'AI convertible' and every AI column blank for a site "
                 "that cannot convert to AI/HPC. Blue cells are inputs.",
    HOURLY_SHEET: "Optional: 12 rows per site (calendar months 1-12), 24 hourly prices in USD/MWh each; "
                  "a site listed here pays these instead of its flat power price.",
}
_TITLES = {FLEET_SHEET: "MinerPlan fleet import", SITES_SHEET: "MinerPlan site import",
           HOURLY_SHEET: "MinerPlan hourly power prices (USD/MWh)"}


def put_text(cell, text: str) -> None:
    """Write ``text`` as text: '=HYPERLINK(...)' must never become a formula in the user's Excel."""
    cell.value = text
    cell.data_type = "s"


def _put_value(cell, column: Column, value: Any) -> None:
    """An example value in the form a user would type it (a month as a real date)."""
    if value is None:
        return
    if column.kind == "month":
        year, month = (int(x) for x in value.split("-"))
        cell.value = dt.datetime(year, month, 1)
        cell.number_format = "yyyy-mm"
    elif column.kind == "bool":
        put_text(cell, "yes" if value else "no")
    elif isinstance(value, str):
        put_text(cell, value)
    elif isinstance(value, float) and value.is_integer():
        cell.value = int(value)
    else:
        cell.value = value


def _note(column: Column) -> str:
    parts = ["required" if column.required else ""]
    if column.choices:
        parts.append(" or ".join(column.choices))
    if column.note:
        parts.append(column.note)
    return "; ".join(p for p in parts if p)


def _template_sheet(wb, name: str, layout: tuple[Column, ...], examples: list[list[Any]]) -> None:
    """One template sheet: title, instruction, notes (row 3), bold headers (row 4), examples from row 5."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = wb.create_sheet(name)
    ws["A1"] = _TITLES[name]
    ws["A1"].font = Font(bold=True, size=14)
    put_text(ws["A2"], _INSTRUCTIONS[name])
    ws["A2"].font = Font(italic=True)
    first, last = 5, 4 + TEMPLATE_INPUT_ROWS
    for col, column in enumerate(layout, start=1):
        letter = column_letter(col)
        put_text(ws.cell(row=3, column=col), _note(column))
        ws.cell(row=3, column=col).font = Font(italic=True, color="808080")
        put_text(ws.cell(row=4, column=col), column.header)
        ws.cell(row=4, column=col).font = Font(bold=True)
        ws.column_dimensions[letter].width = max(10, min(40, len(column.header) + 2))
        for r in range(first, last + 1):
            ws.cell(row=r, column=col).font = Font(color=_BLUE)
            if column.kind == "month":
                ws.cell(row=r, column=col).number_format = "yyyy-mm"
        if column.kind in ("bool", "choice"):
            options = ("yes", "no") if column.kind == "bool" else column.choices
            dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                                showErrorMessage=True, error=f"choose {' or '.join(options)}")
            dv.add(f"{letter}{first}:{letter}{last}")
            ws.add_data_validation(dv)
    for r, values in enumerate(examples, start=first):
        for col, (column, value) in enumerate(zip(layout, values), start=1):
            _put_value(ws.cell(row=r, column=col), column, value)
    ws.freeze_panes = "A5"


def template_examples(scenario: Scenario) -> dict[str, list[list[Any]]]:
    """Example rows per sheet: the scenario's first cohort, its first site and that site's
    hourly profile (all 12 months, so the template imports as it is)."""
    cohort = scenario.fleet[0] if scenario.fleet else None
    site = scenario.sites[0]
    fleet = [[get_path(cohort, c.field) for c in FLEET_COLUMNS]] if cohort is not None else []
    sites = [[get_path(site, c.field) for c in SITE_COLUMNS]]
    hourly = [[site.name, m + 1, *prices] for m, prices in enumerate(site.hourly_price_usd_per_mwh or [])]
    return {FLEET_SHEET: fleet, SITES_SHEET: sites, HOURLY_SHEET: hourly}


def _atomic_save(wb, path: Path) -> None:
    """Save through a temp file in the same folder and a rename: never half a workbook."""
    atomic_write(path, wb.save)


def write_template(path: str | os.PathLike, scenario: Scenario) -> None:
    """The import template: sheets Fleet, Sites and Hourly prices with one example each from ``scenario``."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    examples = template_examples(scenario)
    _template_sheet(wb, FLEET_SHEET, FLEET_COLUMNS, examples[FLEET_SHEET])
    _template_sheet(wb, SITES_SHEET, SITE_COLUMNS, examples[SITES_SHEET])
    _template_sheet(wb, HOURLY_SHEET, HOURLY_COLUMNS, examples[HOURLY_SHEET])
    _atomic_save(wb, Path(path))


def csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv_templates(directory: str | os.PathLike, scenario: Scenario) -> list[Path]:
    """``fleet.csv`` and ``sites.csv`` (header and one example row each) in ``directory``."""
    from minerplan.scenario.file_io import atomic_write_text

    examples = template_examples(scenario)
    written = []
    for name, layout, sheet in (("fleet.csv", FLEET_COLUMNS, FLEET_SHEET), ("sites.csv", SITE_COLUMNS, SITES_SHEET)):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.header for c in layout])
        for values in examples[sheet]:
            writer.writerow([csv_cell(c, v) for c, v in zip(layout, values)])
        target = Path(directory) / name
        atomic_write_text(target, buf.getvalue())
        written.append(target)
    return written
