"""The model manager: import, verify, refuse, remove, defaults and the HF cache listing."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
from hf_fixtures import blip_folder, clip_folder, siglip_folder

from vlm_desktop.core import models
from vlm_desktop.core.device import choose_device
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.types import CAP_CAPTION, CAP_EMBED


def _copy(src, dst, drop=()):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*drop))
    return dst


def test_import_reports_size_parameters_and_memory(home_dir):
    rec = models.import_model(blip_folder(), name="cap")
    assert rec.kind == "hf-blip-caption" and CAP_CAPTION in rec.capabilities
    assert rec.parameters > 10_000 and rec.size_bytes > rec.parameters  # float32 on disk
    assert rec.est_ram_bytes >= rec.parameters * 4 > rec.est_vram_bytes > rec.parameters * 2
    names = [e.name for e in registry.available_models()]
    assert names[-1] == "cap"
    assert registry.available_models()[0].builtin or names == ["cap"]
    assert (home_dir / "data" / "models" / "cap" / "config.json").is_file()


def test_import_a_zip_and_load_it(home_dir, tmp_path):
    archive = tmp_path / "clip-tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in clip_folder().iterdir():
            zf.write(f, f"clip-tiny/{f.name}")
    rec = models.import_model(archive)
    assert rec.name == "clip-tiny" and rec.kind == "hf-clip"
    engine = registry.engine_factory("clip-tiny")(choose_device("cpu"))
    try:
        assert engine.embed_texts(["a cat"]).shape == (1, 16)
    finally:
        engine.close()


@pytest.mark.parametrize("drop, message", [
    (("processor_config.json",), "missing preprocessor_config.json"),
    (("tokenizer.json", "vocab.txt"), "missing tokenizer files"),
    (("model.safetensors",), "missing weights"),
    (("config.json",), "missing config.json"),
])
def test_incomplete_folder_is_refused_naming_what_is_missing(home_dir, tmp_path, drop, message):
    folder = _copy(blip_folder(), tmp_path / "broken", drop)
    with pytest.raises(models.ModelFolderError, match=message):
        models.import_model(folder)
    assert models.list_models(include_builtin=False) == []


def test_foreign_model_is_refused(home_dir, tmp_path):
    folder = _copy(blip_folder(), tmp_path / "bert")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["architectures"], cfg["model_type"] = ["BertModel"], "bert"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(models.ModelFolderError, match="BertModel is not a vision-language model"):
        models.verify_folder(folder)


def test_corrupt_safetensors_is_refused(home_dir, tmp_path):
    folder = _copy(blip_folder(), tmp_path / "corrupt")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:8] + b"{not json" + data[17:200])
    with pytest.raises(models.ModelFolderError, match="damaged or not a safetensors file"):
        models.import_model(folder)


def _pickle_folder(tmp_path, name, extra=None):
    import torch
    from safetensors.torch import load_file

    folder = _copy(blip_folder(), tmp_path / name, ("model.safetensors",))
    state = load_file(str(blip_folder() / "model.safetensors"))
    if extra is not None:
        state["evil"] = extra
    torch.save(state, folder / "pytorch_model.bin")
    return folder


class _RunsCode:
    """Any custom class in a pickle needs code to rebuild; weights_only refuses it."""


def test_pickle_checkpoint_loads_only_through_weights_only(home_dir, tmp_path):
    rec = models.import_model(_pickle_folder(tmp_path, "plain"), name="pickled")
    engine = registry.engine_factory("pickled")(choose_device("cpu"))
    try:
        from hf_fixtures import sample_image

        assert engine.caption(sample_image()).text
    finally:
        engine.close()
    assert rec.parameters > 0
    with pytest.raises(models.ModelFolderError, match="would run code when loaded"):
        models.import_model(_pickle_folder(tmp_path, "evil", _RunsCode()))


def test_remove_and_the_builtin_stays(home_dir):
    models.import_model(blip_folder(), name="cap")
    with pytest.raises(models.ModelFolderError, match="built-in model cannot be removed"):
        models.remove_model("lite")
    models.remove_model("cap")
    assert models.list_models(include_builtin=False) == []
    assert not (home_dir / "data" / "models" / "cap").exists()
    assert models.list_models()[0].name == "lite"


def test_defaults_per_capability(home_dir):
    models.import_model(blip_folder(), name="cap")
    models.import_model(siglip_folder(), name="sig")
    assert models.default_for(CAP_CAPTION) == "lite"
    models.set_default(CAP_CAPTION, "cap")
    models.set_default(CAP_EMBED, "sig")
    assert models.default_for(CAP_CAPTION) == "cap" and models.default_for(CAP_EMBED) == "sig"
    with pytest.raises(models.ModelFolderError, match="cannot do image/text embeddings"):
        models.set_default(CAP_EMBED, "cap")
    models.remove_model("sig")
    assert models.default_for(CAP_EMBED) == "lite"


def test_the_catalog_model_is_chosen_apart_from_the_captioning_model(home_dir):
    models.import_model(blip_folder(), name="cap")
    models.import_model(clip_folder(), name="clip")
    models.set_default(CAP_CAPTION, "cap")
    # Captions come from BLIP; the catalog keeps the default embedder (the built-in).
    assert registry.default_model_for(CAP_CAPTION) == "cap"
    assert registry.embedding_model_for(None) == "lite"
    models.set_default(CAP_EMBED, "clip")
    assert registry.embedding_model_for("") == "clip"
    # The user's pick wins, but only when it is installed and can embed.
    assert registry.embedding_model_for("lite") == "lite"
    assert registry.embedding_model_for("cap") == "clip"
    assert registry.embedding_model_for("gone") == "clip"


def test_models_in_the_hf_cache_are_listed_not_downloaded(home_dir, tmp_path, monkeypatch):
    snap = tmp_path / "hub" / "models--Salesforce--blip-tiny" / "snapshots" / "abc123"
    _copy(blip_folder(), snap)
    (tmp_path / "hub" / "models--org--not-a-model" / "snapshots" / "x").mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    found = models.find_cached_models()
    assert [(c.repo_id, c.label) for c in found] == [("Salesforce/blip-tiny", "BLIP captioning")]
    rec = models.import_model(found[0].path, name="cached", copy=False)
    assert rec.path == str(snap) and not rec.copied
    models.remove_model("cached")
    assert snap.is_dir()  # a cache entry is the user's: removing the model never deletes it
