"""Recommendations from a purchase history.

The history becomes a recency-weighted profile (each purchase's weight halves every
`half_life_days`) that keeps separate interests separate: bought items are grouped by
average-linkage clustering of their vectors and each group is queried
on its own, so shoes and cameras are not averaged into a point that is neither. Slots are
shared between interests by weight, picks are diversified with maximal marginal relevance
(MMR), bought items are left out, and every recommendation names the purchases behind it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from vlm_desktop.core.catalog.history import MARKED, note_source
from vlm_desktop.core.catalog.metadata import RowProblem
from vlm_desktop.core.catalog.records import (
    csv_records,
    has_bad_bytes,
    read_text_file,
    too_long,
)
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore, Purchase
from vlm_desktop.core.catalog.vector_index import CatalogIndex

DAY = 86400.0
LAST_DATE = 253402300799.0  # 9999-12-31T23:59:59Z, the last date datetime can hold
MAX_QUANTITY = 1_000_000  # far above any order line; keeps SQLite's integers in range
MAX_PROFILE_ITEMS = 200  # the most recent/frequent purchases; keeps clustering instant


@dataclass(frozen=True)
class HistoryReport:
    imported: int
    problems: tuple[RowProblem, ...] = ()


@dataclass(frozen=True)
class Interest:
    """A group of similar purchases: (item id, recency weight) pairs and their centroid."""

    members: tuple[tuple[int, float], ...]
    centroid: np.ndarray
    weight: float


@dataclass(frozen=True)
class Recommendation:
    item: CatalogItem
    score: float  # cosine to the interest's profile
    because: tuple[CatalogItem, ...]  # the purchases it comes from, closest first
    interest: int  # index into the interests list, heaviest first

    @property
    def reason(self) -> str:
        return "Because you bought " + ", ".join(b.title for b in self.because)


def mark_bought(store: CatalogStore, item_id: int, quantity: int = 1,
                when: Optional[float] = None) -> None:
    """Record a purchase made in the browser."""
    if store.item(item_id) is None:
        raise KeyError(f"No catalog item with id {item_id}.")
    store.add_purchases([(item_id, time.time() if when is None else when, quantity)])
    note_source(store, MARKED, 1)


def import_history(store: CatalogStore, path: str | Path) -> HistoryReport:
    """Import order lines (`item_id` or `image`, `timestamp`, `quantity`) from a CSV file."""
    purchases, report = read_history(store, path)
    store.add_purchases([(p.item_id, p.timestamp, p.quantity) for p in purchases])
    note_source(store, Path(path).name, len(purchases))
    return report


def read_history(store: CatalogStore, path: str | Path
                 ) -> tuple[list[Purchase], HistoryReport]:
    """Parse a history CSV against the catalog without storing it; bad rows are reported
    with their line numbers and the others read. Raises MetadataError naming the file when
    it cannot be read at all (missing, a folder, a FIFO)."""
    text = read_text_file(path, "history file")
    rows: list[tuple[int, float, int]] = []
    problems: list[RowProblem] = []
    for n, fields, reason in csv_records(text, _history_row_check):
        if fields is None:
            problems.append(RowProblem(n, reason))
            continue
        parsed = _history_row(store, n, fields)
        if isinstance(parsed, RowProblem):
            problems.append(parsed)
        else:
            rows.append(parsed)
    purchases = [Purchase(-1, i, t, q) for i, t, q in rows]
    return purchases, HistoryReport(len(rows), tuple(problems))


def _history_row(store: CatalogStore, n: int, fields: dict
                 ) -> tuple[int, float, int] | RowProblem:
    rec = {(k or "").strip().lower(): (v or "").strip() for k, v in fields.items()}
    for name, value in rec.items():
        big = too_long(value)
        if big is not None:
            return RowProblem(n, f"'{name}' holds {big}")
        if has_bad_bytes(value):  # kept visible so the row is named; never a lookup key
            return RowProblem(n, f"undecodable bytes in '{name}' (the file is not UTF-8 here)")
    item = _find_item(store, rec.get("item_id", ""), rec.get("image", ""))
    if item is None:
        return RowProblem(n, "no catalog item matches item_id "
                             f"'{rec.get('item_id', '')}' / image '{rec.get('image', '')}'")
    ts = parse_timestamp(rec.get("timestamp", ""))
    if ts is None:
        return RowProblem(n, f"timestamp '{rec.get('timestamp', '')}' is not a date "
                             "(use ISO 8601 or Unix seconds)")
    if ts > time.time() + DAY:
        return RowProblem(n, f"timestamp '{rec.get('timestamp', '')}' is in the future")
    qty_text = rec.get("quantity", "") or "1"
    if not (qty_text.isascii() and qty_text.isdigit()) or not 1 <= int(qty_text) <= MAX_QUANTITY:
        return RowProblem(n, f"quantity '{qty_text}' is not a whole number from 1 to "
                             f"{MAX_QUANTITY:,}")
    return item.id, ts, int(qty_text)


def _history_row_check(header: list[str], cells: list[str]) -> bool:
    """A line with a date in its timestamp column is an order line of its own."""
    rec = {h.strip().lower(): c for h, c in zip(header, cells)}
    return parse_timestamp(rec.get("timestamp", "")) is not None


def _find_item(store: CatalogStore, item_id: str, image: str) -> Optional[CatalogItem]:
    if item_id:
        found = store.item_by_external_id(item_id)
        if found is None and item_id.isdigit():
            found = store.item(int(item_id))
        if found is not None:
            return found
    return store.item_by_path(image.replace("\\", "/")) if image else None


def parse_timestamp(text: str) -> Optional[float]:
    """Unix seconds or an ISO 8601 date as Unix seconds; None unless a real date from
    1970 to 9999 (so 'nan', 'inf' and '1e308' are not dates)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        value = dt.timestamp()
    return value if math.isfinite(value) and 0 <= value <= LAST_DATE else None


