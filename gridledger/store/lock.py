"""One writer per journal (issue 7 item 2): an OS lock on ``<db>.lock`` that dies with its process.

Two processes writing one journal interleave their transactions and corrupt slots (one
applies a buy, the other its closing sell, each from its own stale RAM). SQLite's own
locking serialises transactions, not the in-memory ledgers behind them, so the journal
takes an exclusive ``fcntl.flock`` on a sidecar file for as long as it is open. The kernel
drops the lock when the process dies, SIGKILL included, so a crash never leaves a stale
lock behind; the holder's pid, host and start time are written into the file only so a
refused opener can say who holds it.

Within one process the lock is shared by reference count: a paper session holds it for its
whole run (its venue log sits beside the journal) while the engine reopens the journal after
each simulated crash.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import weakref
from datetime import UTC, datetime
from pathlib import Path

from gridledger.store.errors import JournalError

_registry: dict[tuple[int, int], _Held] = {}
_registry_lock = threading.Lock()
# Locks whose JournalLock was garbage-collected unreleased (a Journal dropped without close).
# A finalizer may run inside any allocation, even while _registry_lock is held, so it only
# queues the lock here; the next acquire or release in this process gives it up.
_orphans: list[_Held] = []


def lock_path(db: str | Path) -> Path:
    # realpath: a symlink to the journal must find the same lock as the journal's own name.
    real = Path(os.path.realpath(db))
    return real.with_name(real.name + ".lock")


class _Held:
    """The process's one open, flocked descriptor for a lock file, with its users counted."""

    def __init__(self, fd: int, key: tuple[int, int], path: Path) -> None:
        self.fd = fd
        self.key = key
        self.path = path
        self.users = 0

    def drop_locked(self) -> None:
        """One user fewer; the last one closes the descriptor. Caller holds _registry_lock."""
        self.users -= 1
        if self.users > 0:
            return
        _registry.pop(self.key, None)
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)  # the holder note is stale from now on
        os.close(self.fd)  # closing the descriptor releases the flock


def _drain_orphans() -> None:
    while _orphans:
        _orphans.pop().drop_locked()


class JournalLock:
    """A held lock; ``release`` gives it up (a forgotten one goes at the process's next lock call)."""

    def __init__(self, held: _Held) -> None:
        self._held: _Held | None = held
        self._finalizer = weakref.finalize(self, _orphans.append, held)

    @property
    def path(self) -> Path:
        return self._held.path if self._held else Path()

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        self._finalizer.detach()
        with _registry_lock:
            _drain_orphans()
            held.drop_locked()

    def __enter__(self) -> JournalLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(db: str | Path) -> JournalLock:
    """Take the journal's lock or raise ``JournalError`` naming the holder (pid, host, since)."""
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise JournalError(f"cannot open journal {db}: lock file {path}: {_os_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        with _registry_lock:
            _drain_orphans()
            held = _registry.get(key)
            if held is not None:  # this process holds it already
                os.close(fd)
                held.users += 1
                return JournalLock(held)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise JournalError(f"cannot lock journal {db}: {_os_reason(exc)}") from None
                raise JournalError(_refusal(db, fd)) from None
            _write_holder(fd)
            held = _Held(fd, key, path)
            held.users = 1
            _registry[key] = held
            return JournalLock(held)
    except BaseException:
        if not any(h.fd == fd for h in _registry.values()):
            with contextlib.suppress(OSError):
                os.close(fd)
        raise


def _write_holder(fd: int) -> None:
    note = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": _command(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(note) + "\n").encode(), 0)


def _command() -> str:
    argv = sys.argv or [""]
    name = os.path.basename(argv[0])
    if name in ("gridledger", "cli.py", "__main__.py") and len(argv) > 1:
        return f"gridledger {argv[1]}"
    return "python -c" if name == "-c" else name


def _read_holder(fd: int) -> dict[str, object] | None:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        note = json.loads(text)
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _refusal(db: str | Path, fd: int) -> str:
    note = _read_holder(fd)
    if note:
        who = (
            f"pid {note.get('pid')} on host {note.get('host')} since {note.get('since')}"
            f"{' (' + str(note['command']) + ')' if note.get('command') else ''}"
        )
    else:
        who = "another process (it has not written its pid yet)"
    return (
        f"journal {db} is in use by {who}; one process at a time may write a journal: "
        "stop that process, or use another --db"
    )


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "its folder does not exist"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "is a directory"
    if exc.errno == errno.ENOTDIR:
        return "a component of the path is not a directory"
    return exc.strerror or str(exc)
