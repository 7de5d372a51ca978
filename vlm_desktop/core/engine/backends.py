"""Which code loads which kind of model: backends register themselves by decorator.

A backend package (`engine.lite`, `engine.hf`) marks its loader with
`@register_backend(kind, ...)`; the registry looks a kind up once, when it makes a model's
factory, so an unknown kind fails at once rather than on the worker thread. This module
imports no backend: the registry imports the backend packages (light modules; their
torch-heavy parts load inside the loader), and they import this leaf.
"""

from __future__ import annotations

from typing import Callable, Protocol

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.errors import ModelUnavailable
from vlm_desktop.core.engine.protocol import Engine


class InstalledModel(Protocol):
    """What a loader reads of an installed model's record (core.models.ModelRecord)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def kind(self) -> str: ...


Loader = Callable[[InstalledModel, DeviceChoice], Engine]

_LOADERS: dict[str, Loader] = {}


def register_backend(*kinds: str) -> Callable[[Loader], Loader]:
    """Declare `loader(record, device) -> Engine` as the way to load models of `kinds`."""
    def register(loader: Loader) -> Loader:
        for kind in kinds:
            if _LOADERS.get(kind, loader) is not loader:
                raise ValueError(f"model kind '{kind}' already has a backend")
            _LOADERS[kind] = loader
        return loader

    return register


def loader_for(kind: str) -> Loader:
    """The registered loader for `kind`; ModelUnavailable when no backend handles it."""
    try:
        return _LOADERS[kind]
    except KeyError:
        raise ModelUnavailable(
            f"Model kind '{kind}' is not supported by this version.") from None


def registered_kinds() -> frozenset[str]:
    return frozenset(_LOADERS)
