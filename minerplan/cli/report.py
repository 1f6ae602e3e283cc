"""The ``report`` subcommand: a PDF board pack of one scenario (``minerplan report SCENARIO --pdf OUT.pdf``).

The pack's content is :mod:`minerplan.analysis.board_pack` (the same figures as ``evaluate``, the app
and, with ``--optimize``, ``minerplan optimize``); Qt draws it (``ui.board_pack``), imported inside
:func:`run_report` only, with ``QT_QPA_PLATFORM=offscreen`` when the environment names no platform
(the command shows no window and needs no display). The file is written atomically: a failed or
interrupted run leaves no partial PDF. Exit 0 when written, 2 for bad input (arguments, scenario,
an unwritable path).
"""

from __future__ import annotations

import os
import sys

from minerplan.cli.arguments import int_in, pdf_path, seed_number
from minerplan.cli.console import load_with_warnings, print_text, writing

#: Monte Carlo paths of a pack: at least 2 (its P5/P95), at most what the app's Monte Carlo allows.
MIN_PATHS, MAX_PATHS = 2, 100_000


def add_report(sub) -> None:
    """The ``report`` subcommand's arguments."""
    rp = sub.add_parser("report", help="write a PDF board pack: recommendation, KPIs, charts, stress scenarios, "
                                       "assumptions and sources, method")
    rp.add_argument("scenario", help="scenario JSON file, or 'default'")
    rp.add_argument("--pdf", required=True, type=pdf_path, metavar="OUT.pdf", help="the PDF to write")
    rp.add_argument("--optimize", action="store_true",
                    help="recommend the optimizer's plan (its value, confidence and frontier; slower)")
    rp.add_argument("--paths", type=int_in(MIN_PATHS, MAX_PATHS), default=500,
                    help="Monte Carlo price paths for the expected, median and P5/P95 figures (default 500)")
    rp.add_argument("--seed", type=seed_number, default=0, help="random seed of the paths (default 0)")


def check_target(path: str) -> None:
    """Refuse at once (before minutes of work) a PDF path whose folder is missing or that is a folder."""
    from pathlib import Path

    from minerplan.scenario.errors import Problem, ScenarioFileError

    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    reason = ("is a folder, not a file" if out.is_dir() else
              None if folder.is_dir() else f"its folder {folder} does not exist")
    if reason:
        raise ScenarioFileError([Problem("", f"cannot write the PDF: {reason}")], str(out))


def run_report(args) -> int:
    check_target(args.pdf)
    sc = load_with_warnings(args.scenario)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")    # before Qt starts: no window, no display needed
    from ui.board_pack import ensure_application, make_board_pack   # lazy: only this subcommand loads Qt

    ensure_application()

    def show_progress(frac: float, text: str = "") -> None:
        print(f"\r{frac * 100:5.1f}%  {text[:60]:<60}", end="", file=sys.stderr, flush=True)

    progress = show_progress if sys.stderr.isatty() else None
    with writing(args.pdf):
        pack = make_board_pack(sc, args.pdf, paths=args.paths, seed=args.seed, optimize=args.optimize,
                               progress=progress)
    if progress is not None:
        print("", file=sys.stderr)
    print_text(f"Wrote {args.pdf}\n{pack.recommendation.headline}")
    return 0
