"""File > Export board pack: the PDF built in the background, with a progress dialog and Cancel.

:class:`BoardPackExport` runs a :class:`~ui.kit.jobs.Job` for the content (engine runs, tornado, the
optimizer when asked; :func:`ui.board_pack.work.compute_pack`, no Qt) off the GUI thread, then draws
the pages on the GUI thread when it finishes (the charts are widgets; ~1 s) and writes them atomically.
Cancel (the dialog's button, Esc or its close button) stops the computation at its next check;
a cancelled export writes no file. Dialogs are only opened by :func:`ask_options` and
:func:`ask_pdf_path` (tests replace them), and only when the caller gives no path.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel, QSpinBox,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid

from minerplan.engine.evaluate import Cancelled
from minerplan.scenario.model import Scenario

from ..excel_actions import (DEFAULT_N_PATHS, ExportProgressDialog, monte_carlo_settings, remember_dir,
                             safe_filename, start_dir, with_suffix)
from ..kit.jobs import Job
from ..kit.messages import show_message, show_status
from .work import compute_pack

log = logging.getLogger(__name__)

TITLE = "Export board pack"
PDF_FILTER = "PDF (*.pdf)"
#: Share of the progress bar for the computation; the pages take the rest.
COMPUTE_SHARE = 0.9


def ask_options(parent: QWidget | None, paths: int) -> tuple[int, bool] | None:
    """Price paths and whether to run the optimizer, or None when the user cancels."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(TITLE)
    spin = QSpinBox()
    spin.setRange(2, 100_000)
    spin.setValue(paths)
    spin.setToolTip("Monte Carlo paths for the expected, median and P5/P95 figures")
    opt = QCheckBox("Recommend the optimizer's plan (slower: about a minute)")
    form = QFormLayout()
    form.addRow("Price paths:", spin)
    form.addRow(opt)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(QLabel("A PDF for the board: recommendation, key figures, charts, stress scenarios,\n"
                         "assumptions and their sources, method."))
    lay.addLayout(form)
    lay.addWidget(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return spin.value(), opt.isChecked()


def ask_pdf_path(parent: QWidget | None, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, TITLE, suggested, PDF_FILTER)
    return path


class BoardPackExport(QObject):
    """One board pack: a :class:`~ui.kit.jobs.Job` computes the content, then the pages are drawn here on
    the GUI thread and written (see the module). Ends with exactly one of ``written(path)``,
    ``failed(message)``, ``cancelled()``; ``job`` is the computation, ``pack`` its content once computed."""

    written = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, sc: Scenario, path: str | Path, *, paths: int, seed: int, optimize: bool,
                 owner: QWidget | None = None):
        super().__init__(owner)
        self.path = Path(path)
        self.pack = None
        self.state = "running"
        self.dialog: ExportProgressDialog | None = None
        self.job = Job(lambda progress, cancel: compute_pack(
            sc, paths=paths, seed=seed, optimize=optimize, cancel=cancel,
            progress=lambda f, text="": progress(COMPUTE_SHARE * f, text)),
            owner, name="board-pack", failure_text="The board pack failed")
        if owner is not None:
            self.dialog = ExportProgressDialog(owner, TITLE, f"Building {self.path.name}...")
            self.dialog.cancel_requested.connect(self.cancel)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._write)
        self.job.failed.connect(lambda message: self._end("failed", message))
        self.job.cancelled.connect(lambda: self._end("cancelled"))

    def start(self) -> "BoardPackExport":
        self.job.start()
        return self

    def cancel(self) -> None:
        """Stop the computation (the pages are drawn in one go once it has finished)."""
        if self.job.running:
            self.job.cancel()
            if self._dialog_ok():
                self.dialog.label.setText("Cancelling...")

    def _write(self, pack) -> None:
        from . import write_pdf

        self.pack = pack
        self._on_progress(COMPUTE_SHARE, "drawing the pages")
        try:
            write_pdf(pack, self.path, progress=lambda f, text="": self._on_progress(
                COMPUTE_SHARE + (1 - COMPUTE_SHARE) * f, text), cancel=lambda: self.job.cancel_requested)
        except Cancelled:
            return self._end("cancelled")
        except OSError as e:
            return self._end("failed", f"Cannot write {self.path}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - shown to people, logged with the traceback
            log.exception("board pack pages failed")
            return self._end("failed", f"{type(e).__name__}: {e}")
        self._end("written")

    def _end(self, state: str, message: str = "") -> None:
        self.state = state
        if self._dialog_ok():
            self.dialog.cancel_requested.disconnect(self.cancel)
            self.dialog.finish()
        self.dialog = None
        if state == "written":
            self.written.emit(self.path)
        elif state == "failed":
            self.failed.emit(message)
        else:
            self.cancelled.emit()

    def _dialog_ok(self) -> bool:
        return self.dialog is not None and isValid(self.dialog)

    def _on_progress(self, frac: float, text: str) -> None:
        if self._dialog_ok():
            self.dialog.set_progress(frac, f"{self.path.name}: {text}" if text else self.path.name)


def start_board_pack(owner: QWidget, sc: Scenario, path: str | Path, *, paths: int, seed: int,
                     optimize: bool = False) -> BoardPackExport:
    """Build the pack of ``sc`` into ``path`` in the background; the outcome goes to the status bar."""
    export = BoardPackExport(sc, path, paths=paths, seed=seed, optimize=optimize, owner=owner)
    export.written.connect(lambda p: show_status(owner, f"Wrote the board pack {p}"))
    export.failed.connect(lambda msg: show_status(owner, f"Board pack failed: {msg.splitlines()[0]}"))
    export.failed.connect(lambda msg: show_message(owner, TITLE, msg))
    export.cancelled.connect(lambda: show_status(owner, f"Board pack cancelled; {Path(path).name} was not written"))
    return export.start()


def export_board_pack(window, path: str | None = None, *, paths: int | None = None,
                      optimize: bool | None = None) -> BoardPackExport | None:
    """File > Export board pack: the document's scenario, with the app's Monte Carlo seed (and paths,
    unless given); asks for the options and the file when not given."""
    sc = window.doc.scenario
    mc_paths, seed = monte_carlo_settings(getattr(window, "evaluation", None))
    if paths is None or optimize is None:
        answer = ask_options(window, mc_paths if mc_paths >= 2 else DEFAULT_N_PATHS)
        if answer is None:
            return None
        paths, optimize = answer
    if path is None:
        suggested = Path(start_dir(window, window.doc)) / f"{safe_filename(sc.name)} board pack.pdf"
        path = ask_pdf_path(window, str(suggested))
        if not path:
            return None
        remember_dir(window, path)
        path = with_suffix(path, ".pdf")
    return start_board_pack(window, sc, path, paths=paths, seed=seed, optimize=optimize)
