"""Header texts as the importer compares them, and every header text a layout accepts."""

from __future__ import annotations

from typing import Any

from minerplan.scenario.fields import Column


def norm_header(value: Any) -> str:
    """A header for comparison: trimmed, inner whitespace (a wrapped header's newline) as one space, no case."""
    return " ".join(str(value).split()).casefold() if value is not None else ""


def header_names(layout: tuple[Column, ...]) -> dict[str, Column]:
    """Every accepted header text -> its column: the layout's header and the scenario field name."""
    names: dict[str, Column] = {}
    for c in layout:
        names[norm_header(c.field)] = c
        names[norm_header(c.header)] = c
    return names
