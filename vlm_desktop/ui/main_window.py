"""The main window: image, caption, questions, heat maps; all model work goes to the worker."""

from __future__ import annotations

import importlib.util
import logging
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop import APP_NAME
from vlm_desktop.core import paths
from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.registry import EngineFactory
from vlm_desktop.core.engine.types import (
    CAP_ANSWER,
    CAP_CAPTION,
    HeatMap,
    ModelInfo,
    WordSpan,
)
from vlm_desktop.ui.about_dialog import AboutDialog
from vlm_desktop.ui.capabilities import missing_reason
from vlm_desktop.ui.caption_panel import CaptionPanel
from vlm_desktop.ui.chat_panel import ChatPanel
from vlm_desktop.ui.image_document import ImageDocument
from vlm_desktop.ui.i18n import fill, model_name
from vlm_desktop.ui.image_view import ImageView
from vlm_desktop.ui.message_bar import Level, MessageBar
from vlm_desktop.ui.model_session import ModelSession
from vlm_desktop.ui.heatmap_overlay import HeatmapOverlay
from vlm_desktop.ui.overlay_controls import OverlayControls
from vlm_desktop.ui.settings import AppSettings
from vlm_desktop.ui.status_bar import StatusBar
from vlm_desktop.ui.video_controller import VideoController
from vlm_desktop.ui.video_timeline import VideoTimeline
from vlm_desktop.ui.window_actions import WindowActions
from vlm_desktop.ui.window_conversation import follow_document
from vlm_desktop.ui.window_export import OverlayExport
from vlm_desktop.ui.window_models import DeviceLister, ModelMenu
from vlm_desktop.ui.window_opening import ImageOpener
from vlm_desktop.ui.window_rules import WorkState, busy_indicator, question_box
from vlm_desktop.workers.image_loader import ImageLoader
from vlm_desktop.workers.inference_worker import InferenceClient
from vlm_desktop.workers.jobs import Job, OffThread

log = logging.getLogger(__name__)

FactoryResolver = Callable[[Optional[str]], EngineFactory]
SHUTDOWN_TIMEOUT_MS = 5000
# First-run layout, as shares of the window's width: image, centre (caption and questions)
# and the catalog dock. A saved window state or splitter state wins over these.
FIRST_RUN_SHARES = (45, 25, 30)


def _registry_factory(name: str | None) -> EngineFactory:
    return registry.engine_factory(name)  # looked up per call, so tests can swap the registry


def _list_cuda_devices() -> list[tuple[str, str]]:
    from vlm_desktop.core.device import list_cuda_devices  # imports torch: worker thread only

    return list_cuda_devices()


