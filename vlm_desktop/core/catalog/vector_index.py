"""The vector index: one model's embeddings made fast to search, rebuilt from SQLite when stale.

SQLite holds the vectors; this file only makes them fast to search. Which kind, by size:

- up to `HNSW_THRESHOLD` vectors, exact NumPy search (no build; a few ms);
- up to `IVFPQ_THRESHOLD`, a FAISS HNSW graph whose efSearch is tuned by measured recall@10
  when it is built (core.catalog.hnsw_index). Where no efSearch reaches the target without
  visiting a large share of the catalog (unstructured data), exact search is kept instead,
  and that decision is saved too, so it is not re-measured at every restart;
- above, FAISS IVF-PQ (core.catalog.ivfpq_index): 48-byte codes in RAM, float vectors
  memory-mapped from beside the catalog for the exact re-rank.

The index is saved next to the catalog (`<catalog>.db.index/`) with a fingerprint (model,
embedding generation, count and id sum) and, while indexing only adds vectors, extended
when the database's fingerprint moves on. Any other change (items removed or re-embedded)
needs a new index, which takes minutes at 100k vectors: meanwhile `CatalogIndex.get()`
answers at once with exact search over the vectors it has just loaded, and one background
thread builds the index and swaps it in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from vlm_desktop.core.catalog import index_recall
from vlm_desktop.core.catalog.hnsw_index import HnswIndex, build_hnsw
from vlm_desktop.core.catalog.index_base import (  # noqa: F401 - re-exported
    SMALL_SUBSET,
    ExactIndex,
    VectorIndex,
    faiss_module,
)
from vlm_desktop.core.catalog.ivfpq_index import FloatFile, IvfPqIndex, Tuning, build_ivfpq
from vlm_desktop.core.catalog.store import CatalogStore

log = logging.getLogger(__name__)

# Exact search up to here: one 384-d query over 100k vectors takes 4.4 ms on an idle
# laptop core (issue #12) and numpy beat FAISS's flat index 2.6x for single queries
# (benchmarks/bench_index.py), so catalogs this small never pay for a graph build.
HNSW_THRESHOLD = 100_000
# HNSW keeps the float vectors and its links in RAM (about 1.8 KB a 384-d vector: 1.8 GB at
# 1M); above this IVF-PQ keeps 64 bytes a vector (0.7 GB at 10M), see ivfpq_index.
IVFPQ_THRESHOLD = 1_000_000
# A background build adds vectors in chunks of this size and checks between chunks whether
# to stop (closed, or the catalog changed under it): a few seconds of work per chunk.
BUILD_CHUNK = 8192
# Once exact search was found the better answer for a catalog, a graph is tried again only
# when it has grown by this factor.
EXACT_RETRY_GROWTH = 2.0


@dataclass(frozen=True)
class Fingerprint:
    model: str
    generation: int
    count: int
    id_sum: int

    @staticmethod
    def of(store: CatalogStore, model: str) -> "Fingerprint":
        count, id_sum = store.conn().execute(
            "SELECT count(*), coalesce(sum(e.item_id), 0) FROM embeddings e JOIN items i "
            "ON i.id=e.item_id AND e.content_hash=i.content_hash WHERE e.model=?", (model,)
        ).fetchone()
        return Fingerprint(model, store.embedding_generation(), int(count), int(id_sum))


def index_dir(store: CatalogStore) -> Path:
    """The folder of a catalog's saved vector indexes, beside the database."""
    return store.path.with_name(store.path.name + ".index")


def stem_name(catalog_id: str, model: str) -> str:
    """The common name of the files of one model's saved index (before their suffixes)."""
    return f"{catalog_id}-{hashlib.blake2b(model.encode(), digest_size=6).hexdigest()}"


def drop_unused_files(store: CatalogStore) -> int:
    """Delete this catalog's saved index files of models it no longer has vectors of (an
    adapted variant replaced or reverted); those of every model still in the catalog, the
    one searching among them, stay. Returns the number of files removed."""
    folder = index_dir(store)
    keep = {stem_name(store.catalog_id, m) for m in store.models()}
    removed = 0
    for path in folder.glob(f"{store.catalog_id}-*"):
        if path.name.split(".", 1)[0] in keep or not path.is_file():
            continue
        try:
            path.unlink()
            removed += 1
        except OSError as exc:  # still mapped (Windows): the next cleanup takes it
            log.info("cannot remove the stale index file %s: %s", path, exc)
    return removed


def build_graph(ids: np.ndarray, vectors: np.ndarray, stop: Callable[[], bool]
                ) -> Optional[HnswIndex]:
    """An HNSW graph built chunk by chunk and tuned by recall; None once `stop()` says so."""
    return build_hnsw(ids, vectors, stop, chunk=BUILD_CHUNK)


