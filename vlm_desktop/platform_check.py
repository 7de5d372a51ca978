"""Before the window opens: does Qt's X11 ("xcb") platform plugin find its system libraries?

Qt 6.5+ loads the xcb plugin only when libraries such as libxcb-cursor0 are installed; when
one is missing Qt aborts with a message that names a package but no command. This module
checks the libraries first (no Qt import) and prints the exact command for the system's
package manager; `start_failure_handler()` turns Qt's own fatal "no platform plugin" abort
into a plain exit, so a missing library is never mistaken for a crash on the next start.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

log = logging.getLogger(__name__)

# soname -> (Debian/Ubuntu, Fedora, Arch) package: the X11 libraries libqxcb.so and
# libQt6XcbQpa.so link against (readelf -d, PySide6 6.x), libxcb-cursor among them.
XCB_LIBRARIES: dict[str, tuple[str, str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil",
                                "xcb-util-renderutil"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
}

# (tool that identifies the system, install command prefix, column in XCB_LIBRARIES)
_MANAGERS = (("apt-get", "sudo apt install", 0), ("dnf", "sudo dnf install", 1),
             ("pacman", "sudo pacman -S", 2))


@dataclass(frozen=True)
class PlatformProblem:
    """Libraries the xcb plugin needs that this system lacks, and how to install them."""

    missing: tuple[str, ...]  # sonames
    commands: tuple[str, ...]  # one per package manager, this system's first

    def message(self) -> str:
        lines = ["The window cannot open: Qt's X11 platform plugin needs system libraries "
                 f"that are not installed ({', '.join(self.missing)}). Install them with:"]
        lines += [f"    {c}" for c in self.commands]
        lines.append("then start vlm-desktop again. (Headless commands such as "
                     "`vlm-desktop caption photo.jpg` work without them.)")
        return "\n".join(lines)


def uses_xcb(environ: Optional[dict[str, str]] = None, qt_args: Sequence[str] = (),
             platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin first: Linux, an X display, no other platform asked."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return False
    args = list(qt_args)
    if "-platform" in args:
        i = args.index("-platform")
        return i + 1 < len(args) and args[i + 1].startswith("xcb")
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(";")[0].startswith("xcb")
    # Qt 6 prefers Wayland in a Wayland session; X11 only where a display is set.
    return bool(env.get("DISPLAY")) and not (env.get("WAYLAND_DISPLAY")
                                             and env.get("XDG_SESSION_TYPE") == "wayland")


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def check_xcb(loads: Callable[[str], bool] = _loads,
              which: Callable[[str], Optional[str]] = shutil.which) -> Optional[PlatformProblem]:
    """The missing xcb libraries and install commands, or None when all load."""
    missing = tuple(so for so in XCB_LIBRARIES if not loads(so))
    if not missing:
        return None
    order = sorted(_MANAGERS, key=lambda m: which(m[0]) is None)  # this system's first
    commands = []
    for _tool, prefix, column in order:
        packages = dict.fromkeys(XCB_LIBRARIES[so][column] for so in missing)
        commands.append(f"{prefix} {' '.join(packages)}")
    return PlatformProblem(missing, tuple(commands))


def preflight(qt_args: Sequence[str] = ()) -> Optional[PlatformProblem]:
    """Check before Qt starts; print and log the install command when libraries are missing."""
    if not uses_xcb(qt_args=qt_args):
        return None
    problem = check_xcb()
    if problem is not None:
        log.info("%s", problem.message())  # stderr gets it once, below
        print(problem.message(), file=sys.stderr)
    return problem


def start_failure_handler(exit_: Callable[[int], object] = os._exit
                          ) -> Callable[[object, object, str], None]:
    """A Qt message handler for the QApplication's construction: Qt's fatal "no platform
    plugin could be initialized" becomes a plain message and exit status 1 instead of
    abort(), whose SIGABRT faulthandler would record as a hard crash."""
    from PySide6.QtCore import QtMsgType

    def handler(mode: object, _context: object, message: str) -> None:
        if mode == QtMsgType.QtFatalMsg and "platform plugin" in message:
            log.error("Qt could not start a platform plugin: %s", message)
            print(f"{message}\nSee the README's prerequisites (e.g. sudo apt install "
                  "libxcb-cursor0 on Debian/Ubuntu).", file=sys.stderr)
            logging.shutdown()
            exit_(1)
            return
        if mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            print(message, file=sys.stderr)

    return handler
