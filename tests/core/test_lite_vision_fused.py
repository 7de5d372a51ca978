"""The fused vision tower (batch norms folded, channels-last) sees what the checkpoint's does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from vlm_desktop.core.engine.lite.vision import encode, load_vision_tower

PHOTOS = {"chelsea": data.chelsea, "coffee": data.coffee}


@pytest.fixture(scope="module")
def towers():
    torch.set_num_threads(2)
    return load_vision_tower(fuse=False), load_vision_tower()


@pytest.mark.slow
@pytest.mark.parametrize("long_side", [448, 224])
@pytest.mark.parametrize("name", list(PHOTOS))
def test_fused_tower_gives_the_reference_classes_and_maps(towers, name, long_side):
    reference, fused = towers
    image = Image.fromarray(PHOTOS[name]())
    expected = encode(reference, [image], long_side)[0]
    got = encode(fused, [image], long_side)[0]
    assert np.abs(got.logits - expected.logits).max() < 1e-3
    assert [i for i, _ in got.top(5)] == [i for i, _ in expected.top(5)]
    # The heat maps come from the grid, so it must agree cell by cell too.
    assert got.grid.shape == expected.grid.shape
    assert np.abs(got.grid - expected.grid).max() < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("height, width", [(100, 75), (64, 33), (31, 47)])
def test_fused_tower_keeps_tf_padding_on_sizes_encode_never_makes(towers, height, width):
    # Odd sizes reach the stride-2 layers, where TF pads symmetrically instead of one more after.
    reference, fused = towers
    x = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(height))
    with torch.inference_mode():
        expected, got = reference(x), fused(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-3
