"""A video in the window (fake engine): scenes stream into the timeline with captions,
clicking one shows its frame, Cancel stops the job, subtitles export, bad files are named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtTest import QTest

import video_fixtures
from video_fixtures import BLUE, GREEN, RED

from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings

TIMEOUT_MS = 15000


def make_video(path: Path, seconds: float = 2, **kw) -> Path:
    """Two-second scenes: the window tests need no more."""
    return video_fixtures.make_video(path, seconds=seconds, **kw)


@pytest.fixture()
def make_window(shown_windows, tmp_path):
    def make(delay_s: float = 0.0) -> MainWindow:
        settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        return shown_windows(MainWindow(
            settings, device="cpu", device_lister=None, with_catalog=False,
            resolve_factory=lambda name: (lambda choice: FakeEngine(delay_s))))

    return make


def _captioned(qtbot, window: MainWindow, path: Path) -> None:
    window.open_path(str(path))
    qtbot.waitUntil(lambda: window.video.path is not None and not window.video.busy,
                    timeout=TIMEOUT_MS)


def test_scenes_appear_in_the_timeline_with_their_captions(qtbot, make_window, tmp_path):
    window = make_window()
    clip = make_video(tmp_path / "clip.mp4")
    _captioned(qtbot, window, clip)
    timeline = window.timeline
    assert timeline.isVisible()
    texts = [timeline.scene_text(i) for i in range(timeline.count())]
    assert texts == ["0:00\na mostly red picture", "0:02\na mostly blue picture",
                     "0:04\na mostly green picture"]
    # The first scene is shown as the image, with its caption, as soon as it is ready.
    assert window.caption_panel.caption.text == "a mostly red picture"
    assert window.document.image is window.video.scenes[0].keyframe
    assert "clip.mp4" in window.windowTitle()
    assert window.actions_.open.isEnabled() and window.video.export_action.isEnabled()
    assert not window.status.busy.isVisible()


def test_a_dropped_video_is_captioned(qtbot, make_window, tmp_path):
    window = make_window()
    clip = make_video(tmp_path / "dropped.mkv", colours=(RED, GREEN))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)
    qtbot.waitUntil(lambda: window.timeline.count() == 2 and not window.video.busy,
                    timeout=TIMEOUT_MS)
    assert "green" in window.timeline.scene_text(1)


def test_clicking_a_scene_shows_its_frame_with_heat_maps_and_questions(qtbot, make_window,
                                                                       tmp_path):
    window = make_window()
    _captioned(qtbot, window, make_video(tmp_path / "clip.mp4"))
    timeline = window.timeline
    rect = timeline.visualItemRect(timeline.item(2))
    QTest.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.video.shown == 2, timeout=TIMEOUT_MS)
    frame = window.document.image
    r, g, b = frame.getpixel((2, 2))
    assert g > 150 and r < 80 and b < 80  # the green scene's keyframe is the image now
    assert window.caption_panel.caption.text == "a mostly green picture"
    assert window.view.has_image()
    # Its words have heat maps over the frame shown.
    span = next(s for s in window.caption_panel.caption.words if s.heatmap is not None)
    window.show_word(span)
    assert window.document.heatmap is span.heatmap
    # A question is about that frame.
    assert window.chat_panel.edit.isEnabled()
    job = window.ask("what colour is it?")
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass
    assert "green" in window.document.turns[-1].answer.text
    # Left goes back a scene when the timeline has focus.
    timeline.setFocus()
    QTest.keyClick(timeline, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.video.shown == 1, timeout=TIMEOUT_MS)
    assert window.caption_panel.caption.text == "a mostly blue picture"
    QTest.keyClick(timeline, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.video.shown == 2, timeout=TIMEOUT_MS)


def test_cancel_stops_the_video_job(qtbot, make_window, tmp_path):
    window = make_window(delay_s=0.4)  # each caption takes a while: Esc lands mid-video
    clip = make_video(tmp_path / "long.mp4", colours=(RED, BLUE, GREEN, RED, BLUE, GREEN))
    window.open_path(str(clip))
    qtbot.waitUntil(lambda: window.status.busy.isVisible()
                    and "Scene" in window.status.busy.label.text(), timeout=TIMEOUT_MS)
    assert window.status.busy.cancel_button.isVisible()
    job = window.video._job
    window.activateWindow()
    window.timeline.setFocus()
    qtbot.waitUntil(window.timeline.hasFocus, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(job.cancelled, timeout=TIMEOUT_MS):
        QTest.keyClick(window.timeline, Qt.Key.Key_Escape)  # Esc, as for images
    qtbot.waitUntil(lambda: not window.video.busy, timeout=TIMEOUT_MS)
    assert window.timeline.count() < 6  # it stopped before the end
    assert not window.status.busy.isVisible()
    assert "Stopped" in window.message_bar.text
    kept = window.timeline.count()
    QTest.qWait(1000)  # nothing more arrives once cancelled
    assert window.timeline.count() == kept


def test_export_writes_valid_srt_vtt_and_json(qtbot, make_window, tmp_path):
    window = make_window()
    _captioned(qtbot, window, make_video(tmp_path / "clip.mp4"))
    json_path = window.video.export_to(str(tmp_path / "out.srt"))
    srt = (tmp_path / "out.srt").read_text(encoding="utf-8")
    cues = srt.strip().split("\n\n")
    assert len(cues) == 3
    stamp = r"\d\d:\d\d:\d\d,\d\d\d"
    for n, (cue, colour) in enumerate(zip(cues, ("red", "blue", "green")), 1):
        number, times, text = cue.split("\n")
        assert number == str(n)
        assert re.fullmatch(f"{stamp} --> {stamp}", times)
        assert text == f"a mostly {colour} picture"
    assert cues[1].split("\n")[1].startswith("00:00:02,000")
    data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    assert [s["caption"] for s in data["scenes"]][0] == "a mostly red picture"
    assert data["scenes"][2]["start"] == pytest.approx(4.0, abs=0.2)
    assert data["scenes"][2]["end"] == pytest.approx(6.0, abs=0.2)
    window.video.export_to(str(tmp_path / "out.vtt"))
    vtt = (tmp_path / "out.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")


@pytest.mark.parametrize("kind", ["junk", "truncated"])
def test_a_broken_video_gives_one_error_naming_the_file(qtbot, make_window, tmp_path, kind):
    window = make_window()
    bad = tmp_path / "holiday.mp4"
    if kind == "junk":
        bad.write_bytes(b"this is not a video at all " * 100)
    else:
        good = make_video(tmp_path / "good.mp4").read_bytes()
        bad.write_bytes(good[:300])  # the header only: no frame survives
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: window.message_bar.isVisible() and not window.video.busy,
                    timeout=TIMEOUT_MS)
    assert "holiday.mp4" in window.message_bar.text
    assert window.message_bar.level.name == "ERROR"
    assert window.timeline.count() == 0 and not window.timeline.isVisible()
    # One clear sentence: the file named once, without FFmpeg's error number or full path.
    assert window.message_bar.text.count("holiday.mp4") == 1
    assert str(tmp_path) not in window.message_bar.text and "Errno" not in window.message_bar.text


def test_opening_an_image_hides_the_timeline(qtbot, make_window, tmp_path):
    window = make_window()
    _captioned(qtbot, window, make_video(tmp_path / "clip.mp4"))
    assert window.timeline.isVisible()
    image = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), BLUE).save(image)
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(str(image))
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None
                    and "blue" in window.caption_panel.caption.text, timeout=TIMEOUT_MS)
    assert not window.timeline.isVisible()
    assert not window.video.export_action.isEnabled()
    assert window.document.image.size == (64, 48)


def test_the_open_dialog_offers_videos(make_window, monkeypatch):
    window = make_window()
    seen: list[str] = []

    def fake_dialog(_parent, _title, _folder, filters):
        seen.append(filters)
        return "", ""

    monkeypatch.setattr("vlm_desktop.ui.window_opening.QFileDialog.getOpenFileName", fake_dialog)
    window.open_dialog()
    assert "*.mp4" in seen[0] and "*.mkv" in seen[0] and "*.avi" in seen[0]
    file_menu = window.menuBar().actions()[0].menu()
    assert window.video.export_action in file_menu.actions()


def test_a_broken_video_keeps_the_video_already_shown(qtbot, make_window, tmp_path):
    window = make_window()
    _captioned(qtbot, window, make_video(tmp_path / "clip.mp4"))
    bad = tmp_path / "broken.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3 not really matroska" * 50)
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: window.message_bar.isVisible() and not window.video.busy,
                    timeout=TIMEOUT_MS)
    assert "broken.mkv" in window.message_bar.text
    assert window.timeline.isVisible() and window.timeline.count() == 3
    assert window.video.path == str(tmp_path / "clip.mp4")
    assert "clip.mp4" in window.windowTitle()


def test_a_video_opened_from_the_clipboard_is_remembered(qtbot, make_window, tmp_path):
    window = make_window()
    clip = make_video(tmp_path / "pasted.mov", colours=(BLUE,))
    QGuiApplication.clipboard().setText(str(clip))  # a copied file path
    window.paste()
    qtbot.waitUntil(lambda: window.timeline.count() == 1 and not window.video.busy,
                    timeout=TIMEOUT_MS)
    assert "blue" in window.timeline.scene_text(0)
    assert window.settings.recent_files[0] == str(clip.resolve())


def test_a_video_damaged_partway_shows_its_first_scenes_and_says_so(qtbot, make_window,
                                                                    tmp_path):
    window = make_window()
    data = make_video(tmp_path / "whole.mkv", seconds=4).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])  # a download cut off halfway
    _captioned(qtbot, window, cut)
    assert 1 <= window.timeline.count() <= 3
    assert "red" in window.timeline.scene_text(0)
    assert window.message_bar.isVisible() and window.message_bar.level.name == "WARNING"
    assert "cut.mkv is damaged after" in window.message_bar.text


def test_a_video_opened_while_an_image_decodes_stays_open(qtbot, make_window, tmp_path):
    """Open a big image, then a video before the image is decoded: the late image must not
    replace the video (nor close its timeline) when its decode finishes."""
    window = make_window()
    big = tmp_path / "big.png"
    Image.effect_noise((4000, 3000), 64).convert("RGB").save(big)
    arrived: list[str] = []
    window.loader.loaded.connect(lambda _rid, label, *_: arrived.append(label))
    window.open_path(str(big))
    _captioned(qtbot, window, make_video(tmp_path / "clip.mp4"))
    qtbot.wait(1500)  # long enough for the image's decode to have finished
    assert arrived == []
    assert window.video.path is not None and window.timeline.isVisible()
    assert window.document.image is window.video.scenes[0].keyframe
    assert "clip.mp4" in window.windowTitle()
    assert not window.opener.opening  # the window is not waiting for the image any more
