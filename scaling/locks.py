"""Run locks: an ``O_EXCL`` lock file per ladder job, with an owner record and a stale rule.

Re-exported by :mod:`scaling.executors` (its documented home).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path

__all__ = ["FileLock", "LockBusy"]

logger = logging.getLogger("scaling.executors")


class LockBusy(RuntimeError):
    """The lock is held by a live owner."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class FileLock:
    """An ``O_EXCL`` lock file with an owner record and a stale-lock rule.

    Parameters
    ----------
    path : path-like
        The lock file (its folder is created).
    stale_after_s : float, default 900
        A lock not refreshed (:meth:`heartbeat`) for this long is stale, whoever holds it.
        A lock whose owner ran on this host and whose process is gone is stale at once.
    """

    def __init__(self, path, stale_after_s: float = 900.0) -> None:
        if not stale_after_s > 0:
            raise ValueError(f"`stale_after_s` must be > 0, got {stale_after_s!r}")
        self.path = Path(path)
        self.stale_after_s = float(stale_after_s)
        self.token = uuid.uuid4().hex
        self._held = False
        self._beat = 0.0

    def owner(self) -> dict | None:
        """The owner record ``{host, pid, token, since}``, ``{}`` while being written, or None."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return {}

    def _stale(self, owner: dict) -> bool:
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        if age > self.stale_after_s:
            return True
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
            return not _pid_alive(owner["pid"])
        return False

    def try_acquire(self) -> bool:
        """Take the lock if it is free or stale; False if a live owner holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self.owner()
                if owner is None:  # released meanwhile
                    continue
                if not self._stale(owner):
                    return False
                # break a stale lock: rename is atomic, so only one contender wins it
                grave = self.path.with_name(f"{self.path.name}.stale-{self.token}")
                try:
                    os.rename(self.path, grave)
                except FileNotFoundError:
                    continue
                logger.warning("broke stale lock %s (owner %s)", self.path, owner)
                grave.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "token": self.token, "since": time.time()}, handle)
            self._held = True
            self._beat = time.monotonic()
            return True
        return False

    def acquire(self, poll_s: float = 0.5, timeout_s: float | None = None) -> None:
        """Wait for the lock (polling every ``poll_s``); :class:`LockBusy` after ``timeout_s``."""
        start = time.monotonic()
        while not self.try_acquire():
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise LockBusy(f"{self.path} is held by {self.owner()}")
            time.sleep(poll_s)

    def heartbeat(self, every_s: float = 10.0) -> None:
        """Refresh the lock's time stamp (at most every ``every_s`` seconds)."""
        if self._held and time.monotonic() - self._beat >= every_s:
            os.utime(self.path)
            self._beat = time.monotonic()

    def release(self) -> None:
        """Remove the lock if this object still owns it."""
        if self._held and (self.owner() or {}).get("token") == self.token:
            self.path.unlink(missing_ok=True)
        self._held = False

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
