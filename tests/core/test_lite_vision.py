"""The vision tower on real photos: right classes, whole-image grids, exact CAMs."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from vlm_desktop.core.engine.lite.concepts import Concepts
from vlm_desktop.core.engine.lite.vision import encode, load_vision_tower, preprocess

# Real photos shipped in scikit-image's wheel, with the ImageNet classes that name them right.
PHOTOS = {
    "chelsea.png": {"tabby cat", "tiger cat", "Egyptian cat"},
    "coffee.png": {"espresso", "cup", "coffee mug"},
    "motorcycle_left.png": {"moped", "motor scooter"},
    "rocket.jpg": {"missile", "projectile", "space shuttle"},
}


def photo(name: str) -> Image.Image:
    with Image.open(files("skimage.data") / name) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def tower():
    torch.set_num_threads(2)
    return load_vision_tower()


@pytest.fixture(scope="module")
def photo_features(tower):
    names = list(PHOTOS)
    return dict(zip(names, encode(tower, [photo(n) for n in names])))


def test_preprocess_keeps_the_whole_image_and_its_aspect():
    wide = Image.new("RGB", (451, 300), "white")
    x = preprocess(wide)
    assert tuple(x.shape) == (1, 3, 288, 448)
    assert tuple(preprocess(wide.rotate(90, expand=True)).shape) == (1, 3, 448, 288)
    assert tuple(preprocess(Image.new("RGB", (2000, 10))).shape) == (1, 3, 32, 448)
    # White maps to (1 - 0.498) / 0.502 = 1 in every channel.
    assert torch.allclose(x, torch.ones_like(x))
    with pytest.raises(ValueError):
        preprocess(wide, long_side=450)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PHOTOS))
def test_real_photo_is_named_right_from_the_whole_image(name, photo_features):
    concepts = Concepts.load()
    top3 = {concepts.names[i] for i, _ in photo_features[name].top(3)}
    assert top3 & PHOTOS[name], f"{name}: top-3 was {top3}"


@pytest.mark.slow
def test_grid_covers_the_image_at_useful_resolution(tower, photo_features):
    square = encode(tower, [Image.new("RGB", (300, 300), "white")])[0]
    assert square.grid_shape == (14, 14)
    assert square.grid.shape == (14, 14, 1280)
    for name, features in photo_features.items():
        rows, cols = features.grid_shape
        image = photo(name)
        assert max(rows, cols) >= 14
        # Landscape photos give landscape grids; the short side rounds to whole cells.
        assert cols > rows
        assert abs(cols / rows - image.width / image.height) < 0.2


@pytest.mark.slow
def test_cam_averaged_over_the_grid_is_the_logit(photo_features):
    features = photo_features["chelsea.png"]
    for index in (features.top(1)[0][0], 0, 999):
        cam = features.cam(index)
        assert cam.shape == features.grid_shape
        expected = features.logits[index] - features.classifier_bias[index]
        assert cam.mean() == pytest.approx(expected, abs=1e-4)
    assert features.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert features.pooled == pytest.approx(features.grid.mean(axis=(0, 1)), abs=1e-5)


@pytest.mark.slow
def test_cam_peak_follows_the_cat_and_flips_with_the_image(tower):
    cat = photo("chelsea.png").crop((120, 20, 370, 270)).resize((224, 224))
    canvas = Image.new("RGB", (448, 224), "white")
    canvas.paste(cat, (0, 0))
    left, right = encode(tower, [canvas, ImageOps.mirror(canvas)])
    cats = Concepts.load()
    cat_classes = [i for i in range(1000) if "n02121808" in cats.hypernyms(i)]
    top = left.top(1)[0][0]
    assert top in cat_classes
    for features, expect_left in ((left, True), (right, False)):
        cam = features.cams(cat_classes).sum(axis=0)
        _, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
        assert (col < cam.shape[1] / 2) == expect_left


@pytest.mark.slow
def test_batched_and_single_encodes_agree(tower):
    image = photo("coffee.png")
    single = encode(tower, [image])[0]
    batched = encode(tower, [image, ImageOps.mirror(image)])[0]
    assert np.allclose(single.logits, batched.logits, atol=1e-3)
    assert single.logits.dtype == np.float32 and single.grid.dtype == np.float32
