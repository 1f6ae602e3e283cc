"""Errors that reach users: each names the field, in people's words and as a dotted path, and the problem.

A :class:`Problem` keeps the dotted field path (``fleet[6].count``) for tooling, and says where it is
the way a person reads a table (:func:`field_words`: ``Fleet row 7, Count``): tables by their name,
rows counted from 1, a table field by its label in :mod:`minerplan.scenario.fields`, any other field
by its name made readable (``market.btc_price_usd`` -> ``Market, BTC price (USD)``).
``problem.text`` is the user's line (the app); ``str(problem)`` starts with the dotted path (the CLI, tooling).
Both say pydantic's rules in plain words (:func:`minerplan.scenario.validation_messages.plain_message`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

#: At most this many problems are written out by :meth:`ScenarioError.describe`
#: (all of them stay in ``ScenarioError.problems``).
MAX_DESCRIBED_PROBLEMS = 50


def escape_control(text: str) -> str:
    """``text`` with every non-printable character (control characters, ANSI escapes,
    newlines, bidi overrides, lone surrogates ...) written as a Python escape, so text
    taken from an input file cannot forge or garble terminal output."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def safe_path(path: str) -> str:
    """A field path for display: unchanged when printable, else quoted with escapes."""
    path = str(path)
    return path if path.isprintable() else repr(path)


# --------------------------------------------------------------------------- field paths in people's words

#: A list of the scenario shown as a table: its dotted path -> the table's name in the app.
TABLE_NAMES = {"fleet": "Fleet", "sites": "Sites", "conversion_plan": "Conversion plan",
               "price_path.points": "Price points", "hedges": "Hedges",
               "market.hashrate_response.tiers": "Hashrate tiers",
               "market.network_supply.installed_base": "Installed base"}
#: Names a word-by-word reading gets wrong.
_NAMES = {"monte_carlo": "Monte Carlo", "ai": "AI/HPC", "gpu_cloud": "GPU cloud", "g_and_a_usd_per_month":
          "G&A (USD per month)", "g_and_a_mining_share_pct": "G&A mining share (%)", "pue": "PUE",
          "hourly_price_usd_per_mwh": "Hourly profile",
          "p_enter_stressed_per_month": "Chance to enter the stressed regime (per month)",
          "p_exit_stressed_per_month": "Chance to leave the stressed regime (per month)"}
#: Words written as people write them.
_WORDS = {"usd": "USD", "pct": "%", "mw": "MW", "mwh": "MWh", "kwh": "kWh", "kw": "kW", "ths": "TH/s",
          "ehs": "EH/s", "phs": "PH/s", "th": "TH", "w": "W", "j": "J", "btc": "BTC", "gpu": "GPU",
          "gpus": "GPUs", "ai": "AI", "hpc": "HPC", "cvar": "CVaR", "npv": "NPV", "pue": "PUE", "mc": "MC"}
#: A word that starts a name's unit (when it is not the first word): ``btc_price_usd`` -> ``BTC price (USD)``.
_UNIT_START = {"usd", "pct", "mw", "mwh", "kwh", "kw", "ths", "ehs", "phs", "w", "j", "btc", "months", "per",
               "gpus", "years"}
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def readable_name(name: str) -> str:
    """A pydantic field name as people read it: ``hashrate_growth_pct_per_month`` -> ``Hashrate growth (% per month)``."""
    if name in _NAMES:
        return _NAMES[name]
    words = [w for w in name.split("_") if w]
    if not words:
        return name
    cut = next((i for i, w in enumerate(words) if i > 0 and w in _UNIT_START), len(words))
    head = " ".join(_WORDS.get(w, w) for w in words[:cut])
    head = head[:1].upper() + head[1:]
    unit = " ".join(_WORDS.get(w, w) for w in words[cut:])
    return f"{head} ({unit})" if unit else head


@lru_cache(maxsize=1)
def _table_labels() -> dict[str, dict[str, str]]:
    """Each table's field labels by their path inside a row (from :mod:`minerplan.scenario.fields`)."""
    from minerplan.scenario.fields import CONVERSION_FIELDS, FLEET_FIELDS, SITE_FIELDS

    return {"fleet": {f.path: f.label for f in FLEET_FIELDS}, "sites": {f.path: f.label for f in SITE_FIELDS},
            "conversion_plan": {f.path: f.label for f in CONVERSION_FIELDS},
            "price_path.points": {"month": "Month", "btc_price_usd": "BTC price"}}


