"""Copying a model folder and unpacking a model archive without leaving the folder.

A model folder or archive comes from somewhere the user does not control (a download, a
colleague's USB stick), so nothing in it is trusted:

- links are never followed (a link to `/etc` would copy the system's files, one to
  `/dev/zero` would write until the disk is full) and are refused, naming the link. The one
  exception is the Hugging Face cache layout, whose snapshot files are links into the
  repository's own `blobs/` folder: a link that ends at a regular file inside that
  repository is copied as the file it points to.
- anything that is not a regular file or a folder (a FIFO, a device, a socket) is refused.
- every byte is counted while it is written, against a per-file cap, a total cap, the free
  disk space and (for archives) an unpacked-to-packed ratio, so a zip bomb is stopped after
  a few of its megabytes, never after it has filled the disk. Sizes an archive declares are
  not trusted.

`copy_tree` and `extract_archive` write into a folder the caller later renames into place
and removes on failure, so a refused or failed import leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator, Optional

from vlm_desktop.core.images import special_file_kind
from vlm_desktop.core.messages import say

MiB = 1 << 20
GiB = 1 << 30
_CHUNK = 1 * MiB
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class UnsafeModelFiles(ValueError):
    """A folder or archive that cannot be copied safely; the message names the file."""


@dataclass(frozen=True)
class ImportLimits:
    """Caps on what one model import may write.

    The largest supported models (a 7B Qwen2-VL in float32) hold files of about 30 GB, so
    the size caps only stop the absurd; the ratio cap is what stops a zip bomb: weights
    barely compress (about 1.1 : 1), text files about 5 : 1, a bomb of zeros 1000 : 1.
    """

    max_file_bytes: int = 64 * GiB
    max_total_bytes: int = 256 * GiB
    max_ratio: float = 20.0           # bytes unpacked per byte of archive on disk ...
    ratio_floor_bytes: int = 64 * MiB  # ... checked once this much has been unpacked
    keep_free_bytes: int = 512 * MiB   # never fill the disk the models live on


class _Budget:
    """A running count of bytes written by one import, checked on every chunk."""

    def __init__(self, limits: ImportLimits, into: Path, archive_bytes: Optional[int]) -> None:
        self.limits = limits
        self.archive_bytes = archive_bytes
        self.total = 0
        free = shutil.disk_usage(into).free - limits.keep_free_bytes
        self.total_cap = max(0, min(limits.max_total_bytes, free))
        self.disk_bound = free < limits.max_total_bytes

    def add(self, name: str, file_bytes: int, n: int) -> None:
        """Count `n` more bytes of `name` (now `file_bytes` long); raise past any cap."""
        self.total += n
        self.check_file(name, file_bytes)
        self.check_total(name, self.total)
        self.check_ratio(name)

    def check_file(self, name: str, file_bytes: int) -> None:
        if file_bytes > self.limits.max_file_bytes:
            raise UnsafeModelFiles(say(
                "{name} is larger than the {limit} allowed for one file; import stopped.",
                name=name, limit=_size(self.limits.max_file_bytes)))

    def check_total(self, name: str, total: int) -> None:
        if total > self.total_cap:
            if self.disk_bound:
                raise UnsafeModelFiles(say(
                    "{name}: the model is larger than the free disk space ({free}): {size} "
                    "at least; import stopped.", name=name, free=_size(self.total_cap),
                    size=_size(total)))
            raise UnsafeModelFiles(say(
                "{name}: the model is larger than the {limit} allowed for one model: {size} "
                "at least; import stopped.", name=name, limit=_size(self.total_cap),
                size=_size(total)))

    def check_ratio(self, name: str) -> None:
        lim = self.limits
        if self.archive_bytes is not None and self.total > lim.ratio_floor_bytes \
                and self.total > lim.max_ratio * max(self.archive_bytes, 1):
            raise UnsafeModelFiles(say(
                "{name}: the archive unpacks to more than {ratio} times its size ({packed} "
                "on disk, {unpacked} unpacked so far) — a compression bomb, not a model; "
                "import stopped.", name=name, ratio=f"{lim.max_ratio:.0f}",
                packed=_size(self.archive_bytes), unpacked=_size(self.total)))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def _pump(src: IO[bytes], dst: IO[bytes], name: str, budget: _Budget) -> None:
    written = 0
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            return
        written += len(chunk)
        budget.add(name, written, len(chunk))  # before the write: a bomb never lands
        dst.write(chunk)


def _new_file(path: Path) -> IO[bytes]:
    # O_EXCL: a name seen twice in one archive, or a planted link, is never written through.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    return os.fdopen(fd, "wb")


# --- folders --------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    """What a special file is, in the current language ("named pipe (FIFO)", "socket", …)."""
    return say(special_file_kind(mode))


def _hf_repo_root(folder: Path) -> Optional[Path]:
    """`.../models--org--name` when `folder` is a Hugging Face cache snapshot, else None."""
    parts = folder.resolve().parts
    if len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--"):
        return Path(*parts[:-2])
    return None


def _allowed_link_target(link: Path, rel: str, hf_root: Optional[Path]) -> Path:
    """Where a cache snapshot's link leads, if it may be copied; else refuse naming it."""
    target = os.readlink(link)
    if hf_root is not None:
        resolved = link.resolve()
        try:
            resolved.relative_to(hf_root / "blobs")
            inside = True
        except ValueError:
            inside = False
        if inside and stat.S_ISREG(os.stat(resolved).st_mode):
            return resolved
    raise UnsafeModelFiles(say(
        "{name} is a symbolic link (to {target}); model folders may not contain links. "
        "Replace it with the file itself.", name=rel, target=target))


