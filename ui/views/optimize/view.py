"""Optimizer: settings with units, a background run with progress and Cancel, the plan, its frontier and shadow prices.

The solve (``solvers.optimize.optimize``) and the frontier (``solvers.frontier.efficient_frontier``)
always run as a :class:`~ui.kit.jobs.Job` (:mod:`.work`), never on the GUI thread, shown by one
:class:`~ui.kit.job_panel.JobPanel` (Run, Trace frontier, Cancel, progress, state) under the
settings (:mod:`.form`). A finished run fills the results panel (:mod:`.results`): a plain-language
recommendation, a KPI line, MW by use per site, capex by month, the decision tables and the shadow
prices; then the confidence tab (:mod:`.confidence`) checks how far to trust the plan. "Apply plan
to scenario" writes the plan into the document as one undoable edit.
"""

from __future__ import annotations

import traceback

import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.model import Scenario
from solvers.confidence import OUT_OF_SAMPLE_PATHS, REPLICATIONS, PlanConfidence
from solvers.plan import applied_plan
from solvers.report import check_failure, plan_label, recommendation
from solvers.result import OptimizationResult, check_plan
from solvers.settings import OptimizerSettings

from ...document import ScenarioDocument
from ...kit.fit import fit_scroll_area
from ...kit.job_panel import JobPanel, ShowsJobState
from ...kit.jobs import Job
from ...kit.messages import show_message
from ...kit.plan_baseline import plan_baseline
from .confidence import ConfidenceTab
from .form import FIELDS, SettingsForm
from .frontier_chart import draw_frontier
from .results import ALL_SITES, WIDGETS, ResultsPanel
from .work import (FRONTIER_WEIGHTS, FrontierOutput, RunOutput, _frontier_work, _run_work, capex_by_month,
                   frontier_result, frontier_valid)

__all__ = ["ALL_SITES", "OptimizeView"]


