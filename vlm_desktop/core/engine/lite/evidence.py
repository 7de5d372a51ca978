"""Everything the built-in model measures in one image, computed once and cached.

Two views of the image: the whole image at 224 px (the scale the classifier was trained at)
gives the class probabilities and pooled feature; the whole image at 448 px gives a 14-cell
feature grid for the maps. Windows of that grid about 224 px wide, pooled and classified,
are free "local views" that find objects too small to win the global vote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.engine.lite import vision
from vlm_desktop.core.engine.lite.attention import resize_map, unit_range

MAP_LONG_SIDE = 448
CLASSIFY_LONG_SIDE = 224
WINDOW_CELLS = 7  # a 7-cell window of the 448 px grid sees about 224 px, the training scale
PIXELS_PER_CELL = 12  # colour measurements use a thumbnail this many pixels per grid cell


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class ImageEvidence:
    """Class probabilities, local views, the feature grid and a thumbnail of one image."""

    probs: np.ndarray  # [1000] whole image at the training scale
    pooled: np.ndarray  # [1280] its pooled feature
    local_probs: np.ndarray  # [K, 1000] windows of the map grid
    local_boxes: tuple[tuple[int, int, int, int], ...]  # (row0, col0, row1, col1) per window
    grid: np.ndarray  # [h, w, 1280] map grid (row 0 = top)
    classifier_weight: np.ndarray  # [1000, 1280]
    pixels: np.ndarray  # [h*PPC, w*PPC, 3] uint8 thumbnail with the grid's aspect
    size: tuple[int, int]  # original (width, height)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (int(self.grid.shape[0]), int(self.grid.shape[1]))

    def cams(self, classes: Sequence[int]) -> np.ndarray:
        """Class activation maps [K, h, w] on the map grid."""
        return np.moveaxis(self.grid @ self.classifier_weight[list(classes)].T, -1, 0)

    def concept_map(self, classes: np.ndarray) -> np.ndarray:
        """Evidence map [h, w] of a concept made of `classes`, weighted by their probability."""
        classes = np.asarray(classes, dtype=int)
        if classes.size == 0:
            return np.zeros(self.grid_shape, np.float32)
        weights = np.maximum(self.probs[classes], self.local_probs[:, classes].max(axis=0))
        top = classes[np.argsort(-weights)[:20]]  # the tail adds noise, not evidence
        w = np.maximum(self.probs[top], self.local_probs[:, top].max(axis=0))
        w = w / max(float(w.sum()), 1e-12)
        return np.tensordot(w.astype(np.float32), self.cams(top.tolist()), axes=1)

    def presence(self, classes: np.ndarray) -> tuple[float, float]:
        """(whole-image mass, best local-window mass) of a set of classes."""
        classes = np.asarray(classes, dtype=int)
        if classes.size == 0:
            return 0.0, 0.0
        glob = float(self.probs[classes].sum())
        local = float(self.local_probs[:, classes].sum(axis=1).max()) if len(self.local_probs) else 0.0
        return glob, local

    def pixel_weights(self, grid_map: np.ndarray) -> np.ndarray:
        """A grid map resampled to the thumbnail (nearest cell), for weighting pixels."""
        return resize_map(grid_map, self.pixels.shape[:2])

    def foreground(self) -> np.ndarray:
        """Soft foreground weights [H, W] of the thumbnail: how far each pixel is from a
        uniform border colour (1 everywhere when the border is busy)."""
        px = self.pixels.astype(np.float32)
        border = np.concatenate([px[0], px[-1], px[:, 0], px[:, -1]])
        centre = np.median(border, axis=0)
        spread = float(np.median(np.linalg.norm(border - centre, axis=1)))
        if spread > 20.0:
            return np.ones(px.shape[:2], np.float32)
        dist = np.linalg.norm(px - centre, axis=2)
        return np.clip((dist - 10.0) / 40.0, 0.02, 1.0).astype(np.float32)


def _windows(h: int, w: int) -> list[tuple[int, int, int, int]]:
    size_r, size_c = min(WINDOW_CELLS, h), min(WINDOW_CELLS, w)
    rows = sorted({*range(0, h - size_r + 1, 2), h - size_r})
    cols = sorted({*range(0, w - size_c + 1, 2), w - size_c})
    return [(r, c, r + size_r, c + size_c) for r in rows for c in cols]


def _local_views(grid: np.ndarray, weight: np.ndarray, bias: np.ndarray
                 ) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], ...]]:
    h, w, _ = grid.shape
    boxes = _windows(h, w)
    pooled = np.stack([grid[r0:r1, c0:c1].mean(axis=(0, 1)) for r0, c0, r1, c1 in boxes])
    return _softmax(pooled @ weight.T + bias), tuple(boxes)


def _thumbnail(image: Image.Image, shape: tuple[int, int]) -> np.ndarray:
    size = (shape[1] * PIXELS_PER_CELL, shape[0] * PIXELS_PER_CELL)
    return np.asarray(vision.to_rgb(image).resize(size, Image.Resampling.BILINEAR), np.uint8)


def encode_evidence(tower: vision.VisionTower, images: Sequence[Image.Image]) -> list[ImageEvidence]:
    """Run both views of each image through the tower (batched where sizes agree)."""
    maps = vision.encode(tower, images, long_side=MAP_LONG_SIDE)
    global_views = vision.encode(tower, images, long_side=CLASSIFY_LONG_SIDE)
    out = []
    for image, m, g in zip(images, maps, global_views):
        local, boxes = _local_views(m.grid, m.classifier_weight, m.classifier_bias)
        out.append(ImageEvidence(
            probs=g.probs, pooled=g.pooled, local_probs=local, local_boxes=boxes, grid=m.grid,
            classifier_weight=m.classifier_weight, pixels=_thumbnail(image, m.grid_shape),
            size=(image.width, image.height)))
    return out


def positive_map(values: np.ndarray) -> np.ndarray:
    """A CAM scaled to [0, 1] for display and weighting."""
    return unit_range(values)
