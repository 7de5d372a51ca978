"""The vector index: a FAISS cache of one model's embeddings, rebuilt from SQLite when stale.

SQLite holds the vectors; this file only makes them fast to search. Small catalogs use
exact NumPy search; above `HNSW_THRESHOLD` vectors (where exact search passes a few
milliseconds, see benchmarks/bench_catalog.py) a FAISS HNSW graph, cached under
core.paths.cache_dir() with a fingerprint (model, embedding generation, count and id sum)
and rebuilt — or, while indexing only adds vectors, extended — when the database's
fingerprint no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

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
        self.index.add(np.ascontiguousarray(vectors, np.float32))
        return HnswIndex(np.concatenate([self.ids, np.asarray(ids, np.int64)]), self.index)


def build_index(ids: np.ndarray, vectors: np.ndarray, kind: Optional[str] = None) -> VectorIndex:
    """Exact for small sets, HNSW above HNSW_THRESHOLD (or as `kind` says)."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    if len(ids) == 0:  # nothing indexed yet: an empty index answers every search with []
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        return ExactIndex(np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
    kind = kind or ("hnsw" if len(ids) > HNSW_THRESHOLD else "exact")
    if kind == "exact" or vectors.ndim != 2:
        return ExactIndex(np.asarray(ids, np.int64), vectors.reshape(len(ids), -1))
    faiss = _faiss()
    index = faiss.IndexHNSWFlat(int(vectors.shape[1]), HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(vectors)
    return HnswIndex(np.asarray(ids, np.int64), index)


class CatalogIndex:
    """The current index for one store and model: loaded from cache, rebuilt when stale."""

    def __init__(self, store: CatalogStore, model: str, cache_dir: Optional[Path] = None
                 ) -> None:
        self.store = store
        self.model = model
        self._dir = cache_dir or (paths.cache_dir() / "vector_index")
        self._lock = threading.Lock()
        self._index: Optional[VectorIndex] = None
        self._fp: Optional[Fingerprint] = None
        self.rebuilds = 0

    @property
    def _stem(self) -> Path:
        model = hashlib.blake2b(self.model.encode(), digest_size=6).hexdigest()
        return self._dir / f"{self.store.catalog_id}-{model}"

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

    def _load(self, fp: Fingerprint) -> Optional[VectorIndex]:
        meta_path = self._stem.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            if Fingerprint(**meta["fingerprint"]) != fp:
                return None
            ids = np.load(self._stem.with_suffix(".ids.npy"))
            index = _faiss().read_index(str(self._stem.with_suffix(".faiss")))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            if meta_path.exists():
                log.info("vector index cache %s unusable (%s); rebuilding", meta_path, exc)
            return None
        return HnswIndex(ids, index)

    def _rebuild(self, fp: Fingerprint) -> VectorIndex:
        ids, vectors = self.store.load_embeddings(self.model)
        index = self._extend(ids, vectors) or build_index(ids, vectors)
        self.rebuilds += 1
        if isinstance(index, HnswIndex):
            self._save(index, fp)  # exact indexes rebuild from SQLite in well under a second
        return index

    def _extend(self, ids: np.ndarray, vectors: np.ndarray) -> Optional[VectorIndex]:
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

    def _save(self, index: HnswIndex, fp: Fingerprint) -> None:
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            _faiss().write_index(index.index, str(self._stem.with_suffix(".faiss")))
            np.save(self._stem.with_suffix(".ids.npy"), index.ids)
            meta = {"fingerprint": fp.__dict__, "kind": index.kind, "dim": index.dim}
            self._stem.with_suffix(".json").write_text(json.dumps(meta))
        except OSError as exc:
            # The cache is an optimisation; a read-only cache folder only costs rebuild time.
            log.warning("cannot save vector index cache under %s: %s", self._dir, exc)
