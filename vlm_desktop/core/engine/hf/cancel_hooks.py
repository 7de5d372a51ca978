"""Cancel inside a forward pass: a check before every transformer block.

A stopping criterion only runs between generated tokens, so the prompt's prefill (hundreds
of image tokens through every layer) and the extra pass that maps attention could not be
stopped: on a CPU that is seconds for a 2B-parameter model. A forward pre-hook on each
block of the model's layer lists calls `state.check()`, so a cancel lands within one
block's time, wherever the model is.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from vlm_desktop.core.cancel import JobState


def blocks(model: Any) -> list[Any]:
    """The repeated blocks of `model`: every child of every `nn.ModuleList` in it."""
    import torch

    return [child for module in model.modules() if isinstance(module, torch.nn.ModuleList)
            for child in module]


@contextlib.contextmanager
def cancellable(model: Any, state: Optional[JobState]) -> Iterator[None]:
    """While inside, every block of `model` first checks `state` (raises `Cancelled`)."""
    if state is None:
        yield
        return

    def check(_module: Any, _inputs: Any) -> None:
        state.check()

    handles = [block.register_forward_pre_hook(check) for block in blocks(model)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
