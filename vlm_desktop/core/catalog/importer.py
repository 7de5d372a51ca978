"""Bring a folder of product images (and an optional metadata file) into a CatalogStore.

Import is a diff, never a rebuild: new files are added, changed ones (size, mtime, then
content hash) updated — their embeddings then no longer match and get recomputed — and
removed ones deleted. It commits in chunks and is idempotent, so a killed import simply
runs again. Pixels are not decoded here; the indexer does that.

Only regular files are taken: FIFOs, devices and sockets are skipped (opening one could
block or never end), and a file reached through a symbolic link that leads outside the
catalog folder is refused and reported unless the user opts in (`follow_outside_links`).
Links to folders are never followed (they could loop). One import or indexing run per
catalog at a time (see `lock.py`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.metadata import (
    MetadataReport,
    MetadataRow,
    RowProblem,
    read_metadata,
    title_from_filename,
)
from vlm_desktop.core.catalog.lock import catalog_lock
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.messages import say
from vlm_desktop.core.images import (
    SUPPORTED_EXTENSIONS,
    ImageLoadError,
    open_regular_file,
    special_file_kind,
)

# Store meta key: whether this catalog may take files linked from outside its folder.
FOLLOW_LINKS_META = "follow_outside_links"

CHUNK = 500


@dataclass(frozen=True)
class ScannedFile:
    path: str  # relative, POSIX separators
    size: int
    mtime: float


@dataclass(frozen=True)
class RefusedFile:
    """A file in the catalog folder that was not taken, and why."""

    path: str  # relative, POSIX separators
    reason: str


@dataclass(frozen=True)
class ScanResult:
    files: list[ScannedFile]
    refused: list[RefusedFile]


@dataclass(frozen=True)
class ImportReport:
    """What an import did; shown in the import report dialog and printed by the CLI."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped_quarantined: int = 0
    problems: tuple[RowProblem, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    refused: tuple[RefusedFile, ...] = ()  # special files and links leading outside


def file_hash(path: str | Path) -> str:
    """Content hash of a file (blake2b-128 of its bytes)."""
    h = hashlib.blake2b(digest_size=16)
    with open_regular_file(path) as fp:  # never blocks on a FIFO swapped in after the scan
        for block in iter(lambda: fp.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan_folder(root: str | Path) -> list[ScannedFile]:
    """Every supported image under `root` (recursive, hidden folders skipped), sorted by path."""
    return scan(root).files


def scan(root: str | Path, follow_outside_links: bool = False) -> ScanResult:
    """The supported regular image files under `root`, and the files refused, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(say("Catalog folder not found: {path}", path=root))
    real_root = root.resolve()
    out: list[ScannedFile] = []
    refused: list[RefusedFile] = []
    for dirpath, dirnames, filenames in os.walk(root):  # links to folders are not walked
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            try:
                st = full.stat()
            except OSError:
                continue  # vanished (or a dangling link); the next import sees it
            why = _refusal(full, st.st_mode, real_root, follow_outside_links)
            if why:
                refused.append(RefusedFile(rel, why))
                continue
            out.append(ScannedFile(rel, st.st_size, st.st_mtime))
    out.sort(key=lambda f: f.path)
    refused.sort(key=lambda f: f.path)
    return ScanResult(out, refused)


def link_leads_outside(path: Path, real_root: Path) -> bool:
    """Whether `path`, with its links resolved, lies outside the (resolved) catalog folder."""
    try:
        path.resolve().relative_to(real_root)
    except ValueError:
        return True
    return False


def _refusal(full: Path, mode: int, real_root: Path, follow: bool) -> str:
    if not stat.S_ISREG(mode):
        return f"a {special_file_kind(mode)}, not a regular file"
    if not follow and link_leads_outside(full, real_root):
        return (f"a link to {full.resolve()}, outside the catalog folder (import with "
                "--follow-links to allow it)")
    return ""


def import_folder(store: CatalogStore, root: str | Path, metadata: str | Path | None = None,
                  mapping: Mapping[str, str] | None = None,
                  state: Optional[JobState] = None,
                  follow_outside_links: Optional[bool] = None) -> ImportReport:
    """Sync the store with the folder; metadata rows override file-name titles.

    `follow_outside_links` None keeps the catalog's earlier choice (default: refuse).
    Raises CatalogBusy when another process is importing or indexing this catalog.
    """
    with catalog_lock(store.path):
        return _import_folder(store, root, metadata, mapping, state or JobState(),
                              follow_outside_links)


def _import_folder(store: CatalogStore, root: str | Path, metadata: str | Path | None,
                   mapping: Mapping[str, str] | None, state: JobState,
                   follow_outside_links: Optional[bool]) -> ImportReport:
    root = Path(root).resolve()
    store.set_meta("root", str(root))
    if follow_outside_links is None:
        follow_outside_links = store.get_meta(FOLLOW_LINKS_META) == "1"
    store.set_meta(FOLLOW_LINKS_META, "1" if follow_outside_links else "0")
    meta = read_metadata(metadata, root, mapping) if metadata else MetadataReport()
    if metadata:
        store.set_meta("metadata", str(Path(metadata).resolve()))
    scanned = scan(root, follow_outside_links)
    files = scanned.files
    known = store.file_states()
    quarantined = store.quarantine_states()
    now = time.time()
    counts = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    pending: list[tuple[str, tuple]] = []

    for n, f in enumerate(files):
        if n % 200 == 0:
            state.check()
            state.progress(n / max(1, len(files)),
                           say("Scanning {n}/{total}", n=n, total=len(files)))
        q = quarantined.get(f.path)
        if q is not None and q == (f.size, f.mtime):
            counts["skipped"] += 1  # still the same broken file
            continue
        row = meta.rows.get(f.path)
        prev = known.get(f.path)
        if prev is None:
            digest = _hash_or_refuse(root, f, scanned.refused)
            if digest is not None:
                pending.append(("insert", _insert_args(f, digest, row, now)))
                counts["added"] += 1
            continue
        item_id, size, mtime, old_hash = prev
        new_hash: Optional[str] = old_hash
        if (size, mtime) != (f.size, f.mtime):
            new_hash = _hash_or_refuse(root, f, scanned.refused)
            if new_hash is None:
                continue
        if new_hash != old_hash or (size, mtime) != (f.size, f.mtime) or row is not None:
            pending.append(("update", (item_id, f, new_hash, row, now)))
            counts["updated" if new_hash != old_hash else "unchanged"] += 1
        else:
            counts["unchanged"] += 1
        if len(pending) >= CHUNK:
            _flush(store, pending)
    _flush(store, pending)

    present = {f.path: (f.size, f.mtime) for f in files}
    gone = [(item_id,) for path, (item_id, *_rest) in known.items() if path not in present]
    # A quarantined file that changed or vanished leaves the list (a changed one is retried).
    stale_q = [(p,) for p, st in quarantined.items() if present.get(p) != st]
    with store.write() as c:
        c.executemany("DELETE FROM items WHERE id=?", gone)
        c.executemany("DELETE FROM quarantine WHERE path=?", stale_q)
    state.progress(1.0, say("Imported {n} files", n=len(files)))
    return ImportReport(counts["added"], counts["updated"], counts["unchanged"], len(gone),
                        counts["skipped"], meta.problems, meta.columns, tuple(scanned.refused))


def _hash_or_refuse(root: Path, f: ScannedFile, refused: list[RefusedFile]) -> Optional[str]:
    """The file's hash, or None (and the file listed as refused) when it cannot be read."""
    try:
        return file_hash(root / f.path)
    except ImageLoadError as exc:
        refused.append(RefusedFile(f.path, str(exc)))
    except OSError as exc:
        refused.append(RefusedFile(f.path, f"cannot be read: {exc.strerror or exc}"))
    return None


def _insert_args(f: ScannedFile, digest: str, row: Optional[MetadataRow], now: float) -> tuple:
    title = (row.title if row else "") or title_from_filename(f.path)
    return (
        row.id if row else "", f.path, f.size, f.mtime, digest, title,
        row.category if row else folder_category(f.path), row.price if row else None,
        row.currency if row else "", ";".join(row.tags) if row else "", row.url if row else "",
        now, now,
    )


def folder_category(path: str) -> str:
    """Items without metadata take their category from their folder, if they are in one."""
    parts = Path(path).parts
    return title_from_filename(parts[-2]) if len(parts) > 1 else ""


def _flush(store: CatalogStore, pending: list[tuple[str, tuple]]) -> None:
    if not pending:
        return
    with store.write() as c:
        for op, args in pending:
            if op == "insert":
                c.execute(
                    "INSERT INTO items(external_id, path, size, mtime, content_hash, title, "
                    "category, price, currency, tags, url, added_at, updated_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", args)
                continue
            item_id, f, digest, row, now = args
            c.execute("UPDATE items SET size=?, mtime=?, content_hash=?, updated_at=? WHERE id=?",
                      (f.size, f.mtime, digest, now, item_id))
            if row is not None:
                c.execute(
                    "UPDATE items SET external_id=?, title=?, category=?, price=?, currency=?, "
                    "tags=?, url=? WHERE id=?",
                    (row.id, row.title or title_from_filename(f.path), row.category, row.price,
                     row.currency, ";".join(row.tags), row.url, item_id))
    pending.clear()
