"""Colour map and heat-map overlays: what a person looking at the picture would check."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlm_desktop.core.engine.types import HeatMap
from vlm_desktop.core.explain.colormap import apply_colormap, colormap_lut
from vlm_desktop.core.explain.overlay import heatmap_rgba, legend_image, overlay, upsample


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of 8-bit sRGB, written out here from the standard formulas."""
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz * (29 / 6) ** 2 / 3 + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _half_hot(cols: int = 8, rows: int = 6, hot_right: bool = True) -> HeatMap:
    values = np.zeros((rows, cols), dtype=np.float32)
    values[:, cols // 2:] = np.linspace(0.3, 1.0, cols - cols // 2, dtype=np.float32)
    return HeatMap("thing", values if hot_right else values[:, ::-1].copy())


# --- the colour map ---------------------------------------------------------------------------


def test_lut_shape_and_lightness_strictly_increasing() -> None:
    lut = colormap_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    lightness = _lab(lut)[:, 0]
    assert np.all(np.diff(lightness) > 0)
    assert lightness[0] < 25 and lightness[-1] > 85  # dark to bright: readable in greyscale


def test_lut_steps_look_even() -> None:
    lab = _lab(colormap_lut())
    steps = np.linalg.norm(lab[16::16] - lab[:-16:16], axis=1)  # ΔE over 16-entry strides
    assert steps.max() / steps.min() < 1.25


def test_lut_runs_from_blue_violet_to_yellow() -> None:
    cold, hot = (tuple(int(x) for x in c) for c in colormap_lut()[[0, 255]])
    assert cold[2] > 80 and cold[2] > 2 * max(cold[0], cold[1])  # dark blue(-violet)
    assert hot[0] > 200 and hot[1] > 200 and hot[2] < 100  # yellow


def test_apply_colormap_maps_ends_and_handles_nan() -> None:
    lut = colormap_lut()
    out = apply_colormap(np.array([[0.0, 1.0], [np.nan, 2.0]], dtype=np.float32))
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert (out[0, 0] == lut[0]).all() and (out[0, 1] == lut[255]).all()
    assert (out[1, 0] == lut[0]).all() and (out[1, 1] == lut[255]).all()  # clipped


# --- upsampling --------------------------------------------------------------------------------


def test_upsample_covers_the_whole_image() -> None:
    grid = np.arange(12, dtype=np.float32).reshape(3, 4) / 11
    up = upsample(grid, (40, 30))
    assert up.shape == (30, 40) and up.dtype == np.float32
    # Corners take the corner cells' values: nothing is cropped away.
    assert up[0, 0] == pytest.approx(grid[0, 0]) and up[-1, -1] == pytest.approx(grid[-1, -1])
    assert up[0, -1] == pytest.approx(grid[0, -1]) and up[-1, 0] == pytest.approx(grid[-1, 0])
    assert up.min() >= grid.min() and up.max() <= grid.max()


def test_upsample_is_smooth() -> None:
    up = upsample(np.array([[0.0, 1.0]], dtype=np.float32), (100, 10))
    row = up[5]
    assert np.all(np.diff(row) >= 0) and np.abs(np.diff(row)).max() < 0.05  # no hard step


@pytest.mark.parametrize("hot_right", [True, False])
def test_peak_lands_on_the_right_side(hot_right: bool) -> None:
    up = upsample(_half_hot(hot_right=hot_right).values, (300, 200))
    peak_x = int(np.unravel_index(int(np.argmax(up)), up.shape)[1])
    assert (peak_x > 250) if hot_right else (peak_x < 50)
    left, right = up[:, :150].mean(), up[:, 150:].mean()
    assert (right > left) if hot_right else (left > right)


# --- overlays, layers, legend --------------------------------------------------------------------


def test_overlay_keeps_size_and_tints_only_hot_areas() -> None:
    image = Image.new("RGB", (90, 60), (128, 128, 128))
    out = overlay(image, _half_hot(), opacity=0.6)
    assert out.size == image.size and out.mode == "RGB"
    assert out.getpixel((5, 30)) == (128, 128, 128)  # cold area untouched
    hot = out.getpixel((88, 30))
    assert hot != (128, 128, 128) and hot[0] > 150 and hot[2] < 110  # tinted toward yellow


def test_overlay_opacity_zero_returns_the_original() -> None:
    image = Image.effect_noise((50, 40), 60).convert("RGB")
    out = overlay(image, _half_hot(), opacity=0.0)
    assert out.size == image.size
    assert np.array_equal(np.asarray(out), np.asarray(image))
    assert out is not image  # a copy: drawing on it must not change the source


def test_overlay_converts_other_modes() -> None:
    out = overlay(Image.new("L", (20, 10), 50), HeatMap("x", np.ones((2, 2), np.float32)), 1.0)
    assert out.mode == "RGB" and out.getpixel((10, 5)) == tuple(int(c) for c in colormap_lut()[255])


def test_heatmap_rgba_alpha_follows_value_and_opacity() -> None:
    rgba = heatmap_rgba(_half_hot(), (80, 60), opacity=0.5)
    assert rgba.shape == (60, 80, 4) and rgba.dtype == np.uint8
    assert rgba[30, 2, 3] == 0  # cold: fully see-through
    assert rgba[30, 79, 3] == pytest.approx(0.5 * 255, abs=1)  # hottest: half opacity
    assert (rgba[30, 79, :3] == colormap_lut()[255]).all()


def test_legend_runs_cold_to_hot() -> None:
    legend = legend_image(200, 12)
    assert legend.size == (200, 12) and legend.mode == "RGB"
    lut = colormap_lut()
    assert legend.getpixel((0, 6)) == tuple(int(c) for c in lut[0])
    assert legend.getpixel((199, 6)) == tuple(int(c) for c in lut[255])
    lightness = _lab(np.asarray(legend)[6])[:, 0]
    assert np.all(np.diff(lightness) >= 0)


def test_bad_sizes_and_grids_are_refused() -> None:
    with pytest.raises(ValueError):
        upsample(np.zeros((2, 2), np.float32), (0, 10))
    with pytest.raises(ValueError):
        heatmap_rgba(np.zeros((4,), np.float32), (10, 10))
