"""Work for views the user cannot see is deferred until they are shown.

Every view listens to every edit; redrawing the six hidden tabs on each edit
would cost more than the edit itself. :func:`when_shown` wraps a slot so that,
while its widget sits in a tab that is not current, only the latest call is
remembered and replayed when the tab is shown. Widgets outside any tab (as in
unit tests) are updated at once.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QStackedWidget, QWidget


def in_hidden_tab(widget: QWidget) -> bool:
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QStackedWidget) and parent.currentWidget() is not child:
            return True
        child, parent = parent, parent.parentWidget()
    return False


class _Replay(QObject):
    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.pending: dict[Callable, tuple] = {}
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Show and self.pending:
            pending, self.pending = self.pending, {}
            for slot, args in pending.items():
                slot(*args)
        return False


def when_shown(widget: QWidget, slot: Callable) -> Callable:
    """A slot that runs now if ``widget`` can be seen, else when its tab is next shown (latest args only)."""
    replay = widget.findChild(_Replay) or _Replay(widget)

    def wrapper(*args):
        if in_hidden_tab(widget):
            replay.pending[slot] = args
        else:
            replay.pending.pop(slot, None)
            slot(*args)

    return wrapper
