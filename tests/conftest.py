"""Test-wide set-up: offscreen Qt, a private app-data folder, and no network at all."""

from __future__ import annotations

import os
import socket
import tempfile

# Before anything imports Qt: no display here, and no user's settings or caches touched.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["VLM_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="vlm-desktop-test-home-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app sets it (see app.main)
# The vision tower's runtime is chosen by timing (engine/lite/runtime.py); tests must not
# depend on the load of the machine, nor pay a probe per fresh home: ONNX Runtime, which
# this machine's probe picks, unless the run asks for another.
# tests/core/test_runtime.py checks the probe itself and the agreement of every path.
os.environ.setdefault("VLM_DESKTOP_TOWER_RUNTIME", "ort")

import pytest  # noqa: E402

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    # Unix sockets (Qt's local IPC) are fine; anything that leaves the machine is a bug.
    if self.family == getattr(socket, "AF_UNIX", None):
        return _real_connect(self, address)
    raise RuntimeError(f"network access attempted in a test: {address!r}")


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


@pytest.fixture()
def home_dir(tmp_path, monkeypatch):
    """A fresh VLM_DESKTOP_HOME for tests that inspect what the app writes."""
    monkeypatch.setenv("VLM_DESKTOP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# ---- Thread hygiene (section owned by the worker helper) -------------------------------------
# Fails any test that leaves a registered QThread running or a QThreadPool busy. Qt is only
# consulted when the workers' registry was imported, so core-only tests never load Qt here.


@pytest.fixture(autouse=True)
def _no_thread_left_running():
    yield
    import sys

    registry = sys.modules.get("vlm_desktop.workers.threads")
    if registry is None:
        return
    leaked = registry.running_threads()
    if leaked:
        registry.stop_all()  # so one leak does not cascade into the following tests
        pytest.fail(f"test left threads running: {', '.join(leaked)}", pytrace=False)


# ---- end of the worker helper's section ------------------------------------------------------
