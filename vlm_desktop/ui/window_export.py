"""File ▸ Export Image with Overlay…: the image with the shown heat map, saved as a PNG off
the GUI thread. Its texts keep the "MainWindow" translation context they were written in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.message_bar import Level
from vlm_desktop.workers.jobs import Job

# The window is typed as Any: importing MainWindow here would make an import
# cycle (it builds this object); the attributes used are MainWindow's.


class OverlayExport(QObject):
    """Asks where to save and renders there; `busy` while a render runs."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.w = window
        self._jobs: set[Job] = set()

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def dialog(self) -> None:
        w = self.w
        if w.image is None or w.heatmap is None:
            w.message_bar.show_message(translate(
                "MainWindow", "Click a highlighted word first: the export shows its heat map."),
                Level.INFO)
            return
        stem = Path(w.image_label).stem or "image"
        suggested = str(Path(w.settings.last_folder) / f"{stem}-{w.heatmap.label}.png")
        path, _ = QFileDialog.getSaveFileName(
            w, translate("MainWindow", "Export Image with Overlay"), suggested,
            translate("MainWindow", "PNG image (*.png)"))
        if path:
            self.to(path if path.lower().endswith(".png") else path + ".png")

    def to(self, path: str) -> Job:
        """Render and save the overlay off the GUI thread (big photos take a while); no
        model is involved, so it never waits behind one."""
        w = self.w
        image, heatmap, opacity = w.image, w.heatmap, w.overlay_controls.opacity

        def render(_state: object) -> str:
            from vlm_desktop.core.explain.overlay import overlay

            overlay(image, heatmap, opacity).save(path, "PNG")
            return path

        job = w.background.run(render, "export")
        self._jobs.add(job)
        job.result.connect(lambda saved: w.message_bar.show_message(
            translate("MainWindow", "Saved {path}").format(path=saved), Level.INFO))
        job.failed.connect(lambda message, details: w.message_bar.show_error(
            translate("MainWindow", "Could not export the image: {message}").format(
                message=message), details))
        job.finished.connect(lambda: (self._jobs.discard(job), w.refresh_state()))
        w.refresh_state()
        return job
