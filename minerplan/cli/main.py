"""The ``minerplan`` command: the argument parser, dispatch to a subcommand, exit status.

Each group of subcommands lives in its own module (:mod:`~minerplan.cli.evaluate`,
:mod:`~minerplan.cli.market`, :mod:`~minerplan.cli.optimize`, :mod:`~minerplan.cli.stress`,
:mod:`~minerplan.cli.sheets`, :mod:`~minerplan.cli.report`) with its arguments and handlers.
Subcommands that need Pyomo or Qt import them lazily inside their handler, so ``minerplan evaluate`` and
``minerplan validate`` load neither.
Exit status: 0 success, 2 bad input (message names the field), 1 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from minerplan.cli import evaluate, market, optimize, report, sheets, stress
from minerplan.cli.arguments import Parser
from minerplan.cli.console import EXIT_BAD_INPUT
from minerplan.scenario.errors import ScenarioError, escape_control


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="minerplan", description="MinerPlan: plan a bitcoin miner's fleet, power and AI/HPC capital.")
    p.add_argument("--version", action="version", version=f"minerplan {__import__('minerplan').__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    evaluate.add_evaluate(sub)
    market.add_calibrate(sub)
    evaluate.add_sensitivity(sub)
    evaluate.add_validate(sub)
    optimize.add_optimize(sub)
    report.add_report(sub)
    gui = sub.add_parser("gui", help="open the desktop app (the default with no subcommand)")
    gui.add_argument("scenario", nargs="?", default="default", help="scenario JSON file, or 'default'")
    stress.add_presets(sub)
    stress.add_scenarios(sub)
    sheets.add_imports(sub)
    sheets.add_export(sub)
    market.add_fetch_market(sub)
    market.add_backtest_network(sub)
    sheets.add_template(sub)
    return p


def _safe_str(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # noqa: BLE001 - e.g. an int too long to print
        return "(message cannot be shown)"


def run_gui(args) -> int:
    from ui.app import main as gui_main  # lazy: only the app loads Qt

    return gui_main([args.scenario])


COMMANDS = {"gui": run_gui, "evaluate": evaluate.run_evaluate, "validate": evaluate.run_validate,
            "presets": stress.run_presets, "optimize": optimize.run_optimize, "export": sheets.run_export,
            "sensitivity": evaluate.run_sensitivity, "calibrate": market.run_calibrate,
            "scenarios": stress.run_scenarios, "fetch-market": market.run_fetch_market_command,
            "import-fleet": sheets.run_import, "import-sites": sheets.run_import, "template": sheets.run_template,
            "backtest-network": market.run_backtest_network, "report": report.run_report}


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
