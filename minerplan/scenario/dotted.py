"""Dotted field paths (``"ai.colocation.term_months"``) into scenario objects and their JSON dicts.

Tables, the importer, the exporter and the app's field editors all name a scenario field by
one dotted path; these four functions are the only code that walks one.
"""

from __future__ import annotations

from typing import Any


def get_path(obj: Any, path: str) -> Any:
    """``get_path(site, "ai.colocation.term_months")`` on objects or dicts; None when a section
    on the way is missing (a site without an AI section has no lease term)."""
    for part in path.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
    return obj


def set_path(d: dict, path: str, value: Any, *, none_removes: bool = True) -> None:
    """Set a dotted key in a JSON dict, creating sections on the way.

    ``None`` removes the key (a blank cell means "not set") unless ``none_removes`` is False,
    in which case ``None`` is stored as a value.
    """
    *parents, leaf = path.split(".")
    for part in parents:
        d = d.setdefault(part, {})
    if value is None and none_removes:
        d.pop(leaf, None)
    else:
        d[leaf] = value


def unset_path(d: dict, path: str) -> None:
    """Remove a dotted key from a JSON dict (sections on the way are created if missing)."""
    set_path(d, path, None)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"ai.colocation.term_months": 120}`` -> ``{"ai": {"colocation": {"term_months": 120}}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        set_path(out, path, value, none_removes=False)
    return out
