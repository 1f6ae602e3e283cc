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
* :class:`Rejection`: a value typed into a cell or field that the scenario rejected (still shown red);
  :func:`rejected_values_box` lists all of them before a save, offering to save the accepted values
  anyway or to go back (:func:`ask_save_with_rejections`).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget
from shiboken6 import isValid

__all__ = ["MAX_MESSAGE_LINES", "STATUS_MS", "Rejection", "ask_save_with_rejections", "error_box",
           "rejected_values_box", "show_message", "show_information", "show_status"]

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


# --------------------------------------------------------------------------- rejected values before a save

@dataclass(frozen=True)
class Rejection:
    """A value typed into a cell or field that the scenario rejected; it stays there, red, until fixed.

    ``where`` in people's words (``Fleet row 7, Count``), ``typed`` as typed, ``rule`` the problem in
    people's words (may name another field: a site's new name may leave a conversion without a site),
    ``path`` the dotted field path (``fleet[6].count``) for tooltips and tooling.
    """

    where: str
    typed: str
    rule: str
    path: str = ""

    @property
    def line(self) -> str:
        """``Fleet row 7, Count: typed -5, must be at least 0``."""
        rule = self.rule.splitlines()[0] if self.rule else "not accepted"
        if rule.startswith(self.where + ": "):
            rule = rule[len(self.where) + 2:]
        typed = self.typed.strip()
        for got in (f" (got {typed})", f" (got {typed!r})"):      # the typed value is said once
            if typed and rule.endswith(got):
                rule = rule[: -len(got)]
        return f"{self.where}: typed {typed or '(blank)'}, {rule}"


#: The buttons of :func:`rejected_values_box`.
SAVE_ACCEPTED = "Save accepted values"
GO_BACK = "Go back"


def rejected_values_box(parent: QWidget | None, rejections: list[Rejection], action: str = "Save") -> QMessageBox:
    """A warning listing every rejected value (all of them, up to MAX_MESSAGE_LINES shown and the rest under
    Show Details), with two choices: save the values the scenario accepted, or go back (the default)."""
    n = len(rejections)
    lines = [f"- {r.line}" for r in rejections]
    shown = lines[:MAX_MESSAGE_LINES]
    if len(lines) > len(shown):
        shown.append(f"... and {len(lines) - len(shown)} more under Show Details")
    text = (f"{n} value{'s' if n != 1 else ''} you typed {'were' if n != 1 else 'was'} not accepted and "
            f"{'are' if n != 1 else 'is'} still shown in red:\n" + "\n".join(shown)
            + f"\n\n{action} writes the last accepted value{'s' if n != 1 else ''} instead.")
    box = QMessageBox(QMessageBox.Icon.Warning, f"{action}: values not accepted", text, QMessageBox.StandardButton.NoButton,
                      parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setStyleSheet("QLabel#qt_msgbox_label { min-width: 560px; }")     # one line per value, not wrapped
    if len(lines) > MAX_MESSAGE_LINES:
        box.setDetailedText("\n".join(lines))
    box.addButton(SAVE_ACCEPTED, QMessageBox.ButtonRole.AcceptRole)
    back = box.addButton(GO_BACK, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(back)
    box.setEscapeButton(back)
    return box


def ask_save_with_rejections(parent: QWidget | None, rejections: list[Rejection], action: str = "Save") -> bool:
    """True when the user chooses to save the accepted values despite ``rejections``; False: go back."""
    box = rejected_values_box(parent, rejections, action)
    box.exec()
    clicked = box.clickedButton()
    return clicked is not None and clicked.text() == SAVE_ACCEPTED
