"""The shared shell of every Hugging Face engine: loading, info, close, missing capabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.errors import CapabilityUnavailable
from vlm_desktop.core.engine.hf.common import FeatureCache
from vlm_desktop.core.engine.hf.families import CAPABILITY_NAMES, Family, family_for
from vlm_desktop.core.engine.hf.loading import (
    free_memory,
    load_model,
    load_processor,
    oom_guard,
    parameter_bytes,
)
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap, ModelInfo


class HFEngine:
    """Implements `Engine` for one model folder; subclasses fill in what their family can do."""

    def __init__(self, folder: Path, device: DeviceChoice, name: str = "") -> None:
        self.folder = Path(folder)
        self.device = device
        self.config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.architecture, self.family = family_for(self.config)
        self.name = name or self.folder.name
        self.processor = load_processor(self.folder)
        # Chat models go through the generic Auto class (it picks the same native class).
        loader = "AutoModelForImageTextToText" if self.family.engine == "chat" else self.architecture
        self.model: Any = load_model(self.folder, loader, device)
        self.cache = FeatureCache()
        self._memory = parameter_bytes(self.model)

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer

    def guard(self, what: str) -> Any:
        """Context manager mapping CUDA out-of-memory to a clear, actionable error."""
        return oom_guard(what, self.device)

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name, version=self.config.get("transformers_version", ""),
            device=self.device.device, dtype=self.device.dtype, memory_bytes=self._memory,
            licence="see the model's own licence (model card)", source=str(self.folder),
            capabilities=self.family.capabilities,
            description=f"{self.family.label} ({self.architecture})",
        )

    def _missing(self, capability: str) -> CapabilityUnavailable:
        return CapabilityUnavailable(
            f"{self.name} ({self.family.label}) cannot do {CAPABILITY_NAMES[capability]}; "
            "choose a model that can in the model manager."
        )

    def pixels(self, image: Image.Image) -> Any:
        inputs = self.processor.image_processor(images=image.convert("RGB"), return_tensors="pt")
        return inputs["pixel_values"].to(self.device.device, self.device.torch_dtype())

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        raise self._missing("caption")

    def answer(self, image: Image.Image, question: str,
               state: Optional[JobState] = None) -> Answer:
        raise self._missing("answer")

    def embed_images(self, images: Sequence[Image.Image],
                     state: Optional[JobState] = None) -> np.ndarray:
        raise self._missing("embed")

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise self._missing("embed")

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        raise self._missing("relevance")

    def close(self) -> None:
        """Drop the model and give its memory back (CPU RAM or GPU)."""
        self.cache.clear()
        self.model = None
        free_memory()


def normalised(rows: Any) -> np.ndarray:
    """L2-normalised float32 rows from a tensor."""
    arr = rows.detach().float().cpu().numpy().astype(np.float32)
    return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
