"""Subcommands that read one scenario and report on it: ``evaluate`` (with hedges), ``validate``, ``sensitivity``.

``evaluate --hedge`` takes a hedge file, or ``scenario`` for the hedge book saved in the
scenario file (:data:`SCENARIO_HEDGES`). Money is printed in USD (``$1.2M``).
"""

from __future__ import annotations

import json
import sys

from minerplan.cli.arguments import positive_float, positive_int, seed_number
from minerplan.cli.console import load_with_warnings, print_text, warn
from minerplan.formats import usd
from minerplan.scenario.errors import Problem, ScenarioError, escape_control

#: ``evaluate --hedge scenario``: the hedge book saved in the scenario file instead of a hedge file.
SCENARIO_HEDGES = "scenario"


def add_evaluate(sub) -> None:
    """The ``evaluate`` subcommand's arguments."""
    from minerplan.markets.prices import preset_names

    ev = sub.add_parser("evaluate", help="evaluate a scenario and print the summary")
    ev.add_argument("scenario", help="scenario JSON file, or 'default' for the shipped one")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ev.add_argument("--paths", type=positive_int, default=1, help="Monte Carlo price paths (default 1: deterministic)")
    ev.add_argument("--seed", type=seed_number, default=0, help="random seed for --paths > 1 (default 0)")
    ev.add_argument("--preset", choices=preset_names(), help="late-2025 price story replacing the scenario's path")
    ev.add_argument("--hedge", metavar="FILE.json",
                    help="hedges (hashprice forward, BTC put or collar): also report NPV and CVaR with them; "
                         "'scenario' for the hedge book saved in the scenario file")


def add_sensitivity(sub) -> None:
    """The ``sensitivity`` subcommand's arguments."""
    se = sub.add_parser("sensitivity", help="tornado of NPV to the major inputs, and breakeven prices")
    se.add_argument("scenario", help="scenario JSON file, or 'default'")
    se.add_argument("--swing-pct", type=positive_float, default=20.0,
                    help="move each input by this share of its value (default 20; rates move by fixed points)")
    se.add_argument("--no-breakevens", action="store_true", help="only the tornado")
    se.add_argument("--json", action="store_true")


def add_validate(sub) -> None:
    """The ``validate`` subcommand's arguments."""
    va = sub.add_parser("validate", help="check a scenario file without evaluating it")
    va.add_argument("scenario", help="scenario JSON file, or 'default'")


def run_evaluate(args) -> int:
    from minerplan.engine.evaluate import run_engine
    from minerplan.analysis.report import format_summary, summary

    sc = load_with_warnings(args.scenario)
    book = None
    if args.hedge == SCENARIO_HEDGES:
        if sc.hedges is None:
            raise ScenarioError([Problem("hedges", "the scenario has no hedge book; give a hedge file "
                                                   "to --hedge, or save hedges with the scenario")],
                                str(args.scenario))
        book = sc.hedges   # its plausibility warnings came with the scenario's
    elif args.hedge:
        from minerplan.scenario.hedges import load_hedges

        book = load_hedges(args.hedge)   # a bad hedge file is reported before the run
        from minerplan.scenario.plausibility import hedge_warnings

        warn(hedge_warnings(book), args.hedge)
    res = run_engine(sc, n_paths=args.paths, seed=args.seed, preset=args.preset)
    doc = summary(res, seed=args.seed, preset=args.preset)
    if book is not None:
        from minerplan.analysis.hedges import compare

        doc["hedge"] = compare(res, book)
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print_text(format_summary(doc))
        if book is not None:
            print_text(format_hedge(doc["hedge"], res.n_paths))
    return 0


def format_hedge(h: dict, n_paths: int) -> str:
    lines = ["", f"Hedges ({n_paths:,} price path{'s' if n_paths != 1 else ''}; hedge P&L taxed at "
                 f"{h['tax_rate'] * 100:.0f}%)"]
    for row in h["hedges"]:
        extra = f", premium {usd(row['premium_usd'])}" if "premium_usd" in row else ""
        lines.append(f"  #{row['index'] + 1} {row['kind']:<18} mean value after tax "
                     f"{usd(row['mean_pv_after_tax_usd'])}{extra}")
    from minerplan.analysis.vocabulary import npv_label

    w = 36
    lines.append(f"  {'':<{w}}{'unhedged':>14}{'hedged':>14}")
    for key, label in (("mean_usd", npv_label("mean", n_paths)), ("p5_usd", npv_label("p5", n_paths)),
                       ("p50_usd", npv_label("median", n_paths)), ("p95_usd", npv_label("p95", n_paths)),
                       ("cvar95_usd", "CVaR 95% (worst 5%)")):
        if n_paths == 1 and key in ("p5_usd", "p50_usd", "p95_usd"):
            continue                        # one path: every statistic is the entered path's NPV
        lines.append(f"  {label:<{w}}{usd(h['unhedged'][key]):>14}{usd(h['hedged'][key]):>14}")
    lines.append(f"  {'P(NPV < 0)':<{w}}{h['unhedged']['prob_npv_negative'] * 100:>13.1f}%"
                 f"{h['hedged']['prob_npv_negative'] * 100:>13.1f}%")
    if n_paths == 1:
        lines.append("  (on the entered price path: use --paths 1000 for a distribution)")
    return "\n".join(lines)


