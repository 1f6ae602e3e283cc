"""The ``minerplan`` command.

Subcommands that need Pyomo or Qt import them lazily inside their handler, so
``minerplan evaluate`` and ``minerplan validate`` load neither.
Exit status: 0 success, 2 bad input (message names the field), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from .errors import ScenarioError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, keep that but without a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1 or v > 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1,000,000, got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def build_parser() -> argparse.ArgumentParser:
    from .prices import preset_names

    p = _Parser(prog="minerplan", description="MinerPlan: plan a bitcoin miner's fleet, power and AI/HPC capital.")
    p.add_argument("--version", action="version", version=f"minerplan {__import__('minerplan').__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    ev = sub.add_parser("evaluate", help="evaluate a scenario and print the summary")
    ev.add_argument("scenario", help="scenario JSON file, or 'default' for the shipped one")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ev.add_argument("--paths", type=_positive_int, default=1, help="Monte Carlo price paths (default 1: deterministic)")
    ev.add_argument("--seed", type=_seed, default=0, help="random seed for --paths > 1 (default 0)")
    ev.add_argument("--preset", choices=preset_names(), help="late-2025 price story replacing the scenario's path")

    va = sub.add_parser("validate", help="check a scenario file without evaluating it")
    va.add_argument("scenario", help="scenario JSON file, or 'default'")

    pr = sub.add_parser("presets", help="list the named price presets")
    pr.add_argument("--json", action="store_true")
    return p


def _cmd_evaluate(args) -> int:
    from .engine import run_engine
    from .report import format_summary, summary
    from .scenario_io import load_scenario

    sc = load_scenario(args.scenario)
    res = run_engine(sc, n_paths=args.paths, seed=args.seed, preset=args.preset)
    doc = summary(res, seed=args.seed, preset=args.preset)
    if args.json:
        json.dump(doc, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_summary(doc))
    return 0


def _cmd_validate(args) -> int:
    from .scenario_io import load_scenario

    sc = load_scenario(args.scenario)
    mw = sum(s.capacity_mw for s in sc.sites)
    print(f"OK: {args.scenario}: '{sc.name}', {len(sc.sites)} sites ({mw:,.0f} MW), {len(sc.fleet)} cohorts, "
          f"{sc.horizon_months} months from {sc.start_month}")
    return 0


def _cmd_presets(args) -> int:
    from .prices import PRESETS

    if args.json:
        json.dump([{"name": p.name, "description": p.description, "points": p.points, "source": p.source}
                   for p in PRESETS.values()], sys.stdout)
        sys.stdout.write("\n")
    else:
        for p in PRESETS.values():
            pts = ", ".join(f"month {m}: ${usd:,.0f}" for m, usd in p.points)
            print(f"{p.name:<14}{p.description}\n{'':<14}points: {pts}; source: {p.source}")
    return 0


COMMANDS = {"evaluate": _cmd_evaluate, "validate": _cmd_validate, "presets": _cmd_presets}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as e:
        print(f"minerplan: {e}", file=sys.stderr)
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
        print(f"minerplan: internal error: {type(e).__name__}: {e} (set MINERPLAN_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
