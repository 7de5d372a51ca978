""""Why similar": heat maps over the query image and a hit showing the regions that match.

With an engine that exposes spatial features (`spatial_features(image) -> (rows, cols, d)`
array), each cell of one image is scored by its best cosine match among the other image's
cells — the regions the two pictures share light up on both. Engines without spatial
features fall back to `engine.relevance(image, hit title)` on both images, which shows
where each image matches the hit's name rather than each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import HeatMap


@dataclass(frozen=True)
class SimilarityMaps:
    query: HeatMap
    hit: HeatMap
    method: str  # "spatial" | "relevance"


def why_similar(engine: Engine, query: Image.Image, hit: Image.Image, hit_title: str
                ) -> SimilarityMaps:
    """Heat maps on both images of what makes them similar (see module docstring)."""
    spatial = getattr(engine, "spatial_features", None)
    if callable(spatial):
        a = _normalise(np.asarray(spatial(query), np.float32))
        b = _normalise(np.asarray(spatial(hit), np.float32))
        sims = a.reshape(-1, a.shape[-1]) @ b.reshape(-1, b.shape[-1]).T
        qmap = sims.max(axis=1).reshape(a.shape[:2])
        hmap = sims.max(axis=0).reshape(b.shape[:2])
        return SimilarityMaps(HeatMap(hit_title, _unit(qmap), "similarity"),
                              HeatMap(hit_title, _unit(hmap), "similarity"), "spatial")
    return SimilarityMaps(engine.relevance(query, hit_title), engine.relevance(hit, hit_title),
                          "relevance")


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


def _unit(m: np.ndarray) -> np.ndarray:
    lo, hi = float(m.min()), float(m.max())
    return ((m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)).astype(np.float32)
