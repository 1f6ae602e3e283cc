"""The optimizer's settings as a form with units: price paths, risk, halls, budget, crews, liquidity, limits.

:class:`SettingsForm` holds the fields and reads them into :class:`~solvers.settings.OptimizerSettings`
(:meth:`SettingsForm.settings`), amounts typed as people type them (``150e6``, ``$150M``,
``150,000,000``: :func:`minerplan.formats.parse_usd`); a bad field is named in ``form_error`` under
the form. The price story and the seed come from the app's Monte Carlo settings (``evaluation.mc``).

The form sits in a scroll area beside the results: it keeps that area as wide as its labels, fields and
placeholder texts need (:meth:`SettingsForm.fit_fields` and :func:`ui.kit.fit.fit_scroll_area`, again
whenever its fonts or rows change, as in presentation mode), so no label or hint is cut and the panel
never scrolls sideways.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QSpinBox,
                               QWidget)

from minerplan.formats import parse_optional_float, parse_usd
from solvers.settings import OptimizerSettings

#: The form's fields (the view shows them as its own attributes).
FIELDS = ("paths", "seed", "preset_label", "risk", "cvar", "hall", "budget", "crews", "start_cash", "floor",
          "credit", "purchases", "retirements", "time_limit", "gap", "form_error")


def _spin(lo, hi, val, suffix, tip, decimals=None, step=None) -> QSpinBox | QDoubleSpinBox:
    w = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        w.setDecimals(decimals)
    w.setRange(lo, hi)
    w.setValue(val)
    if step is not None:
        w.setSingleStep(step)
    if suffix:
        w.setSuffix(suffix)
    w.setToolTip(tip)
    if isinstance(w, QDoubleSpinBox):
        w.setGroupSeparatorShown(True)
    return w


def _line(text, placeholder, tip) -> QLineEdit:
    w = QLineEdit(text)
    w.setPlaceholderText(placeholder)
    w.setToolTip(tip)
    return w


class SettingsForm(QGroupBox):
    """The "Optimizer settings" box; :meth:`add_row` puts the run panel under the fields."""

    def __init__(self, evaluation=None, parent: QWidget | None = None):
        super().__init__("Optimizer settings", parent)
        self.evaluation = evaluation
        form = QFormLayout(self)
        d = OptimizerSettings()
        mc = getattr(evaluation, "mc", None)
        self.paths = _spin(1, 100_000, d.n_paths, " paths",
                           "Monte Carlo BTC price paths the plan must do well on (more: slower, steadier)")
        self.seed = _spin(0, 2_000_000_000, getattr(mc, "seed", d.seed), "",
                          "Random seed of the price paths (same seed, same paths, same plan)")
        self.risk = _spin(0.0, 100.0, d.risk_aversion, " x CVaR",
                          "Weight on the CVaR of the NPV loss in the objective (USD per USD); 0 = risk-neutral",
                          decimals=2, step=0.25)
        self.cvar = _spin(50.0, 99.9, d.cvar_level * 100.0, " %",
                          "Tail level: CVaR averages the loss over the worst (100 - level) % of price paths",
                          decimals=1, step=1.0)
        self.hall = _spin(0.0, 1000.0, d.hall_critical_mw or 0.0, " MW critical",
                          "Conversions in whole halls of this critical IT size (a MIP); 0 = any size (an LP, faster)",
                          decimals=1, step=5.0)
        self.hall.setSpecialValueText("0 = continuous (LP)")
        self.budget = _line("", "blank = no budget",
                            "Capex budget per calendar year in USD, all capex including signed commitments "
                            "(e.g. 150000000, 150e6 or 150M); blank = no budget")
        self.crews = _line("", "blank = no cap",
                           "Most gross MW that may start conversion in one month (construction crews); blank = no cap")
        self.start_cash = _line("", "blank = the scenario's",
                                "Cash on hand at the start, USD; blank = the scenario's finance.starting_cash_usd")
        self.floor = _line("", "blank = the scenario's",
                           "Cash may not fall below this (USD), on expected cash and on a low-price path; blank = "
                           "the scenario's floor (0) when the scenario states its starting cash, else none")
        self.credit = _line("", "blank = the scenario's",
                            "A revolving credit line (USD) that may cover a shortfall below the cash floor; "
                            "blank = the scenario's finance.credit_line_usd")
        self.purchases = QCheckBox("Allow ASIC purchases")
        self.purchases.setChecked(d.allow_purchases)
        self.purchases.setToolTip(f"Let the optimizer buy {', '.join(d.purchase_models)} (catalog price, "
                                  f"{d.purchase_lead_time_months}-month lead time)")
        self.retirements = QCheckBox("Allow retirements")
        self.retirements.setChecked(d.allow_retirements)
        self.retirements.setToolTip("Let the optimizer retire old cohorts at their salvage value (USD per machine)")
        self.time_limit = _spin(1.0, 86_400.0, d.time_limit_s, " s",
                                "Wall-clock limit for HiGHS, seconds; a MIP returns its best plan so far",
                                decimals=0, step=10.0)
        self.gap = _spin(0.0, 50.0, d.mip_gap * 100.0, " %",
                         "Stop the MIP when its plan is within this % of the best possible objective",
                         decimals=2, step=0.1)
        self.preset_label = QLabel("")
        self.refresh_preset()
        self.preset_label.setToolTip("Price story of the paths (from the app's Monte Carlo settings)")

        form.addRow("Price paths (count)", self.paths)
        form.addRow("Seed (integer)", self.seed)
        form.addRow("Price story", self.preset_label)
        form.addRow("Risk aversion (weight on CVaR)", self.risk)
        form.addRow("CVaR level (%)", self.cvar)
        form.addRow("Hall size (MW critical)", self.hall)
        form.addRow("Capex budget (USD/year)", self.budget)
        form.addRow("Max converted (MW/month)", self.crews)
        form.addRow("Starting cash (USD)", self.start_cash)
        form.addRow("Cash floor (USD)", self.floor)
        form.addRow("Credit line (USD)", self.credit)
        form.addRow("", self.purchases)
        form.addRow("", self.retirements)
        form.addRow("Time limit (s)", self.time_limit)
        form.addRow("MIP gap (%)", self.gap)
        for w in (self.budget, self.crews, self.start_cash, self.floor, self.credit):
            w.textChanged.connect(lambda *_: self.form_error.setText(""))
        self.form_error = QLabel("")
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet("color: #a50021;")
        form.addRow(self.form_error)

    def event(self, e: QEvent) -> bool:
        handled = super().event(e)
        if e.type() in (QEvent.Type.FontChange, QEvent.Type.Show):
            self.fit_fields()
        return handled

    def fit_fields(self) -> None:
        """Each amount field at least as wide as its placeholder (the example a user reads), so the form's
        minimum width, which ui.kit.fit keeps its scroll area at, shows every placeholder whole."""
        for w in (self.budget, self.crews, self.start_cash, self.floor, self.credit):
            hint = w.fontMetrics().horizontalAdvance(w.placeholderText()) + 2 * w.fontMetrics().averageCharWidth()
            if w.minimumWidth() != hint:
                w.setMinimumWidth(hint)

    def add_row(self, widget: QWidget) -> None:
        """A full-width row under the fields (the run panel)."""
        self.layout().addRow(widget)

    def refresh_preset(self) -> None:
        preset = getattr(getattr(self.evaluation, "mc", None), "preset", None)
        self.preset_label.setText(preset or "scenario price path")

    def settings(self) -> OptimizerSettings:
        """The settings in the form; raises ValueError/ScenarioError naming a bad field."""
        hall = self.hall.value()
        mc = getattr(self.evaluation, "mc", None)
        self.refresh_preset()
        start_cash = _field(parse_usd, self.start_cash, "Starting cash")
        credit = _field(parse_usd, self.credit, "Credit line")
        st = OptimizerSettings(
            n_paths=int(self.paths.value()), seed=int(self.seed.value()), preset=getattr(mc, "preset", None),
            risk_aversion=float(self.risk.value()), cvar_level=float(self.cvar.value()) / 100.0,
            hall_critical_mw=float(hall) if hall > 0 else None,
            capex_budget_usd_per_year=_field(parse_usd, self.budget, "Capex budget"),
            max_conversion_mw_per_month=_field(lambda t: parse_optional_float(t, "Max converted"), self.crews,
                                               "Max converted"),
            allow_purchases=self.purchases.isChecked(), allow_retirements=self.retirements.isChecked(),
            starting_cash_usd=start_cash,
            min_cash_usd=_field(parse_usd, self.floor, "Cash floor"),
            credit_line_usd=credit,
            time_limit_s=float(self.time_limit.value()), mip_gap=float(self.gap.value()) / 100.0)
        st.check()
        return st


def _field(parse, w: QLineEdit, what: str):
    """``parse(w.text())``; a ValueError's message starts with ``what``."""
    try:
        return parse(w.text())
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith(what) else f"{what}: {msg}") from None
