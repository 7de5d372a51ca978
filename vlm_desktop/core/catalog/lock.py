"""One importer or indexer per catalog at a time: an OS file lock beside the database.

Two processes importing or indexing one catalog would both embed everything (twice the
work, for the same result), so the second one is told the catalog is in use instead.
The lock is an advisory `flock` (POSIX) or `msvcrt.locking` (Windows) on `<catalog>.lock`:
the operating system drops it when the holder exits or crashes, so a killed import never
leaves a catalog locked. Within one process the lock is counted, so nested holders (the
CLI around an import and its indexing, the window's import and indexing jobs) share it.
Reading (search, recommendations) never takes it.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from vlm_desktop.core.catalog.store import CatalogError


class CatalogBusy(CatalogError):
    """Another process is importing or indexing this catalog."""


_guard = threading.Lock()
_held: dict[str, list[int]] = {}  # resolved database path -> [fd, hold count]


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    """The lock file of the catalog database at `db_path`."""
    p = Path(db_path).resolve()
    return p.with_name(p.name + ".lock")


def acquire(db_path: str | os.PathLike[str]) -> None:
    """Take the catalog's lock (or one more hold on it); raises CatalogBusy at once if taken."""
    key = str(Path(db_path).resolve())
    with _guard:
        held = _held.get(key)
        if held is not None:
            held[1] += 1
            return
        path = lock_path(db_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            owner = _owner(fd)
            os.close(fd)
            raise CatalogBusy(
                f"The catalog {db_path} is in use: another process{owner} is importing or "
                "indexing it. Try again when it has finished.")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _held[key] = [fd, 1]


def release(db_path: str | os.PathLike[str]) -> None:
    """Give back one hold; the last one unlocks. Releasing an unheld lock does nothing."""
    key = str(Path(db_path).resolve())
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _held[key]
        _unlock(held[0])
        os.close(held[0])


def is_held(db_path: str | os.PathLike[str]) -> bool:
    """Whether this process holds the catalog's lock."""
    with _guard:
        return str(Path(db_path).resolve()) in _held


@contextmanager
def catalog_lock(db_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the catalog's lock for the block; raises CatalogBusy if another process has it."""
    acquire(db_path)
    try:
        yield
    finally:
        release(db_path)


def _owner(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip() \
            if hasattr(os, "pread") else ""
    except OSError:
        text = ""
    return f" (process {text})" if text.isdigit() else ""


if os.name == "nt":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
