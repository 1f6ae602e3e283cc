"""Run fuzz cases through the ``minerplan`` command (in process) and judge each answer.

Every case runs in a fresh folder holding only its input files. The verdicts:

* ``clear``: the right exit (2 for bad input, 0 with a warning for an implausible value), the field or
  cell named in stderr, no traceback, nothing written, every input byte-for-byte as it was;
* ``traceback``: an exception escaped, or stderr shows a traceback or an "internal error" (exit 1);
* ``silent_acceptance``: a bad or implausible input answered with exit 0 and no word about it;
* ``wrong_exit``: any other exit status;
* ``unclear``: the right exit, but the message does not name the field or cell;
* ``wrote_output``: a file was created or changed (or an input touched) although the input was refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cases import Case

VERDICTS = ("clear", "traceback", "wrong_exit", "silent_acceptance", "unclear", "wrote_output")


@dataclass
class Outcome:
    case: Case
    verdict: str
    exit_code: int | None
    stderr: str


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _Api:
    """A local HTTP server answering the case's API paths (404 elsewhere)."""

    def __init__(self, routes: dict[str, bytes]):
        routes = dict(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                body = routes.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/plain" if self.path.endswith("height") else "application/json")
                body = body if body is not None else b"Not Found"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run_case(case: Case) -> Outcome:
    from minerplan.cli.main import main

    folder = Path(tempfile.mkdtemp(prefix="minerplan-fuzz-"))
    api = _Api(case.api) if case.api is not None else None
    try:
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        before = _snapshot(folder)
        argv = [a.replace("{d}", str(folder)).replace("{api}", api.url if api else "") for a in case.argv]
        out, err = io.StringIO(), io.StringIO()
        code: int | None
        escaped = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:   # as the interpreter would exit: None is 0, a message is 1
                code = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
            except BaseException as e:  # noqa: BLE001 - the verdict for anything that escapes
                code, escaped = None, e
        after = _snapshot(folder)
        stderr = err.getvalue()
        if escaped is not None or "Traceback" in stderr or "internal error" in stderr or code == 1:
            verdict = "traceback"
        elif case.expect == "ok":   # a control: the unchanged input must be accepted
            verdict = "clear" if code == 0 else "wrong_exit"
        elif case.expect == "bad" and code == 0:
            verdict = "silent_acceptance"
        elif case.expect == "warn" and code == 0 and "warning" not in stderr:
            verdict = "silent_acceptance"
        elif code != (2 if case.expect == "bad" else 0):
            verdict = "wrong_exit"
        elif not any(re.search(re.escape(n) + r"(?![0-9])", stderr) for n in case.names):   # "row 2", not "row 20"
            verdict = "unclear"
        elif after != before and not case.may_write:
            verdict = "wrote_output"
        else:
            verdict = "clear"
        if escaped is not None:
            stderr += f"\n[escaped: {type(escaped).__name__}: {escaped}]"
        return Outcome(case, verdict, code, stderr)
    finally:
        if api is not None:
            api.close()
        shutil.rmtree(folder, ignore_errors=True)


def sample(cases: list[Case], every: int) -> list[Case]:
    """Every ``every``-th case of each family (the id's part before the first '/'), so all families are tried."""
    by_family: dict[str, list[Case]] = {}
    for c in cases:
        by_family.setdefault(c.id.split("/")[0], []).append(c)
    out = []
    for group in by_family.values():
        out += group[::every]
    return out
