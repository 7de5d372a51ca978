"""`vlm-desktop models …` and `--model NAME` on caption/ask, with tiny imported models."""

from __future__ import annotations

import json

from hf_fixtures import blip_folder, sample_image

from vlm_desktop import cli


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_import_list_caption_ask_remove(home_dir, tmp_path, capsys):
    image = tmp_path / "picture.png"
    sample_image().save(image)

    code, out, _ = _run(capsys, "models", "import", str(blip_folder()), "--name", "cap", "--json")
    assert code == 0 and json.loads(out)["kind"] == "hf-blip-caption"
    code, out, _ = _run(capsys, "models", "import",
                        str(blip_folder("BlipForQuestionAnswering")), "--name", "vqa")
    assert code == 0 and "imported vqa" in out and "parameters" in out

    code, out, _ = _run(capsys, "models", "list", "--json")
    listed = json.loads(out)
    names = [m["name"] for m in listed["models"]]
    assert names[0] == "lite" and names[1:] == ["cap", "vqa"]

    code, out, _ = _run(capsys, "caption", str(image), "--model", "cap", "--device", "cpu",
                        "--json")
    record = json.loads(out)
    assert code == 0 and record["model"] == "cap" and record["caption"]

    code, out, _ = _run(capsys, "ask", str(image), "what colour is it?", "--model", "vqa",
                        "--device", "cpu", "--json")
    record = json.loads(out)
    assert code == 0 and record["model"] == "vqa" and record["answer"]

    code, _, err = _run(capsys, "ask", str(image), "what is it?", "--model", "cap",
                        "--device", "cpu")
    assert code == 1 and "cannot do question answering" in err

    code, _, err = _run(capsys, "models", "remove", "lite")
    assert code == 2 and "built-in model cannot be removed" in err
    code, out, _ = _run(capsys, "models", "remove", "cap")
    assert code == 0
    code, out, _ = _run(capsys, "models", "list")
    assert "cap " not in out and "vqa" in out


def test_models_import_refuses_an_incomplete_folder(home_dir, tmp_path, capsys):
    import shutil

    folder = tmp_path / "incomplete"
    shutil.copytree(blip_folder(), folder, ignore=shutil.ignore_patterns("processor_config.json"))
    code, out, err = _run(capsys, "models", "import", str(folder), "--json")
    assert code == 2
    assert "missing preprocessor_config.json" in json.loads(out)["error"]
    assert "missing preprocessor_config.json" in err
