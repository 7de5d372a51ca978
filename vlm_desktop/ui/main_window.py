"""The main window: image, caption, questions, heat maps; all model work goes to the worker."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication, QImage, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
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
    Answer,
    Caption,
    HeatMap,
    ModelInfo,
    WordSpan,
)
from vlm_desktop.core.images import file_dialog_filter
from vlm_desktop.core.video import is_video
from vlm_desktop.ui.about_dialog import AboutDialog
from vlm_desktop.ui.capabilities import missing_reason
from vlm_desktop.ui.caption_panel import CaptionPanel
from vlm_desktop.ui.chat_panel import ChatPanel
from vlm_desktop.ui.image_document import CANCELLED_CAPTION, ImageDocument
from vlm_desktop.ui.image_input import read_mime
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.image_view import ImageView
from vlm_desktop.ui.message_bar import Level, MessageBar
from vlm_desktop.ui.model_session import ModelSession
from vlm_desktop.ui.heatmap_overlay import HeatmapOverlay
from vlm_desktop.ui.overlay_controls import OverlayControls
from vlm_desktop.ui.settings import AppSettings
from vlm_desktop.ui.status_bar import StatusBar
from vlm_desktop.ui.video_controller import VideoController, video_dialog_filter
from vlm_desktop.ui.video_timeline import VideoTimeline
from vlm_desktop.ui.window_actions import WindowActions
from vlm_desktop.ui.window_rules import WorkState, busy_indicator, question_box
from vlm_desktop.workers.image_loader import ImageLoader
from vlm_desktop.workers.inference_worker import InferenceClient
from vlm_desktop.workers.jobs import Job, OffThread

log = logging.getLogger(__name__)

FactoryResolver = Callable[[Optional[str]], EngineFactory]
DeviceLister = Callable[[], "list[tuple[str, str]]"]
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
        self._model_dialog: QDialog | None = None
        self._device_lister = device_lister
        self.client = client or InferenceClient(self)
        self.models_ = ModelSession(self.client, settings,
                                    model_name=model_name or settings.model or None,
                                    device=device or settings.device,
                                    resolve_factory=resolve_factory,
                                    with_catalog=with_catalog, parent=self)
        self.loader = loader or ImageLoader(self)
        self.document = ImageDocument(self.client, self)
        self._background = OffThread("window background work", max_threads=1)
        self._exports: set[Job] = set()
        self._devices_job: Job | None = None
        self._opening = False
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
        self._refresh_recent()
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
        self.chat_panel.set_input_enabled(False, self.tr("Open an image to ask about it"))

    def _slots(self) -> dict[str, Callable[..., object]]:
        return {
            "open": self.open_dialog, "paste": self.paste, "export": self.export_dialog,
            "fit": self.view.fit_to_window, "zoom_in": self.view.zoom_in,
            "zoom_out": self.view.zoom_out, "heatmap": lambda on: self.overlay.toggled(on),
            "fullscreen": self._on_fullscreen, "recaption": self.caption_current,
            "cancel": self.cancel, "about": self.show_about, "log_folder": self.open_log_folder,
            "device": self.set_device, "model": self.select_model,
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
        self.video.work_changed.connect(self._refresh_state)
        self.video.frame_shown.connect(self._on_frame_shown)
        self.video.opened.connect(self._remember)
        menu = next(o for o in self.actions_.export.associatedObjects() if o is not self)
        menu.insertAction(self.actions_.export, self.video.export_action)

    def _connect(self) -> None:
        main, catalog = self.models_.main, self.models_.catalog
        self.status.follow(self.models_)
        for changed in (main.loading, main.ready, main.failed, main.unavailable, catalog.ready,
                        catalog.failed, self.document.work_changed,
                        self.document.selection_changed):
            changed.connect(self._refresh_state)
        main.loading.connect(
            lambda _name: self.caption_panel.show_status(self.tr("Loading model…")))
        main.ready.connect(self._on_engine_ready)
        main.failed.connect(self._on_engine_failed)
        main.unavailable.connect(self._no_model)
        catalog.ready.connect(self._on_embedder_ready)
        catalog.failed.connect(self._on_embedder_failed)
        if self.catalog_panel is not None:
            catalog.unavailable.connect(self.catalog_panel.show_no_embedder)
        self.client.gpu_out_of_memory.connect(self._offer_cpu)
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)
        self.view.mime_dropped.connect(self.open_mime_data)
        self._connect_document()
        self.caption_panel.word_selected.connect(self.show_word)
        self.chat_panel.word_selected.connect(self.show_word)
        self.chat_panel.question_asked.connect(self.ask)
        self.status.busy.cancel_requested.connect(self.cancel)

    def _connect_document(self) -> None:
        d, caption, chat = self.document, self.caption_panel, self.chat_panel
        d.image_changed.connect(chat.clear)
        d.caption_started.connect(lambda: caption.show_status(self.tr("Captioning…")))
        d.caption_partial.connect(caption.show_partial)
        d.caption_ready.connect(self._show_caption)
        d.caption_failed.connect(self._on_caption_failed)
        d.caption_cancelled.connect(lambda: caption.show_status(
            translate("ImageDocument", CANCELLED_CAPTION)))
        d.question_added.connect(lambda _index, question: chat.add_question(question))
        d.answer_partial.connect(lambda index, text: chat.entries[index].set_partial(text))
        d.answer_ready.connect(self._show_answer)
        d.answer_failed.connect(self._on_answer_failed)

    # --- the model ----------------------------------------------------------------------
    def start_model(self) -> None:
        """Load the captioning and catalog models on the worker thread (called once the
        window is on screen, and after a device change)."""
        self._load_main()
        self.start_embedder()

    def _load_main(self) -> None:
        self.models_.load_main(self.active_model_name())
        self._update_busy()

    def start_embedder(self) -> None:
        """Load the catalog's embedding model (shared with the captioner when it is the same)."""
        self.models_.load_catalog()

    def embedder_name(self) -> str | None:
        """The model that makes the catalog's vectors (Model ▸ Catalog Search Model)."""
        return self.models_.catalog_name()

    def select_embedder(self, name: str) -> None:
        """Model ▸ Catalog Search Model: remember `name` and load it."""
        self.models_.select_catalog(name)

    def active_model_name(self) -> str | None:
        """The chosen model, or the default captioning model when none was chosen."""
        try:
            return self.models_.main_name()
        except ValueError as exc:  # a damaged model list: say so, fall back to the built-in
            log.error("%s", exc)
            self.message_bar.show_error(str(exc))
            return None

    def select_model(self, name: str) -> None:
        """Model menu: remember `name` and switch to it (the worker frees the old model)."""
        if self.models_.select_main(name, self.active_model_name()):
            self.cancel()  # work queued for the old model is no longer wanted
            self._load_main()  # the catalog's model stays as it is

    def refresh_models(self) -> None:
        """Re-read the installed models into the Model menu (after the manager changed them)."""
        gone = self.models_.refresh()
        if gone:
            self.message_bar.show_message(
                self.tr("{gone} was removed; switching to {model}.").format(
                    gone=gone, model=self.active_model_name()), Level.INFO)
            self._load_main()
        self.models_.reload_catalog_if_removed()
        self.actions_.set_models(self.models_.installed, self.active_model_name())
        self._refresh_embedders()

    def _refresh_embedders(self) -> None:
        self.actions_.embed_menu.menuAction().setVisible(self.catalog_panel is not None)
        self.actions_.set_embedders(self.models_.installed, self.embedder_name())

    def open_model_manager(self) -> QDialog:
        """Model ▸ Manage Models…: a window-modal dialog; its changes refresh the menu."""
        from vlm_desktop.ui.model_manager_dialog import ModelManagerDialog

        if self._model_dialog is not None:
            self._model_dialog.raise_()
            return self._model_dialog
        dialog = ModelManagerDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.models_changed.connect(self.refresh_models)
        dialog.finished.connect(self._on_model_dialog_closed)
        self._model_dialog = dialog
        dialog.open()
        return dialog

    def _on_model_dialog_closed(self) -> None:
        self._model_dialog = None
        self.refresh_models()

    def can(self, capability: str) -> bool:
        """Whether the loaded model offers `capability` (False while none is loaded)."""
        return self.models_.main.can(capability)

    @property
    def is_loading_model(self) -> bool:
        return self.models_.main.is_loading

    def set_device(self, device: str) -> None:
        """Model ▸ Device: remember the choice and reload the model there."""
        if not self.models_.set_device(device):
            return
        for action in self.actions_.device_group.actions():  # also when set from elsewhere
            action.setChecked(action.data() == device)
        self.start_model()

    def set_language(self, setting: str) -> None:
        """View ▸ Language: saved now; the window and the model follow it at the next start
        (the texts are translated as the widgets are built)."""
        if setting == self.settings.language:
            return
        self.settings.language = setting
        self.settings.sync()
        self.message_bar.show_message(
            self.tr("The language changes when VLM Desktop is restarted."), Level.INFO)

    def _offer_cpu(self) -> None:
        """After the GPU ran out of memory (memory already freed): one click moves to the CPU."""
        if self.device == "cpu":
            return
        text = self.message_bar.text or self.tr("The GPU ran out of memory.")
        self.message_bar.show_message(text, Level.ERROR, action=(self.tr("Use the CPU"),
                                                                 lambda: self.set_device("cpu")))

    def _no_model(self, reason: str) -> None:
        said = reason if reason.startswith("No model is installed") else (
            self.tr("No model is installed: {reason}").format(reason=reason))
        self.caption_panel.show_status(said)
        self.chat_panel.set_input_enabled(False, self.tr("No model is installed"))

    def _on_engine_ready(self, info: ModelInfo, choice: DeviceChoice) -> None:
        log.info("model ready: %s on %s", info.name, choice.device)
        self.actions_.set_models(self.models_.installed, self.active_model_name())
        if self.image is not None:
            if self.heatmap is not self.document.similarity_map:
                self.document.select(None)  # the old model's word map: its caption is replaced
            self.caption_current()  # a new model captions the image afresh
        elif self.can(CAP_CAPTION):
            self.caption_panel.show_status(self.tr(
                "Open an image to see its caption. Its highlighted words can be clicked: "
                "each shows where the model looked for it."))
        else:
            self.caption_panel.show_status(missing_reason(CAP_CAPTION))
        if self._device_lister is not None and self._devices_job is None:
            self._list_devices(self._device_lister)

    def _list_devices(self, lister: DeviceLister) -> None:
        """Fill Model ▸ Device off the GUI thread (no model needed: it never waits for one)."""
        job = self._background.run(lambda _state: lister(), "listing devices")
        self._devices_job = job
        job.result.connect(lambda devices: self.actions_.set_devices(list(devices), self.device))
        job.failed.connect(lambda message, _d: log.warning("listing CUDA devices failed: %s",
                                                           message))
        job.finished.connect(lambda: setattr(self, "_devices_job", None))

    def _on_embedder_ready(self, info: ModelInfo, _choice: DeviceChoice) -> None:
        log.info("catalog search model ready: %s", info.name)
        self._refresh_embedders()

    def _on_embedder_failed(self, message: str, details: str) -> None:
        self.message_bar.show_error(
            self.tr("The catalog search model could not be loaded: {message}").format(
                message=message), details)
        self._refresh_embedders()

    def _on_engine_failed(self, message: str, details: str) -> None:
        self.caption_panel.show_status(
            self.tr("No model could be loaded: {message}").format(message=message))
        self.message_bar.show_error(
            self.tr("The model could not be loaded: {message}").format(message=message), details)

    # --- opening images -----------------------------------------------------------------
    def open_dialog(self) -> None:
        videos = self.tr("Videos ({0})").format(video_dialog_filter())
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Open Image"), self.settings.last_folder,
            self.tr("{images};;{videos};;All files (*)").format(images=file_dialog_filter(),
                                                                 videos=videos))
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """Decode `path` off the GUI thread; the image appears when it is ready. A video's
        scenes are read and captioned on the model's worker instead."""
        if is_video(path):
            self.video.open(path)
            return
        self._opening = True
        self.loader.load_path(path)
        self._update_busy()

    def paste(self) -> None:
        """Open the clipboard's image, file, file path or file URL."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.open_mime_data(mime):
            self.message_bar.show_message(
                self.tr("The clipboard holds no image and no path of an image file."), Level.INFO)

    def open_mime_data(self, mime: QMimeData) -> bool:
        """Open what a drop or paste carries; returns False if there is nothing to open."""
        wanted = read_mime(mime)
        if wanted is None:
            return False
        if wanted.note:
            self.message_bar.show_message(wanted.note, Level.INFO)
        if wanted.path is not None:
            self.open_path(wanted.path)
        elif wanted.image is not None:
            self._opening = True
            self.loader.load_qimage(wanted.image, self.tr("Pasted image"))
            self._update_busy()
        return True

    def _on_image_loaded(self, _rid: int, label: str, image: Image.Image, qimage: QImage) -> None:
        self._opening = False
        self.view.set_image(qimage)
        self.video.close()  # an image replaces the video and its timeline
        self.document.set_image(image, label)  # work about the previous image ends here
        self.message_bar.dismiss()
        name = Path(label).name if Path(label).exists() else label
        self.setWindowTitle(self.tr("{name} — {app}").format(name=name, app=APP_NAME))
        self._remember(label)
        if self.catalog_panel is not None:  # searched with the catalog's own model
            self.catalog_panel.show_similar_to(image)
        if self.client.has_engine() and self.info is not None:
            self.caption_current()
        self._refresh_state()

    def _on_frame_shown(self, label: str) -> None:
        """A video scene's keyframe is the image now (the timeline chose it)."""
        self.setWindowTitle(self.tr("{name} — {app}").format(name=label, app=APP_NAME))
        if self.catalog_panel is not None and self.image is not None:
            self.catalog_panel.show_similar_to(self.image)

    def _remember(self, label: str) -> None:
        if Path(label).is_file():
            self.settings.add_recent_file(str(Path(label).resolve()))
            self.settings.last_folder = str(Path(label).resolve().parent)
            self._refresh_recent()

    def _on_image_failed(self, _rid: int, label: str, message: str) -> None:
        self._opening = False
        self.message_bar.show_error(
            self.tr("Could not open the image: {message}").format(message=message))
        self._update_busy()

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

    def _show_caption(self, caption: Caption, measured_ms: float) -> None:
        self.caption_panel.show_caption(caption)
        self._show_timings(measured_ms, "caption", caption)

    def _on_caption_failed(self, message: str, details: str) -> None:
        self.caption_panel.show_status(
            self.tr("The caption failed: {message}").format(message=message))
        self.message_bar.show_error(message, details)

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
                self.document.refuse(question, self.tr(
                    "{model} cannot answer this. Ask about the catalog (price, "
                    "category, other colours) or choose another model in Model ▸").format(
                        model=self.info.name))
            return None  # otherwise the box is closed: a stray call sends nothing
        return self.document.ask(question, request)

    def _show_answer(self, index: int, answer: Answer, measured_ms: float) -> None:
        self.chat_panel.entries[index].set_answer(answer)
        self._show_timings(measured_ms, "answer", answer)

    def _on_answer_failed(self, index: int, message: str, details: str) -> None:
        self.chat_panel.entries[index].set_failed(message)
        if details:
            self.message_bar.show_error(message, details)

    def cancel(self) -> None:
        """Stop this window's caption and answers (Esc); dismisses the message bar when idle."""
        stopped_video = self.video.cancel()
        if not self.document.cancel() and not stopped_video:
            self.message_bar.dismiss()

    def _show_timings(self, measured: float, step: str, result: Caption | Answer) -> None:
        self.status.show_timings(step, measured, dict(result.timings_ms), result.cached)

    # --- heat maps ----------------------------------------------------------------------
    def show_word(self, span: WordSpan | None) -> None:
        """Show the heat map of a clicked word over the image (None hides it)."""
        self.document.select(span)

    def _on_opacity(self, opacity: float) -> None:
        self.settings.overlay_opacity = opacity

    def export_dialog(self) -> None:
        if self.image is None or self.heatmap is None:
            self.message_bar.show_message(
                self.tr("Click a highlighted word first: the export shows its heat map."),
                Level.INFO)
            return
        stem = Path(self.image_label).stem or "image"
        suggested = str(Path(self.settings.last_folder) / f"{stem}-{self.heatmap.label}.png")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export Image with Overlay"),
                                              suggested, self.tr("PNG image (*.png)"))
        if path:
            self.export_to(path if path.lower().endswith(".png") else path + ".png")

    def export_to(self, path: str) -> Job:
        """Render and save the overlay off the GUI thread (big photos take a while); no
        model is involved, so it never waits behind one."""
        image, heatmap, opacity = self.image, self.heatmap, self.overlay_controls.opacity

        def render(_state: object) -> str:
            from vlm_desktop.core.explain.overlay import overlay

            overlay(image, heatmap, opacity).save(path, "PNG")
            return path

        job = self._background.run(render, "export")
        self._exports.add(job)
        job.result.connect(lambda saved: self.message_bar.show_message(
            self.tr("Saved {path}").format(path=saved), Level.INFO))
        job.failed.connect(lambda message, details: self.message_bar.show_error(
            self.tr("Could not export the image: {message}").format(message=message), details))
        job.finished.connect(lambda: (self._exports.discard(job), self._update_busy()))
        self._update_busy()
        return job

    # --- window chrome ------------------------------------------------------------------
    def _refresh_state(self, *_changed: object) -> None:
        """After any change of the models or the document: busy, question box, actions."""
        self._update_busy()
        self._update_question_box()
        self._update_actions()

    def _update_busy(self) -> None:
        busy = busy_indicator(WorkState(
            captioning=self.document.captioning, answering=self.document.answering,
            loading_model=self.is_loading_model, opening_image=self._opening,
            exporting=bool(self._exports)))
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
        box = question_box(self.info.name if self.info is not None else None,
                           self.can(CAP_ANSWER), self.is_loading_model, self.image is not None,
                           self._catalog_answers())
        self.chat_panel.set_input_enabled(box.enabled, box.reason, notice=box.notice,
                                          placeholder=box.placeholder)

    def _refresh_recent(self) -> None:
        self.actions_.set_recent(self.settings.recent_files, self.open_path, self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_files = []
        self._refresh_recent()

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
        self._background.shutdown(SHUTDOWN_TIMEOUT_MS)
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