def interests(store: CatalogStore, index: CatalogIndex, now: Optional[float] = None,
              half_life_days: float = 90.0, threshold: Optional[float] = None,
              purchases: Optional[Sequence[Purchase]] = None) -> list[Interest]:
    """Group the purchase history into interests, heaviest first.

    Average-linkage clustering of the bought items' vectors: two groups merge while their
    mean similarity is at least `threshold` — by default the mean similarity of two random
    catalog items, i.e. "more alike than items of this catalog usually are", which adapts
    to the model and the catalog instead of a constant tuned for one of them.
    """
    now = time.time() if now is None else now
    weights: dict[int, float] = {}
    for p in store.purchases() if purchases is None else purchases:
        age_days = max(0.0, now - p.timestamp) / DAY
        weights[p.item_id] = weights.get(p.item_id, 0.0) + p.quantity * 0.5 ** (
            age_days / half_life_days)
    vx = index.get()
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_PROFILE_ITEMS]
    members = [(i, w, v) for i, w in ranked if (v := vx.vector(i)) is not None]
    if not members:
        return []
    if threshold is None:
        threshold = typical_similarity(vx)
    vecs = np.stack([v for _, _, v in members])
    groups = _average_link(vecs @ vecs.T, threshold)
    out = []
    for g in groups:
        total = sum(members[j][1] * members[j][2] for j in g)
        centroid = np.asarray(total / (np.linalg.norm(total) + 1e-9), np.float32)
        out.append(Interest(tuple((members[j][0], members[j][1]) for j in g), centroid,
                            sum(members[j][1] for j in g)))
    return sorted(out, key=lambda i: -i.weight)


def typical_similarity(vx, sample: int = 400, seed: int = 0) -> float:
    """Mean cosine between two random catalog items (a sample keeps it cheap)."""
    n = len(vx)
    if n < 2:
        return 0.5
    rng = np.random.default_rng(seed)
    pos = rng.choice(n, min(n, sample), replace=False)
    vecs = vx.vectors(np.sort(pos))
    sims = vecs @ vecs.T
    m = sims.shape[0]
    return float((sims.sum() - np.trace(sims)) / (m * (m - 1)))


