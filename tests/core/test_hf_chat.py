"""The tiny Qwen2-VL chat model: streamed answers, heat maps, cancel mid-generation."""

from __future__ import annotations

import pytest
from hf_fixtures import qwen2_vl_folder, sample_image

from vlm_desktop.core import models
from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.device import choose_device
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.types import CAP_ANSWER, CAP_STREAM


@pytest.fixture(scope="module")
def chat():
    if "chat-qwen" not in {r.name for r in models.list_models()}:
        models.import_model(qwen2_vl_folder(), name="chat-qwen")
    engine = registry.engine_factory("chat-qwen")(choose_device("cpu"))
    yield engine
    engine.close()


def test_answer_streams_token_by_token_with_an_image_heat_map(chat):
    assert {CAP_ANSWER, CAP_STREAM} <= chat.info().capabilities
    partials: list[str] = []
    answer = chat.answer(sample_image(), "what colour is the car?",
                         JobState(on_partial=partials.append))
    assert answer.text and partials[-1] == answer.text
    assert len(partials) > 10 and all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    # 48x40 px resizes to a 2x3 grid of merged patches: the map keeps the image's aspect.
    assert answer.heatmap is not None and answer.heatmap.shape == (2, 3)
    assert float(answer.heatmap.values.max()) == pytest.approx(1.0)
    assert any(w.heatmap is not None for w in answer.words)


def test_caption_and_relevance(chat):
    caption = chat.caption(sample_image())
    assert caption.text and 0.0 < caption.confidence <= 1.0
    heat = chat.relevance(sample_image(), "a red car")
    assert heat.shape == (2, 3) and float(heat.values.max()) == pytest.approx(1.0)


def test_cancel_stops_generation_early(chat):
    seen: list[str] = []

    def on_partial(text: str) -> None:
        seen.append(text)
        if len(seen) == 4:
            state.token.cancel()

    state = JobState(on_partial=on_partial)
    with pytest.raises(Cancelled):
        chat.answer(sample_image(), "what is this?", state)
    assert len(seen) == 4 < chat.max_new_tokens


def test_cancel_lands_inside_the_prefill_before_the_next_layer(chat):
    """Cancelled while the image is encoded: no language-model layer runs after it."""
    state = JobState(on_partial=lambda text: pytest.fail(f"a token was generated: {text!r}"))
    layers_after_cancel: list[int] = []
    text_layers = chat.model.model.language_model.layers
    hooks = [layer.register_forward_hook(  # runs when a layer has finished
        lambda *_: layers_after_cancel.append(1) if state.cancelled else None)
        for layer in text_layers]
    vision = chat.model.model.visual.register_forward_hook(lambda *_: state.token.cancel())
    try:
        with pytest.raises(Cancelled):
            chat.answer(sample_image(), "what is this?", state)
    finally:
        vision.remove()
        for hook in hooks:
            hook.remove()
    assert layers_after_cancel == []
    # The hooks are gone afterwards: the next answer runs in full.
    assert chat.answer(sample_image(), "what is this?").text is not None
