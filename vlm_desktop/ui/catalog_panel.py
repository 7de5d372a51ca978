"""The catalog browser dock: similar items, text search, item pane, recommendations, indexing.

All catalog work runs through `CatalogJobs` on the inference worker (searches as
interactive requests, indexing as batch requests); thumbnails come from a thread pool.
The panel opens the shipped demo catalog on first use. Its parts are widgets of their own
(search bar, item pane, recommendations, tiles) that only show what the panel hands them;
the catalog's rules live in `core.catalog.session`, its wording in `catalog_texts`.
"""

from __future__ import annotations

import logging
from typing import Optional

from PIL import Image
from PySide6.QtCore import QModelIndex, QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.importer import ImportReport
from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.core.catalog.qa import is_catalog_question
from vlm_desktop.core.catalog.search import SearchFilters
from vlm_desktop.core.catalog.session import Recommendations, SimilarItems, WhySimilar
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.types import ModelInfo
from vlm_desktop.ui import catalog_texts as texts
from vlm_desktop.ui.catalog_index_bar import IndexBar
from vlm_desktop.ui.catalog_item_pane import ItemPane
from vlm_desktop.ui.catalog_model import CatalogGridModel, GridEntry, ItemRole
from vlm_desktop.ui.catalog_recommendations import RecommendationsView
from vlm_desktop.ui.catalog_search_bar import CatalogSearchBar
from vlm_desktop.ui.catalog_sources import RECENT_KEY, CatalogSources
from vlm_desktop.ui.catalog_tiles import TileView
from vlm_desktop.ui.i18n import fill, model_name
from vlm_desktop.workers.catalog_jobs import CatalogJobs
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient, Request
from vlm_desktop.workers.thumbnails import ThumbnailLoader

__all__ = ["CatalogPanel", "RECENT_KEY"]  # the settings key, where it was always found

log = logging.getLogger(__name__)

RESULTS_K = 24
RECOMMEND_K = 8


