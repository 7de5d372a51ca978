"""The demo catalog that ships in resources/demo_catalog, opened on first run.

Its database lives in data_dir()/catalogs/demo.db; the pictures stay in the installed
package. Opening re-runs the (cheap, incremental) import so a moved or upgraded install
finds its files again without re-embedding anything whose bytes did not change.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Optional

from vlm_desktop.core import paths
from vlm_desktop.core.catalog.importer import ImportReport, import_folder
from vlm_desktop.core.catalog.recommend import import_history
from vlm_desktop.core.catalog.store import CatalogStore

DEMO_NAME = "demo"


def demo_folder() -> Path:
    """The shipped demo catalog folder (images/, catalog.csv, demo_history.csv)."""
    return Path(str(resources.files("vlm_desktop.resources") / "demo_catalog"))


def catalogs_dir() -> Path:
    folder = paths.data_dir() / "catalogs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_demo_catalog(path: str | Path) -> bool:
    """Whether `path` is the demo catalog's database (data_dir()/catalogs/demo.db)."""
    p = Path(path)
    return p.stem == DEMO_NAME and p.parent.name == "catalogs"


def open_demo_catalog(db_path: Optional[Path] = None) -> tuple[CatalogStore, ImportReport]:
    """Create or refresh the demo catalog's database; indexing is left to the caller."""
    src = demo_folder()
    if not (src / "catalog.csv").is_file():
        raise FileNotFoundError(f"The demo catalog is missing from this installation ({src}).")
    store = CatalogStore(db_path or catalogs_dir() / f"{DEMO_NAME}.db")
    report = import_folder(store, src, metadata=src / "catalog.csv")
    if store.get_meta("demo_history_imported") is None:
        import_history(store, src / "demo_history.csv")
        store.set_meta("demo_history_imported", "1")
    return store, report
