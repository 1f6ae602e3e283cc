"""Small dialogs shared by the window and its views."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def error_box(parent: QWidget | None, title: str, message: str) -> None:
    """A modal warning: the first line of ``message`` shown, the whole of it under "Show Details"."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message.splitlines()[0] if message else title,
                      QMessageBox.StandardButton.Ok, parent)
    if "\n" in message:
        box.setDetailedText(message)
    box.exec()
