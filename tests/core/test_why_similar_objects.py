""""Why similar?" lights up the objects two pictures share, not their plain backgrounds."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vlm_desktop.core.catalog.why import why_similar
from vlm_desktop.core.engine.fake import FakeEngine

CELL = 8  # pixels per feature cell
SIDE = 64


class GridEngine(FakeEngine):
    """FakeEngine plus a feature grid: each 8-px cell's colour histogram (8 levels)."""

    def spatial_features(self, image: Image.Image) -> np.ndarray:
        arr = np.asarray(image.convert("RGB"), np.int64) // 32
        codes = arr[..., 0] * 64 + arr[..., 1] * 8 + arr[..., 2]
        n = SIDE // CELL
        grid = np.zeros((n, n, 512), np.float32)
        for r in range(n):
            for c in range(n):
                block = codes[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL]
                grid[r, c] = np.bincount(block.ravel(), minlength=512)
        return grid


def _object_on_white(top: int, left: int, red_share: float) -> Image.Image:
    """A 16-px red/blue striped object at (top, left) on a white page; `red_share` of each
    cell's rows are red, so two objects can be alike without being identical."""
    arr = np.full((SIDE, SIDE, 3), 255, np.uint8)
    for r in range(16):
        colour = (220, 30, 30) if (r % CELL) < round(red_share * CELL) else (30, 30, 220)
        arr[top + r, left:left + 16] = colour
    return Image.fromarray(arr)


def _cells(top: int, left: int) -> set[tuple[int, int]]:
    return {(top // CELL + i, left // CELL + j) for i in range(2) for j in range(2)}


def _hot(values: np.ndarray) -> set[tuple[int, int]]:
    """The cells at least half as bright as the brightest."""
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(values >= 0.5 * values.max()))}


def test_why_similar_highlights_the_shared_object_not_the_white_background():
    query = _object_on_white(8, 16, red_share=0.5)   # upper left
    hit = _object_on_white(40, 32, red_share=0.625)  # lower right, a slightly redder one
    maps = why_similar(GridEngine(), query, hit, "striped box")
    assert maps.method == "spatial"
    assert maps.query.values.max() > 0 and maps.hit.values.max() > 0
    assert _hot(maps.query.values) <= _cells(8, 16)
    assert _hot(maps.hit.values) <= _cells(40, 32)
    corner = maps.query.values[0, 0], maps.hit.values[-1, -1]
    assert max(corner) < 0.1
