"""The Optimize view's results panel: KPI line, recommendation, MW by use (with why MW stand idle), capex, tables.

:class:`ResultsPanel` shows one :class:`~solvers.result.OptimizationResult` (a run's, or a frontier
point's plan) and the run's capex schedule (:class:`~ui.views.optimize.work.RunOutput`): the KPI
line and the recommendation in words (:mod:`.texts`), the stacked MW by use per site and its idle
rows, the capex bars, the frontier chart's tab, and the tables of shadow prices, conversions,
purchases, retirements and moves (:mod:`.tables`). The Apply and Export buttons are the view's to wire.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QTableView,
                               QTabWidget, QVBoxLayout, QWidget)

from solvers.report import idle_capacity
from solvers.result import OptimizationResult

from ...charts import Chart, month_ts
from .frontier_chart import TRACE_HINT
from .tables import (CONVERSION_COLUMNS, MOVE_COLUMNS, PURCHASE_COLUMNS, RETIREMENT_COLUMNS, FrameModel, IdleModel,
                     ShadowPriceModel, idle_table, result_table)
from .texts import BLUE, kpi_text, recommendation_text, warning_colour
from .work import RunOutput

ALL_SITES = "All sites"
_EMPTY = "-"

#: The panel's widgets the view shows as its own attributes.
WIDGETS = ("kpi_label", "recommendation_label", "stale_label", "apply_button", "export_plan_button", "site_combo",
           "allocation_chart", "capex_chart", "frontier_chart", "chart_tabs", "idle_model", "idle_table",
           "shadow_model", "shadow_proxy", "conversion_model", "purchase_model", "retirement_model", "move_model",
           "tables", "table_tabs")


def scrolling_text() -> tuple[QLabel, QScrollArea]:
    """A selectable plain-text label, top-left aligned, in a scroll area (recommendation, confidence)."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(label)
    return label, scroll


