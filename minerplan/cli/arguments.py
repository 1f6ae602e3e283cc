"""The command line's argument parser and the types of its arguments (counts, seeds, rates, months).

Every type refuses a bad value with a sentence (``must be > 0, got -1``); :class:`Parser`
turns argparse's usage errors into exit status 2 (bad input) without a traceback.
"""

from __future__ import annotations

import argparse
import sys

from minerplan.cli.console import EXIT_BAD_INPUT


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, keep that but without a traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def int_in(lo: int, hi: int):
    """An argparse type: a whole number in [lo, hi]."""
    def parse(text: str) -> int:
        v = whole_number(text)
        if v < lo or v > hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:,} and {hi:,}, got {v}")
        return v
    return parse


positive_int = int_in(1, 1_000_000)
nonneg_int = int_in(0, 100_000)


def seed_number(text: str) -> int:
    v = whole_number(text)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def float_in(lo: float, hi: float, lo_open: bool, hi_open: bool, what: str):
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


nonneg_float = float_in(0.0, float("inf"), False, True, ">= 0")
positive_float = float_in(0.0, float("inf"), True, True, "> 0")
fraction = float_in(0.0, 1.0, True, True, "between 0 and 1 (exclusive)")
fraction0 = float_in(0.0, 1.0, False, True, "in [0, 1)")


def pdf_path(text: str) -> str:
    """A file name ending in .pdf (any case), e.g. ``report --pdf pack.pdf``."""
    if len(text) <= 4 or not text.lower().endswith(".pdf"):
        raise argparse.ArgumentTypeError(f"expected a file name ending in .pdf, got {text!r}")
    return text


def month_arg(text: str) -> str:
    from minerplan.scenario.months import parse_month

    try:
        parse_month(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM, got {text!r}") from None
    return text
