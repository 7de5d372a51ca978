"""Catalog work on the inference worker, and catalog thumbnails off the GUI thread.

Every catalog request runs on the worker's EMBED model (which may differ from the model
that captions), so vectors, searches and "why similar" maps all come from one model.

`CatalogJobs` turns catalog operations into worker `Request`s: searches are interactive
(a newer search supersedes the older one), indexing is a chain of BATCH requests of one
batch each, so a caption or a question asked meanwhile runs between two batches.
`ThumbnailLoader` makes small PNG thumbnails in a QThreadPool and caches them on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PIL import Image
from PySide6.QtGui import QImage

from vlm_desktop.core import paths
from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.indexer import IndexProgress, Indexer
from vlm_desktop.core.catalog.lock import CatalogBusy
from vlm_desktop.core.catalog.recommend import Recommendation, mark_bought, recommend
from vlm_desktop.core.catalog.search import CatalogSearch, SearchFilters, SearchHit
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import Answer, WordSpan
from vlm_desktop.workers import threads
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient, Priority, Request
from vlm_desktop.workers.inference_worker import register_user_error

log = logging.getLogger(__name__)
# Another process indexing this catalog (the indexer holds its lock) is news for the panel.
register_user_error(CatalogBusy)

THUMB_SIDE = 96
# Indexing batches are sized from the measured rate to take about this long: a question
# asked meanwhile waits at most one batch (the worker runs requests one at a time).
BATCH_SECONDS = 0.75
MIN_BATCH, MAX_BATCH = 1, 32
MAPPING_META = "column_mapping"  # the import dialog's column mapping, reused on re-open


@dataclass(frozen=True)
class Recommendations:
    """The recommendation list and what it came from (for the panel's empty-list hint)."""

    items: tuple[Recommendation, ...]
    purchases: int  # purchases in the history
    indexed: int  # items with a vector for the model


@dataclass(frozen=True)
class WhySimilar:
    """"Why similar" maps for one hit against the current image."""

    item: CatalogItem
    maps: object  # core.catalog.why.SimilarityMaps


@dataclass(frozen=True)
class SimilarItems:
    """A result list and what the panel needs to word it honestly."""

    hits: tuple[SearchHit, ...]
    kind: str  # "image" | "item" (more like this) | "text"
    indexed: int  # items with a vector for the model when the search ran
    total: int  # items in the catalog
    weak_below: float  # a best similarity under this is chance level (match_quality)

    @property
    def weak(self) -> bool:
        """The best picture match is no better than random pairs of items reach."""
        if self.kind == "text" or not self.hits or self.hits[0].similarity is None:
            return False
        return self.hits[0].similarity < self.weak_below


def _indexed(jobs: "CatalogJobs", engine: Engine) -> int:
    from vlm_desktop.core.catalog.indexer import model_key

    return jobs.store.embedding_count(model_key(engine))


def _similar(jobs: "CatalogJobs", engine: Engine,
             search: Callable[[CatalogSearch], list[SearchHit]], kind: str) -> SimilarItems:
    from vlm_desktop.core.catalog.match_quality import weak_match_threshold

    indexed, total = _indexed(jobs, engine), jobs.store.stats().items
    if not indexed and kind != "text":
        # Nothing indexed yet (the first minutes of a new catalog): no vectors to compare.
        return SimilarItems((), kind, 0, total, 0.0)
    cs = jobs.search(engine)
    hits = tuple(search(cs))
    weak_below = weak_match_threshold(cs.index.get()) if indexed and kind != "text" else 0.0
    return SimilarItems(hits, kind, indexed, total, weak_below)


def _recommend(jobs: "CatalogJobs", engine: Engine, k: int) -> Recommendations:
    history = len(jobs.store.purchases())
    indexed = _indexed(jobs, engine)
    if history == 0 or indexed == 0:
        return Recommendations((), history, indexed)
    return Recommendations(tuple(recommend(jobs.store, jobs.search(engine).similarity_index(), k)),
                           history, indexed)


def _why(jobs: "CatalogJobs", engine: Engine, image: Image.Image, item: CatalogItem
         ) -> WhySimilar:
    from vlm_desktop.core.catalog.why import why_similar
    from vlm_desktop.core.images import load_image

    hit = load_image(str(jobs.store.abs_path(item)))
    return WhySimilar(item, why_similar(engine, image, hit, item.title))


def _answer(jobs: "CatalogJobs", engine: Engine, state: JobState, image: Image.Image,
            question: str) -> Answer:
    from vlm_desktop.core.catalog.qa import answer_catalog_question

    state.check()
    if not _indexed(jobs, engine):
        text = "The catalog is still being indexed; ask again in a moment."
        return Answer(question, text, 0.0, kind="catalog", words=_plain_words(text),
                      evidence="no indexed catalog items yet")
    answer = answer_catalog_question(jobs.search(engine), engine, image, question)
    # Word spans let the chat wrap the sentence like a model's answer.
    return replace(answer, words=_plain_words(answer.text))


def _plain_words(text: str) -> tuple[WordSpan, ...]:
    """Whitespace-separated spans with no maps: prices ("24.49") and quoted titles stay
    whole, and the chat wraps the sentence between them."""
    return tuple(WordSpan(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text))


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
        self._indexer = Indexer(store, batch_size=4)  # resized by the measured rate
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
                                         Priority.INTERACTIVE, topic=f"catalog:{name}",
                                         role=EMBED))
        self._jobs[rid] = name
        return rid

    def similar_to_image(self, image: Image.Image, k: int, filters: SearchFilters) -> int:
        return self.run("similar", lambda j, e, s: _similar(
            j, e, lambda cs: cs.by_image(e, image, k, filters), "image"))

    def more_like_this(self, item_id: int, k: int, filters: SearchFilters) -> int:
        return self.run("similar", lambda j, e, s: _similar(
            j, e, lambda cs: cs.more_like_this(item_id, k, filters), "item"))

    def text_search(self, text: str, mode: str, k: int, filters: SearchFilters) -> int:
        def fn(j: CatalogJobs, e: Engine, s: JobState) -> SimilarItems:
            # Before any vector exists, keywords still find items by their words.
            use = mode if _indexed(j, e) else "keyword"
            return _similar(j, e, lambda cs: cs.by_text(e, text, k, use, filters), "text")

        return self.run("similar", fn)

    def recommendations(self, k: int) -> int:
        return self.run("recommend", lambda j, e, s: _recommend(j, e, k))

    def why_similar(self, image: Image.Image, item: CatalogItem) -> int:
        """Heat maps of what `image` and `item` share; job_result("why", WhySimilar)."""
        return self.run("why", lambda j, e, s: _why(j, e, image, item))

    def answer_request(self, image: Image.Image, question: str) -> Request:
        """A worker request answering a catalog question about `image` (an `Answer`)."""
        return Request("answer", lambda e, s: _answer(self, e, s, image, question), role=EMBED)

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
            Request("catalog index", lambda e, s: indexer.next_batch(e, s), Priority.BATCH,
                    role=EMBED))

    def close(self) -> None:
        """Stop indexing, the decode threads and any background build of a search graph
        (call before the client shuts down)."""
        self.cancel_indexing()
        self._indexer.close()
        for search in list(self._searches.values()):
            search.index.close()

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
            if value.rate > 0:
                size = round(value.rate * BATCH_SECONDS)
                self._indexer.batch_size = max(MIN_BATCH, min(MAX_BATCH, size))
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

                image = _thumbnail(load_image(self.source), self.source)
                tmp = self.cache.with_suffix(".tmp.png")
                image.save(tmp)
                tmp.replace(self.cache)  # atomic: a half-written thumbnail is never read
            self.signals.done.emit(self.key, QImage(str(self.cache)))
        except Exception as exc:  # a broken file gets no thumbnail; the item still lists
            log.info("no thumbnail for %s: %s", self.source, exc)
            self.signals.done.emit(self.key, QImage())


