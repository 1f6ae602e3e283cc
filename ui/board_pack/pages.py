"""The board pack's sections laid out on a :class:`~ui.board_pack.layout.Flow`: cover, executive summary,
key figures, charts, stress scenarios, assumptions and sources, method; and each page's header and footer.

Every word and figure comes from :class:`~minerplan.analysis.board_pack.BoardPack`; this module
only places them.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen

from minerplan.analysis.board_pack import YEAR_HEADERS, BoardPack, ChartData
from minerplan.analysis.vocabulary import median
from minerplan.analysis.board_pack_text import figure
from minerplan.formats import usd_m
from minerplan.scenario.errors import escape_control

from .charts import draw_chart, legend_entries
from .layout import (BODY, BOLD, CAPTION, GREY, H2, INK, LEFT, NAVY, RIGHT, RULE, SMALL, TINT, TINY, TITLE, Column,
                     Flow, font)

CHART_HEIGHT_PT = 200.0
TORNADO_COLUMNS = [Column(0.34), Column(0.19), Column(0.12, RIGHT), Column(0.21), Column(0.12, RIGHT)]


def cover(flow: Flow, pack: BoardPack) -> None:
    """A navy band with the title and the scenario, what the pack was computed on, and its contents."""
    band = QRectF(0, 0, flow.page_w, flow.pt(250))
    flow.op(lambda p: p.fillRect(band, NAVY))
    white = QColor("white")
    flow.draw_text(QRectF(flow.left, flow.pt(96), flow.width, flow.pt(44)), pack.title, TITLE, white)
    name = QFontMetricsF(font(15), flow.dev).elidedText(escape_control(pack.scenario_name),
                                                        Qt.TextElideMode.ElideRight, flow.width)
    flow.draw_text(QRectF(flow.left, flow.pt(146), flow.width, flow.pt(24)), name, font(15), white)
    flow.draw_text(QRectF(flow.left, flow.pt(214), flow.width, flow.pt(20)),
                   f"Prepared {pack.generated} with MinerPlan", font(9.5), QColor("#d6e2f0"))
    flow.y = flow.pt(290)
    plan = "the optimizer's plan against the scenario as entered" if pack.optimized else \
        "the scenario's plan against its status quo"
    rows = [["Horizon", f"{pack.start_month}, {pack.horizon_months} months"],
            ["Price paths", f"{pack.paths:,} Monte Carlo paths (seed {pack.seed}) and the entered price path"],
            ["Compares", plan], ["Money", "USD; NPV after tax, discounted"]]
    flow.table(None, rows, [Column(0.25), Column(0.75)], f=BODY, bold_first=True, after=18)
    flow.paragraph("Contents", H2, NAVY, after=6)
    y0 = flow.y

    def contents(p: QPainter) -> None:          # drawn last: the sections' pages are known by then
        y = y0
        p.setFont(BODY)
        for title, page in flow.sections:
            p.setPen(INK)
            p.drawText(QRectF(flow.left, y, flow.width * 0.8, flow.pt(16)), LEFT, title)
            p.drawText(QRectF(flow.left, y, flow.width, flow.pt(16)), RIGHT, str(page))
            p.setPen(QPen(RULE, flow.pt(0.4), Qt.PenStyle.DotLine))
            p.drawLine(QPointF(flow.left, y + flow.pt(14)), QPointF(flow.right, y + flow.pt(14)))
            y += flow.pt(19)
    flow.op(contents)


def summary(flow: Flow, pack: BoardPack) -> None:
    rec = pack.recommendation
    flow.heading("Executive summary")
    pad = flow.pt(10)
    h = flow.text_height(rec.headline, font(12, True), flow.width - 2 * pad - flow.pt(3))
    flow.box(QRectF(flow.left, flow.y, flow.width, h + 2 * pad), TINT, NAVY)
    flow.draw_text(QRectF(flow.left + pad + flow.pt(3), flow.y + pad, flow.width - 2 * pad - flow.pt(3), h + 2),
                   rec.headline, font(12, True), NAVY)
    flow.y += h + 2 * pad + flow.pt(12)
    flow.heading("Value against the status quo" if rec.increment else "Value of the business", 2)
    cards(flow, rec.value, plus=rec.increment)
    flow.paragraph(f"Status quo: {escape_control(rec.baseline)}.", SMALL, GREY, after=8)
    if pack.business:
        flow.heading("The business as planned", 2)
        flow.bullets(pack.business)
    dense = SMALL if len(rec.actions) + len(rec.confidence) > 12 else BODY    # an optimizer's long plan
    flow.heading("What to do", 2)
    flow.bullets(rec.actions, dense)
    flow.heading("Confidence", 2)
    flow.bullets(rec.confidence, dense)


def cards(flow: Flow, values, plus: bool = True) -> None:
    """One card per statistic: the USD (the plan adds, with its sign), large, over the statistic's name."""
    gap = flow.pt(10)
    w = (flow.width - gap * (len(values) - 1)) / len(values)
    h = flow.pt(58)
    flow.ensure(h)
    for k, (label, usd) in enumerate(values):
        x = flow.left + k * (w + gap)
        flow.box(QRectF(x, flow.y, w, h), TINT, NAVY)
        flow.draw_text(QRectF(x + flow.pt(10), flow.y + flow.pt(8), w - flow.pt(14), flow.pt(24)),
                       usd_m(usd, plus=plus), font(17, True), NAVY)
        flow.draw_text(QRectF(x + flow.pt(10), flow.y + flow.pt(33), w - flow.pt(14), flow.pt(24)),
                       label, CAPTION, GREY)
    flow.y += h + flow.pt(8)


