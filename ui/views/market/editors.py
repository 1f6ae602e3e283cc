"""The Market view's editors of scenario fields: one number field, and the table of price points.

Both edit the scenario through the document, one undoable command per change. A value the scenario
rejects stays where it was typed, flagged red with the rule it breaks in the tooltip, and the scenario
does not change. Typed numbers are read leniently (``$91,500``; text that is no number is passed on so
the validator names the rule, "must be a number"). Rejected values are the document's rejection sources:
Save lists them all first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLineEdit, QWidget

from minerplan.formats import grouped, parse_lenient
from minerplan.scenario.dotted import get_path, set_path, unset_path
from minerplan.scenario.errors import ScenarioError, field_words

from ...kit.messages import Rejection
from ...kit.scenario_tables import ScenarioTableModel
from ...kit.tables import Column

INVALID_STYLE = "background: #fde2e1; border: 1px solid #c00000;"


def problems_text(err: ScenarioError, prefix: str | None = None) -> str:
    """The problems of ``err`` (those under ``prefix`` when there are any), one per line, in people's words."""
    probs = err.problems
    if prefix:
        mine = [p for p in probs if p.path == prefix or p.path.startswith((prefix + ".", prefix + "["))]
        probs = mine or probs
    return "\n".join(p.text for p in probs[:10])



class FieldEdit(QLineEdit):
    """A number field bound to one scenario field (``"market.btc_price_usd"``).

    Committing (Enter or leaving the field) pushes one undoable edit; a value the scenario
    rejects is kept in the field, flagged red with the rule in the tooltip, and nothing changes.
    """

    def __init__(self, doc, path: str, tip: str = "", parent: QWidget | None = None, *, optional: bool = False):
        super().__init__(parent)
        self.doc = doc
        self.path = path
        self.tip = tip
        self.optional = optional      # a blank field removes the value (the scenario's default applies)
        self.error: str | None = None
        self.setToolTip(tip)
        self.editingFinished.connect(self.commit)
        if hasattr(doc, "add_rejection_source"):
            doc.add_rejection_source(self.rejections)
        self.load()

    def current(self) -> Any:
        return get_path(self.doc.scenario, self.path)

    def load(self) -> None:
        """Show the scenario's value (clears a flag)."""
        self.set_error(None)
        self.setText(grouped(self.current()))

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.setStyleSheet(INVALID_STYLE if message else "")
        self.setToolTip(f"{self.tip}\n\nNot applied:\n{message}\nField: {self.path}".strip() if message
                        else self.tip)

    def rejections(self) -> list[Rejection]:
        """This field's rejected value, while it shows one (for the document's list before a save)."""
        if not self.error:
            return []
        return [Rejection(field_words(self.path) or self.path, self.text(), self.error, self.path)]

    def commit(self) -> bool:
        value = parse_lenient(self.text())
        if value == self.current() and type(value) is not str:
            self.set_error(None)
            self.setText(grouped(value))
            return True
        self.set_error(None)   # so the reload after a successful edit shows the stored value
        if self.optional and value == "":
            if self.current() is None:
                return True
            err = self.doc.try_edit(lambda d: unset_path(d, self.path), f"Clear {self.path}")
        else:
            err = self.doc.try_edit(lambda d: set_path(d, self.path, value), f"Edit {self.path}")
        if err is not None:
            self.set_error(problems_text(err, self.path))
            return False
        return True

    def set_value_text(self, text: str) -> bool:
        """Type ``text`` and commit it (what a person does; used by tests)."""
        self.setText(text)
        return self.commit()



class PricePointsModel(ScenarioTableModel):
    """The price path's points: month (YYYY-MM) and BTC price (USD), rows numbered from 1."""

    section = "price_path.points"
    first_row_number = 1
    columns = [
        Column("month", "Month (YYYY-MM)", "text", tip="calendar month YYYY-MM"),
        Column("btc_price_usd", "BTC price (USD)", "float", decimals=0, tip="BTC price at that month, USD",
               parse=parse_lenient),
    ]

    def commit(self, row: int, col: Column, value: Any) -> ScenarioError | None:
        def mutate(d: dict) -> None:
            d["price_path"]["points"][row][col.key] = value

        return self.edit(mutate, f"Edit price point {row + 1}")
