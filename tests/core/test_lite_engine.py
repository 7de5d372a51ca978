"""The built-in model end to end, on real photos and generated images (real weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vlm_desktop.core.engine.protocol import Engine

pytestmark = pytest.mark.slow

skdata = pytest.importorskip("skimage.data")  # test-only dependency, listed in the test extra



def _photo(name: str) -> Image.Image:
    if name == "motorcycle":
        path = Path(skdata.__file__).parent / "motorcycle_left.png"
        return Image.open(path).convert("RGB")
    return Image.fromarray(getattr(skdata, name)()).convert("RGB")


def _shape(rgb: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (256, 192), "white")
    ImageDraw.Draw(image).ellipse((70, 40, 190, 160), fill=rgb)
    return image


def test_is_an_engine_with_honest_info(engine):
    assert isinstance(engine, Engine)
    info = engine.info()
    assert info.name == "VLM Lite (built-in)"
    assert info.device == "cpu" and info.dtype == "float32"
    assert 10_000_000 < info.memory_bytes < 500_000_000
    assert "Apache-2.0" in info.licence and "WordNet" in info.licence


@pytest.mark.parametrize("photo, words", [
    ("chelsea", {"cat"}), ("coffee", {"coffee", "espresso", "cup"}),
    ("rocket", {"rocket", "missile"}), ("motorcycle", {"motorcycle", "moped", "scooter"}),
])
def test_caption_names_the_object(engine, photo, words):
    cap = engine.caption(_photo(photo))
    said = {w.text.lower() for w in cap.words}
    assert said & words, cap.text
    assert cap.evidence and "→" in cap.evidence
    assert {"encode", "caption"} <= set(cap.timings_ms)
    for w in cap.words:
        if w.text.lower() in words:
            assert w.heatmap is not None and w.heatmap.values.max() == pytest.approx(1.0)


def test_is_there_a_cat(engine):
    yes = engine.answer(_photo("chelsea"), "Is there a cat?")
    no = engine.answer(_photo("coffee"), "is there a cat?")
    assert yes.kind == no.kind == "yesno"
    assert yes.text.startswith("Yes") and yes.confidence > 0.7
    assert no.text.startswith("No") and no.confidence > 0.7
    assert yes.heatmap is not None and yes.evidence


@pytest.mark.parametrize("name, rgb", [
    ("red", (220, 30, 30)), ("green", (40, 170, 50)), ("blue", (30, 60, 220)),
    ("yellow", (240, 220, 30)), ("orange", (250, 140, 20)), ("purple", (130, 40, 170)),
])
def test_colour_of_a_shape(engine, name, rgb):
    image = _shape(rgb)
    for question in ("What color is the shape?", "what colour is it"):
        ans = engine.answer(image, question)
        assert ans.kind == "color"
        words = {w.text.lower() for w in ans.words}
        assert name in words, ans.text
        others = {"red", "green", "blue", "yellow", "orange", "purple"} - {name}
        assert not words & others


@pytest.mark.parametrize("question, kind", [
    ("why is the sky blue?", "unsupported"), ("what is the meaning of life", "unsupported"),
    ("How much does this cost?", "catalog"),
])
def test_questions_it_cannot_answer_get_zero_confidence(engine, question, kind):
    ans = engine.answer(_photo("coffee"), question)
    assert ans.kind == kind and ans.confidence == 0.0
    assert ans.heatmap is not None and ans.evidence


def test_heat_map_follows_the_object_when_flipped(engine):
    cat = _photo("chelsea").resize((224, 150))
    canvas = Image.new("RGB", (512, 200), "white")
    canvas.paste(cat, (8, 25))
    left = engine.relevance(canvas, "cat")
    right = engine.relevance(canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "cat")
    assert left.peak()[0] < 0.5 < right.peak()[0]
    assert "left" in engine.answer(canvas, "Where is the cat?").text


def test_caption_and_five_questions_encode_once(engine):
    image = _shape((30, 60, 220)).rotate(7, fillcolor="white")  # not seen by other tests
    before = engine.encode_count
    engine.caption(image)
    for q in ("what is this?", "what colour is it", "is there a ball?", "where is it?",
              "how many balls are there?"):
        engine.answer(image, q)
    assert engine.encode_count - before == 1


def test_text_and_images_share_one_space(engine):
    images = engine.embed_images([_photo("chelsea"), _photo("coffee")])
    texts = engine.embed_texts(["a cat", "a cup of coffee"])
    assert images.shape == (2, 384) and texts.shape == (2, 384)
    assert np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-4)
    sims = texts @ images.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]


def test_loading_uses_the_shipped_label_cache(engine):
    """A fresh home computes no label embeddings or ridge map: they ship with the app."""
    from vlm_desktop.core.paths import cache_dir

    lite = cache_dir() / "lite"
    assert engine.joint.labels.shape == (1000, 384)
    assert not (lite.exists() and list(lite.glob("*.npz"))), list(lite.iterdir())


def test_split_breeds_back_off_to_cat(engine):
    cap = engine.caption(_photo("chelsea"))
    words = {w.text.lower() for w in cap.words}
    assert "cat" in words and not words & {"egyptian", "tiger", "tabby", "persian", "siamese"}, cap.text
    assert "→ cat" in cap.evidence and "%" in cap.evidence


def test_colour_of_a_cup_found_through_a_related_concept(engine):
    ans = engine.answer(_photo("coffee"), "what colour is the cup?")
    assert ans.kind == "color"
    assert "don't see" not in ans.text, ans.text
    assert {w.text.lower() for w in ans.words} & {"orange", "brown", "white", "beige", "black"}
    assert "espresso" in ans.evidence and ans.confidence > 0.3


def _cats_on_white(xs: tuple[int, ...]) -> Image.Image:
    small = _photo("chelsea").resize((160, 106))
    canvas = Image.new("RGB", (512, 200), "white")
    for x in xs:
        canvas.paste(small, (x, 30))
    return canvas


@pytest.mark.parametrize("image, count", [
    (lambda: _photo("chelsea"), 1), (lambda: _cats_on_white((8,)), 1),
    (lambda: _cats_on_white((8, 344)), 2),
])
def test_counting_separate_objects(engine, image, count):
    ans = engine.answer(image(), "how many cats are there?")
    assert ans.kind == "count"
    assert f"about {count} cat" in ans.text, ans.text
