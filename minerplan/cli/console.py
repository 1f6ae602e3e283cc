"""What every subcommand reads and prints: scenarios with their warnings, escaped text, write errors.

Names and values come from input files, so text reaches the terminal through
:func:`print_text` (control characters escaped). A bad input is exit status
:data:`EXIT_BAD_INPUT` (2) with a message naming the field; a refusal of the file
system while writing is bad input too (:func:`writing`), not an internal error.
"""

from __future__ import annotations

import contextlib
import sys

from minerplan.scenario.errors import escape_control

EXIT_BAD_INPUT = 2


def load_with_warnings(path):
    """Load a scenario (bad input raises ScenarioError) and print its plausibility warnings to stderr."""
    from minerplan.scenario.plausibility import scenario_warnings
    from minerplan.scenario.files import load_scenario

    sc = load_scenario(path)
    warn(scenario_warnings(sc), path)
    return sc


def warn_written(sc, path) -> None:
    """The plausibility warnings of a scenario this command has just written (an import, a fit,
    live market data): the values came from another file, so say what looks wrong in them."""
    from minerplan.scenario.plausibility import scenario_warnings

    warn(scenario_warnings(sc), path)


def warn(problems, source) -> None:
    for p in problems:
        print(f"minerplan: warning: {escape_control(str(source))}: {p}", file=sys.stderr)


def print_text(text: str) -> None:
    """Print a report line by line with non-printable characters escaped: names come from
    input files, and an ANSI or OSC escape in one must not retitle or clear the terminal."""
    print("\n".join(escape_control(line) for line in text.split("\n")))


@contextlib.contextmanager
def writing(path):
    """A file system refusal while writing ``path`` is bad input (exit 2), not an internal error."""
    try:
        yield
    except OSError as e:
        from minerplan.scenario.errors import Problem, ScenarioFileError

        raise ScenarioFileError([Problem("", f"cannot write: {e.strerror or type(e).__name__}")], str(path)) \
            from None


def import_target(args) -> tuple[str, str]:
    """(scenario to read, file to write); the shipped default is never overwritten."""
    from minerplan.scenario.files import DEFAULT_SCENARIO_PATH, resolve_scenario_path

    out = args.output or args.into
    target = resolve_scenario_path(out)
    if str(out) == "default" or (target.exists() and target.resolve() == DEFAULT_SCENARIO_PATH.resolve()):
        from minerplan.scenario.errors import Problem, ScenarioFileError

        raise ScenarioFileError([Problem("", "the shipped default scenario is not overwritten; "
                                             "give --output OUT.json")], str(out))
    return args.into, out
