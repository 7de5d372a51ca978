"""A miniature of the built-in model for the adaptation tests (fast: no towers).

`MiniLite` has what catalog adaptation uses of `LiteEngine` — label embeddings, a trained
projection, `image_features`, `spaces`, `with_projection`, `embed_texts` — over tiny
features: an image's mean colour per quadrant (12 numbers) and class probabilities over
six colour prototypes. Its text vectors hash words, so a title's colour word is a signal
the base projection (all zeros: plain ConSE over unrelated labels) does not read and
adaptation can learn.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.lite.projection import Projection, unit
from vlm_desktop.core.engine.types import ModelInfo

COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220),
           "yellow": (230, 220, 40), "purple": (150, 40, 200), "orange": (240, 140, 30)}
KINDS = ["boot", "bag", "hat", "coat"]
F, D = 12, 16


def base_projection() -> Projection:
    return Projection(alpha=1.0, mean=np.zeros(F, np.float32), w=np.zeros((F, D), np.float32),
                      b=np.zeros(D, np.float32), visual_mean=np.zeros(F, np.float32),
                      visual_basis=np.eye(F, dtype=np.float32), visual_power=0.5)


class MiniLite(FakeEngine):
    """See the module doc."""

    def __init__(self) -> None:
        super().__init__(name="Mini Lite")
        rng = np.random.default_rng(7)
        self.joint = SimpleNamespace(labels=unit(rng.normal(size=(len(COLOURS), D))),
                                     projection=base_projection())
        self.variant = ""
        self.prototypes = np.array(list(COLOURS.values()), np.float32) / 255.0

    def info(self) -> ModelInfo:
        base = super().info()
        return ModelInfo(base.name, "1" + (f"+{self.variant}" if self.variant else ""),
                         base.device, base.dtype)

    def with_projection(self, projection: Projection, variant: str) -> "MiniLite":
        view = copy.copy(self)
        view.joint = SimpleNamespace(labels=self.joint.labels, projection=projection)
        view.variant = variant
        return view

    def image_features(self, images: Sequence[Image.Image],
                       state: Optional[JobState] = None) -> tuple[np.ndarray, np.ndarray]:
        pooled, probs = [], []
        for im in images:
            a = np.asarray(im.convert("RGB").resize((8, 8)), np.float32) / 255.0
            quads = [a[:4, :4], a[:4, 4:], a[4:, :4], a[4:, 4:]]
            pooled.append(np.concatenate([q.reshape(-1, 3).mean(0) for q in quads]))
            d = ((self.prototypes - a.reshape(-1, 3).mean(0)) ** 2).sum(1)
            # Blurred on purpose: the classifier alone should not read the colour off.
            p = np.exp(-d / 2.0)
            probs.append(p / p.sum())
        return np.array(probs, np.float32), np.array(pooled, np.float32)

    def spaces(self, probs: np.ndarray, pooled: np.ndarray) -> dict[str, np.ndarray]:
        proj = self.joint.projection
        return {"joint": proj.image(probs, pooled, self.joint.labels).astype(np.float32),
                "visual": proj.visual(pooled).astype(np.float32)}

    def embed_catalog(self, images: Sequence[Image.Image],
                      state: Optional[JobState] = None) -> dict[str, np.ndarray]:
        return self.spaces(*self.image_features(images, state))

    def embed_images(self, images, state=None):  # noqa: ANN001, ANN201
        return self.embed_catalog(images, state)["joint"]

    def embed_visual(self, images, state=None):  # noqa: ANN001, ANN201
        return self.embed_catalog(images, state)["visual"]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import hashlib

        rows = []
        for text in texts:
            vec = np.zeros(D, np.float32)
            for word in text.lower().replace(",", " ").split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                vec[h % D] += 1.0 if (h >> 8) % 2 else -1.0
            rows.append(vec)
        return unit(np.array(rows, np.float32).reshape(len(texts), D))


def item_image(colour: str, seed: int) -> Image.Image:
    """A 16-px picture mostly of `colour`, with per-item noise and a random other corner."""
    rng = np.random.default_rng(seed)
    arr = np.tile(np.array(COLOURS[colour], np.float32), (16, 16, 1))
    other = list(COLOURS.values())[int(rng.integers(len(COLOURS)))]
    arr[: 6, : 6] = other
    arr += rng.normal(0, 12, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def make_catalog(tmp: Path, per_colour: int = 20, start: int = 0):
    """A catalog of coloured items titled "<colour> <kind> <n>", categories = kinds;
    imported and indexed with MiniLite. Returns (store, engine)."""
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.indexer import Indexer
    from vlm_desktop.core.catalog.store import CatalogStore

    root = tmp / "images"
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in COLOURS:
        for i in range(start, start + per_colour):
            name = f"{c}_{i:03d}.png"
            item_image(c, list(COLOURS).index(c) * 1000 + i).save(root / name)
            kind = KINDS[i % len(KINDS)]
            rows.append({"image": name, "title": f"{c} {kind} {i}", "category": kind,
                         "tags": f"{c};{kind}"})
    meta = tmp / "meta.csv"
    with open(meta, "w", newline="", encoding="utf-8") as fp:
        w = csv.DictWriter(fp, fieldnames=["image", "title", "category", "tags"])
        w.writeheader()
        w.writerows(rows)
    store = CatalogStore(tmp / "shop.db")
    import_folder(store, root, metadata=meta)
    engine = MiniLite()
    indexer = Indexer(store)
    try:
        indexer.run(engine)
    finally:
        indexer.close()
    return store, engine
