"""Sites: an editable table of sites and power contracts (and their AI/HPC convertibility), hourly price
profiles loaded from CSV, and the monthly P&L of the selected site.

The table's headers, units, decimals and tooltips are the fields' declarations
(:mod:`minerplan.scenario.fields`); renaming a site renames every reference to it in the same edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from minerplan.scenario.errors import ScenarioError
from minerplan.scenario.fields import SITE_FIELDS, by_path
from minerplan.sheets.profile_csv import ProfileError, read_profile_csv

from ..charts import Chart, month_ts
from ..kit.scenario_tables import ScenarioTableModel, make_table, selected_rows, show_first_flag
from ..kit.tables import Column, error_text, field_column
from ..lazy import when_shown


def _rename_site(data: dict, row: int, value: Any) -> None:
    """Rename a site and every reference to it (fleet, conversion plan) in the same edit."""
    old = data["sites"][row]["name"]
    data["sites"][row]["name"] = value
    for c in data.get("fleet", []):
        if c.get("site") == old:
            c["site"] = value
    for cv in data.get("conversion_plan", []):
        if cv.get("site") == old:
            cv["site"] = value


def _set_convertible(data: dict, row: int, value: Any) -> None:
    """Convertible MW; on a site without an ai section this creates one (defaults for the rest);
    an empty cell removes the section."""
    site = data["sites"][row]
    if value is None:
        site.pop("ai", None)
    else:
        site.setdefault("ai", {})["convertible_gross_mw"] = value


def _has_profile(model: "SitesTableModel", row: int) -> str:
    return "yes" if model.row_obj(row).hourly_price_usd_per_mwh is not None else "no"


_F = by_path(SITE_FIELDS)
#: Columns of a site's AI section, editable once the site has one (convertible MW entered).
AI_KEYS = ("ai.critical_mw_per_gross_mw", "ai.conversion_capex_usd_per_critical_mw", "ai.lead_time_months")


class SitesTableModel(ScenarioTableModel):
    """``scenario.sites``: contracts, curtailment, take-or-pay, opex and AI convertibility per site."""

    section = "sites"
    columns = [
        field_column(_F["name"], apply=_rename_site),
        *(field_column(_F[k]) for k in ("capacity_mw", "power_price_usd_per_mwh", "pue",
                                        "curtailment_credit_usd_per_mwh", "curtailment_enabled",
                                        "take_or_pay_mwh_per_month", "mining_opex_usd_per_mw_month")),
        field_column(_F["hourly_price_usd_per_mwh"], value=_has_profile),
        field_column(_F["ai.convertible_gross_mw"], apply=_set_convertible, optional=True),
        *(field_column(_F[k]) for k in AI_KEYS),
    ]

    def cell_editable(self, row: int, col: Column) -> bool:
        if col.key in AI_KEYS and self.row_obj(row).ai is None:
            return False
        return col.editable

    def cell_tip(self, row: int, col: Column) -> str | None:
        if col.key in AI_KEYS and self.row_obj(row).ai is None:
            return "no AI section at this site: enter convertible MW first"
        return col.tip or None

    def display(self, row: int, col: Column, value: Any) -> str:
        if col.key == "hourly_price_usd_per_mwh":
            return str(value)
        return super().display(row, col, value)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.TextAlignmentRole and index.isValid() and \
                self.columns[index.column()].key == "hourly_price_usd_per_mwh":
            return Qt.AlignmentFlag.AlignCenter
        return super().data(index, role)

    def commit(self, row: int, col: Column, value: Any) -> ScenarioError | None:
        if col.key == "name":
            old = self.row_obj(row).name

            def mutate(data: dict) -> None:
                _rename_site(data, row, value)

            return self.edit(mutate, f"Rename site {old!r} to {value!r}")
        return super().commit(row, col, value)


class SitesView(QWidget):
    """The sites table with profile and add/remove buttons, and the monthly P&L of the selected site."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._site_row = 0
        self.model = SitesTableModel(doc, evaluation, self)
        self.table = make_table(self.model)
        self.add_button = QPushButton("Add site")
        self.add_button.setToolTip("Add a site with a 10 MW, 50 USD/MWh contract (edit it in the table)")
        self.remove_button = QPushButton("Remove site")
        self.remove_button.setToolTip("Remove the selected site with its cohorts and planned conversions")
        self.load_button = QPushButton("Load 12x24 profile from CSV…")
        self.load_button.setToolTip("12 rows (January..December) x 24 hourly prices (hour 0..23), USD/MWh")
        self.clear_button = QPushButton("Clear profile")
        self.clear_button.setToolTip("Use the flat contract price at the selected site again")
        self.add_button.clicked.connect(self.add_site)
        self.remove_button.clicked.connect(self._remove_clicked)
        self.load_button.clicked.connect(self.load_profile_dialog)
        self.clear_button.clicked.connect(lambda: self.clear_profile())
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a50021;")
        bar = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.load_button, self.clear_button):
            bar.addWidget(b)
        bar.addWidget(self.status, 1)
        self.pnl_chart = Chart("Monthly P&L of the selected site", "USD per month")
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(bar)
        tl.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.pnl_chart)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self.model.modelReset.connect(self._after_reset)
        self.model.dataChanged.connect(self._show_flag)
        evaluation.updated.connect(when_shown(self, self.on_result))
        if evaluation.result is not None:
            self.on_result(evaluation.result, evaluation.summary)

    # ---- protocol ----
    def charts(self) -> list[Chart]:
        return [self.pnl_chart]

    def set_presentation(self, on: bool) -> None:
        self.pnl_chart.set_presentation(on)
        f = QFont(self.table.font())
        f.setPointSize(14 if on else 10)
        self.table.setFont(f)
        self.table.verticalHeader().setDefaultSectionSize(34 if on else 24)
        self.table.resizeColumnsToContents()

    # ---- selection ----
    def current_site(self) -> int:
        n = len(self.doc.scenario.sites)
        return min(max(self._site_row, 0), n - 1)

    def select_site(self, row: int) -> None:
        self._site_row = row
        self.table.setCurrentIndex(self.model.index(row, 0))
        self.table.selectRow(row)
        self._redraw()

    def _on_current_row(self, current, _previous) -> None:
        if current.isValid() and current.row() != self._site_row:
            self._site_row = current.row()
            self._redraw()

    def _after_reset(self) -> None:
        row = self.current_site()
        self.table.setCurrentIndex(self.model.index(row, 0))

    # ---- sites ----
    def add_site(self) -> ScenarioError | None:
        names = {s.name for s in self.doc.scenario.sites}
        k = len(names) + 1
        while f"Site {k}" in names:
            k += 1
        name = f"Site {k}"

        def mutate(data: dict) -> None:
            data["sites"].append({"name": name, "capacity_mw": 10, "power_price_usd_per_mwh": 50})

        err = self.model.edit(mutate, f"Add site {name!r}")
        self.status.setText(f"Not added: {error_text(err)}" if err else "")
        if err is None:
            self.select_site(len(self.doc.scenario.sites) - 1)
        return err

    def remove_site(self, row: int) -> ScenarioError | None:
        """Remove a site, its cohorts and its planned conversions (one undoable edit)."""
        sc = self.doc.scenario
        if not 0 <= row < len(sc.sites):
            return None
        name = sc.sites[row].name

        def mutate(data: dict) -> None:
            del data["sites"][row]
            data["fleet"] = [c for c in data.get("fleet", []) if c["site"] != name]
            data["conversion_plan"] = [c for c in data.get("conversion_plan", []) if c["site"] != name]

        err = self.model.edit(mutate, f"Remove site {name!r}")
        self.status.setText(f"Not removed: {error_text(err)}" if err else "")
        return err

    def _remove_clicked(self) -> None:
        rows = selected_rows(self.table) or [self.current_site()]
        sc = self.doc.scenario
        row = rows[0]
        if not 0 <= row < len(sc.sites):
            return
        name = sc.sites[row].name
        n_fleet = sum(1 for c in sc.fleet if c.site == name)
        n_conv = sum(1 for c in sc.conversion_plan if c.site == name)
        if n_fleet or n_conv:
            answer = QMessageBox.question(self, "Remove site",
                                          f"Remove {name!r} with its {n_fleet} cohort(s) and {n_conv} planned "
                                          "conversion(s)? (Undo brings them back.)")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.remove_site(row)

    # ---- hourly profiles ----
    def load_profile_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a 12 x 24 hourly price profile (USD/MWh)", "",
                                              "CSV (*.csv *.txt);;All files (*)")
        if path:
            msg = self.load_profile_from_file(path)
            if msg:
                QMessageBox.warning(self, "Profile not loaded", msg)

    def load_profile_from_file(self, path: str | Path, row: int | None = None) -> str | None:
        """Set the selected (or given) site's 12 x 24 profile from a CSV; returns the error message, if any."""
        row = self.current_site() if row is None else row
        try:
            profile = read_profile_csv(path)
        except ProfileError as e:
            msg = e.describe()
            self.status.setText(msg)
            return msg
        name = self.doc.scenario.sites[row].name

        def mutate(data: dict) -> None:
            data["sites"][row]["hourly_price_usd_per_mwh"] = profile

        err = self.model.edit(mutate, f"Load hourly profile for site {name!r}")
        if err is not None:
            msg = f"{Path(path).name}: {error_text(err)}"
            self.status.setText(msg)
            return msg
        self.status.setText(f"Loaded a 12 x 24 profile for {name} from {Path(path).name}")
        return None

    def clear_profile(self, row: int | None = None) -> ScenarioError | None:
        row = self.current_site() if row is None else row
        site = self.doc.scenario.sites[row]
        if site.hourly_price_usd_per_mwh is None:
            self.status.setText(f"{site.name} has no hourly profile")
            return None

        def mutate(data: dict) -> None:
            data["sites"][row].pop("hourly_price_usd_per_mwh", None)

        err = self.model.edit(mutate, f"Clear hourly profile of site {site.name!r}")
        self.status.setText(f"Not cleared: {error_text(err)}" if err else "")
        return err

    # ---- feedback ----
    def _show_flag(self, *_args) -> None:
        show_first_flag(self.model, self.status)

    # ---- chart ----
    def on_result(self, res, _summary=None) -> None:
        self._redraw(res)

    def pnl_series(self, res=None, site: int | None = None) -> dict[str, Any]:
        """The selected site's monthly mining revenue, power cost, AI revenue and EBITDA (USD, path 0)."""
        res = res or self.evaluation.result
        s = self.current_site() if site is None else site
        return {
            "Mining revenue": res.mining_revenue_usd[0, :, s],
            "Power cost": res.power_cost_usd[0, :, s],
            "AI revenue": res.ai.revenue_usd[:, s],
            "EBITDA": res.ebitda_usd[0, :, s],
        }

    def _redraw(self, res=None) -> None:
        res = res or self.evaluation.result
        chart = self.pnl_chart
        chart.clear()
        if res is None or not res.scenario.sites:
            return
        s = min(self.current_site(), len(res.scenario.sites) - 1)
        chart.title.setText(f"Monthly P&L: {res.scenario.sites[s].name}")
        x = month_ts(res.months)
        for i, (name, y) in enumerate(self.pnl_series(res, s).items()):
            chart.line(name, x, y, i, width=2.5 if name == "EBITDA" else 2.0, dash=name == "Power cost")
