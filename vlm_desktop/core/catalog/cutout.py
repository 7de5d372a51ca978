"""Clip art and product shots on a plain background, cut out for thumbnails.

Much catalog art is a drawing on an opaque white sheet (the demo's clip art is palette
PNGs with no transparency). Drawn as-is in a tile it is a small drawing inside a white
block, and a selected tile shows that block on the selection colour. Making the
background that touches the picture's edge transparent, then cropping to what is left,
lets the drawing fill the tile and sit on whatever the tile paints behind it. White
inside the drawing (an eye, a label) is kept: only background reachable from the edge goes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

TOLERANCE = 24  # per channel: JPEG noise and anti-aliasing around a "plain" background
PLAIN_BORDER = 0.6  # this share of the edge pixels must be the background colour


def cut_out_background(image: Image.Image) -> Image.Image:
    """`image` as RGBA with an edge-connected plain background made transparent and cropped
    away; unchanged (but RGBA) when its edge is not one plain colour."""
    rgba = image.convert("RGBA")
    arr = np.asarray(rgba)
    if arr.shape[0] < 3 or arr.shape[1] < 3:
        return rgba
    rgb = arr[..., :3].astype(np.int16)
    edge = _edge(rgb)
    colour = np.median(edge, axis=0)
    plain = np.abs(rgb - colour).max(axis=2) <= TOLERANCE
    if _edge(plain[..., None]).mean() < PLAIN_BORDER:
        return rgba  # a photo or a framed picture: its edge is part of it
    background = _reach_from_edge(plain)
    if background.all():
        return rgba  # nothing but background: keep the sheet rather than an empty image
    alpha = np.where(background, 0, arr[..., 3]).astype(np.uint8)
    out = np.dstack([arr[..., :3], alpha])
    cut = Image.fromarray(out, "RGBA")
    box = cut.getchannel("A").getbbox()
    return cut.crop(box) if box is not None else cut


def _edge(arr: np.ndarray) -> np.ndarray:
    """The pixels of the outermost ring of `arr` (H, W, C) as (N, C)."""
    return np.concatenate([arr[0], arr[-1], arr[1:-1, 0], arr[1:-1, -1]])


def _reach_from_edge(mask: np.ndarray) -> np.ndarray:
    """The True pixels of `mask` joined to the image's edge through True 4-neighbours."""
    reach = np.zeros_like(mask)
    reach[0], reach[-1], reach[:, 0], reach[:, -1] = mask[0], mask[-1], mask[:, 0], mask[:, -1]
    while True:  # grow one pixel a step; stops when nothing new joins (at most H*W steps)
        grown = reach.copy()
        grown[1:] |= reach[:-1]
        grown[:-1] |= reach[1:]
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown &= mask
        if np.array_equal(grown, reach):
            return reach
        reach = grown
