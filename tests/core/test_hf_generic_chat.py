"""The generic chat backend on tiny SmolVLM/Idefics3, LLaVA and PaliGemma folders.

Each folder is imported through the model manager (as a user's download would be), then
answers a question with its reply streamed token by token, maps the answer to the image's
patch grid, and stops within one token when cancelled.
"""

from __future__ import annotations

import json
import shutil

import pytest
from hf_fixtures import idefics3_folder, llava_folder, paligemma_folder, sample_image

from vlm_desktop.core import models
from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.device import choose_device
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.types import CAP_ANSWER, CAP_CAPTION, CAP_RELEVANCE, CAP_STREAM

# name, folder builder, kind, the patch grid its heat maps have
CASES = {
    "chat-idefics3": (idefics3_folder, "hf-idefics3", (2, 2)),
    "chat-llava": (llava_folder, "hf-llava", (4, 4)),
    "chat-paligemma": (paligemma_folder, "hf-paligemma", (4, 4)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def chat(request):
    name = request.param
    build, kind, grid = CASES[name]
    if name not in {r.name for r in models.list_models()}:
        record = models.import_model(build(), name=name)
        assert record.kind == kind
    engine = registry.engine_factory(name)(choose_device("cpu"))
    yield engine, grid
    engine.close()


def test_answer_streams_with_word_maps_on_the_patch_grid(chat):
    engine, grid = chat
    assert {CAP_CAPTION, CAP_ANSWER, CAP_STREAM, CAP_RELEVANCE} <= engine.info().capabilities
    assert type(engine.model).__name__ == engine.architecture  # the Auto class chose it
    partials: list[str] = []
    answer = engine.answer(sample_image(), "what colour is the car?",
                           JobState(on_partial=partials.append))
    assert answer.text and partials[-1] == answer.text
    assert len(partials) > 5 and all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    assert answer.heatmap is not None and answer.heatmap.shape == grid
    assert float(answer.heatmap.values.max()) == pytest.approx(1.0)
    mapped = [w for w in answer.words if w.heatmap is not None]
    assert mapped and all(w.heatmap.shape == grid for w in mapped)


def test_caption_and_relevance(chat):
    engine, grid = chat
    caption = engine.caption(sample_image())
    assert caption.text and 0.0 < caption.confidence <= 1.0
    heat = engine.relevance(sample_image(), "a red car")
    assert heat.shape == grid and float(heat.values.max()) == pytest.approx(1.0)


def test_cancel_stops_within_one_token(chat):
    engine, _ = chat
    seen: list[str] = []

    def on_partial(text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            state.token.cancel()

    state = JobState(on_partial=on_partial)
    with pytest.raises(Cancelled):
        engine.answer(sample_image(), "what is this?", state)
    assert len(seen) == 3 < engine.max_new_tokens


def test_a_model_that_needs_its_own_code_is_refused_with_that_reason(tmp_path):
    folder = tmp_path / "custom"
    shutil.copytree(llava_folder(), folder)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["MoondreamModel"]
    config["auto_map"] = {"AutoModelForCausalLM": "hf_moondream.HfMoondream"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(models.ModelFolderError, match="trust_remote_code"):
        models.import_model(folder, name="custom-code")
    assert "custom-code" not in {r.name for r in models.list_models()}


def test_models_list_shows_family_number_format_size_capabilities_and_source(capsys):
    from vlm_desktop import cli

    if "chat-llava" not in {r.name for r in models.list_models()}:
        models.import_model(llava_folder(), name="chat-llava")
    record = models.get_model("chat-llava")
    assert record.label == "LLaVA chat" and record.dtype == "float32"
    assert record.origin == str(llava_folder()) and record.size_bytes > 0
    assert cli.main(["models", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("chat-llava"))
    for shown in ("LLaVA chat", "float32", models.human_size(record.size_bytes),
                  "answer,caption,relevance,stream", str(llava_folder())):
        assert shown in line
    assert models.get_model("lite").dtype == "float32"


def test_quantisation_is_read_from_the_config():
    assert models.quantisation({"quantization_config": {"quant_method": "bitsandbytes",
                                                        "load_in_4bit": True}}, "uint8") \
        == "bitsandbytes 4-bit"
    assert models.quantisation({"quantization_config": {"quant_method": "awq", "bits": 4}},
                               "int32") == "awq 4-bit"
    assert models.quantisation({}, "bfloat16") == "bfloat16"


def test_a_model_without_a_patch_grid_answers_and_says_it_has_no_map():
    from hf_fixtures import llava_next_folder

    from vlm_desktop.core.engine.errors import CapabilityUnavailable

    record = models.import_model(llava_next_folder(), name="chat-llava-next")
    assert record.kind == "hf-llava-next" and CAP_RELEVANCE not in record.capabilities
    engine = registry.engine_factory("chat-llava-next")(choose_device("cpu"))
    try:
        assert CAP_RELEVANCE not in engine.info().capabilities
        partials: list[str] = []
        answer = engine.answer(sample_image(), "what is this?", JobState(on_partial=partials.append))
        assert answer.text and partials[-1] == answer.text and len(partials) > 5
        assert answer.heatmap is None and answer.words
        assert all(w.heatmap is None for w in answer.words)
        assert "no map for this model" in answer.evidence
        with pytest.raises(CapabilityUnavailable, match="relevance maps"):
            engine.relevance(sample_image(), "a car")
    finally:
        engine.close()


@pytest.mark.parametrize("name", ["cli-smolvlm", "cli-paligemma"])
def test_imported_and_asked_from_the_command_line(name, home_dir, tmp_path, capsys):
    from vlm_desktop import cli

    build = {"cli-smolvlm": idefics3_folder, "cli-paligemma": paligemma_folder}[name]
    image = tmp_path / "picture.png"
    sample_image().save(image)
    assert cli.main(["models", "import", str(build()), "--name", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dtype"] == "float32"
    assert cli.main(["ask", str(image), "what colour is it?", "--model", name,
                     "--device", "cpu", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["model"] == name and record["answer"]
