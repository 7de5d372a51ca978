"""The catalog browser dock: similar items, text search, item pane, recommendations, indexing.

All catalog work runs through `CatalogJobs` on the inference worker (searches as
interactive requests, indexing as batch requests); thumbnails come from a thread pool.
The panel opens the shipped demo catalog on first use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from PIL import Image
from PySide6.QtCore import QModelIndex, QSettings, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.core.catalog.search import SearchFilters, SearchHit
from vlm_desktop.core.catalog.qa import is_catalog_question
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.types import HeatMap, ModelInfo
from vlm_desktop.ui.catalog_model import (
    CatalogGridModel,
    GridDelegate,
    GridEntry,
    ItemRole,
    price_text,
)
from vlm_desktop.core.catalog.session import Recommendations, SimilarItems, WhySimilar
from vlm_desktop.ui.i18n import translate
from vlm_desktop.workers.catalog_jobs import CatalogJobs
from vlm_desktop.workers.store_opener import StoreOpener
from vlm_desktop.workers.thumbnails import ThumbnailLoader
from vlm_desktop.workers.inference_worker import InferenceClient, Request

log = logging.getLogger(__name__)

RESULTS_K = 24
RECOMMEND_K = 8
ITEM_SIDE = 112  # the item pane's picture
MAX_RECENT = 6
RECENT_KEY = "catalog/recent"
WHY_OPACITY = 0.8  # the thumbnail is small: a stronger tint than the main view


class CatalogPanel(QWidget):
    """Browse a catalog: what looks like the current image, text search, recommendations."""

    open_item_requested = Signal(str)  # absolute path of the item to open as the current image
    catalog_opened = Signal(str)  # database path
    results_shown = Signal(int)  # number of entries now in the grid
    recommendations_shown = Signal(int)
    # "Why similar": the query-side map to lay over the current image (None: hide it)
    query_map_changed = Signal(object)  # HeatMap | None

    def __init__(self, client: InferenceClient, parent: Optional[QWidget] = None,
                 store: Optional[CatalogStore] = None, open_demo: bool = True,
                 settings: Optional[QSettings] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.jobs: Optional[CatalogJobs] = None
        self._settings = settings
        self._image: Optional[Image.Image] = None
        self._current: Optional[CatalogItem] = None
        self._item_pixmap = QPixmap()
        self._recs_wait_index = False  # a history but no vectors yet: retry as indexing goes
        self._paused = False  # indexing paused: the Pause button resumes (its text is translated)
        self.thumbs = ThumbnailLoader(self)
        self.model = CatalogGridModel(self.thumbs, self)
        self._opener = StoreOpener(self)
        self._opener.opened.connect(self._on_opened)
        self._opener.failed.connect(lambda msg: self.status.setText(msg))
        self._build()
        self.embedder = ""  # the name of the model whose vectors the catalog uses
        client.embedder_loading.connect(self._on_embedder_loading)
        client.embedder_ready.connect(self._on_embedder_ready)
        client.embedder_failed.connect(self._on_embedder_failed)
        if store is not None:
            self.set_store(store)
        elif open_demo:
            last = next((p for p in self.recent_catalogs() if Path(p).is_file()), None)
            if last is not None:  # the catalog used last time, else the demo
                self.open_database(last)
            else:
                self.status.setText(self.tr("Opening the demo catalog…"))
                self._opener.open_demo()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.search_box = QLineEdit(placeholderText=self.tr("Search the catalog…"),
                                    clearButtonEnabled=True)
        self.search_box.setAccessibleName(self.tr("Catalog search"))
        self.search_box.setToolTip(self.tr("Search titles, tags and categories; press Enter"))
        self.catalog_button = QToolButton(text=self.tr("Catalog"))
        self.catalog_button.setToolTip(self.tr("Open, import or switch catalogs"))
        self.catalog_button.setAccessibleName(self.tr("Catalog menu"))
        self.catalog_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.catalog_menu = QMenu(self)
        self.catalog_button.setMenu(self.catalog_menu)
        self.catalog_menu.aboutToShow.connect(self._fill_catalog_menu)
        self.mode_box = QComboBox()
        # The shown name is translated; the mode the search gets is the item's data.
        for mode, shown in (("hybrid", self.tr("hybrid")), ("vector", self.tr("vector")),
                            ("keyword", self.tr("keyword"))):
            self.mode_box.addItem(shown, mode)
        self.mode_box.setToolTip(self.tr("Hybrid: keywords and meaning fused; vector: meaning "
                                         "only; keyword: title, tags and category words"))
        self.mode_box.setAccessibleName(self.tr("Search mode"))
        self.category_box = QComboBox()
        self.category_box.setAccessibleName(self.tr("Category filter"))
        self.category_box.setToolTip(self.tr("Show only items of one category"))
        # Long category names must not widen the dock: the box elides, its popup does not.
        self.category_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category_box.setMinimumContentsLength(8)
        self.min_price = _price_box(self.tr("Minimum price"))
        self.max_price = _price_box(self.tr("Maximum price"))
        filters = QGridLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(self.mode_box, 0, 0)
        filters.addWidget(self.category_box, 0, 1, 1, 3)
        filters.addWidget(QLabel(self.tr("Price")), 1, 0, Qt.AlignmentFlag.AlignRight)
        filters.addWidget(self.min_price, 1, 1)
        filters.addWidget(QLabel("–"), 1, 2)
        filters.addWidget(self.max_price, 1, 3)
        filters.setColumnStretch(1, 1)
        filters.setColumnStretch(3, 1)
        self.status = QLabel("", wordWrap=True)

        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        # Three columns fit a 360-px dock.
        delegate = GridDelegate(icon_side=80, width=102, parent=self.grid)
        self.grid.setGridSize(delegate.cell_size(self.fontMetrics()) + QSize(4, 4))
        self.grid.setUniformItemSizes(True)
        self.grid.setItemDelegate(delegate)
        self.grid.setModel(self.model)
        self.grid.setAccessibleName(self.tr("Catalog items"))

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.grid)
        split.addWidget(self._build_item_pane())
        split.addWidget(self._build_recs())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 0)
        split.setStretchFactor(2, 1)
        split.setChildrenCollapsible(False)
        self.splitter = split

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.pause_button = QPushButton(self.tr("Pause"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.pause_button.setAccessibleName(self.tr("Pause or resume indexing"))
        self.pause_button.setToolTip(self.tr("Pause indexing; press again to resume"))
        self.cancel_button.setAccessibleName(self.tr("Cancel indexing"))
        self.cancel_button.setToolTip(self.tr("Stop indexing; items indexed so far are kept"))
        self.index_label = QLabel("", wordWrap=True)
        index_row = QHBoxLayout()
        for w in (self.progress, self.pause_button, self.cancel_button):
            index_row.addWidget(w)
        self.pause_button.setVisible(False)
        self.cancel_button.setVisible(False)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.catalog_button)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.index_label)
        layout.addLayout(index_row)

        self.search_box.returnPressed.connect(self.run_search)
        self.mode_box.currentIndexChanged.connect(lambda _i: self.run_search())
        self.category_box.currentIndexChanged.connect(lambda _i: self.run_search())
        self.min_price.editingFinished.connect(self.run_search)
        self.max_price.editingFinished.connect(self.run_search)
        self.grid.selectionModel().currentChanged.connect(self._on_current)
        self.grid.activated.connect(lambda _i: self.open_current())
        self.recs.itemActivated.connect(self._on_rec_activated)
        self.recs.currentItemChanged.connect(lambda cur, _prev: self._on_rec_activated(cur))
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button.clicked.connect(self._cancel_index)

    def _build_item_pane(self) -> QWidget:
        """Picture on the left; title, details and the item's buttons beside it."""
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
        pane = QWidget()
        pane.setAccessibleName(self.tr("Selected item"))
        row = QHBoxLayout(pane)
        row.setContentsMargins(0, 4, 0, 4)
        row.addWidget(self.item_image, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        pane.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        pane.setVisible(False)  # shown once an item is selected: no empty block meanwhile
        self.item_pane = pane
        self.open_button.clicked.connect(self.open_current)
        self.more_button.clicked.connect(self.more_like_current)
        self.bought_button.clicked.connect(self.mark_current_bought)
        self.why_button.toggled.connect(self._on_why_toggled)
        return pane

    def _build_recs(self) -> QWidget:
        self.recs = QListWidget()
        self.recs.setAccessibleName(self.tr("Recommendations"))
        self.recs.setWordWrap(True)
        self.recs_hint = QLabel(wordWrap=True)
        self.recs_hint.setAccessibleName(self.tr("Recommendations note"))
        self.recs_hint.setVisible(False)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Recommended for you")))
        layout.addWidget(self.recs_hint)
        layout.addWidget(self.recs, 1)
        return box

    # --- catalogs: open, import, recent ---------------------------------------------------

    def _fill_catalog_menu(self) -> None:
        m = self.catalog_menu
        m.clear()
        m.addAction(self.tr("Open catalog…"), self.choose_database)
        m.addAction(self.tr("Import folder as catalog…"), self.choose_folder)
        m.addAction(self.tr("Demo catalog"), self.open_demo)
        unreadable = len(self.jobs.store.quarantine()) if self.jobs is not None else 0
        retry = m.addAction(self.tr("Retry unreadable files ({n})").format(n=unreadable),
                            self.retry_unreadable)
        retry.setEnabled(unreadable > 0)
        retry.setToolTip(self.tr("Try the files that failed again (e.g. after fixing them or "
                                 "installing a codec)"))
        adapt = m.addAction(self.tr("Adapt Model to This Catalog…"), self.adapt_model)
        adapt.setEnabled(self.jobs is not None)
        adapt.setToolTip(self.tr("Teach the built-in model this catalog's titles, with a "
                                 "before/after measurement (or revert to the base model)"))
        recent = self.recent_catalogs()
        if recent:
            m.addSection(self.tr("Recent catalogs"))
            current = str(self.jobs.store.path) if self.jobs is not None else ""
            for path in recent:
                act = m.addAction(Path(path).stem, lambda p=path: self.open_database(p))
                act.setToolTip(path)
                act.setCheckable(True)
                act.setChecked(path == current)
                act.setEnabled(Path(path).is_file())

    def adapt_model(self) -> None:
        """Catalog ▸ Adapt Model to This Catalog…: the adapt dialog; once the catalog
        switches model (adapted or reverted), index what the new one lacks and search again."""
        from vlm_desktop.ui.adapt_dialog import AdaptDialog

        if self.jobs is None:
            return
        dialog = AdaptDialog(self.client, self.jobs.store, self)
        dialog.adapted.connect(lambda _variant: self._after_engine())
        dialog.reverted.connect(self._after_engine)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def recent_catalogs(self) -> list[str]:
        """Catalog databases opened lately, newest first (kept in the settings)."""
        if self._settings is None:
            return []
        value = self._settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # INI files give back one string for a one-element list
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def _remember(self, path: str) -> None:
        if self._settings is not None:
            recent = [path] + [p for p in self.recent_catalogs() if p != path]
            self._settings.setValue(RECENT_KEY, recent[:MAX_RECENT])

    def choose_database(self) -> None:
        from vlm_desktop.core.catalog.demo import catalogs_dir

        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open catalog"), str(catalogs_dir()),
            self.tr("Catalog database (*.db);;All files (*)"))
        if path:
            self.open_database(path)

    def open_database(self, path: str) -> None:
        """Open a catalog database (refreshed from its folder off the GUI thread)."""
        self.status.setText(self.tr("Opening {name}…").format(name=Path(path).stem))
        self._opener.open_database(path)

    def retry_unreadable(self) -> None:
        """Clear the quarantine list and refresh, so failed files are imported and tried again."""
        if self.jobs is None:
            return
        store = self.jobs.store
        count = store.clear_quarantine()
        log.info("retrying %d unreadable files of %s", count, store.path)
        self.open_database(str(store.path))

    def open_demo(self) -> None:
        self.status.setText(self.tr("Opening the demo catalog…"))
        self._opener.open_demo()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Import a folder of product images"))
        if not folder:
            return
        from vlm_desktop.ui.catalog_import_dialog import CatalogImportDialog
        from vlm_desktop.core.catalog.opening import find_metadata

        dialog = CatalogImportDialog(folder, find_metadata(Path(folder)), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.open_folder(folder, dialog.metadata, dialog.mapping())

    def open_folder(self, folder: str, metadata: Optional[str] = None,
                    mapping: Optional[dict[str, str]] = None) -> None:
        """Import a folder as a catalog (off the GUI thread) and switch to it."""
        self.status.setText(self.tr("Importing {folder}…").format(folder=folder))
        self._opener.open_folder(folder, metadata, mapping)

    @Slot(object, object)
    def _on_opened(self, store: CatalogStore, report: Optional[ImportReport]) -> None:
        self.set_store(store)
        if report is not None:
            self._show_report(report)

    def _show_report(self, r: ImportReport) -> None:
        """The import report: counts in the status line, each refused row in its tooltip."""
        text = self.tr("{status} — imported: {added} new, {updated} changed, {removed} "
                       "removed").format(status=self.status.text(), added=r.added,
                                         updated=r.updated, removed=r.removed)
        if r.skipped_quarantined:
            text += self.tr(", {n} unreadable files skipped").format(n=r.skipped_quarantined)
        if r.problems:
            text += self.tr("; {n} metadata rows refused (hover for details)").format(
                n=len(r.problems))
        self.status.setText(text)
        details = [self.tr("row {row}: {reason}").format(row=p.row, reason=p.reason)
                   for p in r.problems[:50]]
        if self.jobs is not None:
            details += [f"{q.path}: {q.reason}" for q in self.jobs.store.quarantine()[:50]]
        self.status.setToolTip("\n".join(details))

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
        self.model.set_entries([])
        self._show_item(None)
        self.recs.clear()
        self.category_box.blockSignals(True)
        self.category_box.clear()
        self.category_box.addItem(self.tr("All categories"), None)
        for cat in store.categories():
            self.category_box.addItem(cat, cat)
        self.category_box.blockSignals(False)
        stats = store.stats()
        self.status.setText(self.tr("{n} items in {name}").format(n=stats.items,
                                                                  name=store.path.stem))
        self.status.setToolTip(str(store.path))
        self._remember(str(store.path))
        self.catalog_opened.emit(str(store.path))
        if self.jobs.model_ready:
            self._after_engine()

    def _on_embedder_loading(self, name: str) -> None:
        # The internal name ("lite") means nothing to a user; it stays in the tooltip.
        self.index_label.setText(self.tr("Loading the catalog search model…"))
        self.index_label.setToolTip(self.tr("Model: {name}").format(name=name))

    def _on_embedder_ready(self, info: ModelInfo, _choice: object) -> None:
        # A new embedder indexes what it has no vectors for; other models' vectors stay.
        self.embedder = info.name
        self.index_label.setToolTip(self.tr(
            "Catalog vectors come from {name}; each model's vectors are kept, so switching back "
            "needs no re-indexing.").format(name=info.name))
        if self.jobs is not None:
            self._after_engine()

    def _on_embedder_failed(self, message: str, _details: str = "") -> None:
        self.embedder = ""
        self.index_label.setText(
            self.tr("Catalog search is unavailable: {message}").format(message=message))

    def show_no_embedder(self, reason: str) -> None:
        """No installed model can make vectors: keyword search is all there is."""
        self._on_embedder_failed(reason)

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
        if image is not self._image:
            self.why_button.setChecked(False)  # its maps were of the previous image
        self._image = image
        self.why_button.setEnabled(self._current is not None)
        if not self.model_ready():
            return
        self.status.setText(self.tr("Looking for similar items…"))
        self.jobs.similar_to_image(image, RESULTS_K, self.filters())

    def run_search(self) -> None:
        text = self.search_box.text().strip()
        if self.jobs is None:
            return
        if not text:
            if self._image is not None and self.model_ready():
                self.show_similar_to(self._image)
            return
        self.status.setText(self.tr("Searching for “{text}”…").format(text=text))
        self.jobs.text_search(text, str(self.mode_box.currentData()), RESULTS_K, self.filters())

    def more_like_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.status.setText(
                self.tr("More like “{title}”…").format(title=self._current.title))
            self.jobs.more_like_this(self._current.id, RESULTS_K, self.filters())

    def refresh_recommendations(self) -> None:
        if self.model_ready():
            self.jobs.recommendations(RECOMMEND_K)

    def model_ready(self) -> bool:
        """A catalog is open and its model is loaded: pictures can be compared."""
        return self.jobs is not None and self.jobs.model_ready

    def answer_request(self, image: Image.Image, question: str) -> Optional[Request]:
        """A worker request answering `question` from the catalog, or None when it is not a
        catalog question or no catalog is open (the model answers it then)."""
        if self.jobs is None or not is_catalog_question(question):
            return None
        return self.jobs.answer_request(image, question)

    # --- the selected item ----------------------------------------------------------------

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = current.data(ItemRole) if current.isValid() else None
        self._show_item(item)

    def _show_item(self, item: Optional[CatalogItem]) -> None:
        if item != self._current:
            self.why_button.setChecked(False)
        self._current = item
        for b in (self.open_button, self.more_button, self.bought_button):
            b.setEnabled(item is not None)
        self.why_button.setEnabled(item is not None and self._image is not None)
        self._item_pixmap = QPixmap()
        self.item_pane.setVisible(item is not None)
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
            self._item_pixmap = pix.scaled(ITEM_SIDE, ITEM_SIDE,
                                           Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)
        self.item_image.setPixmap(self._item_pixmap)

    def open_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.open_item_requested.emit(str(self.jobs.store.abs_path(self._current)))

    def mark_current_bought(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.jobs.mark_bought(self._current.id)
            self.status.setText(
                self.tr("Marked “{title}” as bought.").format(title=self._current.title))
            self.refresh_recommendations()

    def _on_rec_activated(self, item: Optional[QListWidgetItem]) -> None:
        if item is not None and item.data(ItemRole) is not None:
            self._show_item(item.data(ItemRole))

    # --- why similar ----------------------------------------------------------------------

    def _on_why_toggled(self, on: bool) -> None:
        if on and self.jobs is not None and self._current is not None and self._image is not None:
            self.status.setText(
                self.tr("Comparing with “{title}”…").format(title=self._current.title))
            self.jobs.why_similar(self._image, self._current)
            return
        self.item_image.setPixmap(self._item_pixmap)
        self.query_map_changed.emit(None)

    def _show_why(self, why: WhySimilar) -> None:
        if not self.why_button.isChecked() or why.item != self._current:
            return  # the user moved on while the maps were made
        from vlm_desktop.ui.overlay_controls import heatmap_qimage

        maps = why.maps
        base = self._item_pixmap
        if not base.isNull():
            pix = QPixmap(base)
            painter = QPainter(pix)
            painter.setOpacity(WHY_OPACITY)
            painter.drawImage(pix.rect(), heatmap_qimage(maps.hit, (pix.width(), pix.height())))
            painter.end()
            self.item_image.setPixmap(pix)
        self.status.setText(self.tr("Why similar: matching regions are highlighted on both "
                                    "images.") if maps.method == "spatial" else
                            self.tr("Why similar: where each shows the item are highlighted on "
                                    "both images."))
        query: HeatMap = maps.query
        self.query_map_changed.emit(query)

    # --- outcomes -------------------------------------------------------------------------

    @Slot(str, object)
    def _on_job_result(self, name: str, value: object) -> None:
        assert self.jobs is not None
        store = self.jobs.store
        if name == "similar":
            assert isinstance(value, SimilarItems)
            hits: list[SearchHit] = list(value.hits)
            self.model.set_entries([GridEntry(h.item, str(store.abs_path(h.item)),
                                              h.similarity, words=h.words > 0)
                                    for h in hits])
            self.status.setText(_similar_heading(value, self.jobs.indexing))
            self.results_shown.emit(len(hits))
        elif name == "recommend":
            assert isinstance(value, Recommendations)
            self._show_recommendations(value)
        elif name == "why":
            assert isinstance(value, WhySimilar)
            self._show_why(value)

    def _show_recommendations(self, recs: Recommendations) -> None:
        self.recs.clear()
        for r in recs.items:
            # Recommendation.reason worded in the window's language.
            reason = self.tr("Because you bought {titles}").format(
                titles=self.tr(", ").join(b.title for b in r.because))
            row = QListWidgetItem(f"{r.item.title} — {price_text(r.item)}\n{reason}")
            row.setData(ItemRole, r.item)
            row.setToolTip(reason)
            self.recs.addItem(row)
        indexing = self.jobs is not None and self.jobs.indexing
        if recs.items:
            hint = ""
        elif recs.purchases == 0:
            hint = self.tr("Mark items as bought to get recommendations.")
        elif indexing or recs.indexed == 0:
            hint = self.tr("Recommendations appear as the catalog is indexed.")
        else:
            hint = self.tr("Nothing left to recommend from your purchases.")
        self.recs_hint.setText(hint)
        self.recs_hint.setVisible(bool(hint))
        self._recs_wait_index = indexing and recs.purchases > 0 and not recs.items
        self.recommendations_shown.emit(len(recs.items))

    @Slot(str, str)
    def _on_job_failed(self, name: str, message: str) -> None:
        if name == "why":
            self.why_button.setChecked(False)
        self.status.setText(self.tr("Catalog {job} failed: {message}").format(job=name,
                                                                              message=message))

    @Slot(object)
    def _on_index_progress(self, p: IndexProgress) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(int(100 * p.fraction))
        message = _progress_text(p)
        self.index_label.setText(f"{self.embedder}: {message}" if self.embedder else message)
        if self._recs_wait_index:
            self._recs_wait_index = False
            self.refresh_recommendations()

    @Slot(str)
    def _on_index_state(self, state: str) -> None:
        running = state in ("running", "paused")
        self.progress.setVisible(running)
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)
        self._paused = state == "paused"
        self.pause_button.setText(self.tr("Resume") if self._paused else self.tr("Pause"))
        if state == "finished":
            self.index_label.setText(
                self.tr("Catalog indexed with {name}.").format(name=self.embedder)
                if self.embedder else self.tr("Catalog indexed."))
            self.refresh_recommendations()
            if self._image is not None:
                self.show_similar_to(self._image)
        elif state in ("cancelled", "failed"):
            self.index_label.setText(
                self.tr("Indexing cancelled; items indexed so far are kept.")
                if state == "cancelled" else
                self.tr("Indexing failed; items indexed so far are kept."))
        elif state == "paused":
            self.index_label.setText(self.tr("Indexing paused."))

    def _toggle_pause(self) -> None:
        if self.jobs is None:
            return
        if not self._paused:  # the button says Pause
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


def _similar_heading(result: SimilarItems, indexing: bool) -> str:
    """The line over the grid: how many, how good, and how much of the catalog was searched."""
    n = len(result.hits)
    partial = indexing and result.indexed < result.total
    if not n:
        if partial:
            return translate("CatalogPanel", "Indexing… {n}/{total}: similar items appear as "
                             "pictures are indexed.").format(n=result.indexed, total=result.total)
        return translate("CatalogPanel", "No matching items.")
    head = (translate("CatalogPanel", "Closest items, low similarity (below {score}, what "
                      "random pairs of catalog items reach 1 time in 20)").format(
                          score=f"{result.weak_below:.2f}")
            if result.weak else translate("CatalogPanel", "{n} items").format(n=n))
    if partial:
        head += translate("CatalogPanel", " — from the {n} of {total} items indexed so "
                          "far").format(n=result.indexed, total=result.total)
    return head


def _progress_text(p: IndexProgress) -> str:
    """IndexProgress.message in the window's language."""
    rate = f"{p.rate:.1f}"
    if p.eta_s is None:
        return translate("CatalogPanel", "Indexed {done}/{total} ({rate} items/s)").format(
            done=p.done, total=p.total, rate=rate)
    return translate("CatalogPanel", "Indexed {done}/{total} ({rate} items/s, about {eta} "
                     "left)").format(done=p.done, total=p.total, rate=rate,
                                     eta=_duration_text(p.eta_s))


def _duration_text(seconds: float) -> str:
    if seconds < 90:
        return translate("CatalogPanel", "{n} s").format(n=f"{seconds:.0f}")
    if seconds < 5400:
        return translate("CatalogPanel", "{n} min").format(n=f"{seconds / 60:.0f}")
    return translate("CatalogPanel", "{n} h").format(n=f"{seconds / 3600:.1f}")


def _price_box(name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 1e9)
    box.setDecimals(2)
    box.setSpecialValueText(translate("CatalogPanel", "any"))  # 0 shows as "any": no bound
    box.setAccessibleName(name)
    box.setToolTip(translate("CatalogPanel", "{name} (0: any)").format(name=name))
    return box


def _tool_button(text: str, tip: str) -> QToolButton:
    b = QToolButton(text=text)
    b.setToolTip(tip)
    b.setAccessibleName(text)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return b
