"""The built-in model's answers point at a place only when they found something there:
"No" and "I can't tell" come with a flat map (the chat then offers no "Show where")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


def _photo(name: str) -> Image.Image:
    import skimage

    return Image.open(Path(skimage.__file__).parent / "data" / f"{name}.png").convert("RGB")


def _flat(answer) -> bool:
    values = answer.heatmap.values
    return float(values.max()) <= float(values.min())


@pytest.mark.parametrize("question", ["Is there a dog?", "Is there a spoon?", "有狗吗?",
                                      "How many dogs?", "有几只狗?", "Is the dog red?"])
def test_an_answer_that_found_nothing_points_nowhere(engine, question):
    answer = engine.answer(_photo("chelsea"), question)
    assert answer.heatmap is not None and _flat(answer), (answer.text, answer.heatmap.values.max())
    assert not [w for w in answer.words if w.heatmap is not None and w.text in ("dog", "狗")]


@pytest.mark.parametrize("question", ["Is there a cat?", "Where is the cat?", "How many cats?",
                                      "有猫吗?"])
def test_an_answer_that_found_its_object_shows_where(engine, question):
    answer = engine.answer(_photo("chelsea"), question)
    assert not _flat(answer), answer.text
    assert np.isfinite(answer.heatmap.values).all()
