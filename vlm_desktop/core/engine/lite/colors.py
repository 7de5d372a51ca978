"""Everyday colour names measured from pixels (pure numpy).

Each pixel is named in CIELCh (lightness, chroma, hue), which follows how people see
colour far better than RGB does: low chroma means black/grey/white by lightness; otherwise
the hue angle picks the family and lightness splits it (dark orange is brown, light red is
pink, dark blue is navy). A weighted vote over the pixels gives the region's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOUR_WORDS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown",
    "black", "white", "grey", "beige", "gold", "olive", "teal", "turquoise", "navy",
)

# Thresholds in CIELab units (L 0..100, chroma roughly 0..130, hue in degrees), set from
# the CSS/X11 reference colours: pure blue sits at h 306 and indigo at 314, hence the
# blue/purple edge at 312; pure red is h 40 and dark orange h 64, hence the edge at 50.
_ACHROMATIC_CHROMA = 12.0
_BLACK_L = 25.0
_WHITE_L = 85.0
_ALWAYS_BLACK_L = 10.0


@dataclass(frozen=True)
class ColourName:
    """A colour word, its share of the (weighted) pixels, and their mean RGB."""

    name: str
    fraction: float
    rgb: tuple[int, int, int]


def srgb_to_lch(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CIE L*, C*ab and hue angle (degrees) of uint8 sRGB pixels [..., 3] (D65 white)."""
    c = np.asarray(pixels, dtype=np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32)
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return lightness, np.hypot(a, b), np.degrees(np.arctan2(b, a)) % 360


def pixel_names(pixels: np.ndarray) -> np.ndarray:
    """Index into COLOUR_WORDS for every pixel of an [..., 3] uint8 array."""
    L, C, h = srgb_to_lch(pixels)
    grey = C < _ACHROMATIC_CHROMA
    reddish = (h >= 345) | (h < 50)
    pinkish_hue = (h >= 340) | (h < 15)
    orange_hue = (h >= 50) & (h < 82)
    gold_hue = (h >= 82) & (h < 95)
    yellow_hue = (h >= 82) & (h < 115)
    soft_warm = (h >= 50) & (h < 115) & (C < 30)
    cyan_hue = (h >= 175) & (h < 225)
    blue_hue = (h >= 225) & (h < 312)
    purple_hue = (h >= 312) & (h < 345)
    rules = [
        ("black", (L < _ALWAYS_BLACK_L) | (grey & (L < _BLACK_L))),
        ("white", grey & (L > _WHITE_L)),
        ("grey", grey),
        # Pale, weakly coloured warm tones (sand, cream, wheat) read as beige, darker as brown.
        ("beige", soft_warm & (L >= 65)),
        # Dark orange is brown; so is dark, muted red-orange (rust), but not a saturated dark red.
        ("brown", soft_warm | (orange_hue & (L < 45))
         | (reddish & (h >= 25) & (h < 50) & (L < 45) & (C < 50))),
        ("pink", reddish & ((L >= 65) | (pinkish_hue & (L >= 50)))),
        ("red", reddish),
        ("orange", orange_hue),
        ("gold", gold_hue & (L >= 60) & (L < 89) & (C >= 50)),
        ("olive", yellow_hue & (L < 55)),
        ("yellow", yellow_hue),
        ("green", (h >= 115) & (h < 175)),
        ("teal", cyan_hue & (L < 65)),
        ("turquoise", cyan_hue),
        ("navy", blue_hue & (L < 25)),
        ("blue", blue_hue),
        ("pink", purple_hue & (L >= 72)),
        ("purple", purple_hue),
    ]
    index = np.full(L.shape, COLOUR_WORDS.index("grey"), dtype=np.int64)
    decided = np.zeros(L.shape, dtype=bool)
    for name, mask in rules:
        take = mask & ~decided
        index[take] = COLOUR_WORDS.index(name)
        decided |= take
    return index


def colour_spread(pixels: np.ndarray, weights: np.ndarray | None = None,
                  names: np.ndarray | None = None) -> list[ColourName]:
    """Every colour present under `weights` (default: all pixels equal), largest share first.

    `names` may pass `pixel_names(pixels)` already computed (it is the costly part)."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"expected an [H, W, 3] RGB array, got shape {pixels.shape}")
    w = np.ones(pixels.shape[:2], np.float64) if weights is None else np.asarray(weights, np.float64)
    if w.shape != pixels.shape[:2]:
        raise ValueError(f"weights shape {w.shape} does not match the image {pixels.shape[:2]}")
    w = np.clip(w, 0.0, None).ravel()
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("weights select no pixels")
    flat = pixels.reshape(-1, 3).astype(np.float64)
    names = (pixel_names(pixels) if names is None else np.asarray(names)).ravel()
    shares = np.bincount(names, weights=w, minlength=len(COLOUR_WORDS)) / total
    # Weighted channel sums per colour name in three bincounts (no per-name masks).
    sums = np.stack([np.bincount(names, weights=w * flat[:, k], minlength=len(COLOUR_WORDS))
                     for k in range(3)], axis=1)
    counts = np.bincount(names, weights=w, minlength=len(COLOUR_WORDS))
    out = []
    for i in np.argsort(-shares, kind="stable"):
        if shares[i] <= 0:
            break
        mean = sums[i] / counts[i]
        rgb = tuple(int(round(v)) for v in mean)
        out.append(ColourName(COLOUR_WORDS[i], float(shares[i]), (rgb[0], rgb[1], rgb[2])))
    return out


def name_colour(pixels: np.ndarray, weights: np.ndarray | None = None) -> ColourName:
    """The dominant everyday colour name of the pixels, weighted by `weights` (e.g. a heat map)."""
    return colour_spread(pixels, weights)[0]
