"""One open catalog's operations, with no Qt: search, recommend, "why similar", answer.

`CatalogSession(store)` owns the per-model search cache (a `CatalogSearch` per engine's
model key) and the incremental `Indexer`; every method is a pure function of its
arguments plus the session, run on whatever thread the caller chooses (the workers run
them on the model's thread, the CLI and tests call them directly). The words the panel
shows about a result (how much was searched, whether a match is weak) come with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Optional

from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.history import HistorySummary, clear_history, history_summary
from vlm_desktop.core.catalog.indexer import IndexProgress, Indexer, model_key
from vlm_desktop.core.catalog.naming import NEIGHBOURS, CategoryGuess, guess_category
from vlm_desktop.core.catalog.recommend import Recommendation, mark_bought, recommend
from vlm_desktop.core.catalog.search import (
    CatalogSearch,
    SearchFilters,
    SearchHit,
    keyword_search,
)
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import Answer, WordSpan

STILL_INDEXING = "The catalog is still being indexed; ask again in a moment."


@dataclass(frozen=True)
class Recommendations:
    """The recommendation list and what it came from (for the panel's empty-list hint)."""

    items: tuple[Recommendation, ...]
    purchases: int  # purchases in the history
    indexed: int  # items with a vector for the model
    history: Optional[HistorySummary] = None  # where the purchases came from


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
    # The catalog's name for the searched image (its nearest items' shared category), for
    # image searches where the neighbours agree (core/catalog/naming.py).
    category: Optional[CategoryGuess] = None

    @property
    def weak(self) -> bool:
        """The best picture match is no better than random pairs of items reach."""
        if self.kind == "text" or not self.hits or self.hits[0].similarity is None:
            return False
        return self.hits[0].similarity < self.weak_below


class CatalogSession:
    """Every operation on one open catalog; safe to call from one worker thread at a time."""

    def __init__(self, store: CatalogStore, batch_size: int = 4) -> None:
        self.store = store
        self.indexer = Indexer(store, batch_size=batch_size)
        self._searches: dict[str, CatalogSearch] = {}  # by engine model key

    def search(self, engine: Engine) -> CatalogSearch:
        """The CatalogSearch for `engine`'s vectors (made once per model)."""
        key = model_key(engine)
        if key not in self._searches:
            self._searches[key] = CatalogSearch.for_engine(self.store, engine)
        return self._searches[key]

    def indexed(self, engine: Engine) -> int:
        """Items with a vector from `engine`."""
        return self.store.embedding_count(model_key(engine))

    # --- searches --------------------------------------------------------------------------

    def similar_to_image(self, engine: Engine, image: Image.Image, k: int,
                         filters: SearchFilters = SearchFilters()) -> SimilarItems:
        result = self._similar(engine, lambda cs: cs.by_image(engine, image, k, filters),
                               "image")
        if not result.indexed:
            return result
        return replace(result, category=self.catalog_name(engine, image))

    def catalog_name(self, engine: Engine, image: Image.Image) -> Optional[CategoryGuess]:
        """The category the image's nearest items (joint space, no filters) agree on."""
        if len(self.store.categories()) < 2:
            return None  # one category (or none) names nothing
        cs = self.search(engine)
        vector = engine.embed_images([image])[0]
        return guess_category(cs.by_vector(vector, k=NEIGHBOURS, cut=False))

    def more_like_this(self, engine: Engine, item_id: int, k: int,
                       filters: SearchFilters = SearchFilters()) -> SimilarItems:
        return self._similar(engine, lambda cs: cs.more_like_this(item_id, k, filters),
                             "item")

    def text_search(self, engine: Optional[Engine], text: str, mode: str, k: int,
                    filters: SearchFilters = SearchFilters()) -> SimilarItems:
        """Search by text; with no engine (or no vectors yet) by keywords alone."""
        if engine is None:
            hits = tuple(keyword_search(self.store, text, k, filters))
            return SimilarItems(hits, "text", 0, self.store.stats().items, 0.0)
        # Before any vector exists, keywords still find items by their words.
        use = mode if self.indexed(engine) else "keyword"
        return self._similar(engine, lambda cs: cs.by_text(engine, text, k, use, filters),
                             "text")

    def _similar(self, engine: Engine, search: Callable[[CatalogSearch], list[SearchHit]],
                 kind: str) -> SimilarItems:
        from vlm_desktop.core.catalog.match_quality import weak_match_threshold

        indexed, total = self.indexed(engine), self.store.stats().items
        if not indexed and kind != "text":
            # Nothing indexed yet (the first minutes of a new catalog): no vectors to compare.
            return SimilarItems((), kind, 0, total, 0.0)
        cs = self.search(engine)
        hits = tuple(search(cs))
        weak_below = weak_match_threshold(cs.index.get()) if indexed and kind != "text" else 0.0
        return SimilarItems(hits, kind, indexed, total, weak_below)

    # --- recommendations, why similar, catalog questions -----------------------------------

    def recommendations(self, engine: Engine, k: int) -> Recommendations:
        history = history_summary(self.store)
        indexed = self.indexed(engine)
        if history.purchases == 0 or indexed == 0:
            return Recommendations((), history.purchases, indexed, history)
        items = recommend(self.store, self.search(engine).similarity_index(), k)
        return Recommendations(tuple(items), history.purchases, indexed, history)

    def mark_bought(self, item_id: int) -> None:
        """Record a purchase (a small SQLite write; safe on any thread)."""
        mark_bought(self.store, item_id)

    def history(self) -> HistorySummary:
        """The purchase history's size and sources (a small SQLite read)."""
        return history_summary(self.store)

    def clear_history(self) -> int:
        """Forget the purchase history for good; returns how many purchases it held."""
        return clear_history(self.store)

    def why_similar(self, engine: Engine, image: Image.Image, item: CatalogItem) -> WhySimilar:
        """Heat maps of what `image` and `item` share."""
        from vlm_desktop.core.catalog.why import why_similar
        from vlm_desktop.core.images import load_image

        hit = load_image(str(self.store.abs_path(item)))
        return WhySimilar(item, why_similar(engine, image, hit, item.title))

    def answer(self, engine: Engine, state: JobState, image: Image.Image, question: str
               ) -> Answer:
        """A catalog question about `image` ("how much is this?") answered from the items."""
        from vlm_desktop.core.catalog.qa import answer_catalog_question

        state.check()
        if not self.indexed(engine):
            return Answer(question, STILL_INDEXING, 0.0, kind="catalog",
                          words=plain_words(STILL_INDEXING),
                          evidence="no indexed catalog items yet")
        answer = answer_catalog_question(self.search(engine), engine, image, question)
        # Word spans let the chat wrap the sentence like a model's answer.
        return replace(answer, words=plain_words(answer.text))

    # --- indexing and closing --------------------------------------------------------------

    def index_batch(self, engine: Engine, state: JobState) -> Optional[IndexProgress]:
        """Index the next batch of pending items; None once nothing is pending."""
        return self.indexer.next_batch(engine, state)

    def close(self) -> None:
        """Stop the indexer's decode threads and any background build of a search graph."""
        self.indexer.close()
        for search in list(self._searches.values()):
            search.index.close()


def plain_words(text: str) -> tuple[WordSpan, ...]:
    """Whitespace-separated spans with no maps: prices ("24.49") and quoted titles stay
    whole, and the chat wraps the sentence between them."""
    return tuple(WordSpan(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text))
