""""Why similar": heat maps over the query image and a hit showing the regions that match.

With an engine that exposes spatial features (`spatial_features(image) -> (rows, cols, d)`
array), each cell of one image is scored by its best cosine match among the other image's
cells — the regions the two pictures share light up on both. Cells are weighted by how
much they look like foreground before and after matching: a plain background (a photo's
blurred backdrop, clip art's white page) is alike in any two pictures and would otherwise
win every match, lighting up corners instead of the objects. Engines without spatial
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
        qmap, hmap = matching_maps(np.asarray(spatial(query), np.float32),
                                   np.asarray(spatial(hit), np.float32))
        return SimilarityMaps(HeatMap(hit_title, qmap, "similarity"),
                              HeatMap(hit_title, hmap, "similarity"), "spatial")
    return SimilarityMaps(engine.relevance(query, hit_title), engine.relevance(hit, hit_title),
                          "relevance")


def matching_maps(grid_a: np.ndarray, grid_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell maps (0..1) of two (rows, cols, d) feature grids: each cell's best match
    among the other image's foreground cells, times its own foreground weight."""
    wa, wb = foreground_weights(grid_a), foreground_weights(grid_b)
    a, b = _normalise(grid_a), _normalise(grid_b)
    sims = np.clip(a.reshape(-1, a.shape[-1]) @ b.reshape(-1, b.shape[-1]).T, 0.0, None)
    qmap = (sims * wb.reshape(1, -1)).max(axis=1) * wa.ravel()
    hmap = (sims * wa.reshape(-1, 1)).max(axis=0) * wb.ravel()
    return _unit(qmap.reshape(grid_a.shape[:2])), _unit(hmap.reshape(grid_b.shape[:2]))


def foreground_weights(grid: np.ndarray) -> np.ndarray:
    """(rows, cols) weights in 0..1: how unlike the image's border a cell is (the border
    ring is mostly background in product and clip-art pictures), times its activation
    strength relative to the strongest cell (CNN features are weak on flat regions)."""
    unit = _normalise(grid)
    rows, cols = grid.shape[:2]
    if rows < 3 or cols < 3:
        return np.ones((rows, cols), np.float32)
    ring = np.concatenate([unit[0], unit[-1], unit[1:-1, 0], unit[1:-1, -1]])
    background = _normalise(ring.mean(axis=0))
    unlike = _unit(1.0 - unit @ background)
    norms = np.linalg.norm(grid, axis=-1)
    strength = norms / (float(norms.max()) + 1e-9)
    return (unlike * strength).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)


def _unit(m: np.ndarray) -> np.ndarray:
    lo, hi = float(m.min()), float(m.max())
    return ((m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)).astype(np.float32)
