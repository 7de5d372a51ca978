"""The video timeline under the image: one thumbnail per scene with its time and caption.

A horizontal, scrollable strip (a `QListWidget` in icon mode laid out left to right, so
Left/Right move between scenes when it has focus, and screen readers see a list). Choosing a
scene, by click or key, emits `scene_chosen(index)`; the window shows that keyframe.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

THUMB_W, THUMB_H = 144, 81  # 16:9; other shapes are letterboxed inside it
CELL_W = THUMB_W + 24
TEXT_LINES = 3  # the time, then up to two lines of caption


def short_clock(seconds: float) -> str:
    """A scene's start as shown under its thumbnail: "1:05", or "1:02:05" past an hour."""
    total = int(max(0.0, seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class VideoTimeline(QListWidget):
    """The scenes of the open video, in order; hidden while no video is open."""

    scene_chosen = Signal(int)  # index of the scene to show

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoTimeline")
        self.setAccessibleName(self.tr("Video scenes"))
        self.setToolTip(self.tr("The video's scenes: click one, or use Left and Right, to "
                                "show its frame and ask about it"))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setIconSize(QSize(THUMB_W, THUMB_H))
        line = self.fontMetrics().lineSpacing()
        self.setGridSize(QSize(CELL_W, THUMB_H + TEXT_LINES * line + 14))
        scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.setFixedHeight(self.gridSize().height() + scrollbar + 2 * self.frameWidth() + 4)
        self.currentRowChanged.connect(self._on_row)
        self.hide()

    def add_scene(self, start_s: float, end_s: float, caption: str, frame: QImage) -> int:
        """Append one scene; returns its index."""
        item = QListWidgetItem(self._icon(frame), f"{short_clock(start_s)}\n{caption}")
        item.setToolTip(self.tr("{start}–{end}: {caption}").format(
            start=short_clock(start_s), end=short_clock(end_s), caption=caption))
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, self.tr("Scene at {start}: {caption}")
                     .format(start=short_clock(start_s), caption=caption))
        self.addItem(item)
        return self.count() - 1

    def scene_text(self, index: int) -> str:
        """What the scene's cell shows: its time and caption."""
        item = self.item(index)
        return item.text() if item is not None else ""

    def clear_scenes(self) -> None:
        self.blockSignals(True)  # clearing is not a choice of scene
        self.clear()
        self.blockSignals(False)

    @staticmethod
    def _icon(frame: QImage) -> QIcon:
        canvas = QPixmap(THUMB_W, THUMB_H)
        canvas.fill(Qt.GlobalColor.black)
        scaled = QPixmap.fromImage(frame).scaled(
            THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation)
        painter = QPainter(canvas)
        painter.drawPixmap((THUMB_W - scaled.width()) // 2, (THUMB_H - scaled.height()) // 2,
                           scaled)
        painter.end()
        return QIcon(canvas)

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.scene_chosen.emit(row)
