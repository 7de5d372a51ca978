"""Hugging Face-format pretrained backends loaded from local folders (never from the network)."""

from __future__ import annotations

import json
from pathlib import Path

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.backends import InstalledModel, register_backend
from vlm_desktop.core.engine.hf.families import FAMILIES, Family, UnsupportedModel, family_for
from vlm_desktop.core.engine.protocol import Engine

__all__ = ["FAMILIES", "Family", "UnsupportedModel", "family_for", "load_engine"]


@register_backend(*sorted({family.kind for family in FAMILIES.values()}))
def load_installed(record: InstalledModel, device: DeviceChoice) -> Engine:
    """Load an imported Hugging Face-format model from its folder."""
    return load_engine(record.path, device, name=record.name)


def load_engine(folder: str | Path, device: DeviceChoice, name: str = ""):  # noqa: ANN201
    """Load the engine for the model in `folder` (its family is read from config.json)."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    _, family = family_for(config)
    if family.engine == "blip":
        from vlm_desktop.core.engine.hf.blip import BlipEngine

        return BlipEngine(folder, device, name=name)
    if family.engine == "contrastive":
        from vlm_desktop.core.engine.hf.contrastive import ContrastiveEngine

        return ContrastiveEngine(folder, device, name=name)
    from vlm_desktop.core.engine.hf.chat import ChatEngine

    return ChatEngine(folder, device, name=name)