class OptimizeView(ShowsJobState, QWidget):
    """Settings, Run/Cancel with progress, and the recommended plan with its charts and tables."""

    result_shown = Signal(object)       # the OptimizationResult now in the results panel
    state_changed = Signal(str)

    def __init__(self, doc: ScenarioDocument, evaluation=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self.result: OptimizationResult | None = None
        self.output: RunOutput | None = None
        self.frontier: FrontierOutput | None = None
        self._task_kind = ""
        self._error_box: QMessageBox | None = None
        self._frontier_scatter: pg.ScatterPlotItem | None = None
        self._selected_point: int | None = None
        self._applied: tuple[OptimizationResult, Scenario] | None = None     # (result, the scenario it applied)
        #: what the confidence check runs (solvers.confidence's defaults; 0 and 0 turn it off)
        self.confidence_paths = OUT_OF_SAMPLE_PATHS
        self.confidence_replications = REPLICATIONS

        self.form = SettingsForm(evaluation)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Solve for the best plan in the background (the app stays usable)")
        self.run_button.clicked.connect(self.run)
        self.frontier_button = QPushButton("Trace frontier")
        self.frontier_button.setToolTip("Solve for risk weights " + ", ".join(f"{w:g}" for w in FRONTIER_WEIGHTS)
                                        + " and plot expected NPV against CVaR; click a point to load its plan")
        self.frontier_button.clicked.connect(self.trace_frontier)
        self.panel = JobPanel("Set the options and press Run.", run_buttons=[self.run_button, self.frontier_button],
                              progress_in_status=True, bar_formats={"no_plan": "no plan"})
        self.panel.cancel_button.setToolTip("Stop the running optimization or frontier")
        self.panel.state_changed.connect(self.state_changed)
        self.cancel_button, self.progress, self.status_label = (self.panel.cancel_button, self.panel.progress,
                                                                self.panel.status_label)
        # The settings pane is narrow: the bar gets its own line between the buttons and the state line.
        self.panel.row.removeWidget(self.progress)
        self.panel.layout().insertWidget(1, self.progress)
        self.form.add_row(self.panel)
        self.results = ResultsPanel()
        self.results.apply_button.clicked.connect(self.apply_plan)
        self.results.export_plan_button.clicked.connect(lambda _=False: self.export_plan())
        self.confidence_tab = ConfidenceTab(lambda: self.result)
        self.results.table_tabs.addTab(self.confidence_tab, "How far to trust it")
        for name in FIELDS:           # the form's fields and the panel's widgets, as the view's own
            setattr(self, name, getattr(self.form, name))
        for name in WIDGETS:
            setattr(self, name, getattr(self.results, name))
        self.confidence_status, self.confidence_stop, self.confidence_label = (
            self.confidence_tab.status, self.confidence_tab.stop, self.confidence_tab.label)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QScrollArea()
        left.setWidgetResizable(True)
        left.setWidget(self.form)
        self.form.fit_fields()
        fit_scroll_area(left)
        split.addWidget(left)
        split.addWidget(self.results)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 1000])
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        doc.changed.connect(self._on_doc_changed)
        if evaluation is not None and hasattr(evaluation, "updated"):
            evaluation.updated.connect(lambda *_: self.form.refresh_preset())
        app = QCoreApplication.instance()
        if app is not None:     # never leave a solver thread running when the application quits
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------ state
    @property
    def confidence(self) -> PlanConfidence | None:
        return self.confidence_tab.confidence

    @property
    def confidence_running(self) -> bool:
        return self.confidence_tab.running

    def settings(self) -> OptimizerSettings:
        """The settings in the form; raises ValueError/ScenarioError naming a bad field."""
        return self.form.settings()

    def charts(self):
        return self.results.charts()

    def set_presentation(self, on: bool) -> None:
        self.results.set_presentation(on)

    def allocation_series(self, site: str | None = None):
        """Months and gross MW by use (mining, AI/HPC, idle) for ``site`` (None or All sites: the sum)."""
        return self.results.allocation_series(site)

    def idle_rows(self, site: str | None = None):
        """Where the plan shown leaves MW idle and why, for ``site`` (see ResultsPanel.idle_rows)."""
        return self.results.idle_rows(site)

    # ------------------------------------------------------------ actions
    def run(self) -> None:
        """Start the optimizer on the document's scenario in a background job."""
        if self.running:
            return
        st = self._checked_settings()
        if st is None:
            self.panel.set_state(self.state, "Fix the settings first.")
            return
        self.confidence_tab.cancel()            # a new plan is coming: the old one's check is moot
        self._start("run", _run_work(self.doc.scenario, st), self._on_run_done)

    def trace_frontier(self) -> None:
        """Solve for several risk weights in a background job and plot expected NPV against CVaR."""
        if self.running:
            return
        st = self._checked_settings()
        if st is None:
            return
        weights = tuple(sorted(set(FRONTIER_WEIGHTS) | {float(st.risk_aversion)}))
        self._start("frontier", _frontier_work(self.doc.scenario, st, weights), self._on_frontier_done)

    def _checked_settings(self) -> OptimizerSettings | None:
        """The form's settings, or None with the problem shown under the form."""
        try:
            st = self.settings()
        except (ValueError, ScenarioError) as e:
            self.form_error.setText(e.describe() if isinstance(e, ScenarioError) else str(e))
            return None
        self.form_error.setText("")
        return st

    def _start(self, kind: str, work, on_finished) -> None:
        self._task_kind = kind
        job = Job(work, self, name="optimize" if kind == "run" else "frontier")
        job.finished.connect(lambda out: self._on_finished(on_finished, out))
        job.failed.connect(lambda message, job=job: self._on_failed(message, job.details))
        job.cancelled.connect(self._on_cancelled)
        self.panel.start(job, "Optimizing..." if kind == "run" else "Tracing the efficient frontier...")

    def _on_finished(self, handler, out) -> None:
        self.progress.setValue(1000)
        handler(out)

    def _on_cancelled(self) -> None:
        what = "Optimization" if self._task_kind == "run" else "Frontier"
        kept = " The results shown are from the previous run." if self.result is not None else ""
        self.panel.set_state("cancelled", f"{what} cancelled.{kept}")

    def _on_failed(self, message: str, details: str) -> None:
        first = message.strip().splitlines()[0] if message.strip() else "The optimizer failed"
        self.panel.set_state("failed", f"Failed: {first}", error=True)
        self._show_error(first, details or message)

    def _show_error(self, first: str, details: str) -> None:
        """A window-modal box (never blocks the event loop): ``first`` shown, ``details`` under Show Details."""
        self._error_box = show_message(self, "Optimizer", first, details=details)

    def cancel(self) -> None:
        self.panel.cancel()

    def apply_plan(self) -> None:
        """Replace the document's scenario with the plan (one undoable command), its rows equal in all but
        their count merged (:func:`solvers.plan.applied_plan`), and record the scenario before it as the
        baseline the Compare view keeps (:mod:`ui.kit.plan_baseline`)."""
        if self.result is None or not self.result.ok or self.result.plan_scenario is None:
            return
        before = self.doc.scenario
        plan = applied_plan(self.result.plan_scenario)
        self._applied = (self.result, plan)
        self.doc.replace(plan, "Apply optimizer plan")
        plan_baseline(self.doc).record(before, plan)

    @property
    def applied_scenario(self):
        """The scenario "Apply plan" wrote for the result shown (None before it was applied)."""
        return self._applied[1] if self._applied is not None and self._applied[0] is self.result else None

    def export_plan(self, path: str | None = None):
        """Export the plan shown to an Excel workbook in the background (see ui.excel_actions.export_plan)."""
        from ...excel_actions import export_plan
        return export_plan(self, path)

    def shutdown(self, ms: int = 30_000) -> None:
        """Cancel the running jobs (the run, the confidence check, a plan export) and wait for their threads."""
        from ...excel_actions import shutdown_exports
        shutdown_exports(self, ms)          # a plan export started here
        self.confidence_tab.shutdown(ms)
        self.panel.shutdown(ms)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------ results
    def _on_run_done(self, out: RunOutput) -> None:
        self.show_result(out.result, out)
        res = out.result
        if res.ok:
            label = plan_label(res)
            took = f"in {res.timings_s.get('total_s', 0):.1f} s (HiGHS {res.timings_s.get('highs_s', 0):.1f} s)"
            self.panel.set_state("done", f"Done {took}: {label}" if label else
                                 f"Done: {res.status.replace('_', ' ')} {took}.")
            self.confidence_tab.start(res, out.source, self.confidence_paths, self.confidence_replications)
        elif res.status == "check_failed" and res.check is not None:
            # An error, not a footnote: the plan and the engine disagree, so there is no plan to use.
            self.panel.set_state("failed", "Engine check failed: the optimizer's value of its plan and the engine's "
                                           "disagree; the plan must not be used (details in the results).", error=True)
            self._show_error("The engine check of the optimizer's plan failed", check_failure(res))
        else:
            self.panel.set_state("no_plan", recommendation(res)[0])

    def show_result(self, res: OptimizationResult, out: RunOutput | None = None) -> None:
        """Fill the results panel with ``res`` (a run's result or a frontier point's plan)."""
        self.result = res
        self.output = out
        self.confidence_tab.forget_if_not(res)
        self.results.show_result(res, out)
        self._update_apply()
        self.result_shown.emit(res)

    # ------------------------------------------------------------ frontier
    def _on_frontier_done(self, out: FrontierOutput) -> None:
        self.frontier = out
        self._selected_point = None
        self._draw_frontier()
        n_ok = int(frontier_valid(out.table).sum())
        self.chart_tabs.setCurrentWidget(self.frontier_chart)
        self.panel.set_state("done", f"Frontier traced: {n_ok} of {len(out.table)} risk weights solved. "
                                     "Click a point to load its plan.")

    def _draw_frontier(self) -> None:
        table = self.frontier.table if self.frontier is not None else None
        self._frontier_scatter = draw_frontier(self.frontier_chart, table, self._selected_point,
                                               self._on_frontier_clicked)

    def frontier_points(self):
        """The clickable scatter points (for tests and keyboard access)."""
        return [] if self._frontier_scatter is None else list(self._frontier_scatter.points())

    def _on_frontier_clicked(self, _item, points, _ev=None) -> None:
        if points is None or len(points) == 0:
            return
        self.select_frontier_point(int(points[0].data()))

    def select_frontier_point(self, k: int) -> None:
        """Load the plan of frontier row ``k`` into the results panel (and its weight into the form)."""
        if self.frontier is None or self.running:
            return
        try:
            res = frontier_result(self.frontier, k)
            check_plan(res)          # the engine check, as for a plain run (the engine on the run's paths)
            months, capex = capex_by_month(res.plan_scenario)
        except Exception as e:  # noqa: BLE001 - shown to the user
            self._show_error(f"Could not load that plan: {type(e).__name__}: {e}", traceback.format_exc())
            return
        out = RunOutput(res, self.frontier.source, months, capex, origin="frontier")
        self._selected_point = k
        self.show_result(res, out)
        self.risk.setValue(res.settings.risk_aversion)
        self._draw_frontier()
        if res.status == "check_failed" and res.check is not None:
            self.panel.set_state("failed", "Engine check failed for this frontier plan: it must not be used.",
                                 error=True)
            self._show_error("The engine check of the frontier plan failed", check_failure(res))
            return
        label = plan_label(res)
        self.status_label.setText(f"Loaded the frontier plan at risk weight {res.settings.risk_aversion:g}. "
                                  + (f"{label} " if label else "") + "Shadow prices need a full run: press Run.")

    # ------------------------------------------------------------ document
    def _on_doc_changed(self, sc: Scenario) -> None:
        self._update_apply()

    def _update_apply(self) -> None:
        res, out = self.result, self.output
        ok = res is not None and res.ok and res.plan_scenario is not None
        cur = self.doc.scenario
        applied = ok and cur is self.applied_scenario
        source = out.source if out is not None else None
        self.apply_button.setEnabled(ok and not applied and cur is source)
        self.export_plan_button.setEnabled(ok)
        if not ok:
            self.stale_label.setText("")
        elif applied:
            self.stale_label.setText("This plan is applied to the scenario (Edit > Undo reverts it). Compare keeps "
                                     "the scenario as it was before as its baseline: plan minus baseline.")
        elif cur is not source:
            self.stale_label.setText("The scenario changed after this run: press Run again for a plan that "
                                     "matches it.")
        else:
            self.stale_label.setText("")
