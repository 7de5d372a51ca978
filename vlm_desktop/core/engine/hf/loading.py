"""Loading a model folder with the network switched off, and freeing it again."""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path
from typing import Any, Iterator

from vlm_desktop.core.device import DeviceChoice
from vlm_desktop.core.engine.hf.weights import find_weights
from vlm_desktop.core.engine.errors import GpuOutOfMemory

__all__ = ["GpuOutOfMemory", "eager_attention", "ensure_offline", "free_memory", "load_model",
           "load_processor", "oom_guard", "parameter_bytes", "transformers_module"]


def ensure_offline() -> None:
    """Force the hub and transformers offline; must run before transformers is imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def transformers_module() -> Any:
    """`transformers`, imported only after the offline flags are set."""
    ensure_offline()
    import transformers

    return transformers


def free_memory() -> None:
    """Give memory back after dropping a model (or after an out-of-memory error)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # torch is a hard dependency; nothing to free without it
        pass


@contextlib.contextmanager
def oom_guard(what: str, device: DeviceChoice) -> Iterator[None]:
    """Turn a CUDA out-of-memory error into `GpuOutOfMemory` after freeing what it can."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        del exc  # the traceback holds frames that pin GPU tensors
        free_memory()
        raise GpuOutOfMemory(
            f"The GPU ({device.device}) ran out of memory while {what}. Memory was freed; "
            "choose the CPU in Model ▸ Device (slower, but it fits), or close other programs "
            "that use the GPU."
        ) from None


def load_processor(folder: Path) -> Any:
    """The folder's processor (image processor + tokenizer), from local files only."""
    tf = transformers_module()
    return tf.AutoProcessor.from_pretrained(
        str(folder), local_files_only=True, trust_remote_code=False)


def load_model(folder: Path, architecture: str, device: DeviceChoice) -> Any:
    """The model class named by `architecture`, in eval mode on `device`, gradients off."""
    tf = transformers_module()
    cls = getattr(tf, architecture)
    _, fmt = find_weights(folder)
    with oom_guard(f"loading {folder.name}", device):
        model = cls.from_pretrained(
            str(folder),
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=fmt == "safetensors",
            dtype=device.torch_dtype(),
        )
        model.to(device.device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Run with eager attention so attention maps can be returned (SDPA cannot return them)."""
    before = getattr(model.config, "_attn_implementation", None)
    switch = before not in (None, "eager") and hasattr(model, "set_attn_implementation")
    if switch:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(before)


def parameter_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())