def _thumbnail(image: Image.Image, source: str) -> Image.Image:
    """The picture's used area, fitted in THUMB_SIDE: clip art keeps its transparency (no
    white block on a selected tile) and loses its empty margins (no tiny drawing)."""
    with Image.open(source) as raw:  # load_image already vetted this file
        has_alpha = raw.mode in ("RGBA", "LA", "PA") or "transparency" in raw.info
        if has_alpha and not getattr(raw, "is_animated", False):
            image = raw.convert("RGBA")
    box = image.getchannel("A").getbbox() if image.mode == "RGBA" else None
    if box is not None:
        image = image.crop(box)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return image


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
        # "v2": thumbnails keep transparency and drop empty margins since then
        key = hashlib.blake2b(f"{path}|{stamp}|{THUMB_SIDE}|v2".encode(), digest_size=12)
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
    def __init__(self, fn: Callable[[], tuple[CatalogStore, Optional[ImportReport]]],
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

    def open_folder(self, folder: str, metadata: Optional[str] = None,
                    mapping: Optional[Mapping[str, str]] = None) -> None:
        """Import (or refresh) `folder` into its own database under data_dir()/catalogs;
        `mapping` (field -> column) is kept in the database for later refreshes."""
        from vlm_desktop.core.catalog.demo import catalogs_dir
        from vlm_desktop.core.catalog.importer import import_folder

        def work() -> tuple[CatalogStore, ImportReport]:
            root = Path(folder).resolve()
            tag = hashlib.blake2b(str(root).encode(), digest_size=4).hexdigest()
            store = CatalogStore(catalogs_dir() / f"{root.name}-{tag}.db")
            # A mapping comes from the import dialog, whose metadata choice (even none) stands.
            meta = metadata if mapping is not None else (metadata or find_metadata(root))
            store.set_meta(MAPPING_META, json.dumps(dict(mapping or {})))
            return store, import_folder(store, root, meta, mapping)

        self._pool.start(_OpenTask(work, self._signals))

    def open_database(self, path: str) -> None:
        """Open an existing catalog database and refresh it from its folder (incremental)."""
        from vlm_desktop.core.catalog.demo import DEMO_NAME, open_demo_catalog

        def work() -> tuple[CatalogStore, Optional[ImportReport]]:
            check_catalog_file(path)
            if Path(path).stem == DEMO_NAME and Path(path).parent.name == "catalogs":
                return open_demo_catalog(Path(path))  # its pictures live in the package
            store = CatalogStore(path)
            return store, refresh(store)

        self._pool.start(_OpenTask(work, self._signals))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


def check_catalog_file(path: str) -> None:
    """Refuse a file that is not a catalog database before CatalogStore would add tables."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='catalog_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise ValueError(f"{Path(path).name} is not a VLM Desktop catalog database.")


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


METADATA_NAMES = ("catalog.csv", "metadata.csv", "products.csv", "catalog.jsonl",
                  "metadata.jsonl", "catalog.json", "metadata.json")


def find_metadata(root: Path) -> Optional[str]:
    """A metadata file sitting in the catalog folder under a usual name, if any."""
    for name in METADATA_NAMES:
        if (root / name).is_file():
            return str(root / name)
    return None