def kpis(flow: Flow, pack: BoardPack) -> None:
    flow.heading("Key figures")
    flow.paragraph("Each figure across the statistics the app and the command line use: the entered price path, "
                   f"the mean and the median of {pack.paths:,} Monte Carlo paths, and their 5th and 95th percentiles.",
                   after=8)
    cols = [Column(0.29), Column(0.125), Column(0.13, RIGHT), Column(0.125, RIGHT), Column(0.12, RIGHT),
            Column(0.105, RIGHT), Column(0.105, RIGHT)]
    flow.table(pack.kpi_headers(), [r.cells() for r in pack.kpis], cols, bold_first=True)
    for note in pack.kpi_notes:
        flow.paragraph(note, CAPTION, GREY, after=3)
    if pack.years:
        flow.skip(6)
        flow.heading(f"By calendar year, {median(pack.paths)}", 2)
        flow.table(list(YEAR_HEADERS), [list(r) for r in pack.years], [Column(0.16)] + [Column(0.14, RIGHT)] * 6,
                   bold_first=True)
        flow.paragraph("Cost per BTC: energy; cash (energy, take-or-pay, mining opex and mining's share of G&A, "
                       "less curtailment credits); all-in (cash plus ASIC depreciation). EBITDA after all G&A.",
                       CAPTION, GREY)


def charts(flow: Flow, pack: BoardPack, built: dict) -> None:
    flow.heading("Charts")
    for data in pack.charts:
        table = None
        if data.tornado:
            table = (["Input", "Low case", "NPV change", "High case", "NPV change"],
                     [[r[0], r[1], usd_m(r[3], plus=True), r[2], usd_m(r[4], plus=True)] for r in data.tornado])
        cols = TORNADO_COLUMNS
        if data.key == "npv_hedges" and pack.hedges:
            table, cols = hedge_table(pack.hedges), [Column(0.4), Column(0.2, RIGHT), Column(0.2, RIGHT),
                                                     Column(0.2, RIGHT)]
        chart_block(flow, data, built[data.key], keep=table_height(flow, *table) if table else 0.0)
        if table:
            flow.table(*table, cols, f=TINY)


HEDGE_METRICS = (("mean_usd", "Expected NPV (mean of the paths)"), ("p5_usd", "P5 NPV"),
                 ("p50_usd", "Median NPV"), ("p95_usd", "P95 NPV"), ("cvar95_usd", "CVaR 95% (mean of the worst 5%)"),
                 ("prob_npv_negative", "Share of paths with NPV < 0"))


def hedge_table(doc: dict):
    """The Risk view's measures, unhedged against hedged (``analysis.hedges.compare``)."""
    rows = []
    for key, label in HEDGE_METRICS:
        u, h = doc["unhedged"][key], doc["hedged"][key]
        if key == "prob_npv_negative":
            rows.append([label, f"{u:.1%}", f"{h:.1%}", f"{(h - u) * 100:+.1f} pt"])
        else:
            rows.append([label, usd_m(u), usd_m(h), usd_m(h - u, plus=True)])
    return ["Measure", "Unhedged", "Hedged", "Change"], rows


def table_height(flow: Flow, headers, rows) -> float:
    """Roughly the height of a TINY table: one line a row, two for the header (points in device units)."""
    return flow.pt(14) * (len(rows) + 2) + flow.pt(10)


def chart_block(flow: Flow, data: ChartData, chart, keep: float = 0.0) -> None:
    """Title, the chart, its legend and its caption, kept on one page (with ``keep`` device units after it)."""
    entries = legend_entries(data)
    legend_h = legend_height(flow, entries)
    cap_h = flow.text_height(data.caption, CAPTION, flow.width)
    height = flow.pt(18) + flow.pt(CHART_HEIGHT_PT) + legend_h + cap_h + flow.pt(16)
    flow.ensure(height + keep)
    flow.draw_text(QRectF(flow.left, flow.y, flow.width, flow.pt(16)), data.title, font(10.5, True), INK)
    flow.y += flow.pt(18)
    target = QRectF(flow.left, flow.y, flow.width, flow.pt(CHART_HEIGHT_PT))
    flow.op(lambda p, t=QRectF(target): draw_chart(chart, p, t, flow.u))
    flow.y += target.height() + flow.pt(4)
    draw_legend(flow, entries)
    flow.paragraph(data.caption, CAPTION, GREY, after=14)


