"""The list of models a user can choose, and loading one by name.

The fake test engine is deliberately absent: tests hand the worker a factory instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Callable

from vlm_desktop.core import models as manager
from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine import backends
from vlm_desktop.core.engine.errors import GpuOutOfMemory, ModelUnavailable
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import CAP_EMBED
from vlm_desktop.core.models import BUILTIN_NAME, BUILTIN_RECORD, ModelRecord

log = logging.getLogger(__name__)

__all__ = ["BUILTIN_NAME", "GpuOutOfMemory", "ModelRecord", "ModelUnavailable"]

# The backend packages register their loaders when imported (see engine.backends); both
# are light: their torch-heavy modules load inside the loaders.
BACKEND_PACKAGES = ("vlm_desktop.core.engine.lite", "vlm_desktop.core.engine.hf")


EngineFactory = Callable[[DeviceChoice], Engine]


def _builtin_available() -> bool:
    return importlib.util.find_spec("vlm_desktop.core.engine.lite.engine") is not None


def available_models() -> list[ModelRecord]:
    """Installed models, the built-in one first."""
    models: list[ModelRecord] = [BUILTIN_RECORD] if _builtin_available() else []
    models.extend(_imported_models())
    return models


def _imported_models() -> list[ModelRecord]:
    """Models imported through the model manager (core.models), after the built-in one."""
    try:
        return manager.list_models(include_builtin=False)
    except manager.ModelFolderError as exc:  # a damaged manifest must not hide the built-in
        log.error("%s", exc)
        return []


def default_model_for(capability: str) -> str | None:
    """The model the user chose for `capability` (caption, answer, embed, relevance)."""
    name = manager.default_for(capability)
    installed = {m.name for m in available_models()}
    return name if name in installed else default_model_name()


def embedding_model_for(chosen: str | None = None) -> str | None:
    """The model that makes the catalog's vectors, whichever model captions.

    `chosen` (picked in Model ▸ Catalog Search) wins when it is installed and can embed;
    then the model manager's default for embeddings; then the first installed model that
    embeds; None when no installed model can.
    """
    embedders = [m.name for m in available_models() if CAP_EMBED in m.capabilities]
    if chosen and chosen in embedders:
        return chosen
    preferred = default_model_for(CAP_EMBED)
    if preferred in embedders:
        return preferred
    return embedders[0] if embedders else None


def default_model_name() -> str | None:
    models = available_models()
    return models[0].name if models else None


def engine_factory(name: str | None) -> EngineFactory:
    """A callable that loads model `name` on a given device (call it on the worker thread)."""
    name = name or default_model_name()
    if name is None:
        raise ModelUnavailable("No model is installed.")
    entries = {m.name: m for m in available_models()}
    if name not in entries:
        known = ", ".join(entries) or "none"
        raise ModelUnavailable(f"No model named '{name}' is installed (installed: {known}).")
    entry = entries[name]
    loader = _loader_for(entry.kind)  # looked up once: an unknown kind fails here

    def load(device: DeviceChoice) -> Engine:
        return loader(entry, device)

    return load


def _loader_for(kind: str) -> backends.Loader:
    for package in BACKEND_PACKAGES:
        importlib.import_module(package)  # registers its backends (once: Python caches it)
    return backends.loader_for(kind)
