"""The Optimize view: settings, a background run with progress and Cancel, the plan, its frontier, its confidence.

:mod:`.view` lays the view out and wires it (:class:`~ui.views.optimize.view.OptimizeView`); the
settings form is :mod:`.form`, the results panel :mod:`.results` (with its tables, :mod:`.tables`,
and the frontier chart, :mod:`.frontier_chart`), the confidence tab :mod:`.confidence`; the work
run in the background and what it hands back, with no Qt, is :mod:`.work`, and the texts of the
KPI line and the recommendation are :mod:`.texts`.
"""
