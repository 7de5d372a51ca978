"""Bring a folder of product images (and an optional metadata file) into a CatalogStore.

Import is a diff, never a rebuild: new files are added, changed ones (size, mtime, then
content hash) updated — their embeddings then no longer match and get recomputed — and
removed ones deleted. It commits in chunks and is idempotent, so a killed import simply
runs again. Pixels are not decoded here; the indexer does that.
"""

from __future__ import annotations

import hashlib
import os
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
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.images import SUPPORTED_EXTENSIONS

CHUNK = 500


@dataclass(frozen=True)
class ScannedFile:
    path: str  # relative, POSIX separators
    size: int
    mtime: float


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


def file_hash(path: str | Path) -> str:
    """Content hash of a file (blake2b-128 of its bytes)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan_folder(root: str | Path) -> list[ScannedFile]:
    """Every supported image under `root` (recursive, hidden folders skipped), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Catalog folder not found: {root}")
    out: list[ScannedFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_EXTENSIONS:
                continue
            full = Path(dirpath) / name
            try:
                st = full.stat()
            except OSError:
                continue  # vanished between listing and stat; the next import sees it
            out.append(ScannedFile(full.relative_to(root).as_posix(), st.st_size, st.st_mtime))
    out.sort(key=lambda f: f.path)
    return out


def import_folder(store: CatalogStore, root: str | Path, metadata: str | Path | None = None,
                  mapping: Mapping[str, str] | None = None,
                  state: Optional[JobState] = None) -> ImportReport:
    """Sync the store with the folder; metadata rows override file-name titles."""
    state = state or JobState()
    root = Path(root).resolve()
    store.set_meta("root", str(root))
    meta = read_metadata(metadata, root, mapping) if metadata else MetadataReport()
    if metadata:
        store.set_meta("metadata", str(Path(metadata).resolve()))
    files = scan_folder(root)
    known = store.file_states()
    quarantined = store.quarantine_states()
    now = time.time()
    counts = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    pending: list[tuple[str, tuple]] = []

    for n, f in enumerate(files):
        if n % 200 == 0:
            state.check()
            state.progress(n / max(1, len(files)), f"Scanning {n}/{len(files)}")
        q = quarantined.get(f.path)
        if q is not None and q == (f.size, f.mtime):
            counts["skipped"] += 1  # still the same broken file
            continue
        row = meta.rows.get(f.path)
        prev = known.get(f.path)
        if prev is None:
            pending.append(("insert", _insert_args(f, file_hash(root / f.path), row, now)))
            counts["added"] += 1
            continue
        item_id, size, mtime, old_hash = prev
        new_hash = old_hash
        if (size, mtime) != (f.size, f.mtime):
            new_hash = file_hash(root / f.path)
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
    state.progress(1.0, f"Imported {len(files)} files")
    return ImportReport(counts["added"], counts["updated"], counts["unchanged"], len(gone),
                        counts["skipped"], meta.problems, meta.columns)


def _insert_args(f: ScannedFile, digest: str, row: Optional[MetadataRow], now: float) -> tuple:
    title = (row.title if row else "") or title_from_filename(f.path)
    return (
        row.id if row else "", f.path, f.size, f.mtime, digest, title,
        row.category if row else _folder_category(f.path), row.price if row else None,
        row.currency if row else "", ";".join(row.tags) if row else "", row.url if row else "",
        now, now,
    )


def _folder_category(path: str) -> str:
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
