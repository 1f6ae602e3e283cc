"""AI/HPC: per-site business model (colocation lease or GPU cloud) forms, the conversion plan table,
and AI revenue and capex per month. The forms' labels and tooltips and the table's headers are the
fields' declarations (:mod:`minerplan.scenario.fields`).

Every change is one undoable edit through the document; a value the scenario
rejects turns its field light red with the rule as the tooltip, and the
scenario stays as it was.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)

from minerplan.formats import number_text, parse_number
from minerplan.scenario.dotted import get_path, set_path
from minerplan.scenario.errors import Problem, ScenarioError, field_words
from minerplan.scenario.fields import BUSINESS_MODELS, CONVERSION_FIELDS, SITE_FIELDS, Field, app_header, by_path

from ..charts import Chart, month_ts
from ..kit.messages import Rejection
from ..kit.scenario_tables import ScenarioTableModel, make_table, selected_rows, show_flags
from ..kit.tables import ALIGN_NUMBER, INVALID_STYLE, error_text, field_column
from ..lazy import when_shown

_SITE = by_path(SITE_FIELDS)
_PLAN = by_path(CONVERSION_FIELDS)


def _form(*paths: str) -> list[Field]:
    """The AI section's fields of ``sites[i]`` at ``paths`` (relative to ``ai``), as the form edits them."""
    return [_SITE[f"ai.{p}"] for p in paths]


SITE_FORM = _form("business_model", "load_factor_pct", "facility_life_months")
COLOCATION_FORM = _form("colocation.rate_usd_per_kw_month", "colocation.escalator_pct_per_year",
                        "colocation.term_months", "colocation.tenant_pays_power", "colocation.opex_usd_per_kw_month")
GPU_FORM = _form("gpu_cloud.gpus_per_critical_mw", "gpu_cloud.usd_per_gpu_hour", "gpu_cloud.rate_decline_pct_per_year",
                 "gpu_cloud.utilization_pct", "gpu_cloud.gpu_capex_usd", "gpu_cloud.useful_life_months",
                 "gpu_cloud.opex_usd_per_gpu_month")


def form_key(f: Field) -> str:
    """A form field's key: its path inside ``sites[i].ai``."""
    return f.path.removeprefix("ai.")


def _ai_site_names(sc) -> list[str]:
    return [s.name for s in sc.sites if s.ai is not None]


class ConversionTableModel(ScenarioTableModel):
    """``scenario.conversion_plan``: signed conversions (site, gross MW, start month, business model)."""

    section = "conversion_plan"
    columns = [
        field_column(_PLAN["site"], kind="choice", choices=_ai_site_names),
        field_column(_PLAN["gross_mw"]),
        field_column(_PLAN["start_month"]),
        field_column(_PLAN["business_model"], none_label="(site's model)"),
    ]


