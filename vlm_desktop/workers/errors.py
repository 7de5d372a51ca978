"""How an exception raised by background work becomes a message a person can act on.

Shared by every way work leaves the GUI thread (the model's worker and `run_off_thread`),
so an unreadable image or a GPU out of memory reads the same whichever thread met it.
"""

from __future__ import annotations

import logging
import sys
import traceback

from vlm_desktop.core.device import DeviceError
from vlm_desktop.core.engine.errors import GpuOutOfMemory, ModelUnavailable
from vlm_desktop.core.messages import later, say

log = logging.getLogger("vlm_desktop.worker")

# Templates: said in the window's language when the error happens (core.messages.say).
GPU_OOM_MESSAGE = later(
    "The GPU ran out of memory. Close other programs that use the GPU, try a smaller "
    "image, or switch Model ▸ Device to CPU."
)

_USER_ERRORS: list[type[BaseException]] = [DeviceError, ModelUnavailable]


def register_user_error(exc_type: type[BaseException]) -> None:
    """Declare an exception type whose str() is a message a person can act on."""
    if exc_type not in _USER_ERRORS:
        _USER_ERRORS.append(exc_type)


def user_error_types() -> tuple[type[BaseException], ...]:
    types = list(_USER_ERRORS)
    try:  # imported here: core.images pulls in the image codecs
        from vlm_desktop.core.images import ImageLoadError

        types.append(ImageLoadError)
    except ImportError:
        pass
    return tuple(types)


def is_gpu_oom(exc: BaseException) -> bool:
    if isinstance(exc, GpuOutOfMemory):  # an engine's own, already-worded OOM error
        return True
    torch = sys.modules.get("torch")  # never import torch just to classify an error
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if isinstance(oom, type) and isinstance(exc, oom):
        return True
    return "CUDA out of memory" in str(exc)


def _free_gpu_cache() -> None:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # best effort after an OOM; the OOM itself is what gets reported
        log.debug("could not empty the CUDA cache", exc_info=True)


def describe_error(exc: BaseException, kind: str) -> tuple[str, str]:
    """(user-facing message, details) for an exception raised by `kind` work; logs it."""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, user_error_types()):
        log.warning("%s failed: %s", kind, exc)
        return str(exc), details
    if is_gpu_oom(exc):
        log.error("%s ran out of GPU memory\n%s", kind, details)
        _free_gpu_cache()
        return say(GPU_OOM_MESSAGE), details
    log.error("unexpected error in %s\n%s", kind, details)
    return say("Unexpected error in {kind}: {error}", kind=kind, error=exc), details


