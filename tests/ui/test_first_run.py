"""A new user's first window: before any image it says how to open one, what to ask and
what the heat map is; all of it readable at 1024×680."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings


@pytest.fixture()
def first_window(shown_windows, tmp_path):
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, device="cpu", device_lister=None, with_catalog=False,
                        resolve_factory=lambda name: (lambda choice: FakeEngine()))
    shown_windows(window)
    window.resize(1024, 680)
    return window


def test_the_empty_window_says_how_to_begin(qtbot, first_window):
    window = first_window
    said = window.view.placeholder_text()
    for way in ("Drop", "Ctrl+V", "Ctrl+O"):  # every way to open an image
        assert way in said, said
    assert "heat map" in said and "where the model looked" in said  # what the map is
    assert "Open an image" in window.caption_panel.text
    assert "click" in window.caption_panel.text.lower()  # the caption's words do something
    hint = window.chat_panel.hint
    assert hint.isVisible() and hint.text().count("?") >= 4  # example questions
    assert "heat map" in window.overlay_controls.word.toolTip()


def test_opening_an_image_replaces_the_hints(qtbot, first_window, tmp_path):
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (220, 30, 30)).save(path)
    with qtbot.waitSignal(first_window.loader.loaded, timeout=5000):
        first_window.open_path(str(path))
    qtbot.waitUntil(lambda: first_window.caption_panel.caption is not None, timeout=5000)
    assert first_window.view.has_image()  # the placeholder is drawn only without an image
    first_window.ask("What colour is it?")
    assert not first_window.chat_panel.hint.isVisible()
