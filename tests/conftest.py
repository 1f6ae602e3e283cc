"""Test set-up: Qt renders offscreen, faulthandler dumps on a crash, hypothesis profile for CI."""

import faulthandler
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
faulthandler.enable()
# MinerPlan's own files (market cache, the register of writes in progress) go to a folder of this
# run, never the user's ~/.cache; tests that need another set MINERPLAN_CACHE_DIR themselves.
if "MINERPLAN_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["MINERPLAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="minerplan-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A main window on the shipped scenario with its own settings file and autosave folder, one Monte
    Carlo path, left clean on close (a test file may override it, e.g. to size and show it)."""
    from PySide6.QtCore import QSettings

    from ui import autosave, main_window as mw

    monkeypatch.setattr(autosave, "autosave_dir", lambda: tmp_path / "autosave")
    (tmp_path / "autosave").mkdir()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = mw.MainWindow("default", settings=settings, check_recovery=False)
    w.evaluation.mc.paths = 1
    qtbot.addWidget(w, before_close_func=lambda w: w.doc.undo_stack.setClean())
    yield w
    w.evaluation.wait_idle()
