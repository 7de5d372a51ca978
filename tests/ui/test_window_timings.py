"""The status bar's timings are honest: the time the user waited for a caption or an answer
(not only the part the model measured), and "encode cached" when the image's encoding from
an earlier request was reused rather than a suspiciously small encode time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.types import Answer, Caption
from vlm_desktop.ui.main_window import MainWindow
from vlm_desktop.ui.settings import AppSettings

TIMEOUT_MS = 20000
SLEEP_S = 0.3


class EncodingEngine(FakeEngine):
    """Sleeps SLEEP_S to "encode" an image it has not seen, reports its steps the way the
    built-in model does (encode and the step itself), and reuses the encoding after."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[bytes] = set()

    def _encode(self, image: Image.Image) -> tuple[dict[str, float], tuple[str, ...]]:
        key = image.tobytes()
        if key in self._seen:
            return {"encode": 0.5}, ("encode",)
        self.delay_s = SLEEP_S
        self._work(None)
        self.delay_s = 0.0
        self._seen.add(key)
        return {"encode": SLEEP_S * 1000}, ()

    def caption(self, image, state=None) -> Caption:
        steps, cached = self._encode(image)
        cap = super().caption(image, state)
        return Caption(cap.text, cap.confidence, cap.words, cap.evidence,
                       {**steps, "caption": 1.0}, cached)

    def answer(self, image, question, state=None) -> Answer:
        steps, cached = self._encode(image)
        a = super().answer(image, question, state)
        return Answer(a.question, a.text, a.confidence, a.kind, a.heatmap, a.words, a.evidence,
                      {**steps, "answer": 1.0}, cached)


def _shown_ms(text: str, step: str) -> float:
    """The time the status bar gives for `step` ("caption 305 ms", "caption 2.31 s")."""
    found = re.search(rf"{step} ([\d.]+) (ms|s)\b", text)
    assert found, text
    return float(found.group(1)) * (1000 if found.group(2) == "s" else 1)


@pytest.fixture()
def window_on(shown_windows, tmp_path):
    def make(engine_factory) -> MainWindow:
        settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, device="cpu", device_lister=None, with_catalog=False,
                            resolve_factory=engine_factory)
        return shown_windows(window)

    return make


def _open(qtbot, window: MainWindow, path: str) -> None:
    with qtbot.waitSignal(window.loader.loaded, timeout=TIMEOUT_MS):
        window.open_path(path)
    qtbot.waitUntil(lambda: window.caption_panel.caption is not None, timeout=TIMEOUT_MS)


def _ask(qtbot, window: MainWindow, question: str) -> None:
    window.ask(question)
    qtbot.waitUntil(lambda: window.chat_panel.entries[-1].answer is not None, timeout=TIMEOUT_MS)


def _photo(tmp_path: Path, colour=(200, 40, 40)) -> str:
    path = tmp_path / f"photo-{colour[0]}.png"
    Image.new("RGB", (64, 48), colour).save(path)
    return str(path)


def test_the_status_gives_the_time_waited_not_only_what_the_model_reported(qtbot, window_on,
                                                                           tmp_path):
    # The fake model reports "caption 1 ms" but takes SLEEP_S: the user waited SLEEP_S.
    window = window_on(lambda name: (lambda choice: FakeEngine(delay_s=SLEEP_S)))
    _open(qtbot, window, _photo(tmp_path))
    assert _shown_ms(window.status.timings.text(), "caption") >= SLEEP_S * 1000
    _ask(qtbot, window, "What colour is it?")
    assert _shown_ms(window.status.timings.text(), "answer") >= SLEEP_S * 1000
    assert "request to the result" in window.status.timings.toolTip()


def test_a_reused_encoding_is_said_to_be_cached(qtbot, window_on, tmp_path):
    window = window_on(lambda name: (lambda choice: EncodingEngine()))
    _open(qtbot, window, _photo(tmp_path))
    text = window.status.timings.text()
    assert _shown_ms(text, "caption") >= SLEEP_S * 1000 and "cached" not in text
    assert _shown_ms(text, "encode") >= SLEEP_S * 1000
    _ask(qtbot, window, "What colour is it?")
    text = window.status.timings.text()
    assert "encode cached" in text and "answer" in text, text
    assert "already encoded" in window.status.timings.toolTip()
    _open(qtbot, window, _photo(tmp_path, (30, 30, 220)))  # a new image is encoded again
    assert "cached" not in window.status.timings.text()


@pytest.mark.slow
def test_the_built_in_model_says_cached_on_the_second_request(qtbot, window_on):
    import skimage

    from vlm_desktop.core.engine import registry

    window = window_on(lambda name: registry.engine_factory(name))
    _open(qtbot, window, str(Path(skimage.__file__).parent / "data" / "chelsea.png"))
    first = window.status.timings.text()
    assert "cached" not in first and _shown_ms(first, "caption") >= _shown_ms(first, "encode")
    _ask(qtbot, window, "What colour is the cat?")
    assert "encode cached" in window.status.timings.text()


def test_time_spent_waiting_behind_other_work_is_named():
    from vlm_desktop.ui.status_bar import timings_text

    # 1.4 s waited for a 40 ms answer: the model was busy with something else first.
    text = timings_text("answer", 1400, {"encode": 0.7, "answer": 40}, ("encode",))
    assert text.startswith("answer 1.40 s") and "encode cached" in text and "queued" in text
    assert "queued" not in timings_text("caption", 320, {"encode": 300, "caption": 6})