class ResultsPanel(QWidget):
    """The right-hand side of the Optimize view (see the module)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.shown: OptimizationResult | None = None
        self.presentation = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.kpi_label = QLabel(_EMPTY)
        self.kpi_label.setWordWrap(True)
        self.kpi_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recommendation_label, rec_scroll = scrolling_text()
        rec_scroll.setMinimumHeight(90)
        self.stale_label = QLabel("")
        self.stale_label.setWordWrap(True)
        self.stale_label.setStyleSheet("color: #bf9000;")
        self.apply_button = QPushButton("Apply plan to scenario")
        self.apply_button.setToolTip("Write the plan (conversions, purchases, sales and moves, in whole machines) "
                                     "into the scenario; Undo restores the scenario as it was, and Compare keeps "
                                     "it as the baseline (plan minus baseline)")
        self.apply_button.setEnabled(False)
        self.export_plan_button = QPushButton("Export plan to Excel…")
        self.export_plan_button.setToolTip("Write the planned scenario as a live Excel workbook, with the optimizer's "
                                           "decisions as inputs on its Plan sheet (runs in the background)")
        self.export_plan_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.kpi_label, 1)
        top.addWidget(self.export_plan_button)
        top.addWidget(self.apply_button)
        self.set_label_fonts()

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(rec_scroll)
        split.addWidget(self._build_charts())
        split.addWidget(self._build_tables())
        split.setSizes([160, 420, 220])
        lay.addLayout(top)
        lay.addWidget(self.stale_label)
        lay.addWidget(split, 1)

    def _build_charts(self) -> QTabWidget:
        self.site_combo = QComboBox()
        self.site_combo.setToolTip("The site whose MW by use is shown (All sites: the sum)")
        self.site_combo.currentIndexChanged.connect(self.draw_allocation)
        self.allocation_chart = Chart("Capacity by use", "MW (gross)")
        self.capex_chart = Chart("Capex by month (AI/HPC conversions and ASIC purchases)", "USD million per month")
        self.frontier_chart = Chart("Efficient frontier (click a point to load its plan)", "Expected NPV (USD million)",
                                    dates=False)
        self.frontier_chart.item.setLabel("bottom", "CVaR of NPV loss (USD million)")
        self.frontier_chart.set_empty_hint(TRACE_HINT)
        alloc_box = QWidget()
        al = QVBoxLayout(alloc_box)
        al.setContentsMargins(0, 0, 0, 0)
        sel = QHBoxLayout()
        sel.addWidget(QLabel("Site:"))
        sel.addWidget(self.site_combo)
        sel.addStretch(1)
        al.addLayout(sel)
        # Under the chart: where MW stand idle and why (solvers.idle), for the site chosen above.
        self.idle_model = IdleModel(parent=self)
        self.idle_frame: pd.DataFrame | None = None
        self.idle_table = idle_table(self.idle_model)
        alloc_split = QSplitter(Qt.Orientation.Vertical)
        alloc_split.addWidget(self.allocation_chart)
        alloc_split.addWidget(self.idle_table)
        alloc_split.setSizes([300, 110])
        al.addWidget(alloc_split, 1)
        charts = QTabWidget()
        charts.addTab(alloc_box, "MW by use")
        charts.addTab(self.capex_chart, "Capex schedule")
        charts.addTab(self.frontier_chart, "Efficient frontier")
        self.chart_tabs = charts
        return charts

    def _build_tables(self) -> QTabWidget:
        self.shadow_model = ShadowPriceModel(parent=self)
        self.shadow_proxy = QSortFilterProxyModel(self)
        self.shadow_proxy.setSourceModel(self.shadow_model)
        self.shadow_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.conversion_model = FrameModel(CONVERSION_COLUMNS, self)
        self.purchase_model = FrameModel(PURCHASE_COLUMNS, self)
        self.retirement_model = FrameModel(RETIREMENT_COLUMNS, self)
        self.move_model = FrameModel(MOVE_COLUMNS, self)
        tables = QTabWidget()
        self.tables: dict[str, QTableView] = {}
        for key, title, model in (("shadow", "Shadow prices", self.shadow_proxy),
                                  ("conversions", "Conversions", self.conversion_model),
                                  ("purchases", "Purchases", self.purchase_model),
                                  ("retirements", "Retirements", self.retirement_model),
                                  ("moves", "Moves", self.move_model)):
            v = result_table(model, sortable=key == "shadow")
            tables.addTab(v, title)
            self.tables[key] = v
        self.table_tabs = tables
        return tables

    # ------------------------------------------------------------ showing a result
    def show_result(self, res: OptimizationResult, out: RunOutput | None) -> None:
        """Fill the panel with ``res`` and, when it has one, the run's capex schedule."""
        self.shown = res
        self.recommendation_label.setText(recommendation_text(res))
        self.set_label_fonts()     # a draft's or a failed check's text in red, a time-limited plan's in amber
        self.kpi_label.setText(kpi_text(res, from_run=out is not None and out.origin == "run"))
        self.shadow_model.set_frame(res.shadow_prices)
        self.conversion_model.set_frame(res.conversions)
        self.purchase_model.set_frame(res.purchases)
        self.retirement_model.set_frame(res.retirements)
        self.move_model.set_frame(res.moves)
        for view in self.tables.values():
            view.resizeColumnsToContents()
        self._fill_sites(res)
        self.idle_frame = idle_capacity(res)
        self.draw_allocation()
        self.draw_capex(out)

    def set_label_fonts(self) -> None:
        big = self.presentation
        warn = warning_colour(self.shown)
        self.kpi_label.setStyleSheet(f"font-size: {20 if big else 14}px; font-weight: 600; color: {warn or BLUE};")
        self.recommendation_label.setStyleSheet(f"font-size: {20 if big else 13}px;"
                                                + (f" color: {warn};" if warn else ""))

    def charts(self) -> list[Chart]:
        return [self.allocation_chart, self.capex_chart, self.frontier_chart]

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        for c in self.charts():
            c.set_presentation(on)
        self.set_label_fonts()

    def _fill_sites(self, res: OptimizationResult) -> None:
        keep = self.site_combo.currentText()
        sites = list(dict.fromkeys(res.allocation["site"].tolist())) if len(res.allocation) else []
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        if sites:
            self.site_combo.addItems([ALL_SITES] + sites)
            i = self.site_combo.findText(keep)
            self.site_combo.setCurrentIndex(i if i >= 0 else 0)
        self.site_combo.blockSignals(False)

    def allocation_series(self, site: str | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
        """Months and gross MW by use (mining, AI/HPC, idle) for ``site`` (None or All sites: the sum)."""
        res = self.shown
        if res is None or len(res.allocation) == 0:
            return [], {}
        a = res.allocation
        if site and site != ALL_SITES:
            a = a[a["site"] == site]
        g = a.groupby("month", sort=True)[["mining_mw", "ai_mw", "idle_mw"]].sum()
        return list(g.index), {"Mining (MW)": g["mining_mw"].to_numpy(float),
                               "AI/HPC (MW)": g["ai_mw"].to_numpy(float),
                               "Idle (MW)": g["idle_mw"].to_numpy(float)}

    def draw_allocation(self, *_) -> None:
        c = self.allocation_chart
        c.clear()
        site = self.site_combo.currentText() or ALL_SITES
        months, series = self.allocation_series(site)
        c.title.setText(f"Capacity by use: {site}" if months else "Capacity by use")
        if months:
            c.stacked(month_ts(months), series)
        self.idle_model.set_frame(self.idle_rows(site))

    def idle_rows(self, site: str | None = None) -> pd.DataFrame:
        """Where the plan shown leaves MW idle and why (``solvers.report.idle_capacity``): site, from/to
        month, idle MW (gross, mean over the months), reason; for ``site`` (None or All sites: every site)."""
        idle = self.idle_frame
        if idle is None or not len(idle) or not site or site == ALL_SITES:
            return idle
        return idle[idle["site"] == site]

    def draw_capex(self, out: RunOutput | None) -> None:
        c = self.capex_chart
        c.clear()
        if out is None or out.capex_usd is None or not len(out.capex_months):
            return
        c.bars("Capex (USD million)", month_ts(out.capex_months), out.capex_usd / 1e6, 1)
