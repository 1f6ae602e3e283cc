"""Autosave files of the main windows, and the question that offers them back after a crash.

Each window writes its unsaved work, while the document is dirty, to its own file in
:func:`autosave_dir` (``<window id>.json``: the scenario, the document it was (its file, or None when
untitled), its title, the time and the process id; :func:`write_autosave`). The file goes as soon as
the document is clean again and when the window closes, so every file left by a process that is no
longer running is unsaved work (:func:`orphaned_autosaves`); the next start asks about each of them
(:func:`ask_recovery`), newest first. The window's side (when to write, recovering into which window)
is in :mod:`ui.main_window`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.file_io import atomic_write_text
from minerplan.scenario.files import scenario_from_json, scenario_to_json
from minerplan.scenario.model import Scenario

#: Autosave ids of this process's open windows: their files are not orphans, though written by this pid.
LIVE_WINDOWS: set[str] = set()

#: The answers to "Recover unsaved work" (see :func:`ask_recovery`).
RECOVER, DISCARD, LATER = "recover", "discard", "later"


def owned_by_live_process(path: Path) -> bool:
    """True when a running MinerPlan wrote this autosave (its work is not lost: leave it alone).

    Another process that is still running; or this process, when the window that wrote it is still
    open (a file with this pid from a closed window is a leftover of an earlier process that had it).
    """
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8")).get("pid", 0))
    except (ValueError, OSError, AttributeError, TypeError):
        return False
    if pid == os.getpid():
        return path.stem in LIVE_WINDOWS
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def autosave_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
    d = Path(base) / "autosave"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass(frozen=True)
class Autosave:
    """One autosave file: the scenario, the document it was (file path, or None when untitled), when."""

    path: Path
    scenario: Scenario
    original_path: str | None
    document: str                  # as the window's title named it: the file's name, or "<scenario> (unsaved)"
    saved_at: float                # time.time()


def write_autosave(path: Path, sc: Scenario, document: str, original_path: str | None) -> None:
    """Write one window's unsaved work to ``path`` (atomically: a crash mid-write leaves the old file)."""
    payload = {"saved_at": time.time(), "pid": os.getpid(), "document": document,
               "original_path": original_path, "scenario": json.loads(scenario_to_json(sc))}
    atomic_write_text(path, json.dumps(payload, indent=1))


def orphaned_autosaves(folder: Path, own: Path) -> list[Autosave]:
    """Autosaves in ``folder`` left by processes that are no longer running (not ``own``), newest first.

    A file that cannot be read as an autosave is left where it is: it cannot be offered, so it is
    not deleted either.
    """
    found = []
    for f in folder.glob("*.json"):
        if f == own or owned_by_live_process(f):
            continue
        try:
            payload = json.loads(f.read_text(encoding="utf-8"))
            sc = scenario_from_json(json.dumps(payload["scenario"]), str(f))
            saved_at = float(payload.get("saved_at") or f.stat().st_mtime)
            orig = payload.get("original_path")
            if orig is not None and not isinstance(orig, str):
                raise TypeError("original_path")
        except (ValueError, KeyError, TypeError, AttributeError, ScenarioError, OSError):
            continue
        name = payload.get("document")
        if not isinstance(name, str) or not name:
            name = Path(orig).name if orig else f"{sc.name} (unsaved)"
        found.append(Autosave(f, sc, orig, name, saved_at))
    found.sort(key=lambda a: a.saved_at, reverse=True)
    return found


def ask_recovery(parent: QWidget, text: str, detail: str) -> str:
    """Ask about one autosave: RECOVER, DISCARD or LATER (also Escape or closing the box: nothing is lost)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work", text, parent=parent)
    box.setInformativeText(detail)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton("Decide later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.setEscapeButton(later)
    box.exec()
    clicked = box.clickedButton()
    return RECOVER if clicked == recover else DISCARD if clicked == discard else LATER