class MainWindow(QMainWindow):
    """The application window. `resolve_factory` maps a model name to an engine factory.

    `model_name` (from `--model`) wins over the model saved in the settings; a model chosen
    in the Model menu is saved.
    """

    def __init__(self, settings: AppSettings, *, model_name: str | None = None,
                 device: str | None = None,
                 resolve_factory: FactoryResolver = _registry_factory,
                 device_lister: DeviceLister | None = _list_cuda_devices,
                 client: InferenceClient | None = None,
                 loader: ImageLoader | None = None,
                 with_catalog: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.client = client or InferenceClient(self)
        self.models_ = ModelSession(self.client, settings,
                                    model_name=model_name or settings.model or None,
                                    device=device or settings.device,
                                    resolve_factory=resolve_factory,
                                    with_catalog=with_catalog, parent=self)
        self.loader = loader or ImageLoader(self)
        self.document = ImageDocument(self.client, self)
        self.background = OffThread("window background work", max_threads=1)
        self.exporter = OverlayExport(self)
        self.model_menu = ModelMenu(self, device_lister)
        self.opener = ImageOpener(self)
        self._sized_dock = False
        self._shut_down: bool | None = None  # None until shut down, then whether it stopped

        self.setWindowTitle(APP_NAME)
        self.setAccessibleName(APP_NAME)
        self.setAcceptDrops(True)
        self._build_widgets()
        self.actions_ = WindowActions(self, self._slots())
        self.addAction(self.actions_.cancel)
        self.actions_.check_language(settings.language)
        self.overlay_controls = OverlayControls(self.actions_.heatmap, settings.overlay_opacity)
        self._image_column.layout().addWidget(self.overlay_controls)
        self.overlay_controls.opacity_changed.connect(self._on_opacity)
        self.overlay = HeatmapOverlay(self.document, self.view, self.overlay_controls,
                                      self.actions_.heatmap, self.caption_panel,
                                      self.chat_panel, self)
        self.catalog_panel = self._add_catalog_dock() if with_catalog else None
        self._add_video()
        self._connect()
        self.refresh_recent()
        self.refresh_models()
        self.actions_.set_devices([], self.device)
        self._update_actions()
        self._restore_geometry()

    @property
    def info(self) -> ModelInfo | None:
        """The captioning model's info while it is loaded."""
        return self.models_.main.info

    @property
    def embed_info(self) -> ModelInfo | None:
        """The catalog's embedding model's info while it is loaded."""
        return self.models_.catalog.info

    @property
    def device_choice(self) -> DeviceChoice | None:
        return self.models_.main.choice

    @property
    def device(self) -> str:
        return self.models_.device

    @property
    def model_name(self) -> str | None:
        return self.models_.model_name

    @model_name.setter
    def model_name(self, name: str | None) -> None:
        self.models_.model_name = name

    @property
    def image(self) -> Image.Image | None:
        return self.document.image

    @property
    def image_label(self) -> str:
        return self.document.label

    @property
    def heatmap(self) -> HeatMap | None:
        return self.document.heatmap

    @property
    def caption_id(self) -> int | None:
        return self.document.caption_id

    # --- construction ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.message_bar = MessageBar()
        self.view = ImageView()
        self._image_column = QWidget()
        column = QVBoxLayout(self._image_column)
        column.setContentsMargins(6, 6, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.message_bar)
        column.addWidget(self.view, 1)
        self.timeline = VideoTimeline()
        column.addWidget(self.timeline)

        self.caption_panel = CaptionPanel()
        self.chat_panel = ChatPanel()
        self.side = QSplitter(Qt.Orientation.Vertical)
        self.side.addWidget(self.caption_panel)
        self.side.addWidget(self.chat_panel)
        self.side.setStretchFactor(1, 1)
        self.side.setChildrenCollapsible(False)
        self.side.setMinimumWidth(280)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._image_column)
        self.splitter.addWidget(self.side)
        image_share, centre_share, _ = FIRST_RUN_SHARES
        # Stretch in the same ratio as the sizes, so resizing the window keeps the split.
        self.splitter.setStretchFactor(0, image_share)
        self.splitter.setStretchFactor(1, centre_share)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([image_share * 10, centre_share * 10])  # a ratio: Qt scales it
        self.setCentralWidget(self.splitter)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.chat_panel.set_input_enabled(False, self.tr("Open an image first"))

    def _slots(self) -> dict[str, Callable[..., object]]:
        return {
            "open": self.open_dialog, "paste": self.paste, "export": self.exporter.dialog,
            "fit": self.view.fit_to_window, "zoom_in": self.view.zoom_in,
            "zoom_out": self.view.zoom_out, "heatmap": lambda on: self.overlay.toggled(on),
            "fullscreen": self._on_fullscreen, "recaption": self.caption_current,
            "cancel": self.cancel, "about": self.show_about, "log_folder": self.open_log_folder,
            "device": self.model_menu.set_device, "model": self.select_model,
            "embed_model": self.select_embedder,
            "manage_models": self.open_model_manager, "language": self.set_language,
        }

    def _add_catalog_dock(self) -> QWidget | None:
        # The catalog panel is optional: absent module → no dock. Errors inside it still raise.
        if importlib.util.find_spec("vlm_desktop.ui.catalog_panel") is None:
            return None
        from vlm_desktop.ui.catalog_panel import CatalogPanel

        panel = CatalogPanel(self.client, self, settings=self.settings.store)
        panel.open_item_requested.connect(self.open_path)
        panel.query_map_changed.connect(self.document.show_similarity)
        panel.category_guessed.connect(self.caption_panel.show_catalog_category)
        panel.catalog_opened.connect(lambda _path: self._update_question_box())
        dock = QDockWidget(self.tr("Catalog"), self)
        dock.setObjectName("catalogDock")
        dock.setAccessibleName(self.tr("Catalog"))
        dock.setToolTip(self.tr("Similar items from your catalog"))
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self._catalog_dock = dock
        toggle = dock.toggleViewAction()
        toggle.setText(self.tr("&Catalog"))
        toggle.setShortcut("Ctrl+K")
        toggle.setToolTip(self.tr("Show or hide the catalog panel (Ctrl+K)"))
        self.actions_.view_menu.addAction(toggle)
        return panel

    def _add_video(self) -> None:
        # Videos: the scenes' job, the timeline and File ▸ Export Subtitles… (ui/video_*.py).
        self.video = VideoController(self.client, self.document, self.view, self.caption_panel,
                                     self.message_bar, self.timeline, self)
        self.video.work_changed.connect(self.refresh_state)
        menu = next(o for o in self.actions_.export.associatedObjects() if o is not self)
        menu.insertAction(self.actions_.export, self.video.export_action)

    def _connect(self) -> None:
        main, catalog = self.models_.main, self.models_.catalog
        self.status.follow(self.models_)
        for changed in (main.loading, main.ready, main.failed, main.unavailable, catalog.ready,
                        catalog.failed, self.document.work_changed,
                        self.document.selection_changed):
            changed.connect(self.refresh_state)
        self.model_menu.connect()
        self.opener.connect()
        follow_document(self.document, self.caption_panel, self.chat_panel, self.status,
                        self.message_bar)
        self.caption_panel.word_selected.connect(self.show_word)
        self.chat_panel.word_selected.connect(self.show_word)
        self.chat_panel.question_asked.connect(self.ask)
        self.status.busy.cancel_requested.connect(self.cancel)

    # --- the models and opening images (ui/window_models.py, ui/window_opening.py) -----
    def start_model(self) -> None:
        """Load the captioning and catalog models on the worker thread (called once the
        window is on screen, and after a device change)."""
        self.model_menu.start()

    def active_model_name(self) -> str | None:
        return self.model_menu.active_model_name()

    def select_model(self, name: str) -> None:
        self.model_menu.select_model(name)

    def select_embedder(self, name: str) -> None:
        self.model_menu.select_embedder(name)

    def refresh_models(self) -> None:
        self.model_menu.refresh()

    def open_model_manager(self) -> QDialog:
        return self.model_menu.open_manager()

    @property
    def _model_dialog(self) -> QDialog | None:
        return self.model_menu.dialog

    def can(self, capability: str) -> bool:
        """Whether the loaded model offers `capability` (False while none is loaded)."""
        return self.models_.main.can(capability)

    @property
    def is_loading_model(self) -> bool:
        return self.models_.main.is_loading

    def open_path(self, path: str) -> None:
        """Open an image (decoded off the GUI thread) or a video."""
        self.opener.open_path(path)

    def paste(self) -> None:
        self.opener.paste()

    def open_dialog(self) -> None:
        self.opener.open_dialog()

    def set_language(self, setting: str) -> None:
        """View ▸ Language: saved now; the window and the model follow it at the next start
        (the texts are translated as the widgets are built)."""
        if setting == self.settings.language:
            return
        self.settings.language = setting
        self.settings.sync()
        self.message_bar.show_message(
            self.tr("The language changes when VLM Desktop is restarted."), Level.INFO)

    # --- caption and questions ----------------------------------------------------------
    def caption_current(self) -> None:
        """Caption the current image (supersedes a caption still running)."""
        image = self.image
        if image is None or self.info is None:
            return
        if not self.can(CAP_CAPTION):
            self.caption_panel.show_status(missing_reason(CAP_CAPTION))
            return
        self.document.caption()

    def ask(self, question: str) -> Job | None:
        """Ask about the current image: the catalog's questions to the catalog, others to
        the model; None when nothing was sent."""
        if self.image is None or self.info is None:
            return None
        # Price, category and stock questions go to the open catalog, if there is one.
        request = self.catalog_panel.answer_request(self.image, question) \
            if self._catalog_answers() else None
        if request is None and not self.can(CAP_ANSWER):
            if self._catalog_answers():  # the box is open for catalog questions only
                self.document.refuse(question, fill(self.tr(
                    "{model} cannot answer this. Ask about the catalog (price, "
                    "category, other colours) or choose another model in Model ▸"),
                    model=model_name(self.info.name)))
            return None  # otherwise the box is closed: a stray call sends nothing
        return self.document.ask(question, request)

    def cancel(self) -> None:
        """Stop this window's caption and answers (Esc); dismisses the message bar when idle."""
        stopped_video = self.video.cancel()
        if not self.document.cancel() and not stopped_video:
            self.message_bar.dismiss()

    # --- heat maps ----------------------------------------------------------------------
    def show_word(self, span: WordSpan | None) -> None:
        """Show the heat map of a clicked word over the image (None hides it)."""
        self.document.select(span)

    def _on_opacity(self, opacity: float) -> None:
        self.settings.overlay_opacity = opacity

    def export_to(self, path: str) -> Job:
        """Save the image with the shown heat map as a PNG (rendered off the GUI thread)."""
        return self.exporter.to(path)

    # --- window chrome ------------------------------------------------------------------
    def refresh_state(self, *_changed: object) -> None:
        """After any change of the models or the document: busy, question box, actions."""
        self._update_busy()
        self._update_question_box()
        self._update_actions()

    def _update_busy(self) -> None:
        busy = busy_indicator(WorkState(
            captioning=self.document.captioning, answering=self.document.answering,
            loading_model=self.is_loading_model, opening_image=self.opener.opening,
            exporting=self.exporter.busy))
        if self.video.busy:  # the longest job, cancellable: it speaks first
            self.status.busy.start(self.video.busy_text(), cancellable=True)
        elif busy is None:
            self.status.busy.stop()
        else:
            self.status.busy.start(busy.message, cancellable=busy.cancellable)

    def _update_actions(self) -> None:
        a = self.actions_
        has_image = self.view.has_image()
        for action in (a.fit, a.zoom_in, a.zoom_out):
            action.setEnabled(has_image)
        a.export.setEnabled(has_image and self.heatmap is not None)
        a.recaption.setEnabled(has_image and self.can(CAP_CAPTION))
        no_caption = self.info is not None and not self.can(CAP_CAPTION)
        a.recaption.setToolTip(missing_reason(CAP_CAPTION) if no_caption
                               else self.tr("Caption the current image again (F5)"))
        a.heatmap.setEnabled(has_image)

    def _catalog_answers(self) -> bool:
        """Whether an open catalog with a loaded model can answer catalog questions."""
        panel = self.catalog_panel
        return panel is not None and panel.model_ready()

    def _update_question_box(self) -> None:
        """Allow questions only with an image and a model that answers; else say why not."""
        box = question_box(model_name(self.info.name) if self.info is not None else None,
                           self.can(CAP_ANSWER), self.is_loading_model, self.image is not None,
                           self._catalog_answers())
        self.chat_panel.set_input_enabled(box.enabled, box.reason, notice=box.notice,
                                          placeholder=box.placeholder)

    def refresh_recent(self) -> None:
        self.actions_.set_recent(self.settings.recent_files, self.open_path, self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_files = []
        self.refresh_recent()

    def _on_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def show_about(self) -> None:
        AboutDialog(self.info, self, embedder=self.embed_info).exec()

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    def _restore_geometry(self) -> None:
        if not self.restoreGeometry(self.settings.geometry):
            self.resize(1200, 780)
        self.restoreState(self.settings.window_state)
        self.splitter.restoreState(self.settings.splitter_state)

    def save_settings(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.splitter_state = self.splitter.saveState()
        self.settings.overlay_opacity = self.overlay_controls.opacity
        self.settings.sync()

    def shutdown(self) -> bool:
        """Save settings, cancel work and stop the worker threads (with a timeout).

        Returns False when the model was still busy after the timeout. Idempotent.
        """
        if self._shut_down is not None:
            return self._shut_down
        self.save_settings()
        if self.catalog_panel is not None:  # its jobs run on the client: stop them first
            self.catalog_panel.shutdown()
        stopped = self.client.shutdown(SHUTDOWN_TIMEOUT_MS)
        if not stopped:
            log.warning("the model was still busy after %d ms", SHUTDOWN_TIMEOUT_MS)
        self.loader.shutdown(SHUTDOWN_TIMEOUT_MS)
        self.background.shutdown(SHUTDOWN_TIMEOUT_MS)
        self._shut_down = stopped
        return stopped

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        dock = getattr(self, "_catalog_dock", None)
        if dock is not None and self.settings.window_state.isEmpty() and not self._sized_dock:
            # First run: a modest catalog column; later runs restore the user's layout.
            self._sized_dock = True
            width = round(self.width() * FIRST_RUN_SHARES[2] / sum(FIRST_RUN_SHARES))
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)

    # Drops anywhere on the window (not only on the image) open the file.
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001
        self.view.dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        self.view.dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001
        self.view.dropEvent(event)


def open_when_idle(window: MainWindow, paths_: list[str]) -> None:
    """Open the first of `paths_` once the event loop runs (command-line arguments)."""
    if paths_:
        QTimer.singleShot(0, lambda: window.open_path(paths_[0]))
