"""Roots of one-dimensional functions for the breakeven solvers: scipy's Brent method, stopped on the value.

:func:`find_root` is :func:`scipy.optimize.brentq` (inverse quadratic / secant steps
guarded by bisection) with two additions the breakevens need, because each evaluation
is a run of the engine: it stops as soon as ``|f(x)| <= ftol`` (a tolerance on the
*function value*, which brentq does not have: it is signalled out of the function),
and it reuses ``f`` at the bracket ends when the caller already has them. It returns
the point with the smaller ``|f|`` and that value. :func:`solve_checked` adds the
check that the answer really meets the condition (a jump of the NPV across zero has
no exact breakeven). When no root exists in a bracket :class:`NoRootError` says why.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.optimize import brentq

#: brentq's smallest relative tolerance (4 ulps): the bracket is closed to ``2 eps |x| + xtol / 2``.
_RTOL = 4.0 * np.finfo(float).eps
#: brentq refuses ``xtol <= 0``; a positive floor far below any step of a double near the roots sought.
_MIN_XTOL = 1e-300


class NoRootError(ValueError):
    """The condition has no solution in the range searched (e.g. NPV positive even at $1/BTC)."""


class _CloseEnough(Exception):
    """Raised out of brentq's function once ``|f(x)| <= ftol``: the root is found to the tolerance asked."""

    def __init__(self, x: float, fx: float):
        super().__init__(x)
        self.x, self.fx = x, fx


def find_root(f: Callable[[float], float], a: float, b: float, *, fa: float | None = None,
              fb: float | None = None, ftol: float = 0.0, xtol: float = 0.0,
              maxiter: int = 200) -> tuple[float, float]:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` differ in sign: ``(x, f(x))``.

    Brent's method (:func:`scipy.optimize.brentq`): each step tries inverse quadratic
    interpolation (secant when only two points are distinct) and falls back to bisection
    whenever that step would leave the bracket or shrink it too slowly, so it converges
    like the secant method on smooth functions and never slower than bisection. Stops when
    ``|f(x)| <= ftol`` or the bracket is narrower than ``xtol`` (plus a few ulps of ``x``);
    then ``x`` is the evaluated point with the smaller ``|f|``. Raises :class:`NoRootError`
    when the ends do not bracket a sign change or ``f`` is not finite.
    """
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    if not (math.isfinite(fa) and math.isfinite(fb)):
        raise NoRootError(f"function is not finite at the bracket ends ({fa}, {fb})")
    if fa == 0.0:
        return a, fa
    if fb == 0.0:
        return b, fb
    if (fa > 0) == (fb > 0):
        raise NoRootError(f"no sign change between {a:g} ({fa:g}) and {b:g} ({fb:g})")
    best_end = (a, fa) if abs(fa) < abs(fb) else (b, fb)
    if abs(best_end[1]) <= ftol:
        return best_end
    seen = {a: fa, b: fb}

    def g(x: float) -> float:
        if x in seen:                       # the bracket ends: brentq asks for them first
            return seen[x]
        fx = f(x)
        if not math.isfinite(fx):
            raise NoRootError(f"function is not finite at {x:g}")
        seen[x] = fx
        if abs(fx) <= ftol:
            raise _CloseEnough(x, fx)
        return fx

    try:
        x = brentq(g, a, b, xtol=max(xtol, _MIN_XTOL), rtol=_RTOL, maxiter=maxiter, disp=False)
    except _CloseEnough as done:
        return done.x, done.fx
    return x, seen[x] if x in seen else f(x)   # brentq returns a point it evaluated


def solve_checked(f: Callable[[float], float], lo: float, hi: float, f_lo: float, f_hi: float, scale: float,
                  rel_tol: float, what: str) -> float:
    """Root of ``f`` in a bracket, checked: ``|f(x)| <= rel_tol x scale`` unless the bracket hit machine precision."""
    ftol = rel_tol * scale
    x, fx = find_root(f, lo, hi, fa=f_lo, fb=f_hi, ftol=0.1 * ftol)
    if abs(fx) > ftol and abs(fx) > 1e-9 * max(abs(f_lo), abs(f_hi)):
        raise NoRootError(f"{what}: the NPV jumps across zero near {x:,.6g} (|gap| {abs(fx):,.0f} USD); "
                          "no exact breakeven")
    return x
