"""The one labelled vocabulary of value figures: which NPV a number is, in the same words everywhere.

The app's tabs, the CLI, the workbook's Summary and the reports show several NPVs: the NPV of the one
price path the user entered, and statistics of a Monte Carlo fan (its mean, median and percentiles).
They differ by tens of millions of USD on the shipped scenario, so a figure is never called just "NPV":
it carries one of these labels. Import them; do not retype them. No Qt, no numpy.

- :data:`NPV_ON_PATH`: "NPV on the entered price path" (one deterministic path: the scenario's, or a preset's).
- :func:`expected_npv`: "expected NPV (mean of N paths)".
- :func:`median_npv`: "median NPV (of N paths)".
- :func:`p5_npv`, :func:`p95_npv`: "P5 NPV (of N paths)", "P95 NPV (of N paths)": 5th and 95th percentiles.
- :func:`npv_label`: one of these by the statistic's key (``entered``, ``mean``, ``median``, ``p5``, ``p95``).

The statistic alone, for figures other than NPV (cost per BTC, IRR): :data:`ON_PATH`, :func:`expected`,
:func:`median`.
"""

from __future__ import annotations

#: How a figure was taken, without the figure's name.
ON_PATH = "on the entered price path"
#: NPV of the entered (deterministic) price path: the scenario's own path, or the preset's when one is applied.
NPV_ON_PATH = f"NPV {ON_PATH}"
#: The words each label begins with (for tests and for matching text).
EXPECTED_NPV_WORDS = "expected NPV (mean of"
MEDIAN_NPV_WORDS = "median NPV"


def paths_text(n_paths: int) -> str:
    """``"1 path"``, ``"1,000 paths"``."""
    return f"{n_paths:,} path{'' if n_paths == 1 else 's'}"


def expected(n_paths: int) -> str:
    """``"expected (mean of N paths)"``: the mean over a Monte Carlo fan."""
    return f"expected (mean of {paths_text(n_paths)})"


def median(n_paths: int) -> str:
    """``"median (of N paths)"``."""
    return f"median (of {paths_text(n_paths)})"


def expected_npv(n_paths: int) -> str:
    """``"expected NPV (mean of N paths)"``: the mean NPV over ``n_paths`` Monte Carlo price paths."""
    return f"expected NPV (mean of {paths_text(n_paths)})"


def median_npv(n_paths: int) -> str:
    """``"median NPV (of N paths)"``: half the paths are worth more, half less."""
    return f"median NPV (of {paths_text(n_paths)})"


def p5_npv(n_paths: int) -> str:
    """``"P5 NPV (of N paths)"``: 5% of the paths are worth less."""
    return f"P5 NPV (of {paths_text(n_paths)})"


def p95_npv(n_paths: int) -> str:
    """``"P95 NPV (of N paths)"``: 5% of the paths are worth more."""
    return f"P95 NPV (of {paths_text(n_paths)})"


def npv_label(statistic: str, n_paths: int = 1) -> str:
    """The label of an NPV figure by its statistic: ``entered``, ``mean``, ``median``, ``p5`` or ``p95``.

    With one path every statistic is the entered path's NPV (a fan of one path is that path).
    """
    if statistic == "entered" or n_paths == 1:
        return NPV_ON_PATH
    makers = {"mean": expected_npv, "median": median_npv, "p5": p5_npv, "p95": p95_npv}
    if statistic not in makers:
        raise ValueError(f"unknown NPV statistic {statistic!r}; one of entered, {', '.join(makers)}")
    return makers[statistic](n_paths)


def capitalized(label: str) -> str:
    """A label at the start of a line or a table's header: its first letter upper case (``"Expected NPV ..."``)."""
    return label[:1].upper() + label[1:]
