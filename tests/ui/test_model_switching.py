"""Model menu, model manager, greying out what a model cannot do, and streamed text."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.registry import GpuOutOfMemory, ModelRecord
from vlm_desktop.core.engine.types import (
    ALL_CAPABILITIES,
    CAP_ANSWER,
    CAP_CAPTION,
    CAP_EMBED,
    Caption,
)
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings
from vlm_desktop.workers import inference_worker
from vlm_desktop.workers.inference_worker import MAIN

TIMEOUT_MS = 5000
CAPTION_ONLY = frozenset({CAP_CAPTION})
LITE = ModelRecord("lite", "", "lite", "VLM Lite (built-in)", "", ALL_CAPABILITIES, builtin=True)
BLIP = ModelRecord("blip-tiny", "/models/blip", "hf-blip", "BLIP captioning", "", CAPTION_ONLY)


@pytest.fixture()
def fake_registry(install_models):
    # The built-in is listed last on purpose: the menu must still put it first.
    return install_models([BLIP, LITE])


@pytest.fixture()
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture()
def make_window(shown_windows, settings):
    def make(start: bool = True, **kwargs) -> MainWindow:
        return shown_windows(MainWindow(settings, device="cpu", device_lister=None,
                                        with_catalog=False, **kwargs), start)

    return make


def _fake_with(capabilities: frozenset[str]):
    return lambda name: (lambda choice: FakeEngine(capabilities=capabilities))


def _open(qtbot, window: MainWindow, tmp_path: Path, colour=(30, 30, 220)) -> None:
    path = tmp_path / "image.png"
    Image.new("RGB", (64, 48), colour).save(path)
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(str(path))


def _menu_models(window: MainWindow) -> list[tuple[str, bool]]:
    return [(a.text().replace("&", ""), a.isChecked())
            for a in window.actions_.model_group.actions()]


def test_model_menu_lists_installed_models_and_switching_loads_the_chosen_one(
        qtbot, make_window, fake_registry, tmp_path):
    window = make_window()
    assert _menu_models(window) == [("1 VLM Lite (built-in)", True),
                                    ("2 blip-tiny (BLIP captioning)", False)]
    _open(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    first_caption = window.caption_panel.caption
    old_engine = fake_registry.engines[-1]
    window.caption_panel.chips[0].setChecked(True)  # the old model's map of a word
    assert window.heatmap is not None

    blip = window.actions_.model_group.actions()[1]
    with qtbot.waitSignal(window.client.role(MAIN).ready, timeout=TIMEOUT_MS):
        blip.trigger()

    assert fake_registry.requested == ["lite", "blip-tiny"]
    assert window.status.model.text() == BLIP.display_name
    assert window.settings.model == "blip-tiny"
    assert old_engine.closed, "the old model must be freed when another one loads"
    assert window.heatmap is None and not window.view.overlay_visible()
    assert _menu_models(window)[1] == ("2 blip-tiny (BLIP captioning)", True)
    # The new model captions the image afresh; it cannot answer, so the box says why.
    qtbot.waitUntil(lambda: window.caption_panel.caption not in (None, first_caption),
                    timeout=TIMEOUT_MS)
    assert not window.chat_panel.edit.isEnabled()
    assert "cannot answer questions" in window.chat_panel.edit.placeholderText()


def test_saved_model_is_used_but_the_command_line_wins(make_window, fake_registry, settings):
    settings.model = "blip-tiny"
    saved = make_window(start=False)
    assert saved.active_model_name() == "blip-tiny"
    assert dict(_menu_models(saved))["2 blip-tiny (BLIP captioning)"] is True

    from_cli = make_window(start=False, model_name="lite")
    assert from_cli.active_model_name() == "lite"
    assert dict(_menu_models(from_cli))["1 VLM Lite (built-in)"] is True
    assert settings.model == "blip-tiny", "a --model choice is for this run only"


def test_a_model_that_cannot_answer_disables_the_question_box_with_a_reason(
        qtbot, make_window, tmp_path):
    window = make_window(resolve_factory=_fake_with(frozenset({CAP_CAPTION, CAP_EMBED})))
    _open(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    edit = window.chat_panel.edit
    assert not edit.isEnabled() and not window.chat_panel.ask_button.isEnabled()
    assert "cannot answer questions" in edit.placeholderText()
    assert "Model" in edit.toolTip() and "cannot answer" in edit.toolTip()
    notice = window.chat_panel.notice  # the whole reason, even where the placeholder is cut
    assert notice.isVisible() and "choose another in Model" in notice.text()
    assert window.chat_panel.hint.isHidden(), "no example questions for a model that cannot answer"
    window.ask("What colour is it?")  # e.g. a stray call: nothing is sent to the model
    assert window.chat_panel.entries == []


def test_a_model_that_cannot_caption_says_so_and_greys_out_caption_again(
        qtbot, make_window, tmp_path):
    window = make_window(resolve_factory=_fake_with(frozenset({CAP_ANSWER})))
    _open(qtbot, window, tmp_path)
    assert "cannot caption" in window.caption_panel.text
    assert window.caption_id is None
    recaption = window.actions_.recaption
    assert not recaption.isEnabled() and "cannot caption" in recaption.toolTip()
    assert window.chat_panel.edit.isEnabled()  # it can still answer


def test_partial_answer_text_shows_before_the_final_answer(qtbot, make_window, tmp_path):
    window = make_window(resolve_factory=_fake_with(ALL_CAPABILITIES))
    _open(qtbot, window, tmp_path)
    seen: list[str] = []
    job = window.ask("What colour is it?")
    entry = window.chat_panel.entries[-1]
    # Connected after the window's own slot, so this sees what the entry shows.
    job.partial.connect(lambda value: seen.append(entry.text))
    qtbot.waitUntil(lambda: entry.answer is not None, timeout=TIMEOUT_MS)
    final = entry.answer.text
    assert seen == [final[: len(final) // 2] + "…"]
    assert entry.text == final and entry.status.isHidden()


class StreamingCaptions(FakeEngine):
    """Streams the first half of its caption first, as the BLIP and chat backends do."""

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        result = super().caption(image, state)
        if state is not None:
            state.partial(result.text[: len(result.text) // 2])
        return result


def test_partial_caption_text_is_replaced_by_the_final_caption(qtbot, make_window, tmp_path):
    window = make_window(resolve_factory=lambda name: (lambda choice: StreamingCaptions()))
    seen: list[str] = []
    panel = window.caption_panel
    show_partial = panel.show_partial

    def record(text: str) -> None:  # what the panel shows after each streamed piece
        show_partial(text)
        seen.append(panel.text)

    panel.show_partial = record
    _open(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    final = window.caption_panel.caption.text
    assert seen == [final[: len(final) // 2] + "…"]
    assert window.caption_panel.text == final and window.caption_panel.chips


def test_manage_models_opens_the_dialog_and_its_changes_refresh_the_menu(
        qtbot, make_window, fake_registry):
    window = make_window(start=False)
    manage = window.actions_.manage_models
    assert manage.shortcut().toString() == "Ctrl+Shift+M"
    manage.trigger()
    dialog = window._model_dialog
    assert dialog is not None and dialog.isVisible()

    fake_registry.entries.append(ModelRecord("clip-tiny", "", "hf-clip", "CLIP", "",
                                             frozenset({CAP_EMBED})))
    dialog.models_changed.emit()
    names = [text for text, _ in _menu_models(window)]
    assert names[-1] == "3 clip-tiny (CLIP)"
    clip = window.actions_.model_group.actions()[-1]
    assert "similar images" in clip.toolTip() and "caption" not in clip.toolTip()
    dialog.reject()
    assert window._model_dialog is None


class _OutOfMemoryEngine(FakeEngine):
    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        raise GpuOutOfMemory("The GPU (cuda:0) ran out of memory while generating text. "
                             "Memory was freed; choose the CPU in Model ▸ Device.")


def test_gpu_out_of_memory_offers_the_cpu_and_one_click_reloads_there(
        qtbot, shown_windows, settings, tmp_path, monkeypatch):
    # This machine has no GPU: "auto" pretends to find one, the CPU stays the CPU.
    gpu = DeviceChoice("cuda:0", "float16", "a pretend GPU for this test")
    cpu = DeviceChoice("cpu", "float32", "asked for the CPU", requested="cpu")
    monkeypatch.setattr(inference_worker, "choose_device",
                        lambda request: gpu if request == "auto" else cpu)
    devices: list[str] = []

    def factory(name):
        def load(choice):
            devices.append(choice.device)
            return _OutOfMemoryEngine() if len(devices) == 1 else FakeEngine()
        return load

    window = shown_windows(MainWindow(settings, device="auto", device_lister=None,
                                      with_catalog=False, resolve_factory=factory))
    _open(qtbot, window, tmp_path)
    bar = window.message_bar
    qtbot.waitUntil(lambda: bar.action_button.isVisible(), timeout=TIMEOUT_MS)
    assert "ran out of memory" in bar.text and "caption failed" not in bar.text
    assert bar.action_button.text() == "Use the CPU"
    with qtbot.waitSignal(window.client.role(MAIN).ready, timeout=TIMEOUT_MS):
        bar.action_button.click()
    assert not bar.isVisible()
    assert window.settings.device == "cpu" and devices == ["cuda:0", "cpu"]
    assert [a.data() for a in window.actions_.device_group.actions() if a.isChecked()] == ["cpu"]
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
