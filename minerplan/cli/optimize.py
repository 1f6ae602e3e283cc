"""The ``optimize`` subcommand: a plan from the optimizer, checked by the engine, against doing nothing.

Pyomo and HiGHS (the ``solvers`` package) are imported inside :func:`run_optimize` only, so
every other subcommand starts without them. Exit 0 with a plan, 3 without one to use.
"""

from __future__ import annotations

import json
import sys

from minerplan.cli.arguments import fraction, fraction0, int_in, nonneg_float, nonneg_int, positive_float, \
    positive_int, seed_number
from minerplan.cli.console import load_with_warnings, print_text


def add_optimize(sub) -> None:
    """The ``optimize`` subcommand's arguments."""
    from minerplan.markets.prices import preset_names

    op = sub.add_parser("optimize", help="recommend how to split power and capex between mining and AI/HPC")
    op.add_argument("scenario", help="scenario JSON file, or 'default'")
    op.add_argument("--paths", type=positive_int, default=100, help="price paths shared by the plan (default 100)")
    op.add_argument("--seed", type=seed_number, default=0)
    op.add_argument("--preset", choices=preset_names())
    op.add_argument("--risk-aversion", type=nonneg_float, default=0.0,
                    help="weight on CVaR of the NPV loss (0 = risk-neutral)")
    op.add_argument("--cvar-level", type=fraction, default=0.95, help="CVaR tail level (default 0.95)")
    op.add_argument("--time-limit", type=positive_float, default=60.0, help="seconds (default 60)")
    op.add_argument("--mip-gap", type=fraction0, default=0.005, help="relative MIP gap (default 0.005)")
    op.add_argument("--hall-mw", type=nonneg_float, default=10.0,
                    help="convert in whole halls of this many critical MW (default 10; 0 = any MW, an LP)")
    op.add_argument("--budget-usd-per-year", type=nonneg_float, default=None, help="capex cap per calendar year")
    op.add_argument("--max-conversion-mw-per-month", type=nonneg_float, default=None,
                    help="gross MW that may start conversion in one month (crews)")
    op.add_argument("--starting-cash-usd", type=nonneg_float, default=None,
                    help="cash on hand at the start (default: the scenario's finance.starting_cash_usd)")
    op.add_argument("--min-cash-usd", type=float, default=None,
                    help="cash floor on expected cash and on the P10 price path (default: the scenario's "
                         "finance.min_cash_usd, 0, when it states its starting cash; else none)")
    op.add_argument("--no-cash-floor", action="store_true", help="no liquidity constraint, whatever the scenario says")
    op.add_argument("--credit-line-usd", type=nonneg_float, default=None,
                    help="revolving credit line limit (default: the scenario's finance.credit_line_usd)")
    op.add_argument("--credit-line-rate-pct", type=nonneg_float, default=None,
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
    op.add_argument("--move-cost-usd-per-unit", type=nonneg_float, default=150.0,
                    help="cost of moving one machine to another site (packing, freight, re-racking; default 150)")
    op.add_argument("--move-downtime-months", type=nonneg_int, default=1,
                    help="months a moved machine is offline in transit (default 1)")
    op.add_argument("--replications", type=int_in(0, 100), default=10,
                    help="independent re-solves on fresh paths for the sampling gap and the decisions' "
                         "stability (default 10; 0 = skip)")
    op.add_argument("--oos-paths", type=int_in(0, 1_000_000), default=10_000,
                    help="fresh price paths the plan is evaluated on by the engine (default 10,000; 0 = skip)")
    op.add_argument("--json", action="store_true")
    op.add_argument("--write-model", metavar="FILE", help="write the model passed to HiGHS (.mps or .lp)")


def run_optimize(args) -> int:
    """Exit 0 with a plan (a time-limited or gapped one is labelled in the text and JSON), 3 without a
    plan to use: infeasible, no plan within the time limit, or the engine check failed (``status``
    ``check_failed``: the engine's value of the plan differs from the optimizer's by more than 1e-6
    of its total cash flow; see ``solvers.optimize.check_plan``)."""
    sc = load_with_warnings(args.scenario)
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
        from solvers.frontier import efficient_frontier

        fr = efficient_frontier(sc, st)
        doc["frontier"] = [{"risk_aversion": float(r.risk_aversion), "status": r.status,
                            "expected_npv_usd": r.expected_npv_usd, "cvar_usd": r.cvar_usd}
                           for r in fr.itertuples()]
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print_text(format_result(doc))
        if res.ok:
            inc = baseline.incremental_expected_npv_usd
            from minerplan.analysis.vocabulary import expected_npv

            print_text(f"\nAgainst doing nothing (the scenario as entered, on the same {st.n_paths:,} paths): "
                        f"status quo {expected_npv(st.n_paths)} ${baseline.expected_npv_usd / 1e6:,.1f}M; the plan adds "
                        f"{'-' if inc < 0 else '+'}${abs(inc) / 1e6:,.1f}M"
                        + ("  WARNING: the plan is worse than doing nothing by more than its MIP gap"
                           if baseline.worse_than_status_quo else ""))
        if confidence is not None:
            print_text("\nConfidence\n" + "\n".join(f"  - {line}" for line in doc["confidence"]))
    return 0 if res.ok else 3
