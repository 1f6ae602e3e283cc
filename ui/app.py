"""``minerplan`` with no arguments: the desktop app.

Without a display, say how to proceed (Xvfb, offscreen, or the CLI) instead
of Qt's plugin abort. When the event loop ends, every background job still running
is ended once (:func:`ui.kit.jobs.shutdown_jobs`: cancelled and waited for, or
dropped when it cannot be interrupted). The mouse wheel changes a combo box, spin box or slider only
once the user clicked or tabbed into it (:func:`ui.kit.wheel.install_wheel_guard`, also installed by
every main window); elsewhere it scrolls the panel.
"""

from __future__ import annotations

import os
import sys

NO_DISPLAY_HELP = """minerplan: no display found, so the desktop app cannot open a window.
  - on a desktop: run it from a graphical session;
  - on a server: install Xvfb and run `xvfb-run minerplan`, or render offscreen with
    `QT_QPA_PLATFORM=offscreen minerplan` (no visible window; useful for screenshots);
  - or use the command line: `minerplan evaluate default`, `minerplan optimize default` (see --help)."""


def has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return True                      # offscreen, wayland, vnc ...: Qt can start
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("WAYLAND_DISPLAY") and not platform:
        return True
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    # A local X display ":N" has a socket; without it Qt would abort in its xcb plugin.
    host, _, rest = display.partition(":")
    if host in ("", "unix") and rest:
        number = rest.split(".")[0]
        return os.path.exists(f"/tmp/.X11-unix/X{number}")
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not has_display():
        print(NO_DISPLAY_HELP, file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from .kit.jobs import shutdown_jobs
    from .kit.settings import APP, ORG
    from .kit.wheel import install_wheel_guard
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    install_wheel_guard(app)
    path = argv[0] if argv else "default"
    win = MainWindow(path)
    win.show()
    status = app.exec()
    shutdown_jobs()
    return status


if __name__ == "__main__":
    sys.exit(main())
