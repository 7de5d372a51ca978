"""The list of models a user can choose, and loading one by name.

The fake test engine is deliberately absent: tests hand the worker a factory instead.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Callable

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.errors import GpuOutOfMemory, ModelUnavailable
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.engine.types import ALL_CAPABILITIES, CAP_EMBED

log = logging.getLogger(__name__)

__all__ = ["GpuOutOfMemory", "ModelUnavailable"]  # re-exported: long-standing import path

BUILTIN_NAME = "lite"


@dataclass(frozen=True)
class ModelEntry:
    """One installed model, as listed in the Model menu and `vlm-desktop models list`."""

    name: str
    display_name: str
    kind: str
    path: str = ""
    builtin: bool = False
    capabilities: frozenset[str] = frozenset()


EngineFactory = Callable[[DeviceChoice], Engine]


def _builtin_available() -> bool:
    return importlib.util.find_spec("vlm_desktop.core.engine.lite.engine") is not None


def available_models() -> list[ModelEntry]:
    """Installed models, the built-in one first."""
    models: list[ModelEntry] = []
    if _builtin_available():
        models.append(ModelEntry(BUILTIN_NAME, "VLM Lite (built-in)", "lite", builtin=True,
                                 capabilities=ALL_CAPABILITIES))
    models.extend(_imported_models())
    return models


def _imported_models() -> list[ModelEntry]:
    """Models imported through the model manager (core.models), after the built-in one."""
    from vlm_desktop.core import models as manager

    try:
        records = manager.list_models(include_builtin=False)
    except manager.ModelFolderError as exc:  # a damaged manifest must not hide the built-in
        log.error("%s", exc)
        return []
    return [ModelEntry(r.name, f"{r.name} ({r.label})", r.kind, r.path,
                       capabilities=r.capabilities) for r in records]


def default_model_for(capability: str) -> str | None:
    """The model the user chose for `capability` (caption, answer, embed, relevance)."""
    from vlm_desktop.core import models as manager

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

    def load(device: DeviceChoice) -> Engine:
        if entry.kind == "lite":
            from vlm_desktop.core.engine.lite.engine import LiteEngine

            return LiteEngine.load(device)
        if entry.kind.startswith("hf-"):
            from vlm_desktop.core.engine.hf import load_engine

            return load_engine(entry.path, device, name=entry.name)
        raise ModelUnavailable(f"Model kind '{entry.kind}' is not supported by this version.")

    return load
