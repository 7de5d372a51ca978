"""Answers people accept, from the real built-in model: basic colour words, the colour of the
object (not the floor), hedges instead of confident mistakes, and text that reads right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter


skdata = pytest.importorskip("skimage.data")  # test-only dependency, listed in the test extra

BASIC = {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
         "white", "grey"}
FINE = {"gold", "navy", "olive", "teal", "turquoise", "beige"}



def _photo(name: str) -> Image.Image:
    return Image.open(Path(skdata.__file__).parent / name).convert("RGB")


def _colour_words(text: str) -> list[str]:
    words = [w.strip(".,;:()'") for w in text.lower().replace("-", " ").split()]
    return [w for w in words if w in BASIC | FINE]


def _flat(rgb: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (256, 192), "white")
    ImageDraw.Draw(image).ellipse((70, 40, 190, 160), fill=rgb)
    return image


def _shaded(rgb: tuple[int, int, int], background: tuple[int, int, int] = (200, 200, 195),
            size: tuple[int, int] = (110, 80)) -> Image.Image:
    """Photo-like: a lit ball/fruit (highlight, dark rim, soft edge) on a gradient backdrop
    with sensor noise, so the object's pixels span several shades."""
    w, h = 320, 240
    rng = np.random.default_rng(sum(rgb))
    ramp = np.linspace(0.85, 1.1, h, dtype=np.float32)[:, None, None]
    bg = np.asarray(background, np.float32) * ramp * np.ones((h, w, 1), np.float32)
    mask = Image.new("L", (w, h), 0)
    cx, cy = w // 2, h // 2
    ImageDraw.Draw(mask).ellipse((cx - size[0], cy - size[1], cx + size[0], cy + size[1]), fill=255)
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(3)), np.float32)[..., None] / 255
    yy, xx = np.mgrid[0:h, 0:w]
    dist = np.hypot((xx - cx + 0.4 * size[0]) / size[0], (yy - cy + 0.4 * size[1]) / size[1]) / 1.6
    obj = np.asarray(rgb, np.float32) * np.clip(1.25 - 0.65 * dist, 0.5, 1.25)[..., None]
    out = bg * (1 - m) + np.clip(obj, 0, 255) * m + rng.normal(0, 4, (h, w, 1))
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


# --- colour words ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name, rgb", [
    ("red", (210, 35, 35)), ("yellow", (245, 220, 40)), ("blue", (35, 65, 200)),
    ("green", (40, 160, 60)), ("orange", (245, 130, 30)),
    ("yellow", (245, 205, 50)), ("orange", (238, 103, 48)), ("blue", (25, 35, 95)),
])
@pytest.mark.parametrize("style", ["flat", "shaded"])
def test_colour_answers_use_the_basic_term_first(engine, name, rgb, style):
    image = _flat(rgb) if style == "flat" else _shaded(rgb)
    for question in ("What color is it?", "what colour is the ball?"):
        ans = engine.answer(image, question)
        said = _colour_words(ans.text)
        assert said and said[0] == name, ans.text
        assert ans.confidence > 0


@pytest.mark.slow
def test_a_lemon_is_yellow_not_gold(engine):
    lemon = _shaded((250, 215, 60), background=(60, 60, 60))  # most pixels read "gold"
    ans = engine.answer(lemon, "What color is the lemon?")
    said = _colour_words(ans.text)
    assert said[0] == "yellow", ans.text
    cap = engine.caption(lemon)
    assert "gold" not in cap.text.split() and "olive" not in cap.text.split(), cap.text


