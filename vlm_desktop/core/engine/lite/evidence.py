"""Everything the built-in model measures in one image, computed once and cached.

Three views of the image. The class probabilities average two views at the scale the
classifier was trained at (224 px): the whole image, so nothing off-centre is lost, and the
training protocol's centre crop (short side 256, crop 224), so one view's overconfidence
(the whole cat photo says "Egyptian cat 85%", its crop "tiger cat 39%, Egyptian cat 36%")
does not decide alone. The whole image at 448 px gives a 14-cell feature grid for the maps;
windows of that grid about 224 px wide, pooled and classified, are free "local views" that
find objects too small to win the global vote. The image is downscaled once, up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Optional, Sequence, TypeVar

import numpy as np
from PIL import Image

from vlm_desktop.core.engine.lite import vision
from vlm_desktop.core.engine.lite.attention import resize_map, unit_range
from vlm_desktop.core.engine.lite.colors import pixel_names

T = TypeVar("T")

MAP_LONG_SIDE = 448
CLASSIFY_LONG_SIDE = 224
WINDOW_CELLS = 7  # a 7-cell window of the 448 px grid sees about 224 px, the training scale
PIXELS_PER_CELL = 12  # colour measurements use a thumbnail this many pixels per grid cell
CROP_FRACTION = 0.875  # EfficientNet's evaluation crop: 224 px out of a 256 px short side


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class ImageEvidence:
    """Class probabilities, local views, the feature grid and a thumbnail of one image."""

    probs: np.ndarray  # [1000] whole image at the training scale
    pooled: np.ndarray  # [1280] its pooled feature
    pooled_crop: np.ndarray  # [1280] the centre crop's pooled feature
    local_probs: np.ndarray  # [K, 1000] windows of the map grid
    local_boxes: tuple[tuple[int, int, int, int], ...]  # (row0, col0, row1, col1) per window
    grid: np.ndarray  # [h, w, 1280] map grid (row 0 = top)
    classifier_weight: np.ndarray  # [1000, 1280]
    pixels: np.ndarray  # [h*PPC, w*PPC, 3] uint8 thumbnail with the grid's aspect
    size: tuple[int, int]  # original (width, height)
    # The distribution captions name the main object from: the classifier's probabilities
    # fused with the trained joint space's reading of the image (engine.py); None = probs.
    naming_probs: Optional[np.ndarray] = None
    # Results derived from this evidence alone (its caption, main object), kept with it so
    # a caption plus several questions compose them once; never part of its identity.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def remember(self, key: object, compute: Callable[[], T]) -> T:
        """`compute()`'s result, computed once per key for this image."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]  # type: ignore[no-any-return]

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (int(self.grid.shape[0]), int(self.grid.shape[1]))

    @property
    def names_from(self) -> np.ndarray:
        """The class distribution the main object is named from."""
        return self.probs if self.naming_probs is None else self.naming_probs

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

    @cached_property
    def pixel_colours(self) -> np.ndarray:
        """Colour-word index of every thumbnail pixel (computed once per image)."""
        return pixel_names(self.pixels)

    @cached_property
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
    # Window means from an integral image: four lookups a window instead of a slice mean.
    integral = np.zeros((h + 1, w + 1, grid.shape[2]), np.float64)
    integral[1:, 1:] = grid.cumsum(axis=0, dtype=np.float64).cumsum(axis=1)
    r0, c0, r1, c1 = (np.array(v) for v in zip(*boxes))
    sums = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
    pooled = (sums / ((r1 - r0) * (c1 - c0))[:, None]).astype(np.float32)
    return _softmax(pooled @ weight.T + bias), tuple(boxes)


def _thumbnail(image: Image.Image, shape: tuple[int, int]) -> np.ndarray:
    size = (shape[1] * PIXELS_PER_CELL, shape[0] * PIXELS_PER_CELL)
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), np.uint8)


def _sized(source: Image.Image, original: Image.Image, long_side: int) -> Image.Image:
    """`source` resized to the tower's input size for `original` at `long_side`."""
    size = vision.input_size(original.width, original.height, long_side)
    return source if source.size == size else source.resize(size, Image.Resampling.BICUBIC)


