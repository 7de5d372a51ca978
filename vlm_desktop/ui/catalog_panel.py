"""The catalog browser dock: similar items, text search, item pane, recommendations, indexing.

All catalog work runs through `CatalogJobs` on the inference worker (searches as
interactive requests, indexing as batch requests); thumbnails come from a thread pool.
The panel opens the shipped demo catalog on first use.
"""

from __future__ import annotations

import logging
from typing import Optional

from PIL import Image
from PySide6.QtCore import QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.core.catalog.search import SearchFilters, SearchHit
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.ui.catalog_model import CatalogGridModel, GridEntry, ItemRole, price_text
from vlm_desktop.workers.catalog_jobs import CatalogJobs, StoreOpener, ThumbnailLoader
from vlm_desktop.workers.inference_worker import InferenceClient

log = logging.getLogger(__name__)

RESULTS_K = 24
RECOMMEND_K = 8


class CatalogPanel(QWidget):
    """Browse a catalog: what looks like the current image, text search, recommendations."""

    open_item_requested = Signal(str)  # absolute path of the item to open as the current image
    catalog_opened = Signal(str)  # database path
    results_shown = Signal(int)  # number of entries now in the grid
    recommendations_shown = Signal(int)

    def __init__(self, client: InferenceClient, parent: Optional[QWidget] = None,
                 store: Optional[CatalogStore] = None, open_demo: bool = True) -> None:
        super().__init__(parent)
        self.client = client
        self.jobs: Optional[CatalogJobs] = None
        self._image: Optional[Image.Image] = None
        self._current: Optional[CatalogItem] = None
        self.thumbs = ThumbnailLoader(self)
        self.model = CatalogGridModel(self.thumbs, self)
        self._opener = StoreOpener(self)
        self._opener.opened.connect(self._on_opened)
        self._opener.failed.connect(lambda msg: self.status.setText(msg))
        self._build()
        client.engine_ready.connect(self._on_engine_ready)
        if store is not None:
            self.set_store(store)
        elif open_demo:
            self.status.setText("Opening the demo catalog…")
            self._opener.open_demo()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.search_box = QLineEdit(placeholderText="Search the catalog…", clearButtonEnabled=True)
        self.search_box.setAccessibleName("Catalog search")
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.setToolTip("Use a folder of product images (and its catalog.csv) "
                                      "as the catalog")
        self.mode_box = QComboBox()
        self.mode_box.addItems(["hybrid", "vector", "keyword"])
        self.mode_box.setToolTip("Hybrid: keywords and meaning fused; vector: meaning only; "
                                 "keyword: title, tags and category words")
        self.category_box = QComboBox()
        self.category_box.setAccessibleName("Category filter")
        self.category_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.min_price = _price_box("Minimum price")
        self.max_price = _price_box("Maximum price")
        filters = QHBoxLayout()
        for w in (self.mode_box, self.category_box, QLabel("Price"), self.min_price,
                  QLabel("–"), self.max_price):
            filters.addWidget(w)
        self.status = QLabel("", wordWrap=True)

        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setIconSize(QSize(96, 96))
        self.grid.setGridSize(QSize(132, 150))
        self.grid.setWordWrap(True)
        self.grid.setUniformItemSizes(True)
        self.grid.setModel(self.model)
        self.grid.setAccessibleName("Catalog items")

        self.item_image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.item_image.setMinimumSize(120, 120)
        self.item_title = QLabel(wordWrap=True)
        self.item_title.setStyleSheet("font-weight: bold")
        self.item_details = QLabel(wordWrap=True)
        self.open_button = QPushButton("Open as current image")
        self.more_button = QPushButton("More like this")
        self.bought_button = QPushButton("Mark as bought")
        buttons = QHBoxLayout()
        for b in (self.open_button, self.more_button, self.bought_button):
            b.setEnabled(False)
            buttons.addWidget(b)
        pane = QWidget()
        pane_layout = QVBoxLayout(pane)
        for w in (self.item_image, self.item_title, self.item_details):
            pane_layout.addWidget(w)
        pane_layout.addLayout(buttons)

        self.recs = QListWidget()
        self.recs.setAccessibleName("Recommendations")
        recs_box = QWidget()
        recs_layout = QVBoxLayout(recs_box)
        recs_layout.setContentsMargins(0, 0, 0, 0)
        recs_layout.addWidget(QLabel("Recommended for you"))
        recs_layout.addWidget(self.recs)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.index_label = QLabel("")
        index_row = QHBoxLayout()
        for w in (self.progress, self.pause_button, self.cancel_button):
            index_row.addWidget(w)
        self.pause_button.setVisible(False)
        self.cancel_button.setVisible(False)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.grid)
        split.addWidget(pane)
        split.addWidget(recs_box)
        split.setStretchFactor(0, 3)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.folder_button)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.index_label)
        layout.addLayout(index_row)

        self.search_box.returnPressed.connect(self.run_search)
        self.folder_button.clicked.connect(self.choose_folder)
        self.mode_box.currentIndexChanged.connect(lambda _i: self.run_search())
        self.category_box.currentIndexChanged.connect(lambda _i: self.run_search())
        self.min_price.editingFinished.connect(self.run_search)
        self.max_price.editingFinished.connect(self.run_search)
        self.grid.selectionModel().currentChanged.connect(self._on_current)
        self.grid.activated.connect(lambda _i: self.open_current())
        self.open_button.clicked.connect(self.open_current)
        self.more_button.clicked.connect(self.more_like_current)
        self.bought_button.clicked.connect(self.mark_current_bought)
        self.recs.itemActivated.connect(self._on_rec_activated)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self._cancel_index)

    # --- catalog --------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of product images")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str, metadata: Optional[str] = None) -> None:
        """Import a folder as a catalog (off the GUI thread) and switch to it."""
        self.status.setText(f"Importing {folder}…")
        self._opener.open_folder(folder, metadata)

    @Slot(object, object)
    def _on_opened(self, store: CatalogStore, report: Optional[ImportReport]) -> None:
        self.set_store(store)
        if report is not None:
            self._show_report(report)

    def _show_report(self, r: ImportReport) -> None:
        """The import report: counts in the status line, each refused row in its tooltip."""
        text = (f"{self.status.text()} — imported: {r.added} new, {r.updated} changed, "
                f"{r.removed} removed")
        if r.skipped_quarantined:
            text += f", {r.skipped_quarantined} unreadable files skipped"
        if r.problems:
            text += f"; {len(r.problems)} metadata rows refused (hover for details)"
        self.status.setText(text)
        self.status.setToolTip("\n".join(f"row {p.row}: {p.reason}" for p in r.problems[:50]))

    @Slot(object)
    def set_store(self, store: CatalogStore) -> None:
        """Show `store`; index what is pending once a model is loaded."""
        if self.jobs is not None:
            self.jobs.close()
            self.jobs.deleteLater()
        self.jobs = CatalogJobs(self.client, store, self)
        self.jobs.job_result.connect(self._on_job_result)
        self.jobs.job_failed.connect(self._on_job_failed)
        self.jobs.index_progress.connect(self._on_index_progress)
        self.jobs.index_state.connect(self._on_index_state)
        self.category_box.blockSignals(True)
        self.category_box.clear()
        self.category_box.addItem("All categories", None)
        for cat in store.categories():
            self.category_box.addItem(cat, cat)
        self.category_box.blockSignals(False)
        stats = store.stats()
        self.status.setText(f"{stats.items} items in {store.path.stem}")
        self.catalog_opened.emit(str(store.path))
        if self.client.has_engine():
            self._after_engine()

    def _on_engine_ready(self, *_args: object) -> None:
        if self.jobs is not None:
            self._after_engine()

    def _after_engine(self) -> None:
        assert self.jobs is not None
        self.jobs.start_indexing()
        self.refresh_recommendations()
        if self._image is not None:
            self.show_similar_to(self._image)

    # --- searching ------------------------------------------------------------------------

    def filters(self) -> SearchFilters:
        low = self.min_price.value()
        high = self.max_price.value()
        return SearchFilters(self.category_box.currentData(),
                             None if low <= 0 else low, None if high <= 0 else high)

    @Slot(object)
    def show_similar_to(self, image: Image.Image) -> None:
        """Show the catalog items that look like `image` (searched on the worker)."""
        self._image = image
        if self.jobs is None or not self.client.has_engine():
            return
        self.status.setText("Looking for similar items…")
        self.jobs.similar_to_image(image, RESULTS_K, self.filters())

    def run_search(self) -> None:
        text = self.search_box.text().strip()
        if self.jobs is None or not self.client.has_engine():
            return
        if not text:
            if self._image is not None:
                self.show_similar_to(self._image)
            return
        self.status.setText(f"Searching for “{text}”…")
        self.jobs.text_search(text, self.mode_box.currentText(), RESULTS_K, self.filters())

    def more_like_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.status.setText(f"More like “{self._current.title}”…")
            self.jobs.more_like_this(self._current.id, RESULTS_K, self.filters())

    def refresh_recommendations(self) -> None:
        if self.jobs is not None and self.client.has_engine():
            self.jobs.recommendations(RECOMMEND_K)

    # --- the selected item ----------------------------------------------------------------

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = current.data(ItemRole) if current.isValid() else None
        self._show_item(item)

    def _show_item(self, item: Optional[CatalogItem]) -> None:
        self._current = item
        for b in (self.open_button, self.more_button, self.bought_button):
            b.setEnabled(item is not None)
        if item is None or self.jobs is None:
            self.item_title.clear()
            self.item_details.clear()
            self.item_image.clear()
            return
        path = str(self.jobs.store.abs_path(item))
        self.item_title.setText(item.title)
        lines = [price_text(item), item.category, ", ".join(item.tags)]
        self.item_details.setText("\n".join(x for x in lines if x))
        pix = QPixmap(path)
        if not pix.isNull():
            self.item_image.setPixmap(pix.scaled(160, 160, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    def open_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.open_item_requested.emit(str(self.jobs.store.abs_path(self._current)))

    def mark_current_bought(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.jobs.mark_bought(self._current.id)
            self.status.setText(f"Marked “{self._current.title}” as bought.")
            self.refresh_recommendations()

    def _on_rec_activated(self, item: QListWidgetItem) -> None:
        self._show_item(item.data(ItemRole))

    # --- outcomes -------------------------------------------------------------------------

    @Slot(str, object)
    def _on_job_result(self, name: str, value: object) -> None:
        assert self.jobs is not None
        store = self.jobs.store
        if name == "similar":
            hits: list[SearchHit] = list(value)  # type: ignore[call-overload]
            self.model.set_entries([GridEntry(h.item, str(store.abs_path(h.item)), h.score)
                                    for h in hits])
            self.status.setText(f"{len(hits)} items" if hits else "No matching items.")
            self.results_shown.emit(len(hits))
        elif name == "recommend":
            self.recs.clear()
            for r in value:  # type: ignore[attr-defined]
                row = QListWidgetItem(f"{r.item.title} — {price_text(r.item)}\n{r.reason}")
                row.setData(ItemRole, r.item)
                row.setToolTip(r.reason)
                self.recs.addItem(row)
            self.recommendations_shown.emit(self.recs.count())

    @Slot(str, str)
    def _on_job_failed(self, name: str, message: str) -> None:
        self.status.setText(f"Catalog {name} failed: {message}")

    @Slot(object)
    def _on_index_progress(self, p: IndexProgress) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int(100 * p.fraction))
        self.index_label.setText(p.message)

    @Slot(str)
    def _on_index_state(self, state: str) -> None:
        running = state in ("running", "paused")
        self.progress.setVisible(running)
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        if state == "finished":
            self.index_label.setText("Catalog indexed.")
            self.refresh_recommendations()
            if self._image is not None:
                self.show_similar_to(self._image)
        elif state in ("cancelled", "failed"):
            self.index_label.setText(f"Indexing {state}; items indexed so far are kept.")
        elif state == "paused":
            self.index_label.setText("Indexing paused.")

    def _toggle_pause(self) -> None:
        if self.jobs is None:
            return
        if self.pause_button.text() == "Pause":
            self.jobs.pause_indexing()
        else:
            self.jobs.resume_indexing()

    def _cancel_index(self) -> None:
        if self.jobs is not None:
            self.jobs.cancel_indexing()

    def shutdown(self) -> None:
        """Stop indexing and thumbnail threads (before the client shuts down)."""
        if self.jobs is not None:
            self.jobs.close()
        self._opener.shutdown()
        self.thumbs.shutdown()


def _price_box(name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 1e9)
    box.setDecimals(2)
    box.setSpecialValueText("any")  # 0 shows as "any": no bound
    box.setAccessibleName(name)
    return box