class AiView(QWidget):
    """Site AI forms, the conversion plan and an AI revenue/capex chart."""

    def __init__(self, doc, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.evaluation = evaluation
        self._site_name: str | None = None
        self._own_edit = False
        #: field key -> the rule a rejected value broke
        self.flags: dict[str, str] = {}
        doc.add_rejection_source(self.rejections)     # Save lists them first
        self.fields: dict[str, QWidget] = {}
        self._specs = {form_key(f): f for f in SITE_FORM + COLOCATION_FORM + GPU_FORM}

        self.site_combo = QComboBox()
        self.site_combo.setToolTip("sites with an AI section (add one in Sites: set convertible MW)")
        self.site_combo.currentTextChanged.connect(self._on_site_chosen)
        self.note = QLabel("")
        self.note.setStyleSheet("color: #5f6368;")
        self.note.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(QLabel("Site"))
        head.addWidget(self.site_combo)
        head.addWidget(self.note, 1)

        self.site_box = self._group("Site", SITE_FORM)
        self.colo_box = self._group("Colocation lease", COLOCATION_FORM)
        self.gpu_box = self._group("GPU cloud", GPU_FORM)
        forms = QHBoxLayout()
        for box in (self.site_box, self.colo_box, self.gpu_box):
            forms.addWidget(box)

        self.plan_model = ConversionTableModel(doc, evaluation, self)
        self.plan_table = make_table(self.plan_model)
        self.add_button = QPushButton("Add conversion")
        self.add_button.setToolTip("Add a conversion at the selected site (edit MW and month in the table)")
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setToolTip("Remove the selected conversions (one undoable edit)")
        self.add_button.clicked.connect(lambda: self.add_conversion())
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a50021;")
        plan_bar = QHBoxLayout()
        plan_bar.addWidget(QLabel("Conversion plan"))
        plan_bar.addWidget(self.add_button)
        plan_bar.addWidget(self.remove_button)
        plan_bar.addWidget(self.status, 1)

        self.chart = Chart("AI/HPC revenue and capex, all sites", "USD per month")

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addLayout(head)
        tl.addLayout(forms)
        tl.addLayout(plan_bar)
        tl.addWidget(self.plan_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.chart)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        self.plan_model.dataChanged.connect(self._show_plan_flag)
        doc.changed.connect(when_shown(self, self._on_scenario))
        evaluation.updated.connect(when_shown(self, self.on_result))
        self._fill_sites()
        if evaluation.result is not None:
            self.on_result(evaluation.result, evaluation.summary)

    # ---- protocol ----
    def charts(self) -> list[Chart]:
        return [self.chart]

    def set_presentation(self, on: bool) -> None:
        self.chart.set_presentation(on)
        f = QFont(self.font())
        f.setPointSize(14 if on else 10)
        for w in [self.plan_table, self.site_box, self.colo_box, self.gpu_box]:
            w.setFont(f)
        self.plan_table.verticalHeader().setDefaultSectionSize(34 if on else 24)
        self.plan_table.resizeColumnsToContents()

    # ---- the form ----
    def _group(self, title: str, specs: list[Field]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for spec in specs:
            key = form_key(spec)
            if spec.kind == "choice":
                w = QComboBox()
                w.addItems(list(BUSINESS_MODELS))
                w.textActivated.connect(lambda text, k=key: self.commit(k, text))
            elif spec.kind == "bool":
                w = QCheckBox()
                w.clicked.connect(lambda checked, k=key: self.commit(k, bool(checked)))
            else:
                w = QLineEdit()
                w.setAlignment(ALIGN_NUMBER)
                w.editingFinished.connect(lambda k=key: self._line_done(k))
            w.setToolTip(spec.tip)
            self.fields[key] = w
            form.addRow(app_header(spec), w)
        return box

    def site_index(self) -> int | None:
        """Index in ``scenario.sites`` of the site the form shows (None when no site has an AI section)."""
        for i, s in enumerate(self.doc.scenario.sites):
            if s.name == self._site_name and s.ai is not None:
                return i
        return None

    def select_site(self, name: str) -> None:
        self.site_combo.setCurrentText(name)

    def _fill_sites(self) -> None:
        names = _ai_site_names(self.doc.scenario)
        keep = self._site_name if self._site_name in names else (names[0] if names else None)
        self.site_combo.blockSignals(True)
        self.site_combo.clear()
        self.site_combo.addItems(names)
        if keep is not None:
            self.site_combo.setCurrentText(keep)
        self.site_combo.blockSignals(False)
        self._site_name = keep
        enabled = keep is not None
        for box in (self.site_box, self.colo_box, self.gpu_box):
            box.setEnabled(enabled)
        self.add_button.setEnabled(enabled)
        self._load_fields()

    def _on_site_chosen(self, name: str) -> None:
        if name and name != self._site_name:
            self._site_name = name
            self._clear_flags()
            self._load_fields()

    def _load_fields(self) -> None:
        i = self.site_index()
        ai = self.doc.scenario.sites[i].ai if i is not None else None
        if ai is None:
            self.note.setText("No site has an AI section: enter convertible MW for a site in Sites.")
        else:
            crit = ai.convertible_gross_mw * ai.critical_mw_per_gross_mw
            lease = (ai.colocation.rate_usd_per_kw_month - ai.colocation.opex_usd_per_kw_month) * 1000.0
            self.note.setText(f"{ai.convertible_gross_mw:,.0f} MW gross convertible ({crit:,.0f} MW critical IT), "
                              f"{ai.lead_time_months} months lead time; lease net of opex "
                              f"${lease:,.0f} per critical MW-month now")
        for key, w in self.fields.items():
            if key in self.flags:
                continue  # keep the rejected text in view
            v = get_path(ai, key) if ai is not None else None
            w.blockSignals(True)
            if isinstance(w, QComboBox):
                w.setCurrentText(str(v) if v is not None else BUSINESS_MODELS[0])
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            else:
                w.setText(number_text(v))
            w.blockSignals(False)
        self._update_model_boxes(ai.business_model if ai is not None else None)

    def _update_model_boxes(self, business_model: str | None) -> None:
        self.colo_box.setTitle("Colocation lease" + (" (in use)" if business_model == "colocation" else ""))
        self.gpu_box.setTitle("GPU cloud" + (" (in use)" if business_model == "gpu_cloud" else ""))

    def _line_done(self, key: str) -> None:
        self.commit(key, self.fields[key].text())

    def set_field(self, key: str, value: Any) -> ScenarioError | None:
        """Type ``value`` into a field and commit it, as a user would (for tests and scripting)."""
        w = self.fields[key]
        if isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        else:
            w.setText(str(value))
        return self.commit(key, value if not isinstance(w, QLineEdit) else w.text())

    def commit(self, key: str, raw: Any) -> ScenarioError | None:
        """One undoable edit of ``sites[i].ai.<key>``; flags the field when the scenario rejects it."""
        i = self.site_index()
        if i is None:
            return None
        spec = self._specs[key]
        path = f"sites[{i}].ai.{key}"
        try:
            if spec.kind in ("number", "integer"):
                value = parse_number(raw, integer=spec.kind == "integer")
            elif spec.kind == "bool":
                value = bool(raw)
            else:
                value = str(raw)
                if value not in BUSINESS_MODELS:
                    raise ValueError(f"{value!r} is not one of {', '.join(BUSINESS_MODELS)}")
        except ValueError as e:
            err = ScenarioError([Problem(path, str(e))], None)
            self._flag(key, error_text(err, path))
            return err
        current = get_path(self.doc.scenario.sites[i].ai, key)
        if value == current:
            self._unflag(key)
            return None

        def mutate(data: dict) -> None:
            set_path(data["sites"][i]["ai"], key, value)

        self._own_edit = True
        try:
            err = self.doc.try_edit(mutate, f"Edit {path}")
        finally:
            self._own_edit = False
        if err is not None:
            self._flag(key, error_text(err, path))
            return err
        self._unflag(key)
        return None

    def _flag(self, key: str, message: str) -> None:
        self.flags[key] = message
        w = self.fields[key]
        w.setStyleSheet(INVALID_STYLE)
        w.setToolTip(f"{message}\n\nField: sites[{self.site_index()}].ai.{key}")
        self.status.setText(f"Rejected: {message.splitlines()[0]}")

    def _unflag(self, key: str) -> None:
        if self.flags.pop(key, None) is not None:
            w = self.fields[key]
            w.setStyleSheet("")
            w.setToolTip(self._specs[key].tip)
            if not self.flags and self.status.text().startswith("Rejected"):
                self.status.setText("")

    def _clear_flags(self) -> None:
        for key in list(self.flags):
            self._unflag(key)

    def _on_scenario(self, _sc) -> None:
        if not self._own_edit:
            self._clear_flags()  # undo, redo or an edit elsewhere: show the scenario's values again
        self._fill_sites()

    # ---- conversion plan ----
    def add_conversion(self, site: str | None = None, gross_mw: float | None = None,
                       start_month: str | None = None, business_model: str | None = None) -> ScenarioError | None:
        """Append a conversion (one undoable edit): by default the form's site, the MW still convertible
        there (at most 10 MW), starting in the scenario's first month."""
        sc = self.doc.scenario
        site = site or self._site_name
        s = next((x for x in sc.sites if x.name == site), None)
        if s is None or s.ai is None:
            self.status.setText("Pick a site with an AI section first")
            return None
        if gross_mw is None:
            planned = sum(c.gross_mw for c in sc.conversion_plan if c.site == site)
            free = s.ai.convertible_gross_mw - planned
            gross_mw = min(10.0, free) if free > 0 else 10.0
        row = {"site": site, "gross_mw": gross_mw, "start_month": start_month or sc.start_month}
        if business_model:
            row["business_model"] = business_model

        def mutate(data: dict) -> None:
            data.setdefault("conversion_plan", []).append(row)

        err = self.plan_model.edit(mutate, f"Add conversion of {gross_mw:g} MW at {site}")
        self.status.setText(f"Not added: {error_text(err)}" if err else "")
        return err

    def remove_rows(self, rows: list[int]) -> ScenarioError | None:
        rows = sorted({r for r in rows if 0 <= r < self.plan_model.rowCount()})
        if not rows:
            self.status.setText("Select the conversions to remove first")
            return None

        def mutate(data: dict) -> None:
            for r in reversed(rows):
                del data["conversion_plan"][r]

        err = self.plan_model.edit(mutate, "Remove " + ", ".join(f"conversion_plan[{r}]" for r in rows))
        self.status.setText(f"Not removed: {error_text(err)}" if err else "")
        return err

    def remove_selected(self) -> ScenarioError | None:
        return self.remove_rows(selected_rows(self.plan_table))

    def _show_plan_flag(self, *_args) -> None:
        if self.plan_model.flagged_cells() or not self.flags:
            show_flags(self.plan_model, self.status)

    def rejections(self) -> list[Rejection]:
        """The form's rejected values (still red), for the document's list before a save."""
        i = self.site_index()
        out = []
        for key, message in self.flags.items():
            w, path = self.fields[key], f"sites[{i}].ai.{key}"
            typed = w.currentText() if isinstance(w, QComboBox) else getattr(w, "text", lambda: "")()
            out.append(Rejection(field_words(path) or key, typed, message, path))
        return out

    # ---- chart ----
    def chart_series(self, res=None) -> dict[str, Any]:
        res = res or self.evaluation.result
        return {"AI revenue": res.ai.revenue_usd.sum(axis=1), "AI capex": res.ai.capex_usd.sum(axis=1)}

    def on_result(self, res, _summary=None) -> None:
        c = self.chart
        c.clear()
        x = month_ts(res.months)
        for i, (name, y) in enumerate(self.chart_series(res).items()):
            c.line(name, x, y, i + 2, fill_to=0.0 if name == "AI revenue" else None, dash=name == "AI capex")
