"""PyTorch's big native libraries loaded without holding Python's GIL.

`import torch` loads libtorch_cpu.so (and, in CUDA builds, libtorch_cuda.so): hundreds of MB
whose relocation and static initialisers take a few hundred ms inside one `dlopen` call.
Python makes that call holding the GIL (extension modules and `ctypes.CDLL` alike), so when
a worker thread loads a model the window's thread cannot run for that long.

`preload_torch_libraries()` makes the same `dlopen` calls first as a ctypes *foreign
function call* to libc's `dlopen`, during which ctypes releases the GIL. The libraries
are then already mapped when torch's own import asks for them, so that import is left
with its Python part, which yields the GIL every few ms. Measured here (a 10 ms timer on
the main thread while a thread imports torch): the longest stall went from 165-217 ms to
37-43 ms (benchmarks/bench_gui_latency.py shows it in the window).

Best effort: nothing happens off Linux, without torch, or when a library is missing; nor
when LD_LIBRARY_PATH is set, since torch's import then orders some CUDA libraries itself
so that copies on that path do not win (pytorch issues 138460, 145580). The flags match
what the import would use (the global-deps library RTLD_GLOBAL as torch loads it, the rest
RTLD_LOCAL as dependencies of an extension module), so the import that follows behaves as
it would have.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.util
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

# In load order: torch's own global deps first (as torch/__init__ loads it), then the two
# big ones. libtorch.so is a small shim; libtorch_python.so needs the interpreter, so the
# import loads it itself.
_LIBRARIES = (("libtorch_global_deps.so", True), ("libtorch_cpu.so", False),
              ("libtorch_cuda.so", False), ("libtorch.so", False))

_lock = threading.Lock()
_done = False


def torch_library_dir() -> Path | None:
    """torch's `lib/` folder, found without importing torch; None when not installed."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        lib = Path(location) / "lib"
        if lib.is_dir():
            return lib
    return None


def preload_torch_libraries() -> list[str]:
    """dlopen torch's native libraries with the GIL released, once per process, before
    torch is imported. Returns the names loaded now (empty when there was nothing to do)."""
    global _done
    with _lock:
        if (_done or "torch" in sys.modules or not sys.platform.startswith("linux")
                or os.environ.get("LD_LIBRARY_PATH")):
            _done = True
            return []
        _done = True
        lib = torch_library_dir()
        if lib is None:
            return []
        try:
            libc = ctypes.CDLL(None)
            dlopen = libc.dlopen
        except (OSError, AttributeError):
            return []
        dlopen.restype = ctypes.c_void_p
        dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        loaded = []
        started = time.perf_counter()
        for name, global_ in _LIBRARIES:
            path = lib / name
            if not path.is_file():
                continue
            flags = os.RTLD_NOW | (os.RTLD_GLOBAL if global_ else os.RTLD_LOCAL)
            if not dlopen(os.fsencode(path), flags):  # the import will say what is wrong
                log.info("preloading %s failed; torch's import will load it", name)
                break
            loaded.append(name)
        log.info("preloaded %s in %.0f ms without the GIL", ", ".join(loaded) or "nothing",
                 (time.perf_counter() - started) * 1000)
        return loaded


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run a big load (torch's import, a model's weights) without Python's cyclic garbage
    collector, then `gc.freeze()` what it made.

    A full collection walks every tracked object while holding the GIL; with torch's
    modules loaded that is millions of objects, and the many allocations of an import start
    several such collections in a row. Seen with py-spy while the window loads the built-in
    model: the worker thread inside `gc_collect_main` for 100-400 ms at a time, and the
    GUI thread waiting for the GIL as long. Freezing afterwards moves the loaded objects
    (which live as long as the process) to the permanent generation, so later collections
    - on any thread - no longer walk them. The cost: cycles that became garbage during
    the load are kept, a few MB at most; and frozen objects are freed by reference counts
    only, so whoever releases a loaded model that something still holds must call
    `gc.unfreeze()` and collect (the inference worker does, on a model switch).
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.freeze()
                if _gc_was_enabled:
                    gc.enable()
