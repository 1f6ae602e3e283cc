"""The open scenario: current value, file, dirty flag and undo stack (Qt side).

Every edit replaces the whole (immutable, validated) :class:`Scenario` through
an undoable command, so undo/redo restore exactly what the engine and the
charts saw. Views never mutate the scenario; they call :meth:`ScenarioDocument.edit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from minerplan.errors import ScenarioError
from minerplan.scenario import Scenario
from minerplan.scenario_io import load_scenario, save_scenario, scenario_from_dict, scenario_to_dict


class ReplaceScenario(QUndoCommand):
    """Undoable replacement of the whole scenario (cheap: scenarios are small immutable models)."""

    def __init__(self, doc: "ScenarioDocument", new: Scenario, text: str):
        super().__init__(text)
        self._doc = doc
        self._old = doc.scenario
        self._new = new

    def redo(self) -> None:
        self._doc._set(self._new)

    def undo(self) -> None:
        self._doc._set(self._old)


class ScenarioDocument(QObject):
    """Holds the scenario being edited. ``changed`` fires after every edit, undo, redo or load."""

    changed = Signal(object)          # the new Scenario
    dirty_changed = Signal(bool)
    path_changed = Signal(str)

    def __init__(self, scenario: Scenario, path: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.scenario = scenario
        self.path = path
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    # ---- editing ----
    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def _set(self, sc: Scenario) -> None:
        self.scenario = sc
        self.changed.emit(sc)

    def edit_dict(self, mutate: Callable[[dict[str, Any]], None], text: str) -> None:
        """Apply ``mutate`` to a copy of the scenario's JSON dict; validate; push an undo command.

        Raises ScenarioError (nothing changes) when the result is invalid, so callers
        can flag the edit in place.
        """
        data = scenario_to_dict(self.scenario)
        mutate(data)
        new = scenario_from_dict(data, "edit")
        self.undo_stack.push(ReplaceScenario(self, new, text))

    def replace(self, new: Scenario, text: str) -> None:
        self.undo_stack.push(ReplaceScenario(self, new, text))

    def try_edit(self, mutate: Callable[[dict[str, Any]], None], text: str) -> ScenarioError | None:
        try:
            self.edit_dict(mutate, text)
        except ScenarioError as e:
            return e
        return None

    # ---- files ----
    @classmethod
    def open(cls, path: str, parent: QObject | None = None) -> "ScenarioDocument":
        return cls(load_scenario(path), None if path == "default" else str(Path(path)), parent)

    def load(self, path: str) -> None:
        sc = load_scenario(path)
        self.undo_stack.clear()
        self.path = None if path == "default" else str(Path(path))
        self._set(sc)
        self.undo_stack.setClean()
        self.path_changed.emit(self.path or "")

    def save(self, path: str | None = None) -> None:
        target = path or self.path
        if not target:
            raise ValueError("no file name: use Save As")
        save_scenario(self.scenario, target)
        self.path = str(target)
        self.undo_stack.setClean()
        self.path_changed.emit(self.path)

    @property
    def title(self) -> str:
        name = Path(self.path).name if self.path else f"{self.scenario.name} (unsaved)"
        return name
