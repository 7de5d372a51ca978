"""The catalog panel's foot: which model indexes the catalog, how far it has come, and
Pause/Resume and Cancel while it runs."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.ui.catalog_texts import progress_text
from vlm_desktop.ui.i18n import fill


class IndexBar(QWidget):
    """Shows indexing progress and states; says when the user pauses, resumes or cancels."""

    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._paused = False  # the Pause button resumes (its text is translated)
        self.progress = QProgressBar()
        self.pause_button = QPushButton(self.tr("Pause"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.pause_button.setAccessibleName(self.tr("Pause or resume indexing"))
        self.pause_button.setToolTip(self.tr("Pause indexing; press again to resume"))
        self.cancel_button.setAccessibleName(self.tr("Cancel indexing"))
        self.cancel_button.setToolTip(self.tr("Stop indexing; items indexed so far are kept"))
        self.label = QLabel("", wordWrap=True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.label)
        row = QHBoxLayout()
        for w in (self.progress, self.pause_button, self.cancel_button):
            row.addWidget(w)
            w.setVisible(False)
        column.addLayout(row)
        self.pause_button.clicked.connect(
            lambda: (self.resume_requested if self._paused else self.pause_requested).emit())
        self.cancel_button.clicked.connect(self.cancel_requested)

    def show_progress(self, p: IndexProgress, model: str) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int(100 * p.fraction))
        message = progress_text(p)
        self.label.setText(f"{model}: {message}" if model else message)

    def show_state(self, state: str, model: str) -> None:
        """"running" | "paused" | "finished" | "cancelled" | "failed" of an indexing run."""
        running = state in ("running", "paused")
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(running)
        self._paused = state == "paused"
        self.pause_button.setText(self.tr("Resume") if self._paused else self.tr("Pause"))
        if state == "finished":
            self.label.setText(fill(self.tr("Catalog indexed with {name}."), name=model)
                               if model else self.tr("Catalog indexed."))
        elif state == "cancelled":
            self.label.setText(self.tr("Indexing cancelled; items indexed so far are kept."))
        elif state == "failed":
            self.label.setText(self.tr("Indexing failed; items indexed so far are kept."))
        elif state == "paused":
            self.label.setText(self.tr("Indexing paused."))
