"""Render README screenshots to ``docs/`` (``make screenshots``), offscreen.

For now: the terminal output of ``minerplan evaluate default``, drawn in a
monospace font on a white card so it reads in the README.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def render_text_png(text: str, path: Path, *, title: str = "") -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QGuiApplication, QImage, QPainter

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(11)
    metrics = QFontMetrics(font)
    lines = ([f"$ {title}"] if title else []) + text.rstrip("\n").splitlines()
    width = max(metrics.horizontalAdvance(line) for line in lines) + 48
    height = metrics.lineSpacing() * len(lines) + 48
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor("#fbfbfd"))
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
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
    del app


def main() -> int:
    out = subprocess.run([sys.executable, "-m", "minerplan.cli", "evaluate", "default"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    target = DOCS / "cli-evaluate.png"
    render_text_png(out, target, title="minerplan evaluate default")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
