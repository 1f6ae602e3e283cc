"""The What-if view's Breakevens panel: "what BTC price do we need?" for the scenario itself.

On request it computes, off the GUI thread (:class:`ui.breakevens.BreakevensJob`, shown by the kit's
:class:`~ui.kit.job_panel.JobPanel`: progress, Cancel, state line), the BTC price for NPV 0 (USD/BTC,
first month), each cohort's curtailment energy price (USD/MWh) and each AI site's conversion lease
breakeven (USD/kW-month). Results keep the scenario they belong to: an edit afterwards greys them
with "(scenario changed: compute again)"; they are only recomputed on request.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from minerplan.analysis.breakevens import Breakevens, format_btc, format_curtailment, format_lease

from ...breakevens import BreakevensJob
from ...kit.job_panel import JobPanel, ShowsJobState, stale_marker
from ...kit.tables import read_only_cell, results_table

BREAKEVENS_STALE_TEXT = "(scenario changed: compute again)"
_GREY = "#9aa0a6"
_INK = "#202124"


class BreakevensPanel(ShowsJobState, QGroupBox):
    """"What BTC price do we need?": the scenario's breakevens, computed on request in the background.

    "Compute breakevens" runs :func:`minerplan.analysis.breakevens.compute_breakevens` for the document's
    scenario in a :class:`~ui.breakevens.BreakevensJob` shown by a :class:`~ui.kit.job_panel.JobPanel`
    (progress bar, Cancel; the button is disabled meanwhile). Results
    keep the scenario they belong to: after an edit they turn grey with "(scenario changed: compute
    again)" and are not recomputed until asked. ``state``: idle, running, done, cancelled, failed.
    """

    state_changed = Signal(str)
    computed = Signal(object)       # Breakevens, when a run has finished and is shown

    def __init__(self, doc, parent: QWidget | None = None):
        super().__init__("Breakevens: the scenario on its deterministic price path (not the what-if inputs)", parent)
        self.doc = doc
        self.results: Breakevens | None = None
        self.stale = False
        self.job: BreakevensJob | None = None
        self._presentation = False

        self.compute_button = QPushButton("Compute breakevens")
        self.compute_button.setToolTip("BTC price for NPV 0, curtailment energy prices and AI lease breakevens "
                                       "of the scenario (in the background; about a second)")
        self.compute_button.clicked.connect(self.compute)
        self.stale_label = stale_marker(BREAKEVENS_STALE_TEXT)
        self.panel = JobPanel("Not computed yet.", run_buttons=[self.compute_button], trailing=[self.stale_label])
        self.panel.state_changed.connect(self.state_changed.emit)
        self.cancel_button, self.progress, self.status_label = (self.panel.cancel_button, self.panel.progress,
                                                                self.panel.status_label)

        self.btc_title = QLabel("BTC price for NPV = 0 (first month; the whole price path scales with it):")
        self.btc_label = QLabel("-")
        self.btc_label.setWordWrap(True)
        self.btc_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        btc_row = QHBoxLayout()
        btc_row.addWidget(self.btc_title)
        btc_row.addWidget(self.btc_label, 1)

        self.curtailment_table = results_table(["Site", "Cohort", "Model", "Curtails above (USD/MWh, first month)",
                                                "Note"], wrap=False)   # the whole note is in its tooltip
        self.lease_table = results_table(["Site", "Convert (gross MW)", "From", "Beats mining above (USD/kW-month)"],
                                         wrap=True)                    # a "no breakeven" reason reads in full
        self.lease_note = QLabel("")
        self.lease_note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(QLabel("Energy price above which each cohort curtails"))
        left.addWidget(self.curtailment_table, 1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Lease rate above which converting an AI site's remaining MW beats mining"))
        right.addWidget(self.lease_table, 1)
        right.addWidget(self.lease_note)
        tables = QHBoxLayout()
        tables.addLayout(left, 3)
        tables.addLayout(right, 2)

        lay = QVBoxLayout(self)
        lay.addWidget(self.panel)
        lay.addLayout(btc_row)
        lay.addLayout(tables, 1)
        self._style_btc()

        doc.changed.connect(self._on_doc_changed)       # cheap: only compares scenarios, never recomputes

    # ---- public API (tests) ----
    def btc_text(self) -> str:
        return self.btc_label.text()

    def curtailment_rows(self) -> list[tuple[str, int, str, str, float]]:
        """(site, cohort, model, text shown, USD/MWh) per row."""
        t = self.curtailment_table
        return [(t.item(r, 0).text(), int(t.item(r, 1).data(Qt.ItemDataRole.UserRole)), t.item(r, 2).text(),
                 t.item(r, 3).text(), float(t.item(r, 3).data(Qt.ItemDataRole.UserRole)))
                for r in range(t.rowCount())]

    def lease_rows(self) -> list[tuple[str, float, str, str, float | None]]:
        """(site, gross MW, start month, text shown, USD/kW-month or None) per row."""
        t = self.lease_table
        return [(t.item(r, 0).text(), float(t.item(r, 1).data(Qt.ItemDataRole.UserRole)), t.item(r, 2).text(),
                 t.item(r, 3).text(), t.item(r, 3).data(Qt.ItemDataRole.UserRole)) for r in range(t.rowCount())]

    def set_presentation(self, on: bool) -> None:
        self._presentation = on
        self._style_btc()

    # ---- actions ----
    def compute(self) -> bool:
        """Start computing the document scenario's breakevens in the background (False when already running)."""
        if self.running:
            return False
        kept = " The results shown are from the previous run."
        job = BreakevensJob(self.doc.scenario, owner=self)
        job.finished.connect(self._on_finished)
        job.failed.connect(lambda message: self.panel.set_state(
            "failed", "Breakevens failed: " + message.splitlines()[0], error=True))
        job.cancelled.connect(lambda: self.panel.set_state(
            "cancelled", "Cancelled." + (kept if self.results is not None else "")))
        self.job = job
        self.panel.start(job, "Computing breakevens..." + (kept if self.results is not None else ""))
        return True

    def cancel(self) -> None:
        self.panel.cancel()

    def shutdown(self, ms: int = 30_000) -> None:
        """Cancel a running computation and wait for its thread (before the window closes)."""
        self.panel.shutdown(ms)

    def _on_finished(self, res: Breakevens) -> None:
        self.results = res
        self._fill(res)
        self.panel.set_state("done", f"Computed in {res.seconds:.1f} s for \"{res.scenario.name}\".")
        self._update_stale()
        self.computed.emit(res)

    # ---- showing results ----
    def _fill(self, res: Breakevens) -> None:
        self.btc_label.setText(format_btc(res.btc))
        self.btc_label.setToolTip(res.btc.note)
        t = self.curtailment_table
        t.setRowCount(len(res.curtailment))
        for r, row in enumerate(res.curtailment):
            t.setItem(r, 0, read_only_cell(row.site))
            t.setItem(r, 1, read_only_cell(str(row.cohort + 1), row.cohort, "fleet row (1-based)", right=True))
            t.setItem(r, 2, read_only_cell(row.model,
                                           tooltip=f"{row.efficiency_j_per_th:.2f} J/TH at the wall this month"))
            t.setItem(r, 3, read_only_cell(format_curtailment(row.curtail_above_usd_per_mwh),
                                           row.curtail_above_usd_per_mwh, right=True))
            t.setItem(r, 4, read_only_cell(row.note, tooltip=row.note))
        t = self.lease_table
        t.setRowCount(len(res.lease))
        for r, row in enumerate(res.lease):
            t.setItem(r, 0, read_only_cell(row.site))
            t.setItem(r, 1, read_only_cell(f"{row.gross_mw:,.4g} MW", row.gross_mw, right=True))
            t.setItem(r, 2, read_only_cell(row.start_month))
            t.setItem(r, 3, read_only_cell(format_lease(row), row.usd_per_kw_month, row.note,
                                           right=row.usd_per_kw_month is not None))
        self.lease_note.setText("" if res.lease else
                                "No AI-capable site with convertible MW left: nothing to convert.")
        for table in (self.curtailment_table, self.lease_table):
            table.resizeRowsToContents()

    def _on_doc_changed(self, _sc=None) -> None:
        self._update_stale()

    def _update_stale(self) -> None:
        res, sc = self.results, self.doc.scenario
        self.stale = res is not None and res.scenario is not sc and res.scenario != sc
        self.stale_label.setVisible(self.stale)
        ink = QBrush(QColor(_GREY if self.stale else _INK))
        for table in (self.curtailment_table, self.lease_table):
            for r in range(table.rowCount()):
                for c in range(table.columnCount()):
                    item = table.item(r, c)
                    if item is not None:
                        item.setForeground(ink)
        self.btc_title.setStyleSheet(f"color: {_GREY};" if self.stale else "")
        self.lease_note.setStyleSheet(f"color: {_GREY};" if self.stale else "")
        self._style_btc()

    def _style_btc(self) -> None:
        size = 24 if self._presentation else 16
        ink = _GREY if self.stale else "#1f4e79"
        self.btc_label.setStyleSheet(f"font-size: {size}px; font-weight: 600; color: {ink};")