def _legend_rows(flow: Flow, entries) -> list[list[tuple[str, QColor, str, float]]]:
    swatch, gap = flow.pt(16), flow.pt(12)
    rows, row, x = [], [], 0.0
    for name, colour, kind in entries:
        w = swatch + flow.pt(4) + flow.text_width(name, TINY) + gap
        if row and x + w > flow.width:
            rows.append(row)
            row, x = [], 0.0
        row.append((name, colour, kind, w))
        x += w
    if row:
        rows.append(row)
    return rows


def legend_height(flow: Flow, entries) -> float:
    return len(_legend_rows(flow, entries)) * flow.pt(12) + flow.pt(4)


def draw_legend(flow: Flow, entries) -> None:
    for row in _legend_rows(flow, entries):
        x, y = flow.left, flow.y

        def draw(p: QPainter, row=row, x=x, y=y) -> None:
            for name, colour, kind, w in row:
                mid = y + flow.pt(5)
                if kind == "area":
                    p.fillRect(QRectF(x, mid - flow.pt(3.5), flow.pt(16), flow.pt(7)), colour)
                else:
                    style = Qt.PenStyle.DashLine if kind == "dash" else Qt.PenStyle.SolidLine
                    p.setPen(QPen(colour, flow.pt(1.3), style))
                    p.drawLine(QPointF(x, mid), QPointF(x + flow.pt(16), mid))
                p.setFont(TINY)
                p.setPen(INK)
                p.drawText(QRectF(x + flow.pt(20), y, w, flow.pt(11)), LEFT | int(Qt.AlignmentFlag.AlignVCenter), name)
                x += w
        flow.op(draw)
        flow.y += flow.pt(12)
    flow.skip(4)


def stress(flow: Flow, pack: BoardPack) -> None:
    flow.heading("Stress scenarios")
    flow.paragraph("The plan and its status quo on the entered price path and on each late-2025 stress preset, "
                   "one price path each (NPV on the preset's price path). Columns are described below the table.",
                   after=8)
    headers = ["", "Unit"] + [c.name for c in pack.stress]
    rows = [[label, unit] + [figure(c.values.get(key), unit) for c in pack.stress]
            for key, label, unit in pack.stress_rows]
    n = len(pack.stress)
    cols = [Column(0.25), Column(0.11)] + [Column(0.64 / n, RIGHT)] * n
    flow.table(headers, rows, cols, bold_first=True)
    flow.heading("What each column is", 2)
    for c in pack.stress:
        flow.paragraph(f"{c.name}: {c.description} Network: {c.network}. Source: {c.source}.", SMALL, INK,
                       after=4)


def assumptions(flow: Flow, pack: BoardPack) -> None:
    flow.heading("Assumptions and their sources")
    flow.heading("This scenario's inputs", 2)
    flow.table(None, [list(r) for r in pack.inputs], [Column(0.3), Column(0.7)], bold_first=True)
    if pack.notes.strip():
        flow.heading("The scenario's notes", 2)
        for para in escape_control(pack.notes).split("\n"):
            if para.strip():
                flow.paragraph(para.strip(), SMALL, INK, after=4)
    if pack.sources:
        flow.heading("Sources of the defaults (docs/sources.md)", 2)
        flow.paragraph("MinerPlan's shipped defaults with their public sources; 'assumption' marks a MinerPlan "
                       "judgement to review against the company's own figures.", SMALL, GREY, after=6)
        for heading, rows in pack.sources:
            flow.paragraph(heading, BOLD, NAVY, after=3, keep=40)
            flow.table(["Fact", "Value", "Source"], [list(r) for r in rows],
                       [Column(0.22), Column(0.39), Column(0.39)], f=TINY)
    else:
        flow.paragraph("docs/sources.md was not found next to this installation, so the defaults' sources are not "
                       "reprinted here.", SMALL, GREY)


def method(flow: Flow, pack: BoardPack) -> None:
    flow.heading("Method")
    for heading, text in pack.method:
        flow.paragraph(heading, BOLD, NAVY, after=2, keep=30)
        flow.paragraph(text, BODY, INK, after=8)


def decorate(flow: Flow, pack: BoardPack):
    """Header (from page 2) and footer with "Page n of N" on every page."""
    name = escape_control(pack.scenario_name)

    def paint(p: QPainter, page: int, pages: int) -> None:
        p.setFont(font(7.5))
        p.setPen(GREY)
        fy = flow.page_h - flow.pt(40)
        p.drawText(QRectF(flow.left, fy, flow.width, flow.pt(12)), LEFT, f"MinerPlan board pack · {pack.generated}")
        p.drawText(QRectF(flow.left, fy, flow.width, flow.pt(12)), RIGHT, f"Page {page} of {pages}")
        if page == 1:
            return
        hy = flow.pt(34)
        p.drawText(QRectF(flow.left, hy, flow.width * 0.75, flow.pt(12)), LEFT,
                   QFontMetricsF(p.font(), flow.dev).elidedText(name, Qt.TextElideMode.ElideRight, flow.width * 0.75))
        p.drawText(QRectF(flow.left, hy, flow.width, flow.pt(12)), RIGHT, pack.title)
        p.setPen(QPen(RULE, flow.pt(0.5)))
        p.drawLine(QPointF(flow.left, hy + flow.pt(15)), QPointF(flow.right, hy + flow.pt(15)))
    return paint

