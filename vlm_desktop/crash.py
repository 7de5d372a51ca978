"""Logging, faulthandler and the crash dialog, installed before Qt and torch are imported.

Nothing here imports Qt at module level: the dialog imports it only when a crash happens,
so `install()` can run first thing in `main()` (see qutebrowser's crashsignal.py).
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Optional

from vlm_desktop import APP_ID, APP_NAME, __version__
from vlm_desktop.core import paths

log = logging.getLogger(__name__)

LOG_FILE_NAME = f"{APP_ID}.log"
FAULT_FILE_NAME = "faulthandler.log"
_LOG_BYTES = 1_000_000
_LOG_BACKUPS = 5

# Kept open for the life of the process: faulthandler writes to its fd from a signal handler.
_fault_file: Optional[IO[str]] = None


def log_file() -> Path:
    """The current log file (rotated copies sit beside it as .1 … .5)."""
    return paths.log_dir() / LOG_FILE_NAME


def setup_logging(debug: bool = False) -> Path:
    """Log to a rotating file in the app's log folder and to stderr; return the file's path."""
    path = log_file()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s")
    if not any(getattr(h, "_vlm_desktop", False) for h in root.handlers):
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8")
        file_handler.setFormatter(fmt)
        file_handler._vlm_desktop = True  # type: ignore[attr-defined]
        stderr_handler = logging.StreamHandler(sys.stderr)
        stderr_handler.setFormatter(fmt)
        stderr_handler.setLevel(logging.DEBUG if debug else logging.WARNING)
        stderr_handler._vlm_desktop = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
        root.addHandler(stderr_handler)
    log.info("%s %s starting (Python %s, %s)", APP_NAME, __version__,
             platform.python_version(), platform.platform())
    return path


def install_faulthandler() -> Path:
    """Dump Python tracebacks of all threads on a hard crash into a file in the log folder."""
    global _fault_file
    path = paths.log_dir() / FAULT_FILE_NAME
    if _fault_file is None:
        _keep_previous_fault_log(path)
        _fault_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this call
    # faulthandler takes one file; the file is the record a user can send, stderr a bonus.
    faulthandler.enable(file=_fault_file, all_threads=True)
    return path


# What faulthandler writes on a fatal signal; anything else in the file is no crash record.
_FAULT_MARKERS = ("Fatal Python error", "most recent call first")


def _keep_previous_fault_log(path: Path) -> None:
    # faulthandler writes to one file only, so a hard crash is reported on the next start.
    if not path.exists() or path.stat().st_size == 0:
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if not any(marker in text for marker in _FAULT_MARKERS):
        path.unlink()
        return
    previous = path.with_suffix(".previous.log")
    path.replace(previous)
    log.warning("The previous run crashed hard; its tracebacks are in %s", previous)


def crash_details(exc_type: type[BaseException], exc: BaseException,
                  tb: Optional[TracebackType]) -> str:
    """The text a user copies into a bug report."""
    lines = traceback.format_exception(exc_type, exc, tb)
    head = (f"{APP_NAME} {__version__}\nPython {platform.python_version()} on "
            f"{platform.platform()}\nLog file: {log_file()}\n\n")
    return head + "".join(lines)


def _excepthook(exc_type: type[BaseException], exc: BaseException,
                tb: Optional[TracebackType]) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.critical("Unhandled exception", exc_info=(exc_type, exc, tb))
    details = crash_details(exc_type, exc, tb)
    try:
        show_crash_dialog(f"{exc_type.__name__}: {exc}", details)
    except Exception:  # the dialog itself failed: the log has the crash, say so on stderr
        log.exception("Could not show the crash dialog")
        sys.__excepthook__(exc_type, exc, tb)


def install_excepthook() -> None:
    """Route uncaught exceptions (in any thread) to the log and the crash dialog."""
    sys.excepthook = _excepthook

    def thread_hook(args: "threading.ExceptHookArgs") -> None:  # noqa: F821
        log.critical("Unhandled exception in thread %s", getattr(args.thread, "name", "?"),
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    import threading

    threading.excepthook = thread_hook


def install(debug: bool = False) -> Path:
    """Logging, faulthandler and the crash hook, in that order; returns the log file path."""
    path = setup_logging(debug)
    install_faulthandler()
    install_excepthook()
    return path


def show_crash_dialog(message: str, details: str) -> None:
    """Show the crash dialog if a QApplication exists; otherwise print to stderr."""
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        QApplication = None  # type: ignore[assignment,misc]
    if QApplication is None or QApplication.instance() is None:
        print(f"{APP_NAME} crashed: {message}\nSee {log_file()}", file=sys.stderr)
        return
    from vlm_desktop.ui.crash_dialog import CrashDialog

    CrashDialog(message, details, log_file()).exec()
