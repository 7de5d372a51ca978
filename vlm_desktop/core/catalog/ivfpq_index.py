"""FAISS IVF-PQ for catalogs too big to keep their float vectors in RAM.

Each vector is held in RAM only as a 48-byte product-quantisation code (384-d: 48 sub-vectors
of 8 dimensions, 8 bits each) in one of `nlist` inverted lists; the float vectors stay in a
raw file beside the catalog, memory-mapped, and are read only for the few hundred candidates
of each query, which are re-ranked exactly. So 10 M 384-d vectors need about 0.7 GB of RAM
(`ram_estimate`) instead of 15 GB. The coarse quantiser and the codebooks are trained on a
sample; `nprobe` (lists visited) and `rerank` (candidates re-scored) are raised at build
time until recall@10 against exact search reaches the target on a sample of the vectors.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vlm_desktop.core.catalog import index_recall
from vlm_desktop.core.catalog.index_base import VectorIndex, faiss_module

log = logging.getLogger(__name__)

BITS = 8  # per sub-quantiser: 256 centroids, one byte per sub-vector
TRAIN_PER_LIST = 40  # FAISS's k-means wants at least 39 points per centroid
MIN_TRAIN = 10_000  # and PQ's 256 centroids per sub-space as many
MAX_TRAIN = 400_000  # training is the slow part; a bigger sample barely moves recall
ADD_CHUNK = 65_536  # vectors read from the memory map per add
RERANK_STEPS = (100, 400, 1600)  # candidates re-ranked per query (for k = 10; scaled by k)
# From this many lists (catalogs of about 4 M vectors) each vector is assigned to its list
# through an HNSW graph over the centroids instead of a scan of all of them: adding 1 M
# vectors to 4,096 lists took 33 s with the scan and 21 s with the graph here, and the scan's
# cost grows with the list count (16,384 lists at 10 M). The recall check below still
# decides nprobe and the re-rank depth, so an approximate assignment cannot go unnoticed.
GRAPH_QUANTISER_LISTS = 8_192
GRAPH_QUANTISER_M = 32
GRAPH_QUANTISER_EF = 128  # lists looked at per assignment: well above any nprobe's top few


def choose_nlist(n: int) -> int:
    """Inverted lists: a power of two near 4·√n, with enough training points per list."""
    want = 2 ** round(math.log2(max(16.0, 4 * math.sqrt(max(n, 1)))))
    return int(max(1, min(want, 16_384, n // TRAIN_PER_LIST)))


def choose_m(dim: int) -> int:
    """Sub-quantisers: 8 dimensions each where `dim` allows (384 -> 48 bytes a vector)."""
    for m in (dim // 8, 64, 48, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1):
        if 0 < m <= dim and dim % m == 0:
            return m
    return 1


def ram_estimate(n: int, dim: int, m: Optional[int] = None, nlist: Optional[int] = None
                 ) -> int:
    """Bytes of RAM an IVF-PQ index of n vectors holds: per vector its m-byte code, FAISS's
    8-byte list id and our 8-byte item id; plus the coarse centroids and PQ codebooks.
    The float vectors are memory-mapped from disk and not counted."""
    m = m or choose_m(dim)
    nlist = nlist or choose_nlist(n)
    per_vector = m * BITS // 8 + 8 + 8
    return n * per_vector + nlist * dim * 4 + (2 ** BITS) * dim * 4


@dataclass
class Tuning:
    """What the build-time recall check settled on."""

    nprobe: int
    rerank: int
    recall: float


class FloatFile:
    """Float32 vectors in a raw file (row-major), memory-mapped read-only; appendable."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        self._map: Optional[np.ndarray] = None
        self._rows = -1

    @staticmethod
    def write(path: Path, vectors: np.ndarray, chunk: int = ADD_CHUNK) -> "FloatFile":
        """A new file holding `vectors` (which may itself be a memory map)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fp:
            for s in range(0, len(vectors), chunk):
                fp.write(np.ascontiguousarray(vectors[s:s + chunk], np.float32).tobytes())
        return FloatFile(path, int(vectors.shape[1]))

    def append(self, vectors: np.ndarray) -> None:
        with open(self.path, "ab") as fp:
            fp.write(np.ascontiguousarray(vectors, np.float32).tobytes())
        self._map = None

    def rows(self) -> int:
        return self.path.stat().st_size // (4 * self.dim) if self.path.exists() else 0

    def matrix(self) -> np.ndarray:
        """The file as an (n, dim) read-only memory map."""
        if self._map is None:
            n = self.rows()
            self._map = (np.memmap(self.path, np.float32, "r", shape=(n, self.dim)) if n
                         else np.zeros((0, self.dim), np.float32))
        return self._map


class IvfPqIndex(VectorIndex):
    """IVF-PQ candidates, re-ranked exactly from the memory-mapped float vectors."""

    kind = "ivfpq"

    def __init__(self, ids: np.ndarray, index, floats: FloatFile, tuning: Tuning) -> None:
        super().__init__(ids, int(index.d))
        self.index = index
        self.floats = floats
        self.tuning = tuning

    @property
    def recall(self) -> float:
        return self.tuning.recall

    def params(self) -> dict[str, float]:
        return {"nprobe": self.tuning.nprobe, "rerank": self.tuning.rerank,
                "nlist": int(self.index.nlist), "code_bytes": int(self.index.code_size)}

    def ram_bytes(self) -> int:
        return ram_estimate(len(self), self.dim, int(self.index.code_size),
                            int(self.index.nlist))

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions, np.int64)
        order = np.argsort(positions, kind="stable")  # read the file forwards
        out = np.empty((len(positions), self.dim), np.float32)
        out[order] = self.floats.matrix()[positions[order]]
        return out

    def raw_search(self, q: np.ndarray, k: int, nprobe: Optional[int] = None,
                   rerank: Optional[int] = None, selector=None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the k best per query; -1 where fewer were found."""
        faiss = faiss_module()
        nprobe = nprobe or self.tuning.nprobe
        depth = max(k, (rerank or self.tuning.rerank) * max(1, k) // 10)
        params = faiss.SearchParametersIVF(nprobe=int(nprobe))
        if selector is not None:
            params.sel = selector
        _, cand = self.index.search(q, min(depth, len(self)), params=params)
        scores = np.full((len(q), k), -np.inf, np.float32)
        found = np.full((len(q), k), -1, np.int64)
        matrix = self.floats.matrix()
        for row, (query, c) in enumerate(zip(q, cand)):
            c = np.unique(c[c >= 0])  # sorted: the memory map is read forwards
            if c.size == 0:
                continue
            s = np.asarray(matrix[c], np.float32) @ query
            top = np.argsort(-s, kind="stable")[:k]
            scores[row, :top.size], found[row, :top.size] = s[top], c[top]
        return scores, found

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        return self._pairs(*self.raw_search(q, k))

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        selector = faiss_module().IDSelectorBatch(pos.astype(np.int64))
        # Few allowed lists may hold few allowed items: visit more lists for a subset.
        nprobe = min(int(self.index.nlist), self.tuning.nprobe * 4)
        return self._pairs(*self.raw_search(q, k, nprobe=nprobe, selector=selector))

    def extended(self, ids: np.ndarray, vectors: np.ndarray) -> "IvfPqIndex":
        """This index plus new vectors whose ids all come after the current ones (encoded
        with the codebooks already trained; recall is re-measured at the next rebuild)."""
        if len(ids):
            vectors = np.ascontiguousarray(vectors, np.float32)
            self.floats.append(vectors)
            self.index.add(vectors)
        return IvfPqIndex(np.concatenate([self.ids, np.asarray(ids, np.int64)]), self.index,
                          self.floats, self.tuning)


def coarse_quantiser(dim: int, nlist: int):
    """The index that assigns vectors to lists: exact for few lists, a graph for many."""
    faiss = faiss_module()
    if nlist >= GRAPH_QUANTISER_LISTS:
        graph = faiss.IndexHNSWFlat(dim, GRAPH_QUANTISER_M)
        graph.hnsw.efSearch = GRAPH_QUANTISER_EF  # saved with the index
        return graph
    return faiss.IndexFlatL2(dim)


def build_ivfpq(ids: np.ndarray, vectors: np.ndarray, floats_path: Path,
                stop: Callable[[], bool] = lambda: False,
                target: float = index_recall.TARGET_RECALL,
                phases: Optional[dict[str, float]] = None) -> Optional[IvfPqIndex]:
    """Train on a sample, add every vector, write the floats beside the catalog and tune
    nprobe / rerank to `target` recall@10; None as soon as `stop()` says so.
    `phases`, when given, receives the seconds each step took (train, add, write, tune)."""
    faiss = faiss_module()
    n, dim = int(vectors.shape[0]), int(vectors.shape[1])
    nlist, m = choose_nlist(n), choose_m(dim)
    index = faiss.IndexIVFPQ(coarse_quantiser(dim, nlist), dim, nlist, m, BITS)
    clock = _Phases(phases)
    # L2 on unit vectors ranks as inner product does; the re-rank gives exact cosines.
    sample = index_recall.sample_positions(n, min(n, max(MIN_TRAIN, min(
        MAX_TRAIN, TRAIN_PER_LIST * nlist))), seed=1)
    index.train(np.ascontiguousarray(vectors[sample], np.float32))
    clock.mark("train")
    for s in range(0, n, ADD_CHUNK):
        if stop():
            return None
        index.add(np.ascontiguousarray(vectors[s:s + ADD_CHUNK], np.float32))
    clock.mark("add")
    in_place = isinstance(vectors, np.memmap) and vectors.filename is not None and \
        Path(vectors.filename).resolve() == floats_path.resolve()
    file = FloatFile(floats_path, dim) if in_place else FloatFile.write(floats_path, vectors)
    built = IvfPqIndex(np.asarray(ids, np.int64), index, file, Tuning(1, RERANK_STEPS[-1], 0))
    clock.mark("write")
    if stop():
        return None
    built.tuning = tune(built, file.matrix(), target)
    clock.mark("tune")
    return built


class _Phases:
    """Seconds between marks, written into a caller's dict (or nowhere)."""

    def __init__(self, out: Optional[dict[str, float]]) -> None:
        self.out = out
        self.last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        if self.out is not None:
            self.out[name] = now - self.last
        self.last = now


def tune(index: IvfPqIndex, matrix: np.ndarray, target: float, k: int = 10) -> Tuning:
    """The fewest lists (then candidates) whose recall@k on sample queries reaches target."""
    positions = index_recall.sample_positions(len(index))
    truth = index_recall.exact_neighbours(matrix, positions, k)
    nlist = int(index.index.nlist)
    probes = sorted({min(nlist, 2 ** e) for e in range(3, 15)} | {nlist})
    best = Tuning(nlist, RERANK_STEPS[-1], 0.0)
    for nprobe in probes:
        recall = _measure(index, matrix, positions, truth, nprobe, RERANK_STEPS[-1])
        if recall > best.recall:
            best = Tuning(nprobe, RERANK_STEPS[-1], recall)
        if recall >= target:
            for rerank in RERANK_STEPS[:-1]:  # fewer candidates, if they do as well
                fewer = _measure(index, matrix, positions, truth, nprobe, rerank)
                if fewer >= target:
                    return Tuning(nprobe, rerank, fewer)
            return best
    log.warning("IVF-PQ reaches recall@%d %.3f at most (target %.2f); searching all lists",
                k, best.recall, target)
    return best


def _measure(index: IvfPqIndex, matrix: np.ndarray, positions: np.ndarray,
             truth: np.ndarray, nprobe: int, rerank: int) -> float:
    def search(q: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
        return index.raw_search(q, kk, nprobe=nprobe, rerank=rerank)

    return index_recall.recall_at_k(search, matrix, positions, truth)
