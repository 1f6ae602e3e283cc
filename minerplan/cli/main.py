"""The ``minerplan`` command.

Subcommands that need Pyomo or Qt import them lazily inside their handler, so
``minerplan evaluate`` and ``minerplan validate`` load neither.
Exit status: 0 success, 2 bad input (message names the field), 1 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Sequence

from minerplan.scenario.errors import Problem, ScenarioError, escape_control

EXIT_BAD_INPUT = 2
#: ``evaluate --hedge scenario``: the hedge book saved in the scenario file instead of a hedge file.
SCENARIO_HEDGES = "scenario"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, keep that but without a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _int_in(lo: int, hi: int):
    """An argparse type: a whole number in [lo, hi]."""
    def parse(text: str) -> int:
        v = _whole_number(text)
        if v < lo or v > hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:,} and {hi:,}, got {v}")
        return v
    return parse


_positive_int = _int_in(1, 1_000_000)
_nonneg_int = _int_in(0, 100_000)


def _seed(text: str) -> int:
    v = _whole_number(text)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def _float_in(lo: float, hi: float, lo_open: bool, hi_open: bool, what: str):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok or v != v:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return v
    return parse


_nonneg_float = _float_in(0.0, float("inf"), False, True, ">= 0")
_positive_float = _float_in(0.0, float("inf"), True, True, "> 0")
_fraction = _float_in(0.0, 1.0, True, True, "between 0 and 1 (exclusive)")
_fraction0 = _float_in(0.0, 1.0, False, True, "in [0, 1)")


def build_parser() -> argparse.ArgumentParser:
    from minerplan.markets.prices import preset_names

    p = _Parser(prog="minerplan", description="MinerPlan: plan a bitcoin miner's fleet, power and AI/HPC capital.")
    p.add_argument("--version", action="version", version=f"minerplan {__import__('minerplan').__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ev = sub.add_parser("evaluate", help="evaluate a scenario and print the summary")
    ev.add_argument("scenario", help="scenario JSON file, or 'default' for the shipped one")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ev.add_argument("--paths", type=_positive_int, default=1, help="Monte Carlo price paths (default 1: deterministic)")
    ev.add_argument("--seed", type=_seed, default=0, help="random seed for --paths > 1 (default 0)")
    ev.add_argument("--preset", choices=preset_names(), help="late-2025 price story replacing the scenario's path")
    ev.add_argument("--hedge", metavar="FILE.json",
                    help="hedges (hashprice forward, BTC put or collar): also report NPV and CVaR with them; "
                         "'scenario' for the hedge book saved in the scenario file")

    ca = sub.add_parser("calibrate", help="fit the BTC price model (GBM or Merton jumps) to a price history CSV")
    ca.add_argument("history", metavar="PRICES.csv", nargs="?",
                    help="columns date and close (daily or monthly closes); or --fetch")
    ca.add_argument("--fetch", action="store_true",
                    help="read the price history from the market data API instead of a file")
    ca.add_argument("--api-url", default="https://mempool.space", metavar="URL", help="with --fetch")
    ca.add_argument("--model", choices=("auto", "gbm", "merton"), default="auto",
                    help="auto (the default: fit both, keep the one with the lower AIC), merton (maximum "
                         "likelihood) or gbm (moments)")
    ca.add_argument("--into", metavar="SCENARIO.json", help="write the fitted parameters into this scenario's "
                                                            "monte_carlo section")
    ca.add_argument("--output", metavar="OUT.json", help="with --into: write the result here instead")
    ca.add_argument("--json", action="store_true")

    se = sub.add_parser("sensitivity", help="tornado of NPV to the major inputs, and breakeven prices")
    se.add_argument("scenario", help="scenario JSON file, or 'default'")
    se.add_argument("--swing-pct", type=_positive_float, default=20.0,
                    help="move each input by this share of its value (default 20; rates move by fixed points)")
    se.add_argument("--no-breakevens", action="store_true", help="only the tornado")
    se.add_argument("--json", action="store_true")

    va = sub.add_parser("validate", help="check a scenario file without evaluating it")
    va.add_argument("scenario", help="scenario JSON file, or 'default'")

    op = sub.add_parser("optimize", help="recommend how to split power and capex between mining and AI/HPC")
    op.add_argument("scenario", help="scenario JSON file, or 'default'")
    op.add_argument("--paths", type=_positive_int, default=100, help="price paths shared by the plan (default 100)")
    op.add_argument("--seed", type=_seed, default=0)
    op.add_argument("--preset", choices=preset_names())
    op.add_argument("--risk-aversion", type=_nonneg_float, default=0.0,
                    help="weight on CVaR of the NPV loss (0 = risk-neutral)")
    op.add_argument("--cvar-level", type=_fraction, default=0.95, help="CVaR tail level (default 0.95)")
    op.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds (default 60)")
    op.add_argument("--mip-gap", type=_fraction0, default=0.005, help="relative MIP gap (default 0.005)")
    op.add_argument("--hall-mw", type=_nonneg_float, default=10.0,
                    help="convert in whole halls of this many critical MW (default 10; 0 = any MW, an LP)")
    op.add_argument("--budget-usd-per-year", type=_nonneg_float, default=None, help="capex cap per calendar year")
    op.add_argument("--max-conversion-mw-per-month", type=_nonneg_float, default=None,
                    help="gross MW that may start conversion in one month (crews)")
    op.add_argument("--starting-cash-usd", type=_nonneg_float, default=None,
                    help="cash on hand at the start (default: the scenario's finance.starting_cash_usd)")
    op.add_argument("--min-cash-usd", type=float, default=None,
                    help="cash floor on expected cash and on the P10 price path (default: the scenario's "
                         "finance.min_cash_usd, 0, when it states its starting cash; else none)")
    op.add_argument("--no-cash-floor", action="store_true", help="no liquidity constraint, whatever the scenario says")
    op.add_argument("--credit-line-usd", type=_nonneg_float, default=None,
                    help="revolving credit line limit (default: the scenario's finance.credit_line_usd)")
    op.add_argument("--credit-line-rate-pct", type=_nonneg_float, default=None,
                    help="annual interest on credit drawn (default: the scenario's, 10)")
    op.add_argument("--purchase-model", action="append", metavar="MODEL",
                    help="catalog model the optimizer may buy (repeatable; default Antminer S21 XP)")
    op.add_argument("--fix", metavar="FILE.json",
                    help="decisions fixed by hand: a JSON list of {kind: convert|retire|buy, month, value, site, "
                         "business_model, cohort, model}")
    op.add_argument("--frontier", action="store_true",
                    help="also trace the efficient frontier (expected NPV vs CVaR over risk weights)")
    op.add_argument("--no-purchases", action="store_true", help="do not buy ASICs")
    op.add_argument("--no-retirements", action="store_true", help="do not retire ASICs")
    op.add_argument("--no-moves", action="store_true", help="do not move ASICs between sites")
    op.add_argument("--move-cost-usd-per-unit", type=_nonneg_float, default=150.0,
                    help="cost of moving one machine to another site (packing, freight, re-racking; default 150)")
    op.add_argument("--move-downtime-months", type=_nonneg_int, default=1,
                    help="months a moved machine is offline in transit (default 1)")
    op.add_argument("--replications", type=_int_in(0, 100), default=10,
                    help="independent re-solves on fresh paths for the sampling gap and the decisions' "
                         "stability (default 10; 0 = skip)")
    op.add_argument("--oos-paths", type=_int_in(0, 1_000_000), default=10_000,
                    help="fresh price paths the plan is evaluated on by the engine (default 10,000; 0 = skip)")
    op.add_argument("--json", action="store_true")
    op.add_argument("--write-model", metavar="FILE", help="write the model passed to HiGHS (.mps or .lp)")

    gui = sub.add_parser("gui", help="open the desktop app (the default with no subcommand)")
    gui.add_argument("scenario", nargs="?", default="default", help="scenario JSON file, or 'default'")

    pr = sub.add_parser("presets", help="list the named stress scenarios (same as 'scenarios list')")
    pr.add_argument("--json", action="store_true")

    scn = sub.add_parser("scenarios", help="the named late-2025 stress scenarios: list them or show one")
    scn_sub = scn.add_subparsers(dest="scenarios_command", parser_class=_Parser, required=True)
    sl = scn_sub.add_parser("list", help="list the stress scenarios")
    sl.add_argument("--json", action="store_true")
    ss = scn_sub.add_parser("show", help="describe one and what it does to a scenario, month by month")
    ss.add_argument("name", choices=preset_names())
    ss.add_argument("--scenario", default="default", help="scenario JSON file to apply it to (default: the shipped one)")
    ss.add_argument("--months", type=_positive_int, default=6, help="months to show (default 6)")
    ss.add_argument("--json", action="store_true")

    for name, what in (("import-fleet", "fleet (cohorts)"), ("import-sites", "sites (and hourly price profiles)")):
        im = sub.add_parser(name, help=f"replace a scenario's {what} with a table from a .csv or .xlsx file")
        im.add_argument("file", metavar="FILE", help="a .csv file, or an .xlsx workbook (see `minerplan template`)")
        im.add_argument("--into", required=True, metavar="SCENARIO.json",
                        help="scenario to import into ('default' only together with --output)")
        im.add_argument("--output", metavar="OUT.json", help="write the result here instead of back to --into")

    ex = sub.add_parser("export", help="write the plan as an Excel workbook with live formulas")
    ex.add_argument("scenario", help="scenario JSON file, or 'default'")
    ex.add_argument("--xlsx", required=True, metavar="OUT.xlsx", help="workbook to write")
    ex.add_argument("--optimize", action="store_true",
                    help="run the optimizer (risk-neutral, its default settings) and export its plan, with the "
                         "decisions as inputs on a Plan sheet")
    ex.add_argument("--paths", type=_nonneg_int, default=500,
                    help="Monte Carlo paths for the Scenarios sheet (default 500; 0 = none)")
    ex.add_argument("--seed", type=_seed, default=0, help="random seed for the Monte Carlo paths (default 0)")
    ex.add_argument("--optimizer-paths", type=_positive_int, default=100,
                    help="price paths shared by the optimized plan with --optimize (default 100)")

    fm = sub.add_parser("fetch-market", help="current BTC price, difficulty, hashrate, height and fees from "
                                             "mempool.space (cached; falls back to the cache or a shipped snapshot)")
    fm.add_argument("--api-url", default="https://mempool.space", metavar="URL",
                    help="API base URL (default https://mempool.space)")
    fm.add_argument("--cache", metavar="FILE", help="cache file (default: ~/.cache/minerplan/market.json)")
    fm.add_argument("--timeout", type=_positive_float, default=10.0,
                    help="deadline for each request, wall-clock seconds: connecting, headers and body included "
                         "(default 10; up to five requests)")
    fm.add_argument("--json", action="store_true", help="print one JSON object")
    fm.add_argument("--into", metavar="SCENARIO.json",
                    help="also write these values into a scenario's market section (nothing is written when "
                         "the live answer fails its checks)")
    fm.add_argument("--output", metavar="OUT.json", help="with --into: write the result here instead")

    bt = sub.add_parser("backtest-network", help="replay realized BTC prices through the supply network model and "
                                                 "compare its difficulty with the realized one, month by month")
    bt.add_argument("--prices", metavar="PRICES.csv", default=None,
                    help="BTC closes, columns date,close, daily or monthly (default: the shipped history, "
                         "assets/history/bitcoin_daily.csv)")
    bt.add_argument("--difficulty", metavar="DIFFICULTY.csv", default=None,
                    help="realized difficulty, columns date,difficulty (monthly; optional column block_height at the "
                         "month's start) (default: assets/history/difficulty_monthly.csv)")
    bt.add_argument("--fees", metavar="FEES.csv", default=None,
                    help="fees per block, columns date,fees_btc_per_block (default: the shipped history when "
                         "--prices and --difficulty are not given; else fees stay at --fee-btc-per-block)")
    bt.add_argument("--fee-btc-per-block", type=_nonneg_float, default=0.1,
                    help="fees per block when no fee history is given (default 0.1)")
    bt.add_argument("--from", dest="from_month", required=True, type=_month_arg, metavar="YYYY-MM")
    bt.add_argument("--to", dest="to_month", required=True, type=_month_arg, metavar="YYYY-MM")
    bt.add_argument("--fit", metavar="FROM:TO", help="first fit the model's free parameters on this window "
                                                     "(least squares on log difficulty), then run the backtest")
    bt.add_argument("--shocks", metavar="SHOCKS.csv", default=None,
                    help="non-economic supply shocks (default: assets/history/supply_shocks.csv, China's 2021 ban)")
    bt.add_argument("--no-shocks", action="store_true", help="run without supply shocks")
    bt.add_argument("--scenario", default=None,
                    help="take the supply model's parameters from this scenario file (default: the shipped defaults)")
    bt.add_argument("--json", action="store_true")

    tp = sub.add_parser("template", help="write the fleet/site import template")
    tp.add_argument("--xlsx", metavar="OUT.xlsx", help="workbook with the sheets Fleet, Sites and Hourly prices")
    tp.add_argument("--csv-dir", metavar="DIR", help="also (or instead) write fleet.csv and sites.csv in DIR")
    return p


def _month_arg(text: str) -> str:
    from minerplan.scenario.months import parse_month

    try:
        parse_month(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM, got {text!r}") from None
    return text


def _cmd_backtest_network(args) -> int:
    from dataclasses import replace

    from minerplan.markets.network_backtest import (DIFFICULTY_CSV, FEES_CSV, PRICES_CSV, SHOCKS_CSV, calibrate, fit_windows,
                                   format_backtest, load_history, load_shocks, run_backtest)
    from minerplan.markets.network_supply import DEFAULT_SUPPLY

    shipped = args.prices is None and args.difficulty is None
    fees = args.fees if args.fees is not None else (FEES_CSV if shipped else None)
    history = load_history(args.prices or PRICES_CSV, args.difficulty or DIFFICULTY_CSV, fees)
    params = DEFAULT_SUPPLY
    if args.scenario:
        from minerplan.engine.evaluate import supply_params

        params = supply_params(_load(args.scenario))
    shocks = () if args.no_shocks else load_shocks(args.shocks or SHOCKS_CSV)
    params = replace(params, shocks=shocks)
    fitted = None
    if args.fit:
        a, _, b = args.fit.partition(":")
        a, b = _month_arg(a), _month_arg(b)
        params, rms = calibrate(history, fit_windows(a, b), params)
        from minerplan.markets.network_backtest import FITTED

        fitted = {"window": f"{a}:{b}", "rms_log_error": rms,
                  "parameters": {name: getattr(params, name) for name, _, _ in FITTED}}
    res = run_backtest(history, args.from_month, args.to_month, params, default_fee_btc_per_block=args.fee_btc_per_block)
    if args.json:
        doc = res.to_json()
        doc["shocks"] = [{"month": sh.month, "removed_pct": sh.removed_pct, "return_months": sh.return_months}
                         for sh in shocks]
        if fitted:
            doc["fit"] = fitted
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    if fitted:
        print(f"fitted on {fitted['window']} (rms log error {fitted['rms_log_error']:.3f}): "
              + ", ".join(f"{k} {v:.3g}" for k, v in fitted["parameters"].items()))
    print(format_backtest(res))
    if shocks:
        print("supply shocks: " + "; ".join(f"{sh.month} -{sh.removed_pct:g}% (back over {sh.return_months} months)"
                                            for sh in shocks))
    return 0


def _cmd_evaluate(args) -> int:
    from minerplan.engine.evaluate import run_engine
    from minerplan.analysis.report import format_summary, summary

    sc = _load(args.scenario)
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

        _warn(hedge_warnings(book), args.hedge)
    res = run_engine(sc, n_paths=args.paths, seed=args.seed, preset=args.preset)
    doc = summary(res, seed=args.seed, preset=args.preset)
    if book is not None:
        from minerplan.analysis.hedges import compare

        doc["hedge"] = compare(res, book)
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_text(format_summary(doc))
        if book is not None:
            _print_text(_format_hedge(doc["hedge"], res.n_paths))
    return 0


def _format_hedge(h: dict, n_paths: int) -> str:
    from minerplan.analysis.report import format_usd

    lines = ["", f"Hedges ({n_paths:,} price path{'s' if n_paths != 1 else ''}; hedge P&L taxed at "
                 f"{h['tax_rate'] * 100:.0f}%)"]
    for row in h["hedges"]:
        extra = f", premium {format_usd(row['premium_usd'])}" if "premium_usd" in row else ""
        lines.append(f"  #{row['index'] + 1} {row['kind']:<18} mean value after tax "
                     f"{format_usd(row['mean_pv_after_tax_usd'])}{extra}")
    lines.append(f"  {'':<22}{'unhedged':>14}{'hedged':>14}")
    for key, label in (("mean_usd", "NPV mean"), ("p5_usd", "NPV P5"), ("p50_usd", "NPV P50"),
                       ("p95_usd", "NPV P95"), ("cvar95_usd", "CVaR 95% (worst 5%)")):
        lines.append(f"  {label:<22}{format_usd(h['unhedged'][key]):>14}{format_usd(h['hedged'][key]):>14}")
    lines.append(f"  {'P(NPV < 0)':<22}{h['unhedged']['prob_npv_negative'] * 100:>13.1f}%"
                 f"{h['hedged']['prob_npv_negative'] * 100:>13.1f}%")
    if n_paths == 1:
        lines.append("  (on the entered price path: use --paths 1000 for a distribution)")
    return "\n".join(lines)


def _cmd_calibrate(args) -> int:
    from minerplan.markets.calibration import fit_price_model, load_price_history_csv

    if args.output and not args.into:
        print("minerplan: calibrate: --output needs --into", file=sys.stderr)
        return EXIT_BAD_INPUT
    if bool(args.history) == bool(args.fetch):
        print("minerplan: calibrate: give a PRICES.csv file or --fetch (one of them)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.fetch:
        from minerplan.markets.live.errors import MarketDataError
        from minerplan.markets.live.mempool import EP_PRICE_HISTORY, fetch_price_history

        try:
            series = fetch_price_history(args.api_url)
        except MarketDataError as e:
            print(f"minerplan: calibrate: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
        args.history = args.api_url.rstrip("/") + EP_PRICE_HISTORY
    else:
        series = load_price_history_csv(args.history)
    # Too few returns, constant prices or two closes in a month are bad input (exit 2), said in words.
    chosen = fit_price_model(series, args.model, str(args.history) if args.fetch else os.path.basename(args.history))
    returns, fit, model = chosen.returns, chosen.fit, chosen.model
    params = {"model": model, **fit.factor_kwargs()}
    doc = {"history": str(args.history), "observations": int(len(series)), "monthly_returns": int(len(returns)),
           "from": str(series.index[0].date()), "to": str(series.index[-1].date()),
           "log_likelihood": fit.log_likelihood, "aic": fit.aic, "monte_carlo": params,
           "model_reason": chosen.reason}
    if args.into:
        from minerplan.scenario.files import load_scenario, save_scenario, scenario_from_dict

        into, out = _import_target(args)
        sc = load_scenario(into)
        data = sc.model_dump(mode="json", exclude_none=True)
        data["monte_carlo"] = {**data.get("monte_carlo", {}), **params}
        new = scenario_from_dict(data, f"{into} with the fitted price model")
        with _writing(out):
            save_scenario(new, out)
            _warn_written(new, out)
        doc["written_to"] = str(out)
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print(f"{escape_control(str(args.history))}: {doc['observations']:,} closes from {doc['from']} to {doc['to']}, "
          f"{doc['monthly_returns']:,} monthly log returns")
    print(chosen.shown.describe())
    print(f"model kept: {model}" + (f" ({chosen.reason})" if args.model == "auto" else ""))
    if args.into:
        print(f"wrote monte_carlo model {model!r} with these parameters into {escape_control(str(doc['written_to']))}")
    return 0


def _cmd_sensitivity(args) -> int:
    from minerplan.scenario.months import add_months
    from minerplan.analysis.report import format_usd
    from minerplan.analysis.sensitivity import (NoRootError, breakeven_btc_price, conversion_breakeven_lease_rate,
                              curtailment_power_price, tornado)

    sc = _load(args.scenario)
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
    print(f"{escape_control(sc.name)}: NPV {format_usd(base)} (on the entered price path); each input moved "
          f"{args.swing_pct:g}% (rates by fixed points)")
    print(f"  {'input':<20}{'low':>12}{'high':>12}{'NPV low':>11}{'NPV high':>11}{'swing':>11}  unit")
    for r in doc["tornado"]:
        print(f"  {r['input']:<20}{r['low_value']:>12,.6g}{r['high_value']:>12,.6g}"
              f"{format_usd(r['npv_low_usd']):>11}{format_usd(r['npv_high_usd']):>11}{format_usd(r['swing_usd']):>11}"
              f"  {r['unit']}")
    if "breakevens" in doc:
        be = doc["breakevens"]
        print("\nBreakevens")
        v = be["btc_price_usd_for_npv_zero"]
        print(f"  BTC price for NPV 0 (first month, path scaled): "
              f"{format_usd(v) if v is not None else escape_control(be.get('btc_price_note', 'none'))}")
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


def _cmd_validate(args) -> int:

    sc = _load(args.scenario)
    mw = sum(s.capacity_mw for s in sc.sites)
    from minerplan.scenario.errors import escape_control

    print(f"OK: {escape_control(str(args.scenario))}: {escape_control(sc.name)!r}, {len(sc.sites)} sites ({mw:,.0f} MW), {len(sc.fleet)} cohorts, "
          f"{sc.horizon_months} months from {sc.start_month}")
    return 0


def _cmd_presets(args) -> int:
    from minerplan.markets.prices import PRESETS

    if args.json:
        json.dump([{"name": p.name, "description": p.description, "points": p.points, "source": p.source,
                    "hashrate_capitulation": p.hashrate_capitulation} for p in PRESETS.values()], sys.stdout)
        sys.stdout.write("\n")
    else:
        for p in PRESETS.values():
            pts = ", ".join(f"month {m}: ${usd:,.0f}" for m, usd in p.points)
            cap = "; with miner capitulation" if p.hashrate_capitulation else ""
            print(f"{p.name:<14}{p.description}\n{'':<14}points: {pts}{cap}; source: {p.source}")
    return 0


def _cmd_scenarios(args) -> int:
    if args.scenarios_command == "list":
        return _cmd_presets(args)
    from minerplan.engine.evaluate import run_engine
    from minerplan.markets.prices import PRESETS, with_preset_market
    from minerplan.analysis.report import format_usd

    p = PRESETS[args.name]
    sc = _load(args.scenario)
    res = run_engine(sc, preset=p.name)
    plain = run_engine(with_preset_market(sc, p.name))   # the same network model, the scenario's own prices
    n = min(args.months, sc.horizon_months)
    net = res.network
    rows = [{"month": res.months[m], "btc_price_usd": float(res.btc_price_usd[0, m]),
             "network_hashrate_ehs": float(net.network_hashrate_ehs[0, m]),
             "difficulty": float(net.difficulty[0, m]),
             "hashprice_usd_per_ph_day": float(res.hashprice_usd_per_th_day[0, m] * 1000.0)} for m in range(n)]
    doc = {"name": p.name, "description": p.description, "source": p.source, "points": p.points,
           "hashrate_capitulation": p.hashrate_capitulation, "scenario": sc.name,
           "npv_usd": float(res.npv_usd[0]), "npv_usd_scenario_path": float(plain.npv_usd[0]), "months": rows}
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print(f"{p.name}: {p.description}")
    print(f"  source: {p.source}")
    print(f"  miner capitulation: {'yes (hashrate answers hashprice)' if p.hashrate_capitulation else 'no (trend hashrate)'}")
    print(f"\nApplied to {escape_control(sc.name)} (on the entered price path)")
    print(f"  {'month':<9}{'BTC USD':>10}{'EH/s':>9}{'difficulty T':>14}{'USD/PH/day':>12}")
    for r in rows:
        print(f"  {r['month']:<9}{r['btc_price_usd']:>10,.0f}{r['network_hashrate_ehs']:>9,.0f}"
              f"{r['difficulty'] / 1e12:>14,.1f}{r['hashprice_usd_per_ph_day']:>12,.2f}")
    print(f"  NPV {format_usd(doc['npv_usd'])} (the scenario's own price path on the same network model: "
          f"{format_usd(doc['npv_usd_scenario_path'])})")
    return 0


def _cmd_optimize(args) -> int:
    """Exit 0 with a plan (a time-limited or gapped one is labelled in the text and JSON), 3 without a
    plan to use: infeasible, no plan within the time limit, or the engine check failed (``status``
    ``check_failed``: the engine's value of the plan differs from the optimizer's by more than 1e-6
    of its total cash flow; see ``solvers.optimize.check_plan``)."""
    sc = _load(args.scenario)
    from solvers.optimize import optimize  # lazy: only this subcommand loads Pyomo and HiGHS
    from solvers.report import format_result, result_to_json
    from solvers.settings import OptimizerSettings

    from solvers.settings import load_fixed_decisions

    fixed = load_fixed_decisions(args.fix) if args.fix else ()
    extra = {"purchase_models": tuple(args.purchase_model)} if args.purchase_model else {}
    st = OptimizerSettings(n_paths=args.paths, seed=args.seed, preset=args.preset, risk_aversion=args.risk_aversion,
                           cvar_level=args.cvar_level, time_limit_s=args.time_limit, mip_gap=args.mip_gap,
                           hall_critical_mw=args.hall_mw or None, capex_budget_usd_per_year=args.budget_usd_per_year,
                           max_conversion_mw_per_month=args.max_conversion_mw_per_month,
                           allow_purchases=not args.no_purchases, allow_retirements=not args.no_retirements,
                           starting_cash_usd=args.starting_cash_usd, min_cash_usd=args.min_cash_usd,
                           credit_line_usd=args.credit_line_usd, credit_line_rate_pct=args.credit_line_rate_pct,
                           cash_floor=not args.no_cash_floor, allow_moves=not args.no_moves,
                           move_cost_usd_per_unit=args.move_cost_usd_per_unit,
                           move_downtime_months=args.move_downtime_months, fixed=fixed, **extra)
    def show_progress(frac, text):
        print(f"\r{frac * 100:5.1f}%  {text[:60]:<60}", end="", file=sys.stderr, flush=True)

    progress = show_progress if (not args.json and sys.stderr.isatty()) else None
    res = optimize(sc, st, progress=progress, write_model=args.write_model)
    if progress is not None:
        print("", file=sys.stderr)
    doc = result_to_json(res)   # optimize() has checked the plan with the engine (res.check)
    from solvers.baseline import compare

    baseline = compare(sc, res, st)   # doing nothing, on the same paths
    doc.update(baseline.to_json())
    confidence = None
    if res.ok and (args.replications or args.oos_paths):
        from solvers.confidence import assess_plan, describe

        confidence = assess_plan(sc, res, st, out_of_sample_paths=args.oos_paths, replications=args.replications,
                                 progress=progress)
        if progress is not None:
            print("", file=sys.stderr)
        doc.update(confidence.to_json())
        doc["confidence"] = describe(confidence, res)
    if args.frontier and res.ok:
        from solvers.optimize import efficient_frontier

        fr = efficient_frontier(sc, st)
        doc["frontier"] = [{"risk_aversion": float(r.risk_aversion), "status": r.status,
                            "expected_npv_usd": r.expected_npv_usd, "cvar_usd": r.cvar_usd}
                           for r in fr.itertuples()]
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_text(format_result(doc))
        if res.ok:
            inc = baseline.incremental_expected_npv_usd
            _print_text(f"\nAgainst doing nothing (the scenario as entered, on the same {st.n_paths:,} paths): "
                        f"status quo expected NPV ${baseline.expected_npv_usd / 1e6:,.1f}M; the plan adds "
                        f"{'-' if inc < 0 else '+'}${abs(inc) / 1e6:,.1f}M"
                        + ("  WARNING: the plan is worse than doing nothing by more than its MIP gap"
                           if baseline.worse_than_status_quo else ""))
        if confidence is not None:
            _print_text("\nConfidence\n" + "\n".join(f"  - {line}" for line in doc["confidence"]))
    return 0 if res.ok else 3


def _load(path):
    """Load a scenario (bad input raises ScenarioError) and print its plausibility warnings to stderr."""
    from minerplan.scenario.plausibility import scenario_warnings
    from minerplan.scenario.files import load_scenario

    sc = load_scenario(path)
    _warn(scenario_warnings(sc), path)
    return sc


def _warn_written(sc, path) -> None:
    """The plausibility warnings of a scenario this command has just written (an import, a fit,
    live market data): the values came from another file, so say what looks wrong in them."""
    from minerplan.scenario.plausibility import scenario_warnings

    _warn(scenario_warnings(sc), path)


def _warn(problems, source) -> None:
    for p in problems:
        print(f"minerplan: warning: {escape_control(str(source))}: {p}", file=sys.stderr)


def _print_text(text: str) -> None:
    """Print a report line by line with non-printable characters escaped: names come from
    input files, and an ANSI or OSC escape in one must not retitle or clear the terminal."""
    print("\n".join(escape_control(line) for line in text.split("\n")))


def _safe_str(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # noqa: BLE001 - e.g. an int too long to print
        return "(message cannot be shown)"


def _cmd_gui(args) -> int:
    from ui.app import main as gui_main  # lazy: only the app loads Qt

    return gui_main([args.scenario])


def _cmd_export(args) -> int:
    from minerplan.sheets.xlsx_export import export_workbook, plan_decisions

    if not str(args.xlsx).lower().endswith(".xlsx"):
        print("minerplan: export: --xlsx needs a file name ending in .xlsx", file=sys.stderr)
        return EXIT_BAD_INPUT
    sc = _load(args.scenario)
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
        plan = plan_decisions(sc, res.plan_scenario, note=note)
        sc = res.plan_scenario

    def show_progress(frac, text):
        print(f"\r{frac * 100:5.1f}%  {text[:60]:<60}", end="", file=sys.stderr, flush=True)

    progress = show_progress if sys.stderr.isatty() else None
    from minerplan.sheets.xlsx_book import WorkbookTooLarge

    try:
        with _writing(args.xlsx):
            rep = export_workbook(sc, args.xlsx, plan=plan, n_paths=args.paths if args.paths > 1 else 0,
                                  seed=args.seed, progress=progress)
    except WorkbookTooLarge as e:
        print(f"minerplan: export: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if progress is not None:
        print("", file=sys.stderr)
    extra = f", {len(plan.conversions) + len(plan.retirements) + len(plan.purchases)} plan decisions" if plan else ""
    print(f"wrote {escape_control(str(rep.path))}: {len(rep.sheets)} sheets{extra}, NPV {rep.npv_usd:,.0f} USD "
          f"(on the entered price path), {rep.seconds:.2f} s")
    return 0


def _cmd_fetch_market(args) -> int:
    from minerplan.markets.live.errors import MarketDataError
    from minerplan.markets.live.snapshot import format_snapshot
    from minerplan.markets.live.update import run_fetch_market, update_market

    if args.into is None:
        return run_fetch_market(args.api_url, args.cache, args.timeout, args.json)
    from minerplan.scenario.files import load_scenario, save_scenario, scenario_from_dict

    into, out = _import_target(args)
    sc = load_scenario(into)   # a bad scenario is reported before any network traffic
    try:
        # a live answer refused by the checks is an error here, not a fallback: nothing is written
        snap, warnings = update_market(args.api_url, args.cache, args.timeout, on_refused="raise")
    except MarketDataError as e:
        print(f"minerplan: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for w in warnings:
        print(f"minerplan: warning: {w}", file=sys.stderr)
    data = sc.model_dump(mode="json", exclude_none=True)
    data["market"] = snap.apply_to_market(data["market"])
    new = scenario_from_dict(data, f"{into} with market data")
    with _writing(out):
        save_scenario(new, out)
        _warn_written(new, out)
    if args.json:
        json.dump({**snap.to_dict(), "warnings": list(warnings), "written_to": str(out)}, sys.stdout,
                  allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_snapshot(snap))
        print(f"wrote these market values into {escape_control(str(out))}")
    return 0


def _import_target(args) -> tuple[str, str]:
    """(scenario to read, file to write); the shipped default is never overwritten."""
    from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, resolve_scenario_path

    out = args.output or args.into
    target = resolve_scenario_path(out)
    if str(out) == "default" or (target.exists() and target.resolve() == DEFAULT_SCENARIO_PATH.resolve()):
        from minerplan.scenario.errors import Problem, ScenarioFileError

        raise ScenarioFileError([Problem("", "the shipped default scenario is not overwritten; "
                                             "give --output OUT.json")], str(out))
    return args.into, out


def _cmd_import(args) -> int:
    from pathlib import Path

    from minerplan.scenario.files import load_scenario, save_scenario
    from minerplan.sheets.table_import import import_fleet_into, import_sites_into, read_fleet, read_sites

    into, out = _import_target(args)
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
    with _writing(out):
        save_scenario(new, out)
        _warn_written(new, out)
    based = f" (based on {escape_control(str(into))})" if str(into) != str(out) else ""
    print(f"imported {what} from {escape_control(Path(args.file).name)} into {escape_control(str(out))}{based}")
    for note in notes:
        print(f"  note: {escape_control(note)}")
    return 0


@contextlib.contextmanager
def _writing(path):
    """A file system refusal while writing ``path`` is bad input (exit 2), not an internal error."""
    try:
        yield
    except OSError as e:
        from minerplan.scenario.errors import Problem, ScenarioFileError

        raise ScenarioFileError([Problem("", f"cannot write: {e.strerror or type(e).__name__}")], str(path)) \
            from None


def _cmd_template(args) -> int:
    from minerplan.scenario.files import load_scenario, resolve_scenario_path
    from minerplan.sheets.table_import import write_csv_templates, write_template

    if not args.xlsx and not args.csv_dir:
        print("minerplan: template: give --xlsx OUT.xlsx and/or --csv-dir DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.xlsx and not str(args.xlsx).lower().endswith(".xlsx"):
        print("minerplan: template: --xlsx needs a file name ending in .xlsx", file=sys.stderr)
        return EXIT_BAD_INPUT
    sc = load_scenario(resolve_scenario_path("default"))
    written = []
    if args.xlsx:
        with _writing(args.xlsx):
            write_template(args.xlsx, sc)
        written.append(str(args.xlsx))
    if args.csv_dir:
        with _writing(args.csv_dir):
            if not os.path.isdir(args.csv_dir):
                raise NotADirectoryError(20, "not a directory")
            written += [str(p) for p in write_csv_templates(args.csv_dir, sc)]
    print("wrote import template " + ", ".join(escape_control(w) for w in written))
    return 0


COMMANDS = {"gui": _cmd_gui, "evaluate": _cmd_evaluate, "validate": _cmd_validate, "presets": _cmd_presets, "optimize": _cmd_optimize,
            "export": _cmd_export, "sensitivity": _cmd_sensitivity, "calibrate": _cmd_calibrate, "scenarios": _cmd_scenarios, "fetch-market": _cmd_fetch_market, "import-fleet": _cmd_import, "import-sites": _cmd_import, "template": _cmd_template,
            "backtest-network": _cmd_backtest_network}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.command, args.scenario = "gui", "default"
    try:
        from minerplan.scenario.file_io import clean_pending_writes

        clean_pending_writes()   # temp files of writes a killed MinerPlan left behind
        return COMMANDS[args.command](args)
    except ScenarioError as e:
        # describe() escapes control characters in paths, values and names from the file,
        # so its only newlines are the ones between problems.
        print(f"minerplan: {e.describe()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. `minerplan evaluate default | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("minerplan: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - last resort: a clear line, the traceback only on request
        if os.environ.get("MINERPLAN_DEBUG"):
            raise
        print(f"minerplan: internal error: {type(e).__name__}: {escape_control(_safe_str(e))} "
              "(set MINERPLAN_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def entry() -> int:
    """The ``minerplan`` console command: :func:`main`, then exit without waiting for a HiGHS run
    that was stopped at its time limit or by Ctrl-C and is still finishing on its native thread
    (it holds nothing anyone needs, and the interpreter cannot safely shut down under it)."""
    code = main()
    solvers = sys.modules.get("solvers.highs_backend")
    if solvers is not None and solvers.solver_threads_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
