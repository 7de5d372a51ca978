"""What the catalog panel says: headings, progress, the purchase history, empty states.

Pure functions of core results, worded in the window's language (the "CatalogPanel"
translation context, where these texts have always been), so they are tested without
widgets.
"""

from __future__ import annotations

from typing import Optional

from vlm_desktop.core.catalog.history import MARKED, HistorySummary
from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.core.catalog.session import SimilarItems
from vlm_desktop.ui.i18n import translate

# Models' states as empty_text() takes them.
MODEL_READY, MODEL_LOADING, MODEL_NONE = "ready", "loading", "none"


def header_text(name: str, items: int) -> str:
    """The panel's header: "Demo catalog · 297 items"."""
    return translate("CatalogPanel", "{name} · {n} items").format(name=name, n=items)


def catalog_name(stem: str, demo: bool) -> str:
    """The catalog as a user knows it: the demo by that name, others by their file."""
    return translate("CatalogPanel", "Demo catalog") if demo else stem


def similar_heading(result: SimilarItems, indexing: bool) -> str:
    """The line over the grid: how many, how good, and how much of the catalog was searched."""
    n = len(result.hits)
    partial = indexing and result.indexed < result.total
    if not n:
        if partial:
            return translate("CatalogPanel", "Indexing… {n}/{total}: similar items appear as "
                             "pictures are indexed.").format(n=result.indexed, total=result.total)
        return translate("CatalogPanel", "No matching items.")
    head = (translate("CatalogPanel", "Closest items, low similarity (below {score}, what "
                      "random pairs of catalog items reach 1 time in 20)").format(
                          score=f"{result.weak_below:.2f}")
            if result.weak else translate("CatalogPanel", "{n} items").format(n=n))
    if partial:
        head += translate("CatalogPanel", " — from the {n} of {total} items indexed so "
                          "far").format(n=result.indexed, total=result.total)
    return head


def match_legend(weak_below: Optional[float]) -> str:
    """What "match 0.71" means and how the low-similarity heading is decided."""
    text = translate(
        "CatalogPanel", "“match 0.71” is the cosine similarity of the model's vectors for the "
        "item's picture and for the query: 1 is the same picture, 0 unrelated. It is a "
        "similarity, not a probability or a percentage, and its levels differ between models: "
        "compare items with each other.\n“+ words”: the query's words are in the item's "
        "title, tags or category too.\nWhen the best match is below what random pairs of this "
        "catalog's items reach 1 time in 20, the list is headed “Closest items, low "
        "similarity”.")
    if weak_below:
        text += "\n" + translate("CatalogPanel", "For this catalog and model that level is "
                                 "{score}.").format(score=f"{weak_below:.2f}")
    return text


def history_text(summary: Optional[HistorySummary]) -> str:
    """Where the purchase history came from: "5 purchases (4 from orders.csv, 1 marked …)"."""
    if summary is None or summary.purchases == 0:
        return translate("CatalogPanel", "No purchase history.")
    parts = [translate("CatalogPanel", "{n} marked as bought here").format(n=s.purchases)
             if s.name == MARKED else
             translate("CatalogPanel", "{n} from {file}").format(n=s.purchases, file=s.name)
             for s in summary.sources]
    if summary.unknown:
        parts.append(translate("CatalogPanel", "{n} recorded earlier").format(n=summary.unknown))
    return translate("CatalogPanel", "History: {n} purchases ({sources})").format(
        n=summary.purchases, sources=translate("CatalogPanel", ", ").join(parts))


def empty_text(*, catalog: bool, model: str, image: bool, searched: str,
               indexed: int, total: int, filtered: bool) -> str:
    """What the empty grid tells the user to do next.

    `model`: MODEL_READY, MODEL_LOADING or MODEL_NONE (no model can make vectors: keyword
    search only); `searched`: the text of the last search ("" for similar items).
    """
    if not catalog:
        return translate("CatalogPanel", "No catalog is open. Use the Catalog menu to open "
                         "one, import a folder of product pictures, or open the demo catalog.")
    if searched and filtered:
        return translate("CatalogPanel", "No items match “{text}” within the filters. Clear "
                         "the category and price filters, or try other words.").format(
                             text=searched)
    if searched:
        return translate("CatalogPanel", "No items match “{text}”. Try other words or "
                         "another search mode.").format(text=searched)
    if model == MODEL_NONE:
        return translate("CatalogPanel", "Similar pictures need a catalog search model, and "
                         "none can be used. Keyword search still works: type words above and "
                         "press Enter.")
    if model == MODEL_LOADING:
        return translate("CatalogPanel", "Loading the catalog search model… Keyword search "
                         "works meanwhile.")
    if indexed == 0 and total:
        return translate("CatalogPanel", "This catalog is not indexed yet: similar items "
                         "appear as its pictures are indexed. Keyword search works meanwhile.")
    if not image:
        return translate("CatalogPanel", "Open or drop an image to see the catalog items "
                         "that look like it, or search the catalog above.")
    if filtered:
        return translate("CatalogPanel", "No items pass the category and price filters: "
                         "widen them.")
    return translate("CatalogPanel", "No matching items.")


def progress_text(p: IndexProgress) -> str:
    """IndexProgress.message in the window's language."""
    rate = f"{p.rate:.1f}"
    if p.eta_s is None:
        return translate("CatalogPanel", "Indexed {done}/{total} ({rate} items/s)").format(
            done=p.done, total=p.total, rate=rate)
    return translate("CatalogPanel", "Indexed {done}/{total} ({rate} items/s, about {eta} "
                     "left)").format(done=p.done, total=p.total, rate=rate,
                                     eta=duration_text(p.eta_s))


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return translate("CatalogPanel", "{n} s").format(n=f"{seconds:.0f}")
    if seconds < 5400:
        return translate("CatalogPanel", "{n} min").format(n=f"{seconds / 60:.0f}")
    return translate("CatalogPanel", "{n} h").format(n=f"{seconds / 3600:.1f}")
