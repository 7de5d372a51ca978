"""Catalog work on the inference worker, and catalog thumbnails off the GUI thread.

`CatalogJobs` turns catalog operations into worker `Request`s: searches are interactive
(a newer search supersedes the older one), indexing is a chain of BATCH requests of one
batch each, so a caption or a question asked meanwhile runs between two batches.
`ThumbnailLoader` makes small PNG thumbnails in a QThreadPool and caches them on disk.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PIL import Image
from PySide6.QtGui import QImage

from vlm_desktop.core import paths
from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.indexer import IndexProgress, Indexer
from vlm_desktop.core.catalog.recommend import mark_bought, recommend
from vlm_desktop.core.catalog.search import CatalogSearch, SearchFilters
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.workers import threads
from vlm_desktop.workers.inference_worker import InferenceClient, Priority, Request

log = logging.getLogger(__name__)

THUMB_SIDE = 96


class CatalogJobs(QObject):
    """One open catalog's jobs. Signals arrive on the GUI thread."""

    index_progress = Signal(object)  # IndexProgress
    index_state = Signal(str)  # "running" | "paused" | "finished" | "cancelled" | "failed"
    job_result = Signal(str, object)  # job name, result
    job_failed = Signal(str, str)  # job name, message

    def __init__(self, client: InferenceClient, store: CatalogStore,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.store = store
        self._indexer = Indexer(store)
        self._searches: dict[str, CatalogSearch] = {}  # by engine model key
        self._jobs: dict[int, str] = {}
        self._index_request: Optional[int] = None
        self._indexing = False
        self._paused = False
        client.result.connect(self._on_result)
        client.error.connect(self._on_error)
        client.cancelled.connect(self._on_cancelled)

    # --- searches and other interactive jobs ----------------------------------------------

    def search(self, engine: Engine) -> CatalogSearch:
        """The CatalogSearch for `engine` (call on the worker thread, inside a job)."""
        from vlm_desktop.core.catalog.indexer import model_key

        key = model_key(engine)
        if key not in self._searches:
            self._searches[key] = CatalogSearch.for_engine(self.store, engine)
        return self._searches[key]

    def run(self, name: str, fn: Callable[["CatalogJobs", Engine, JobState], object]) -> int:
        """Run fn(jobs, engine, state) on the worker; the result comes as job_result(name, …).
        Jobs with the same name supersede each other (only the newest search matters)."""
        rid = self.client.submit(Request(f"catalog {name}", lambda e, s: fn(self, e, s),
                                         Priority.INTERACTIVE, topic=f"catalog:{name}"))
        self._jobs[rid] = name
        return rid

    def similar_to_image(self, image: Image.Image, k: int, filters: SearchFilters) -> int:
        return self.run("similar", lambda j, e, s: j.search(e).by_image(e, image, k, filters))

    def more_like_this(self, item_id: int, k: int, filters: SearchFilters) -> int:
        return self.run("similar", lambda j, e, s: j.search(e).more_like_this(item_id, k, filters))

    def text_search(self, text: str, mode: str, k: int, filters: SearchFilters) -> int:
        return self.run("similar",
                        lambda j, e, s: j.search(e).by_text(e, text, k, mode, filters))

    def recommendations(self, k: int) -> int:
        return self.run("recommend",
                        lambda j, e, s: recommend(j.store, j.search(e).index, k))

    def mark_bought(self, item_id: int) -> None:
        """Record a purchase now (a small SQLite write; safe on the GUI thread)."""
        mark_bought(self.store, item_id)

    # --- indexing -------------------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        return self._indexing

    def start_indexing(self) -> None:
        """Index everything pending, one BATCH request per batch."""
        if self._indexing and not self._paused:
            return
        self._indexing, self._paused = True, False
        self.index_state.emit("running")
        self._submit_batch()

    def pause_indexing(self) -> None:
        if self._indexing and not self._paused:
            self._paused = True  # the running batch finishes; no next one is queued
            self.index_state.emit("paused")

    def resume_indexing(self) -> None:
        if self._indexing and self._paused:
            self._paused = False
            self.index_state.emit("running")
            if self._index_request is None:
                self._submit_batch()

    def cancel_indexing(self) -> None:
        if not self._indexing:
            return
        self._indexing = self._paused = False
        if self._index_request is not None:
            self.client.cancel(self._index_request)
        self.index_state.emit("cancelled")

    def _submit_batch(self) -> None:
        indexer = self._indexer
        self._index_request = self.client.submit(
            Request("catalog index", lambda e, s: indexer.next_batch(e, s), Priority.BATCH))

    def close(self) -> None:
        """Stop indexing and the decode threads (call before the client shuts down)."""
        self.cancel_indexing()
        self._indexer.close()

    # --- outcomes -------------------------------------------------------------------------

    @Slot(int, object)
    def _on_result(self, rid: int, value: object) -> None:
        if rid == self._index_request:
            self._index_request = None
            if value is None:
                self._indexing = False
                self.index_state.emit("finished")
                return
            assert isinstance(value, IndexProgress)
            self.index_progress.emit(value)
            if self._indexing and not self._paused:
                self._submit_batch()
        elif rid in self._jobs:
            self.job_result.emit(self._jobs.pop(rid), value)

    @Slot(int, str, str)
    def _on_error(self, rid: int, message: str, _details: str) -> None:
        if rid == self._index_request:
            self._index_request = None
            self._indexing = False
            self.index_state.emit("failed")
            self.job_failed.emit("index", message)
        elif rid in self._jobs:
            self.job_failed.emit(self._jobs.pop(rid), message)

    @Slot(int)
    def _on_cancelled(self, rid: int) -> None:
        if rid == self._index_request:
            self._index_request = None
        self._jobs.pop(rid, None)


# --- thumbnails ---------------------------------------------------------------------------


class _ThumbSignals(QObject):
    done = Signal(str, QImage)  # key, thumbnail


class _ThumbTask(QRunnable):
    def __init__(self, key: str, source: str, cache: Path, signals: _ThumbSignals) -> None:
        super().__init__()
        self.key, self.source, self.cache, self.signals = key, source, cache, signals

    def run(self) -> None:
        try:
            if not self.cache.is_file():
                from PIL import Image

                from vlm_desktop.core.images import load_image

                image = load_image(self.source)
                image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
                tmp = self.cache.with_suffix(".tmp.png")
                image.save(tmp)
                tmp.replace(self.cache)  # atomic: a half-written thumbnail is never read
            self.signals.done.emit(self.key, QImage(str(self.cache)))
        except Exception as exc:  # a broken file gets no thumbnail; the item still lists
            log.info("no thumbnail for %s: %s", self.source, exc)
            self.signals.done.emit(self.key, QImage())


class ThumbnailLoader(QObject):
    """Thumbnails by file path, made in a thread pool and cached under cache_dir()."""

    ready = Signal(str, QImage)  # the path asked for, its thumbnail (null if unreadable)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        threads.register(self._pool, "catalog thumbnails", stop=self.shutdown)
        self._signals = _ThumbSignals()
        self._signals.done.connect(self._on_done)
        self._memory: dict[str, QImage] = {}
        self._pending: set[str] = set()
        self._dir = paths.cache_dir() / "thumbnails"
        self._dir.mkdir(parents=True, exist_ok=True)

    def get(self, path: str) -> Optional[QImage]:
        """The thumbnail if ready; otherwise None and `ready` follows."""
        if path in self._memory:
            return self._memory[path]
        if path not in self._pending:
            self._pending.add(path)
            self._pool.start(_ThumbTask(path, path, self._cache_path(path), self._signals))
        return None

    def _cache_path(self, path: str) -> Path:
        try:
            st = Path(path).stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = ""
        key = hashlib.blake2b(f"{path}|{stamp}|{THUMB_SIDE}".encode(), digest_size=12)
        return self._dir / f"{key.hexdigest()}.png"

    @Slot(str, QImage)
    def _on_done(self, key: str, image: QImage) -> None:
        self._pending.discard(key)
        self._memory[key] = image
        self.ready.emit(key, image)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


# --- opening a catalog --------------------------------------------------------------------


class _OpenSignals(QObject):
    opened = Signal(object, object)
    failed = Signal(str)


class _OpenTask(QRunnable):
    def __init__(self, fn: Callable[[], tuple[CatalogStore, ImportReport]],
                 signals: _OpenSignals) -> None:
        super().__init__()
        self.fn, self.signals = fn, signals

    def run(self) -> None:
        try:
            store, report = self.fn()
        except Exception as exc:  # shown in the panel; the rest of the app is unaffected
            log.exception("cannot open catalog")
            self.signals.failed.emit(f"Cannot open the catalog: {exc}")
            return
        self.signals.opened.emit(store, report)


class StoreOpener(QObject):
    """Opens (imports/refreshes) a catalog off the GUI thread; no model needed."""

    opened = Signal(object, object)  # CatalogStore, ImportReport
    failed = Signal(str)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        threads.register(self._pool, "catalog opener", stop=self.shutdown)
        self._signals = _OpenSignals()
        self._signals.opened.connect(self.opened)
        self._signals.failed.connect(self.failed)

    def open_demo(self) -> None:
        from vlm_desktop.core.catalog.demo import open_demo_catalog

        self._pool.start(_OpenTask(open_demo_catalog, self._signals))

    def open_folder(self, folder: str, metadata: Optional[str] = None) -> None:
        """Import (or refresh) `folder` into its own database under data_dir()/catalogs."""
        from vlm_desktop.core.catalog.demo import catalogs_dir
        from vlm_desktop.core.catalog.importer import import_folder

        def work() -> tuple[CatalogStore, ImportReport]:
            root = Path(folder).resolve()
            tag = hashlib.blake2b(str(root).encode(), digest_size=4).hexdigest()
            store = CatalogStore(catalogs_dir() / f"{root.name}-{tag}.db")
            meta = metadata or _find_metadata(root)
            return store, import_folder(store, root, meta)

        self._pool.start(_OpenTask(work, self._signals))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


METADATA_NAMES = ("catalog.csv", "metadata.csv", "products.csv", "catalog.jsonl",
                  "metadata.jsonl", "catalog.json", "metadata.json")


def _find_metadata(root: Path) -> Optional[str]:
    """A metadata file sitting in the catalog folder under a usual name, if any."""
    for name in METADATA_NAMES:
        if (root / name).is_file():
            return str(root / name)
    return None
