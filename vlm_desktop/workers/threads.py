"""A registry of the QThreads and QThreadPools the app creates, so none is left running.

Tests use `running_threads()` after each test (see tests/conftest.py); the app may log it
at exit. Objects are held weakly: registering never keeps a thread alive.
"""

from __future__ import annotations

import weakref
from typing import Callable, Optional, Union

from PySide6.QtCore import QThread, QThreadPool

ThreadLike = Union[QThread, QThreadPool]

_registry: "weakref.WeakKeyDictionary[ThreadLike, str]" = weakref.WeakKeyDictionary()
_stoppers: "weakref.WeakKeyDictionary[ThreadLike, Callable[[], object]]" = (
    weakref.WeakKeyDictionary()
)


def register(
    thread: ThreadLike, name: str, stop: Optional[Callable[[], object]] = None
) -> ThreadLike:
    """Remember `thread` (a QThread or QThreadPool) under a name for leak checks; returns it.

    `stop` is how `stop_all` ends it when plain quit() is not enough (a loop that does not
    run an event loop); a bound method is held weakly.
    """
    _registry[thread] = name
    if stop is not None:
        _stoppers[thread] = _weak_callable(stop)
    return thread


def _weak_callable(fn: Callable[[], object]) -> Callable[[], object]:
    if not hasattr(fn, "__self__"):
        return fn
    ref = weakref.WeakMethod(fn)  # type: ignore[arg-type]

    def call() -> object:
        method = ref()
        return method() if method is not None else None

    return call


def _is_running(thread: ThreadLike) -> bool:
    try:
        if isinstance(thread, QThread):
            return thread.isRunning()
        return thread.activeThreadCount() > 0
    except RuntimeError:  # the C++ object is already gone: nothing can run
        return False


def running_threads() -> list[str]:
    """Names of registered threads still running and pools with work still active."""
    return sorted(name for thread, name in list(_registry.items()) if _is_running(thread))


def stop_all(timeout_ms: int = 2000) -> None:
    """Last-resort clean-up after a leak was reported: quit and wait every registered thread."""
    for thread in list(_registry.keys()):
        try:
            stop = _stoppers.get(thread)
            if stop is not None:
                stop()
            if isinstance(thread, QThread):
                thread.quit()
                thread.wait(timeout_ms)
            else:
                thread.clear()
                thread.waitForDone(timeout_ms)
        except RuntimeError:
            pass
