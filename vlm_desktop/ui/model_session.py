"""Which models a window uses, on which device, and where each stands: apart from widgets.

A window has two roles for models: `main` captions and answers, `catalog` makes the
catalog's vectors (they may name the same model; the worker then loads it once). Each
`ModelRole` says by its own signals when its model is loading, ready or failed, or that no
installed model can fill it. `ModelSession` chooses the names from the settings and the
installed models (`core.engine.registry`), asks the worker to load them, and follows the
model manager's changes. Widgets only listen.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine import registry
from vlm_desktop.core.engine.registry import EngineFactory, ModelRecord, ModelUnavailable
from vlm_desktop.core.engine.types import CAP_CAPTION, ModelInfo
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.settings import AppSettings
from vlm_desktop.workers.inference_worker import EMBED, MAIN, InferenceClient

log = logging.getLogger(__name__)

FactoryResolver = Callable[[Optional[str]], EngineFactory]
NO_EMBEDDER = QT_TRANSLATE_NOOP("ModelSession", "no installed model makes image vectors; "
                                "import one in Model ▸ Manage Models…")


class ModelRole(QObject):
    """One role's model: what was asked for, and whether it is loading, ready or failed."""

    loading = Signal(str)  # model name
    ready = Signal(object, object)  # ModelInfo, DeviceChoice
    failed = Signal(str, str)  # message, details
    unavailable = Signal(str)  # no model can fill the role: why

    def __init__(self, slot: str, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.slot = slot
        self.info: Optional[ModelInfo] = None
        self.choice: Optional[DeviceChoice] = None
        self.requested = ""  # the model last asked for
        self.is_loading = False

    def can(self, capability: str) -> bool:
        """Whether the loaded model offers `capability` (False while none is loaded)."""
        return self.info is not None and capability in self.info.capabilities

    def _on_loading(self, name: str) -> None:
        self.is_loading, self.info = True, None
        self.loading.emit(name)

    def _on_ready(self, info: ModelInfo, choice: DeviceChoice) -> None:
        self.is_loading, self.info, self.choice = False, info, choice
        self.ready.emit(info, choice)

    def _on_failed(self, message: str, details: str) -> None:
        self.is_loading, self.info = False, None
        self.failed.emit(message, details)

    def _unavailable(self, reason: str) -> None:
        self.is_loading, self.info = False, None
        self.unavailable.emit(reason)


class ModelSession(QObject):
    """The window's models: names from the settings, loads on the client, one device."""

    def __init__(self, client: InferenceClient, settings: AppSettings, *,
                 model_name: Optional[str], device: str, resolve_factory: FactoryResolver,
                 with_catalog: bool, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.settings = settings
        self.model_name = model_name  # `--model`, or the one chosen in the Model menu
        self.device = device
        self.with_catalog = with_catalog
        self.installed: list[ModelRecord] = []
        self._resolve = resolve_factory
        self.main = ModelRole(MAIN, self)
        self.catalog = ModelRole(EMBED, self)
        client.role(MAIN).loading.connect(self.main._on_loading)
        client.role(MAIN).ready.connect(self.main._on_ready)
        client.role(MAIN).failed.connect(self.main._on_failed)
        client.role(EMBED).loading.connect(self.catalog._on_loading)
        client.role(EMBED).ready.connect(self.catalog._on_ready)
        client.role(EMBED).failed.connect(self.catalog._on_failed)

    # --- names ---------------------------------------------------------------------------

    def main_name(self) -> Optional[str]:
        """The chosen model, or the default captioning model when none was chosen.
        Raises ValueError when the installed-model list is damaged."""
        return self.model_name or registry.default_model_for(CAP_CAPTION)

    def catalog_name(self) -> Optional[str]:
        """The model that makes the catalog's vectors (Model ▸ Catalog Search Model)."""
        try:
            return registry.embedding_model_for(self.settings.embed_model)
        except ValueError as exc:  # a damaged model list was already reported for captions
            log.error("%s", exc)
            return None

    # --- loading -------------------------------------------------------------------------

    def start(self, main_name: Optional[str]) -> None:
        """Load both roles' models (once the window is on screen, after a device change)."""
        self.load_main(main_name)
        self.load_catalog()

    def load_main(self, name: Optional[str]) -> None:
        try:
            factory = self._resolve(name)
        except ModelUnavailable as exc:
            self.main._unavailable(str(exc))
            return
        self.main.is_loading = True
        self.main.requested = name or ""
        self.client.load_engine(factory, self.device, name or "")

    def load_catalog(self) -> None:
        """Load the catalog's embedding model (shared with the captioner when the same)."""
        if not self.with_catalog:
            return  # no catalog in this window: nothing needs vectors
        name = self.catalog_name()
        if name is None:
            self.catalog._unavailable(translate("ModelSession", NO_EMBEDDER))
            return
        try:
            factory = self._resolve(name)
        except ModelUnavailable as exc:
            self.catalog._unavailable(str(exc))
            return
        self.catalog.requested = name
        self.client.load_engine(factory, self.device, name, EMBED)

    def select_main(self, name: str, current: Optional[str]) -> bool:
        """Remember `name` as the captioning model; whether a switch is needed."""
        self.settings.model = name
        if name == current and (self.client.has_engine() or self.main.is_loading):
            return False
        self.model_name = name
        return True

    def select_catalog(self, name: str) -> None:
        """Remember `name` as the catalog's model and load it; the open catalog indexes what
        that model has no vectors for, keeping every other model's vectors."""
        self.settings.embed_model = name
        self.load_catalog()

    def set_device(self, device: str) -> bool:
        """Remember `device`; whether the models must be reloaded there."""
        if device == self.device and self.client.has_engine():
            return False
        self.device = device
        self.settings.device = device
        return True

    def refresh(self) -> Optional[str]:
        """Re-read the installed models. Returns the captioning model's name when it was
        removed in the model manager while in use (the caller switches to the default)."""
        self.installed = registry.available_models()
        gone = self.main.requested
        if gone and not self.is_installed(gone):
            self.model_name = None
            self.settings.model = ""
            return gone
        return None

    def is_installed(self, name: str) -> bool:
        return name in {e.name for e in self.installed}

    def reload_catalog_if_removed(self) -> None:
        """After `refresh`: the catalog's model was removed, so load its replacement."""
        if self.catalog.requested and not self.is_installed(self.catalog.requested):
            self.load_catalog()
