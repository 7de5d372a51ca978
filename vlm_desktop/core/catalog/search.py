"""Catalog search: by image, by text (hybrid / vector / keyword), and "more like this".

Hybrid text search ranks by the cosine between the query and each item (the score vector
search shows) plus a bonus for the share of the query's words the item's title, tags or
category contain (FTS5, one query per word). The bonus is scaled to this query's own
cosine spread, so words lift an item by about as much as the picture could, whatever the
model: an item that matches both the words and the picture outranks one that matches only
the words, and neither kind alone is drowned. (Reciprocal rank fusion, used before, let a
keyword's first rank outweigh a much better picture match: "red car" put the blue "Car"
first.) Every mode reports the same `similarity`, the cosine; hits with no vector are
keyword-only. Lists are cut where the scores drop (the largest gap that stands out), not
at a fixed threshold, because useful similarity levels differ between models and catalogs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.catalog.indexer import model_key, visual_key
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.catalog.vector_index import CatalogIndex
from vlm_desktop.core.engine.protocol import Engine

MODES = ("hybrid", "vector", "keyword")
# A query's words found in full are worth this share of the spread of its cosines (best
# vector hit minus the median of the vector candidates): as much as the picture can add.
WORD_WEIGHT = 1.0
TEXT_MIN_COUNT = 1  # a text query may have one right answer ("dog": 0.51, then 0.34 …)


@dataclass(frozen=True)
class SearchFilters:
    category: Optional[str] = None
    min_price: Optional[float] = None
    max_price: Optional[float] = None

    @property
    def active(self) -> bool:
        return bool(self.category) or self.min_price is not None or self.max_price is not None


@dataclass(frozen=True)
class SearchHit:
    """One result. `score` ranks the list (cosine; in hybrid mode cosine plus the word
    bonus; BM25 in keyword mode without a model); `similarity` is the cosine between the
    query and the item, the one figure shown in every mode (None: no vector, words only);
    `words` the share of the query's words the item's text contains (text searches)."""

    item: CatalogItem
    score: float
    similarity: Optional[float]
    source: str  # "vector" | "keyword" | "both"
    words: float = 0.0


def adaptive_cut(scores: Sequence[float], min_count: int = 3, ratio: float = 3.0,
                 min_share: float = 0.25) -> int:
    """How many of the (descending) scores to keep: cut at the largest gap after `min_count`
    when that gap stands out — at least `ratio` times the median gap and `min_share` of the
    whole spread, so the rule works the same for cosines, BM25 and RRF scores."""
    n = len(scores)
    if n <= min_count:
        return n
    s = np.asarray(scores, np.float64)
    gaps = s[:-1] - s[1:]
    tail = gaps[min_count - 1:]
    j = int(np.argmax(tail))
    spread = float(s[0] - s[-1])
    typical = float(np.median(gaps))
    if spread > 0 and tail[j] >= min_share * spread and tail[j] > ratio * typical:
        return min_count + j
    return n


class CatalogSearch:
    """Search one store with one engine's vectors.

    Text queries use the joint (text-image) vectors; image queries, "more like this" and
    recommendations use the model's visual vectors when the catalog has them for every
    indexed item (the built-in model stores both), else the joint ones.
    """

    def __init__(self, store: CatalogStore, index: CatalogIndex,
                 visual: Optional[CatalogIndex] = None) -> None:
        self.store = store
        self.index = index
        self.visual = visual

    @classmethod
    def for_engine(cls, store: CatalogStore, engine: Engine) -> "CatalogSearch":
        key = model_key(engine)
        visual = CatalogIndex(store, visual_key(key)) if callable(
            getattr(engine, "embed_visual", None)) else None
        return cls(store, CatalogIndex(store, key), visual)

    def similarity_index(self) -> CatalogIndex:
        """The index image-to-image similarity uses: visual when complete, else joint."""
        if self.visual is not None:
            joint = self.store.embedding_count(self.index.model)
            if joint and self.store.embedding_count(self.visual.model) >= joint:
                return self.visual
        return self.index

    # --- entry points --------------------------------------------------------------------

    def by_vector(self, vector: np.ndarray, k: int = 20, filters: SearchFilters = SearchFilters(),
                  exclude: Sequence[int] = (), cut: bool = True,
                  index: Optional[CatalogIndex] = None) -> list[SearchHit]:
        """Nearest items to a vector of `index`'s space (default: the joint space)."""
        allowed = self._allowed(filters)
        pairs = (index or self.index).get().search(vector, k + len(exclude), allowed)[0]
        skip = set(exclude)
        pairs = [(i, s) for i, s in pairs if i not in skip][:k]
        hits = self._hits([(i, s, s, "vector") for i, s in pairs])
        return self._cut(hits) if cut else hits

    def by_image(self, engine: Engine, image: Image.Image, k: int = 20,
                 filters: SearchFilters = SearchFilters(), cut: bool = True) -> list[SearchHit]:
        index = self.similarity_index()
        embed = getattr(engine, "embed_visual", None) if index is self.visual else None
        vector = (embed if callable(embed) else engine.embed_images)([image])[0]
        return self.by_vector(vector, k, filters, cut=cut, index=index)

    def more_like_this(self, item_id: int, k: int = 20, filters: SearchFilters = SearchFilters()
                       ) -> list[SearchHit]:
        index = self.similarity_index()
        vec = index.get().vector(item_id)
        if vec is None:
            return []
        return self.by_vector(vec, k, filters, exclude=[item_id], index=index)

    def by_text(self, engine: Optional[Engine], text: str, k: int = 20, mode: str = "hybrid",
                filters: SearchFilters = SearchFilters(), cut: bool = True) -> list[SearchHit]:
        if mode not in MODES:
            raise ValueError(f"Unknown search mode '{mode}' (use one of: {', '.join(MODES)}).")
        if not text.strip():
            return []
        if engine is None:
            return self._keyword(text, None, k, filters, cut)
        qvec = engine.embed_texts([text])[0]
        if mode == "keyword":
            return self._keyword(text, qvec, k, filters, cut)
        if mode == "vector":
            hits = self.by_vector(qvec, k, filters, cut=False)
            return self._cut(hits, TEXT_MIN_COUNT) if cut else hits
        return self._hybrid(text, qvec, k, filters, cut)

    # --- internals -----------------------------------------------------------------------

    def _allowed(self, filters: SearchFilters) -> Optional[set[int]]:
        if not filters.active:
            return None
        return self.store.filter_ids(filters.category, filters.min_price, filters.max_price)

    def _keyword(self, text: str, qvec: Optional[np.ndarray], k: int, filters: SearchFilters,
                 cut: bool) -> list[SearchHit]:
        """Ordered by BM25; each hit still carries its cosine when a query vector exists."""
        pairs = self.store.keyword_search(text, k, filters.category, filters.min_price,
                                          filters.max_price)
        sims = {} if qvec is None else self._cosines(qvec, [i for i, _ in pairs])
        hits = self._hits([(i, s, sims.get(i), "keyword") for i, s in pairs])
        return self._cut(hits, TEXT_MIN_COUNT) if cut else hits

    def _word_shares(self, text: str, depth: int, filters: SearchFilters) -> dict[int, float]:
        """Item id -> share of the query's distinct words its title, tags or category hold
        (FTS5's own prefix matching, one query per word)."""
        words = list(dict.fromkeys(re.findall(r"\w+", text.lower())))
        shares: dict[int, float] = {}
        for word in words:
            for item_id, _s in self.store.keyword_search(word, depth, filters.category,
                                                         filters.min_price, filters.max_price):
                shares[item_id] = shares.get(item_id, 0.0) + 1.0 / len(words)
        return shares

    def _hybrid(self, text: str, qvec: np.ndarray, k: int, filters: SearchFilters,
                cut: bool) -> list[SearchHit]:
        depth = max(50, 3 * k)
        vec = self.index.get().search(qvec, depth, self._allowed(filters))[0]
        shares = self._word_shares(text, depth, filters)
        sims = dict(vec)
        sims.update(self._cosines(qvec, [i for i in shares if i not in sims]))
        weight = WORD_WEIGHT * _spread([s for _, s in vec])
        fused = {i: sims.get(i, 0.0) + weight * shares.get(i, 0.0)
                 for i in set(sims) | set(shares)}
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        in_vec = {i for i, _ in vec}
        rows = [(i, fused[i], sims.get(i),
                 "both" if i in shares and i in in_vec else
                 ("keyword" if i in shares else "vector")) for i in order]
        hits = [replace(h, words=shares.get(h.item.id, 0.0)) for h in self._hits(rows)]
        return self._cut(hits, TEXT_MIN_COUNT) if cut else hits

    def _cosines(self, qvec: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        index = self.index.get()
        out = {}
        for i in ids:
            v = index.vector(i)
            if v is not None:
                out[i] = float(np.dot(qvec, v))
        return out

    def _hits(self, rows: Sequence[tuple[int, float, Optional[float], str]]) -> list[SearchHit]:
        items = self.store.items(r[0] for r in rows)
        return [SearchHit(items[i], float(s), None if sim is None else float(sim), src)
                for i, s, sim, src in rows if i in items]

    @staticmethod
    def _cut(hits: list[SearchHit], min_count: int = 3) -> list[SearchHit]:
        return hits[: adaptive_cut([h.score for h in hits], min_count=min_count)]


def _spread(scores: Sequence[float]) -> float:
    """Best minus median of a query's vector candidates: how much the picture can add."""
    if len(scores) < 2:
        return 0.1  # too few candidates to measure; a tenth of the cosine range
    return max(1e-3, float(scores[0] - np.median(scores)))


def keyword_search(store: CatalogStore, text: str, k: int = 20,
                   filters: SearchFilters = SearchFilters(), cut: bool = True
                   ) -> list[SearchHit]:
    """Items whose title, tags or category hold the query's words, by BM25: needs no model
    (with no engine `by_text` never reads a vector index, so an unnamed one stands in)."""
    return CatalogSearch(store, CatalogIndex(store, "")).by_text(None, text, k, "keyword",
                                                                 filters, cut)
