"""Catalog thumbnails off the GUI thread, cached on disk: one job per picture."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Optional

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from vlm_desktop.core import paths
from vlm_desktop.core.cancel import JobState
from vlm_desktop.workers.jobs import OffThread

log = logging.getLogger(__name__)

THUMB_SIDE = 96


def make_thumbnail(source: str, cache: Path) -> QImage:
    """The thumbnail of `source`, made once and kept at `cache`; a null QImage when the
    file cannot be read (the item still lists, without a picture)."""
    try:
        if not cache.is_file():
            from vlm_desktop.core.images import load_image

            # Decoded big enough to crop empty margins and still fill the tile sharply.
            image = _thumbnail(load_image(source, max_side=4 * THUMB_SIDE), source)
            tmp = cache.with_suffix(".tmp.png")
            image.save(tmp)
            tmp.replace(cache)  # atomic: a half-written thumbnail is never read
        return QImage(str(cache))
    except Exception as exc:  # a broken file gets no thumbnail; the item still lists
        log.info("no thumbnail for %s: %s", source, exc)
        return QImage()


def _thumbnail(image: Image.Image, source: str) -> Image.Image:
    """The picture's used area, fitted in THUMB_SIDE: clip art keeps its transparency, a
    plain sheet behind a drawing becomes transparent (no white block on a selected tile)
    and empty margins go (no tiny drawing)."""
    from vlm_desktop.core.catalog.cutout import cut_out_background

    with Image.open(source) as raw:  # load_image already vetted this file
        has_alpha = raw.mode in ("RGBA", "LA", "PA") or "transparency" in raw.info
        if has_alpha and not getattr(raw, "is_animated", False):
            image = raw.convert("RGBA")
    box = image.getchannel("A").getbbox() if image.mode == "RGBA" else None
    if box is not None:
        image = image.crop(box)
    # Cut out at twice the thumbnail's size: cheap at any source size, sharp enough edges.
    image.thumbnail((2 * THUMB_SIDE, 2 * THUMB_SIDE), Image.Resampling.LANCZOS)
    image = cut_out_background(image)
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return image


class ThumbnailLoader(QObject):
    """Thumbnails by file path, made on a pool of two threads and cached under cache_dir()."""

    ready = Signal(str, QImage)  # the path asked for, its thumbnail (null if unreadable)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = OffThread("catalog thumbnails", max_threads=2)
        self._memory: dict[str, QImage] = {}
        self._pending: set[str] = set()
        self._dir = paths.cache_dir() / "thumbnails"
        self._dir.mkdir(parents=True, exist_ok=True)

    def get(self, path: str) -> Optional[QImage]:
        """The thumbnail if ready; otherwise None and `ready` follows."""
        if path in self._memory:
            return self._memory[path]
        if path not in self._pending:
            self._pending.add(path)
            cache = self._cache_path(path)

            def work(_state: JobState) -> QImage:
                return make_thumbnail(path, cache)

            job = self._pool.run(work, "thumbnail")
            job.result.connect(lambda image: self._on_done(path, image))
        return None

    def _cache_path(self, path: str) -> Path:
        try:
            st = Path(path).stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = ""
        # "v3": plain backgrounds are cut out since then (v2: transparency kept, margins cut)
        key = hashlib.blake2b(f"{path}|{stamp}|{THUMB_SIDE}|v3".encode(), digest_size=12)
        return self._dir / f"{key.hexdigest()}.png"

    def _on_done(self, key: str, image: QImage) -> None:
        self._pending.discard(key)
        self._memory[key] = image
        self.ready.emit(key, image)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.shutdown(timeout_ms)
