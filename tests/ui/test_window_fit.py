"""The window at a small laptop's 1024×680 and at 1600×1000: it really is that size, and no
button, label or slider is cut or drawn over another (as a user would see at a glance)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings

TIMEOUT_MS = 5000
SIZES = [(1024, 680), (1600, 1000)]


@pytest.fixture()
def window_at(shown_windows, tmp_path):
    """`window_at(w, h)`: a window with the catalog dock, an image, its caption, an answer,
    a word's heat map shown, resized to w×h."""

    def make(width: int, height: int) -> MainWindow:
        settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, device="cpu", device_lister=None,
                            resolve_factory=lambda name: (lambda choice: FakeEngine()))
        shown_windows(window)
        window.resize(width, height)
        return window

    return make


def _open_and_ask(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), (200, 40, 40)).save(path)
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(str(path))
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)
    window.ask("What colour is it?")
    qtbot.waitUntil(lambda: window.chat_panel.entries[-1].answer is not None, timeout=TIMEOUT_MS)
    window.caption_panel.chips[0].click()
    qtbot.wait(50)  # let the layouts settle after the last change


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _text_room(button: QAbstractButton) -> int:
    """The width a button needs to show its text whole: text, the style's padding and, for a
    tool button with a menu arrow drawn inside it, the arrow."""
    style = button.style()
    need = button.fontMetrics().horizontalAdvance(_plain(button.text())) + 8
    if isinstance(button, QToolButton) and button.menu() is not None and \
            button.popupMode() == QToolButton.ToolButtonPopupMode.InstantPopup:
        need += style.pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, button)
    return need


def _visible(widget: QWidget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def _cut_buttons(root: QWidget, *, skip: QWidget | None = None) -> list[str]:
    cut = []
    for button in root.findChildren(QAbstractButton):
        if not _visible(button) or not button.text() or button.objectName().startswith("qt_"):
            continue
        if skip is not None and skip.isAncestorOf(button):
            continue
        if button.width() < _text_room(button):
            cut.append(f"{_plain(button.text())!r} {button.width()} px < {_text_room(button)}")
    return cut


def _overlaps(row: QWidget) -> list[str]:
    """Pairs of visible children of `row` drawn over each other."""
    parts = [w for w in row.findChildren(QWidget) if _visible(w)
             and isinstance(w, (QLabel, QSlider, QAbstractButton))]
    found = []
    for i, a in enumerate(parts):
        ra = QRect(a.mapTo(row, a.rect().topLeft()), a.size())
        for b in parts[i + 1:]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            rb = QRect(b.mapTo(row, b.rect().topLeft()), b.size())
            if ra.intersects(rb):
                found.append(f"{a.text() if hasattr(a, 'text') else type(a).__name__!r} over "
                             f"{b.text() if hasattr(b, 'text') else type(b).__name__!r}")
    return found


def _cut_labels(row: QWidget) -> list[str]:
    """One-line labels narrower than their text (an eliding label may be, if it says so)."""
    cut = []
    for label in row.findChildren(QLabel):
        if not _visible(label) or label.wordWrap() or not label.text() or label.pixmap():
            continue
        if hasattr(label, "is_elided"):
            continue  # draws "…" and puts the full text in its tooltip
        need = label.fontMetrics().horizontalAdvance(_plain(label.text()))
        if label.contentsRect().width() < need:
            cut.append(f"{label.text()!r} {label.contentsRect().width()} px < {need}")
    return cut


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_window_takes_the_size_it_is_given(qtbot, window_at, tmp_path, size):
    window = window_at(*size)
    _open_and_ask(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: window.width() <= size[0] and window.height() <= size[1])
    assert window.minimumSizeHint().width() <= 1024, window.minimumSizeHint()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_heat_map_bar_and_buttons_read_whole(qtbot, window_at, tmp_path, size):
    window = window_at(*size)
    _open_and_ask(qtbot, window, tmp_path)
    bar = window.overlay_controls
    assert bar.width() <= bar.parentWidget().width()  # not wider than its column
    assert _overlaps(bar) == []
    assert _cut_labels(bar) == []
    assert not bar.word.is_elided()  # “red” fits
    toggle = bar.toggle
    assert toggle.width() >= _text_room(toggle), (toggle.width(), toggle.text())
    assert _cut_buttons(window, skip=window.catalog_panel) == []
    assert _cut_labels(window.statusBar()) == []


def test_the_catalog_menu_button_leaves_room_for_its_arrow(qtbot, window_at, tmp_path):
    window = window_at(1024, 680)
    button = window.catalog_panel.bar.catalog_button
    assert button.width() >= _text_room(button)
