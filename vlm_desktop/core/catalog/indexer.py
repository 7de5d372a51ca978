"""Embed a catalog's pending items in batches, resumably.

`Indexer.next_batch` does one batch: take the decoded images prefetched during the previous
batch, start decoding the following batch in a small thread pool (decoding overlaps with
encoding), encode, and commit the embeddings and any quarantined files in one transaction.
A process killed at any point therefore loses at most the batch in flight and never
writes an item twice: pending work is simply "items with no embedding for this model and
their current content hash". The worker's batch lane calls `next_batch` once per request
so interactive requests get in between; the CLI calls `run`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from PIL import Image

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.catalog import lock as catalog_lock
from vlm_desktop.core.catalog.importer import FOLLOW_LINKS_META, link_leads_outside
from vlm_desktop.core.catalog.keys import model_key, visual_key  # noqa: F401 - re-exported
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.images import ImageLoadError, load_image, read_image_file

log = logging.getLogger(__name__)

DEFAULT_BATCH = 32
# Engines look at ~224-px inputs; decoding straight to a modest size keeps batches small in memory.
DECODE_MAX_SIDE = 512
# A JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 scale, keeping at least this long side, then
# shrunk to DECODE_MAX_SIDE as before. Twice DECODE_MAX_SIDE, not DECODE_MAX_SIDE itself: on
# 185 camera-sized photos (benchmarks/bench_catalog.py --catalog mixed) decoding 1.7x faster
# kept the catalog vectors at cosine >= 0.9989 and top-10 neighbours 0.968 (joint) / 0.979
# (visual) of a whole decode; straight to 512 px was 2.9x faster but 0.944 / 0.951.
DRAFT_MIN_SIDE = 2 * DECODE_MAX_SIDE


def embed_for_catalog(engine: Engine, images: Sequence[Image.Image],
                      state: Optional[JobState] = None) -> dict[str, Any]:
    """{"joint": vectors[, "visual": vectors]}: every vector the catalog keeps per image,
    in one pass where the engine offers it (`embed_catalog`), else its joint vectors."""
    both = getattr(engine, "embed_catalog", None)
    if callable(both):
        return dict(both(images, state))
    return {"joint": engine.embed_images(images, state)}


@dataclass(frozen=True)
class IndexProgress:
    """Where an indexing run stands after a batch."""

    done: int
    total: int
    batch: int
    quarantined: int
    rate: float  # items per second, this run
    eta_s: Optional[float]
    finished: bool

    @property
    def fraction(self) -> float:
        return 1.0 if self.total == 0 else min(1.0, self.done / self.total)

    @property
    def message(self) -> str:
        eta = "" if self.eta_s is None else f", about {_fmt_duration(self.eta_s)} left"
        return f"Indexed {self.done}/{self.total} ({self.rate:.1f} items/s{eta})"


@dataclass(frozen=True)
class _Decoded:
    item: CatalogItem
    image: Optional[Image.Image]
    digest: str
    size: int
    mtime: float
    error: str = ""


class Indexer:
    """Indexes one store with one engine; not thread-safe, drive it from one thread."""

    def __init__(self, store: CatalogStore, batch_size: int = DEFAULT_BATCH,
                 decode_workers: int = 2) -> None:
        self.store = store
        self.batch_size = batch_size
        # One thread prepares the next batch while the engine encodes this one; it fans the
        # batch's files out to the decoders (Pillow releases the GIL while decoding).
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="catalog-prefetch")
        self._decoders = ThreadPoolExecutor(decode_workers, thread_name_prefix="catalog-decode")
        self._next: Optional[Future[list[_Decoded]]] = None
        self._next_ids: list[int] = []
        self._model: Optional[str] = None
        self._total = 0
        self._done = 0
        self._quarantined = 0
        self._busy_s = 0.0
        self._resume = threading.Event()
        self._resume.set()
        self._closed = False
        # close() runs on another thread than next_batch(): the closed check and the submit
        # to the prefetch pool happen under this lock, so nothing is submitted after shutdown.
        self._lock = threading.Lock()
        self._holds_catalog = False  # one hold on the catalog's OS lock while indexing

    # --- pause / resume ------------------------------------------------------------------

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    # --- batches -------------------------------------------------------------------------

    def next_batch(self, engine: Engine, state: Optional[JobState] = None
                   ) -> Optional[IndexProgress]:
        """Index one batch; None when nothing is left to index.

        The first batch takes the catalog's lock (`lock.py`) and the indexer holds it until
        nothing is left, a batch is cancelled or fails, or it is closed: a second process
        importing or indexing this catalog meanwhile is told it is in use, and this one
        raises CatalogBusy (before any work) while another process holds it.
        """
        self._take_catalog_lock()
        try:
            progress = self._next_batch(engine, state)
        except BaseException:
            self._release_catalog_lock()
            raise
        if progress is None:
            self._release_catalog_lock()
        return progress

    def _take_catalog_lock(self) -> None:
        with self._lock:
            if self._holds_catalog:
                return
            catalog_lock.acquire(self.store.path)
            self._holds_catalog = True

    def _release_catalog_lock(self) -> None:
        with self._lock:
            if self._holds_catalog:
                self._holds_catalog = False
                catalog_lock.release(self.store.path)

    def _next_batch(self, engine: Engine, state: Optional[JobState]) -> Optional[IndexProgress]:
        state = state or JobState()
        started = time.monotonic()
        # A catalog adapted to its own titles embeds new items with its adapted model.
        from vlm_desktop.core.catalog.adapt_store import bind_engine

        base, engine = engine, bind_engine(self.store, engine)
        model = model_key(engine)
        if model != self._model:
            self._reset(model)
        if self._next is None:
            self._prefetch(exclude=())
        assert self._next is not None
        state.check()
        try:
            current = self._next.result()
        except CancelledError:  # close() dropped the prefetch: the window is closing
            raise Cancelled() from None
        self._next = None
        if not current:
            return None
        self._prefetch(exclude=[d.item.id for d in current])
        good = [d for d in current if d.image is not None]
        # The engine shares the cancel token but not the progress line, which counts items.
        inner = JobState(token=state.token)
        images = [d.image for d in good if d.image is not None]
        features = None
        if good and _keeps_features(base):
            # The features catalog adaptation trains on, kept on the way to the vectors.
            features = base.image_features(images, inner)  # type: ignore[attr-defined]
            vectors = dict(engine.spaces(*features))  # type: ignore[attr-defined]
        else:
            vectors = embed_for_catalog(engine, images, inner) if good else {}
        state.check()  # a cancelled batch commits nothing, so the next run redoes it whole
        self._commit(model, good, vectors, [d for d in current if d.image is None])
        if features is not None:
            from vlm_desktop.core.catalog import adapt_cache, adapt_store

            adapt_cache.add_indexed(adapt_store.adapt_dir(self.store), model_key(base),
                                       [d.item.id for d in good], [d.digest for d in good],
                                       *features)
        self._done += len(current)
        self._quarantined += sum(1 for d in current if d.image is None)
        self._busy_s += time.monotonic() - started
        progress = self._progress(len(current))
        state.progress(progress.fraction, progress.message)
        return progress

    def run(self, engine: Engine, state: Optional[JobState] = None) -> IndexProgress:
        """Index everything pending, honouring pause and cancel."""
        state = state or JobState()
        last = self._progress(0)
        while True:
            while not self._resume.wait(0.05):
                state.check()
            step = self.next_batch(engine, state)
            if step is None:
                return IndexProgress(last.done, last.done, 0, last.quarantined, last.rate,
                                     0.0, True)
            last = step

    def close(self) -> None:
        """Stop the decode threads (pending decodes are dropped; nothing was committed).

        Safe to call from any thread while a batch runs: the batch ends with `Cancelled`.
        """
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._decoders.shutdown(wait=True, cancel_futures=True)
        self._release_catalog_lock()

    # --- internals -----------------------------------------------------------------------

    def _reset(self, model: str) -> None:
        if self._next is not None:
            self._next.cancel()
            self._next = None
        self._model = model
        self._done = 0
        self._quarantined = 0
        self._busy_s = 0.0
        self._total = self.store.pending_count(model)

    def _prefetch(self, exclude: Sequence[int]) -> None:
        assert self._model is not None
        items = self.store.pending_items(self._model, self.batch_size, exclude=exclude)
        with self._lock:
            if self._closed:
                raise Cancelled()  # closed while a batch ran (window closing): stop quietly
            self._next = self._pool.submit(self._decode_all, items)

    def _decode_all(self, items: list[CatalogItem]) -> list[_Decoded]:
        root = self.store.root
        follow = self.store.get_meta(FOLLOW_LINKS_META) == "1"
        return list(self._decoders.map(lambda it: _decode(root, it, follow), items))

    def _commit(self, model: str, good: list[_Decoded], vectors: dict[str, Any],
                bad: list[_Decoded]) -> None:
        with self.store.write() as c:
            for d in good:
                if d.digest != d.item.content_hash:
                    # The file changed after import: record what was actually embedded.
                    c.execute("UPDATE items SET size=?, mtime=?, content_hash=? WHERE id=?",
                              (d.size, d.mtime, d.digest, d.item.id))
            for space, rows in vectors.items():  # one transaction: all spaces or none
                key = model if space == "joint" else f"{model}#{space}"
                self.store.put_embeddings(
                    c, key, [(d.item.id, d.digest, rows[i]) for i, d in enumerate(good)])
            if bad:
                self.store.quarantine_items(c, [(d.item, d.error) for d in bad])

    def _progress(self, batch: int) -> IndexProgress:
        total = max(self._total, self._done)
        rate = self._done / self._busy_s if self._busy_s > 0 else 0.0
        eta = (total - self._done) / rate if rate > 0 else None
        return IndexProgress(self._done, total, batch, self._quarantined, rate, eta,
                             self._done >= total)


def _keeps_features(engine: Engine) -> bool:
    """Whether `engine` is the built-in model with a trained joint space (the one catalog
    adaptation applies to): its tower features are worth keeping while indexing."""
    from vlm_desktop.core.catalog.adapt_store import base_projection

    return (callable(getattr(engine, "image_features", None))
            and callable(getattr(engine, "spaces", None)) and base_projection(engine) is not None)


def decode_item(root: Path, item: CatalogItem, follow_outside_links: bool = False) -> _Decoded:
    """One item's file read and decoded at the indexer's size (`.image` None: `.error` says
    why); catalog adaptation and the distributed embedder read images exactly as the index
    does (same refusals, decode budget and resize)."""
    return _decode(root, item, follow_outside_links)


def _decode(root: Path, item: CatalogItem, follow_outside_links: bool = False) -> _Decoded:
    """Read and decode one item; any failure becomes a quarantine entry with its reason.

    Nothing a file holds may stop the catalog: an exception here that is not ours (a
    decoder bug, memory) is quarantined too, so a resume never dies on the same file.
    """
    try:
        return _decode_file(root, item, follow_outside_links)
    except Exception as exc:
        log.warning("quarantining %s: unexpected %s", item.path, type(exc).__name__,
                    exc_info=True)
        return _Decoded(item, None, "", item.size, item.mtime,
                        f"could not be decoded ({type(exc).__name__}: {exc})")


def _decode_file(root: Path, item: CatalogItem, follow_outside_links: bool) -> _Decoded:
    path = root / item.path
    if not follow_outside_links and link_leads_outside(path, root.resolve()):
        return _Decoded(item, None, "", item.size, item.mtime,
                        f"a link to {path.resolve()}, outside the catalog folder")
    try:
        data = read_image_file(path)  # regular files only: a FIFO never blocks the batch
        st = path.stat()
    except ImageLoadError as exc:
        return _Decoded(item, None, "", item.size, item.mtime, str(exc))
    except OSError as exc:
        return _Decoded(item, None, "", item.size, item.mtime,
                        f"cannot read the file: {exc.strerror or exc}")
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        image = load_image(data, name=item.path, max_side=DRAFT_MIN_SIDE)
    except ImageLoadError as exc:
        return _Decoded(item, None, digest, st.st_size, st.st_mtime, str(exc))
    if max(image.size) > DECODE_MAX_SIDE:
        image.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE), Image.Resampling.BILINEAR)
    return _Decoded(item, image, digest, st.st_size, st.st_mtime)


def _fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
