"""The Risk view's hedge table: one row per hedge, its kind's fields in columns, a problem shown in its cell.

The table is a draft of the scenario's hedge book: each edit is named (``edited(text)``) so the view
can put it on the document's undo stack once the book is valid; an invalid draft stays in the table,
its problems in their cells, until it is fixed.

Rows are hedges as schema dicts (:mod:`minerplan.scenario.hedges`); a cell typed as text is read
with :func:`_parse` (a number where one is expected; anything else stays text, so the book's
validator names the rule it breaks). A new row gets month and price defaults from the scenario
(:func:`scenario_defaults`: its first month, its first-month BTC price and hashprice). Units: strikes
and premiums in USD, forwards in USD per PH/s per day on PH/s, volatilities and rates in % per year.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate

from minerplan.formats import number_text
from minerplan.markets.prices import deterministic_path
from minerplan.scenario.hedges import HEDGE_SCHEMA_VERSION, HedgeBook
from minerplan.scenario.model import Scenario
from minerplan.scenario.months import add_months

KIND_LABELS = {"hashprice_forward": "hashprice forward", "btc_put": "BTC put", "btc_collar": "BTC collar"}
_LABEL_KINDS = {v.lower(): k for k, v in KIND_LABELS.items()} | {k: k for k in KIND_LABELS}

# (column key, header); the key maps to a schema field per kind (None: not used by that kind)
COLUMNS = [("kind", "Kind"), ("fixed", "Fixed (USD per PH/s per day)"), ("notional", "Notional (PH/s)"),
           ("start", "Start month"), ("tenor", "Tenor (months)"), ("strike", "Strike / put strike (USD)"),
           ("call", "Call strike (USD)"), ("btc", "BTC amount"), ("expiry", "Expiry month"),
           ("vol", "Implied vol (%)"), ("rf", "Risk-free (%)")]
FIELDS = {
    "hashprice_forward": {"fixed": "fixed_usd_per_ph_day", "notional": "notional_ph", "start": "start_month",
                          "tenor": "tenor_months"},
    "btc_put": {"strike": "strike_usd", "btc": "btc_amount", "expiry": "expiry_month", "vol": "implied_vol_pct",
                "rf": "risk_free_pct"},
    "btc_collar": {"strike": "put_strike_usd", "call": "call_strike_usd", "btc": "btc_amount",
                   "expiry": "expiry_month", "vol": "implied_vol_pct", "rf": "risk_free_pct"},
}
_INT_FIELDS = {"tenor_months"}
_TEXT_FIELDS = {"start_month", "expiry_month"}


def _parse(field: str, text: str) -> Any:
    """Cell text -> a value for the schema; text that is not a number stays text (the validator names it).

    Not :func:`minerplan.formats.parse_lenient`: a whole number typed in a float field stays a float
    here, a fraction in an integer field and a non-finite number stay the text typed (so the message
    names what was typed), and only commas are separators.
    """
    t = text.strip().replace(",", "")
    if field in _TEXT_FIELDS:
        return text.strip()
    try:
        if field in _INT_FIELDS:
            return int(t)
        v = float(t)
        return v if math.isfinite(v) else text.strip()
    except ValueError:
        return text.strip()


# --------------------------------------------------------------------------- defaults from the scenario

def scenario_defaults(sc: Scenario, *, preset: str | None = None, hashprice_usd_per_ph_day: float | None = None
                      ) -> dict[str, Any]:
    """Month and price defaults for a new hedge row (first-month BTC price and hashprice of ``sc``)."""
    btc0 = float(deterministic_path(sc, preset=preset)[0])
    if hashprice_usd_per_ph_day is None:
        from minerplan.engine.evaluate import run_engine
        res = run_engine(sc, n_paths=1, preset=preset)
        hashprice_usd_per_ph_day = float(res.hashprice_usd_per_th_day[0, 0]) * 1000.0
    last = sc.horizon_months - 1
    return {"start_month": sc.start_month, "tenor_months": max(1, min(12, sc.horizon_months)),
            "expiry_month": add_months(sc.start_month, min(6, last)), "btc0": btc0,
            "hashprice": float(hashprice_usd_per_ph_day)}


def default_hedge(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    if kind == "hashprice_forward":
        return {"kind": kind, "fixed_usd_per_ph_day": float(max(1, round(d["hashprice"]))), "notional_ph": 1000.0,
                "start_month": d["start_month"], "tenor_months": d["tenor_months"]}
    put = float(max(1, round(0.85 * d["btc0"])))
    common = {"btc_amount": 100.0, "expiry_month": d["expiry_month"], "implied_vol_pct": 50.0, "risk_free_pct": 4.0}
    if kind == "btc_put":
        return {"kind": kind, "strike_usd": put, **common}
    if kind == "btc_collar":
        return {"kind": kind, "put_strike_usd": put, "call_strike_usd": float(round(1.2 * d["btc0"])), **common}
    raise ValueError(f"unknown hedge kind {kind!r}")


# --------------------------------------------------------------------------- the model

class HedgeTableModel(QAbstractTableModel):
    """Rows of hedges as schema dicts. Every edit emits ``edited(text)``, ``text`` naming it for the undo
    history ("Edit hedge 2 strike_usd"); :meth:`show_hedges` replaces the rows without. ``errors`` maps
    (row, column key) -> message."""

    edited = Signal(str)

    def __init__(self, defaults_fn: Callable[[], dict[str, Any]], parent=None):
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.errors: dict[tuple[int, str], str] = {}
        self._defaults_fn = defaults_fn       # () -> scenario_defaults(...) (computed when a row is added)

    # ---- Qt model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return str(section + 1)

    def field(self, row: int, col: int) -> str | None:
        key = COLUMNS[col][0]
        if key == "kind":
            return "kind"
        return FIELDS.get(self.rows[row].get("kind"), {}).get(key)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.field(index.row(), index.column()) is None:
            return Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        f = self.field(r, c)
        row, key = self.rows[r], COLUMNS[c][0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if f is None:
                return ""
            if f == "kind":
                return KIND_LABELS.get(row.get("kind"), str(row.get("kind")))
            return number_text(row.get(f))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.errors.get((r, key)) or (f if f not in (None, "kind") else None)
        if role == Qt.ItemDataRole.BackgroundRole:
            if (r, key) in self.errors:
                return QBrush(QColor("#f8d7da"))
            if f is None:
                return QBrush(QColor("#f1f3f4"))
        if role == Qt.ItemDataRole.TextAlignmentRole and key not in ("kind", "start", "expiry"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        r, c = index.row(), index.column()
        f = self.field(r, c)
        if f is None:
            return False
        if f == "kind":
            kind = _LABEL_KINDS.get(str(value).strip().lower())
            if kind is None:
                return False
            self.set_kind(r, kind)
            return True
        self.rows[r][f] = _parse(f, str(value)) if isinstance(value, str) else value
        self.dataChanged.emit(index, index)
        self.edited.emit(f"Edit hedge {r + 1} {f}")
        return True

    # ---- editing API (buttons, tests)
    def set_kind(self, r: int, kind: str) -> None:
        old = self.rows[r]
        if old.get("kind") == kind:
            return
        new = default_hedge(kind, self._defaults_fn())
        for k in ("btc_amount", "expiry_month", "implied_vol_pct", "risk_free_pct"):
            if k in old and k in new:
                new[k] = old[k]
        put = old.get("strike_usd", old.get("put_strike_usd"))
        if put is not None:
            new["strike_usd" if kind == "btc_put" else "put_strike_usd"] = put
        if kind == "hashprice_forward":
            new = default_hedge(kind, self._defaults_fn())
        self.rows[r] = {k: v for k, v in new.items() if k in ("kind", *FIELDS[kind].values())}
        self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))
        self.edited.emit(f"Change hedge {r + 1} to {KIND_LABELS[kind]}")

    def add(self, kind: str = "btc_put") -> int:
        row = default_hedge(kind, self._defaults_fn())
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.rows.append(row)
        self.endInsertRows()
        self.edited.emit(f"Add hedge ({KIND_LABELS[kind]})")
        return n

    def remove(self, r: int) -> None:
        if 0 <= r < len(self.rows):
            self.beginRemoveRows(QModelIndex(), r, r)
            del self.rows[r]
            self.endRemoveRows()
            self.edited.emit(f"Remove hedge {r + 1}")

    def set_value(self, r: int, field: str, value: Any) -> None:
        """Set a schema field of row ``r`` (as typed in the cell when ``value`` is text)."""
        cols = [c for c in range(len(COLUMNS)) if self.field(r, c) == field]
        if not cols:
            raise KeyError(f"{self.rows[r].get('kind')} has no field {field}")
        self.setData(self.index(r, cols[0]), value)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": HEDGE_SCHEMA_VERSION, "hedges": [dict(r) for r in self.rows]}

    def set_book(self, book: HedgeBook, text: str = "Replace hedges") -> None:
        """All of ``book``'s hedges in place of the rows, as one edit named ``text``."""
        self.show_hedges(book.hedges)
        self.edited.emit(text)

    def show_hedges(self, hedges) -> None:
        """Show ``hedges`` (pydantic hedges; None: none) in place of the rows; not an edit (no ``edited``)."""
        self.beginResetModel()
        self.rows = [h.model_dump() for h in (hedges or [])]
        self.errors = {}
        self.endResetModel()

    def set_errors(self, errors: dict[tuple[int, str], str]) -> None:
        self.errors = errors
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))


class KindDelegate(QStyledItemDelegate):
    """A drop-down of the three hedge kinds in the Kind column."""

    def createEditor(self, parent, option, index):  # noqa: N802
        box = QComboBox(parent)
        box.addItems(list(KIND_LABELS.values()))
        return box

    def setEditorData(self, editor, index):  # noqa: N802
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole))

    def setModelData(self, editor, model, index):  # noqa: N802
        model.setData(index, editor.currentText())


def problem_cell(path: str) -> tuple[int, str] | None:
    """``hedges[1].strike_usd`` -> (1, column key)."""
    if not path.startswith("hedges["):
        return None
    try:
        i = int(path[len("hedges["):path.index("]")])
    except ValueError:
        return None
    rest = path[path.index("]") + 1:].lstrip(".")
    name = rest.split(".")[0].split("[")[0]
    if name == "kind":
        return i, "kind"
    for fields in FIELDS.values():
        for key, f in fields.items():
            if f == name:
                return i, key
    return None
