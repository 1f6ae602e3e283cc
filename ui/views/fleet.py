"""Fleet: an editable table of ASIC cohorts, adding machines from the catalog, hashrate and breakeven charts.

The table is a :class:`ui.kit.scenario_tables.ScenarioTableModel` over ``scenario.fleet``: every
edit is one undoable command, and a value the scenario rejects is flagged in its cell. Its headers,
units, decimals and tooltips are the fields' declarations (:mod:`minerplan.scenario.fields`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from minerplan.analysis.report import cohort_breakevens
from minerplan.scenario.catalog import CatalogModel, load_catalog
from minerplan.scenario.errors import Problem, ScenarioError
from minerplan.scenario.fields import FLEET_FIELDS, by_path
from minerplan.scenario.fleet_rows import model_site_groups, row_labels
from minerplan.scenario.model import Scenario

from ..charts import Chart
from ..kit.scenario_tables import ScenarioTableModel, make_table, selected_rows, show_first_flag
from ..kit.tables import ALIGN_NUMBER, error_text, field_column
from ..lazy import when_shown

_F = by_path(FLEET_FIELDS)
#: The read-only first-month breakevens of each cohort (:func:`minerplan.analysis.report.cohort_breakevens`).
BREAKEVEN_KEYS = ("breakeven_power_usd_per_kwh", "breakeven_btc_price_usd")


def _site_names(sc: Scenario) -> list[str]:
    return [s.name for s in sc.sites]


def _efficiency(model: "FleetTableModel", row: int) -> float:
    c = model.row_obj(row)
    return c.power_w / c.hashrate_ths


def _breakeven(field: str):
    def get(model: "FleetTableModel", row: int):
        be = model.breakevens
        if be is None or row >= len(be[field]):
            return None
        return float(be[field][row])
    return get


def _month_or_none(value) -> str | None:
    """A typed month (``YYYY-MM``, the scenario checks it), or None for a blank cell: the field is unset."""
    text = "" if value is None else str(value).strip()
    return text or None


class FleetTableModel(ScenarioTableModel):
    """``scenario.fleet``: one row per cohort, with J/TH and first-month breakevens (read-only)."""

    section = "fleet"
    columns = [
        field_column(_F["model"]),
        field_column(_F["site"], kind="choice", choices=_site_names),
        field_column(_F["count"]),
        # when the row's machines arrive and leave: what tells apart the rows of a cohort a plan split
        *(field_column(_F[k], optional=True, parse=_month_or_none) for k in ("purchase_month", "retire_month")),
        *(field_column(_F[k]) for k in ("hashrate_ths", "power_w")),
        field_column(_F["efficiency_j_per_th"], value=_efficiency),
        *(field_column(_F[k]) for k in ("uptime_pct", "degradation_pct_per_year", "purchase_price_usd", "age_months",
                                        "salvage_usd")),
        *(field_column(_F[k], value=_breakeven(k)) for k in BREAKEVEN_KEYS),
    ]

    def __init__(self, doc, evaluation=None, parent=None):
        self.breakevens: dict[str, np.ndarray] | None = None
        super().__init__(doc, evaluation, parent)

    def cell_tip(self, row: int, col) -> str | None:
        """The model cell names the row readably (``Antminer S19j Pro @ Georgia, sold 2026-06``: row_labels)."""
        if col.key == "model" and 0 <= row < len(self.doc.scenario.fleet):
            return row_labels(self.doc.scenario.fleet)[row]
        return super().cell_tip(row, col)

    def compute(self, result) -> None:
        if result is None or not result.scenario.fleet:
            self.breakevens = None
            return
        df = cohort_breakevens(result)
        self.breakevens = {k: df[k].to_numpy(dtype=float) for k in BREAKEVEN_KEYS}


def cohort_from_catalog(m: CatalogModel, site: str, count: float, purchase_month: str | None = None) -> dict:
    """A fleet row for ``count`` new units of a catalog model, with the scenario's usual defaults."""
    row = {"model": m.model, "count": count, "hashrate_ths": m.hashrate_ths, "power_w": m.power_w, "site": site,
           "uptime_pct": 97.0, "degradation_pct_per_year": 2.0,
           "purchase_price_usd": round(m.unit_price_usd, 2), "age_months": 0, "useful_life_months": 48,
           "salvage_usd": 0.0}
    if purchase_month:
        row["purchase_month"] = purchase_month
    return row


def free_capacity_mw(sc: Scenario, site: str) -> float:
    """Gross MW still free at ``site`` for machines running from the start (PUE included)."""
    s = next((s for s in sc.sites if s.name == site), None)
    if s is None:
        return 0.0
    load = sum(c.count * c.power_w / 1e6 for c in sc.fleet if c.site == site and not c.retire_month)
    return max(s.capacity_mw - load * s.pue, 0.0)


