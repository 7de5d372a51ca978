"""Tower features of the offline training/evaluation sets, computed once and cached.

Each image goes through the app's own path: `core.images.load_image`, the indexer's decode
size, then `evidence.summarise` (whole image and centre crop at 224 px). Stored per image
(float16): pooled whole, pooled crop, the mean class probabilities. Text embeddings of every text variant come from the text tower.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lite_datasets import CACHE, Pair, cache_key, fashion, fashion_image  # noqa: E402

BATCH = 32
DECODE_MAX_SIDE = 512  # as the catalog indexer decodes


def _load(path: str):  # noqa: ANN202
    from PIL import Image

    from vlm_desktop.core.images import ImageLoadError, load_image

    try:
        image = load_image(path)
    except ImageLoadError:
        return None
    if max(image.size) > DECODE_MAX_SIDE:
        image.thumbnail((DECODE_MAX_SIDE, DECODE_MAX_SIDE), Image.Resampling.BILINEAR)
    return image


def image_features(tower, images: Sequence) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Summaries of PIL images as arrays (see module doc)."""
    from vlm_desktop.core.engine.lite.evidence import summarise

    cols: dict[str, list[np.ndarray]] = {"pooled": [], "crop": [], "probs": []}
    for start in range(0, len(images), BATCH):
        for s in summarise(tower, images[start:start + BATCH]):
            cols["pooled"].append(s.pooled)
            cols["crop"].append(s.pooled_crop)
            cols["probs"].append(s.probs)
    return {k: np.stack(v).astype(np.float32) for k, v in cols.items()}


def load_tower():  # noqa: ANN201
    import torch

    from vlm_desktop.core.engine.lite import vision

    torch.set_num_threads(2)
    return vision.load_vision_tower("cpu", torch.float32)


def clipart_features(pairs: list[Pair], tower=None) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Features of Open Clip Art pairs (cached by the list of paths); `ok` marks decodable."""
    key = cache_key("clipart-v1", [p.path for p in pairs])
    path = CACHE / f"clipart-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k] for k in z.files}
    tower = tower or load_tower()
    t0 = time.perf_counter()
    images, ok = [], []
    for p in pairs:
        im = _load(p.path)
        ok.append(im is not None)
        if im is not None:
            images.append(im)
    feats = image_features(tower, images)
    full = {k: np.zeros((len(pairs), v.shape[1]), np.float32) for k, v in feats.items()}
    idx = np.flatnonzero(ok)
    for k, v in feats.items():
        full[k][idx] = v
    full["ok"] = np.asarray(ok)
    print(f"  clip-art features: {len(images)} images in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    _save(path, full)
    return full


def fashion_features(split: str, per_class: int, tower=None) -> tuple[dict[str, np.ndarray], np.ndarray]:  # noqa: ANN001
    key = cache_key("fashion-v1", split, per_class)
    path = CACHE / f"fashion-{key}.npz"
    images, labels = fashion(split, per_class)
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k].astype(np.float32) for k in z.files}, labels
    tower = tower or load_tower()
    feats = image_features(tower, [fashion_image(x) for x in images])
    _save(path, feats)
    return feats, labels


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: v.astype(np.float16) if v.dtype == np.float32 else v
                     for k, v in arrays.items()})
    tmp.replace(path)


_TEXT = None


def text_tower():  # noqa: ANN201
    global _TEXT
    if _TEXT is None:
        from vlm_desktop.core.engine.lite.text import TextTower

        _TEXT = TextTower.load("cpu")
    return _TEXT


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Text-tower embeddings of many texts (cached by their content)."""
    key = cache_key("text-v1", list(texts))
    path = CACHE / f"text-{key}.npy"
    if path.is_file():
        return np.load(path).astype(np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vecs = text_tower().encode([texts[i] for i in order])
    out = np.empty_like(vecs)
    out[np.asarray(order)] = vecs
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out.astype(np.float16))
    return out
