"""One wall-clock deadline for one HTTP request: name lookup, connecting, sending, the status line,
every header line and the body must all be done within it.

A socket timeout bounds one read: a server that sends a header line every 0.5 s never trips a 2 s
timeout and holds the request as long as it likes (issue 11: 40 s with ``--timeout 2``). Here every
blocking step gets only what is left of the request's time (:class:`Deadline`): the resolver runs on a
daemon thread left behind when time is up (it has no timeout of its own), and http.client's connection,
socket and response stream are wrapped so that each send and read is bounded by what is left.
:class:`DeadlineHTTPHandler` and :class:`DeadlineHTTPSHandler` plug this into urllib.
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import socket
import threading
import time
import urllib.request
from typing import Any


class Deadline:
    """A wall-clock deadline (monotonic clock): what is left of it before each blocking step.

    A socket timeout bounds one read: a server that sends a header line every 0.5 s never trips a
    2 s timeout and holds the request as long as it likes (issue 11: 40 s with ``--timeout 2``).
    Giving every step only what is left of the request's time turns the timeout into a deadline.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; TimeoutError when there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the {self.seconds:g} s deadline has passed")
        return left


def _resolve_within(deadline: Deadline, host: str, port: int) -> list:
    """``getaddrinfo`` bounded by the deadline. The resolver has no timeout of its own (a broken DNS
    set-up can take tens of seconds), so it runs on a daemon thread that is left behind when time is up."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:       # a literal address: nothing to look up
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    box: dict[str, Any] = {}
    done = threading.Event()

    def resolve() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=resolve, name="minerplan-resolve", daemon=True).start()
    if not done.wait(deadline.remaining()):
        raise TimeoutError(f"looking up {host} took longer than the deadline")
    if "error" in box:
        raise box["error"]
    return box["infos"]


def _connect_within(deadline: Deadline, address: tuple[str, int], source_address=None) -> socket.socket:
    """A connected socket to ``address`` (each of its addresses in turn) within the deadline; the socket's
    timeout is then what is left (a TLS handshake on it is bounded by that as a whole)."""
    host, port = address
    last: OSError | None = None
    for _family, _type, _proto, _name, sockaddr in _resolve_within(deadline, host, port):
        try:
            sock = socket.create_connection(sockaddr[:2], deadline.remaining(), source_address)
        except TimeoutError:
            raise
        except OSError as e:
            last = e
            continue
        try:
            sock.settimeout(deadline.remaining())
        except BaseException:
            sock.close()
            raise
        return sock
    raise last if last is not None else OSError(f"no address found for {host}")


class _DeadlineReader(io.RawIOBase):
    """The response's byte stream: each read may block only for what is left of the deadline."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: Deadline):
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        self._sock.settimeout(self._deadline.remaining())
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineSocket:
    """What http.client sees as its socket: sending and the response stream keep to the deadline
    (http.client reads the status line and the headers line by line through ``makefile``)."""

    def __init__(self, sock: socket.socket, deadline: Deadline):
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data, *args):
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.sendall(data, *args)

    def makefile(self, mode: str = "r", *args, **kwargs):
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        # the socket's own raw file keeps its reference counting: closing the connection while the
        # response is being read leaves the socket open until the response is closed too
        return io.BufferedReader(_DeadlineReader(self._sock.makefile("rb", buffering=0), self._sock, self._deadline))

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Mixed into http.client's connections: connecting (name lookup included) and everything read or
    sent afterwards keep to one deadline."""

    def __init__(self, *args, deadline: Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        # HTTPConnection.connect calls self._create_connection(address, timeout, source_address)
        self._create_connection = lambda address, timeout=None, source_address=None: \
            _connect_within(deadline, address, source_address)

    def connect(self) -> None:
        super().connect()       # for HTTPS, the TLS handshake too (bounded by the socket's timeout)
        self.sock = _DeadlineSocket(self.sock, self._deadline)


class _DeadlineHTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


class DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self._deadline = deadline

    def http_open(self, req):
        return self.do_open(functools.partial(_DeadlineHTTPConnection, deadline=self._deadline), req)


class DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self._deadline = deadline

    def https_open(self, req):
        kwargs: dict[str, Any] = {"context": self._context}
        if getattr(self, "_check_hostname", None) is not None:     # Python 3.11 only
            kwargs["check_hostname"] = self._check_hostname
        return self.do_open(functools.partial(_DeadlineHTTPSConnection, deadline=self._deadline), req, **kwargs)
