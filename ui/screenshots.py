"""Render README screenshots to ``docs/`` (``make screenshots``), offscreen.

Every view of the main window on the default scenario (with a 500-path
Monte Carlo fan and one optimizer run) at 1600x1000, again in presentation mode
(``docs/presentation/``), plus the terminal output of ``minerplan evaluate default``.
The offscreen platform gets a 1600x1000 screen (its default is 800x600), so
presentation mode fills the same screen a board room's projector would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SIZE = (1600, 1000)
SCREEN_JSON = ('{"synchronousWindowSystemEvents": false, "windowFrameMargins": false, "screens": '
               '[{"name": "Screen", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96, '
               '"logicalBaseDpi": 96, "dpr": 1}]}')


def _offscreen_1600x1000() -> None:
    """Use the offscreen platform with a 1600x1000 screen unless a platform is already chosen."""
    if "QT_QPA_PLATFORM" in os.environ:
        return
    import tempfile
    cfg = Path(tempfile.mkdtemp(prefix="minerplan-screen-")) / "screen.json"
    cfg.write_text(SCREEN_JSON)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={cfg}"


def render_text_png(text: str, path: Path, *, title: str = "") -> None:
    _offscreen_1600x1000()
    from PySide6.QtGui import QColor, QFontDatabase, QFontMetrics, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - fonts need an application
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(11)
    metrics = QFontMetrics(font)
    lines = ([f"$ {title}"] if title else []) + text.rstrip("\n").splitlines()
    width = max(metrics.horizontalAdvance(line) for line in lines) + 48
    height = metrics.lineSpacing() * len(lines) + 48
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor("#fbfbfd"))
    painter = QPainter(img)
    painter.setFont(font)
    y = 24 + metrics.ascent()
    for i, line in enumerate(lines):
        painter.setPen(QColor("#1f4e79") if (title and i == 0) else QColor("#202124"))
        painter.drawText(24, y, line)
        y += metrics.lineSpacing()
    painter.setPen(QColor("#d0d4da"))
    painter.drawRect(0, 0, width - 1, height - 1)
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(path)):
        raise OSError(f"could not write {path}")


def _settle(app, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.02)


def _run_optimizer_into(view) -> None:
    """One optimizer run and a frontier, computed here synchronously and shown as the view would."""
    from .views.optimize import work as ov

    view.paths.setValue(60)
    view.risk.setValue(0.5)
    st = view.settings()
    noop, never = (lambda *a: None), (lambda: False)
    view._on_run_done(ov._run_work(view.doc.scenario, st)(noop, never))
    weights = tuple(sorted(set(ov.FRONTIER_WEIGHTS) | {float(st.risk_aversion)}))
    view._on_frontier_done(ov._frontier_work(view.doc.scenario, st, weights)(noop, never))


def _fill_compare(win, view) -> None:
    """Compare the default scenario with itself under a 20% higher power price (a snapshot)."""
    view.add_snapshot()
    win.doc.edit_dict(lambda d: [s.update(power_price_usd_per_mwh=round(s["power_price_usd_per_mwh"] * 1.2, 2))
                                 for s in d["sites"]], "Power +20%")


def _fill_risk(app, view) -> None:
    """A put and a hashprice forward, evaluated on the app's Monte Carlo paths (waits for the background run)."""
    view.model.add("btc_put")
    view.model.add("hashprice_forward")
    if view.evaluate():
        end = time.perf_counter() + 120
        while view.running and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.02)


def render_views() -> list[Path]:
    _offscreen_1600x1000()
    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .main_window import MainWindow

    import tempfile
    tmp = tempfile.mkdtemp(prefix="minerplan-shots-")
    settings = QSettings(os.path.join(tmp, "screenshots.ini"), QSettings.Format.IniFormat)
    win = MainWindow("default", settings=settings, check_recovery=False)
    win.evaluation.mc.paths = 500
    win.resize(*SIZE)
    win.show()
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    win.evaluation.mc_updated.connect(loop.quit)
    QTimer.singleShot(60_000, loop.quit)
    win.evaluation.refresh()
    loop.exec()                      # the Overview's fan is drawn before its screenshot
    _settle(app, 0.5)
    out = []
    for i in range(win.tabs.count()):
        title = win.tabs.tabText(i).replace("&&", "&")
        win.tabs.setCurrentIndex(i)
        view = win.ensure_view(title)
        if title == "Optimize":
            _run_optimizer_into(view)
        elif title == "Compare":
            _fill_compare(win, view)
        elif title == "Risk":
            _fill_risk(app, view)
        _settle(app, 0.4)
        slug = "".join(ch.lower() if ch.isalnum() else " " for ch in title).split()
        name = "view-" + "-".join(slug)
        out.append(_grab(win, DOCS / f"{name}.png"))
        win.act_present.trigger()
        _settle(app, 0.4)
        out.append(_grab(win, DOCS / "presentation" / f"{name}.png"))
        win.act_present.trigger()
        win.resize(*SIZE)
        _settle(app, 0.2)
        if title == "Compare":
            win.doc.undo_stack.undo()   # the later views show the shipped scenario again
    win.doc.undo_stack.setClean()
    win.close()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def _grab(win, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not win.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def main() -> int:
    out = subprocess.run([sys.executable, "-m", "minerplan.cli.main", "evaluate", "default"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    target = DOCS / "cli-evaluate.png"
    render_text_png(out, target, title="minerplan evaluate default")
    print(f"wrote {target.relative_to(ROOT)}")
    for p in render_views():
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
