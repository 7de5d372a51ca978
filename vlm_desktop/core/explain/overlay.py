"""Heat maps drawn over images: smooth upsampling, blended overlays, layers and legends.

Heat is blended with weight `opacity × value`, so cold parts of the image stay visible
and only where the model looked is tinted. Pillow does the pixel work in C, which keeps
memory flat on large photos (no float copies of the whole image).
"""

from __future__ import annotations

from typing import Union

import numpy as np
from PIL import Image

from vlm_desktop.core.engine.types import HeatMap
from vlm_desktop.core.explain.colormap import apply_colormap, colormap_lut

HeatMapLike = Union[HeatMap, np.ndarray]


def upsample(heatmap_values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a (rows, cols) grid to `size` = (width, height), float32 [H, W].

    The grid covers the whole image: cell centres map to pixel centres and the outer half
    cells are held flat to the edges, so nothing is cropped or shifted.
    """
    width, height = _checked_size(size)
    values = np.nan_to_num(np.asarray(heatmap_values, dtype=np.float32), nan=0.0)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"a heat map grid must be 2-D and non-empty, got shape {values.shape}")
    grid = Image.fromarray(np.ascontiguousarray(values))  # float32 → mode "F"
    resized = grid.resize((width, height), Image.Resampling.BILINEAR)
    out = np.asarray(resized, dtype=np.float32)
    # Bilinear weights are convex, so values stay in the grid's range; clip float noise only.
    return np.clip(out, float(values.min()), float(values.max()))


def heatmap_rgba(heatmap: HeatMapLike, size: tuple[int, int], opacity: float = 0.5) -> np.ndarray:
    """An RGBA layer [H, W, 4] uint8 for the GUI: map colours, alpha = opacity × value."""
    colours, mask = _layers(heatmap, size, opacity)
    return np.asarray(Image.merge("RGBA", (*colours.split(), mask)))


def overlay(image: Image.Image, heatmap: HeatMapLike, opacity: float = 0.5) -> Image.Image:
    """`image` (as RGB) with the heat map blended over it, the same size as `image`."""
    base = image.convert("RGB")
    if opacity <= 0.0:
        return base if base is not image else image.copy()
    colours, mask = _layers(heatmap, base.size, opacity)
    return Image.composite(colours, base, mask)


def legend_image(width: int, height: int) -> Image.Image:
    """A horizontal bar of the colour map, cold on the left and hot on the right."""
    width, height = _checked_size((width, height))
    row = apply_colormap(np.linspace(0.0, 1.0, width, dtype=np.float32))
    return Image.fromarray(np.ascontiguousarray(np.broadcast_to(row, (height, width, 3))))


def _layers(heatmap: HeatMapLike, size: tuple[int, int], opacity: float) -> tuple[Image.Image, Image.Image]:
    """The colour layer (RGB) and its blend mask (L) at `size`, built in Pillow's C code."""
    index = _index_image(heatmap.values if isinstance(heatmap, HeatMap) else heatmap, size)
    weight = min(max(float(opacity), 0.0), 1.0)
    mask = index.point([round(i * weight) for i in range(256)])
    index.putpalette(colormap_lut().tobytes())  # L with a palette becomes P
    return index.convert("RGB"), mask


def _index_image(grid: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The upsampled heat as an L image of colour-map indices 0..255 (value × 255, rounded)."""
    width, height = _checked_size(size)
    values = np.nan_to_num(np.asarray(grid, dtype=np.float32), nan=0.0)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"a heat map grid must be 2-D and non-empty, got shape {values.shape}")
    # HeatMap promises [0, 1]; clipping guards grids from elsewhere. Bilinear weights sum
    # to 1, so the + 0.5 survives resizing and turns Pillow's F→L truncation into rounding.
    scaled = np.clip(values, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)
    return Image.fromarray(np.ascontiguousarray(scaled)).resize((width, height), Image.Resampling.BILINEAR).convert("L")


def _checked_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least 1×1 pixels, got {width}×{height}")
    return width, height
