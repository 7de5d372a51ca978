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


# --- basic colour terms (issue: "gold" for a lemon, "navy" for a blue hat, "red" for a basketball)
from vlm_desktop.core.engine.lite.colors import (  # noqa: E402
    ColourName, basic_colour, border_contrast, family, pixel_names,
)


def test_a_basketball_orange_is_orange_not_red():
    for rgb in [(238, 103, 48), (200, 85, 40), (230, 110, 40)]:
        assert name_colour(patch(rgb)).name == "orange", rgb
    for rgb in [(200, 30, 30), (178, 34, 34), (220, 20, 60), (255, 0, 0)]:
        assert name_colour(patch(rgb)).name == "red", rgb


def test_fine_names_are_said_with_their_basic_term_first():
    gold = basic_colour([ColourName("gold", 0.7, (250, 220, 60)), ColourName("white", 0.3, (250, 250, 250))])
    assert gold is not None and gold.basic == "yellow" and gold.phrase == "yellow (gold)"
    navy = basic_colour([ColourName("navy", 0.8, (20, 30, 80)), ColourName("black", 0.2, (5, 5, 5))])
    assert navy is not None and navy.phrase == "dark blue" and navy.words == "dark blue"
    plain = basic_colour([ColourName("red", 0.9, (200, 30, 30))])
    assert plain is not None and plain.phrase == "red"


def test_a_shaded_yellow_object_is_yellow_whatever_its_shades_are_called():
    # A lemon lit from one side: bright yellow, gold mid-tones, dark olive shadow.
    shades = [(255, 245, 60), (250, 220, 60), (220, 190, 30), (150, 130, 20)]
    image = np.concatenate([patch(rgb, 8) for rgb in shades], axis=1)
    names = {COLOUR_WORDS[i] for i in np.unique(pixel_names(image))}
    assert names >= {"yellow", "gold"}  # the pixels do get fine names ...
    colour = basic_colour(colour_spread(image))
    assert colour is not None and colour.basic == "yellow", colour  # ... the answer is basic
    assert colour.phrase.split()[0] == "yellow"


def test_every_fine_name_has_a_basic_family():
    basic = {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
             "white", "grey"}
    assert {family(w) for w in COLOUR_WORDS} == basic
    assert family("gray") == "grey" and family("golden") == "yellow"


def test_border_colours_weigh_less_than_the_object():
    # A red object on a grey floor that also fills part of the object's region.
    names = np.full((20, 20), COLOUR_WORDS.index("grey"))
    names[6:14, 6:14] = COLOUR_WORDS.index("red")
    region = np.zeros((20, 20))
    region[4:16, 4:16] = 1.0  # the region is more grey (80 px) than red (64 px)
    w = border_contrast(names, region) * region
    red = w[names == COLOUR_WORDS.index("red")].sum()
    grey = w[names == COLOUR_WORDS.index("grey")].sum()
    assert red > grey
