"""The vector index: a FAISS cache of one model's embeddings, rebuilt from SQLite when stale.

SQLite holds the vectors; this file only makes them fast to search. Small catalogs use
exact NumPy search; above `HNSW_THRESHOLD` vectors (where exact search passes a few
milliseconds, see benchmarks/bench_catalog.py) a FAISS HNSW graph, cached under
core.paths.cache_dir() with a fingerprint (model, embedding generation, count and id sum)
and, while indexing only adds vectors, extended when the database's fingerprint moves on.
Any other change (items removed or re-embedded) needs a new graph, which takes minutes at
100k vectors: meanwhile `CatalogIndex.get()` answers at once with exact search over the
vectors it has just loaded, and one background thread builds the graph and swaps it in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from vlm_desktop.core import paths
from vlm_desktop.core.catalog.store import CatalogStore

log = logging.getLogger(__name__)

# From benchmarks/bench_catalog.py on a busy 2-core machine (384-d, k=10, one query):
# exact NumPy p50 ≈ 5 ms at 10k and 12 ms at 50k; HNSW p50 ≈ 0.6 ms at 100k with
# recall@10 = 1.0 but ≈ 1 s of build per 1k vectors (paid once: cached and extended).
HNSW_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96  # recall@10 = 1.0 at 100k synthetic vectors
# Bigger graphs need a wider search: at 1M, efSearch 96 -> recall@10 0.81, 384 -> 0.97
# (p50 1.2 ms), 768 -> 0.998 (p50 2.9 ms), measured with bench_catalog.py --ef-sweep.
HNSW_EF_SEARCH_LARGE = 384
LARGE = 200_000
# With a filter this selective, scoring the allowed vectors directly is exact and fast.
SMALL_SUBSET = 4096
# A background build adds vectors in chunks of this size and checks between chunks whether
# to stop (closed, or the catalog changed under it): a few seconds of work per chunk.
BUILD_CHUNK = 8192


def _faiss():
    import faiss  # lazy: the GUI must start without paying for it

    return faiss


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


class VectorIndex:
    """Item ids (ascending) and their vectors, searchable by inner product (= cosine)."""

    kind = "base"

    def __init__(self, ids: np.ndarray, dim: int) -> None:
        self.ids = np.asarray(ids, np.int64)
        self.dim = dim

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def vector(self, item_id: int) -> Optional[np.ndarray]:
        pos = self._positions([item_id])
        return None if pos.size == 0 else self.vectors(pos)[0]

    def search(self, queries: np.ndarray, k: int, allowed: Optional[Iterable[int]] = None
               ) -> list[list[tuple[int, float]]]:
        """Per query, up to k (item id, cosine) pairs, best first; `allowed` restricts ids."""
        q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(q.shape[0])]
        if allowed is None:
            return self._search_all(q, min(k, len(self)))
        pos = self._positions(allowed)
        if pos.size == 0:
            return [[] for _ in range(q.shape[0])]
        if pos.size <= SMALL_SUBSET:
            return self._top_k(q @ self.vectors(pos).T, k, pos)
        return self._search_subset(q, min(k, int(pos.size)), pos)

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        raise NotImplementedError

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        raise NotImplementedError

    def _positions(self, item_ids: Iterable[int]) -> np.ndarray:
        want = np.unique(np.fromiter((int(i) for i in item_ids), np.int64))
        pos = np.searchsorted(self.ids, want)
        inside = pos < len(self.ids)
        pos, want = pos[inside], want[inside]
        return pos[self.ids[pos] == want]

    def _top_k(self, sims: np.ndarray, k: int, pos: Optional[np.ndarray] = None
               ) -> list[list[tuple[int, float]]]:
        out = []
        k = min(k, sims.shape[1])
        for row in sims:
            top = np.argpartition(-row, k - 1)[:k] if k < row.size else np.arange(row.size)
            top = top[np.argsort(-row[top], kind="stable")]
            where = top if pos is None else pos[top]
            out.append([(int(self.ids[w]), float(row[t])) for w, t in zip(where, top)])
        return out


class ExactIndex(VectorIndex):
    """Brute force with NumPy: exact, no build time, and for one query faster than FAISS's
    flat index on a busy laptop (no thread start-up per query; see bench_catalog.py)."""

    kind = "exact"

    def __init__(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        super().__init__(ids, int(matrix.shape[1]) if matrix.ndim == 2 else 0)
        self.matrix = np.ascontiguousarray(matrix, np.float32)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.matrix[positions]

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        return self._top_k(q @ self.matrix.T, k)

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        return self._top_k(q @ self.matrix[pos].T, k, pos)


class HnswIndex(VectorIndex):
    """A FAISS HNSW graph (inner product); positions are FAISS's sequential ids."""

    kind = "hnsw"

    def __init__(self, ids: np.ndarray, index) -> None:
        super().__init__(ids, int(index.d))
        self.index = index

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(positions, np.int64))

    def _ef(self, k: int) -> int:
        return max(HNSW_EF_SEARCH if len(self) <= LARGE else HNSW_EF_SEARCH_LARGE, k)

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        self.index.hnsw.efSearch = self._ef(k)
        return self._pairs(*self.index.search(q, k))

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW(efSearch=self._ef(k))
        params.sel = faiss.IDSelectorBatch(pos.astype(np.int64))
        return self._pairs(*self.index.search(q, k, params=params))

    def _pairs(self, scores: np.ndarray, idx: np.ndarray) -> list[list[tuple[int, float]]]:
        # j beyond our ids: the graph was extended for a newer HnswIndex since this one.
        n = len(self.ids)
        return [[(int(self.ids[j]), float(s)) for j, s in zip(row_i, row_s) if 0 <= j < n]
                for row_i, row_s in zip(idx, scores)]

    def extended(self, ids: np.ndarray, vectors: np.ndarray) -> "HnswIndex":
        """This graph plus new vectors whose ids all come after the current ones."""
        if len(ids):
            self.index.add(np.ascontiguousarray(vectors, np.float32))
        return HnswIndex(np.concatenate([self.ids, np.asarray(ids, np.int64)]), self.index)


