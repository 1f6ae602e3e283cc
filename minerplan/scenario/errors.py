"""Errors that reach users: each names the field path and the problem."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def __str__(self) -> str:
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