def run_sensitivity(args) -> int:
    from minerplan.scenario.months import add_months
    from minerplan.analysis.root_finding import NoRootError
    from minerplan.analysis.sensitivity import (breakeven_btc_price, conversion_breakeven_lease_rate,
                                                curtailment_power_price)
    from minerplan.analysis.tornado import tornado

    sc = load_with_warnings(args.scenario)
    tor = tornado(sc, swing_pct=args.swing_pct)
    doc = {"scenario": sc.name, "swing_pct": args.swing_pct,
           "tornado": [{k: (v if isinstance(v, str) else float(v)) for k, v in row.items()
                        if k in ("input", "unit", "low_value", "high_value", "npv_low_usd", "npv_high_usd",
                                 "swing_usd")} for row in tor.to_dict(orient="records")]}
    if not args.no_breakevens:
        be: dict = {}
        try:
            be["btc_price_usd_for_npv_zero"] = breakeven_btc_price(sc)
        except NoRootError as e:
            be["btc_price_usd_for_npv_zero"] = None
            be["btc_price_note"] = str(e)
        be["curtailment"] = []
        for site in sc.sites:
            df = curtailment_power_price(sc, site.name, 0)
            for row in df.to_dict(orient="records"):
                be["curtailment"].append({"site": site.name, "model": row.get("model"),
                                          "curtail_above_usd_per_mwh": float(row["curtail_above_usd_per_mwh"])})
        be["lease_rate"] = []
        converted: dict[str, float] = {}
        for cv in sc.conversion_plan:
            converted[cv.site] = converted.get(cv.site, 0.0) + cv.gross_mw
        for site in sc.sites:
            if site.ai is None:
                continue
            mw = site.ai.convertible_gross_mw - converted.get(site.name, 0.0)
            if mw <= 1e-9:
                continue
            start = add_months(sc.start_month, 1)
            entry = {"site": site.name, "gross_mw": mw, "start_month": start}
            try:
                entry["lease_usd_per_kw_month"] = conversion_breakeven_lease_rate(sc, site.name, mw, start)
            except NoRootError as e:
                entry["lease_usd_per_kw_month"] = None
                entry["note"] = str(e)
            be["lease_rate"].append(entry)
        doc["breakevens"] = be
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    base = float(tor["base_npv_usd"].iloc[0]) if len(tor) else float("nan")
    print(f"{escape_control(sc.name)}: NPV {usd(base)} (on the entered price path); each input moved "
          f"{args.swing_pct:g}% (rates by fixed points)")
    print(f"  {'input':<20}{'low':>12}{'high':>12}{'NPV low':>11}{'NPV high':>11}{'swing':>11}  unit")
    for r in doc["tornado"]:
        print(f"  {r['input']:<20}{r['low_value']:>12,.6g}{r['high_value']:>12,.6g}"
              f"{usd(r['npv_low_usd']):>11}{usd(r['npv_high_usd']):>11}{usd(r['swing_usd']):>11}"
              f"  {r['unit']}")
    if "breakevens" in doc:
        be = doc["breakevens"]
        print("\nBreakevens")
        v = be["btc_price_usd_for_npv_zero"]
        print(f"  BTC price for NPV 0 (first month, path scaled): "
              f"{usd(v) if v is not None else escape_control(be.get('btc_price_note', 'none'))}")
        print("  Curtail above this energy price (first month, USD/MWh):")
        for c in be["curtailment"]:
            print(f"    {escape_control(c['site']):<18}{escape_control(str(c['model'])):<24}"
                  f"{c['curtail_above_usd_per_mwh']:>10,.2f}")
        for e in be["lease_rate"]:
            rate = e["lease_usd_per_kw_month"]
            what = f"${rate:,.2f}/kW-month" if rate is not None else escape_control(e.get("note", "none"))
            print(f"  Converting {e['gross_mw']:g} MW at {escape_control(e['site'])} from {e['start_month']} beats "
                  f"mining above: {what}")
    return 0


def run_validate(args) -> int:
    sc = load_with_warnings(args.scenario)
    mw = sum(s.capacity_mw for s in sc.sites)
    print(f"OK: {escape_control(str(args.scenario))}: {escape_control(sc.name)!r}, {len(sc.sites)} sites "
          f"({mw:,.0f} MW), {len(sc.fleet)} cohorts, {sc.horizon_months} months from {sc.start_month}")
    return 0
