"""The Compare view: the current document next to snapshots, scenario files and the scenario before an applied
plan (:mod:`.view`), and its KPI table with one difference column per scenario against the baseline (:mod:`.table`).
"""

from PySide6.QtWidgets import QMessageBox  # noqa: F401 - the view's message boxes (tests patch them here)

from .table import KPIS, MISSING, Entry, KpiTableModel
from .view import BEFORE_PLAN, CompareView

__all__ = ["BEFORE_PLAN", "KPIS", "MISSING", "CompareView", "Entry", "KpiTableModel"]
