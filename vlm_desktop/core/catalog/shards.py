"""Embedding shards: what a distributed embedding run writes and the desktop ingests.

A shard is one Parquet file holding, per image, everything a catalog row needs (path
relative to the source folder, size, mtime, content hash, title, category, price, …) and
the vectors of every space the model keeps (`vector` for the joint space, `visual` for
image-to-image), with the model key and version it came from. Files that could not be used
carry an `error` instead of vectors and become quarantine entries on ingest.

The run is planned here, Qt- and Ray-free: the scanned files are cut into shards of a fixed
size, each named by its position and a digest of what it covers, so a rerun skips every
shard already written for the same files and redoes only those whose files changed. Shards
are written to a temporary name and renamed, so a killed run never leaves half a shard.

Ingest needs only pyarrow (the `cluster` extra); it checks that every shard comes from the
same model and version as the model the desktop will search with, then writes the items
and vectors in one transaction per shard and builds the vector index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from vlm_desktop.core.catalog.importer import ScannedFile, folder_category, scan
from vlm_desktop.core.catalog.indexer import visual_key
from vlm_desktop.core.catalog.metadata import MetadataRow, read_metadata, title_from_filename
from vlm_desktop.core.catalog.store import CatalogError, CatalogItem, CatalogStore

SHARD_SIZE = 1024
MANIFEST = "manifest.json"
_SHARD_NAME = re.compile(r"^part-(\d{5})-([0-9a-f]{12})\.parquet$")
FORMAT = 1


class ShardError(CatalogError):
    """Shards that cannot be ingested (wrong model, missing shards, unreadable file)."""


@dataclass(frozen=True)
class ShardTask:
    """One shard to embed: its file name and the items it covers (picklable, sent to workers)."""

    name: str
    items: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Plan:
    source: str
    tasks: tuple[ShardTask, ...]
    refused: tuple[tuple[str, str], ...] = ()  # (path, reason) not even scanned in
    problems: tuple[tuple[int, str], ...] = ()  # metadata (row, reason)

    def pending(self, out: Path) -> list[ShardTask]:
        """The shards not yet written in `out` (a rerun resumes here)."""
        return [t for t in self.tasks if not (out / t.name).is_file()]


@dataclass
class IngestReport:
    shards: int = 0
    items: int = 0
    quarantined: int = 0
    model: str = ""
    missing: list[str] = field(default_factory=list)


def _pyarrow():  # noqa: ANN202 - optional dependency, imported on use
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ShardError("Shards need pyarrow: pip install 'vlm-desktop[cluster]'") from exc
    return pa, pq


# --- planning ---------------------------------------------------------------------------


def plan(source: str | Path, metadata: str | Path | None = None,
         shard_size: int = SHARD_SIZE, follow_outside_links: bool = False) -> Plan:
    """Cut the source folder's images into shards (sorted by path, so the plan is stable)."""
    root = Path(source).resolve()
    scanned = scan(root, follow_outside_links)
    rows = read_metadata(metadata, root) if metadata else None
    meta = rows.rows if rows else {}
    records = [_record(f, meta.get(f.path)) for f in scanned.files]
    tasks = []
    for start in range(0, len(records), max(1, shard_size)):
        chunk = tuple(records[start:start + shard_size])
        tasks.append(ShardTask(_shard_name(start // max(1, shard_size), chunk), chunk))
    return Plan(str(root), tuple(tasks), tuple((r.path, r.reason) for r in scanned.refused),
                tuple((p.row, p.reason) for p in (rows.problems if rows else ())))


def _record(f: ScannedFile, row: Optional[MetadataRow]) -> dict[str, Any]:
    return {
        "path": f.path, "size": f.size, "mtime": f.mtime,
        "id": row.id if row else "",
        "title": (row.title if row else "") or title_from_filename(f.path),
        "category": row.category if row else folder_category(f.path),
        "price": row.price if row else None,
        "currency": row.currency if row else "",
        "tags": ";".join(row.tags) if row else "",
        "url": row.url if row else "",
    }


def _shard_name(index: int, chunk: Sequence[dict[str, Any]]) -> str:
    h = hashlib.blake2b(digest_size=6)
    h.update(str(FORMAT).encode())
    for r in chunk:  # a changed file or metadata row changes its shard's name
        h.update(json.dumps(r, sort_keys=True, ensure_ascii=True).encode())
    return f"part-{index:05d}-{h.hexdigest()}.parquet"


def drop_stale(out: Path, plan_: Plan) -> list[str]:
    """Remove shards in `out` this plan no longer names (files changed since); only files
    with our shard naming are touched."""
    wanted = {t.name for t in plan_.tasks}
    gone = []
    for p in out.iterdir() if out.is_dir() else ():
        if _SHARD_NAME.match(p.name) and p.name not in wanted:
            p.unlink()
            gone.append(p.name)
    return gone


# --- writing (on the workers) -----------------------------------------------------------


def write_shard(out: Path, task: ShardTask, model: str, version: str,
                vectors: dict[str, list[Optional[np.ndarray]]], digests: Sequence[str],
                sizes: Sequence[int], mtimes: Sequence[float], errors: Sequence[str]) -> Path:
    """Write one shard atomically (temporary name, then rename)."""
    pa, pq = _pyarrow()
    cols: dict[str, Any] = {k: [r[k] for r in task.items] for k in task.items[0]} if task.items \
        else {}
    cols.update(size=list(sizes), mtime=list(mtimes), content_hash=list(digests),
                error=[e or None for e in errors], model=[model] * len(task.items),
                model_version=[version] * len(task.items))
    for space, rows in vectors.items():
        column = "vector" if space == "joint" else space
        cols[column] = [None if v is None else np.asarray(v, np.float32).tolist() for v in rows]
    table = pa.table(cols)
    target = out / task.name
    tmp = out / f".{task.name}.{os.getpid()}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return target


def write_manifest(out: Path, plan_: Plan, model: str, version: str) -> None:
    data = {"format": FORMAT, "source": plan_.source, "model": model, "model_version": version,
            "shards": [t.name for t in plan_.tasks],
            "items": sum(len(t.items) for t in plan_.tasks),
            "refused": [list(r) for r in plan_.refused]}
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, out / MANIFEST)


# --- ingest (on the desktop) ------------------------------------------------------------


def read_manifest(shards: Path) -> dict[str, Any]:
    path = shards / MANIFEST
    if not path.is_file():
        raise ShardError(f"{shards} has no {MANIFEST}: the embedding run did not finish "
                         "(run embed-distributed again; it resumes)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ShardError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ShardError(f"{path} is not a shard manifest this version reads")
    return data


def ingest(store: CatalogStore, shards: str | Path, expected_model: Optional[str] = None,
           root: str | Path | None = None,
           progress: Optional[Callable[[int, int], None]] = None) -> IngestReport:
    """Load every shard the manifest names into `store` (items by path: a rerun updates,
    never doubles). `expected_model`: the model key the desktop searches with; shards from
    any other model or version are refused before anything is written."""
    shards = Path(shards)
    manifest = read_manifest(shards)
    model = f"{manifest['model']}@{manifest['model_version']}"
    if expected_model is not None and model != expected_model:
        raise ShardError(f"The shards hold vectors from {model}, but this catalog searches "
                         f"with {expected_model}; embed again with that model, or ingest "
                         f"with --model set to the shards' model")
    names = [str(n) for n in manifest.get("shards", [])]
    missing = [n for n in names if not (shards / n).is_file()]
    if missing:
        raise ShardError(f"{len(missing)} of {len(names)} shards are missing from {shards} "
                         f"(first: {missing[0]}); run embed-distributed again to finish")
    store.set_meta("root", str(Path(root or manifest["source"]).resolve()))
    report = IngestReport(model=model)
    for n, name in enumerate(names):
        _ingest_one(store, shards / name, model, report)
        report.shards += 1
        if progress:
            progress(n + 1, len(names))
    return report


_ITEM_COLUMNS = ("id", "path", "size", "mtime", "content_hash", "title", "category", "price",
                 "currency", "tags", "url")


def _ingest_one(store: CatalogStore, path: Path, model: str, report: IngestReport) -> None:
    _pa, pq = _pyarrow()
    try:
        table = pq.read_table(path)
    except Exception as exc:  # a damaged file names itself
        raise ShardError(f"{path.name} cannot be read: {exc}") from exc
    rows = table.to_pylist()
    for r in rows:
        if f"{r.get('model')}@{r.get('model_version')}" != model:
            raise ShardError(f"{path.name} holds vectors from another model "
                             f"({r.get('model')}@{r.get('model_version')})")
    good = [r for r in rows if not r.get("error")]
    bad = [r for r in rows if r.get("error")]
    with store.write() as c:
        ids = _upsert_items(c, good)
        spaces = [("vector", model)]
        if "visual" in table.column_names:
            spaces.append(("visual", visual_key(model)))
        for column, key in spaces:
            store.put_embeddings(c, key, [(i, r["content_hash"], np.asarray(r[column], np.float32))
                                          for i, r in zip(ids, good) if r[column] is not None])
        store.quarantine_items(c, [(_quarantine_item(c, r), str(r["error"])) for r in bad])
    report.items += len(good)
    report.quarantined += len(bad)


def _upsert_items(c: Any, rows: Iterable[dict[str, Any]]) -> list[int]:
    ids = []
    for r in rows:
        values = [r[k] for k in _ITEM_COLUMNS]
        row = c.execute(
            "INSERT INTO items(external_id, path, size, mtime, content_hash, title, category, "
            "price, currency, tags, url, added_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,strftime('%s','now'),strftime('%s','now')) "
            "ON CONFLICT(path) DO UPDATE SET external_id=excluded.external_id, "
            "size=excluded.size, mtime=excluded.mtime, content_hash=excluded.content_hash, "
            "title=excluded.title, category=excluded.category, price=excluded.price, "
            "currency=excluded.currency, tags=excluded.tags, url=excluded.url, "
            "updated_at=excluded.updated_at RETURNING id", values).fetchone()
        ids.append(int(row[0]))
    return ids


def _quarantine_item(c: Any, r: dict[str, Any]) -> CatalogItem:
    row = c.execute("SELECT id FROM items WHERE path=?", (r["path"],)).fetchone()
    return CatalogItem(int(row[0]) if row else -1, r["path"], r["title"], size=int(r["size"]),
                       mtime=float(r["mtime"]))
