"""The PDF board pack: Qt draws what :mod:`minerplan.analysis.board_pack` says, on A4 pages, as vectors.

- :func:`compute_pack` (:mod:`.work`, no Qt): the content, with the optimizer's plan on request.
- :func:`write_pdf`: the pages (:mod:`.pages` on the :mod:`.layout` flow), the charts drawn through
  the app's vector path (:mod:`.charts`), written atomically (temp file, then rename). Needs a
  ``QApplication`` (the charts are the app's widgets, built offscreen) and runs on the GUI thread.
- :func:`make_board_pack`: both, for the command line (``minerplan report``).
- :mod:`.actions`: File > Export board pack in the app, a background job with progress and Cancel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtGui import QPainter

from minerplan.analysis.board_pack import BoardPack
from minerplan.engine.evaluate import Cancelled, progress_span
from minerplan.scenario.file_io import atomic_write
from minerplan.scenario.model import Scenario

from . import pages
from .charts import build_chart
from .layout import Flow, new_writer
from .work import compute_pack

__all__ = ["compute_pack", "ensure_application", "make_board_pack", "write_pdf"]

Progress = Callable[[float, str], None]


def ensure_application():
    """The running QApplication, or a new one (the command line's): the charts are widgets, built offscreen.
    The caller sets ``QT_QPA_PLATFORM`` first when there is no display (``minerplan report`` does)."""
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["minerplan"])


def layout(pack: BoardPack, writer, charts: dict) -> Flow:
    """Every section of ``pack`` laid out on ``writer``'s pages."""
    flow = Flow(writer)
    pages.cover(flow, pack)
    for section in (pages.summary, pages.kpis):
        section(flow, pack)
    pages.charts(flow, pack, charts)
    for section in (pages.stress, pages.assumptions, pages.method):
        section(flow, pack)
    return flow


def write_pdf(pack: BoardPack, path: str | Path, *, progress: Progress | None = None,
              cancel: Callable[[], bool] | None = None) -> Path:
    """Write ``pack`` to ``path`` as a PDF (atomically); ``cancel()`` true raises Cancelled and writes nothing."""
    def check(what: str) -> None:
        if cancel is not None and cancel():
            raise Cancelled(what)

    charts = {}
    for k, data in enumerate(pack.charts):
        check("charts")
        if progress is not None:
            progress(0.5 * k / max(len(pack.charts), 1), f"drawing charts: {data.title}")
        charts[data.key] = build_chart(data)

    def write(tmp: str) -> None:
        writer = new_writer(tmp, f"{pack.title}: {pack.scenario_name}")
        flow = layout(pack, writer, charts)
        painter = QPainter()
        if not painter.begin(writer):
            raise OSError(f"cannot write {path}")
        try:
            def page(i: int) -> None:
                check("pages")
                if progress is not None:
                    progress(0.5 + 0.5 * i / len(flow.pages), f"writing page {i + 1} of {len(flow.pages)}")
            flow.paint(painter, pages.decorate(flow, pack), page)
        finally:
            painter.end()

    try:
        atomic_write(path, write)
    finally:
        for chart in charts.values():
            chart.deleteLater()
    if progress is not None:
        progress(1.0, "done")
    return Path(path)


def make_board_pack(sc: Scenario, path: str | Path, *, paths: int = 500, seed: int = 0, optimize: bool = False,
                    progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> BoardPack:
    """Compute the pack of ``sc`` and write it to ``path`` (the command line's one call); returns the content."""
    pack = compute_pack(sc, paths=paths, seed=seed, optimize=optimize,
                        progress=progress_span(progress, None, 0.0, 0.9), cancel=cancel)
    write_pdf(pack, path, progress=progress_span(progress, None, 0.9, 1.0), cancel=cancel)
    return pack
