"""A deterministic stand-in engine for GUI, worker and catalog tests. Never offered to users.

Its outputs follow simple, checkable rules so tests can assert real behaviour:
the caption names the image's dominant colour, embeddings are colour histograms (so a
near-duplicate image is its own nearest neighbour) and text embeddings hash words.
"""

from __future__ import annotations

import hashlib
import time
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.types import (
    ALL_CAPABILITIES,
    Answer,
    Caption,
    HeatMap,
    ModelInfo,
    word_spans,
)

DIM = 64
_BASIC = {
    "red": (220, 30, 30),
    "green": (30, 180, 30),
    "blue": (30, 30, 220),
    "white": (245, 245, 245),
    "black": (10, 10, 10),
    "yellow": (230, 220, 30),
}


def _colour_name(image: Image.Image) -> str:
    mean = np.asarray(image.convert("RGB").resize((16, 16))).reshape(-1, 3).mean(axis=0)
    return min(_BASIC, key=lambda n: float(np.sum((np.array(_BASIC[n]) - mean) ** 2)))


def _brightness_map(image: Image.Image, label: str) -> HeatMap:
    grey = np.asarray(image.convert("L").resize((8, 8)), dtype=np.float32) / 255.0
    return HeatMap(label, (1.0 - grey).astype(np.float32), kind="attention")


class FakeEngine:
    """Implements `Engine` with cheap deterministic rules; `delay_s` simulates slow work."""

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None,
                 capabilities: frozenset[str] = ALL_CAPABILITIES,
                 name: str = "Fake test engine") -> None:
        self.delay_s = delay_s
        self.fail_on = fail_on  # a question text that raises, for error-path tests
        self.capabilities = capabilities  # what info() claims, for greying-out tests
        self.model_name = name  # not `name`: subclasses in tests use that for their own labels
        self.encodes = 0
        self.closed = False

    def _work(self, state: Optional[JobState]) -> None:
        end = time.monotonic() + self.delay_s
        while time.monotonic() < end:
            if state is not None:
                state.check()
            time.sleep(0.005)
        if state is not None:
            state.check()

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.model_name, version="1", device="cpu", dtype="float32",
            licence="test only", source="vlm_desktop.core.engine.fake",
            capabilities=self.capabilities,
        )

    def caption(self, image: Image.Image, state: Optional[JobState] = None) -> Caption:
        self._work(state)
        colour = _colour_name(image)
        text = f"a mostly {colour} picture"
        heat = _brightness_map(image, colour)
        return Caption(text, 0.5, word_spans(text, {colour: heat, "picture": heat}),
                       evidence=f"mean colour → {colour}", timings_ms={"caption": 1.0})

    def answer(
        self, image: Image.Image, question: str, state: Optional[JobState] = None
    ) -> Answer:
        self._work(state)
        if self.fail_on is not None and question == self.fail_on:
            raise RuntimeError("fake engine failure requested by the test")
        colour = _colour_name(image)
        text = f"It looks {colour}."
        heat = _brightness_map(image, colour)
        if state is not None:
            state.partial(text[: len(text) // 2])
        return Answer(question, text, 0.5, kind="color", heatmap=heat,
                      words=word_spans(text, {colour: heat}), evidence=f"mean colour {colour}",
                      timings_ms={"answer": 1.0})

    def embed_images(
        self, images: Sequence[Image.Image], state: Optional[JobState] = None
    ) -> np.ndarray:
        rows = []
        for img in images:
            self._work(state)
            self.encodes += 1
            rgb = np.asarray(img.convert("RGB").resize((32, 32)), dtype=np.int64) // 64
            codes = rgb[..., 0] * 16 + rgb[..., 1] * 4 + rgb[..., 2]
            hist = np.bincount(codes.ravel(), minlength=DIM).astype(np.float32)
            rows.append(hist / (np.linalg.norm(hist) + 1e-9))
        return np.stack(rows) if rows else np.zeros((0, DIM), np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            vec = np.zeros(DIM, np.float32)
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                vec[h % DIM] += 1.0
            rows.append(vec / (np.linalg.norm(vec) + 1e-9))
        return np.stack(rows) if rows else np.zeros((0, DIM), np.float32)

    def relevance(self, image: Image.Image, text: str) -> HeatMap:
        return _brightness_map(image, text)

    def close(self) -> None:
        self.closed = True
