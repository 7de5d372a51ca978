"""Cached inputs of catalog adaptation: each item's tower features and each text's vector.

Decoding and encoding 10,000 images takes minutes on a CPU; training an epoch on their
features takes seconds. So the first adaptation of a catalog computes, per item, what the
trained projection reads (the two 224 px views' class probabilities and pooled feature),
stores it at half precision in `<catalog>.db.adapt/features.npz` with the item's content
hash, and later adaptations only encode new or changed items. Text vectors (title, tags,
category) are cached the same way by their text. Both files are keyed by the model that
made them, rewritten atomically, and saved every few hundred items, so a cancel or a kill
keeps what was done.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore

log = logging.getLogger(__name__)

FEATURES_FILE = "features.npz"
TEXTS_FILE = "texts.npz"
SAVE_EVERY = 256  # items encoded between two saves of the feature cache
CHUNK = 16


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
    """The cached features made by model `key`; empty when absent, stale or unreadable."""
    path = folder / FEATURES_FILE
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


def save_features(folder: Path, key: str, f: Features) -> None:
    _save_npz(folder / FEATURES_FILE, {"key": np.str_(key), "ids": f.ids, "hashes": f.hashes,
                                       "probs": f.probs, "pooled": f.pooled})


def item_features(store: CatalogStore, engine: Any, folder: Path, key: str,
                  items: Sequence[CatalogItem], state: JobState) -> Features:
    """Features of every item that can be decoded, from the cache where current, else
    computed now (progress and cancel through `state`; the cache is saved on the way)."""
    from vlm_desktop.core.catalog.importer import FOLLOW_LINKS_META
    from vlm_desktop.core.catalog.indexer import decode_item

    feats = load_features(folder, key)
    have = feats.current(items)
    todo = [it for it in items if it.id not in have]
    if not todo:
        return feats
    root, follow = store.root, store.get_meta(FOLLOW_LINKS_META) == "1"
    started, done, unsaved = time.monotonic(), 0, 0
    try:
        for s in range(0, len(todo), CHUNK):
            state.check()
            decoded = [decode_item(root, it, follow) for it in todo[s:s + CHUNK]]
            good = [d for d in decoded if d.image is not None and d.digest == d.item.content_hash]
            if good:
                probs, pooled = engine.image_features([d.image for d in good])
                feats = feats.merged([d.item.id for d in good], [d.digest for d in good],
                                     probs, pooled)
                unsaved += len(good)
            done += len(decoded)
            rate = done / max(time.monotonic() - started, 1e-6)
            state.progress(done / len(todo), f"Reading images {done}/{len(todo)} "
                           f"({rate:.1f} items/s, about {(len(todo) - done) / rate:.0f} s left)")
            if unsaved >= SAVE_EVERY:
                save_features(folder, key, feats)
                unsaved = 0
    finally:
        if unsaved:
            save_features(folder, key, feats)  # a cancel keeps what was encoded
    return feats


def text_vectors(engine: Any, folder: Path, key: str, texts: Sequence[str]) -> np.ndarray:
    """Text-tower vectors [N, D] of `texts` (float32), cached by text."""
    path = folder / TEXTS_FILE
    known: dict[str, np.ndarray] = {}
    try:
        with np.load(path) as z:
            if str(z["key"]) == key:
                known = dict(zip((str(d) for d in z["digests"]), z["vecs"]))
    except FileNotFoundError:
        pass
    except (OSError, KeyError, ValueError) as exc:
        log.warning("adaptation text cache %s unreadable (%s); recomputing", path, exc)
    digests = [_digest(t) for t in texts]
    missing = sorted({(d, t) for d, t in zip(digests, texts) if d not in known})
    if missing:
        # Encoding in length order keeps padding (wasted work) small within each batch.
        missing.sort(key=lambda dt: len(dt[1]))
        vecs = engine.embed_texts([t for _, t in missing])
        known.update({d: v.astype(np.float16) for (d, _), v in zip(missing, vecs)})
        _save_npz(path, {"key": np.str_(key), "digests": np.asarray(list(known)),
                         "vecs": np.stack(list(known.values()))})
    if not texts:
        return np.zeros((0, 0), np.float32)
    out = np.stack([known[d] for d in digests]).astype(np.float32)
    return (out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()

