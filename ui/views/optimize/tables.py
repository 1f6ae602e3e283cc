"""The Optimize view's tables: the columns of each result table, with units, and their models.

Built from the kit's one column family (:class:`ui.kit.tables.Column`, :class:`ui.kit.tables.FrameModel`);
the frames are the optimizer result's tables (:mod:`solvers.tables`) and the idle-capacity rows
(:func:`solvers.report.idle_capacity`). Money is USD (``usd_m``: shown in millions), power gross MW.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

from ...kit.tables import Column, FrameModel

SHADOW_KINDS = {"site_capacity": "one more MW at a site, every month",
                "capex_budget": "one more budget dollar in a calendar year",
                "site_capacity_month": "one more MW at a site in one month"}


class ShadowPriceModel(FrameModel):
    """Shadow prices: what relaxing a limit by one unit is worth (USD of expected NPV)."""

    COLUMNS = (Column("kind", "Limit relaxed", tip="Which limit gets one more unit"),
               Column("name", "Site / year / month", tip="The site, calendar year or site-month of the limit"),
               Column("value_usd", "Value (USD)", "usd", tip="Gain in the objective (USD) for one more unit"),
               Column("unit", "Per (unit)", tip="The unit the value is per"))

    def display(self, col: Column, v) -> str:
        if col.key == "kind":
            return SHADOW_KINDS.get(v, str(v))
        return super().display(col, v)


CONVERSION_COLUMNS = (
    Column("site", "Site"), Column("start_month", "Start (month)"), Column("ready_month", "Ready (month)"),
    Column("critical_mw", "Critical IT (MW)", "mw"), Column("gross_mw", "Gross (MW)", "mw"),
    Column("capex_usd", "Capex (USD M)", "usd_m"), Column("business_model", "Business model"),
    Column("committed", "Signed (yes/no)", "bool", tip="yes: a commitment from the scenario's conversion plan"))
PURCHASE_COLUMNS = (
    Column("site", "Site"), Column("month", "Delivery (month)"), Column("model", "ASIC model"),
    Column("units", "Units (machines)", "units"), Column("mw", "Power (MW)", "mw"),
    Column("capex_usd", "Capex (USD M)", "usd_m"))
RETIREMENT_COLUMNS = (
    Column("site", "Site"), Column("cohort", "Fleet row (index)", "text"), Column("model", "ASIC model"),
    Column("month", "Retire (month)"), Column("units", "Units (machines)", "units"), Column("mw", "Power (MW)", "mw"),
    Column("salvage_usd", "Salvage (USD M)", "usd_m"))
MOVE_COLUMNS = (
    Column("from_site", "From site"), Column("to_site", "To site"), Column("model", "ASIC model"),
    Column("month", "Leave (month)"), Column("arrive_month", "Arrive (month)"),
    Column("units", "Units (machines)", "units"), Column("mw", "Power at destination (MW)", "mw"),
    Column("cost_usd", "Move cost (USD)", "usd", tip="Packing, freight and re-racking; the machines keep their "
                                                    "book value"))
IDLE_COLUMNS = (
    Column("site", "Site"), Column("from_month", "From (month)"), Column("to_month", "To (month)"),
    Column("idle_mw", "Idle (MW, gross)", "mw", tip="Mean over the months: capacity neither mining nor AI/HPC"),
    Column("reason", "Why idle", tip="What emptied the MW and why the plan does not fill them"))


class IdleModel(FrameModel):
    """Idle capacity (solvers.report.idle_capacity): a reason's tooltip is the whole reason."""

    COLUMNS = IDLE_COLUMNS

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if (role == Qt.ItemDataRole.ToolTipRole and index.isValid() and 0 <= index.row() < len(self._rows)
                and 0 <= index.column() < len(self.columns) and self.columns[index.column()].key == "reason"):
            return self.display(self.columns[index.column()], self._rows[index.row()][index.column()]) or None
        return super().data(index, role)


def result_table(model: QAbstractItemModel, sortable: bool = False) -> QTableView:
    """A read-only table view of a result table: columns sized to their text, the last one stretched."""
    v = QTableView()
    v.setModel(model)
    v.setSortingEnabled(sortable)
    v.setAlternatingRowColors(True)
    v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    v.horizontalHeader().setStretchLastSection(True)
    v.verticalHeader().setVisible(False)
    return v


def idle_table(model: IdleModel) -> QTableView:
    """The idle-capacity table under the MW chart: the reasons column stretches and wraps."""
    t = QTableView()
    t.setModel(model)
    t.setAlternatingRowColors(True)
    head = t.horizontalHeader()
    head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    head.setSectionResizeMode(len(IDLE_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)   # reasons wrap
    t.setWordWrap(True)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.verticalHeader().setVisible(False)
    return t