class CatalogDialog(QDialog):
    """Pick a catalog model (TH/s, W, J/TH, USD/TH), a site and a count."""

    HEADERS = ["Model", "Hashrate (TH/s)", "Power (W)", "Efficiency (J/TH)", "Price (USD/TH)", "Unit price (USD)"]

    def __init__(self, scenario: Scenario, catalog: dict[str, CatalogModel], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add machines from the catalog")
        self.scenario = scenario
        self.catalog = catalog
        self.models = list(catalog.values())
        self.table = QTableWidget(len(self.models), len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for r, m in enumerate(self.models):
            cells = [m.model, f"{m.hashrate_ths:,.0f}", f"{m.power_w:,.0f}", f"{m.efficiency_j_per_th:.1f}",
                     f"{m.price_usd_per_th:,.2f}", f"{m.unit_price_usd:,.0f}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(ALIGN_NUMBER)
                item.setToolTip(f"spec: {m.spec_source}\nprice: {m.price_source}")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.site = QComboBox()
        self.site.addItems(_site_names(scenario))
        self.count = QSpinBox()
        self.count.setRange(1, 10_000_000)
        self.count.setGroupSeparatorShown(True)
        self.count.setSuffix(" units")
        self.fits = QLabel("")
        self.fits.setStyleSheet("color: #5f6368;")
        self.buy = QCheckBox("Bought during the horizon (capex in the delivery month)")
        self.buy.setChecked(True)
        self.month = QLineEdit(scenario.start_month)
        self.month.setPlaceholderText("YYYY-MM")
        self.buy.toggled.connect(self.month.setEnabled)
        form = QFormLayout()
        form.addRow("Site", self.site)
        form.addRow("Count", self.count)
        form.addRow("", self.fits)
        form.addRow(self.buy)
        form.addRow("Delivery month (YYYY-MM)", self.month)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Catalog models (prices marked est in the catalog are estimates)"))
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(self.buttons)
        self.table.itemSelectionChanged.connect(self._update_fit)
        self.site.currentIndexChanged.connect(self._update_fit)
        if self.models:
            self.table.selectRow(0)
        self.resize(760, 520)

    def selected_model(self) -> CatalogModel | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.models[min(rows)] if rows else None

    def select_model(self, name: str) -> None:
        for r, m in enumerate(self.models):
            if m.model == name:
                self.table.selectRow(r)
                return
        raise KeyError(name)

    def fitting_units(self) -> int:
        m = self.selected_model()
        site = next((s for s in self.scenario.sites if s.name == self.site.currentText()), None)
        if m is None or site is None:
            return 0
        return int(free_capacity_mw(self.scenario, site.name) * 1e6 / (m.power_w * site.pue))

    def _update_fit(self) -> None:
        m = self.selected_model()
        n = self.fitting_units()
        free = free_capacity_mw(self.scenario, self.site.currentText())
        self.fits.setText(f"{n:,} units fit in the {free:,.1f} MW free at {self.site.currentText()}"
                          if m else "select a model")
        if m is not None and n >= 1:
            self.count.setValue(min(n, 10_000_000))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(m is not None)

    def choice(self) -> tuple[str, str, int, str | None]:
        """(model, site, count, delivery month or None)."""
        m = self.selected_model()
        month = self.month.text().strip() if self.buy.isChecked() else None
        return (m.model if m else "", self.site.currentText(), self.count.value(), month or None)


def cohort_label(i: int, model: str, n: int) -> str:
    """A short x-axis label: the model without its brand when there is room (the site goes on a second line),
    else the bar's number (1-based)."""
    if n > 12:
        return str(i + 1)
    for brand in ("Antminer ", "Whatsminer ", "Avalon ", "Bitmain ", "MicroBT ", "Canaan "):
        if model.startswith(brand):
            model = model[len(brand):]
            break
    return model[:14]


class FleetView(QWidget):
    """The fleet table, add/remove buttons, and bar charts of hashrate and breakeven BTC price by cohort."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._catalog: dict[str, CatalogModel] | None = None
        self.model = FleetTableModel(doc, evaluation, self)
        self.table = make_table(self.model)
        self.add_button = QPushButton("Add from catalog…")
        self.add_button.setToolTip("Add a cohort of a catalog model (TH/s, W, J/TH, USD/TH) at a site")
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setToolTip("Remove the selected cohorts (one undoable edit)")
        self.add_button.clicked.connect(self.open_catalog_dialog)
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a50021;")
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        bar.addWidget(self.status, 1)
        self.hashrate_chart = Chart("Hashrate by model @ site", "PH/s (nameplate)", dates=False)
        self.breakeven_chart = Chart("Breakeven BTC price by model @ site", "USD per BTC", dates=False)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.hashrate_chart)
        charts.addWidget(self.breakeven_chart)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(bar)
        tl.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(charts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.model.dataChanged.connect(self._show_flag)
        evaluation.updated.connect(when_shown(self, self.on_result))
        if evaluation.result is not None:
            self.on_result(evaluation.result, evaluation.summary)

    # ---- protocol ----
    def charts(self) -> list[Chart]:
        return [self.hashrate_chart, self.breakeven_chart]

    def set_presentation(self, on: bool) -> None:
        for c in self.charts():
            c.set_presentation(on)
        f = QFont(self.table.font())
        f.setPointSize(14 if on else 10)
        self.table.setFont(f)
        self.table.verticalHeader().setDefaultSectionSize(34 if on else 24)
        self.table.resizeColumnsToContents()

    # ---- catalog ----
    @property
    def catalog(self) -> dict[str, CatalogModel]:
        if self._catalog is None:
            self._catalog = load_catalog()
        return self._catalog

    def open_catalog_dialog(self) -> None:
        try:
            catalog = self.catalog
        except (OSError, ScenarioError) as e:
            self.status.setText(f"Cannot read the ASIC catalog: {e}")
            return
        dlg = CatalogDialog(self.doc.scenario, catalog, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.add_from_catalog(*dlg.choice())

    def add_from_catalog(self, model: str, site: str, count: float,
                         purchase_month: str | None = None) -> ScenarioError | None:
        """Append a cohort of a catalog model (one undoable edit); returns the error when it is rejected."""
        m = self.catalog.get(model)
        if m is None:
            err = ScenarioError([Problem("fleet", f"{model!r} is not in the ASIC catalog")])
            self.status.setText(f"Not added: {error_text(err)}")
            return err
        row = cohort_from_catalog(m, site, count, purchase_month)

        def mutate(data: dict) -> None:
            data.setdefault("fleet", []).append(row)

        err = self.model.edit(mutate, f"Add {count:,} x {model} at {site}")
        self.status.setText(f"Not added: {error_text(err)}" if err else "")
        if err is None:
            self.table.selectRow(self.model.rowCount() - 1)
        return err

    def remove_rows(self, rows: list[int]) -> ScenarioError | None:
        rows = sorted({r for r in rows if 0 <= r < self.model.rowCount()})
        if not rows:
            self.status.setText("Select the cohorts to remove first")
            return None

        def mutate(data: dict) -> None:
            for r in reversed(rows):
                del data["fleet"][r]

        err = self.model.edit(mutate, "Remove " + ", ".join(f"fleet[{r}]" for r in rows))
        self.status.setText(f"Not removed: {error_text(err)}" if err else "")
        return err

    def remove_selected(self) -> ScenarioError | None:
        return self.remove_rows(selected_rows(self.table))

    # ---- feedback ----
    def _show_flag(self, *_args) -> None:
        show_first_flag(self.model, self.status)

    # ---- charts ----
    def on_result(self, res, _summary=None) -> None:
        sc = res.scenario
        hc, bc = self.hashrate_chart, self.breakeven_chart
        hc.clear()
        bc.clear()
        n = len(sc.fleet)
        if not n:
            for chart in (hc, bc):
                chart.set_empty_hint("No machines in the fleet: add some from the catalog")
            return
        # One bar per model @ site: a cohort a plan split into kept and sold rows is one bar (model_site_groups).
        groups = list(model_site_groups(sc.fleet).values())
        x = np.arange(len(groups), dtype=float)
        labels = [(float(k), cohort_label(k, sc.fleet[rows[0]].model, len(groups))
                   + ("" if len(groups) > 12 else f"\n{sc.fleet[rows[0]].site}")) for k, rows in enumerate(groups)]
        per_row = np.array([c.count * c.hashrate_ths / 1000.0 for c in sc.fleet])
        ph = np.array([per_row[rows].sum() for rows in groups])
        hc.bars("Nameplate hashrate (PH/s)", x, ph, 0, width=0.7)
        hc.set_category_ticks(labels)       # model, then site; each line fitted to its bar's slot
        be = self.model.breakevens
        if be is None or len(be["breakeven_btc_price_usd"]) != n:
            df = cohort_breakevens(res)
            be = {"breakeven_btc_price_usd": df["breakeven_btc_price_usd"].to_numpy(dtype=float)}
        row_be = np.nan_to_num(np.asarray(be["breakeven_btc_price_usd"], float), posinf=0.0)
        power = np.array([c.count * c.power_w for c in sc.fleet])     # a group's breakeven: weighted by wall power
        heights = np.array([np.average(row_be[r], weights=power[r]) if power[r].sum() > 0 else row_be[r].mean()
                            for r in groups])
        bc.bars("Breakeven BTC price (USD/BTC)", x, heights, 1, width=0.7)
        bc.hline(float(res.btc_price_usd[0, 0]), f"BTC price now ${res.btc_price_usd[0, 0]:,.0f}", 6)
        bc.set_category_ticks(labels)
