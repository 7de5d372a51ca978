"""How an image reaches the window: File ▸ Open, drops, the clipboard, recent files and
video keyframes, decoded off the GUI thread and handed to the document.

Its texts keep the "MainWindow" translation context they were written in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QMimeData, QObject
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from vlm_desktop import APP_NAME
from vlm_desktop.core.images import file_dialog_filter
from vlm_desktop.core.video import is_video
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.image_input import read_mime
from vlm_desktop.ui.message_bar import Level
from vlm_desktop.ui.video_controller import video_dialog_filter

# The window is typed as Any: importing MainWindow here would make an import
# cycle (it builds this object); the attributes used are MainWindow's.


class ImageOpener(QObject):
    """Opens what the user points at; `opening` is True while an image is being decoded."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.w = window
        self.opening = False

    def connect(self) -> None:
        w = self.w
        w.loader.loaded.connect(self._on_image_loaded)
        w.loader.failed.connect(self._on_image_failed)
        w.view.mime_dropped.connect(self.open_mime_data)
        w.video.frame_shown.connect(self._on_frame_shown)
        w.video.opened.connect(self.remember)

    def open_dialog(self) -> None:
        videos = translate("MainWindow", "Videos ({0})").format(video_dialog_filter())
        path, _ = QFileDialog.getOpenFileName(
            self.w, translate("MainWindow", "Open Image"), self.w.settings.last_folder,
            translate("MainWindow", "{images};;{videos};;All files (*)").format(
                images=file_dialog_filter(), videos=videos))
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """Decode `path` off the GUI thread; the image appears when it is ready. A video's
        scenes are read and captioned on the model's worker instead."""
        if is_video(path):
            if self.w.loader.cancel():  # an image still decoding must not replace the video
                self.opening = False
            self.w.video.open(path)
            return
        self.opening = True
        self.w.loader.load_path(path)
        self.w.refresh_state()

    def paste(self) -> None:
        """Open the clipboard's image, file, file path or file URL."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.open_mime_data(mime):
            self.w.message_bar.show_message(translate(
                "MainWindow", "The clipboard holds no image and no path of an image file."),
                Level.INFO)

    def open_mime_data(self, mime: QMimeData) -> bool:
        """Open what a drop or paste carries; returns False if there is nothing to open."""
        wanted = read_mime(mime)
        if wanted is None:
            return False
        if wanted.note:
            self.w.message_bar.show_message(wanted.note, Level.INFO)
        if wanted.path is not None:
            self.open_path(wanted.path)
        elif wanted.image is not None:
            self.opening = True
            self.w.loader.load_qimage(wanted.image, translate("MainWindow", "Pasted image"))
            self.w.refresh_state()
        return True

    def _on_image_loaded(self, _rid: int, label: str, image: Image.Image, qimage: QImage) -> None:
        w = self.w
        self.opening = False
        w.view.set_image(qimage)
        w.video.close()  # an image replaces the video and its timeline
        w.document.set_image(image, label)  # work about the previous image ends here
        w.message_bar.dismiss()
        name = Path(label).name if Path(label).exists() else label
        self._title(name)
        self.remember(label)
        if w.catalog_panel is not None:  # searched with the catalog's own model
            w.catalog_panel.show_similar_to(image)
        if w.client.has_engine() and w.info is not None:
            w.caption_current()
        w.refresh_state()

    def _on_frame_shown(self, label: str) -> None:
        """A video scene's keyframe is the image now (the timeline chose it)."""
        self._title(label)
        if self.w.catalog_panel is not None and self.w.image is not None:
            self.w.catalog_panel.show_similar_to(self.w.image)

    def _title(self, name: str) -> None:
        self.w.setWindowTitle(translate("MainWindow", "{name} — {app}").format(
            name=name, app=APP_NAME))

    def remember(self, label: str) -> None:
        """Put an opened file first in File ▸ Open Recent and start the next dialog there."""
        if Path(label).is_file():
            settings = self.w.settings
            settings.add_recent_file(str(Path(label).resolve()))
            settings.last_folder = str(Path(label).resolve().parent)
            self.w.refresh_recent()

    def _on_image_failed(self, _rid: int, label: str, message: str) -> None:
        self.opening = False
        self.w.message_bar.show_error(
            translate("MainWindow", "Could not open the image: {message}").format(message=message))
        self.w.refresh_state()
