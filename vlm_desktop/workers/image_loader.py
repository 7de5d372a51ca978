"""Decoding images off the GUI thread with the one safe loader, `core.images.load_image`.

Only the newest load's outcome is emitted: opening a second file while the first is still
decoding drops the first. The display QImage is made on the pool thread too, so the GUI
thread never touches a full-size decode.
"""

from __future__ import annotations

import itertools
import logging
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from vlm_desktop.core.images import ImageLoadError, load_image
from vlm_desktop.workers import threads

log = logging.getLogger("vlm_desktop.worker")

MAX_DISPLAY_SIDE = 4096  # beyond this a screen shows no more detail; memory still grows


def pil_to_qimage(image: Image.Image, max_side: int = MAX_DISPLAY_SIDE) -> QImage:
    """An RGB QImage that owns its pixels, downscaled so its long side is at most `max_side`."""
    w, h = image.size
    if max(w, h) > max_side:
        scale = max_side / max(w, h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    data = image.tobytes()
    # QImage only borrows `data`; the conversion gives it a buffer of its own. RGB32 is the
    # raster engine's native format, so QPixmap.fromImage on the GUI thread is a cheap copy
    # (RGB888 cost ~60 ms there for a 4096-px image).
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_RGB32
    )


def qimage_to_pil(image: QImage, label: str = "The pasted image") -> Image.Image:
    """An RGB PIL image from any QImage; transparency is composited on white, as files are."""
    if image.isNull() or image.width() == 0 or image.height() == 0:
        raise ImageLoadError("empty", f"{label} is empty.")
    alpha = image.hasAlphaChannel()
    fmt = QImage.Format.Format_RGBA8888 if alpha else QImage.Format.Format_RGB888
    converted = image.convertToFormat(fmt)
    w, h, stride = converted.width(), converted.height(), converted.bytesPerLine()
    mode = "RGBA" if alpha else "RGB"
    pixels = Image.frombuffer(mode, (w, h), bytes(converted.constBits()), "raw", mode, stride, 1)
    if not alpha:
        return pixels.copy()
    white = Image.new("RGBA", (w, h), (255, 255, 255, 255))
    return Image.alpha_composite(white, pixels).convert("RGB")


class ImageLoader(QObject):
    """Decodes images off the GUI thread (QThreadPool) with core.images.load_image."""

    loaded = Signal(int, str, object, object)  # id, source label, PIL RGB image, display QImage
    failed = Signal(int, str, str)  # id, source label, user message

    _done = Signal(int, str, object, object, str)  # from the pool: error is "" on success

    def __init__(self, parent: Optional[QObject] = None,
                 max_display_side: int = MAX_DISPLAY_SIDE) -> None:
        super().__init__(parent)
        self._max_side = max_display_side
        self._ids = itertools.count(1)
        self._latest = 0  # also read by pool threads, to skip work already superseded
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(2)
        threads.register(self._pool, "image loader", stop=self.shutdown)
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def load_path(self, path: str) -> int:
        """Load an image file; the label reported back is `path` as given."""
        return self._start(path, lambda: load_image(path))

    def load_bytes(self, data: bytes, label: str) -> int:
        """Load an image from the bytes of a file (a download, the clipboard's file data)."""
        return self._start(label, lambda: load_image(data))

    def load_qimage(self, image: QImage, label: str) -> int:
        """Take an already decoded QImage (a clipboard picture); converted to PIL off thread."""
        snapshot = QImage(image)  # implicitly shared copy: safe to read on another thread
        return self._start(label, lambda: qimage_to_pil(snapshot, label))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Drop queued loads, wait for running ones; nothing is emitted afterwards."""
        self._latest = -1
        self._pool.clear()
        if not self._pool.waitForDone(timeout_ms):
            log.warning("image loading did not stop within %d ms", timeout_ms)

    def _start(self, label: str, make_image: Callable[[], Image.Image]) -> int:
        request_id = next(self._ids)
        self._latest = request_id
        self._pool.start(lambda: self._work(request_id, label, make_image))
        return request_id

    def _work(self, request_id: int, label: str, make_image: Callable[[], Image.Image]) -> None:
        """Runs on a pool thread."""
        if request_id != self._latest:
            return  # a newer load was asked for before this one began
        try:
            image = make_image()
            display = pil_to_qimage(image, self._max_side)
        except ImageLoadError as exc:
            log.info("could not load %s: %s", label, exc)
            self._done.emit(request_id, label, None, None, str(exc))
        except MemoryError:
            log.exception("out of memory loading %s", label)
            self._done.emit(request_id, label, None, None,
                            f"There is not enough memory to open {label}.")
        except Exception as exc:  # a bug or an exotic file: the user still gets a message
            log.exception("unexpected error loading %s", label)
            self._done.emit(request_id, label, None, None, f"Could not open {label}: {exc}")
        else:
            self._done.emit(request_id, label, image, display, "")

    @Slot(int, str, object, object, str)
    def _on_done(self, request_id: int, label: str, image: object, display: object,
                 error: str) -> None:
        if request_id != self._latest:
            return  # superseded while decoding
        if error:
            self.failed.emit(request_id, label, error)
        else:
            self.loaded.emit(request_id, label, image, display)
