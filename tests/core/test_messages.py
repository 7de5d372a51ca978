"""Core's messages in the window's language: every template translated, fields kept."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import vlm_desktop
from vlm_desktop.core import device, messages
from vlm_desktop.core.images import ImageLoadError, load_image

PACKAGE = Path(vlm_desktop.__file__).parent
SAYERS = ("say", "later", "say_later", "say_in")  # the calls whose first literal is a template


def _templates() -> set[str]:
    """Every literal passed to say(), later() or say_later() anywhere in the package."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in SAYERS
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_every_core_template_has_a_chinese_translation_with_the_same_fields():
    table = messages.catalogue("zh_CN")
    templates = _templates()
    assert len(templates) > 30  # the scan really finds the calls
    missing = sorted(t for t in templates if t not in table)
    assert not missing, missing
    wrong = sorted(t for t in templates if messages.fields(table[t]) != messages.fields(t))
    assert not wrong, wrong
    assert all(table[t] != t for t in templates)  # translated, not copied


@pytest.fixture()
def chinese(monkeypatch):
    monkeypatch.setenv(messages.LANGUAGE_ENV, "zh_CN")


def test_an_empty_file_is_refused_in_chinese_naming_the_file(chinese, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError) as err:
        load_image(str(path))
    assert "photo.jpg" in str(err.value) and "空文件" in str(err.value)


def test_the_message_keeps_the_file_name_as_written(tmp_path, monkeypatch):
    monkeypatch.delenv(messages.LANGUAGE_ENV, raising=False)
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"not an image at all")
    with pytest.raises(ImageLoadError) as err:
        load_image(str(path))
    assert "photo.jpg" in str(err.value) and "Photo.jpg" not in str(err.value)
    assert "not an image" in str(err.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_named_in_chinese(chinese, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageLoadError) as err:
        load_image(str(fifo))
    assert "命名管道" in str(err.value)


def test_the_device_reason_is_in_chinese(chinese):
    choice = device.choose_device("cpu")
    assert choice.reason == "设置中选择了 CPU"
    with pytest.raises(device.DeviceError, match="未知设备"):
        device.choose_device("tpu")


def test_english_stays_english_and_a_bad_translation_falls_back(monkeypatch):
    monkeypatch.delenv(messages.LANGUAGE_ENV, raising=False)
    assert device.choose_device("cpu").reason == "CPU chosen in settings"
    monkeypatch.setenv(messages.LANGUAGE_ENV, "zh_CN")
    monkeypatch.setitem(messages.catalogue("zh_CN"), "{name} is empty (0 bytes).",
                        "{nom} 是空文件")  # a translator's typo in a field name
    assert messages.say("{name} is empty (0 bytes).", name="a.png") == "a.png is empty (0 bytes)."


def test_no_space_beside_full_width_punctuation_of_a_filled_in_name():
    from vlm_desktop.core.messages import fill

    builtin = "VLM Lite（内置）"  # the built-in model's Chinese display name
    assert fill("商品目录已用 {name} 建立索引。", name=builtin) == "商品目录已用 VLM Lite（内置）建立索引。"
    assert fill("{model} 无法回答这个问题。", model=builtin) == "VLM Lite（内置）无法回答这个问题。"
    assert fill("现在使用 {name} 执行 {job}。", name="CLIP", job="描述") == "现在使用 CLIP 执行 描述。"
    # Beside a symbol or a Latin word the space stays.
    assert fill("{a} → 归为猫", a="虎斑猫（17%）") == "虎斑猫（17%） → 归为猫"
    assert fill("{name} {version}", name=builtin, version="0.1") == "VLM Lite（内置） 0.1"
    # A value is never changed, only the template's spaces; English is left alone.
    assert fill("无法读取 {name}：{error}", name="报告（终） 版.jpg", error="空文件") == \
        "无法读取 报告（终） 版.jpg：空文件"
    assert fill("Cannot read {name}: {p:.0f}% {{x}}", name="a b.jpg", p=12.6) == \
        "Cannot read a b.jpg: 13% {x}"