class CatalogPanel(QWidget):
    """Browse a catalog: what looks like the current image, text search, recommendations."""

    open_item_requested = Signal(str)  # absolute path of the item to open as the current image
    catalog_opened = Signal(str)  # database path
    results_shown = Signal(int)  # number of entries now in the grid
    recommendations_shown = Signal(int)
    # "Why similar": the query-side map to lay over the current image (None: hide it)
    query_map_changed = Signal(object)  # HeatMap | None
    # The open catalog's category for the current image (its nearest items agree), or None.
    category_guessed = Signal(object)  # core.catalog.naming.CategoryGuess | None

    def __init__(self, client: InferenceClient, parent: Optional[QWidget] = None,
                 store: Optional[CatalogStore] = None, open_demo: bool = True,
                 settings: Optional[QSettings] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.jobs: Optional[CatalogJobs] = None
        self._image: Optional[Image.Image] = None
        self._current: Optional[CatalogItem] = None
        self._recs_wait_index = False  # a history but no vectors yet: retry as indexing goes
        self._no_model = False  # no installed model can make vectors: keywords only
        self._searched = ""  # the text of the search shown ("" : similar items)
        self._indexed = 0  # items with vectors, as far as the panel has heard
        self._weak_below: Optional[float] = None
        self.thumbs = ThumbnailLoader(self)
        self.model = CatalogGridModel(self.thumbs, self)
        self._build()
        self.sources = CatalogSources(self.bar.catalog_menu, settings, self)
        self.sources.opening.connect(self.status.setText)
        self.sources.opened.connect(self._on_opened)
        self.sources.failed.connect(self.status.setText)
        self.sources.adapt_requested.connect(self.adapt_model)
        self.embedder = ""  # the name of the model whose vectors the catalog uses
        client.role(EMBED).loading.connect(self._on_embedder_loading)
        client.role(EMBED).ready.connect(self._on_embedder_ready)
        client.role(EMBED).failed.connect(self._on_embedder_failed)
        if store is not None:
            self.set_store(store)
        elif open_demo:
            self.sources.open_last_or_demo()
        self._update_empty()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.bar = CatalogSearchBar()
        # The parts tests and the window reach for, under the names they always had.
        self.search_box, self.mode_box = self.bar.search_box, self.bar.mode_box
        self.category_box, self.catalog_menu = self.bar.category_box, self.bar.catalog_menu
        self.min_price, self.max_price = self.bar.min_price, self.bar.max_price
        self.status = QLabel("", wordWrap=True)
        self.legend_button = QToolButton(text="?")
        self.legend_button.setAccessibleName(self.tr("What the match numbers mean"))
        self.legend_button.setAutoRaise(True)
        self.legend_button.clicked.connect(self._show_legend)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.legend_button, 0, Qt.AlignmentFlag.AlignTop)
        self.grid = TileView(self.model)
        self.grid.setAccessibleName(self.tr("Catalog items"))
        self.item_pane = ItemPane()
        pane = self.item_pane
        self.item_image, self.item_title = pane.item_image, pane.item_title
        self.item_details, self.open_button = pane.item_details, pane.open_button
        self.more_button, self.bought_button = pane.more_button, pane.bought_button
        self.why_button = pane.why_button
        self.recs_view = RecommendationsView(self.thumbs)
        self.recs, self.recs_hint = self.recs_view.tiles, self.recs_view.hint
        split = QSplitter(Qt.Orientation.Vertical)
        for i, (w, stretch) in enumerate(((self.grid, 3), (pane, 0), (self.recs_view, 0))):
            split.addWidget(w)
            split.setStretchFactor(i, stretch)
        split.setChildrenCollapsible(False)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addLayout(status_row)
        layout.addWidget(split, 1)
        self.index_bar = IndexBar()
        bar = self.index_bar
        self.progress, self.index_label = bar.progress, bar.label
        self.pause_button, self.cancel_button = bar.pause_button, bar.cancel_button
        layout.addWidget(bar)
        self._update_legend()
        self._connect()

    def _connect(self) -> None:
        self.bar.search_requested.connect(self.run_search)
        self.grid.selectionModel().currentChanged.connect(self._on_current)
        self.grid.activated.connect(lambda _i: self.open_current())
        self.recs_view.item_selected.connect(self._on_rec_selected)
        self.recs_view.item_activated.connect(self._open_rec)
        self.recs_view.clear_requested.connect(self.clear_history)
        self.item_pane.open_clicked.connect(self.open_current)
        self.item_pane.more_clicked.connect(self.more_like_current)
        self.item_pane.bought_clicked.connect(self.mark_current_bought)
        self.item_pane.why_toggled.connect(self._on_why_toggled)
        self.index_bar.pause_requested.connect(lambda: self.jobs and self.jobs.pause_indexing())
        self.index_bar.resume_requested.connect(lambda: self.jobs and self.jobs.resume_indexing())
        self.index_bar.cancel_requested.connect(lambda: self.jobs and self.jobs.cancel_indexing())

    # --- catalogs: open, import, recent (the Catalog menu is CatalogSources) ---------------

    def _fill_catalog_menu(self) -> None:
        self.sources.fill_menu()

    def recent_catalogs(self) -> list[str]:
        return self.sources.recent_catalogs()

    def open_database(self, path: str) -> None:
        self.sources.open_database(path)

    def open_folder(self, folder: str, metadata: Optional[str] = None,
                    mapping: Optional[dict[str, str]] = None) -> None:
        self.sources.open_folder(folder, metadata, mapping)

    def open_demo(self) -> None:
        self.sources.open_demo()

    def retry_unreadable(self) -> None:
        self.sources.retry_unreadable()

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
        from vlm_desktop.core.catalog.demo import is_demo_catalog

        if self.jobs is not None:
            self.jobs.close()
            self.jobs.deleteLater()
        self.jobs = CatalogJobs(self.client, store, self)
        self.jobs.job_result.connect(self._on_job_result)
        self.jobs.job_failed.connect(self._on_job_failed)
        self.jobs.index_progress.connect(self._on_index_progress)
        self.jobs.index_state.connect(self._on_index_state)
        self.sources.store = store
        self.model.set_entries([])
        self.category_guessed.emit(None)  # the previous catalog's name for the image
        self._show_item(None)
        self.recs_view.clear()
        self.recs_view.show_history(Recommendations((), 0, 0, self.jobs.session.history()))
        self.bar.set_categories(store.categories())
        stats = store.stats()
        self._indexed, self._searched = stats.indexed, ""
        name = texts.catalog_name(store.path.stem, is_demo_catalog(store.path))
        self.bar.set_header(texts.header_text(name, stats.items),
                            self.tr("Catalog file: {path}").format(path=store.path))
        self.status.setText(self.tr("{n} items in {name}").format(n=stats.items, name=name))
        self.status.setToolTip(str(store.path))
        self.sources.remember(str(store.path))
        self.catalog_opened.emit(str(store.path))
        self._update_empty()
        if self.jobs.model_ready:
            self._after_engine()

    def _on_embedder_loading(self, name: str) -> None:
        # The internal name ("lite") means nothing to a user; it stays in the tooltip.
        self._no_model = False
        self.index_label.setText(self.tr("Loading the catalog search model…"))
        self.index_label.setToolTip(self.tr("Model: {name}").format(name=model_name(name)))
        self._update_empty()

    def _on_embedder_ready(self, info: ModelInfo, _choice: object) -> None:
        # A new embedder indexes what it has no vectors for; other models' vectors stay.
        self.embedder, self._no_model = info.name, False
        self.index_label.setToolTip(fill(self.tr(
            "Catalog vectors come from {name}; each model's vectors are kept, so switching back "
            "needs no re-indexing."), name=model_name(info.name)))
        if self.jobs is not None:
            self._after_engine()
        self._update_empty()

    def _on_embedder_failed(self, message: str, _details: str = "") -> None:
        self.embedder, self._no_model = "", True
        self.index_label.setText(
            self.tr("Catalog search is unavailable: {message}").format(message=message))
        self._update_empty()

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
        return self.bar.filters()

    @Slot(object)
    def show_similar_to(self, image: Image.Image) -> None:
        """Show the catalog items that look like `image` (searched on the worker)."""
        if image is not self._image:
            self.why_button.setChecked(False)  # its maps were of the previous image
            self.category_guessed.emit(None)
        self._image, self._searched = image, ""
        self.why_button.setEnabled(self._current is not None)
        self._update_empty()
        if not self.model_ready():
            return
        self.status.setText(self.tr("Looking for similar items…"))
        self.jobs.similar_to_image(image, RESULTS_K, self.filters())

    def run_search(self) -> None:
        text = self.bar.text()
        if self.jobs is None:
            return
        if not text:
            if self._image is not None and self.model_ready():
                self.show_similar_to(self._image)
            return
        self.status.setText(self.tr("Searching for “{text}”…").format(text=text))
        self._searched = text
        self.jobs.text_search(text, self.bar.mode(), RESULTS_K, self.filters())

    def more_like_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self._searched = ""
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

    def _update_empty(self) -> None:
        """The grid's empty state: what the user can do next."""
        if self._no_model:
            model = texts.MODEL_NONE
        elif self.model_ready():
            model = texts.MODEL_READY
        else:
            model = texts.MODEL_LOADING
        total = self.jobs.store.stats().items if self.jobs is not None else 0
        self.grid.set_empty_text(texts.empty_text(
            catalog=self.jobs is not None, model=model, image=self._image is not None,
            searched=self._searched, indexed=self._indexed, total=total,
            filtered=self.bar.filtered()))

    def _update_legend(self) -> None:
        self.legend_button.setToolTip(texts.match_legend(self._weak_below))

    def _show_legend(self) -> None:
        QToolTip.showText(self.legend_button.mapToGlobal(self.legend_button.rect().bottomLeft()),
                          self.legend_button.toolTip(), self.legend_button)

    # --- the selected item ----------------------------------------------------------------

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = current.data(ItemRole) if current.isValid() else None
        if item is not None:
            self.recs_view.select_none()  # one item is current: the grid's
        self._show_item(item)

    def _on_rec_selected(self, item: CatalogItem) -> None:
        self.grid.selectionModel().clear()  # one item is current: the recommendation
        self._show_item(item)

    def _open_rec(self, item: CatalogItem) -> None:
        self._show_item(item)
        self.open_current()

    def _show_item(self, item: Optional[CatalogItem]) -> None:
        if item != self._current:
            self.why_button.setChecked(False)
        self._current = item
        path = str(self.jobs.store.abs_path(item)) if item is not None and self.jobs else ""
        self.item_pane.show_item(item if self.jobs is not None else None, path,
                                 self._image is not None)

    def open_current(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.open_item_requested.emit(str(self.jobs.store.abs_path(self._current)))

    def mark_current_bought(self) -> None:
        if self.jobs is not None and self._current is not None:
            self.jobs.mark_bought(self._current.id)
            self.status.setText(
                self.tr("Marked “{title}” as bought.").format(title=self._current.title))
            self.refresh_recommendations()

    def clear_history(self) -> None:
        """Forget the catalog's purchase history (the user confirmed it)."""
        if self.jobs is None:
            return
        forgotten = self.jobs.clear_history()
        self.status.setText(self.tr("Purchase history cleared ({n} purchases "
                                    "forgotten).").format(n=forgotten))
        self._show_recommendations(Recommendations((), 0, self._indexed,
                                                   self.jobs.session.history()))

    # --- why similar ----------------------------------------------------------------------

    def _on_why_toggled(self, on: bool) -> None:
        if on and self.jobs is not None and self._current is not None and self._image is not None:
            self.status.setText(
                self.tr("Comparing with “{title}”…").format(title=self._current.title))
            self.jobs.why_similar(self._image, self._current)
            return
        self.item_pane.show_map(None)
        self.query_map_changed.emit(None)

    def _show_why(self, why: WhySimilar) -> None:
        if not self.why_button.isChecked() or why.item != self._current:
            return  # the user moved on while the maps were made
        maps = why.maps
        self.item_pane.show_map(maps.hit)
        self.status.setText(self.tr("Why similar: matching regions are highlighted on both "
                                    "images.") if maps.method == "spatial" else
                            self.tr("Why similar: where each shows the item are highlighted on "
                                    "both images."))
        self.query_map_changed.emit(maps.query)

    # --- outcomes -------------------------------------------------------------------------

    @Slot(str, object)
    def _on_job_result(self, name: str, value: object) -> None:
        if name == "similar":
            assert isinstance(value, SimilarItems)
            self._show_similar(value)
        elif name == "recommend":
            assert isinstance(value, Recommendations)
            self._show_recommendations(value)
        elif name == "why":
            assert isinstance(value, WhySimilar)
            self._show_why(value)

    def _show_similar(self, result: SimilarItems) -> None:
        assert self.jobs is not None
        store = self.jobs.store
        self.model.set_entries([GridEntry(h.item, str(store.abs_path(h.item)), h.similarity,
                                          words=h.words > 0) for h in result.hits])
        self.status.setText(texts.similar_heading(result, self.jobs.indexing))
        if result.kind == "image":
            self.category_guessed.emit(result.category)
        if result.kind != "text":
            self._searched = ""
        self._indexed = max(self._indexed, result.indexed)
        if result.weak_below:
            self._weak_below = result.weak_below
            self._update_legend()
        self._update_empty()
        self.results_shown.emit(len(result.hits))

    def _show_recommendations(self, recs: Recommendations) -> None:
        indexing = self.jobs is not None and self.jobs.indexing
        if recs.items:
            hint = ""
        elif recs.purchases == 0:
            hint = self.tr("Mark items as bought to get recommendations.")
        elif indexing or recs.indexed == 0:
            hint = self.tr("Recommendations appear as the catalog is indexed.")
        else:
            hint = self.tr("Nothing left to recommend from your purchases.")
        store = self.jobs.store if self.jobs is not None else None
        self.recs_view.show_recommendations(
            recs, lambda item: str(store.abs_path(item)) if store is not None else "", hint)
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
        self.index_bar.show_progress(p, model_name(self.embedder))
        if p.done and not self._indexed:
            self._indexed = p.done
            self._update_empty()
        if self._recs_wait_index:
            self._recs_wait_index = False
            self.refresh_recommendations()

    @Slot(str)
    def _on_index_state(self, state: str) -> None:
        self.index_bar.show_state(state, model_name(self.embedder))
        if state == "finished":
            self.refresh_recommendations()
            if self._image is not None:
                self.show_similar_to(self._image)

    def shutdown(self) -> None:
        """Stop indexing and thumbnail threads (before the client shuts down)."""
        if self.jobs is not None:
            self.jobs.close()
        self.sources.shutdown()
        self.thumbs.shutdown()
