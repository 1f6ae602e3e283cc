"""Subcommands about spreadsheets: ``import-fleet`` / ``import-sites`` (a table into a scenario),
``export`` (the plan as a workbook with live formulas) and ``template`` (the import template).
"""

from __future__ import annotations

import os
import sys

from minerplan.cli.arguments import nonneg_int, positive_int, seed_number
from minerplan.cli.console import EXIT_BAD_INPUT, import_target, load_with_warnings, warn_written, writing
from minerplan.scenario.errors import escape_control


def add_imports(sub) -> None:
    """The ``import-fleet`` and ``import-sites`` subcommands' arguments."""
    for name, what in (("import-fleet", "fleet (cohorts)"), ("import-sites", "sites (and hourly price profiles)")):
        im = sub.add_parser(name, help=f"replace a scenario's {what} with a table from a .csv or .xlsx file")
        im.add_argument("file", metavar="FILE", help="a .csv file, or an .xlsx workbook (see `minerplan template`)")
        im.add_argument("--into", required=True, metavar="SCENARIO.json",
                        help="scenario to import into ('default' only together with --output)")
        im.add_argument("--output", metavar="OUT.json", help="write the result here instead of back to --into")


def add_export(sub) -> None:
    """The ``export`` subcommand's arguments."""
    ex = sub.add_parser("export", help="write the plan as an Excel workbook with live formulas")
    ex.add_argument("scenario", help="scenario JSON file, or 'default'")
    ex.add_argument("--xlsx", required=True, metavar="OUT.xlsx", help="workbook to write")
    ex.add_argument("--optimize", action="store_true",
                    help="run the optimizer (risk-neutral, its default settings) and export its plan, with the "
                         "decisions as inputs on a Plan sheet")
    ex.add_argument("--paths", type=nonneg_int, default=500,
                    help="Monte Carlo paths for the Scenarios sheet (default 500; 0 = none)")
    ex.add_argument("--seed", type=seed_number, default=0, help="random seed for the Monte Carlo paths (default 0)")
    ex.add_argument("--optimizer-paths", type=positive_int, default=100,
                    help="price paths shared by the optimized plan with --optimize (default 100)")


def add_template(sub) -> None:
    """The ``template`` subcommand's arguments."""
    tp = sub.add_parser("template", help="write the fleet/site import template")
    tp.add_argument("--xlsx", metavar="OUT.xlsx", help="workbook with the sheets Fleet, Sites and Hourly prices")
    tp.add_argument("--csv-dir", metavar="DIR", help="also (or instead) write fleet.csv and sites.csv in DIR")


def run_import(args) -> int:
    from pathlib import Path

    from minerplan.scenario.files import load_scenario, save_scenario
    from minerplan.sheets.importing.fleet_and_sites import import_fleet_into, import_sites_into, read_fleet, read_sites

    into, out = import_target(args)
    sc = load_scenario(into)
    notes: list[str] = []
    if args.command == "import-fleet":
        rows = read_fleet(args.file)
        new = import_fleet_into(sc, rows, notes)
        what = f"{len(new.fleet)} cohort{'s' * (len(new.fleet) != 1)}"
    else:
        rows = read_sites(args.file)
        new = import_sites_into(sc, rows, notes)
        given = sum("hourly_price_usd_per_mwh" in r for r in rows)
        kept = sum(s.hourly_price_usd_per_mwh is not None for s in new.sites) - given
        what = f"{len(new.sites)} site{'s' * (len(new.sites) != 1)}"
        extras = ([f"{given} hourly price profile{'s' * (given != 1)}"] if given else []) + \
                 ([f"kept {kept} hourly profile{'s' * (kept != 1)} from the scenario"] if kept else [])
        what += f" ({'; '.join(extras)})" if extras else ""
    with writing(out):
        save_scenario(new, out)
        warn_written(new, out)
    based = f" (based on {escape_control(str(into))})" if str(into) != str(out) else ""
    print(f"imported {what} from {escape_control(Path(args.file).name)} into {escape_control(str(out))}{based}")
    for note in notes:
        print(f"  note: {escape_control(note)}")
    return 0


def run_export(args) -> int:
    from dataclasses import replace

    from minerplan.sheets.export.workbook import export_workbook

    if not str(args.xlsx).lower().endswith(".xlsx"):
        print("minerplan: export: --xlsx needs a file name ending in .xlsx", file=sys.stderr)
        return EXIT_BAD_INPUT
    sc = load_with_warnings(args.scenario)
    plan = None
    if args.optimize:
        from solvers.optimize import optimize  # lazy: only --optimize loads Pyomo and HiGHS
        from solvers.report import recommendation
        from solvers.settings import OptimizerSettings

        res = optimize(sc, OptimizerSettings(n_paths=args.optimizer_paths, seed=args.seed))
        if not res.ok:
            lines = recommendation(res)   # why, in business words (no plan, or a failed engine check)
            print("minerplan: export: " + " ".join(lines[:1] + (res.explanation or [])), file=sys.stderr)
            return 3
        note = " ".join(recommendation(res))
        plan = replace(res.decisions, note=note)   # the rows the optimizer wrote as its decisions
        sc = res.plan_scenario

    def show_progress(frac, text):
        print(f"\r{frac * 100:5.1f}%  {text[:60]:<60}", end="", file=sys.stderr, flush=True)

    progress = show_progress if sys.stderr.isatty() else None
    from minerplan.sheets.export.book import WorkbookTooLarge

    try:
        with writing(args.xlsx):
            rep = export_workbook(sc, args.xlsx, plan=plan, n_paths=args.paths if args.paths > 1 else 0,
                                  seed=args.seed, progress=progress)
    except WorkbookTooLarge as e:
        print(f"minerplan: export: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if progress is not None:
        print("", file=sys.stderr)
    extra = f", {plan.count} plan decisions" if plan else ""
    print(f"wrote {escape_control(str(rep.path))}: {len(rep.sheets)} sheets{extra}, NPV {rep.npv_usd:,.0f} USD "
          f"(on the entered price path), {rep.seconds:.2f} s")
    return 0


def run_template(args) -> int:
    from minerplan.scenario.files import load_scenario, resolve_scenario_path
    from minerplan.sheets.importing.template import write_csv_templates, write_template

    if not args.xlsx and not args.csv_dir:
        print("minerplan: template: give --xlsx OUT.xlsx and/or --csv-dir DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.xlsx and not str(args.xlsx).lower().endswith(".xlsx"):
        print("minerplan: template: --xlsx needs a file name ending in .xlsx", file=sys.stderr)
        return EXIT_BAD_INPUT
    sc = load_scenario(resolve_scenario_path("default"))
    written = []
    if args.xlsx:
        with writing(args.xlsx):
            write_template(args.xlsx, sc)
        written.append(str(args.xlsx))
    if args.csv_dir:
        with writing(args.csv_dir):
            if not os.path.isdir(args.csv_dir):
                raise NotADirectoryError(20, "not a directory")
            written += [str(p) for p in write_csv_templates(args.csv_dir, sc)]
    print("wrote import template " + ", ".join(escape_control(w) for w in written))
    return 0
