"""Editing the BTC price path on the Market view's chart: drawing it, dragging and adding points, presets.

:class:`PricePathEditing` is the part of :class:`~ui.views.market.view.MarketView` that draws the
deterministic path (and the Monte Carlo fan) with a draggable target per point (x snaps to months,
prices to whole USD), and turns every change into one undoable edit of ``price_path``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer

from minerplan.markets.prices import PRESETS, deterministic_path, preset_changes
from minerplan.scenario.market import PricePath, PricePoint
from minerplan.scenario.months import add_months, month_index

from ...charts import color, month_ts
from ...evaluation import MonteCarloFan
from ...kit.messages import show_status
from .editors import problems_text


class PricePathEditing:
    """Price path drawing and edits, mixed into the Market view (uses its doc, evaluation, chart, status)."""

    def _current_mc(self) -> MonteCarloFan | None:
        mc = self.evaluation.mc_result
        if mc is None or mc.scenario is not self.doc.scenario or mc.n_paths <= 1 or self.evaluation.mc.paths <= 1:
            return None
        return mc

    def _draw(self) -> None:
        sc = self.doc.scenario
        x = month_ts(sc.months)
        ch = self.chart
        ch.clear()
        mc = self._current_mc()
        if mc is not None:
            q = mc.btc_price_usd_q
            ch.fan(f"BTC price, {mc.n_paths:,} paths (USD)", x, q[0], q[1], q[2], 1)
            self.mc_status.setText(f"fan: {mc.n_paths:,} paths, P5-P95 shaded")
        path = deterministic_path(sc)
        self._path_item = ch.line("price path (USD)", x, path, 0, width=2.5)
        top = float(np.max(path))
        if self.evaluation.mc.preset:
            alt = deterministic_path(sc, preset=self.evaluation.mc.preset)
            ch.line(f"run-time preset {self.evaluation.mc.preset} (USD)", x, alt, 2, dash=True)
            top = max(top, float(np.max(alt)))
        if mc is not None:
            top = max(top, float(np.max(q[2])))
        if sc.price_path.kind == "points" and sc.price_path.points:
            top = max(top, max(p.btc_price_usd for p in sc.price_path.points))
        # From zero, so a flat path is not a zoomed-in smear, to above the fan's P95 and every point; kept
        # while a point is dragged (the range must not move under the mouse).
        ch.fixed_y = (0.0, top * 1.15)
        ch.fit()
        self.targets = []
        if sc.price_path.kind == "points":
            for i, pt in enumerate(sc.price_path.points):
                t = pg.TargetItem(pos=(float(month_ts([pt.month])[0]), pt.btc_price_usd), size=13, symbol="o",
                                  pen=pg.mkPen(color(0), width=2), brush=pg.mkBrush(255, 255, 255, 230),
                                  hoverPen=pg.mkPen(color(1), width=2), hoverBrush=pg.mkBrush(color(1, 120)))
                t.setToolTip(f"point {i + 1}: {pt.month}, {pt.btc_price_usd:,.0f} USD - drag to move")
                t.sigPositionChanged.connect(lambda item, k=i: self._on_drag(k, item, final=False))
                t.sigPositionChangeFinished.connect(lambda item, k=i: self._on_drag(k, item, final=True))
                ch.item.addItem(t)
                self.targets.append(t)

    # ---- dragging ----
    def _snap(self, k: int, x_ts: float, y: float) -> tuple[int, float]:
        """Month index nearest ``x_ts`` inside the horizon and between point k's neighbours; price >= 1 USD."""
        sc = self.doc.scenario
        xs = month_ts(sc.months)
        m = int(np.argmin(np.abs(xs - x_ts)))
        pts = sc.price_path.points
        lo = month_index(sc.start_month, pts[k - 1].month) + 1 if k > 0 else 0
        hi = month_index(sc.start_month, pts[k + 1].month) - 1 if k + 1 < len(pts) else max(sc.horizon_months - 1, lo)
        m = int(min(max(m, lo), hi)) if lo <= hi else month_index(sc.start_month, pts[k].month)
        return m, float(max(round(y), 1.0))

    def _on_drag(self, k: int, item, final: bool) -> None:
        sc = self.doc.scenario
        if k >= len(sc.price_path.points):
            return
        pos = item.pos()
        m, usd = self._snap(k, pos.x(), pos.y())
        if not final:
            pts = list(sc.price_path.points)
            pts[k] = PricePoint(month=add_months(sc.start_month, m), btc_price_usd=usd)
            try:
                preview = sc.model_copy(update={"price_path": PricePath(kind="points", points=pts)})
                if self._path_item is not None:
                    self._path_item.setData(month_ts(sc.months), deterministic_path(preview))
            except Exception:  # noqa: BLE001 - a preview only
                pass
            return
        # Commit after the mouse event returns: the edit redraws the chart and replaces this item.
        QTimer.singleShot(0, lambda: self.move_point(k, m, usd))

    def move_point(self, k: int, month: int | str, usd: float) -> bool:
        """Move point ``k`` to ``month`` (index from the start month, or YYYY-MM) and ``usd``: one undoable edit."""
        sc = self.doc.scenario
        label = add_months(sc.start_month, month) if isinstance(month, int) else month
        pts = sc.price_path.points
        if 0 <= k < len(pts) and pts[k].month == label and pts[k].btc_price_usd == float(usd):
            self._draw()            # dropped where it was: nothing to undo
            return True

        def mutate(d):
            d["price_path"]["points"][k] = {"month": label, "btc_price_usd": float(usd)}

        return self._edit(mutate, f"Move price point {k + 1} to {label}, ${usd:,.0f}", redraw_on_error=True)

    # ---- edits ----
    def _edit(self, mutate: Callable[[dict], None], text: str, redraw_on_error: bool = False) -> bool:
        err = self.doc.try_edit(mutate, text)
        if err is not None:
            self.status.setText(f"Not applied: {problems_text(err)}")
            if redraw_on_error:
                self._draw()
            return False
        self.status.setText("")
        return True

    def set_kind(self, kind: str) -> bool:
        sc = self.doc.scenario
        if kind == sc.price_path.kind:
            return True
        seed_points = None
        if kind == "points" and not sc.price_path.points:
            path = deterministic_path(sc)
            last = sc.horizon_months - 1
            seed_points = [{"month": sc.start_month, "btc_price_usd": float(path[0])}]
            if last > 0:
                seed_points.append({"month": add_months(sc.start_month, last), "btc_price_usd": float(path[last])})

        def mutate(d):
            d["price_path"]["kind"] = kind
            if seed_points is not None:
                d["price_path"]["points"] = seed_points

        ok = self._edit(mutate, f"Price path: {kind}")
        if not ok:
            self.kind.setCurrentIndex(self.kind.findData(sc.price_path.kind))
        return ok

    def apply_preset(self, name: str) -> bool:
        sc = self.doc.scenario
        preset = PRESETS[name]
        pts = [{"month": add_months(sc.start_month, m), "btc_price_usd": float(usd)} for m, usd in preset.points]

        def mutate(d):
            d["price_path"]["kind"] = "points"
            d["price_path"]["points"] = pts
            if preset.hashrate_capitulation and d["market"].get("network_model", "supply") == "trend":
                d["market"]["network_model"] = "capitulation"   # the story includes miners switching off

        switch = preset.hashrate_capitulation and sc.market.network_model == "trend"
        ok = self._edit(mutate, f"Price preset: {name}" + (" (network: capitulation model)" if switch else ""))
        if ok:      # say everything the preset changed, not only the price (preset_changes)
            show_status(self, f"Applied preset {name}: " + "; ".join(preset_changes(sc, name)), 15_000)
        return ok

    def add_point(self, month: int | None = None, usd: float | None = None) -> bool:
        sc = self.doc.scenario
        pts = sc.price_path.points
        path = deterministic_path(sc)
        if month is None:
            month = month_index(sc.start_month, pts[-1].month) + 1 if pts else 0
        if usd is None:
            usd = float(path[min(max(month, 0), sc.horizon_months - 1)])
        label = add_months(sc.start_month, month)
        new = [{"month": p.month, "btc_price_usd": p.btc_price_usd} for p in pts if p.month != label]
        new.append({"month": label, "btc_price_usd": float(usd)})
        new.sort(key=lambda p: month_index(sc.start_month, p["month"]))

        def mutate(d):
            d["price_path"]["kind"] = "points"
            d["price_path"]["points"] = new

        return self._edit(mutate, f"Add price point {label}")

    def remove_selected(self) -> bool:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows:
            self.status.setText("Select the points to remove in the table first.")
            return False
        return self.remove_points(rows)

    def remove_points(self, rows: list[int]) -> bool:
        def mutate(d):
            for r in sorted(set(rows), reverse=True):
                del d["price_path"]["points"][r]

        return self._edit(mutate, f"Remove {len(rows)} price point(s)")

    def _on_chart_click(self, ev) -> None:
        if not ev.double() or ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.chart.item.vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        sc = self.doc.scenario
        m = int(np.argmin(np.abs(month_ts(sc.months) - p.x())))
        if p.y() > 0:
            self.add_point(m, float(round(p.y())))

