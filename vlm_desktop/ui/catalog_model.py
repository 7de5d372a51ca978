"""The list model behind the catalog's thumbnail grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QIcon,
    QImage,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from vlm_desktop.core.catalog.store import CatalogItem
from vlm_desktop.ui.i18n import translate
from vlm_desktop.workers.thumbnails import THUMB_SIDE, ThumbnailLoader

ItemRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
LinesRole = Qt.ItemDataRole.UserRole + 3  # (title, price, score) for the grid's delegate

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class GridEntry:
    """One cell: the item, its file, its score and an optional note (e.g. "because …")."""

    item: CatalogItem
    path: str
    score: Optional[float] = None  # the cosine similarity shown as "match"
    note: str = ""  # the third line instead of the match (e.g. a recommendation's reason)
    words: bool = False  # the item's title, tags or category hold words of the query
    tip: str = ""  # more detail for the tooltip


MATCH_TIP = QT_TRANSLATE_NOOP(
    "CatalogModel", "match: how alike the item's picture is to the query (cosine similarity of "
    "the model's vectors; 1 would be the same picture). A similarity, not a probability: "
    "levels differ between models; compare items, not absolute numbers.")


def match_text(entry: GridEntry) -> str:
    """The cell's third line: "match 0.71", "+ words" when the query's words matched too."""
    if entry.note:
        return entry.note
    if entry.score is None:
        return translate("CatalogModel", "words match") if entry.words else ""
    return translate("CatalogModel", "match {score}").format(score=f"{entry.score:.2f}") + (
        translate("CatalogModel", " + words") if entry.words else "")


def price_text(item: CatalogItem) -> str:
    if item.price is None:
        return ""
    return f"{item.price:,.2f} {item.currency}".strip()


class CatalogGridModel(QAbstractListModel):
    """Entries with titles, prices and scores; thumbnails arrive from a ThumbnailLoader."""

    def __init__(self, thumbs: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._entries: list[GridEntry] = []
        self._thumbs = thumbs
        self._placeholder = QPixmap(QSize(THUMB_SIDE, THUMB_SIDE))
        self._placeholder.fill(QColor(128, 128, 128, 40))
        thumbs.ready.connect(self._on_thumb)

    def set_entries(self, entries: Sequence[GridEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entry(self, row: int) -> GridEntry:
        return self._entries[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        e = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{e.item.title}\n{price_text(e.item)}\n{match_text(e)}".rstrip()
        if role == Qt.ItemDataRole.DecorationRole:
            image = self._thumbs.get(e.path)
            if image is None or image.isNull():
                return QIcon(self._placeholder)
            return QIcon(QPixmap.fromImage(image))
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [e.item.title, e.item.category, price_text(e.item), e.tip]
            if e.score is not None:
                lines.append(translate("CatalogModel", "match {score} — {tip}").format(
                    score=f"{e.score:.3f}", tip=translate("CatalogModel", MATCH_TIP)))
            if e.words:
                lines.append(translate("CatalogModel",
                                       "Words of the query are in its title, tags or category."))
            return "\n".join(x for x in lines if x)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{e.item.title}, {price_text(e.item)}"
        if role == LinesRole:
            return (e.item.title, price_text(e.item), match_text(e))
        if role == ItemRole:
            return e.item
        if role == PathRole:
            return e.path
        return None

    def _on_thumb(self, path: str, _image: QImage) -> None:
        for row, e in enumerate(self._entries):
            if e.path == path:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class GridDelegate(QStyledItemDelegate):
    """A thumbnail in a fixed square over three elided lines: title, price, match score.

    Every cell has the same layout whatever the picture's shape or the title's length, so
    tall pictures never cover the text and the rows line up.
    """

    PAD = 4

    def __init__(self, icon_side: int, width: int, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.icon_side = icon_side
        self.width = width

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """Every cell's size: the square, three text lines and the padding."""
        return QSize(self.width, self.icon_side + 3 * metrics.height() + 3 * self.PAD)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802
        return self.cell_size(option.fontMetrics)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        if selected or hovered:
            _paint_selection(painter, option, selected)
        rect = option.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        box = QRect(rect.left() + (rect.width() - self.icon_side) // 2, rect.top(),
                    self.icon_side, self.icon_side)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(icon, QIcon):
            # Drawn as it is, over the tint: a selected picture stays the picture.
            pixmap = icon.pixmap(QSize(THUMB_SIDE, THUMB_SIDE))
            scaled = pixmap.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap(box.left() + (box.width() - scaled.width()) // 2,
                               box.top() + (box.height() - scaled.height()) // 2, scaled)
        lines = index.data(LinesRole) or ("", "", "")
        metrics = option.fontMetrics
        y = box.bottom() + 1 + self.PAD
        for i, text in enumerate(lines):
            role = QPalette.ColorRole.PlaceholderText if i == 2 else QPalette.ColorRole.Text
            painter.setPen(option.palette.color(role))
            line = QRect(rect.left(), y, rect.width(), metrics.height())
            painter.drawText(line, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(text, Qt.TextElideMode.ElideRight, line.width()))
            y += metrics.height()
        painter.restore()


def _paint_selection(painter: QPainter, option: QStyleOptionViewItem, selected: bool) -> None:
    """A light tint of the highlight colour behind the tile and, when selected, a frame in
    it: the style's solid fill would hide a picture's own white and its dark text."""
    highlight = option.palette.color(QPalette.ColorRole.Highlight)
    tint = QColor(highlight)
    tint.setAlpha(70 if selected else 30)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(tint)
    painter.setPen(QPen(highlight, 2) if selected else Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(option.rect).adjusted(1.5, 1.5, -1.5, -1.5), 5, 5)
