"""Market view: the BTC price path, Monte Carlo settings and network assumptions (see :mod:`.view`)."""
