"""Stochastic market paths for Monte Carlo runs (issue 6), shaped ``[path, month]``.

Everything here is vectorized over paths with numpy; only the recursions that need the previous
month (the regime chain, the fee AR(1)) loop over months, with numpy over all paths inside the loop.
Month 0 is the start month: price factors are exactly 1 there, fees and GPU rates equal their
starting level (floored), and column ``t`` is the value after ``t`` monthly steps of ``dt = 1/12``
year.

:mod:`.shocks` holds the random draws (seeds, correlated standard normals) and the argument checks;
:mod:`.price_factors` the BTC price models (Merton jump-diffusion, two-state regimes) and the median
convention; :mod:`.fees_and_rates` fees per block, GPU rental rates and lease rates; :mod:`.defaults`
the default parameters with their sources; :mod:`.joint_paths` all series drawn together with
correlated shocks. Each module's docstring gives its models' exact parameterization.
"""
