"""The app's settings: one spec (key, type, default, description) read and written in one place.

Every QSettings key the app uses is declared here as a :class:`Setting`, in the spirit of
orange-canvas-core's ``config.py``; code reads one with :func:`read` (a stored value of the wrong
type, as a hand-edited INI file may hold, gives the default, never an exception) and writes one with
:func:`write`. The store is the main window's ``settings`` (:func:`window_settings`; tests give the
window an INI file of their own), else, for reading what has no window, the user's (:func:`app_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from minerplan.markets.live.mempool import DEFAULT_API_URL

__all__ = ["ORG", "APP", "Setting", "SPEC", "RECENT_FILES", "GEOMETRY", "TAB", "MC_PATHS", "MC_SEED", "EXCEL_DIR",
           "MARKET_API_URL", "window_settings", "app_settings", "read", "write"]

#: Organization and application name of the user's settings (and of the app, see ui.app).
ORG, APP = "MinerPlan", "MinerPlan"


@dataclass(frozen=True)
class Setting:
    key: str            # the QSettings key
    type: type          # what a stored value must be: int, str, list (of str) or QByteArray
    default: Any        # when nothing (or nothing usable) is stored
    description: str


RECENT_FILES = Setting("recent_files", list, (), "Scenario files opened or saved most recently, newest first "
                                                 "(File > Open Recent; at most 8)")
GEOMETRY = Setting("geometry", QByteArray, None, "The main window's size and place when it last closed")
TAB = Setting("tab", int, 0, "The tab shown when the main window last closed")
MC_PATHS = Setting("mc_paths", int, 500, "Monte Carlo price paths of the fan and the Risk view (1 to 100,000)")
MC_SEED = Setting("mc_seed", int, 0, "Seed of the Monte Carlo price paths (0 or more)")
EXCEL_DIR = Setting("excel_dir", str, "", "The folder of the last Excel export or import (where the next "
                                          "file dialog opens)")
MARKET_API_URL = Setting("market/api_url", str, DEFAULT_API_URL, "Base URL of the mempool.space-compatible API "
                                                                  "that Update market data fetches from")

#: Every setting of the app.
SPEC = (RECENT_FILES, GEOMETRY, TAB, MC_PATHS, MC_SEED, EXCEL_DIR, MARKET_API_URL)


def window_settings(widget: QObject | None) -> QSettings | None:
    """The settings of ``widget``'s main window (``window().settings``); None outside a main window."""
    if isinstance(widget, QWidget) and isValid(widget):
        s = getattr(widget.window(), "settings", None)
        if isinstance(s, QSettings):
            return s
    return None


def app_settings(widget: QObject | None = None) -> QSettings:
    """The settings of ``widget``'s main window, else the user's QSettings."""
    return window_settings(widget) or QSettings(ORG, APP)


def read(settings: QSettings, setting: Setting) -> Any:
    """The stored value of ``setting`` as its type, or its default when none (or a wrong one) is stored.

    int: anything ``int()`` takes (an INI file stores text); str: non-blank text; list: the text items
    (a list of one comes back from an INI file as plain text); QByteArray: bytes.
    """
    value = settings.value(setting.key, None)
    default = list(setting.default) if setting.type is list else setting.default
    if value is None:
        return default
    if setting.type is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    if setting.type is str:
        return value if isinstance(value, str) and value.strip() else default
    if setting.type is list:
        if isinstance(value, str):
            value = [value]
        return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else default
    if setting.type is QByteArray:
        return value if isinstance(value, (QByteArray, bytes)) else default
    raise TypeError(f"setting {setting.key}: unsupported type {setting.type.__name__}")


def write(settings: QSettings, setting: Setting, value: Any) -> None:
    """Store ``value`` under ``setting``'s key."""
    settings.setValue(setting.key, value)
