"""Overview: KPI cards with units, hashprice against cohort breakevens, BTC price with late-2025 levels.

The metrics come from :mod:`minerplan.analysis.kpi` and the evaluation's summary; this module lays them out.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from minerplan.analysis.kpi import (breakeven_hashprice_usd_per_ph_day, fleet_breakeven_power_usd_per_kwh,
                                    headline_years, margin_vs_ai_per_gross_mw_month)
from minerplan.analysis.vocabulary import NPV_ON_PATH, ON_PATH, capitalized, expected_npv, median_npv
from minerplan.engine.evaluate import EngineResult
from minerplan.formats import usd

from ..charts import Chart, month_ts
from ..evaluation import MonteCarloFan
from ..lazy import when_shown

REFERENCE_LEVELS = [(92_000, "$92k break (late Nov 2025)"), (88_000, "$88k gamma flip"),
                    (87_000, "$87k break-down trigger")]
DOWNSIDE_BAND = (72_000, 74_000, "$72-74k downside band")


class KpiCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kpi")
        self.setStyleSheet("#kpi { background: #ffffff; border: 1px solid #d0d4da; border-radius: 6px; }")
        lay = QVBoxLayout(self)
        self.title = QLabel(title)
        self.title.setStyleSheet("color: #5f6368;")
        self.value = QLabel("-")
        self.value.setStyleSheet("font-size: 20px; font-weight: 600; color: #1f4e79;")
        # Long values wrap instead of widening the window (at 30 px in presentation mode the margin
        # card's value alone needed 695 px and pushed the window past a 1600-px screen).
        self.title.setWordWrap(True)
        self.value.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setStyleSheet("color: #5f6368;")
        self.detail.setWordWrap(True)
        for w in (self.title, self.value, self.detail):
            lay.addWidget(w)

    def set(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)

    def set_presentation(self, on: bool) -> None:
        self.value.setStyleSheet(f"font-size: {30 if on else 20}px; font-weight: 600; color: #1f4e79;")


class OverviewView(QWidget):
    """KPIs and the two key charts; refreshes on every evaluation."""

    def __init__(self, evaluation, parent: QWidget | None = None):
        super().__init__(parent)
        self.evaluation = evaluation
        grid = QGridLayout()
        self.cards = {k: KpiCard(t) for k, t in (
            ("hashprice", "Hashprice now"), ("breakeven", "Fleet breakeven power price"),
            ("cost", "Cost per BTC (cash / all-in)"), ("cost_after", "Cost per BTC after the halving"),
            ("npv", "NPV"), ("increment", "The plan against the status quo"),
            ("margin", "Mining margin vs AI revenue"), ("fleet", "Fleet"))}
        for i, card in enumerate(self.cards.values()):
            grid.addWidget(card, i // 4, i % 4)
        self.hashprice_chart = Chart("Hashprice against each cohort's breakeven", "USD per PH/s per day")
        # A log axis shows the whole P5-P95 fan and still keeps the late-2025 levels apart (linear, the
        # upper tail squashed them into a few pixels; capped, it cut the P95 off).
        self.price_chart = Chart("BTC price, with late-2025 reference levels", "USD per BTC (log scale)", log_y=True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.hashprice_chart)
        split.addWidget(self.price_chart)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(split, 1)
        evaluation.updated.connect(when_shown(self, self.on_result))
        evaluation.mc_updated.connect(when_shown(self, self.on_mc))
        if evaluation.result is not None:
            self.on_result(evaluation.result, evaluation.summary)
        mc = evaluation.mc_result
        if mc is not None and evaluation.result is not None and mc.scenario is evaluation.result.scenario:
            self.on_mc(mc, evaluation.mc_summary)   # built after the fan finished: show it at once

    def charts(self) -> list[Chart]:
        return [self.hashprice_chart, self.price_chart]

    def set_presentation(self, on: bool) -> None:
        for c in self.charts():
            c.set_presentation(on)
        for card in self.cards.values():
            card.set_presentation(on)

    def on_result(self, res: EngineResult, doc: dict) -> None:
        sc = res.scenario
        self.cards["hashprice"].set(f"${doc['hashprice_usd_per_ph_day']:,.2f} /PH/day",
                                    f"{doc['hashprice_btc_per_ph_day'] * 1e3:,.4f} mBTC/PH/day; network "
                                    f"{doc['network_hashrate_ehs']:,.0f} EH/s")
        be = fleet_breakeven_power_usd_per_kwh(res)
        if be is not None:
            fleet_be, pay = be
            self.cards["breakeven"].set(f"${fleet_be:,.4f} /kWh", f"power-weighted; the fleet pays ${pay:,.4f}/kWh")
        else:
            self.cards["breakeven"].set("n/a", "no machines")
        now, after = headline_years(res, doc)
        for key, row, what in (("cost", now, "first full year"), ("cost_after", after, "the year after the halving")):
            if row is None:
                self.cards[key].set("n/a", f"no {what} inside the horizon" if key == "cost_after" else "no BTC mined")
                continue
            self.cards[key].title.setText(f"Cost per BTC, {row['period']} (cash / all-in)")
            self.cards[key].set(f"{usd(row['cost_per_btc_cash_usd'])} / {usd(row['cost_per_btc_all_in_usd'])}",
                                f"{what}, on the entered price path; {row['btc_mined'] or 0:,.0f} BTC mined, "
                                f"${row['cost_usd_per_ph_day'] or 0:,.1f} per PH/s-day cash")
        tv = doc.get("terminal_value_pv_usd")
        self._npv_on_path = doc["npv_usd"]
        self.cards["npv"].title.setText(capitalized(NPV_ON_PATH))
        self.cards["npv"].set(usd(doc["npv_usd"]), (f"of which terminal (present value) {usd(tv)}" if tv is not None
                                                    else "")
                              + ("; the Monte Carlo median and expected NPV follow when the fan is ready"
                                 if self.evaluation.mc.paths > 1 else ""))
        inc = doc.get("incremental")
        if inc is None or inc.get("irr_note", "").startswith("the plan is the status quo"):
            self.cards["increment"].set("n/a", "nothing to compare: no conversions, purchases or retirements")
        else:
            irr = "IRR n/a" if inc["irr"] is None else f"IRR {inc['irr'] * 100:,.1f}%/yr"
            pb = inc.get("payback_months")
            payback = "not within the horizon" if pb is None else f"{pb:,.0f} months"
            self.cards["increment"].set(f"{usd(inc['npv_usd'])} of NPV", f"{ON_PATH}; {irr}; payback {payback}"
                                        f"; vs the status quo: {inc['baseline'].removeprefix('the same scenario ')}")
        mining, ai = margin_vs_ai_per_gross_mw_month(res)
        if mining is None:
            head, mine_txt = "n/a", "no machines running"
        else:
            head, mine_txt = f"{usd(mining)}", "mining margin (revenue - power - opex), next 12 months"
        if ai is not None:
            head += f" vs {usd(ai)}"
            ai_txt = "AI lease net of landlord opex at the contract terms"
        else:
            ai_txt = "no convertible site"
        self.cards["margin"].set(f"{head} per gross MW-month", f"{mine_txt}; {ai_txt}")
        # Machines, not fleet rows: a plan's sold and moved rows are the same machines as the rows they left.
        owned = sum(c.count for c in sc.fleet if not c.purchase_month)
        end = sc.months[-1] if sc.months else sc.start_month
        at_end = sum(c.count for c in sc.fleet if (not c.purchase_month or c.purchase_month <= end)
                     and (not c.retire_month or c.retire_month > end))
        self.cards["fleet"].set(f"{doc['fleet_hashrate_ehs']:,.2f} EH/s",
                                f"{owned:,.0f} machines at the start, {at_end:,.0f} at the horizon's end; "
                                f"{len(sc.sites)} sites, {sum(s.capacity_mw for s in sc.sites):,.0f} MW")
        if self.evaluation.mc.paths > 1 and getattr(self, "_sig", (False,))[0]:
            return  # a fan is on screen and a new one is computing: draw once, when it arrives
        self._draw(res, None)

    def on_mc(self, res: MonteCarloFan, doc: dict) -> None:
        p = doc["percentiles"]["npv_usd"]
        lo, hi = doc["expected_npv_ci95_usd"]
        n = doc["paths"]
        on_path = getattr(self, "_npv_on_path", None)
        self.cards["npv"].title.setText(capitalized(median_npv(n)))
        self.cards["npv"].set(usd(doc["npv_usd"]), f"{expected_npv(n)} {usd(doc['expected_npv_usd'])} (95% CI "
                                                   f"{usd(lo)} to {usd(hi)}); P5 / P95 NPV {usd(p['p5'])} / "
                                                   f"{usd(p['p95'])}; P(NPV < 0) {doc['p_npv_negative'] * 100:.0f}%"
                                                   + (f"; {NPV_ON_PATH} {usd(on_path)}" if on_path is not None
                                                      else ""))
        self._draw(self.evaluation.result, res)

    def _draw(self, res: EngineResult, mc: MonteCarloFan | None) -> None:
        """Rebuild the charts when their layout changes, else only move the data (fast on every edit)."""
        x = month_ts(res.months)
        breakevens = breakeven_hashprice_usd_per_ph_day(res)[:8]
        if mc is not None:
            hp_q, px_q = mc.hashprice_usd_per_ph_day_q, mc.btc_price_usd_q
        sig = (mc is not None, tuple(n for n, _ in breakevens), len(res.months))
        if sig != getattr(self, "_sig", None):
            self._sig = sig
            hp, pc = self.hashprice_chart, self.price_chart
            hp.clear()
            pc.clear()
            if mc is not None:
                self._hp_items = hp.fan("Hashprice", x, hp_q[0], hp_q[1], hp_q[2], 0)
            else:
                self._hp_items = (hp.line("Hashprice", x, res.hashprice_usd_per_th_day[0] * 1000.0, 0),)
            self._be_items = [hp.line(name, x, np.full(x.size, level), i + 1, width=1.2, dash=True)
                              for i, (name, level) in enumerate(breakevens)]
            if mc is not None:
                self._pc_items = pc.fan("BTC price", x, px_q[0], px_q[1], px_q[2], 0)
            else:
                self._pc_items = (pc.line("BTC price", x, res.btc_price_usd[0], 0),)
            for k, (level, label) in enumerate(REFERENCE_LEVELS):
                pc.hline(level, label, 6, at=(0.98, 0.55, 0.02)[k % 3])
            pc.band(*DOWNSIDE_BAND, i=1, at=0.98)       # labelled under the band: clear of the $92k label
        else:
            hp, pc = self.hashprice_chart, self.price_chart
            if mc is not None:
                lo, hi, mid = self._hp_items
                lo.setData(x, hp_q[0])
                hi.setData(x, hp_q[2])
                hp.update_series(0, mid, x, hp_q[1])
                lo, hi, mid = self._pc_items
                lo.setData(x, px_q[0])
                hi.setData(x, px_q[2])
                pc.update_series(0, mid, x, px_q[1])
            else:
                hp.update_series(0, self._hp_items[0], x, res.hashprice_usd_per_th_day[0] * 1000.0)
                pc.update_series(0, self._pc_items[0], x, res.btc_price_usd[0])
            for i, (item, (_, level)) in enumerate(zip(self._be_items, breakevens)):
                hp.update_series(i + 1, item, x, np.full(x.size, level))
