"""Device choice: what the user is told, and that explicit choices are honoured."""

from __future__ import annotations

import pytest
import torch

from vlm_desktop.core import device as dev


def test_cpu_request_is_honoured():
    choice = dev.choose_device("cpu")
    assert choice.device == "cpu"
    assert choice.dtype == "float32"
    assert choice.threads >= 1
    assert "CPU" in choice.reason


def test_auto_without_gpu_says_why(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_nvidia_driver_present", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    choice = dev.choose_device("auto")
    assert choice.device == "cpu"
    assert "no NVIDIA driver found" in choice.reason or "without CUDA" in choice.reason


def test_torch_without_cuda_build_is_explained(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    assert dev.cuda_unavailable_reason() == "CUDA not used: this build of PyTorch was built without CUDA"


def test_explicit_cuda_without_gpu_raises_with_reason(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_nvidia_driver_present", lambda: False)
    with pytest.raises(dev.DeviceError, match="CUDA not used"):
        dev.choose_device("cuda")


def _fake_gpu(monkeypatch, works: bool = True):
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: f"Test GPU {i}")
    monkeypatch.setattr(dev, "_cuda_works", lambda i: None if works else "CUDA not used: boom")


def test_working_gpu_is_chosen_in_half_precision(monkeypatch):
    _fake_gpu(monkeypatch)
    choice = dev.choose_device("auto")
    assert (choice.device, choice.dtype) == ("cuda:0", "float16")
    assert "Test GPU 0" in choice.reason
    assert dev.choose_device("cuda:1").device == "cuda:1"
    assert [d for d, _ in dev.list_cuda_devices()] == ["cuda:0", "cuda:1"]


def test_gpu_failing_test_allocation_falls_back_to_cpu(monkeypatch):
    _fake_gpu(monkeypatch, works=False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    choice = dev.choose_device("auto")
    assert choice.device == "cpu" and "boom" in choice.reason
    with pytest.raises(dev.DeviceError, match="boom"):
        dev.choose_device("cuda")


def test_missing_cuda_index_is_refused(monkeypatch):
    _fake_gpu(monkeypatch)
    with pytest.raises(dev.DeviceError, match="cuda:5"):
        dev.choose_device("cuda:5")


def test_empty_request_means_auto():
    assert dev.choose_device("").requested == "auto"


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "gpu0"])
def test_unknown_device_names_are_refused(bad):
    with pytest.raises(dev.DeviceError, match="Unknown device"):
        dev.choose_device(bad)
