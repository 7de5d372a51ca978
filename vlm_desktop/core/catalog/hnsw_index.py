"""A FAISS HNSW graph whose efSearch is chosen when it is built, by measured recall.

Why FAISS (measured side by side with hnswlib 0.8 and usearch 2.26 at 100k unstructured
384-d vectors on the shared 2-core machine, load average 5–7): build 244 s vs 490 s vs 204 s
(usearch at half the links, and then recall@10 0.80 at efSearch 2048 where FAISS has 0.97);
at equal efSearch FAISS had the best recall and the lowest latency of the three, and it is
already a dependency. Its add is multi-threaded (OpenMP) by itself.

Recall is checked on sample queries from the catalog (core.catalog.index_recall): efSearch
is raised step by step until recall@10 reaches the target, on any data. On unstructured
data a graph needs a search so wide that it visits a large part of the catalog (at 100k
random vectors efSearch 2048 for 0.97, as slow as a flat scan); `worth_it()` says so from
the distances the search computed, a count that does not depend on the machine's load.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np

from vlm_desktop.core.catalog import index_recall
from vlm_desktop.core.catalog.index_base import VectorIndex, faiss_module

log = logging.getLogger(__name__)

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# From 64 up: below it the saving is a fraction of a millisecond, and the margin keeps
# results stable (the sampled recall is within about ±0.02 of the true one).
EF_STEPS = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
# A graph visit costs a few times a flat scan's distance (random memory access): a graph
# that visits more than this share of the vectors per query is no faster than exact search.
MAX_VISITED_SHARE = 0.125
# Below this size every graph visits most of its vectors, and the comparison says nothing:
# such graphs exist only where a caller lowered the HNSW threshold (tests), never by default.
VISIT_RULE_FROM = 20_000
# A background build adds vectors in chunks of this size and checks between chunks whether
# to stop (closed, or the catalog changed under it): a few seconds of work per chunk.
BUILD_CHUNK = 8192


class HnswIndex(VectorIndex):
    """A FAISS HNSW graph (inner product); positions are FAISS's sequential ids."""

    kind = "hnsw"

    def __init__(self, ids: np.ndarray, index, ef: int = 96, recall: float = 1.0,
                 visited: float = 0.0) -> None:
        super().__init__(ids, int(index.d))
        self.index = index
        self.ef = ef
        self._recall = recall
        self.visited = visited  # share of the vectors one search computes a distance to

    @property
    def recall(self) -> float:
        return self._recall

    def worth_it(self) -> bool:
        """Whether the graph at its tuned efSearch beats a flat scan (see MAX_VISITED_SHARE)."""
        return len(self) < VISIT_RULE_FROM or self.visited <= MAX_VISITED_SHARE

    def params(self) -> dict[str, float]:
        return {"M": HNSW_M, "efSearch": self.ef, "visited_share": round(self.visited, 4)}

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(positions, np.int64))

    def raw_search(self, q: np.ndarray, k: int, ef: Optional[int] = None, selector=None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, positions) of the k best per query; -1 where fewer were found."""
        faiss = faiss_module()
        params = faiss.SearchParametersHNSW(efSearch=max(ef or self.ef, k))
        if selector is not None:
            params.sel = selector
        return self.index.search(q, k, params=params)

    def _search_all(self, q: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        return self._pairs(*self.raw_search(q, k))

    def _search_subset(self, q: np.ndarray, k: int, pos: np.ndarray
                       ) -> list[list[tuple[int, float]]]:
        selector = faiss_module().IDSelectorBatch(pos.astype(np.int64))
        return self._pairs(*self.raw_search(q, k, selector=selector))

    def extended(self, ids: np.ndarray, vectors: np.ndarray) -> "HnswIndex":
        """This graph plus new vectors whose ids all come after the current ones."""
        if len(ids):
            self.index.add(np.ascontiguousarray(vectors, np.float32))
        return HnswIndex(np.concatenate([self.ids, np.asarray(ids, np.int64)]), self.index,
                         self.ef, self._recall, self.visited)


def new_graph(dim: int):
    faiss = faiss_module()
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return index


def build_hnsw(ids: np.ndarray, vectors: np.ndarray, stop: Callable[[], bool] = lambda: False,
               target: float = index_recall.TARGET_RECALL, chunk: int = BUILD_CHUNK
               ) -> Optional[HnswIndex]:
    """A graph built chunk by chunk, then tuned to `target` recall@10; None as soon as
    `stop()` says so."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    index = new_graph(int(vectors.shape[1]))
    for start in range(0, len(ids), chunk):
        if stop():
            return None
        index.add(vectors[start:start + chunk])
    if stop():
        return None
    graph = HnswIndex(np.asarray(ids, np.int64), index)
    tune(graph, vectors, target)
    return graph


def tune(graph: HnswIndex, vectors: np.ndarray, target: float, k: int = 10) -> None:
    """Set the smallest efSearch whose recall@k on sample queries reaches `target`."""
    faiss = faiss_module()
    positions = index_recall.sample_positions(len(graph))
    truth = index_recall.exact_neighbours(vectors, positions, k)
    stats = faiss.cvar.hnsw_stats
    for ef in EF_STEPS:
        stats.reset()

        def search(q: np.ndarray, kk: int, ef: int = ef) -> tuple[np.ndarray, np.ndarray]:
            return graph.raw_search(q, kk, ef=ef)

        recall = index_recall.recall_at_k(search, vectors, positions, truth)
        graph.ef, graph._recall = ef, recall
        graph.visited = float(stats.ndis) / max(1, len(positions)) / max(1, len(graph))
        if recall >= target or (len(graph) >= VISIT_RULE_FROM
                                and graph.visited > 2 * MAX_VISITED_SHARE):
            break  # reached, or searching so wide that exact search is the better answer
    if graph.recall < target:
        log.info("HNSW of %d vectors: recall@%d %.3f at efSearch %d (target %.2f)",
                 len(graph), k, graph.recall, graph.ef, target)
