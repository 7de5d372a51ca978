"""Pieces every Hugging Face backend shares: feature cache, heat maps, words, streaming."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any, Callable, Optional, Sequence

import numpy as np
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.engine.errors import CapabilityUnavailable  # noqa: F401 - re-exported
from vlm_desktop.core.engine.types import HeatMap, WordSpan, word_spans


def image_key(image: Image.Image) -> str:
    """A content hash, so one picture opened twice shares cached features."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.mode}{image.size}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


class FeatureCache:
    """A small LRU of per-image tensors (a caption and five questions cost one encode)."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, image: Image.Image, compute: Callable[[], Any]) -> Any:
        key = image_key(image)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


def to_heatmap(label: str, values: Any, kind: str) -> HeatMap:
    """A (rows, cols) tensor or array scaled to [0, 1] as a HeatMap."""
    arr = np.asarray(values.detach().float().cpu() if hasattr(values, "detach") else values,
                     dtype=np.float32)
    arr = arr - float(arr.min())
    top = float(arr.max())
    arr = arr / top if top > 0 else np.zeros_like(arr)
    return HeatMap(label, arr.astype(np.float32), kind=kind)


def grid_shape(n: int) -> tuple[int, int]:
    """The square patch grid of `n` tokens (ViT towers used here have square grids)."""
    side = int(round(n ** 0.5))
    if side * side != n:
        raise ValueError(f"{n} image tokens do not form a square grid")
    return side, side


def token_word_maps(tokenizer: Any, ids: Sequence[int], maps: Sequence[Any], text: str,
                    kind: str) -> tuple[WordSpan, ...]:
    """Per-word spans of `text` with the mean map of the tokens that spell each word."""
    ends: list[int] = []
    for i in range(len(ids)):
        ends.append(len(tokenizer.decode(list(ids[: i + 1]), skip_special_tokens=True).strip()))
    spans = word_spans(text)
    out = []
    for span in spans:
        members = [maps[i] for i, end in enumerate(ends)
                   if end > span.start and (i == 0 or ends[i - 1] < span.end)
                   and end - 1 >= span.start and i < len(maps)]
        heat = None
        if members:
            heat = to_heatmap(span.text, sum(members) / len(members), kind)
        out.append(WordSpan(span.start, span.end, span.text, heat))
    return tuple(out)


_YESNO = re.compile(r"^(is|are|was|were|do|does|did|can|could|has|have|will|should)\b", re.I)


def question_kind(question: str) -> str:
    """A coarse question kind for the answer panel."""
    q = question.strip().lower()
    if q.startswith("how many"):
        return "count"
    if "colour" in q or "color" in q:
        return "color"
    if _YESNO.match(q):
        return "yesno"
    for w in ("what", "where", "who", "which", "why", "how", "when"):
        if q.startswith(w):
            return w
    return "open"


class StreamingCriteria:
    """A stopping criterion that streams decoded text and stops as soon as the job is cancelled.

    transformers calls it once per generated token, so a cancel lands within one decode step.
    """

    def __init__(self, tokenizer: Any, prompt_len: int, state: Optional[JobState]) -> None:
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.state = state
        self.generated = 0
        self._last = ""

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        new = input_ids[0, self.prompt_len:]
        self.generated = int(new.shape[0])
        stop = False
        if self.state is not None:
            text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
            if text != self._last:
                self._last = text
                self.state.partial(text)
            stop = self.state.cancelled
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def stopping_list(criteria: StreamingCriteria) -> Any:
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Adapter(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return criteria(input_ids, scores, **kwargs)

    return StoppingCriteriaList([_Adapter()])
