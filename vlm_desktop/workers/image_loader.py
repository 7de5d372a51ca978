"""Decoding images off the GUI thread with the one safe loader, `core.images.load_image`.

Only the newest load's outcome is emitted: opening a second file while the first is still
decoding cancels the first (each load is a `Job` on the loader's own pool). The display
QImage is made on the pool thread too, so the GUI thread never touches a full-size decode.
"""

from __future__ import annotations

import itertools
import logging
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from vlm_desktop.core.cancel import Cancelled, JobState
from vlm_desktop.core.images import ImageLoadError, load_image
from vlm_desktop.core.messages import say
from vlm_desktop.workers.jobs import Job, OffThread

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


def qimage_to_pil(image: QImage, label: str = "") -> Image.Image:
    """An RGB PIL image from any QImage; transparency is composited on white, as files are."""
    if image.isNull() or image.width() == 0 or image.height() == 0:
        raise ImageLoadError("empty", say("{label} is empty.",
                                          label=label or say("The pasted image")))
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
    """Decodes images off the GUI thread with core.images.load_image, one job per load."""

    loaded = Signal(int, str, object, object)  # id, source label, PIL RGB image, display QImage
    failed = Signal(int, str, str)  # id, source label, user message

    def __init__(self, parent: Optional[QObject] = None,
                 max_display_side: int = MAX_DISPLAY_SIDE) -> None:
        super().__init__(parent)
        self._max_side = max_display_side
        self._ids = itertools.count(1)
        self._latest: Optional[Job] = None
        self._stopped = False
        self._pool = OffThread("image loader", max_threads=2)

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

    def cancel(self) -> bool:
        """Forget the load in progress (something else, a video, is opening instead): its
        image is never emitted. True when there was one."""
        job, self._latest = self._latest, None
        if job is None or job.done:
            return False
        job.cancel()
        return True

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Drop queued loads, wait for running ones; nothing is emitted afterwards."""
        self._stopped = True
        if not self._pool.shutdown(timeout_ms):
            log.warning("image loading did not stop within %d ms", timeout_ms)

    def _start(self, label: str, make_image: Callable[[], Image.Image]) -> int:
        if self._latest is not None:
            self._latest.cancel()  # only the newest load's outcome is wanted
        request_id = next(self._ids)
        max_side = self._max_side

        def work(state: JobState) -> tuple[Image.Image, QImage]:
            try:
                image = make_image()
                state.check()  # superseded while decoding: skip the display copy
                return image, pil_to_qimage(image, max_side)
            except MemoryError as exc:
                log.exception("out of memory loading %s", label)
                raise ImageLoadError("memory", say("There is not enough memory to open {label}.",
                                                         label=label)) from exc
            except (ImageLoadError, Cancelled):
                raise
            except Exception as exc:  # a bug or an exotic file: the user still gets a message
                log.exception("unexpected error loading %s", label)
                raise ImageLoadError("unexpected", say("Could not open {label}: {error}",
                                                                label=label, error=exc)) from exc

        job = self._pool.run(work, f"opening {label}")
        self._latest = job
        job.result.connect(lambda pair: self._emit(job, request_id, label, *pair))
        job.failed.connect(lambda message, _details: self._fail(job, request_id, label,
                                                                message))
        return request_id

    def _emit(self, job: Job, request_id: int, label: str, image: Image.Image,
              display: QImage) -> None:
        if job is self._latest and not self._stopped:
            self.loaded.emit(request_id, label, image, display)

    def _fail(self, job: Job, request_id: int, label: str, message: str) -> None:
        if job is self._latest and not self._stopped:
            self.failed.emit(request_id, label, message)
