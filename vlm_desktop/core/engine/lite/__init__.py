"""Built-in offline model: EfficientNet-Lite0 + MiniLM joined in one space."""

from __future__ import annotations

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.backends import InstalledModel, register_backend
from vlm_desktop.core.engine.protocol import Engine


@register_backend("lite")
def load_lite(_record: InstalledModel, device: DeviceChoice) -> Engine:
    """Load the built-in model (its towers import torch here, on the worker thread)."""
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    return LiteEngine.load(device)
