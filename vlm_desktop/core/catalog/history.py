"""Where a catalog's purchase history came from, and forgetting it.

The purchases table holds order lines only; which file (or the "Bought" button) each
batch came from is kept beside it in the store's meta table, so the panel can say
"from demo_history.csv (5 purchases)" and a user can clear the history for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from vlm_desktop.core.catalog.store import CatalogStore

SOURCES_KEY = "history_sources"  # meta: JSON {source name: purchases from it}
MARKED = ""  # the source name of purchases marked in the app ("Bought")


@dataclass(frozen=True)
class HistorySource:
    """Purchases that came from one place: a file name, or MARKED for the app's button."""

    name: str
    purchases: int


@dataclass(frozen=True)
class HistorySummary:
    """The purchase history in a line: how many purchases and from where."""

    purchases: int
    sources: tuple[HistorySource, ...]  # biggest first
    unknown: int  # purchases recorded before sources were kept (or by other tools)


def note_source(store: CatalogStore, name: str, purchases: int) -> None:
    """Count `purchases` new order lines as coming from `name` (a file name or MARKED)."""
    if purchases <= 0:
        return
    counts = _counts(store)
    counts[name] = counts.get(name, 0) + purchases
    store.set_meta(SOURCES_KEY, json.dumps(counts, sort_keys=True))


def history_summary(store: CatalogStore) -> HistorySummary:
    """How many purchases the history holds and where they came from."""
    total = store.stats().purchases
    counts = _counts(store) if total else {}
    sources = tuple(sorted((HistorySource(n, c) for n, c in counts.items() if c > 0),
                           key=lambda s: (-s.purchases, s.name)))
    known = sum(s.purchases for s in sources)
    return HistorySummary(total, sources, max(0, total - known))


def clear_history(store: CatalogStore) -> int:
    """Forget every purchase and where they came from; returns how many were forgotten.

    The demo's "history imported" mark stays set, so reopening the demo catalog does not
    bring its sample history back.
    """
    forgotten = store.stats().purchases
    store.clear_purchases()
    store.set_meta(SOURCES_KEY, "{}")
    return forgotten


def _counts(store: CatalogStore) -> dict[str, int]:
    raw = store.get_meta(SOURCES_KEY)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:  # a hand-edited database: the counts are only a description
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}