def _new_graph(dim: int):
    faiss = _faiss()
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def build_index(ids: np.ndarray, vectors: np.ndarray, kind: Optional[str] = None) -> VectorIndex:
    """Exact for small sets, HNSW above HNSW_THRESHOLD (or as `kind` says)."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    if len(ids) == 0:  # nothing indexed yet: an empty index answers every search with []
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        return ExactIndex(np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
    kind = kind or ("hnsw" if len(ids) > HNSW_THRESHOLD else "exact")
    if kind == "exact" or vectors.ndim != 2:
        return ExactIndex(np.asarray(ids, np.int64), vectors.reshape(len(ids), -1))
    index = _new_graph(int(vectors.shape[1]))
    index.add(vectors)
    return HnswIndex(np.asarray(ids, np.int64), index)


def build_graph(ids: np.ndarray, vectors: np.ndarray, stop: Callable[[], bool]
                ) -> Optional[HnswIndex]:
    """An HNSW graph built chunk by chunk; None as soon as `stop()` says so."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    index = _new_graph(int(vectors.shape[1]))
    for start in range(0, len(ids), BUILD_CHUNK):
        if stop():
            return None
        index.add(vectors[start:start + BUILD_CHUNK])
    return HnswIndex(np.asarray(ids, np.int64), index)


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
        self._dir = cache_dir or (paths.cache_dir() / "vector_index")
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

    @property
    def _stem(self) -> Path:
        # Computed on first use in get() (the caller's thread), so the builder thread never
        # opens a SQLite connection of its own.
        if self._stem_path is None:
            model = hashlib.blake2b(self.model.encode(), digest_size=6).hexdigest()
            self._stem_path = self._dir / f"{self.store.catalog_id}-{model}"
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

    def _load(self, fp: Fingerprint) -> Optional[VectorIndex]:
        meta_path = self._stem.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            if Fingerprint(**meta["fingerprint"]) != fp:
                return None
            ids = np.load(self._stem.with_suffix(".ids.npy"))
            index = _faiss().read_index(str(self._stem.with_suffix(".faiss")))
            # Files caught half-way through a save do not describe fp: count and id sum say so.
            if len(ids) != fp.count or int(ids.sum()) != fp.id_sum or index.ntotal != len(ids):
                raise ValueError("cache files do not match their fingerprint")
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            if meta_path.exists():
                log.info("vector index cache %s unusable (%s); rebuilding", meta_path, exc)
            return None
        return HnswIndex(ids, index)

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
        self._build_later(exact, fp)
        return exact

    def _extend(self, ids: np.ndarray, vectors: np.ndarray) -> Optional[HnswIndex]:
        """While a large catalog is being indexed, add the new vectors to the graph
        instead of rebuilding it; anything else (removals, changes) rebuilds."""
        old = self._index
        if not isinstance(old, HnswIndex) or len(ids) < len(old) or vectors.shape[1] != old.dim:
            return None
        n = len(old)
        if not np.array_equal(ids[:n], old.ids) or (n < len(ids) and ids[n] <= old.ids[-1]):
            return None
        if not np.array_equal(old.vectors(np.arange(n)), vectors[:n]):
            return None
        return old.extended(ids[n:], vectors[n:])

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
                graph = build_graph(target.ids, target.matrix, self._stop_building)
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

    def _adopt(self, graph: Optional[HnswIndex], built_from: ExactIndex, fp: Fingerprint
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

    def _save(self, index: HnswIndex, fp: Fingerprint) -> None:
        stem = self._stem
        try:
            with self._save_lock:
                self._dir.mkdir(parents=True, exist_ok=True)
                stem.with_suffix(".json").unlink(missing_ok=True)  # no stale claim meanwhile
                _faiss().write_index(index.index, str(stem.with_suffix(".faiss")))
                np.save(stem.with_suffix(".ids.npy"), index.ids)
                meta = {"fingerprint": fp.__dict__, "kind": index.kind, "dim": index.dim}
                stem.with_suffix(".json").write_text(json.dumps(meta))
        except OSError as exc:
            # The cache is an optimisation; a read-only cache folder only costs rebuild time.
            log.warning("cannot save vector index cache under %s: %s", self._dir, exc)
