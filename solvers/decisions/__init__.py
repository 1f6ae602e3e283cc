"""The decision space: every candidate decision and its exact, linear effect on each path's NPV.

:func:`solvers.decisions.build.build_decision_space` builds a
:class:`solvers.decisions.space.DecisionSpace` from a scenario and the optimizer's settings, one
module per family of decisions (conversions, retirements, purchases, moves, take-or-pay dispatch,
decisions fixed by hand); see :mod:`solvers.decisions.build`.
"""
