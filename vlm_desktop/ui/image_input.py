"""What a drop or a paste asks to open: a local file, a picture, or only a note to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage

from vlm_desktop.ui.i18n import translate


@dataclass(frozen=True)
class ToOpen:
    """The file or the picture to open (at most one), and a note for the user."""

    path: Optional[str] = None
    image: Optional[QImage] = None
    note: str = ""


def read_mime(mime: QMimeData) -> Optional[ToOpen]:
    """What `mime` carries that can be opened; None if nothing at all."""
    urls = mime.urls() if mime.hasUrls() else []
    if not urls and mime.hasText():
        text = mime.text().strip().splitlines()[0].strip() if mime.text().strip() else ""
        urls = [QUrl(text) if "://" in text else QUrl.fromLocalFile(text)] if text else []
    local = [u.toLocalFile() for u in urls if u.isLocalFile()]
    if local:
        note = (translate("ImageInput", "Opened the first of {n} files: one image is shown at "
                          "a time.").format(n=len(local)) if len(local) > 1 else "")
        return ToOpen(path=local[0], note=note)
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            return ToOpen(image=image)
    if urls:
        return ToOpen(note=translate(
            "ImageInput", "{url} is not a file on this computer. VLM Desktop works offline: save "
            "the image first, then open the file.").format(url=urls[0].toString()))
    return None
