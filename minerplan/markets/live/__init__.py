"""Live market data from a mempool.space-compatible API, with a cache and the shipped snapshot as fallbacks.

Modules, in the order a fetch uses them: :mod:`.ranges` (the plausible range of every field and the
cross-checks between answers), :mod:`.errors` (:class:`~.errors.MarketDataError`), :mod:`.utc` (ISO-8601
UTC times), :mod:`.fields` (reading one untrusted JSON field), :mod:`.deadline` (the wall-clock deadline of
one HTTP request), :mod:`.http_fetch` (one bounded GET and its error messages), :mod:`.mempool` (the
endpoints and :func:`~.mempool.fetch_market`), :mod:`.snapshot` (:class:`~.snapshot.MarketSnapshot` and its
text), :mod:`.cache` (the cache file and the shipped snapshot) and :mod:`.update` (live, else cache, else
snapshot; the ``fetch-market`` command).
"""
