"""Opening a catalog with no Qt: import a folder, open a database, refresh it from disk.

Each function returns the store and what the import found (None when nothing was
imported); the workers run them off the GUI thread, the CLI and tests call them directly.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Mapping, Optional

from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.messages import say

MAPPING_META = "column_mapping"  # the import dialog's column mapping, reused on re-open
METADATA_NAMES = ("catalog.csv", "metadata.csv", "products.csv", "catalog.jsonl",
                  "metadata.jsonl", "catalog.json", "metadata.json")

Opened = tuple[CatalogStore, Optional[ImportReport]]


def open_demo() -> Opened:
    """The shipped demo catalog (imported on first use)."""
    from vlm_desktop.core.catalog.demo import open_demo_catalog

    return open_demo_catalog()


def open_folder(folder: str, metadata: Optional[str] = None,
                mapping: Optional[Mapping[str, str]] = None) -> Opened:
    """Import (or refresh) `folder` into its own database under data_dir()/catalogs;
    `mapping` (field -> column) is kept in the database for later refreshes."""
    from vlm_desktop.core.catalog.demo import catalogs_dir
    from vlm_desktop.core.catalog.importer import import_folder

    root = Path(folder).resolve()
    tag = hashlib.blake2b(str(root).encode(), digest_size=4).hexdigest()
    store = CatalogStore(catalogs_dir() / f"{root.name}-{tag}.db")
    # A mapping comes from the import dialog, whose metadata choice (even none) stands.
    meta = metadata if mapping is not None else (metadata or find_metadata(root))
    store.set_meta(MAPPING_META, json.dumps(dict(mapping or {})))
    return store, import_folder(store, root, meta, mapping)


def open_database(path: str) -> Opened:
    """Open an existing catalog database and refresh it from its folder (incremental)."""
    from vlm_desktop.core.catalog.demo import is_demo_catalog, open_demo_catalog

    check_catalog_file(path)
    if is_demo_catalog(path):
        return open_demo_catalog(Path(path))  # its pictures live in the package
    store = CatalogStore(path)
    return store, refresh(store)


def check_catalog_file(path: str) -> None:
    """Refuse a file that is not a catalog database before CatalogStore would add tables."""
    if not Path(path).is_file():
        raise FileNotFoundError(say("{path} does not exist.", path=path))
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise ValueError(say("{name} is not a VLM Desktop catalog database.",
                             name=Path(path).name))


def refresh(store: CatalogStore) -> Optional[ImportReport]:
    """Re-import the catalog's folder with its metadata and mapping; None if the folder
    is gone (the catalog still opens with what it has)."""
    from vlm_desktop.core.catalog.importer import import_folder

    root = store.get_meta("root")
    if root is None or not Path(root).is_dir():
        return None
    meta = store.get_meta("metadata")
    mapping = json.loads(store.get_meta(MAPPING_META) or "{}")
    return import_folder(store, root, meta if meta and Path(meta).is_file() else None,
                         mapping)


def find_metadata(root: Path) -> Optional[str]:
    """A metadata file sitting in the catalog folder under a usual name, if any."""
    for name in METADATA_NAMES:
        if (root / name).is_file():
            return str(root / name)
    return None
