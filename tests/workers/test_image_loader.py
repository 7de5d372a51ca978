"""The image loader: decodes off the GUI thread, reports clear errors, newest load wins."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor, QImage

from vlm_desktop.core.images import ImageLoadError, load_image
from vlm_desktop.workers.image_loader import ImageLoader

TIMEOUT_MS = 5000


@pytest.fixture()
def loader(qtbot):
    il = ImageLoader()
    yield il
    il.shutdown(TIMEOUT_MS)


def _png(path, size, colour):
    Image.new("RGB", size, colour).save(path)
    return str(path)


def test_loads_a_real_file_as_pil_and_display_image(loader, qtbot, tmp_path):
    path = _png(tmp_path / "red.png", (64, 48), (200, 10, 10))
    with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS) as blocker:
        rid = loader.load_path(path)
    got_id, label, image, display = blocker.args
    assert (got_id, label) == (rid, path)
    assert image.mode == "RGB" and image.size == (64, 48)
    assert (display.width(), display.height()) == (64, 48)
    assert display.pixelColor(63, 47) == QColor(200, 10, 10)


def test_display_image_is_capped_but_the_model_gets_full_resolution(qtbot, tmp_path):
    loader = ImageLoader(max_display_side=500)
    path = _png(tmp_path / "wide.png", (1001, 40), (10, 120, 240))
    try:
        with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS) as blocker:
            loader.load_path(path)
    finally:
        loader.shutdown(TIMEOUT_MS)
    _, _, image, display = blocker.args
    assert image.size == (1001, 40)
    assert (display.width(), display.height()) == (500, 20)
    assert display.pixelColor(250, 10) == QColor(10, 120, 240)


def test_a_bad_file_reports_the_loaders_own_message(loader, qtbot, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with pytest.raises(ImageLoadError) as expected:
        load_image(str(bad))
    with qtbot.waitSignal(loader.failed, timeout=TIMEOUT_MS) as blocker:
        rid = loader.load_path(str(bad))
    assert blocker.args == [rid, str(bad), str(expected.value)]
    assert "notes.png" in blocker.args[2]


def test_only_the_newest_load_is_reported(loader, qtbot, tmp_path):
    first = _png(tmp_path / "first.png", (300, 200), (255, 0, 0))
    second = _png(tmp_path / "second.png", (30, 20), (0, 255, 0))
    reported: list[str] = []
    loader.loaded.connect(lambda rid, label, image, display: reported.append(label))
    loader.failed.connect(lambda rid, label, message: reported.append(label))
    loader.load_path(first)
    with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS):
        loader.load_path(second)
    loader.shutdown(TIMEOUT_MS)  # lets the first load finish, if it started at all
    QCoreApplication.processEvents()
    assert reported == [second]


def test_bytes_load_uses_the_given_label(loader, qtbot):
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (0, 0, 255)).save(buf, format="JPEG", quality=95)
    with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS) as blocker:
        loader.load_bytes(buf.getvalue(), "clipboard.jpg")
    _, label, image, _ = blocker.args
    assert label == "clipboard.jpg" and image.size == (8, 6)


def test_pasted_qimage_with_transparency_lands_on_white(loader, qtbot):
    pasted = QImage(4, 2, QImage.Format.Format_ARGB32)
    pasted.fill(QColor(0, 0, 0, 0))
    pasted.setPixelColor(3, 1, QColor(0, 128, 0, 255))
    with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS) as blocker:
        loader.load_qimage(pasted, "Pasted image")
    _, label, image, display = blocker.args
    assert label == "Pasted image" and image.mode == "RGB" and image.size == (4, 2)
    assert image.getpixel((0, 0)) == (255, 255, 255)
    assert image.getpixel((3, 1)) == (0, 128, 0)
    assert display.pixelColor(3, 1) == QColor(0, 128, 0)


def test_an_empty_pasted_image_is_a_clear_failure(loader, qtbot):
    with qtbot.waitSignal(loader.failed, timeout=TIMEOUT_MS) as blocker:
        loader.load_qimage(QImage(), "Pasted image")
    assert blocker.args[2] == "Pasted image is empty."


def test_a_cancelled_load_never_arrives(loader, qtbot, tmp_path):
    """A video opened while a big image decodes: the image must not replace it later."""
    path = _png(tmp_path / "big.png", (4000, 3000), (10, 200, 10))
    arrived: list[str] = []
    loader.loaded.connect(lambda _rid, label, *_: arrived.append(label))
    loader.failed.connect(lambda _rid, label, _m: arrived.append(label))
    loader.load_path(path)
    assert loader.cancel() is True
    qtbot.wait(1500)  # long enough for the decode to finish and (wrongly) be reported
    assert arrived == []
    assert loader.cancel() is False  # nothing left to cancel
    with qtbot.waitSignal(loader.loaded, timeout=TIMEOUT_MS):  # and the loader still works
        loader.load_path(_png(tmp_path / "small.png", (8, 8), (1, 2, 3)))
