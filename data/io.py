"""Atomic file writes: a reader never sees a half-written file, a crash never
leaves one behind (write to a temporary file in the same folder, then rename)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_csv"]

# Test hook: called with the final path after the temporary file is complete and before the
# rename, so a test can kill a process at exactly that point (never set in normal use).
_before_replace = None


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically (same-folder temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # not tempfile.mkstemp: its files are 0600, and the rename would carry that over;
    # os.open with 0o666 honours the umask like a plain open() does
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))  # keep an existing file's mode
        if _before_replace is not None:
            _before_replace(path)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(frame, path) -> Path:
    """Write a DataFrame as CSV (no index) to ``path`` atomically."""
    return atomic_write_text(path, frame.to_csv(index=False))
