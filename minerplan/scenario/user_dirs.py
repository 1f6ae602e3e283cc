"""Where MinerPlan keeps its own files on the user's machine (no Qt: the CLI uses it too).

``$MINERPLAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/minerplan``, else ``~/.cache/minerplan`` (a temp
folder when there is no home at all): the market-data cache and the register of writes in progress.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """The folder (not created here)."""
    own = os.environ.get("MINERPLAN_CACHE_DIR")
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative paths
        return Path(xdg) / "minerplan"
    try:
        home = Path.home()
    except RuntimeError:  # no home directory at all
        return Path(tempfile.gettempdir()) / "minerplan-cache"
    return home / ".cache" / "minerplan"
