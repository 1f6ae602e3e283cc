"""Market models: BTC price processes and their calibration, the network's response to price, and the live market-data client."""
