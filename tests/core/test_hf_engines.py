"""Tiny random-weight BLIP, CLIP and SigLIP models run through the Engine protocol."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hf_fixtures import blip_folder, clip_folder, sample_image, siglip_folder

from vlm_desktop.core import models
from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.device import choose_device
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.hf.blip import BlipEngine, CrossAttentionRecorder
from vlm_desktop.core.engine.hf.common import CapabilityUnavailable
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import CAP_CAPTION, CAP_EMBED, CAP_RELEVANCE

NAMES = {
    "eng-blip-caption": lambda: blip_folder("BlipForConditionalGeneration"),
    "eng-blip-vqa": lambda: blip_folder("BlipForQuestionAnswering"),
    "eng-blip-itm": lambda: blip_folder("BlipForImageTextRetrieval"),
    "eng-clip": clip_folder,
    "eng-siglip": siglip_folder,
}


@pytest.fixture(scope="module")
def engines():
    """Each tiny model imported through the manager, then loaded by name via the registry."""
    loaded = {}
    installed = {r.name for r in models.list_models()}
    for name, build in NAMES.items():
        if name not in installed:
            models.import_model(build(), name=name)
        loaded[name] = registry.engine_factory(name)(choose_device("cpu"))
    yield loaded
    for engine in loaded.values():
        engine.close()


def _check_map(heat, shape=(4, 4)):
    assert heat.shape == shape
    assert heat.values.dtype == np.float32
    assert 0.0 <= float(heat.values.min()) and float(heat.values.max()) <= 1.0
    assert float(heat.values.max()) == pytest.approx(1.0)  # not flat: the image has structure


def test_every_backend_implements_the_engine_protocol(engines):
    for engine in engines.values():
        assert isinstance(engine, Engine)


def test_blip_caption_streams_words_with_heat_maps(engines):
    partials: list[str] = []
    caption = engines["eng-blip-caption"].caption(sample_image(), JobState(on_partial=partials.append))
    assert caption.text and 0.0 < caption.confidence <= 1.0
    assert partials[-1] == caption.text
    assert len(partials) > 3 and all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    assert [w.text for w in caption.words] == re.findall(r"[\w'-]+", caption.text)
    for word in caption.words:
        _check_map(word.heatmap)


def _word_maps(caption):
    return [w.heatmap.values for w in caption.words]


def test_blip_generation_hooks_record_the_teacher_forced_cross_attention(engines):
    """Per-step maps caught during cached generation equal one teacher-forced pass's maps."""
    import torch

    engine = engines["eng-blip-caption"]
    embeds = engine.image_embeds(sample_image())
    start = torch.tensor([[engine.model.config.text_config.bos_token_id]])
    recorder = CrossAttentionRecorder(engine.model.text_decoder)
    ids, out = engine._generate(start, embeds, None, recorder)
    hooked = recorder.step_maps(len(ids))
    forced = engine._teacher_forced_maps(out.sequences[:, :-1], embeds)
    assert hooked.shape == forced.shape == (engine.max_new_tokens, 16)  # 4x4 grid, CLS dropped
    np.testing.assert_allclose(hooked.numpy(), forced.numpy(), atol=1e-5)
    assert not torch.allclose(hooked[0], hooked[1])  # steps differ: not one map repeated
    assert recorder.step_maps(len(ids) + 1) is None  # a count mismatch is refused, not guessed


def test_blip_caption_makes_no_second_decoder_pass(engines, monkeypatch):
    engine = engines["eng-blip-caption"]
    calls = []
    monkeypatch.setattr(BlipEngine, "_teacher_forced_maps",
                        lambda self, seq, embeds: calls.append(seq))
    caption = engine.caption(sample_image())
    assert calls == []
    assert caption.words and all(w.heatmap is not None for w in caption.words)


def test_blip_caption_falls_back_to_a_teacher_forced_pass(engines, monkeypatch):
    """A transformers version whose attention returns no probabilities still gets word maps."""
    engine = engines["eng-blip-caption"]
    expected = engine.caption(sample_image())
    monkeypatch.setattr(CrossAttentionRecorder, "_hook", lambda self, module, args, output: None)
    fallback = engine.caption(sample_image())
    assert fallback.text == expected.text
    assert [w.text for w in fallback.words] == [w.text for w in expected.words]
    # Shown maps are min-max scaled, which magnifies float rounding (~1e-7 raw) a little.
    for got, want in zip(_word_maps(fallback), _word_maps(expected)):
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_blip_vqa_answers_with_a_question_heat_map(engines):
    answer = engines["eng-blip-vqa"].answer(sample_image(), "what colour is the car?")
    assert answer.text and answer.question == "what colour is the car?"
    assert answer.kind == "color"
    _check_map(answer.heatmap)


