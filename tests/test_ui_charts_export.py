"""Every chart of every view exports a valid SVG (Qt's QSvgGenerator) of the size it has on screen.

The SVG is parsed as XML: its viewBox is the plot's size in px (not the scene's bounding box, which
a reference line makes 1.9e9 px wide), it holds drawn paths and the axis label as text, and no
raster image. Export failures reach the user in a message box, not only the log.
"""

import re
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QRectF, QSizeF, QStandardPaths
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QMessageBox

from tests.builders import every_chart

QStandardPaths.setTestModeEnabled(True)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def window(window):
    """The shared main window (tests/conftest.py) at 1600x1000, shown."""
    window.resize(1600, 1000)
    window.show()
    return window


def svg_texts(root) -> list[str]:
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_every_chart_exports_an_svg_of_its_own_size(window, tmp_path):
    charts = every_chart(window)
    assert len(charts) >= 14 and {t for t, _ in charts} >= {"Overview", "Market", "Fleet", "AI/HPC", "What-if"}
    for k, (title, chart) in enumerate(charts):
        path = tmp_path / f"chart{k}.svg"
        chart.export_svg(str(path))            # raised OverflowError for the Overview and Market BTC charts
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG}svg"
        x0, y0, w, h = (float(v) for v in re.split(r"[ ,]+", root.get("viewBox").strip()))
        where = f"{title}: {chart._title_text}"
        # the viewBox is the plot as shown (was 1.9e9 x 321 for time charts, 787 x 4,871 for the fleet bars)
        assert (x0, y0) == (0, 0), where
        if chart.plot.isVisible():
            size = chart.plot.getPlotItem().geometry().size()
            assert (w, h) == (pytest.approx(size.width(), abs=1), pytest.approx(size.height(), abs=1)), where
        assert 100 <= w <= 1600 and 80 <= h <= 1000, where
        assert len(list(root.iter(f"{SVG}path"))) + len(list(root.iter(f"{SVG}polyline"))) >= 3, where
        texts = svg_texts(root)
        assert chart.y_label in " ".join(texts), where        # the axis label is text, not pixels
        assert not list(root.iter(f"{SVG}image")), where       # vectors only


def test_fleet_bars_fill_the_svg(window, tmp_path):
    """The fleet bar chart's bars lie inside the viewBox (they sat in its top tenth of 756 x 4,871)."""
    window.tabs.setCurrentIndex(1)
    chart = window.ensure_view("Fleet").charts()[0]
    path = tmp_path / "fleet.svg"
    chart.export_svg(str(path))
    root = ET.parse(path).getroot()
    _, _, w, h = (float(v) for v in root.get("viewBox").split())
    assert h < 1.5 * w


def test_render_chart_draws_into_any_rect(window):
    """The one renderer used by SVG export (and the board pack) fills a rect of another size and dpi."""
    from ui.kit.chart_render import render_chart

    window.tabs.setCurrentIndex(0)
    chart = window.ensure_view("Overview").charts()[1]
    before = chart.plot.getPlotItem().geometry()
    img = QImage(800, 400, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    img.setDotsPerMeterX(11811)                 # 300 dpi: pyqtgraph's cached axes must not grow 3x
    img.setDotsPerMeterY(11811)
    p = QPainter(img)
    drawn = render_chart(chart, p, QRectF(0, 0, 800, 400), layout_size=QSizeF(800, 400))
    p.end()
    assert drawn == QRectF(0, 0, 800, 400)
    assert chart.plot.getPlotItem().geometry() == before       # the chart on screen is laid out as before
    # The left axis line is drawn at the axis width (78 px) from the left, whatever the device's dpi.
    ink = [x for x in range(0, 200) if img.pixelColor(x, 200).lightness() < 140]
    assert ink and 60 <= ink[0] <= 100, ink[:5]


def test_png_file_name_is_short_and_readable(window):
    from ui.charts import Chart

    assert Chart("BTC price path (drag the points; x snaps to months)", "USD").file_stem() == "btc-price-path"
    assert Chart("Monthly P&L of the selected site", "USD").file_stem() == "monthly-pl-of-the-selected-site"
    assert Chart("AI/HPC revenue and capex, all sites", "USD").file_stem() == "ai-hpc-revenue-and-capex-all-sites"
    stem = Chart("Hashprice against each cohort's breakeven", "USD").file_stem()
    assert stem == "hashprice-against-each-cohorts-breakeven"
    assert Chart("(...)", "USD").file_stem() == "chart"
    names = [c.file_stem() for _, c in every_chart(window)]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) and len(n) <= 48 for n in names), names


def test_png_dialog_offers_the_short_name(window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.tabs.setCurrentIndex(3)
    chart = window.ensure_view("Market").charts()[0]
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (offered.append(a[2]), ("", ""))[1])
    chart.export_png_dialog()
    chart.export_svg_dialog()
    assert [o.rsplit("/", 1)[-1] for o in offered] == ["btc-price-path.png", "btc-price-path.svg"]


def shown_messages(window) -> list[str]:
    """The texts of the message boxes open over the window (closed once read)."""
    out = []
    for box in window.findChildren(QMessageBox):
        if box.isVisible():
            out.append(f"{box.windowTitle()}|{box.text()}")
            box.close()
    return out


@pytest.mark.parametrize("error", [OverflowError(), RuntimeError("engine"), OSError(28, "No space left on device")])
def test_export_failure_is_shown_to_the_user(window, error):
    chart = window.ensure_view("Overview").charts()[0]

    def fail(path):
        raise error

    assert not chart._export(fail, "/tmp/x.svg")
    shown = shown_messages(window)
    assert len(shown) == 1 and shown[0].startswith("Export failed|") and "/tmp/x.svg" in shown[0]
    if isinstance(error, OSError):
        assert "No space left on device" in shown[0]


def test_svg_to_a_missing_folder_says_so(window, tmp_path):
    chart = window.ensure_view("Overview").charts()[0]
    assert not chart._export(chart.export_svg, str(tmp_path / "no such folder" / "c.svg"))
    shown = shown_messages(window)
    assert len(shown) == 1 and "c.svg" in shown[0]
    assert not (tmp_path / "no such folder").exists()


def test_export_all_charts_reports_a_failure(window, monkeypatch, tmp_path):
    """File > Export charts: a chart that cannot be written is named in a message, the others are written."""
    from PySide6.QtWidgets import QFileDialog

    window.tabs.setCurrentIndex(0)
    view = window.ensure_view("Overview")
    out = tmp_path / "charts"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    broken = view.charts()[1]

    def fail(path):
        raise OverflowError("int too big")

    monkeypatch.setattr(broken, "export_svg", fail)
    window.export_charts()                       # raised OverflowError out of the menu action
    shown = shown_messages(window)
    assert len(shown) == 1 and f"{broken.file_stem()}.svg" in shown[0]
    written = sorted(p.name for p in out.iterdir())
    first = view.charts()[0].file_stem()
    assert written == sorted([f"{first}.png", f"{first}.svg", f"{broken.file_stem()}.png"])
