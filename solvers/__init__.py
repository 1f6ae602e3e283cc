"""Optimization models (Pyomo, solved by HiGHS). Never imports Qt.

Import note: we use ``pyomo.core`` rather than ``pyomo.environ``. The latter
loads every Pyomo plugin, and one (community_detection) touches a deferred
matplotlib import; once PySide6 is loaded, shiboken's import hook inspects
each new module and that deferred attribute raises DeferredImportError, which
aborts the import. The model needs only pyomo.core; HiGHS is driven through
our own adapter (solvers/highs_backend.py).
"""