@pytest.mark.slow
def test_a_blue_hat_is_dark_blue_and_a_missing_hat_gets_a_hedge_not_a_refusal(engine):
    hat = _shaded((25, 35, 95), background=(225, 220, 210), size=(120, 60))  # navy felt
    ans = engine.answer(hat, "What color is the hat?")
    said = _colour_words(ans.text)
    assert said and said[0] == "blue" and "dark blue" in ans.text, ans.text
    assert "navy" not in said or said.index("navy") > said.index("blue")
    cat = engine.answer(_photo("chelsea.png"), "What color is the hat?")
    assert "don't see a hat" in cat.text and "main object" in cat.text, cat.text
    direct = engine.answer(_photo("chelsea.png"), "What color is the cat?")
    assert _colour_words(cat.text) == _colour_words(direct.text)  # the main object's colour
    assert 0 < cat.confidence < direct.confidence  # ... said less surely than when asked for
    assert engine.answer(_photo("chelsea.png"), "why is the cat here?").confidence == 0.0


@pytest.mark.slow
def test_an_orange_basketball_is_orange(engine):
    ball = _shaded((238, 103, 48), background=(70, 60, 55), size=(90, 90))
    ball_draw = ImageDraw.Draw(ball)  # the black seams of a basketball
    ball_draw.line((160, 30, 160, 210), fill=(20, 20, 20), width=3)
    ball_draw.line((70, 120, 250, 120), fill=(20, 20, 20), width=3)
    ans = engine.answer(ball, "What color is the basketball?")
    assert _colour_words(ans.text)[0] == "orange", ans.text


@pytest.mark.slow
def test_the_motorcycle_takes_its_own_colour_not_the_floors(engine):
    photo = _photo("motorcycle_left.png")
    ans = engine.answer(photo, "What colour is the motorcycle?")
    assert _colour_words(ans.text)[0] == "red", ans.text
    cap = engine.caption(photo)
    assert "grey" not in cap.text, cap.text


# --- confident mistakes ---------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("photo, question", [
    ("camera.png", "Is there a camera?"), ("astronaut.png", "Is there a space shuttle?"),
])
def test_no_confident_no_for_what_the_model_misses(engine, photo, question):
    ans = engine.answer(_photo(photo), question)
    confident_no = ans.text.lower().startswith("no") and ans.confidence >= 0.8
    assert not confident_no, (ans.text, ans.confidence)
    if not ans.text.lower().startswith("yes"):
        assert "can't tell" in ans.text.lower(), ans.text


@pytest.mark.slow
def test_a_plain_no_stays_sure_where_the_evidence_is_clear(engine):
    ans = engine.answer(_photo("coffee.png"), "Is there a cat?")
    assert ans.text.startswith("No") and ans.confidence >= 0.8, (ans.text, ans.confidence)
    yes = engine.answer(_photo("chelsea.png"), "Is there a cat?")
    assert yes.text.startswith("Yes") and yes.confidence >= 0.8, (yes.text, yes.confidence)


@pytest.mark.slow
def test_counting_many_coins_hedges(engine):
    ans = engine.answer(_photo("coins.png"), "How many coins are there?")
    assert ans.confidence < 0.2, (ans.text, ans.confidence)
    assert "can't count" in ans.text, ans.text


@pytest.mark.slow
def test_a_guess_at_the_deep_field_is_not_stated_at_46_percent(engine):
    ans = engine.answer(_photo("hubble_deep_field.jpg"), "What is this?")
    assert ans.text.lower().startswith("possibly"), ans.text
    assert ans.confidence < 0.3, (ans.text, ans.confidence)


@pytest.mark.slow
def test_count_text_and_evidence_read_right(engine):
    ans = engine.answer(_photo("chelsea.png"), "How many cats are there?")
    assert ans.text == "I count about 1 cat (approximate).", ans.text
    assert "1 separate peaks" not in ans.evidence and "1 peak" in ans.evidence, ans.evidence
    colour = engine.answer(_photo("chelsea.png"), "What colour is the cat?")
    assert " ." not in colour.text and "( " not in colour.text


def test_plurals():
    from vlm_desktop.core.engine.lite.phrasing import plural

    assert [plural(w) for w in ("cat", "glass", "box", "berry", "toy", "coin", "wine glass")] == \
        ["cats", "glasses", "boxes", "berries", "toys", "coins", "wine glasses"]
    assert plural("cat", 1) == "cat"
