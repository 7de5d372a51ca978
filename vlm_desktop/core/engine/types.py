"""Result types shared by every engine backend. All frozen; arrays are never mutated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional

if TYPE_CHECKING:  # numpy is imported lazily: this module is on the window's start-up path
    import numpy as np

# Capabilities an engine may offer; the window greys out what the active one lacks.
CAP_CAPTION = "caption"
CAP_ANSWER = "answer"
CAP_EMBED = "embed"
CAP_RELEVANCE = "relevance"
CAP_STREAM = "stream"
ALL_CAPABILITIES = frozenset({CAP_CAPTION, CAP_ANSWER, CAP_EMBED, CAP_RELEVANCE})


@dataclass(frozen=True, eq=False)
class HeatMap:
    """Where the model looked, as a grid over the *whole* image (row 0 = top).

    `values` is a float32 array of shape (rows, cols) scaled to [0, 1]; the grid covers
    the full image with the same aspect ratio, so it is upsampled to the image size for
    display without any cropping.
    """

    label: str
    values: np.ndarray
    kind: str = "attention"  # "attention" | "cam" | "relevance" | "similarity"

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def peak(self) -> tuple[float, float]:
        """The (x, y) of the hottest cell's centre as fractions of width and height."""
        import numpy as np

        r, c = np.unravel_index(int(np.argmax(self.values)), self.values.shape)
        rows, cols = self.shape
        return ((c + 0.5) / cols, (r + 0.5) / rows)


@dataclass(frozen=True, eq=False)
class WordSpan:
    """One word of a caption or answer: its character span and, for content words, a map."""

    start: int
    end: int
    text: str
    heatmap: Optional[HeatMap] = None


@dataclass(frozen=True, eq=False)
class Caption:
    """A caption with per-word spans; every content word carries a heat map."""

    text: str
    confidence: float
    words: tuple[WordSpan, ...] = ()
    evidence: str = ""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    cached: tuple[str, ...] = ()  # steps reused from a cache, not redone (e.g. "encode")


@dataclass(frozen=True, eq=False)
class Answer:
    """An answer to one question about one image."""

    question: str
    text: str
    confidence: float
    kind: str = "unknown"  # the recognised question kind, e.g. "what", "color", "yesno"
    heatmap: Optional[HeatMap] = None
    words: tuple[WordSpan, ...] = ()
    evidence: str = ""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    cached: tuple[str, ...] = ()  # steps reused from a cache, not redone (e.g. "encode")


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar, About box and CLI say about the active model."""

    name: str
    version: str
    device: str
    dtype: str
    memory_bytes: int = 0
    licence: str = ""
    source: str = ""
    capabilities: frozenset[str] = ALL_CAPABILITIES
    description: str = ""
    runtime: str = ""  # how its compute runs on this machine, when chosen per machine


def word_spans(text: str, heatmaps: Mapping[str, HeatMap] | None = None) -> tuple[WordSpan, ...]:
    """Split `text` into word spans, attaching the heat map named by each word (lower case)."""
    import re

    maps = {k.lower(): v for k, v in (heatmaps or {}).items()}
    spans = []
    for m in re.finditer(r"[\w'-]+", text):
        word = m.group(0)
        spans.append(WordSpan(m.start(), m.end(), word, maps.get(word.lower())))
    return tuple(spans)