def kind_for(n: int) -> str:
    """The index kind a catalog of n vectors gets."""
    return "exact" if n <= HNSW_THRESHOLD else "hnsw" if n <= IVFPQ_THRESHOLD else "ivfpq"


def build_index(ids: np.ndarray, vectors: np.ndarray, kind: Optional[str] = None,
                floats_path: Optional[Path] = None) -> VectorIndex:
    """Exact for small sets, HNSW or IVF-PQ above (or as `kind` says); built in the call.
    IVF-PQ writes the float vectors it re-ranks with to `floats_path`."""
    if len(ids) == 0:  # nothing indexed yet: an empty index answers every search with []
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        return ExactIndex(np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
    kind = kind or kind_for(len(ids))
    if kind == "exact" or vectors.ndim != 2:
        return ExactIndex(np.asarray(ids, np.int64), vectors.reshape(len(ids), -1))
    built: Optional[VectorIndex]
    if kind == "ivfpq":
        if floats_path is None:
            raise ValueError("an IVF-PQ index needs a file for its float vectors")
        built = build_ivfpq(ids, vectors, floats_path)
    else:
        built = build_hnsw(ids, vectors)
    assert built is not None  # nothing asked it to stop
    return built


def appends_to(old: ExactIndex, new: ExactIndex) -> bool:
    """Whether `new` is `old` plus vectors with higher ids (what indexing does)."""
    n = len(old)
    return (len(new) >= n and new.matrix.shape[1:] == old.matrix.shape[1:]
            and np.array_equal(new.ids[:n], old.ids)
            and np.array_equal(new.matrix[:n], old.matrix))


class CatalogIndex:
    """The current index for one store and model: loaded from cache, rebuilt when stale.

    A large catalog changed by more than appends is served by an `ExactIndex` while a
    daemon thread builds its graph; call `close()` (or `wait_background()`) when done.
    """

    def __init__(self, store: CatalogStore, model: str, cache_dir: Optional[Path] = None
                 ) -> None:
        self.store = store
        self.model = model
        # Beside the catalog: an IVF-PQ index's float vectors are as big as the catalog's
        # own and must outlive a cleaned cache; a restart then loads instead of rebuilding.
        self._dir = cache_dir or index_dir(store)
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()  # one writer of the cache files at a time
        self._index: Optional[VectorIndex] = None
        self._fp: Optional[Fingerprint] = None
        self._stem_path: Optional[Path] = None
        self._builders: list[threading.Thread] = []  # the running one, and any just ending
        self._building = False
        self._superseded = False  # the data changed by more than appends since the build began
        self._closed = threading.Event()
        self.rebuilds = 0  # loads from SQLite after the index went stale
        self.graph_builds = 0  # graphs built in the background and swapped in
        self._exact_until = 0  # below this many vectors exact search was measured better

    @property
    def _stem(self) -> Path:
        # Computed on first use in get() (the caller's thread), so the builder thread never
        # opens a SQLite connection of its own.
        if self._stem_path is None:
            self._stem_path = self._dir / stem_name(self.store.catalog_id, self.model)
        return self._stem_path

    def get(self) -> VectorIndex:
        """The index, rebuilt first if the database changed since it was made."""
        with self._lock:
            fp = Fingerprint.of(self.store, self.model)
            if self._index is not None and fp == self._fp:
                return self._index
            index = self._load(fp)
            if index is None:
                index = self._rebuild(fp)
            self._index, self._fp = index, fp
            return index

    def building(self) -> bool:
        """Whether a graph is being built in the background (searches are exact meanwhile)."""
        return self._building

    def wait_background(self, timeout: Optional[float] = None) -> bool:
        """Wait for the background build, if any; True when no builder thread is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for builder in list(self._builders):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            builder.join(left)
        return not any(t.is_alive() for t in self._builders)

    def close(self, timeout: Optional[float] = 30.0) -> bool:
        """Stop background building (it ends at its next chunk) and wait for it; get()
        keeps working, exactly, without starting new builds. True when stopped."""
        self._closed.set()
        return self.wait_background(timeout)

    def describe(self) -> dict[str, Any]:
        """What `catalog stats` shows: the kind, size and build-time recall@10 of the index
        as saved (or, for a catalog small enough for exact search, as it will be)."""
        count = self.store.embedding_count(self.model)
        meta = self._read_meta()
        if meta is not None and meta.get("count") == count:
            out = {"kind": meta["kind"], "vectors": count,
                   "recall_at_10": round(float(meta.get("recall", 1.0)), 3)}
            out.update(meta.get("params", {}))
            return out
        if count <= HNSW_THRESHOLD or (meta is not None and meta.get("kind") == "exact"
                                       and count < int(meta.get("exact_until", 0))):
            return {"kind": "exact", "vectors": count, "recall_at_10": 1.0}
        return {"kind": "not built yet", "vectors": count, "will_be": kind_for(count)}

    def _read_meta(self) -> Optional[dict[str, Any]]:
        try:
            meta = json.loads(self._stem.with_suffix(".json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _load(self, fp: Fingerprint) -> Optional[VectorIndex]:
        meta_path = self._stem.with_suffix(".json")
        try:
            meta = self._read_meta()
            if meta is None:
                return None
            self._exact_until = int(meta.get("exact_until", 0))
            if Fingerprint(**meta["fingerprint"]) != fp:
                return None
            if meta["kind"] == "exact":  # decided at the last build: no graph beats it
                ids, vectors = self.store.load_embeddings(self.model)
                self.rebuilds += 1
                return ExactIndex(ids, vectors)
            ids = np.load(self._stem.with_suffix(".ids.npy"))
            index = faiss_module().read_index(str(self._stem.with_suffix(".faiss")))
            # Files caught half-way through a save do not describe fp: count and id sum say so.
            if len(ids) != fp.count or int(ids.sum()) != fp.id_sum or index.ntotal != len(ids):
                raise ValueError("cache files do not match their fingerprint")
            if meta["kind"] == "ivfpq":
                floats = FloatFile(self._dir / meta["floats"], int(index.d))
                if floats.rows() != len(ids):
                    raise ValueError("the float vectors do not match the index")
                return IvfPqIndex(ids, index, floats, Tuning(**meta["tuning"]))
            return HnswIndex(ids, index, int(meta["ef"]), float(meta["recall"]),
                             float(meta["visited"]))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            log.info("vector index cache %s unusable (%s); rebuilding", meta_path, exc)
            return None

    def _rebuild(self, fp: Fingerprint) -> VectorIndex:
        ids, vectors = self.store.load_embeddings(self.model)
        self.rebuilds += 1
        index = self._extend(ids, vectors)
        if index is not None:
            self._save(index, fp)
            return index
        if len(ids) <= HNSW_THRESHOLD or vectors.ndim != 2:
            return build_index(ids, vectors)  # exact: no build time
        exact = ExactIndex(ids, vectors)
        if len(ids) < self._exact_until:  # measured: a graph would not beat it yet
            return exact
        self._build_later(exact, fp)
        return exact

    def _extend(self, ids: np.ndarray, vectors: np.ndarray
                ) -> Optional[HnswIndex | IvfPqIndex]:
        """While a large catalog is being indexed, add the new vectors to the graph (or the
        IVF-PQ lists) instead of rebuilding; anything else (removals, changes) rebuilds."""
        old = self._index
        if not isinstance(old, (HnswIndex, IvfPqIndex)) or len(ids) < len(old) \
                or vectors.shape[1] != old.dim:
            return None
        n = len(old)
        if not np.array_equal(ids[:n], old.ids) or (n < len(ids) and ids[n] <= old.ids[-1]):
            return None
        if not np.array_equal(old.vectors(np.arange(n)), vectors[:n]):
            return None
        return old.extended(ids[n:], vectors[n:])

    def _build_for(self, target: ExactIndex, fp: Fingerprint
                   ) -> Optional[HnswIndex | IvfPqIndex]:
        """The index `target`'s size calls for (None: asked to stop)."""
        if len(target) > IVFPQ_THRESHOLD:
            floats = self._stem.with_suffix(f".floats-{fp.generation}-{fp.count}.f32")
            return build_ivfpq(target.ids, target.matrix, floats, self._stop_building)
        return build_graph(target.ids, target.matrix, self._stop_building)

    def _keep_exact(self, graph: HnswIndex, fp: Fingerprint) -> bool:
        """When the tuned graph misses the recall target, or reaches it only by visiting a
        large share of the vectors, remember that exact search is the better answer (until
        the catalog doubles) and say so; True when that is the case."""
        if graph.recall >= index_recall.TARGET_RECALL and graph.worth_it():
            return False
        log.info("HNSW of %d vectors: recall@10 %.3f at efSearch %d visiting %.0f%% of "
                 "them; exact search kept", len(graph), graph.recall, graph.ef,
                 100 * graph.visited)
        with self._lock:
            self._exact_until = int(len(graph) * EXACT_RETRY_GROWTH)
            self._building = False
        self._write_meta({"fingerprint": fp.__dict__, "kind": "exact", "count": fp.count,
                          "recall": 1.0, "exact_until": self._exact_until,
                          "params": {"graph_recall_at_10": round(graph.recall, 3),
                                     "graph_visited_share": round(graph.visited, 3)}})
        return True

    # --- the background build -----------------------------------------------------------
    # `_building` is set and cleared under the lock, so a get() never counts on a builder
    # that has already decided to stop.

    def _build_later(self, exact: ExactIndex, fp: Fingerprint) -> None:
        """Start building `exact`'s graph (caller holds the lock), unless a build runs: that
        one takes up the newest data when it finishes, extending its graph if only appends
        came meanwhile — so there is never a second build, nor one of old data."""
        if self._building:
            old = self._index
            if not (isinstance(old, ExactIndex) and appends_to(old, exact)):
                self._superseded = True  # its graph will be of no use: stop it early
            return
        if self._closed.is_set():
            return
        self._building, self._superseded = True, False
        builder = threading.Thread(target=self._build_loop, args=(exact, fp),
                                   name="vector-index-build", daemon=True)
        self._builders = [t for t in self._builders if t.is_alive()] + [builder]
        builder.start()

    def _stop_building(self) -> bool:
        return self._closed.is_set() or self._superseded

    def _build_loop(self, target: ExactIndex, fp: Fingerprint) -> None:
        try:
            while True:
                graph = self._build_for(target, fp)
                if isinstance(graph, HnswIndex) and self._keep_exact(graph, fp):
                    return
                nxt = self._adopt(graph, target, fp)
                if nxt is None:
                    return
                target, fp = nxt
        except Exception:  # noqa: BLE001 - a thread has no caller to raise to
            # Searches stay exact (correct, slower); the next change to the catalog retries.
            log.exception("building the vector index graph for %s failed; "
                          "searching exactly meanwhile", self.model)
            with self._lock:
                self._building = False

    def _adopt(self, graph: Optional[HnswIndex | IvfPqIndex], built_from: ExactIndex, fp: Fingerprint
               ) -> Optional[tuple[ExactIndex, Fingerprint]]:
        """Save and swap in `graph` if it is still current, after extending it by vectors
        appended since; else return what to build next. None: the builder is done."""
        saved = False
        while True:
            with self._lock:
                current, current_fp = self._index, self._fp
                if self._closed.is_set():
                    self._building = False
                    return None
                if graph is not None and current_fp == fp:
                    if saved:
                        self._index, self._building = graph, False
                        self.graph_builds += 1
                        return None
                    extend = False
                else:
                    self._superseded = False  # from here on, `current` is what counts
                    if (not isinstance(current, ExactIndex) or current_fp is None
                            or len(current) <= HNSW_THRESHOLD):
                        self._building = False  # a graph came from the cache, or small now
                        return None
                    newest, newest_fp = current, current_fp
                    if graph is None or not appends_to(built_from, newest):
                        return newest, newest_fp  # removed or changed: build anew
                    extend = True
            if extend:  # only appends since: add them (≈1 s per 1k vectors), then check again
                assert graph is not None
                n = len(graph)
                graph = graph.extended(newest.ids[n:], newest.matrix[n:])
                built_from, fp, saved = newest, newest_fp, False
            else:  # saved while the graph is private: nothing else reads or extends it yet
                self._save(graph, fp)
                saved = True

    def _save(self, index: HnswIndex | IvfPqIndex, fp: Fingerprint) -> None:
        stem = self._stem
        meta: dict[str, Any] = {"fingerprint": fp.__dict__, "kind": index.kind,
                                "dim": index.dim, "count": len(index), "recall": index.recall,
                                "params": index.params()}
        if isinstance(index, HnswIndex):
            meta.update(ef=index.ef, visited=index.visited)
        else:
            meta.update(floats=index.floats.path.name, tuning=index.tuning.__dict__)
        try:
            with self._save_lock:
                self._dir.mkdir(parents=True, exist_ok=True)
                stem.with_suffix(".json").unlink(missing_ok=True)  # no stale claim meanwhile
                faiss_module().write_index(index.index, str(stem.with_suffix(".faiss")))
                np.save(stem.with_suffix(".ids.npy"), index.ids)
                self._write_meta(meta)
                self._drop_old_floats(meta.get("floats"))
        except OSError as exc:
            # The index is an optimisation; a read-only folder only costs rebuild time.
            log.warning("cannot save the vector index under %s: %s", self._dir, exc)

    def _write_meta(self, meta: dict[str, Any]) -> None:
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._stem.with_suffix(".json").write_text(json.dumps(meta))
        except OSError as exc:
            log.warning("cannot save the vector index under %s: %s", self._dir, exc)

    def _drop_old_floats(self, keep: Optional[str]) -> None:
        """Float files of earlier IVF-PQ builds (an index still mapping one keeps reading
        it where the system allows; elsewhere the file stays until the next save)."""
        for old in self._dir.glob(self._stem.name + ".floats-*.f32"):
            if old.name != keep:
                try:
                    old.unlink()
                except OSError:
                    pass
