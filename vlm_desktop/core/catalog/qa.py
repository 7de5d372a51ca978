"""Catalog questions about the current image, answered from its nearest catalog items.

"How much does this cost?", "what category is this?", "do you have this in red?" are
answered from the catalog, never guessed: the answer cites the items it used, and its
confidence comes from how clearly the nearest item stands out from the other near ones
(a near-duplicate stands far above the rest; an image not in the catalog does not).
"""

from __future__ import annotations

import re
from typing import Optional

import numpy as np
from PIL import Image

from vlm_desktop.core.catalog.search import CatalogSearch, SearchFilters, SearchHit
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import Answer

COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown",
           "black", "white", "grey", "gray", "silver", "gold", "beige")
UNSURE = 0.4

_PRICE = re.compile(r"\b(price|cost|costs|how much|expensive|cheap|pay)\b", re.I)
_CATEGORY = re.compile(r"\b(category|kind of|type of|what type|which type|department|section)\b",
                       re.I)
_COLOUR = re.compile(r"\b(" + "|".join(COLOURS) + r")\b", re.I)


def is_catalog_question(question: str) -> bool:
    """True for questions this module answers (price, category, colour availability)."""
    q = question.lower()
    return bool(_PRICE.search(q) or _CATEGORY.search(q)
                or (_COLOUR.search(q) and re.search(r"\b(have|in|come|available|stock)\b", q)))


def answer_catalog_question(search: CatalogSearch, engine: Engine, image: Image.Image,
                            question: str, k: int = 5) -> Answer:
    """Answer from the nearest catalog items of `image` (kind "catalog")."""
    hits = search.by_image(engine, image, k=k, cut=False)
    if not hits:
        return Answer(question, "The catalog has no indexed items to compare with.", 0.0,
                      kind="catalog", evidence="no catalog items")
    top = hits[0]
    conf = match_confidence([h.score for h in hits])
    cite = _cite(top)
    hedge = "" if conf >= UNSURE else (
        "I'm not sure this is in the catalog. The closest item is " + cite + ", and ")
    colour = _COLOUR.search(question)
    if _PRICE.search(question):
        text = _price_text(top, hedge, cite)
    elif _CATEGORY.search(question):
        cat = top.item.category or "not given a category"
        text = (f"{hedge}it is in {cat}." if hedge else f"It is in {cat} ({cite}).")
    elif colour:
        text, more = _colour_text(search, top, colour.group(1).lower(), hedge)
        hits = hits + more
    else:
        text = f"{hedge}it looks most like {cite}." if hedge else f"It looks like {cite}."
    text = text[0].upper() + text[1:]
    evidence = "; ".join(f"#{h.item.id} {h.item.title} (similarity {h.score:.2f})"
                         for h in hits[:k])
    return Answer(question, text, conf, kind="catalog", evidence="nearest catalog items: "
                  + evidence)


def match_confidence(scores: list[float]) -> float:
    """How clearly the best match stands out: 0 when it is no closer than the typical near
    item, towards 1 when it is a near-duplicate far above the rest."""
    if not scores:
        return 0.0
    top = float(scores[0])
    if len(scores) == 1:
        return float(np.clip(top, 0.0, 1.0))
    typical = float(np.median(scores[1:]))
    return float(np.clip((top - typical) / max(1e-6, 1.0 - typical), 0.0, 1.0))


def _cite(hit: SearchHit) -> str:
    return f"\"{hit.item.title}\" (item #{hit.item.id})"


def _money(price: float, currency: str) -> str:
    return f"{price:,.2f} {currency}".strip()


def _price_text(top: SearchHit, hedge: str, cite: str) -> str:
    it = top.item
    if it.price is None:
        return f"{hedge}the catalog gives no price for it." if hedge else \
            f"The catalog gives no price for {cite}."
    if hedge:
        return f"{hedge}it costs {_money(it.price, it.currency)}."
    return f"It costs {_money(it.price, it.currency)} ({cite})."


def _colour_text(search: CatalogSearch, top: SearchHit, colour: str, hedge: str
                 ) -> tuple[str, list[SearchHit]]:
    cat = top.item.category or None
    found = search.by_text(None, colour, k=3, mode="keyword",
                           filters=SearchFilters(category=cat), cut=False)
    found = [h for h in found if colour in (h.item.title + " " + " ".join(h.item.tags)).lower()]
    where = f" in {cat}" if cat else ""
    if not found:
        return f"{hedge}I found no {colour} items{where}.", []
    names = ", ".join(_cite(h) for h in found)
    lead = hedge + "there is" if hedge else "Yes:"
    return f"{lead} {names}{where}.", found


def nearest_distance_note(hits: list[SearchHit]) -> Optional[str]:
    """A short note for the UI when the nearest item is not a confident match."""
    if not hits:
        return None
    conf = match_confidence([h.score for h in hits])
    return None if conf >= UNSURE else "No close match in the catalog; showing the nearest items."
