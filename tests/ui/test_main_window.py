"""The main window with the fake engine: open, drop, paste, caption, ask, cancel, heat maps, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.registry import ModelUnavailable
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings

TIMEOUT_MS = 5000


def _image(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> str:
    path = tmp_path / name
    Image.new("RGB", (64, 48), colour).save(path)
    return str(path)


@pytest.fixture()
def ini(tmp_path: Path) -> str:
    return str(tmp_path / "settings.ini")


def _settings(ini: str) -> AppSettings:
    return AppSettings(QSettings(ini, QSettings.Format.IniFormat))


@pytest.fixture()
def make_window(shown_windows, ini):
    """Builds windows on the fake engine (CPU, so no torch import); closes them after the test."""

    def make(delay_s: float = 0.0, fail_on: str | None = None, start: bool = True,
             resolve=None, devices=None, catalog: bool = False) -> MainWindow:
        engine_resolver = resolve or (lambda name: (lambda choice: FakeEngine(delay_s, fail_on)))
        return shown_windows(MainWindow(_settings(ini), device="cpu",
                                        resolve_factory=engine_resolver,
                                        device_lister=devices, with_catalog=catalog), start)

    return make


def _open(qtbot, window: MainWindow, path: str) -> None:
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(path)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)


def _drop(window: MainWindow, mime: QMimeData) -> None:
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)


def test_loading_model_is_said_before_the_model_is_ready(make_window):
    window = make_window(start=False)
    assert window.caption_panel.text == "Loading model…"
    assert not window.chat_panel.ask_button.isEnabled()


def test_no_installed_model_is_said_plainly(make_window):
    def missing(name):
        raise ModelUnavailable("No model is installed.")

    window = make_window(start=False, resolve=missing)
    window.start_model()
    assert "No model is installed" in window.caption_panel.text
    assert not window.chat_panel.edit.placeholderText().startswith("Ask")


def test_dropping_a_file_url_shows_the_image_and_its_caption(qtbot, make_window, tmp_path):
    window = make_window()
    path = _image(tmp_path, "red.png", (220, 30, 30))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    _drop(window, mime)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    assert window.view.has_image()
    assert window.caption_panel.text == "a mostly red picture"
    assert "red.png" in window.windowTitle()
    assert window.settings.recent_files[0] == str(Path(path).resolve())
    # The content words are chips; function words are not.
    assert [c.text() for c in window.caption_panel.chips] == ["red", "picture"]


def test_paste_opens_a_clipboard_image_and_a_clipboard_path(qtbot, make_window, tmp_path):
    window = make_window()
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor(30, 180, 30))
    QGuiApplication.clipboard().setImage(picture)
    window.paste()
    qtbot.waitUntil(lambda: window.caption_panel.text == "a mostly green picture",
                    timeout=TIMEOUT_MS)

    QGuiApplication.clipboard().setText(_image(tmp_path, "blue.png", (30, 30, 220)))
    window.paste()
    qtbot.waitUntil(lambda: window.caption_panel.text == "a mostly blue picture",
                    timeout=TIMEOUT_MS)
    assert "blue.png" in window.windowTitle()


def test_a_question_gets_an_answer_and_up_recalls_it(qtbot, make_window, tmp_path):
    window = make_window()
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    edit = window.chat_panel.edit
    qtbot.keyClicks(edit, "What colour is it?")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.text() == ""
    entry = window.chat_panel.entries[-1]
    qtbot.waitUntil(lambda: entry.answer is not None, timeout=TIMEOUT_MS)
    assert entry.question == "What colour is it?"
    assert entry.text == "It looks red."
    assert [c.text() for c in entry.chips.chips] == ["red"]
    assert "answer" in window.status.timings.text()

    qtbot.keyClicks(edit, "Is it")
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert edit.text() == "What colour is it?"
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    assert edit.text() == "Is it"  # the unfinished line comes back


def test_answers_accumulate_and_a_new_image_starts_a_new_conversation(qtbot, make_window,
                                                                        tmp_path):
    window = make_window()
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    for question in ("What colour?", "And now?"):
        window.ask(question)
    qtbot.waitUntil(lambda: all(e.answer for e in window.chat_panel.entries), timeout=TIMEOUT_MS)
    assert [e.question for e in window.chat_panel.entries] == ["What colour?", "And now?"]
    _open(qtbot, window, _image(tmp_path, "white.png", (245, 245, 245)))
    assert window.chat_panel.entries == []
    assert window.caption_panel.text == "a mostly white picture"


def test_cancel_stops_a_slow_caption(qtbot, make_window, tmp_path):
    window = make_window(delay_s=30)
    window.open_path(_image(tmp_path, "red.png", (220, 30, 30)))
    qtbot.waitUntil(lambda: window.caption_id is not None, timeout=TIMEOUT_MS)
    busy = window.status.busy
    assert busy.isVisible() and busy.cancel_button.isVisible()
    qtbot.mouseClick(busy.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not busy.isVisible(), timeout=TIMEOUT_MS)
    assert "cancelled" in window.caption_panel.text
    assert window.actions_.cancel.shortcut().toString() == "Esc"


def test_status_bar_shows_model_and_device_with_the_reason(make_window):
    window = make_window()
    assert window.status.model.text() == "Fake test engine"
    assert window.status.device.text().startswith("CPU")
    assert window.status.device.toolTip() == window.device_choice.reason
    assert window.device_choice.reason  # says why this device


def test_clicking_a_word_chip_shows_its_heat_map(qtbot, make_window, tmp_path):
    window = make_window()
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    assert not window.view.overlay_visible()
    chip = window.caption_panel.chips[0]
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    assert chip.isChecked()
    assert window.view.overlay_visible()
    assert window.heatmap is chip.span.heatmap
    assert "red" in window.overlay_controls.word.text()
    assert window.actions_.heatmap.isChecked()
    assert window.actions_.export.isEnabled()

    window.overlay_controls.slider.setValue(25)
    assert window.view.overlay_opacity() == pytest.approx(0.25)

    window.actions_.heatmap.trigger()  # H hides it, H again shows it
    assert not window.view.overlay_visible()
    window.actions_.heatmap.trigger()
    assert window.view.overlay_visible()

    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)  # clicking the shown word hides it
    assert not window.view.overlay_visible()
    assert window.heatmap is None


def test_export_writes_a_png_of_the_image_with_its_overlay(qtbot, make_window, tmp_path):
    window = make_window()
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    qtbot.mouseClick(window.caption_panel.chips[0], Qt.MouseButton.LeftButton)
    out = tmp_path / "out.png"
    job = window.export_to(str(out))
    qtbot.waitUntil(lambda: job.done, timeout=TIMEOUT_MS)
    with Image.open(out) as saved:
        assert saved.format == "PNG" and saved.size == (64, 48)
    assert str(out) in window.message_bar.text


def test_export_does_not_wait_for_the_model(qtbot, make_window, tmp_path):
    """Exporting needs no model: it finishes while the model is busy with something else."""
    import threading

    from vlm_desktop.workers.inference_worker import Request

    window = make_window()
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    qtbot.mouseClick(window.caption_panel.chips[0], Qt.MouseButton.LeftButton)
    gate, entered = threading.Event(), threading.Event()

    def busy_model(engine, state):  # a long request holding the model's thread
        entered.set()
        while not gate.wait(0.01):
            state.check()

    window.client.submit(Request("long work", busy_model))
    assert entered.wait(5)
    out = tmp_path / "while-busy.png"
    try:
        window.export_to(str(out))
        qtbot.waitUntil(lambda: str(out) in window.message_bar.text, timeout=3000)
        assert out.is_file() and not gate.is_set()
    finally:
        gate.set()


def test_errors_appear_in_the_message_bar_not_a_dialog(qtbot, make_window, tmp_path):
    window = make_window(fail_on="break")
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with qtbot.waitSignal(window.loader.failed, timeout=TIMEOUT_MS):
        window.open_path(str(bad))
    assert window.message_bar.isVisible()
    assert "not an image" in window.message_bar.text
    assert QApplication.activeModalWidget() is None
    window.message_bar.dismiss()
    assert not window.message_bar.isVisible()

    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    window.ask("break")
    qtbot.waitUntil(lambda: "fake engine failure" in window.message_bar.text, timeout=TIMEOUT_MS)
    assert window.message_bar.isVisible()
    assert "fake engine failure" in window.message_bar.text
    assert "fake engine failure" in window.chat_panel.entries[-1].text


def test_pasting_a_web_address_says_the_app_is_offline(make_window):
    window = make_window()
    QGuiApplication.clipboard().setText("https://example.com/cat.jpg")
    window.paste()
    assert "offline" in window.message_bar.text


def test_device_menu_offers_the_cuda_devices_the_worker_lists(qtbot, make_window):
    window = make_window(start=False, devices=lambda: [("cuda:0", "Test GPU")])
    window.start_model()
    qtbot.waitUntil(lambda: len(window.actions_.device_menu.actions()) == 3, timeout=TIMEOUT_MS)
    names = [a.text() for a in window.actions_.device_menu.actions()]
    assert names == ["&Automatic", "&CPU", "CUDA &0: Test GPU"]
    checked = [a.data() for a in window.actions_.device_group.actions() if a.isChecked()]
    assert checked == ["cpu"]


def test_settings_survive_a_restart(qtbot, make_window, tmp_path):
    first = make_window()
    path = _image(tmp_path, "red.png", (220, 30, 30))
    _open(qtbot, first, path)
    first.overlay_controls.slider.setValue(30)
    first.resize(790, 560)  # the offscreen screen is 800×600; geometry is kept within it
    size = first.size()
    first.close()

    second = make_window(start=False)
    assert second.settings.recent_files == [str(Path(path).resolve())]
    assert second.settings.last_folder == str(tmp_path.resolve())
    assert second.overlay_controls.slider.value() == 30
    assert second.size() == size
    recent = [a.text() for a in second.actions_.recent_menu.actions() if a.text()]
    assert recent[0] == "&1 red.png"


def test_every_control_has_an_accessible_name_and_tooltip(qtbot, make_window, tmp_path):
    from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox,
                                   QComboBox, QLineEdit, QScrollBar)

    window = make_window(catalog=True)
    _open(qtbot, window, _image(tmp_path, "red.png", (220, 30, 30)))
    window.ask("What colour?")
    qtbot.waitUntil(lambda: window.chat_panel.entries[-1].answer is not None, timeout=TIMEOUT_MS)
    controls = [w for kind in (QAbstractButton, QAbstractSlider, QLineEdit, QComboBox,
                               QAbstractSpinBox)
                for w in window.findChildren(kind)
                # Scroll bars, the menu bar's overflow button and line edits' clear buttons
                # are Qt's own parts.
                if not w.objectName().startswith("qt_") and not isinstance(w, QScrollBar)
                and not isinstance(w.parent(), QLineEdit)]
    missing = [f"{type(w).__name__}({w.text() if hasattr(w, 'text') else ''}) "
               f"in {type(w.parent()).__name__}"
               for w in controls if not (w.accessibleName() and w.toolTip())]
    assert controls and missing == [], missing
    for action in window.menuBar().actions():
        for item in action.menu().actions():
            if not item.isSeparator() and item.menu() is None:
                assert "&" in item.text() or not item.shortcut().isEmpty(), item.text()


def test_the_catalog_dock_is_added_and_stops_with_the_window(qtbot, make_window):
    from PySide6.QtWidgets import QDockWidget

    window = make_window(catalog=True)
    docks = window.findChildren(QDockWidget)
    assert [d.objectName() for d in docks] == ["catalogDock"]
    assert window.dockWidgetArea(docks[0]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert "&Catalog" in [a.text() for a in window.actions_.view_menu.actions()]


def test_help_open_log_folder_opens_the_log_folder(make_window, monkeypatch):
    """Help ▸ Open Log Folder raised NameError once an import went missing in a refactor."""
    from vlm_desktop.core import paths
    from vlm_desktop.ui import main_window

    opened = []
    monkeypatch.setattr(main_window.QDesktopServices, "openUrl", lambda url: opened.append(url))
    window = make_window(start=False)
    window.open_log_folder()
    assert [u.toLocalFile() for u in opened] == [str(paths.log_dir())]


def test_device_tooltip_says_how_the_model_runs_when_it_chose(qtbot):
    from vlm_desktop.core.device import DeviceChoice
    from vlm_desktop.core.engine.types import ModelInfo
    from vlm_desktop.ui.status_bar import StatusBar

    bar = StatusBar()
    qtbot.addWidget(bar)
    choice = DeviceChoice("cpu", "float32", "no GPU found", threads=2)
    runtime = "vision tower: onednn float32, batch 4 (measured, 1.6x eager)"
    bar.set_model(ModelInfo("Built-in", "1", "cpu", "float32", runtime=runtime))
    bar.set_device(choice)
    assert bar.device.toolTip() == f"no GPU found\n{runtime}"
    bar.set_model(ModelInfo("Other", "1", "cpu", "float32"))
    bar.set_device(choice)
    assert bar.device.toolTip() == "no GPU found"
