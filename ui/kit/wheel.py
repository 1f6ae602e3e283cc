"""The mouse wheel scrolls panels; it changes a combo box, spin box or slider only once the user chose it.

Qt lets the wheel change any control under the pointer, focused or not, so scrolling a settings panel
switched the price model from GBM to Merton (re-running Monte Carlo) or Difficulty to Network hashrate,
each an undo entry. :class:`WheelGuard`, installed once on the application (:func:`install_wheel_guard`,
called by every :class:`ui.main_window.MainWindow` and by :func:`ui.app.main`), stops that: an unfocused
control passes the wheel to the scroll area around it, and the wheel alone never gives it focus.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox,
                               QScrollBar, QWidget)
from shiboken6 import isValid

__all__ = ["WheelGuard", "install_wheel_guard", "wheel_guarded"]

#: Controls whose value the wheel changes (a scroll bar is a slider, but scrolling is its job).
GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def wheel_guarded(obj: QObject) -> bool:
    """``obj`` is a control the wheel may only change while it has focus."""
    return isinstance(obj, GUARDED) and not isinstance(obj, QScrollBar)


class WheelGuard(QObject):
    """An application event filter: the wheel changes a combo box, spin box or slider only while it has
    keyboard focus (clicked or tabbed into). Unfocused, the wheel goes to the nearest scroll area around it
    (the panel scrolls), or, with none, on to the parent widgets. Those controls get ``Qt.StrongFocus`` when
    polished, so the wheel alone never focuses them (Qt's default for combo and spin boxes is ``WheelFocus``)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.Polish and wheel_guarded(obj):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel and wheel_guarded(obj) and not obj.hasFocus():
            scroll_panel(obj, event)
            return True
        return False


def scroll_panel(control: QWidget, event: QWheelEvent) -> None:
    """Hand ``event`` to the viewport of the nearest scroll area around ``control`` (the wheel is then used:
    Qt does not pass it on a second time); with none, leave it ignored so Qt offers it to the parents."""
    area = control.parentWidget()
    while area is not None and not isinstance(area, QAbstractScrollArea):
        area = area.parentWidget()
    if area is None:
        event.ignore()
        return
    viewport = area.viewport()
    pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
    forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                            event.modifiers(), event.phase(), event.inverted())
    QCoreApplication.sendEvent(viewport, forwarded)
    event.accept()


_GUARD: WheelGuard | None = None


def install_wheel_guard(app: QCoreApplication | None = None) -> WheelGuard:
    """Install the application-wide :class:`WheelGuard` once; later calls return the one installed."""
    global _GUARD
    app = app or QApplication.instance()
    if _GUARD is not None and isValid(_GUARD) and _GUARD.parent() is app:
        return _GUARD
    _GUARD = WheelGuard(app)
    app.installEventFilter(_GUARD)
    return _GUARD
