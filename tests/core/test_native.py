"""torch's native libraries preloaded without the GIL (core/native.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vlm_desktop.core import native

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the preload is Linux-only (dlopen flags)")


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**clean, **env}, timeout=240)


def test_the_library_folder_is_found_without_importing_torch():
    done = _run("import sys\nfrom vlm_desktop.core import native\n"
                "lib = native.torch_library_dir()\n"
                "print(lib is not None and (lib / 'libtorch_cpu.so').is_file() or "
                "sys.platform != 'linux', 'torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


@linux_only
def test_preloaded_libraries_serve_torchs_own_import():
    """The preload maps the big libraries, then `import torch` works and computes."""
    code = ("import sys\nfrom vlm_desktop.core import native\n"
            "loaded = native.preload_torch_libraries()\n"
            "assert 'libtorch_cpu.so' in loaded, loaded\n"
            "assert 'torch' not in sys.modules\n"
            "maps = open('/proc/self/maps').read()\n"
            "assert 'libtorch_cpu.so' in maps\n"
            "import torch\n"
            "x = torch.arange(6.0).reshape(2, 3)\n"
            "print(float((x @ x.T).sum()), native.preload_torch_libraries())")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["83.0", "[]"]  # the sum of x·xᵀ; a second call does nothing


@linux_only
def test_nothing_is_preloaded_when_the_user_sets_a_library_path():
    done = _run("from vlm_desktop.core import native\n"
                "print(native.preload_torch_libraries())", LD_LIBRARY_PATH="/nonexistent")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_nothing_is_preloaded_once_torch_is_imported(monkeypatch):
    import torch  # noqa: F401 - this process has torch already

    monkeypatch.setattr(native, "_done", False)
    assert native.preload_torch_libraries() == []


def test_the_collector_is_paused_during_a_load_and_what_it_made_is_frozen():
    import gc

    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with native.collector_paused():
            assert not gc.isenabled()
            with native.collector_paused():  # a nested load (two models at once) keeps it off
                loaded = [[i] for i in range(1000)]  # containers the collector tracks
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(loaded)
    finally:
        gc.unfreeze()  # give this test process its objects back


def test_a_failed_load_still_turns_the_collector_back_on():
    import gc

    with pytest.raises(RuntimeError):
        with native.collector_paused():
            raise RuntimeError("weights damaged")
    assert gc.isenabled()
    gc.disable()  # someone else turned it off: a load must not turn it on
    try:
        with native.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
