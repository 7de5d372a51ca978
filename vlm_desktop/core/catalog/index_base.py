"""What every vector index kind shares: item ids by position, search with an allow-list,
and exact brute force (the kind small catalogs use, and the reference recall is measured
against)."""

from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

# With a filter this selective, scoring the allowed vectors directly is exact and fast.
SMALL_SUBSET = 4096


def faiss_module():
    """FAISS, imported on first use: the GUI must start without paying for it."""
    import faiss

    return faiss


class VectorIndex:
    """Item ids (ascending) and their vectors, searchable by inner product (= cosine)."""

    kind = "base"

    def __init__(self, ids: np.ndarray, dim: int) -> None:
        self.ids = np.asarray(ids, np.int64)
        self.dim = dim

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def recall(self) -> float:
        """recall@10 against exact search, measured when the index was built."""
        return 1.0

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

    def _pairs(self, scores: np.ndarray, idx: np.ndarray) -> list[list[tuple[int, float]]]:
        """(scores, positions) rows as (item id, score) lists. A position beyond our ids
        means the structure was extended for a newer index object since this one."""
        n = len(self.ids)
        return [[(int(self.ids[j]), float(s)) for j, s in zip(row_i, row_s) if 0 <= j < n]
                for row_i, row_s in zip(idx, scores)]


class ExactIndex(VectorIndex):
    """Brute force with NumPy: exact, no build time, and for one query faster than FAISS's
    flat index on a busy laptop (no thread start-up per query; see bench_index.py)."""

    kind = "exact"

    def __init__(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        super().__init__(ids, int(matrix.shape[1]) if matrix.ndim == 2 else 0)
        # A memory map stays one (a catalog too big for RAM, served while its index builds).
        self.matrix = matrix if isinstance(matrix, np.memmap) else \
            np.ascontiguousarray(matrix, np.float32)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(self.matrix[positions])

    def raw_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the k best per query."""
        sims = q @ self.matrix.T
        k = min(k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else \
            np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
        s = np.take_along_axis(sims, top, 1)
        order = np.argsort(-s, axis=1, kind="stable")
        return np.take_along_axis(s, order, 1), np.take_along_axis(top, order, 1)

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        return self._top_k(q @ self.matrix.T, k)

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        return self._top_k(q @ self.vectors(pos).T, k, pos)
