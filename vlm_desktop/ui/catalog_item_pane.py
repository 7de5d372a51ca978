"""The selected catalog item: its picture, title and details, and what can be done with it."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.store import CatalogItem
from vlm_desktop.core.engine.types import HeatMap
from vlm_desktop.ui.catalog_model import price_text

ITEM_SIDE = 112  # the item pane's picture
WHY_OPACITY = 0.8  # the picture is small: a stronger tint than the main view


class ItemPane(QWidget):
    """Shows one item; its buttons say what the user asked for, the panel does it."""

    open_clicked = Signal()
    more_clicked = Signal()
    bought_clicked = Signal()
    why_toggled = Signal(bool)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.item_image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.item_image.setFixedSize(ITEM_SIDE, ITEM_SIDE)
        self.item_image.setAccessibleName(self.tr("Item picture"))
        self.item_title = QLabel(wordWrap=True)
        self.item_title.setStyleSheet("font-weight: bold")
        self.item_details = QLabel(wordWrap=True)
        self.open_button = _tool_button(self.tr("Open"),
                                        self.tr("Open this item as the current image (Enter)"))
        self.more_button = _tool_button(self.tr("More like this"),
                                        self.tr("Search the catalog for items like this"))
        self.bought_button = _tool_button(self.tr("Bought"), self.tr(
            "Mark as bought: recommendations follow your purchases"))
        self.why_button = _tool_button(self.tr("Why similar?"), self.tr(
            "Show which regions of this item and of the current image match"))
        self.why_button.setCheckable(True)
        self._lay_out()
        self.setAccessibleName(self.tr("Selected item"))
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setVisible(False)  # shown once an item is selected: no empty block meanwhile
        self.open_button.clicked.connect(self.open_clicked)
        self.more_button.clicked.connect(self.more_clicked)
        self.bought_button.clicked.connect(self.bought_clicked)
        self.why_button.toggled.connect(self.why_toggled)

    def _lay_out(self) -> None:
        buttons = QGridLayout()
        buttons.setSpacing(4)
        for i, b in enumerate((self.open_button, self.more_button, self.bought_button,
                               self.why_button)):
            b.setEnabled(False)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b, i // 2, i % 2)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.addWidget(self.item_title)
        text.addWidget(self.item_details)
        text.addStretch(1)
        text.addLayout(buttons)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 4, 0, 4)
        row.addWidget(self.item_image, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)

    def show_item(self, item: Optional[CatalogItem], path: str, can_compare: bool) -> None:
        """Show `item` (its picture at `path`), or hide the pane for None."""
        for b in (self.open_button, self.more_button, self.bought_button):
            b.setEnabled(item is not None)
        self.why_button.setEnabled(item is not None and can_compare)
        self._pixmap = QPixmap()
        self.setVisible(item is not None)
        if item is None:
            self.item_title.clear()
            self.item_details.clear()
            self.item_image.clear()
            return
        self.item_title.setText(item.title)
        lines = [price_text(item), item.category, ", ".join(item.tags)]
        self.item_details.setText("\n".join(x for x in lines if x))
        pix = QPixmap(path)
        if not pix.isNull():
            self._pixmap = pix.scaled(ITEM_SIDE, ITEM_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
        self.item_image.setPixmap(self._pixmap)

    def show_map(self, heat: Optional[HeatMap]) -> None:
        """Lay `heat` over the item's picture ("why similar"); None shows it plain."""
        if heat is None or self._pixmap.isNull():
            self.item_image.setPixmap(self._pixmap)
            return
        from vlm_desktop.ui.overlay_controls import heatmap_qimage

        pix = QPixmap(self._pixmap)
        painter = QPainter(pix)
        painter.setOpacity(WHY_OPACITY)
        painter.drawImage(pix.rect(), heatmap_qimage(heat, (pix.width(), pix.height())))
        painter.end()
        self.item_image.setPixmap(pix)


def _tool_button(text: str, tip: str) -> QToolButton:
    b = QToolButton(text=text)
    b.setToolTip(tip)
    b.setAccessibleName(text)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return b
