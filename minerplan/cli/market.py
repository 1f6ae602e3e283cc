"""Subcommands about the market: ``calibrate`` (price model from history), ``fetch-market``, ``backtest-network``.

Each may write into a scenario (``--into``, or ``--output`` beside it); the shipped default
scenario is never overwritten.
"""

from __future__ import annotations

import json
import os
import sys

from minerplan.cli.arguments import month_arg, nonneg_float, positive_float
from minerplan.cli.console import EXIT_BAD_INPUT, import_target, load_with_warnings, warn_written, writing
from minerplan.scenario.errors import escape_control


def add_calibrate(sub) -> None:
    """The ``calibrate`` subcommand's arguments."""
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


def add_fetch_market(sub) -> None:
    """The ``fetch-market`` subcommand's arguments."""
    fm = sub.add_parser("fetch-market", help="current BTC price, difficulty, hashrate, height and fees from "
                                             "mempool.space (cached; falls back to the cache or a shipped snapshot)")
    fm.add_argument("--api-url", default="https://mempool.space", metavar="URL",
                    help="API base URL (default https://mempool.space)")
    fm.add_argument("--cache", metavar="FILE", help="cache file (default: ~/.cache/minerplan/market.json)")
    fm.add_argument("--timeout", type=positive_float, default=10.0,
                    help="deadline for each request, wall-clock seconds: connecting, headers and body included "
                         "(default 10; up to five requests)")
    fm.add_argument("--json", action="store_true", help="print one JSON object")
    fm.add_argument("--into", metavar="SCENARIO.json",
                    help="also write these values into a scenario's market section (nothing is written when "
                         "the live answer fails its checks)")
    fm.add_argument("--output", metavar="OUT.json", help="with --into: write the result here instead")


def add_backtest_network(sub) -> None:
    """The ``backtest-network`` subcommand's arguments."""
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
    bt.add_argument("--fee-btc-per-block", type=nonneg_float, default=0.1,
                    help="fees per block when no fee history is given (default 0.1)")
    bt.add_argument("--from", dest="from_month", required=True, type=month_arg, metavar="YYYY-MM")
    bt.add_argument("--to", dest="to_month", required=True, type=month_arg, metavar="YYYY-MM")
    bt.add_argument("--fit", metavar="FROM:TO", help="first fit the model's free parameters on this window "
                                                     "(least squares on log difficulty), then run the backtest")
    bt.add_argument("--shocks", metavar="SHOCKS.csv", default=None,
                    help="non-economic supply shocks (default: assets/history/supply_shocks.csv, China's 2021 ban)")
    bt.add_argument("--no-shocks", action="store_true", help="run without supply shocks")
    bt.add_argument("--scenario", default=None,
                    help="take the supply model's parameters from this scenario file (default: the shipped defaults)")
    bt.add_argument("--json", action="store_true")


def run_calibrate(args) -> int:
    from minerplan.markets.calibration.history_csv import load_price_history_csv
    from minerplan.markets.calibration.price_model import fit_price_model

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

        into, out = import_target(args)
        sc = load_scenario(into)
        data = sc.model_dump(mode="json", exclude_none=True)
        data["monte_carlo"] = {**data.get("monte_carlo", {}), **params}
        new = scenario_from_dict(data, f"{into} with the fitted price model")
        with writing(out):
            save_scenario(new, out)
            warn_written(new, out)
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


def run_fetch_market_command(args) -> int:
    from minerplan.markets.live.errors import MarketDataError
    from minerplan.markets.live.snapshot import format_snapshot
    from minerplan.markets.live.update import run_fetch_market, update_market

    if args.into is None:
        return run_fetch_market(args.api_url, args.cache, args.timeout, args.json)
    from minerplan.scenario.files import load_scenario, save_scenario, scenario_from_dict

    into, out = import_target(args)
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
    with writing(out):
        save_scenario(new, out)
        warn_written(new, out)
    if args.json:
        json.dump({**snap.to_dict(), "warnings": list(warnings), "written_to": str(out)}, sys.stdout,
                  allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_snapshot(snap))
        print(f"wrote these market values into {escape_control(str(out))}")
    return 0


def run_backtest_network(args) -> int:
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

        params = supply_params(load_with_warnings(args.scenario))
    shocks = () if args.no_shocks else load_shocks(args.shocks or SHOCKS_CSV)
    params = replace(params, shocks=shocks)
    fitted = None
    if args.fit:
        a, _, b = args.fit.partition(":")
        a, b = month_arg(a), month_arg(b)
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
