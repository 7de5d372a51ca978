"""The tower-feature cache of catalog adaptation, on disk beside the catalog.

`<catalog>.db.adapt/features.npz` holds, per item, the built-in model's class
probabilities and pooled feature (half precision) with the content hash they were computed
from, keyed by the model. The indexer adds each batch it embeds as a small part file
(`add_indexed`); readers merge the parts in (`merge_parts`). Kept apart from
adapt_features.py, which reads images, so the indexer can write here without a cycle.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm_desktop.core.catalog.store import CatalogItem

log = logging.getLogger(__name__)

FEATURES_FILE = "features.npz"
PART_GLOB = "features-part-*.npz"  # one indexed batch each, merged into FEATURES_FILE
MAX_PARTS = 64  # part files before the indexer merges them into the cache


@dataclass
class Features:
    """Per-item tower features (rows match `ids`)."""

    ids: np.ndarray  # [N] int64
    hashes: np.ndarray  # [N] str: the content hash the features were computed from
    probs: np.ndarray  # [N, C] float16
    pooled: np.ndarray  # [N, F] float16

    @staticmethod
    def empty() -> "Features":
        return Features(np.zeros(0, np.int64), np.zeros(0, "<U64"), np.zeros((0, 0), np.float16),
                        np.zeros((0, 0), np.float16))

    def current(self, items: Sequence[CatalogItem]) -> dict[int, int]:
        """item id -> row, for the items whose features match their current content."""
        row = {int(i): r for r, i in enumerate(self.ids)}
        return {it.id: row[it.id] for it in items
                if it.id in row and str(self.hashes[row[it.id]]) == it.content_hash}

    def merged(self, ids: list[int], hashes: list[str], probs: np.ndarray, pooled: np.ndarray
               ) -> "Features":
        """These features with new rows added (replacing any older row of the same item)."""
        new = set(ids)
        keep = np.array([int(i) not in new for i in self.ids], bool)
        if len(self.ids) == 0 or not self.probs.size:
            return Features(np.asarray(ids, np.int64), np.asarray(hashes),
                            probs.astype(np.float16), pooled.astype(np.float16))
        return Features(np.concatenate([self.ids[keep], np.asarray(ids, np.int64)]),
                        np.concatenate([self.hashes[keep].astype(str), np.asarray(hashes)]),
                        np.concatenate([self.probs[keep], probs.astype(np.float16)]),
                        np.concatenate([self.pooled[keep], pooled.astype(np.float16)]))


def _save_npz(path: Path, arrays: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # atomic: a kill never leaves half a cache


def load_features(folder: Path, key: str) -> Features:
    """The cached features made by model `key` (with the indexer's parts); empty when
    absent, stale or unreadable."""
    return _load_with_parts(folder, key)[0]


def _read(path: Path, key: str) -> Features:
    try:
        with np.load(path) as z:
            if str(z["key"]) != key:
                return Features.empty()
            return Features(z["ids"], z["hashes"], z["probs"], z["pooled"])
    except FileNotFoundError:
        return Features.empty()
    except (OSError, KeyError, ValueError) as exc:
        log.warning("adaptation feature cache %s unreadable (%s); recomputing", path, exc)
        return Features.empty()


def _load_with_parts(folder: Path, key: str) -> tuple[Features, list[Path]]:
    """The cache merged with every part file (oldest first), and the parts read."""
    feats = _read(folder / FEATURES_FILE, key)
    parts = sorted(folder.glob(PART_GLOB))
    for part in parts:
        f = _read(part, key)
        if len(f.ids) and f.probs.size:
            if feats.probs.size and f.probs.shape[1:] != feats.probs.shape[1:]:
                continue  # another model's shapes under the same key: ignore it
            feats = feats.merged(f.ids.tolist(), f.hashes.astype(str).tolist(), f.probs, f.pooled)
    return feats, parts


_merging = threading.Lock()  # one merge of the parts at a time in this process


def save_features(folder: Path, key: str, f: Features, parts: Sequence[Path] = ()) -> None:
    """Write the cache; `parts` (already merged into `f`) are removed after."""
    _save_npz(folder / FEATURES_FILE, {"key": np.str_(key), "ids": f.ids, "hashes": f.hashes,
                                       "probs": f.probs, "pooled": f.pooled})
    for part in parts:
        part.unlink(missing_ok=True)


def add_indexed(folder: Path, key: str, ids: Sequence[int], hashes: Sequence[str],
                probs: np.ndarray, pooled: np.ndarray) -> None:
    """Keep the features the indexer just computed for these items (one small file; every
    `MAX_PARTS` of them are merged into the cache). Never raises for a full or read-only
    disk: the cache only saves time."""
    if not len(ids):
        return
    try:
        name = f"features-part-{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}.npz"
        _save_npz(folder / name, {"key": np.str_(key), "ids": np.asarray(ids, np.int64),
                                  "hashes": np.asarray(list(hashes)),
                                  "probs": np.asarray(probs, np.float16),
                                  "pooled": np.asarray(pooled, np.float16)})
        if len(list(folder.glob(PART_GLOB))) >= MAX_PARTS:
            merge_parts(folder, key)
    except OSError as exc:
        log.warning("cannot keep indexed features under %s: %s", folder, exc)


def merge_parts(folder: Path, key: str) -> Features:
    """Fold the part files into the cache file; returns the merged features."""
    with _merging:
        feats, parts = _load_with_parts(folder, key)
        if parts:
            save_features(folder, key, feats, parts)
        return feats
