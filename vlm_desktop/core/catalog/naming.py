"""The catalog's own name for what an image shows: the category its nearest items agree on.

A general model does not know a shop's categories ("Tops", "Footwear", "Office"); the
catalog does. When most of an image's ten nearest items in the joint space share one
category, that category is the catalog's name for it, said beside the model's caption.
The vote is weighted by similarity; below MIN_SHARE the neighbours disagree and nothing is
said. The catalog's adapted vectors are used where the catalog was adapted (the session's
engine is the adapted view), so adapting sharpens this too.

MIN_SHARE is the lowest threshold at which both catalogs' first halves were named at least
90 % rightly (leave-one-out over the catalog's own items, base model, through the product's
search: `benchmarks/eval_adapt.py --naming`); on the other halves it named 77 % of a
Fashion-MNIST catalog's items (10 categories) 95 % rightly and 15 % of the demo catalog's
(8 clip-art categories) 95 % rightly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from vlm_desktop.core.catalog.search import SearchHit

NEIGHBOURS = 10
MIN_SHARE = 0.7  # the similarity-weighted share of the neighbours that must agree
MIN_CATEGORISED = 5  # fewer neighbours with a category than this: no vote


@dataclass(frozen=True)
class CategoryGuess:
    """The category most of an image's nearest catalog items are in."""

    category: str
    agreeing: int  # neighbours in that category
    considered: int  # neighbours that have a category
    share: float  # similarity-weighted share of `considered` in `category`


def guess_category(hits: Sequence[SearchHit], min_share: float = MIN_SHARE
                   ) -> Optional[CategoryGuess]:
    """The category the nearest `hits` agree on, or None when they do not agree enough."""
    votes: dict[str, float] = {}
    counts: dict[str, int] = {}
    total = 0.0
    considered = 0
    for hit in hits[:NEIGHBOURS]:
        category = hit.item.category.strip()
        if not category:
            continue
        weight = max(float(hit.similarity if hit.similarity is not None else hit.score), 0.0)
        weight += 1e-6  # a neighbour at cosine 0 still counts a little
        votes[category] = votes.get(category, 0.0) + weight
        counts[category] = counts.get(category, 0) + 1
        total += weight
        considered += 1
    if considered < MIN_CATEGORISED or len(set(votes)) == 0:
        return None
    best = max(votes, key=lambda c: (votes[c], counts[c]))
    share = votes[best] / total
    if share < min_share:
        return None
    return CategoryGuess(best, counts[best], considered, share)

