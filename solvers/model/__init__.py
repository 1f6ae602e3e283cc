"""The Pyomo model of a decision space, one module per component family; see :mod:`solvers.model.build`.

Each family adds its variables, rows and objective terms under its own names
(:mod:`~solvers.model.parts`), and :func:`solvers.model.duals.assign_duals` names every row's dual.
"""
