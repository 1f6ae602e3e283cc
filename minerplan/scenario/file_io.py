"""Files on disk: bounded reads of untrusted files, and atomic writes that never leave half a file.

:func:`read_document_bytes` reads at most :data:`MAX_FILE_BYTES` (+1, to tell "too large")
of a regular file, refusing directories, FIFOs and devices with a sentence instead of an
exception. :func:`atomic_write` writes through a temp file and a rename; the temps a killed
process left are removed by the next write or load of the same file
(:func:`clean_stale_temps`) or the next start (:func:`clean_pending_writes`). Scenario,
hedge, market-data and workbook files all go through here.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Callable

MAX_FILE_BYTES = 50 * 1024 * 1024


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open


def _not_regular(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a directory, not a scenario file"
    if not stat.S_ISREG(mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")
        return f"not a regular file ({what}); give a scenario JSON file"
    return None


def read_document_bytes(p: Path) -> bytes | str:
    """The file's bytes (at most MAX_FILE_BYTES + 1 of them), or why it cannot be read."""
    try:
        st = os.stat(p)
        refusal = _not_regular(st.st_mode)
        if refusal:
            return refusal
        if st.st_size > MAX_FILE_BYTES:
            return f"file is {st.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
        fd = os.open(p, _OPEN_FLAGS)
        try:
            fh = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with fh:
            refusal = _not_regular(os.fstat(fh.fileno()).st_mode)  # replaced since the stat?
            if refusal:
                return refusal
            # Never trust st_size: read one byte past the limit to tell "too large".
            raw = fh.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return "file not found"
    except IsADirectoryError:
        return "is a directory, not a scenario file"
    except PermissionError:
        return "permission denied"
    except BlockingIOError:
        return "not a regular file; give a scenario JSON file"
    except OSError as e:
        return f"cannot read: {e.strerror or type(e).__name__}"
    except ValueError:  # e.g. a NUL character in the file name
        return "cannot read: not a valid file name"
    if len(raw) > MAX_FILE_BYTES:
        return f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes"
    return raw



def _new_file_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would give: the old file's, or 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: Temp files of an atomic write are named ``.<target>.<pid>.<random>.tmp`` (a later step may add
#: ``.splice``); the pid lets a later write or load remove the ones a killed process left.
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp(\.splice)?$")
#: Temp files from before the pid was in the name are removed once this old (s): no write takes an hour.
_LEGACY_TEMP_AGE_S = 3600.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True   # someone else's live process (or unknowable): leave its file alone
    return True


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temp files that a crashed or killed write of ``path`` left next to it.

    ``kill -9`` (or a power cut) during :func:`atomic_write` cannot run any cleanup, so the
    next write or load of the same file does it: temps whose writing process is gone, and
    pid-less temps of older versions once an hour old. Returns what was removed.
    """
    import time

    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    removed = []
    try:
        candidates = list(directory.glob(f".{glob_escape(target.name)}.*.tmp*"))
    except OSError:
        return removed
    for f in candidates:
        m = _TEMP_RE.match(f.name)
        try:
            if m is not None and m.group("name") == target.name:
                stale = not _pid_alive(int(m.group("pid")))
            elif m is None and f.name.endswith((".tmp", ".tmp.splice")):
                stale = time.time() - f.lstat().st_mtime > _LEGACY_TEMP_AGE_S
            else:
                stale = False
            if stale and f.is_file() and not f.is_symlink():
                f.unlink()
                removed.append(f)
        except OSError:
            continue   # best effort: a temp we cannot remove is no reason to fail the write
    return removed


def clean_stale_temps_in(directory: str | os.PathLike) -> list[Path]:
    """:func:`clean_stale_temps` for every file of ``directory`` (the app's autosave folder, whose
    files are named per window, so no later write of the same name would find a killed one's temp)."""
    removed: list[Path] = []
    try:
        names = {m.group("name") for f in Path(directory).iterdir()
                 if (m := _TEMP_RE.match(f.name)) is not None}
    except OSError:
        return removed
    for name in sorted(names):
        removed += clean_stale_temps(Path(directory) / name)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped ([, *, ?)."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def _pending_dir() -> Path:
    from minerplan.scenario.user_dirs import cache_dir

    return cache_dir() / "pending-writes"


def _register_pending(tmp: str) -> Path | None:
    """Note ``tmp`` (an atomic write's temp file) in the register of writes in progress, so a
    later start can remove it if this process is killed first. Best effort: None if it cannot."""
    try:
        d = _pending_dir()
        d.mkdir(parents=True, exist_ok=True)
        fd, entry = tempfile.mkstemp(prefix=f"{os.getpid()}.", suffix=".txt", dir=d)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(os.path.abspath(tmp))
        return Path(entry)
    except OSError:
        return None


def clean_pending_writes() -> list[Path]:
    """Remove the temp files of atomic writes whose process died (``kill -9``, a power cut) and
    their register entries; called when the command or the app starts. Returns the files removed.

    Only a file named like an atomic write's temp (``.<name>.<pid>.<random>.tmp``, with that dead
    pid) is removed, so a damaged or forged entry cannot delete anything else.
    """
    removed: list[Path] = []
    try:
        entries = list(_pending_dir().glob("*.txt"))
    except OSError:
        return removed
    for entry in entries:
        try:
            pid = int(entry.name.split(".", 1)[0])
        except ValueError:
            continue
        if _pid_alive(pid):
            continue
        try:
            if entry.stat().st_size <= 4096:
                tmp = Path(entry.read_text(encoding="utf-8").strip())
                m = _TEMP_RE.match(tmp.name)
                if tmp.is_absolute() and m is not None and int(m.group("pid")) == pid:
                    for leftover in (tmp, Path(str(tmp) + ".splice")):
                        if leftover.is_file() and not leftover.is_symlink():
                            leftover.unlink()
                            removed.append(leftover)
            entry.unlink()
        except (OSError, UnicodeDecodeError, ValueError):
            continue   # best effort: a start must never fail over a leftover
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Write ``path`` through a temp file in the same folder and a rename.

    ``write(tmp_path)`` fills the temp file (openpyxl's ``wb.save``, say). A
    crash mid-write leaves either the old file or the new one, never half of
    one; the new file gets the mode a plain write would have given it
    (mkstemp's private 0600 would surprise whoever shares the file). Ctrl-C
    removes the temp file at once; after ``kill -9`` the next start of MinerPlan
    removes it (:func:`clean_pending_writes`), as does the next write of the same
    file (its name carries the dead writer's pid).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    os.close(fd)
    entry = _register_pending(tmp)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, tmp + ".splice"):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
        raise
    finally:
        if entry is not None:
            try:
                entry.unlink()
            except OSError:
                pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically (see :func:`atomic_write`)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    atomic_write(path, write)