def _average_link(sims: np.ndarray, threshold: float) -> list[list[int]]:
    groups = [[i] for i in range(sims.shape[0])]
    while len(groups) > 1:
        best, pair = threshold, None
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                link = float(sims[np.ix_(groups[a], groups[b])].mean())
                if link >= best:
                    best, pair = link, (a, b)
        if pair is None:
            break
        a, b = pair
        groups[a] = groups[a] + groups.pop(b)
    return groups


def recommend(store: CatalogStore, index: CatalogIndex, k: int = 10,
              now: Optional[float] = None, half_life_days: float = 90.0,
              threshold: Optional[float] = None, diversity: float = 0.3,
              purchases: Optional[Sequence[Purchase]] = None) -> list[Recommendation]:
    """Up to k items, shared between interests by weight, diversified by MMR; `purchases`
    replaces the stored history (e.g. a CSV given on the command line)."""
    history = store.purchases() if purchases is None else list(purchases)
    groups = interests(store, index, now, half_life_days, threshold, history)
    if not groups or k <= 0:
        return []
    vx = index.get()
    bought = {i for g in groups for i, _ in g.members} | {p.item_id for p in history}
    quotas = _quotas([g.weight for g in groups], k)
    pools: list[dict[int, tuple[float, np.ndarray]]] = []
    for interest, quota in zip(groups, quotas):
        depth = 4 * quota + len(bought) + 10
        pool = {}
        for item_id, sim in vx.search(interest.centroid, depth)[0] if quota else []:
            if item_id not in bought:
                vec = vx.vector(item_id)
                if vec is not None:
                    pool[item_id] = (sim, vec)
        pools.append(pool)
    picked: list[tuple[int, int, float]] = []  # item id, interest, relevance
    picked_vecs: list[np.ndarray] = []
    taken: set[int] = set()
    for gi in _pick_order(quotas):
        choice = _mmr_pick(pools[gi], taken, picked_vecs, diversity)
        if choice is None:
            continue
        item_id, rel = choice
        taken.add(item_id)
        picked.append((item_id, gi, rel))
        picked_vecs.append(pools[gi][item_id][1])
    member_ids = [i for grp in groups for i, _ in grp.members]
    member_vecs = {i: v for i in member_ids if (v := vx.vector(i)) is not None}
    items = store.items(member_ids + [p[0] for p in picked])
    out = []
    for item_id, gi, rel in picked:
        vec = pools[gi][item_id][1]
        members = sorted((m for m, _ in groups[gi].members if m in member_vecs),
                         key=lambda m: -float(np.dot(member_vecs[m], vec)))
        because = tuple(items[m] for m in members[:2] if m in items)
        if item_id in items:
            out.append(Recommendation(items[item_id], rel, because, gi))
    return out


def _quotas(weights: list[float], k: int) -> list[int]:
    """Slots per interest, proportional to weight, at least one each while slots last."""
    n = min(len(weights), k)
    quotas = [1 if i < n else 0 for i in range(len(weights))]
    total = sum(weights[:n]) or 1.0
    left = k - n
    shares = [left * w / total for w in weights[:n]]
    for i, s in enumerate(shares):
        quotas[i] += int(s)
    rest = k - sum(quotas)
    for i in sorted(range(n), key=lambda i: -(shares[i] - int(shares[i])))[:rest]:
        quotas[i] += 1
    return quotas


def _pick_order(quotas: list[int]) -> list[int]:
    """Interleave interests (heaviest first in each round) so the top of the list covers all."""
    order, left = [], list(quotas)
    while any(left):
        for g, q in enumerate(left):
            if q:
                order.append(g)
                left[g] -= 1
    return order


def _mmr_pick(pool: dict[int, tuple[float, np.ndarray]], taken: set[int],
              picked_vecs: list[np.ndarray], diversity: float) -> Optional[tuple[int, float]]:
    best, best_score = None, -np.inf
    chosen = np.stack(picked_vecs) if picked_vecs else None
    for item_id, (rel, vec) in pool.items():
        if item_id in taken:
            continue
        redundancy = float(np.max(chosen @ vec)) if chosen is not None else 0.0
        score = (1.0 - diversity) * rel - diversity * redundancy
        if score > best_score:
            best, best_score = (item_id, rel), score
    return best
