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
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.adapt_cache import (  # the cache, re-exported (__all__)
    FEATURES_FILE,
    Features,
    _save_npz,
    add_indexed,
    load_features,
    merge_parts,
    save_features,
)
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.messages import say

log = logging.getLogger(__name__)

TEXTS_FILE = "texts.npz"
SAVE_EVERY = 256  # items encoded between two saves of the feature cache
CHUNK = 16
STEP_CHUNK = 4  # images per tower call in short steps (a caption waits one call at most)
TEXT_STEP = 64  # texts per text-tower call in short steps


def item_features(store: CatalogStore, engine: Any, folder: Path, key: str,
                  items: Sequence[CatalogItem], state: JobState,
                  deadline: Optional[float] = None, tried: Optional[set[int]] = None
                  ) -> Features:
    """Features of every item that can be decoded, from the cache where current, else
    computed now (progress and cancel through `state`; the cache is saved on the way).

    With `deadline` (a `time.monotonic()` time) it stops encoding once past it, and `tried`
    collects the ids it tried and skips those already in it (files that cannot be decoded
    are not retried step after step): `encode_step` in adapt.py runs it in short steps."""
    from vlm_desktop.core.catalog.importer import FOLLOW_LINKS_META
    from vlm_desktop.core.catalog.indexer import decode_item

    feats = merge_parts(folder, key)
    have = feats.current(items)
    skip = tried if tried is not None else set()
    todo = [it for it in items if it.id not in have and it.id not in skip]
    if not todo:
        return feats
    root, follow = store.root, store.get_meta(FOLLOW_LINKS_META) == "1"
    started, done, unsaved = time.monotonic(), 0, 0
    chunk = CHUNK if deadline is None else STEP_CHUNK
    new: list[tuple[list[int], list[str], np.ndarray, np.ndarray]] = []
    try:
        for s in range(0, len(todo), chunk):
            state.check()
            if deadline is not None and s and time.monotonic() > deadline:
                break  # at least one chunk a step, so every step gets somewhere
            decoded = [decode_item(root, it, follow) for it in todo[s:s + chunk]]
            skip.update(d.item.id for d in decoded)
            good = [d for d in decoded if d.image is not None and d.digest == d.item.content_hash]
            if good:
                probs, pooled = engine.image_features([d.image for d in good])
                feats = feats.merged([d.item.id for d in good], [d.digest for d in good],
                                     probs, pooled)
                unsaved += len(good)
                new.append(([d.item.id for d in good], [d.digest for d in good], probs, pooled))
            done += len(decoded)
            rate = done / max(time.monotonic() - started, 1e-6)
            state.progress(done / len(todo), say(
                "Reading images {done}/{total} ({rate:.1f} items/s, about {left:.0f} s left)",
                done=done, total=len(todo), rate=rate, left=(len(todo) - done) / rate))
            if unsaved >= SAVE_EVERY and deadline is None:
                save_features(folder, key, feats)
                unsaved = 0
    finally:
        if unsaved and deadline is not None:
            # A short step adds a small part file instead of rewriting the whole cache.
            add_indexed(folder, key, [i for n in new for i in n[0]], [h for n in new for h in n[1]],
                        np.concatenate([n[2] for n in new]), np.concatenate([n[3] for n in new]))
        elif unsaved:
            save_features(folder, key, feats)  # a cancel keeps what was encoded
    return feats


def text_vectors(engine: Any, folder: Path, key: str, texts: Sequence[str],
                 deadline: Optional[float] = None) -> np.ndarray:
    """Text-tower vectors [N, D] of `texts` (float32), cached by text. With no `engine`
    nothing is encoded, and with `deadline` encoding stops once past it: the rows of texts
    left unencoded are NaN."""
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
    if missing and engine is not None:
        # Encoding in length order keeps padding (wasted work) small within each batch.
        missing.sort(key=lambda dt: len(dt[1]))
        step = len(missing) if deadline is None else TEXT_STEP
        for s in range(0, len(missing), step):
            if deadline is not None and s and time.monotonic() > deadline:
                break
            part = missing[s:s + step]
            vecs = engine.embed_texts([t for _, t in part])
            known.update({d: v.astype(np.float16) for (d, _), v in zip(part, vecs)})
        _save_npz(path, {"key": np.str_(key), "digests": np.asarray(list(known)),
                         "vecs": np.stack(list(known.values()))})
    if not texts:
        return np.zeros((0, 0), np.float32)
    if not known:
        return np.full((len(texts), 1), np.nan, np.float32)
    dim = next(iter(known.values())).shape[0]
    nan = np.full(dim, np.nan, np.float16)
    out = np.stack([known.get(d, nan) for d in digests]).astype(np.float32)
    return (out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()



__all__ = ["FEATURES_FILE", "TEXTS_FILE", "Features", "add_indexed", "item_features",
           "load_features", "merge_parts", "save_features", "text_vectors"]
