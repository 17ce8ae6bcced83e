"""Atomic file writes: a reader never sees a half-written file, a crash never
leaves one behind (write to a temporary file in the same folder, then rename)."""

from __future__ import annotations

import contextlib
import os
from glob import escape as glob_escape
import re
import secrets
import shutil
import stat
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_write_csv", "staged_directory",
           "safe_component", "ReportFolderError"]

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
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename is None:  # a full disk: name the file
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
    _remove_stale_temporaries(path)
    return path


STALE_S = 600.0  # a temporary this old belongs to a writer that was killed


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.*.tmp`` files a killed writer of ``path`` left behind (only old
    ones: a younger one may belong to a writer still at work)."""
    import time

    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        try:
            if stale.is_file() and time.time() - stale.stat().st_mtime > STALE_S:
                stale.unlink()
        except OSError:
            pass


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(frame, path) -> Path:
    """Write a DataFrame as CSV (no index) to ``path`` atomically."""
    return atomic_write_text(path, frame.to_csv(index=False))


class ReportFolderError(ValueError):
    """An output folder that cannot be (re)written safely."""


_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")


def safe_component(name, fallback: str = "group") -> str:
    """``name`` (a run id, model label, ... taken from data) as one harmless path component:
    no separators, no ``..``, no leading dot, no control characters, at most 100 characters.

    >>> safe_component("../../escape"), safe_component("/etc/x"), safe_component("25M")
    ('escape', 'etc_x', '25M')
    """
    text = _UNSAFE.sub("_", str(name)).strip("._")[:100].strip("._")
    return text or fallback


# what a report folder may hold; anything else means --out points at someone's own folder
_REPORT_FILE = re.compile(r"(report\.(md|html)|fit\.json|[\w.+=-]+\.png|\.scaling-report)$")


def _is_report_folder(path: Path, depth: int = 0) -> list[str]:
    """The entries of ``path`` that a report does not write (empty: safe to replace)."""
    foreign = []
    for entry in sorted(path.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and depth == 0:
            foreign += [f"{entry.name}/{f}" for f in _is_report_folder(entry, 1)]
        elif not (entry.is_file() and _REPORT_FILE.match(entry.name)):
            foreign.append(entry.name)
    return foreign


@contextlib.contextmanager
def staged_directory(out):
    """Write a whole folder atomically: yield an empty temporary folder next to ``out``;
    on success it replaces ``out`` whole (no stale plots, no mix of old and new files), on
    any error it is removed and ``out`` is untouched.

    A lock file (``.<name>.lock`` next to ``out``, removed when done) makes a second process
    writing the same folder stop with a clear error instead of interleaving files. A
    symbolic link ``out`` is followed: the folder it names is written, the link stays. An existing ``out`` is
    replaced only if it holds nothing but report files (``report.md``, ``report.html``,
    ``fit.json``, PNG plots, and sub-folders of those), so ``--out .`` is refused.

    Raises
    ------
    ReportFolderError
        ``out`` is a file, holds other files, or another process is writing it.
    """
    import fcntl

    out = Path(out)
    if out.is_symlink():  # a link to a folder: write the folder it names, keep the link
        out = Path(os.path.realpath(out))
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"--out {out} is a file, not a folder")
    if out.is_dir():
        foreign = _is_report_folder(out)
        if foreign:
            raise ReportFolderError(
                f"--out {out} already holds files that are not part of a report "
                f"({', '.join(foreign[:4])}{' ...' if len(foreign) > 4 else ''}); give a new or "
                "empty folder, or an old report folder to replace")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    lock_path = parent / f".{out.name}.lock"
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy = True
        else:  # a lock file another writer removed after we opened it is no lock at all
            try:
                busy = os.stat(lock_path).st_ino != os.fstat(lock.fileno()).st_ino
            except FileNotFoundError:
                busy = True
        if busy:
            raise ReportFolderError(f"--out {out}: another scaling process is writing this "
                                    "folder now; wait for it to finish or choose another "
                                    "folder") from None
        for stale in parent.glob(f".{glob_escape(out.name)}.*.tmp"):  # of a killed writer
            shutil.rmtree(stale, ignore_errors=True)
        tmp = parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
        tmp.mkdir()
        try:
            yield tmp
            (tmp / ".scaling-report").write_text("written by scaling report\n")
            old = None
            if _before_replace is not None:
                _before_replace(out)
            if out.exists():
                old = parent / f".{out.name}.{secrets.token_hex(6)}.old.tmp"
                os.replace(out, old)
            os.replace(tmp, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            lock_path.unlink(missing_ok=True)  # still held: nobody else has it now