def test_blip_itm_embeddings_are_normalised_and_distinguish_images(engines):
    itm = engines["eng-blip-itm"]
    imgs = itm.embed_images([sample_image(), sample_image().rotate(90, expand=True)])
    txts = itm.embed_texts(["a red car", "a cat on a table", "sky"])
    assert imgs.shape == (2, 16) and txts.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(imgs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(txts, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(imgs[0], imgs[1])
    again = itm.embed_images([sample_image()])
    np.testing.assert_allclose(again[0], imgs[0], rtol=1e-5)


def test_blip_gradcam_relevance_per_word(engines):
    itm = engines["eng-blip-itm"]
    _check_map(itm.relevance(sample_image(), "a red car"))
    words = itm.relevance_words(sample_image(), "a red car")
    assert [w.text for w in words] == ["a", "red", "car"]
    for w in words:
        assert w.heatmap is not None and w.heatmap.kind == "relevance"
    assert not np.allclose(words[1].heatmap.values, words[2].heatmap.values)


@pytest.mark.parametrize("name", ["eng-clip", "eng-siglip"])
def test_contrastive_embeddings_tags_and_rollout(engines, name):
    engine = engines[name]
    imgs = engine.embed_images([sample_image(), sample_image().transpose(0)])
    txts = engine.embed_texts(["a red car", "a dog"])
    assert imgs.shape[0] == 2 and txts.shape == (2, imgs.shape[1])
    np.testing.assert_allclose(np.linalg.norm(imgs, axis=1), 1.0, rtol=1e-5)
    tags = engine.tags(sample_image(), ["cat", "dog", "car"], top_k=2)
    assert len(tags) == 2 and tags[0][1] >= tags[1][1]
    assert {t for t, _ in tags} <= {"cat", "dog", "car"}
    _check_map(engine.relevance(sample_image(), "a red car"))


def test_capabilities_are_reported_and_enforced(engines):
    cap = engines["eng-blip-caption"]
    assert cap.info().capabilities >= {CAP_CAPTION}
    assert CAP_EMBED not in cap.info().capabilities
    with pytest.raises(CapabilityUnavailable, match="cannot do image/text embeddings"):
        cap.embed_texts(["a cat"])
    with pytest.raises(CapabilityUnavailable, match="cannot do captioning"):
        engines["eng-clip"].caption(sample_image())
    assert engines["eng-clip"].info().capabilities == {CAP_EMBED, CAP_RELEVANCE}


def test_cancel_in_the_middle_of_generation(engines):
    engine = engines["eng-blip-caption"]
    token_counts: list[int] = []

    def on_partial(text: str) -> None:
        token_counts.append(len(text.split()))
        if len(token_counts) == 3:
            state.token.cancel()

    state = JobState(on_partial=on_partial)
    with pytest.raises(Cancelled):
        engine.caption(sample_image(), state)
    # Generation stopped right after the cancel, well before max_new_tokens.
    assert len(token_counts) == 3
    assert token_counts[-1] < engine.max_new_tokens


def test_close_frees_the_model(engines):
    engine = registry.engine_factory("eng-clip")(choose_device("cpu"))
    engine.close()
    assert engine.model is None


def test_blip_caption_cancel_lands_inside_the_vision_tower(engines):
    """Cancelled as the image's patches are embedded: no vision layer completes after it."""
    engine = engines["eng-blip-caption"]
    state = JobState()
    completed_after_cancel: list[int] = []
    vision = engine.model.vision_model
    hooks = [layer.register_forward_hook(
        lambda *_: completed_after_cancel.append(1) if state.cancelled else None)
        for layer in vision.encoder.layers]
    hooks.append(vision.embeddings.register_forward_hook(lambda *_: state.token.cancel()))
    fresh = sample_image(52, 44)  # not in the feature cache yet
    try:
        with pytest.raises(Cancelled):
            engine.caption(fresh, state)
    finally:
        for hook in hooks:
            hook.remove()
    assert completed_after_cancel == []
    assert engine.caption(fresh).text  # nothing half-encoded was cached