@dataclass(frozen=True)
class _Entry:
    rel: str
    source: Path
    is_dir: bool
    size: int


def scan_folder(folder: Path) -> list[_Entry]:
    """Every entry of `folder` without following links; refuses links and special files."""
    hf_root = _hf_repo_root(folder)
    found: list[_Entry] = []

    def walk(here: Path, prefix: str) -> None:
        with os.scandir(here) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                real = _allowed_link_target(Path(entry.path), rel, hf_root)
                found.append(_Entry(rel, real, False, os.stat(real).st_size))
            elif stat.S_ISDIR(st.st_mode):
                found.append(_Entry(rel, Path(entry.path), True, 0))
                walk(Path(entry.path), rel + "/")
            elif stat.S_ISREG(st.st_mode):
                found.append(_Entry(rel, Path(entry.path), False, st.st_size))
            else:
                raise UnsafeModelFiles(say(
                    "{name} is a {kind}, not a file; model folders hold only regular files "
                    "and folders.", name=rel, kind=_kind(st.st_mode)))

    walk(folder, "")
    return found


def copy_tree(folder: Path, into: Path, limits: ImportLimits) -> None:
    """Copy `folder`'s contents into the empty folder `into`, counting every byte."""
    entries = scan_folder(folder)
    budget = _Budget(limits, into, None)
    for e in entries:  # what the folder says first, so an oversized one is refused at once
        budget.check_file(e.rel, e.size)
    budget.check_total(folder.name, sum(e.size for e in entries))
    for e in entries:
        dest = into / e.rel
        if e.is_dir:
            dest.mkdir()
            continue
        with _open_regular(e.source, e.rel) as src, _new_file(dest) as dst:
            _pump(src, dst, e.rel, budget)


def _open_regular(path: Path, rel: str) -> IO[bytes]:
    """Open a file seen as regular, refusing it if it was swapped for something else since."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnsafeModelFiles(say("{name} cannot be read ({error}).", name=rel,
                                   error=exc.strerror)) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeModelFiles(say("{name} changed into something that is not a file; "
                                   "refused.", name=rel))
    return os.fdopen(fd, "rb")


# --- archives -------------------------------------------------------------------------------


def is_archive(path: Path) -> bool:
    """Whether `path`'s name says it is an archive `extract_archive` reads."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _safe_member(archive: Path, name: str) -> PurePosixPath:
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
        raise UnsafeModelFiles(say("{archive}: unsafe path in archive: {name}",
                                   archive=archive.name, name=name))
    return rel


def _place(into: Path, rel: PurePosixPath) -> Path:
    dest = into.joinpath(*rel.parts)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[tuple[zipfile.ZipInfo, str]]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeModelFiles(say(
                "{archive}: {name} is a symbolic link; archives may not hold links.",
                archive=archive.name, name=info.filename))
        # Many zip writers store permission bits without a file type: only a stated type counts.
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise UnsafeModelFiles(say("{archive}: {name} is a {kind}; refused.",
                                       archive=archive.name, name=info.filename,
                                       kind=_kind(mode)))
        yield info, info.filename


def _extract_zip(archive: Path, into: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info, name in _zip_members(archive, zf):
            rel = _safe_member(archive, name)
            if not rel.parts:
                continue
            if info.is_dir():
                _place(into, rel).mkdir(exist_ok=True)
                continue
            with zf.open(info) as src, _new_file(_place(into, rel)) as dst:
                _pump(src, dst, f"{archive.name}: {name}", budget)


def _extract_tar(archive: Path, into: Path, budget: _Budget) -> None:
    # Stream mode ("r|*"): one pass, members read in order, nothing seeks or indexes ahead.
    with tarfile.open(archive, mode="r|*") as tf:
        for member in tf:
            rel = _safe_member(archive, member.name)
            if member.isdir():
                if rel.parts:
                    _place(into, rel).mkdir(exist_ok=True)
                continue
            if not member.isfile():
                if member.issym() or member.islnk():
                    raise UnsafeModelFiles(say("{archive}: {name} is a link; refused.",
                                               archive=archive.name, name=member.name))
                raise UnsafeModelFiles(say("{archive}: {name} is not a regular file; refused.",
                                           archive=archive.name, name=member.name))
            src = tf.extractfile(member)
            if src is None:  # pragma: no cover - isfile() members always have data
                continue
            with src, _new_file(_place(into, rel)) as dst:
                _pump(src, dst, f"{archive.name}: {member.name}", budget)


def extract_archive(archive: Path, into: Path, limits: ImportLimits) -> None:
    """Unpack a .zip or .tar(.gz/.bz2/.xz) into `into`, stopping at the first broken cap."""
    budget = _Budget(limits, into, archive.stat().st_size)
    unpack: Callable[[Path, Path, _Budget], None] = (
        _extract_zip if archive.name.lower().endswith(".zip") else _extract_tar)
    try:
        unpack(archive, into, budget)
    except UnsafeModelFiles:
        raise
    except FileExistsError as exc:
        raise UnsafeModelFiles(say(
            "{archive}: {name} appears twice in the archive; refused.",
            archive=archive.name, name=Path(exc.filename or "").name)) from exc
    except OSError as exc:  # a damaged bz2/gzip stream, or the disk itself
        raise UnsafeModelFiles(say("{archive} could not be unpacked ({error}).",
                                   archive=archive.name, error=exc)) from exc
    except Exception as exc:  # the stdlib readers raise many types on damaged input
        kind = "zip" if archive.name.lower().endswith(".zip") else "tar"
        raise UnsafeModelFiles(say(
            "{archive} is not a valid .{kind} archive or is damaged ({error}).",
            archive=archive.name, kind=kind, error=f"{type(exc).__name__}: {exc}")) from exc