def working_copy(image: Image.Image, long_side: int = MAP_LONG_SIDE) -> Image.Image:
    """RGB copy no larger than needed: a big photo is box-reduced by an integer factor once
    (cheap), keeping its long side at least `long_side`, so later resizes are small."""
    rgb = vision.to_rgb(image)
    factor = max(rgb.width, rgb.height) // long_side
    return rgb.reduce(factor) if factor >= 2 else rgb


def centre_crop(image: Image.Image, side: int = CLASSIFY_LONG_SIDE) -> Image.Image:
    """The classifier's evaluation view: short side to side/CROP_FRACTION, centre side×side."""
    scale = side / CROP_FRACTION / min(image.width, image.height)
    w, h = max(side, round(image.width * scale)), max(side, round(image.height * scale))
    left, top = (w - side) // 2, (h - side) // 2
    return image.resize((side, side), Image.Resampling.BICUBIC,
                        box=(left / scale, top / scale, (left + side) / scale, (top + side) / scale))


@dataclass(frozen=True, eq=False)
class ImageSummary:
    """What the catalog needs of one image, from the two views at the training scale only:
    the class probabilities (whole image and centre crop averaged), the whole view's pooled
    feature, and its feature grid (for pooled variants)."""

    probs: np.ndarray  # [1000]
    pooled: np.ndarray  # [1280] whole image at 224 px
    pooled_crop: np.ndarray  # [1280] centre crop at 224 px
    grid: np.ndarray  # [h, w, 1280] whole image at 224 px


def summarise(tower: vision.VisionTower, images: Sequence[Image.Image],
              working: Sequence[Image.Image] | None = None,
              check: Optional[Callable[[], None]] = None) -> list[ImageSummary]:
    """The two 224 px views of each image through the tower (batched where sizes agree).

    `working` are already box-reduced RGB copies (as `working_copy` makes); both views are
    cut from them, so a catalog image is resized once per view and never at 448 px.
    `check` runs before each forward pass (cancel).
    """
    small = list(working) if working is not None else [working_copy(im, CLASSIFY_LONG_SIDE)
                                                         for im in images]
    wholes = vision.encode(tower, [_sized(s, im, CLASSIFY_LONG_SIDE) for s, im in zip(small, images)],
                           long_side=CLASSIFY_LONG_SIDE, check=check)
    crops = vision.encode(tower, [centre_crop(s) for s in small], long_side=CLASSIFY_LONG_SIDE,
                          check=check)
    return [ImageSummary(((g.probs + c.probs) / 2).astype(np.float32), g.pooled, c.pooled, g.grid)
            for g, c in zip(wholes, crops)]


def encode_evidence(tower: vision.VisionTower, images: Sequence[Image.Image]) -> list[ImageEvidence]:
    """Run the three views of each image through the tower (batched where sizes agree)."""
    # One resize from the (box-reduced) photo to the map view; the small views and the
    # thumbnail are cut from that, and each view is handed over at the exact size the tower
    # takes (sized from the original's aspect), so the tower's own resize is a no-op copy.
    big = [_sized(working_copy(im), im, MAP_LONG_SIDE) for im in images]
    maps = vision.encode(tower, big, long_side=MAP_LONG_SIDE)
    summaries = summarise(tower, images, big)
    out = []
    for image, small, m, s in zip(images, big, maps, summaries):
        local, boxes = _local_views(m.grid, m.classifier_weight, m.classifier_bias)
        out.append(ImageEvidence(
            probs=s.probs, pooled=s.pooled, pooled_crop=s.pooled_crop,
            local_probs=local, local_boxes=boxes, grid=m.grid,
            classifier_weight=m.classifier_weight, pixels=_thumbnail(small, m.grid_shape),
            size=(image.width, image.height)))
    return out


def positive_map(values: np.ndarray) -> np.ndarray:
    """A CAM scaled to [0, 1] for display and weighting."""
    return unit_range(values)
