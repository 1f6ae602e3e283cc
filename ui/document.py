"""The open scenario: current value, file, dirty flag and undo stack (Qt side).

Every edit replaces the whole (immutable, validated) :class:`Scenario` through
an undoable command, so undo/redo restore exactly what the engine and the
charts saw. Views never mutate the scenario; they call :meth:`ScenarioDocument.edit`.

A value typed into a table cell or field that the scenario rejected stays there, red, until fixed; the
widgets showing such values register as rejection sources (:meth:`ScenarioDocument.add_rejection_source`),
so Save can list every one of them (:meth:`ScenarioDocument.rejections`) before it writes the accepted values.

Each command keeps a whole scenario alive (about 25 kB for the shipped one, megabytes for a
big imported fleet with hourly prices), so the undo history is capped by memory: at most
``UNDO_MAX_STEPS`` steps, fewer when the scenarios are big enough that their estimated size
(:func:`scenario_bytes`) would pass ``UNDO_BUDGET_BYTES``, but never fewer than ``UNDO_MIN_STEPS``.
The oldest steps go first; the saved (clean) state stays right, and once its step is gone the
document cannot become clean again by undoing.
"""

from __future__ import annotations

import sys
import weakref
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from pydantic import BaseModel
from shiboken6 import isValid

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario
from minerplan.scenario.files import load_scenario, save_scenario, scenario_from_dict, scenario_to_dict


#: The undo history's memory budget (estimated with :func:`scenario_bytes`), and its bounds in steps.
UNDO_BUDGET_BYTES = 200 * 1024 * 1024
UNDO_MIN_STEPS = 20
UNDO_MAX_STEPS = 1_000


def scenario_bytes(sc: Scenario) -> int:
    """What one scenario holds in memory, estimated: ``sys.getsizeof`` of every object it is made of, once.

    An overestimate (interned names and small numbers are shared with other scenarios in truth):
    about 43 kB against 25 kB measured for the shipped scenario, so a budget in these units holds.
    Costs about 0.3 ms for the shipped scenario, once per edit (the edit's engine run takes ~10 ms).
    """
    seen: set[int] = set()
    todo: list[Any] = [sc]
    total = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, BaseModel):
            todo.append(obj.__dict__)
            todo.append(obj.__pydantic_fields_set__)
        elif isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
    return total


class ReplaceScenario(QUndoCommand):
    """Undoable replacement of the whole scenario; ``bytes`` estimates what the new scenario holds."""

    def __init__(self, doc: "ScenarioDocument", new: Scenario, text: str, *, old: Scenario | None = None,
                 nbytes: int | None = None, applied: bool = False):
        super().__init__(text)
        self._doc = doc
        self._old = doc.scenario if old is None else old
        self._new = new
        self.bytes = scenario_bytes(new) if nbytes is None else nbytes
        self._applied = applied        # a step re-pushed when the history is trimmed: already in effect

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
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
        self.undo_stack.setUndoLimit(UNDO_MAX_STEPS)    # only possible while the stack is empty
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._largest_step = 0     # bytes of the biggest step pushed since the history was last (re)built
        self._rejection_sources: list[Callable[[], Callable[[], list] | None]] = []

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
        self.replace(new, text)

    def replace(self, new: Scenario, text: str) -> None:
        cmd = ReplaceScenario(self, new, text)
        self.undo_stack.push(cmd)
        self._largest_step = max(self._largest_step, cmd.bytes)
        self._keep_history_in_budget()

    # ---- values typed but rejected ----
    def add_rejection_source(self, source: Callable[[], list]) -> None:
        """Register ``source() -> [ui.kit.messages.Rejection, ...]``: the rejected values a widget still shows.

        A bound method is held weakly (a closed view's table does not stay alive for it), and a Qt object
        whose C++ side is gone is skipped.
        """
        if hasattr(source, "__self__"):
            ref = weakref.WeakMethod(source)
            self._rejection_sources.append(ref)
        else:
            self._rejection_sources.append(lambda: source)

    def rejections(self) -> list:
        """Every value typed in this document's tables and fields that the scenario rejected, still shown red."""
        out: list = []
        alive = []
        for ref in self._rejection_sources:
            fn = ref()
            owner = getattr(fn, "__self__", None)
            if fn is None or (owner is not None and hasattr(owner, "metaObject") and not isValid(owner)):
                continue
            alive.append(ref)
            out.extend(fn())
        self._rejection_sources = alive
        return out

    # ---- the undo history's memory ----
    def undo_bytes(self) -> int:
        """Estimated memory of the undo history: the scenario each step leads to (see :func:`scenario_bytes`)."""
        stack = self.undo_stack
        return sum(stack.command(i).bytes for i in range(stack.count()))

    def _keep_history_in_budget(self) -> None:
        """Drop the oldest steps when the history's scenarios would pass ``UNDO_BUDGET_BYTES``.

        Qt drops the oldest step itself once ``undoLimit`` steps are kept, but that limit counts steps
        and can only be set while the stack is empty. So when bigger scenarios would pass the budget
        within the current limit, the history is rebuilt with the newest steps that fit, and their
        number becomes the new limit: from then on Qt trims at each push. Cheap in the usual case:
        the sum is only taken when the biggest step times the limit could pass the budget.
        """
        stack = self.undo_stack
        n = stack.count()
        if n <= UNDO_MIN_STEPS or self._largest_step * stack.undoLimit() <= UNDO_BUDGET_BYTES:
            return
        sizes = [stack.command(i).bytes for i in range(n)]
        if sum(sizes) <= UNDO_BUDGET_BYTES:
            return
        keep, total = 0, 0
        for b in reversed(sizes):
            if keep >= UNDO_MIN_STEPS and total + b > UNDO_BUDGET_BYTES:
                break
            keep, total = keep + 1, total + b
        self._rebuild_history(keep)

    def _rebuild_history(self, keep: int) -> None:
        """Keep only the newest ``keep`` steps (right after a push: nothing to redo), with ``keep`` as the limit.

        The steps are pushed again as they were, without being applied again (the scenario does not
        change); the saved state keeps its step, or is gone with it (then no undo makes the document
        clean). Signals are held meanwhile: what they report (can undo, the undo text, dirty) is the
        same afterwards.
        """
        stack = self.undo_stack
        n = stack.count()
        drop = n - keep
        clean = stack.cleanIndex()
        clean = clean - drop if clean >= drop else -1
        steps = [stack.command(i) for i in range(drop, n)]
        steps = [(c._old, c._new, c.text(), c.bytes) for c in steps]
        blocked = stack.blockSignals(True)
        try:
            stack.clear()
            stack.setUndoLimit(keep)
            for i, (old, new, text, nbytes) in enumerate(steps):
                if i == clean:
                    stack.setClean()
                stack.push(ReplaceScenario(self, new, text, old=old, nbytes=nbytes, applied=True))
            if clean == len(steps):
                stack.setClean()
            elif clean < 0:
                stack.resetClean()
        finally:
            stack.blockSignals(blocked)
        self._largest_step = max((b for *_, b in steps), default=0)

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
        self.undo_stack.setUndoLimit(UNDO_MAX_STEPS)     # a new file: the budget starts again
        self._largest_step = 0
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
