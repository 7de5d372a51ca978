"""The headless CLI, run in-process over the fake engine (plus one real subprocess)."""

from __future__ import annotations

import importlib.machinery
import json
import subprocess
import sys
import types

import pytest
from PIL import Image

from vlm_desktop import __version__
from vlm_desktop.cli import add_model_options, is_cli_invocation, main
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.images import ImageLoadError, load_image

CAPTION_KEYS = ["image", "caption", "confidence", "model", "device", "ms"]
ASK_KEYS = ["image", "question", "answer", "confidence", "model", "device", "ms"]


@pytest.fixture()
def fake_models(monkeypatch):
    """The registry hands out the fake engine; records the names and devices asked for."""
    asked: list[tuple] = []

    def engine_factory(name):
        def load(choice):
            asked.append((name, choice.device))
            return FakeEngine()

        return load

    monkeypatch.setattr(registry, "engine_factory", engine_factory)
    return asked


@pytest.fixture()
def images(tmp_path, monkeypatch):
    """red.png and blue.png in the working directory, named by relative paths."""
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (40, 30), (220, 30, 30)).save("red.png")
    Image.new("RGB", (30, 40), (30, 30, 220)).save("blue.png")
    return ["red.png", "blue.png"]


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"vlm-desktop {__version__}\n"


def test_caption_json_has_one_line_per_image(fake_models, images, capsys):
    assert main(["caption", *images, "--json", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    records = _json_lines(captured.out)
    assert [list(r) for r in records] == [CAPTION_KEYS, CAPTION_KEYS]
    assert [r["image"] for r in records] == images
    assert "red" in records[0]["caption"] and "blue" in records[1]["caption"]
    for r in records:
        assert (r["model"], r["device"], r["confidence"]) == ("Fake test engine", "cpu", 0.5)
        assert r["ms"] >= 0
    assert fake_models == [("lite", "cpu")]  # the default captioner, loaded once for all files
    assert "[1/2] red.png" in captured.err and "[2/2] blue.png" in captured.err


def test_a_bad_file_gives_an_error_line_and_the_rest_still_run(fake_models, images, capsys):
    with open("notes.png", "w") as fh:
        fh.write("not a picture")
    expected = {}
    for name in ("notes.png", "missing.jpg"):
        with pytest.raises(ImageLoadError) as exc:
            load_image(name)
        expected[name] = str(exc.value)
    assert main(["caption", "notes.png", "red.png", "missing.jpg", "--json",
                 "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    records = _json_lines(captured.out)
    assert records[0] == {"image": "notes.png", "error": expected["notes.png"]}
    assert "red" in records[1]["caption"]
    assert records[2] == {"image": "missing.jpg", "error": expected["missing.jpg"]}
    assert "Traceback" not in captured.err


def test_ask_json_answers_the_question(fake_models, images, capsys):
    assert main(["ask", "blue.png", "What colour is it?", "--json", "--device", "cpu"]) == 0
    [record] = _json_lines(capsys.readouterr().out)
    assert list(record) == ASK_KEYS
    assert record["question"] == "What colour is it?"
    assert record["answer"] == "It looks blue."
    assert (record["image"], record["device"]) == ("blue.png", "cpu")


def test_engine_errors_are_reported_per_file_without_traceback(monkeypatch, images, capsys):
    monkeypatch.setattr(registry, "engine_factory",
                        lambda name: (lambda choice: FakeEngine(fail_on="boom?")))
    assert main(["ask", "red.png", "boom?", "--json", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert _json_lines(captured.out) == [
        {"image": "red.png",
         "error": "Unexpected error with red.png: fake engine failure requested by the test"}
    ]
    assert "Traceback" not in captured.err
    assert main(["ask", "red.png", "boom?", "--device", "cpu", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_plain_text_is_one_readable_line_per_image(fake_models, images, capsys):
    assert main(["caption", *images, "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("red.png: a mostly red picture (confidence 0.50")


def test_unknown_model_exits_2_with_the_message(images, capsys):
    assert main(["caption", "red.png", "--model", "no-such-model", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert "No model named 'no-such-model' is installed" in captured.err
    assert captured.out == "" and "Traceback" not in captured.err


def test_no_model_installed_exits_2(monkeypatch, images, capsys):
    monkeypatch.setattr(registry, "available_models", lambda: [])
    assert main(["ask", "red.png", "what is this?", "--json"]) == 2
    assert "No model is installed." in capsys.readouterr().err


def test_heatmap_dir_writes_one_overlay_per_word(fake_models, images, tmp_path, capsys):
    out_dir = tmp_path / "maps"
    assert main(["caption", "red.png", "--json", "--device", "cpu",
                 "--heatmap-dir", str(out_dir)]) == 0
    [record] = _json_lines(capsys.readouterr().out)
    # The fake engine's caption "a mostly red picture" has maps for "red" and "picture".
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["red__picture.png", "red__red.png"]
    assert sorted(record["heatmaps"]) == sorted(str(out_dir / n) for n in names)
    with Image.open(out_dir / "red__red.png") as png:
        assert png.format == "PNG" and png.size == (40, 30)
        assert png.convert("RGB").getpixel((20, 15)) != (220, 30, 30)  # the map is drawn


def test_which_arguments_are_cli_commands():
    assert is_cli_invocation(["caption", "a.png"])
    assert is_cli_invocation(["ask", "a.png", "what is this?"])
    assert is_cli_invocation(["--version"]) and is_cli_invocation(["-h"])
    assert is_cli_invocation(["--self-test"])
    assert not is_cli_invocation([])
    assert not is_cli_invocation(["caption.png"])
    assert not is_cli_invocation(["--debug", "holiday.jpg"])


def test_other_modules_can_register_commands(monkeypatch, capsys):
    module = types.ModuleType("vlm_desktop.cli_models")
    module.__spec__ = importlib.machinery.ModuleSpec("vlm_desktop.cli_models", None)

    def register(sub):
        parser = sub.add_parser("models", help="list models")
        add_model_options(parser)
        parser.set_defaults(func=lambda args: 7 if args.json else 0)

    module.register = register
    monkeypatch.setitem(sys.modules, "vlm_desktop.cli_models", module)
    assert is_cli_invocation(["models"])
    assert main(["models", "--json"]) == 7
    assert main(["--help"]) == 0
    assert "models" in capsys.readouterr().out


@pytest.mark.slow
def test_python_m_vlm_desktop_version_needs_neither_qt_nor_torch():
    # Runs `python -m vlm_desktop --version` for real, then checks what it imported.
    code = (
        "import runpy, sys\n"
        "sys.argv = ['vlm_desktop', '--version']\n"
        "try:\n"
        "    runpy.run_module('vlm_desktop', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "heavy = sorted(m for m in ('PySide6', 'torch') if m in sys.modules)\n"
        "print('imported:', heavy)\n"
        "sys.exit(status)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"vlm-desktop {__version__}", "imported: []"]
