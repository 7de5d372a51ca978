""""Recommended for you": tiles like the similar items, each with its reason on one line,
where the purchase history came from, and a way to clear it."""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QToolButton, QVBoxLayout, QWidget

from vlm_desktop.core.catalog.session import Recommendations
from vlm_desktop.core.catalog.store import CatalogItem
from vlm_desktop.ui.catalog_model import CatalogGridModel, GridEntry, ItemRole
from vlm_desktop.ui.catalog_texts import history_text
from vlm_desktop.ui.catalog_tiles import TileView
from vlm_desktop.workers.thumbnails import ThumbnailLoader


class RecommendationsView(QWidget):
    """Shows a `Recommendations` result; says what the user picked or asked to clear."""

    item_selected = Signal(object)  # CatalogItem: a click shows it in the item pane
    item_activated = Signal(object)  # CatalogItem: a double click or Enter opens it
    clear_requested = Signal()  # the user confirmed forgetting the purchase history

    def __init__(self, thumbs: ThumbnailLoader, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._purchases = 0
        self.model = CatalogGridModel(thumbs, self)
        self.tiles = TileView(self.model, shelf=True)
        self.tiles.setAccessibleName(self.tr("Recommendations"))
        heading = QLabel(self.tr("Recommended for you"))
        heading.setStyleSheet("font-weight: bold")
        self.source = QLabel(wordWrap=True)
        self.source.setAccessibleName(self.tr("Purchase history"))
        self.clear_button = QToolButton(text=self.tr("Clear history…"))
        self.clear_button.setAccessibleName(self.tr("Clear purchase history"))
        self.clear_button.setToolTip(self.tr("Forget this catalog's purchase history "
                                             "(asks first)"))
        self.clear_button.setEnabled(False)
        self.hint = QLabel(wordWrap=True)
        self.hint.setAccessibleName(self.tr("Recommendations note"))
        self.hint.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(heading, 1)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.source)
        layout.addWidget(self.hint)
        layout.addWidget(self.tiles)
        layout.addStretch(1)
        self.tiles.selectionModel().currentChanged.connect(self._on_current)
        self.tiles.activated.connect(
            lambda index: self.item_activated.emit(index.data(ItemRole)))
        self.clear_button.clicked.connect(self._ask_clear)

    def show_recommendations(self, recs: Recommendations, path_of: Callable[[CatalogItem], str],
                             hint: str) -> None:
        """Tiles for `recs` (pictures at path_of(item)); `hint` says why there are none."""
        entries = []
        for r in recs.items:
            reason = self.tr("Because you bought {titles}").format(
                titles=self.tr(", ").join(b.title for b in r.because))
            entries.append(GridEntry(r.item, path_of(r.item), note=reason, tip=reason))
        self.model.set_entries(entries)
        self.tiles.setVisible(bool(entries))
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.show_history(recs)

    def show_history(self, recs: Optional[Recommendations]) -> None:
        """Where the history came from, and whether there is one to clear."""
        summary = recs.history if recs is not None else None
        self._purchases = summary.purchases if summary is not None else 0
        self.source.setText(history_text(summary))
        self.clear_button.setEnabled(self._purchases > 0)

    def clear(self) -> None:
        self.model.set_entries([])
        self.show_history(None)

    def count(self) -> int:
        return self.model.rowCount()

    def select_none(self) -> None:
        """Drop the tile selection (another list's item is shown now)."""
        self.tiles.selectionModel().clear()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.item_selected.emit(current.data(ItemRole))

    def _ask_clear(self) -> None:
        answer = QMessageBox.question(
            self, self.tr("Clear purchase history"),
            self.tr("Forget all {n} purchases of this catalog? Recommendations then follow "
                    "only what you mark as bought from now on. This cannot be undone.").format(
                        n=self._purchases),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.clear_requested.emit()
