"""A view of catalog tiles (thumbnail, title, price, a third line) that says what to do
when it is empty; the similar-items grid and the recommendations shelf are both one."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPalette, QPaintEvent
from PySide6.QtWidgets import QListView, QWidget

from vlm_desktop.ui.catalog_model import CatalogGridModel, GridDelegate

ICON_SIDE = 80
TILE_WIDTH = 102  # three columns fit a 360-px dock


class TileView(QListView):
    """Tiles of a CatalogGridModel; `shelf` lays them in one scrolling row."""

    def __init__(self, model: CatalogGridModel, shelf: bool = False,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._empty = ""
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        delegate = GridDelegate(icon_side=ICON_SIDE, width=TILE_WIDTH, parent=self)
        cell = delegate.cell_size(self.fontMetrics()) + QSize(4, 4)
        self.setGridSize(cell)
        self.setUniformItemSizes(True)
        self.setItemDelegate(delegate)
        self.setModel(model)
        if shelf:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(False)
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            bar = self.horizontalScrollBar().sizeHint().height()
            self.setFixedHeight(cell.height() + bar + 2 * self.frameWidth() + 4)

    def set_empty_text(self, text: str) -> None:
        """The words shown in the view while it has no tiles (what to do next)."""
        if text != self._empty:
            self._empty = text
            self.viewport().update()

    def empty_text(self) -> str:
        return self._empty

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.model().rowCount() or not self._empty:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = QRect(self.viewport().rect()).adjusted(16, 16, -16, -16)
        painter.drawText(area, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, self._empty)
        painter.end()