def _indices(text: str) -> list[int]:
    return [int(i) for i in re.findall(r"\d+", text)]


def _item_words(name: str, indices: list[int]) -> list[str]:
    """Indices inside one field's value: the hourly profile's month and hour, else 1-based items."""
    if name == "hourly_price_usd_per_mwh" and 1 <= len(indices) <= 2:
        return [f"month {indices[0] + 1}"] + ([f"hour {indices[1]:02d}"] if len(indices) == 2 else [])
    return [f"item {i + 1}" for i in indices]


def field_words(path: str) -> str | None:
    """A dotted field path in people's words, or None when ``path`` is not one (a sheet cell, say).

    ``fleet[6].count`` -> ``Fleet row 7, Count``; ``sites[0].ai.gpu_cloud.utilization_pct`` ->
    ``Sites row 1, Utilization``; ``market.btc_price_usd`` -> ``Market, BTC price (USD)``;
    ``sites[0].hourly_price_usd_per_mwh[3][5]`` -> ``Sites row 1, Hourly profile, month 4, hour 05``.
    """
    path = str(path)
    parts = path.split(".") if path else []
    matches = [_PART.fullmatch(p) for p in parts]
    if not parts or not all(matches):
        return None
    names = [m.group(1) for m in matches]
    words: list[str] = []
    i = 0
    while i < len(parts):
        key = ".".join(names[: i + 1])
        indices = _indices(matches[i].group(2))
        if key in TABLE_NAMES and indices:
            words.append(f"{TABLE_NAMES[key]} row {indices[0] + 1}")
            words += _item_words("", indices[1:])
            rest = names[i + 1:]
            label = _table_labels().get(key, {}).get(".".join(rest))
            if label is not None:
                words.append(label)
                words += _item_words(rest[-1], _indices(matches[-1].group(2)))
                return ", ".join(words)
            i += 1
            continue
        nxt = ".".join(names[: i + 2])
        if nxt not in TABLE_NAMES or i + 1 >= len(parts):
            # (the section a table sits in goes unsaid: "Price points row 2", not "Price path, Price points row 2")
            words.append(TABLE_NAMES.get(key) or readable_name(names[i]))
            words += _item_words(names[i], indices)
        i += 1
    return ", ".join(words)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``path`` is e.g. ``fleet[2].site``.

    ``path`` and ``message`` may hold text from the input (an unknown key, say);
    ``str(problem)`` escapes anything non-printable, so print that, not the raw fields.
    """

    path: str
    message: str
    #: > 0 when this entry stands for that many further problems left out of the list
    #: ("... and 283 more problems in this field").
    omitted: int = field(default=0, compare=False)

    @property
    def where(self) -> str:
        """The field in people's words (``Fleet row 7, Count``), or the path as given when it is no field path."""
        return escape_control(field_words(self.path) or self.path) if self.path else ""

    @property
    def text(self) -> str:
        """The problem in people's words, for the app: ``Fleet row 7, Count: must be at least 0 (got -5)``."""
        message = escape_control(self.message)
        return f"{self.where}: {message}" if self.path else message

    def __str__(self) -> str:
        """``fleet[6].count: must be at least 0 (got -5)``: the dotted path, for the CLI (whose users edit the
        JSON file, where it leads to the value) and tooling; the app shows :attr:`text`."""
        message = escape_control(self.message)
        return f"{safe_path(self.path)}: {message}" if self.path else message


class ScenarioError(ValueError):
    """A scenario file (or other input) is invalid; carries every problem found."""

    #: The words in front of the problems; ``None`` for none (see ScenarioFileError).
    headline: str | None = "invalid scenario"

    def __init__(self, problems: list[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.describe())

    def describe(self) -> str:
        head = f"{escape_control(self.source)}: " if self.source else ""
        if len(self.problems) == 1:
            if self.headline:
                return f"{head}{self.headline}: {self.problems[0]}"
            return f"{head}{self.problems[0]}"
        total = sum(p.omitted or 1 for p in self.problems)
        lines = [f"{head}{self.headline or 'error'} ({total} problems):"]
        shown = self.problems[:MAX_DESCRIBED_PROBLEMS]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            rest = sum(p.omitted or 1 for p in self.problems[len(shown):])
            lines.append(f"  ... and {rest} more problems (not shown)")
        return "\n".join(lines)


class ScenarioFileError(ScenarioError):
    """The scenario file cannot be read at all (missing, a directory, no permission,
    not a regular file, too large); its content was never looked at, so the message
    says what is wrong with the file without calling the scenario invalid."""

    headline = None
