"""Cached inputs of catalog adaptation: each item's tower features and each text's vector.

Decoding and encoding 10,000 images takes minutes on a CPU; training an epoch on their
features takes seconds. So the first adaptation of a catalog computes, per item, what the
trained projection reads (the two 224 px views' class probabilities and pooled feature),
stores it at half precision in `<catalog>.db.adapt/features.npz` with the item's content
hash, and later adaptations only encode new or changed items. The indexer computes exactly
these features on its way to the vectors, so it hands each batch's over (`add_indexed`) as
a small part file, merged into the cache when read; an indexed catalog is then adapted
without running the vision tower again. Text vectors (title, tags,
category) are cached the same way by their text. Both files are keyed by the model that
made them, rewritten atomically, and saved every few hundred items, so a cancel or a kill
keeps what was done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
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
PART_GLOB = "features-part-*.npz"  # one indexed batch each, merged into FEATURES_FILE
MAX_PARTS = 64  # part files before the indexer merges them into the cache
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


def item_features(store: CatalogStore, engine: Any, folder: Path, key: str,
                  items: Sequence[CatalogItem], state: JobState) -> Features:
    """Features of every item that can be decoded, from the cache where current, else
    computed now (progress and cancel through `state`; the cache is saved on the way)."""
    from vlm_desktop.core.catalog.importer import FOLLOW_LINKS_META
    from vlm_desktop.core.catalog.indexer import decode_item

    feats = merge_parts(folder, key)
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

