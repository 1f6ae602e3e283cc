"""Fitting BTC price models to a price history (``minerplan calibrate``; issue 6).

:mod:`.history_csv` reads dated values from an untrusted CSV file (prices, and the network history the
backtest reads); :mod:`.log_returns` turns closes into monthly log returns; :mod:`.gbm` fits a GBM by
moments; :mod:`.merton_density` is the Merton jump-diffusion's density of one step's log return and
:mod:`.merton_mle` fits it by maximum likelihood (scipy's Nelder-Mead); :mod:`.price_model` is the fit
the ``calibrate`` command keeps, and why. Parameters are in the units of
:mod:`minerplan.markets.stochastic`'s factor functions (percent per year, jumps per year).
"""
