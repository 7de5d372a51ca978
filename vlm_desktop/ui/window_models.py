"""The window's side of the models: loading them, the Model menu, Device, Manage Models…,
and what the window says when a model is ready, fails or is missing.

`ModelMenu` holds no model state of its own (that is `ModelSession`'s); it turns the
session's signals into what the window shows and the menu's choices into session calls.
Its texts keep the "MainWindow" translation context they were written in.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDialog

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.types import CAP_CAPTION, ModelInfo
from vlm_desktop.ui.capabilities import missing_reason
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.message_bar import Level

# The window is typed as Any: importing MainWindow here would make an import
# cycle (it builds this object); the attributes used are MainWindow's.

log = logging.getLogger(__name__)

DeviceLister = Callable[[], "list[tuple[str, str]]"]


class ModelMenu(QObject):
    """Loads the window's models and keeps the Model menu and the panels in step with them."""

    def __init__(self, window: Any, device_lister: Optional[DeviceLister]) -> None:
        super().__init__(window)
        self.w = window
        self.models = window.models_
        self.dialog: QDialog | None = None
        self._device_lister = device_lister
        self._devices_job: object | None = None

    def connect(self) -> None:
        """Listen to the session: what the window says as models load, fail or are missing."""
        w, main, catalog = self.w, self.models.main, self.models.catalog
        main.loading.connect(
            lambda _name: w.caption_panel.show_status(translate("MainWindow", "Loading model…")))
        main.ready.connect(self._on_engine_ready)
        main.failed.connect(self._on_engine_failed)
        main.unavailable.connect(self._no_model)
        catalog.ready.connect(self._on_embedder_ready)
        catalog.failed.connect(self._on_embedder_failed)
        if w.catalog_panel is not None:
            catalog.unavailable.connect(w.catalog_panel.show_no_embedder)
        w.client.gpu_out_of_memory.connect(self._offer_cpu)

    # --- loading -----------------------------------------------------------------------
    def start(self) -> None:
        """Load the captioning and catalog models (once the window shows, after a device
        change)."""
        self.load_main()
        self.start_embedder()

    def load_main(self) -> None:
        self.models.load_main(self.active_model_name())
        self.w.refresh_state()

    def start_embedder(self) -> None:
        """Load the catalog's embedding model (shared with the captioner when it is the same)."""
        self.models.load_catalog()

    def active_model_name(self) -> str | None:
        """The chosen model, or the default captioning model when none was chosen."""
        try:
            return self.models.main_name()
        except ValueError as exc:  # a damaged model list: say so, fall back to the built-in
            log.error("%s", exc)
            self.w.message_bar.show_error(str(exc))
            return None

    # --- the Model menu ------------------------------------------------------------------
    def select_model(self, name: str) -> None:
        """Model menu: remember `name` and switch to it (the worker frees the old model)."""
        if self.models.select_main(name, self.active_model_name()):
            self.w.cancel()  # work queued for the old model is no longer wanted
            self.load_main()  # the catalog's model stays as it is

    def select_embedder(self, name: str) -> None:
        """Model ▸ Catalog Search Model: remember `name` and load it."""
        self.models.select_catalog(name)

    def refresh(self) -> None:
        """Re-read the installed models into the Model menu (after the manager changed them)."""
        gone = self.models.refresh()
        if gone:
            self.w.message_bar.show_message(
                translate("MainWindow", "{gone} was removed; switching to {model}.").format(
                    gone=gone, model=self.active_model_name()), Level.INFO)
            self.load_main()
        self.models.reload_catalog_if_removed()
        self.w.actions_.set_models(self.models.installed, self.active_model_name())
        self._refresh_embedders()

    def _refresh_embedders(self) -> None:
        actions = self.w.actions_
        actions.embed_menu.menuAction().setVisible(self.w.catalog_panel is not None)
        actions.set_embedders(self.models.installed, self.models.catalog_name())

    def open_manager(self) -> QDialog:
        """Model ▸ Manage Models…: a window-modal dialog; its changes refresh the menu."""
        from vlm_desktop.ui.model_manager_dialog import ModelManagerDialog

        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        dialog = ModelManagerDialog(self.w)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.models_changed.connect(self.refresh)
        dialog.finished.connect(self._on_dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_dialog_closed(self) -> None:
        self.dialog = None
        self.refresh()

    def set_device(self, device: str) -> None:
        """Model ▸ Device: remember the choice and reload the model there."""
        if not self.models.set_device(device):
            return
        for action in self.w.actions_.device_group.actions():  # also when set from elsewhere
            action.setChecked(action.data() == device)
        self.start()

    def _offer_cpu(self) -> None:
        """After the GPU ran out of memory (memory already freed): one click moves to the CPU."""
        if self.models.device == "cpu":
            return
        bar = self.w.message_bar
        text = bar.text or translate("MainWindow", "The GPU ran out of memory.")
        bar.show_message(text, Level.ERROR, action=(translate("MainWindow", "Use the CPU"),
                                                    lambda: self.set_device("cpu")))

    # --- what the window says ------------------------------------------------------------
    def _no_model(self, reason: str) -> None:
        said = reason if reason.startswith("No model is installed") else (
            translate("MainWindow", "No model is installed: {reason}").format(reason=reason))
        self.w.caption_panel.show_status(said)
        self.w.chat_panel.set_input_enabled(False,
                                            translate("MainWindow", "No model is installed"))

    def _on_engine_ready(self, info: ModelInfo, choice: DeviceChoice) -> None:
        log.info("model ready: %s on %s", info.name, choice.device)
        w = self.w
        w.actions_.set_models(self.models.installed, self.active_model_name())
        if w.image is not None:
            if w.heatmap is not w.document.similarity_map:
                w.document.select(None)  # the old model's word map: its caption is replaced
            w.caption_current()  # a new model captions the image afresh
        elif self.models.main.can(CAP_CAPTION):
            w.caption_panel.show_status(translate("MainWindow", 
                "Open an image to see its caption. Its highlighted words can be clicked: "
                "each shows where the model looked for it."))
        else:
            w.caption_panel.show_status(missing_reason(CAP_CAPTION))
        if self._device_lister is not None and self._devices_job is None:
            self._list_devices(self._device_lister)

    def _list_devices(self, lister: DeviceLister) -> None:
        """Fill Model ▸ Device off the GUI thread (no model needed: it never waits for one)."""
        job = self.w.background.run(lambda _state: lister(), "listing devices")
        self._devices_job = job
        job.result.connect(lambda devices: self.w.actions_.set_devices(list(devices),
                                                                      self.models.device))
        job.failed.connect(lambda message, _d: log.warning("listing CUDA devices failed: %s",
                                                           message))
        job.finished.connect(lambda: setattr(self, "_devices_job", None))

    def _on_embedder_ready(self, info: ModelInfo, _choice: DeviceChoice) -> None:
        log.info("catalog search model ready: %s", info.name)
        self._refresh_embedders()

    def _on_embedder_failed(self, message: str, details: str) -> None:
        self.w.message_bar.show_error(
            translate("MainWindow", "The catalog search model could not be loaded: "
                      "{message}").format(message=message), details)
        self._refresh_embedders()

    def _on_engine_failed(self, message: str, details: str) -> None:
        self.w.caption_panel.show_status(
            translate("MainWindow", "No model could be loaded: {message}").format(message=message))
        self.w.message_bar.show_error(
            translate("MainWindow", "The model could not be loaded: {message}").format(
                message=message), details)
