"""One bounded GET against the market API, and the one-line message of every way it can fail.

:func:`http_get` returns the body of a 200 answer, at most ``max_bytes``, all within a wall-clock
deadline of ``timeout_s`` (:mod:`minerplan.markets.live.deadline`); a proxy is never used for a server
on this machine. Failures become :class:`~minerplan.markets.live.errors.MarketDataError` of kind
``timeout``, ``rate_limited`` (HTTP 429, with the Retry-After in seconds), ``http`` or ``offline``,
naming the host and ``GET endpoint``. :func:`check_api_url` and :func:`check_timeout` refuse a base URL
or a timeout (seconds, 0 < t <= 600) that cannot be used, before anything is sent.
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import ipaddress
import math
import re
import socket
import ssl
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from minerplan import __version__
from minerplan.markets.live.deadline import Deadline, DeadlineHTTPHandler, DeadlineHTTPSHandler
from minerplan.markets.live.errors import MarketDataError, field_error
from minerplan.markets.live.ranges import MAX_RESPONSE_BYTES
from minerplan.scenario.errors import escape_control
from minerplan.scenario.validation_messages import short_value


def check_api_url(api_url: str) -> tuple[str, str]:
    """(base URL without a trailing slash and without credentials, host for messages)."""
    if not isinstance(api_url, str) or not api_url:
        raise MarketDataError("api_url: give an http:// or https:// URL", field="api_url")
    api_url = api_url.strip()
    if not api_url.isprintable() or any(c.isspace() for c in api_url):
        raise MarketDataError(f"api_url: contains spaces or control characters: {short_value(api_url)}",
                              field="api_url")
    try:
        parts = urlsplit(api_url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise MarketDataError(f"api_url: not a valid URL: {short_value(api_url)}", field="api_url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise MarketDataError(f"api_url: expected an http:// or https:// URL, got {short_value(api_url)}",
                              field="api_url")
    if parts.query or parts.fragment:
        raise MarketDataError(f"api_url: give the server's base URL without ?query or #fragment, "
                              f"got {short_value(api_url)}", field="api_url")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, escape_control(netloc)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _opener(base: str, deadline: Deadline) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [DeadlineHTTPHandler(deadline), DeadlineHTTPSHandler(deadline)]
    # A proxy never makes sense for a server on this machine (a self-hosted mempool, the tests).
    host = urlsplit(base).hostname or ""
    if _is_loopback(host):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,9}", value):
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _status_text(code: int, reason: Any) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        text = escape_control(str(reason or ""))[:60]
        return f"{code} {text}".rstrip()


def _secs(timeout_s: float) -> str:
    return f"{timeout_s:g}"


_UNREACHABLE = {getattr(errno, n) for n in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN")
                if hasattr(errno, n)}


def _offline_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made, or None when ``exc`` is not about connecting."""
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ConnectionAbortedError):
        return "connection aborted"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return "network unreachable"
    return None


def _network_error(exc: BaseException, host: str, endpoint: str, timeout_s: float) -> MarketDataError:
    get = f"GET {endpoint}"
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            exc = reason
        else:
            return MarketDataError(f"cannot reach {host} ({escape_control(str(reason))[:120]}) for {get}; offline?",
                                   endpoint=endpoint, kind="offline")
    if isinstance(exc, TimeoutError):
        return MarketDataError(f"{host} did not answer within {_secs(timeout_s)} s ({get})",
                               endpoint=endpoint, kind="timeout")
    if isinstance(exc, ssl.SSLError):
        what = getattr(exc, "reason", None) or type(exc).__name__
        return MarketDataError(f"secure connection to {host} failed ({escape_control(str(what))[:120]}) for {get}",
                               endpoint=endpoint, kind="offline")
    why = _offline_reason(exc)
    if why:
        return MarketDataError(f"cannot reach {host} ({why}) for {get}; offline?", endpoint=endpoint, kind="offline")
    if isinstance(exc, http.client.IncompleteRead):
        return MarketDataError(f"{host} closed the connection in the middle of the answer to {get}",
                               endpoint=endpoint, kind="offline")
    if isinstance(exc, http.client.HTTPException):
        return MarketDataError(f"{host} sent an invalid HTTP answer to {get} ({type(exc).__name__})",
                               endpoint=endpoint, kind="offline")
    if isinstance(exc, OSError):
        text = exc.strerror or type(exc).__name__
        return MarketDataError(f"cannot reach {host} ({escape_control(str(text))[:120]}) for {get}; offline?",
                               endpoint=endpoint, kind="offline")
    return MarketDataError(f"{host}: {get} failed ({type(exc).__name__})", endpoint=endpoint, kind="offline")


def http_get(base: str, host: str, endpoint: str, timeout_s: float, accept: str = "application/json",
             max_bytes: int = MAX_RESPONSE_BYTES) -> bytes:
    """The body of ``GET base+endpoint`` (status 200), at most MAX_RESPONSE_BYTES, all within a
    deadline of ``timeout_s`` from now: name lookup, connecting, the request, the status line, the
    headers and the body (a server that trickles bytes or header lines does not get to hold us longer)."""
    req = urllib.request.Request(base + endpoint, headers={
        "User-Agent": f"MinerPlan/{__version__} (market data)",
        "Accept": accept,
        "Accept-Encoding": "identity",
    })
    deadline = Deadline(timeout_s)
    try:
        resp = _opener(base, deadline).open(req, timeout=deadline.remaining())
    except urllib.error.HTTPError as e:
        try:
            code = e.code
            if code == 429:
                retry = _retry_after_s(e.headers.get("Retry-After") if e.headers else None)
                when = f"retry after {math.ceil(retry)} s" if retry is not None else "retry later"
                raise MarketDataError(f"rate-limited by {host} (HTTP 429); {when}", endpoint=endpoint,
                                      kind="rate_limited", retry_after_s=retry) from None
            raise MarketDataError(f"{host} answered HTTP {_status_text(code, e.reason)} for GET {endpoint}",
                                  endpoint=endpoint, kind="http") from None
        finally:
            e.close()
    except MarketDataError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise _network_error(e, host, endpoint, timeout_s) from None
    except ValueError as e:  # e.g. a control character in the URL
        raise MarketDataError(f"api_url: cannot request {escape_control(str(e))[:120]}", field="api_url") from None
    with resp:
        status = getattr(resp, "status", 200)
        if status != 200:
            raise MarketDataError(f"{host} answered HTTP {_status_text(status, resp.reason)} for GET {endpoint}; "
                                  "expected 200", endpoint=endpoint, kind="http")
        length = resp.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > max_bytes:
            raise field_error(endpoint, None, f"response is {int(length):,} bytes; the limit is {max_bytes:,}")
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                deadline.remaining()                # TimeoutError once time is up
                chunk = resp.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise field_error(endpoint, None, f"response is larger than the limit of {max_bytes:,} bytes")
                chunks.append(chunk)
        except MarketDataError:
            raise
        except (OSError, http.client.HTTPException) as e:
            raise _network_error(e, host, endpoint, timeout_s) from None
    return b"".join(chunks)


def check_timeout(timeout_s: float) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) \
            or not 0 < timeout_s <= 600:
        raise ValueError(f"timeout_s must be a number of seconds in (0, 600], got {timeout_s!r}")
    return float(timeout_s)
