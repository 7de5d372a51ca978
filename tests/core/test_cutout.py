"""Clip art on a white sheet loses the sheet (issue #19: tiny thumbnails, white blocks)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from vlm_desktop.core.catalog.cutout import cut_out_background


def _clip_art() -> Image.Image:
    """A red disc with a white eye, small on a big white palette sheet (like the demo's)."""
    im = Image.new("RGB", (160, 160), "white")
    draw = ImageDraw.Draw(im)
    draw.ellipse((60, 50, 100, 90), fill=(200, 20, 20))
    draw.ellipse((75, 65, 85, 75), fill="white")
    return im.convert("P")


def test_the_white_sheet_goes_and_the_drawing_fills_the_result():
    out = cut_out_background(_clip_art())
    arr = np.asarray(out)
    assert out.mode == "RGBA" and 39 <= out.width <= 42 and 39 <= out.height <= 42
    assert arr[0, 0, 3] == 0  # the sheet's corner is transparent
    centre = arr[out.height // 2, out.width // 2]
    assert centre[3] == 255 and tuple(centre[:3]) == (255, 255, 255)  # the eye stays white
    red = arr[out.height // 2, 5]  # the disc is kept, opaque (palette colours are close)
    assert red[3] == 255 and red[0] > 150 and red[1] < 80 and red[2] < 80


def test_a_photo_is_left_whole():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    out = cut_out_background(photo)
    assert out.size == photo.size and np.asarray(out)[..., 3].min() == 255
