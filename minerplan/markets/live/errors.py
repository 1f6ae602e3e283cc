"""The one error of live market data: :class:`MarketDataError`, whose ``str()`` is one line for people.

:func:`field_error` builds the error for one field of one endpoint or file
(``/api/v1/prices: USD: expected a number, got 'abc'``).
"""

from __future__ import annotations


class MarketDataError(Exception):
    """Market data could not be fetched or read; ``str(e)`` is one line for people.

    ``endpoint`` (or file) and ``field`` name where the problem is when it is about content;
    ``kind`` is one of ``invalid``, ``timeout``, ``rate_limited``, ``http``, ``offline``,
    ``missing`` (no such file), ``unavailable`` (nothing left to fall back to).
    """

    def __init__(self, message: str, *, endpoint: str | None = None, field: str | None = None,
                 kind: str = "invalid", retry_after_s: float | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.field = field
        self.kind = kind
        self.retry_after_s = retry_after_s



def field_error(where: str, key: str | None, problem: str) -> MarketDataError:
    msg = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
    return MarketDataError(msg, endpoint=where, field=key)

