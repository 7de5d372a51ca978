"""Choosing where the model runs (CUDA, Apple MPS or CPU), and saying why."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from vlm_desktop.core.messages import say

log = logging.getLogger(__name__)

_VALID = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class DeviceError(ValueError):
    """An explicit device request that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device, dtype and thread count an engine should use, with a reason a person reads."""

    device: str  # "cpu", "cuda:0", "mps"
    dtype: str  # "float16" | "float32"
    reason: str
    threads: int = 1
    requested: str = "auto"

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def torch_dtype(self):  # noqa: ANN201 - torch is imported lazily
        import torch

        return getattr(torch, self.dtype)


def cpu_threads() -> int:
    """Threads for CPU inference: all cores but one for the GUI, at least one."""
    try:
        n = len(os.sched_getaffinity(0))  # respects cgroup/affinity limits on Linux
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, n - 1) if n > 2 else n


def normalise_request(requested: str | None) -> str:
    req = (requested or "auto").strip().lower()
    if req == "gpu":
        req = "cuda"
    if not _VALID.match(req):
        raise DeviceError(say("Unknown device '{device}'. Use auto, cpu, cuda, cuda:N or mps.",
                              device=requested))
    return req


def cuda_unavailable_reason() -> str | None:
    """Why CUDA cannot be used, or None when it can."""
    import torch

    if torch.version.cuda is None:
        return say("CUDA not used: this build of PyTorch was built without CUDA")
    try:
        if not torch.cuda.is_available():
            if not _nvidia_driver_present():
                return say("CUDA not used: no NVIDIA driver found")
            return say("CUDA not used: the NVIDIA driver is present but CUDA did not "
                          "initialise")
        if torch.cuda.device_count() == 0:
            return say("CUDA not used: no CUDA device found")
    except Exception as exc:  # a broken driver raises here; the user needs the text
        return say("CUDA not used: {error}", error=exc)
    return None


def _nvidia_driver_present() -> bool:
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists(
        "C:\\Windows\\System32\\nvcuda.dll"
    )


def _cuda_works(index: int) -> str | None:
    """Try a small allocation and kernel on the device; return an error text or None."""
    import torch

    try:
        x = torch.ones(256, device=f"cuda:{index}", dtype=torch.float16)
        float((x * 2).sum().item())
        return None
    except Exception as exc:
        return say("CUDA not used: a test allocation on cuda:{index} failed ({error})",
                   index=index, error=exc)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(requested: str | None = "auto") -> DeviceChoice:
    """Pick a device: CUDA if it works, else MPS, else CPU; honour an explicit request.

    An explicit `cuda`/`cuda:N`/`mps` that cannot be used raises `DeviceError` with the reason,
    so the user is told instead of silently getting the CPU.
    """
    req = normalise_request(requested)
    threads = cpu_threads()
    if req == "cpu":
        return DeviceChoice("cpu", "float32", say("CPU chosen in settings"), threads, req)

    if req.startswith("cuda") or req == "auto":
        why_not = cuda_unavailable_reason()
        if why_not is None:
            import torch

            index = int(req.split(":")[1]) if ":" in req else 0
            if index >= torch.cuda.device_count():
                why_not = say("CUDA not used: there is no device cuda:{index}", index=index)
            else:
                why_not = _cuda_works(index)
            if why_not is None:
                name = torch.cuda.get_device_name(index)
                reason = (say("CUDA chosen in settings: {name}", name=name) if req != "auto"
                          else say("CUDA found: {name}", name=name))
                return DeviceChoice(f"cuda:{index}", "float16", reason, threads, req)
        if req != "auto":
            raise DeviceError(why_not)
        log.info(why_not)
        if _mps_available():
            return DeviceChoice("mps", "float32", say("Apple GPU (MPS); {why_not}",
                                                      why_not=why_not), threads, req)
        return DeviceChoice("cpu", "float32", say("CPU, {threads} threads. {why_not}",
                                                  threads=threads, why_not=why_not), threads, req)

    if req == "mps":
        if _mps_available():
            return DeviceChoice("mps", "float32", say("Apple GPU (MPS) chosen in settings"),
                                threads, req)
        raise DeviceError(say("MPS not used: this machine has no Apple GPU backend"))
    raise DeviceError(say("Unknown device '{device}'", device=requested))


def list_cuda_devices() -> list[tuple[str, str]]:
    """(device, name) for each usable CUDA device, for the Model ▸ Device menu."""
    import torch

    if cuda_unavailable_reason() is not None:
        return []
    return [(f"cuda:{i}", torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]
