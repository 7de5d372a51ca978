"""The list model behind the catalog's thumbnail grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap

from vlm_desktop.core.catalog.store import CatalogItem
from vlm_desktop.workers.catalog_jobs import THUMB_SIDE, ThumbnailLoader

ItemRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class GridEntry:
    """One cell: the item, its file, its score and an optional note (e.g. "because …")."""

    item: CatalogItem
    path: str
    score: Optional[float] = None
    note: str = ""


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
            score = "" if e.score is None else f"  ·  {e.score:.2f}"
            return f"{e.item.title}\n{price_text(e.item)}{score}"
        if role == Qt.ItemDataRole.DecorationRole:
            image = self._thumbs.get(e.path)
            if image is None or image.isNull():
                return QIcon(self._placeholder)
            return QIcon(QPixmap.fromImage(image))
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [e.item.title, e.item.category, price_text(e.item)]
            if e.score is not None:
                lines.append(f"score {e.score:.3f}")
            if e.note:
                lines.append(e.note)
            return "\n".join(x for x in lines if x)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{e.item.title}, {price_text(e.item)}"
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
