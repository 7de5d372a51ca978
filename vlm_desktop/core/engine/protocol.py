"""The one protocol every engine backend implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:  # only for annotations; keeps numpy and PIL off the start-up path
    import numpy as np
    from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.types import Answer, Caption, HeatMap, ModelInfo


@runtime_checkable
class Engine(Protocol):
    """A vision-language model behind one interface, so callers never branch on its kind.

    Images are RGB `PIL.Image.Image`s produced by `core.images.load_image`. Engines cache
    image features by content hash, so a caption and several questions cost one encode.
    Long calls poll `state.check()` and may stream text through `state.partial()`.
    """

    def info(self) -> ModelInfo: ...

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption: ...

    def answer(
        self, image: Image.Image, question: str, state: Optional[JobState] = None
    ) -> Answer: ...

    def embed_images(
        self, images: Sequence[Image.Image], state: Optional[JobState] = None
    ) -> np.ndarray:
        """L2-normalised float32 rows, one per image, in the engine's joint space."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per text, in the same joint space."""
        ...

    def relevance(self, image: Image.Image, text: str) -> HeatMap: ...

    def close(self) -> None:
        """Free the model's memory (called when switching models or shutting down)."""
        ...
