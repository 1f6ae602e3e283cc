"""Market models: BTC price processes and their calibration, the network's response to price, and live market data.

:mod:`.prices` turns a scenario's market section into price, fee and GPU-rate paths, drawn by the
processes of :mod:`.stochastic` (Merton jumps, regimes, fee AR(1), GPU rates, leases, correlated shocks,
sourced defaults). :mod:`.calibration` fits those price processes to a price history. The network's
hashrate answers hashprice in :mod:`.network_response` (capitulation) and :mod:`.network_supply`
(entry and exit, the default), which :mod:`.network_backtest` checks against realized history.
:mod:`.live` fetches today's market from mempool.space, with a cache and a shipped snapshot.
"""
