"""Messages for people: error and information boxes, and a line in the main window's status bar.

* :func:`error_box`: modal (waits for OK), the first line of the message shown and all of it under
  "Show Details"; for an action the user just asked for (open a file, save) that failed.
* :func:`show_message`: window-modal and never blocking the event loop (``open()``, not ``exec()``), for
  results that arrive from a background job or list many problems: up to :data:`MAX_MESSAGE_LINES`
  lines shown, all of them (or ``details``) under "Show Details". Text from files is shown as plain
  text, never HTML. A parent deleted meanwhile (a late result) is dropped.
* :func:`show_information`: the same with an information icon.
* :func:`show_status`: ``text`` in the status bar of the widget's main window for
  :data:`STATUS_MS` milliseconds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget
from shiboken6 import isValid

__all__ = ["MAX_MESSAGE_LINES", "STATUS_MS", "error_box", "show_message", "show_information", "show_status"]

#: Lines of a message shown in the box itself; all of them are under "Show Details".
MAX_MESSAGE_LINES = 25
#: How long a status-bar message stays, milliseconds.
STATUS_MS = 30_000


def error_box(parent: QWidget | None, title: str, message: str) -> None:
    """A modal warning: the first line of ``message`` shown, the whole of it under "Show Details"."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message.splitlines()[0] if message else title,
                      QMessageBox.StandardButton.Ok, parent)
    if "\n" in message:
        box.setDetailedText(message)
    box.exec()


def show_message(parent: QWidget | None, title: str, text: str,
                 icon: QMessageBox.Icon = QMessageBox.Icon.Warning, details: str | None = None) -> QMessageBox:
    """A window-modal message (never blocks the event loop) listing up to MAX_MESSAGE_LINES lines of ``text``.

    ``details`` (e.g. a traceback) goes under "Show Details"; without it, a longer ``text`` does.
    """
    if parent is not None and not isValid(parent):     # a late result after its window was closed
        parent = None
    lines = text.strip().splitlines() or [title]
    shown = lines[:MAX_MESSAGE_LINES]
    if len(lines) > len(shown):
        shown.append(f"... {len(lines) - len(shown)} more lines under Show Details")
    box = QMessageBox(icon, title, "\n".join(shown), QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)      # text from a file must not be read as HTML
    if details is not None and details.strip() != text.strip():
        box.setDetailedText(details)
    elif len(lines) > MAX_MESSAGE_LINES:
        box.setDetailedText(text)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def show_information(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """:func:`show_message` with an information icon."""
    return show_message(parent, title, text, QMessageBox.Icon.Information)


def show_status(widget: QWidget, text: str, ms: int = STATUS_MS) -> None:
    """``text`` in the status bar of ``widget``'s main window (if it sits in one and still exists)."""
    if not isValid(widget):
        return
    win = widget.window()
    if isinstance(win, QMainWindow):
        win.statusBar().showMessage(text, ms)
