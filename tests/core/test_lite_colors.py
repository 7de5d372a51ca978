"""Everyday colour names measured from pixels."""

from __future__ import annotations

import numpy as np
import pytest

from vlm_desktop.core.engine.lite.colors import COLOUR_WORDS, colour_spread, name_colour

BASIC = {
    "red": [(255, 0, 0), (200, 30, 40)],
    "orange": [(255, 140, 0), (255, 165, 0)],
    "yellow": [(255, 255, 0), (240, 220, 40)],
    "green": [(0, 128, 0), (0, 255, 0), (34, 139, 34)],
    "blue": [(0, 0, 255), (65, 105, 225), (135, 206, 235)],
    "purple": [(128, 0, 128), (75, 0, 130)],
    "pink": [(255, 192, 203), (255, 105, 180)],
    "brown": [(139, 69, 19), (150, 75, 0), (111, 78, 55)],
    "black": [(0, 0, 0), (30, 30, 40)],
    "white": [(255, 255, 255), (245, 245, 250)],
    "grey": [(128, 128, 128), (192, 192, 192)],
}


def patch(rgb, size=8):
    return np.full((size, size, 3), rgb, dtype=np.uint8)


@pytest.mark.parametrize("name,rgb", [(n, c) for n, cs in BASIC.items() for c in cs])
def test_basic_colours_are_named_right(name, rgb):
    result = name_colour(patch(rgb))
    assert result.name == name
    assert result.fraction == pytest.approx(1.0)
    assert result.rgb == tuple(rgb)


def test_every_word_is_an_everyday_name():
    assert set(BASIC) <= set(COLOUR_WORDS)
    assert len(set(COLOUR_WORDS)) == len(COLOUR_WORDS)


def test_weights_select_the_region():
    image = patch((0, 0, 255), 20)
    image[5:10, 5:10] = (255, 0, 0)
    weights = np.zeros((20, 20))
    weights[5:10, 5:10] = 1.0
    assert name_colour(image).name == "blue"
    assert name_colour(image, weights).name == "red"
    # Soft weights: mass on the square outweighs the larger, faintly weighted background.
    soft = np.full((20, 20), 0.01)
    soft[5:10, 5:10] = 1.0
    assert name_colour(image, soft).name == "red"


def test_spread_lists_each_colour_by_share():
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    image[:, :7] = (255, 255, 0)
    image[:, 7:] = (0, 128, 0)
    spread = colour_spread(image)
    assert [c.name for c in spread] == ["yellow", "green"]
    assert [round(c.fraction, 2) for c in spread] == [0.7, 0.3]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError):
        name_colour(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        name_colour(patch((1, 2, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError):
        name_colour(patch((1, 2, 3)), np.ones((3, 3)))
