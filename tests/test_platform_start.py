"""A window that cannot start (no usable Qt platform plugin) is no crash; a real crash is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vlm_desktop import platform_check


def _start(home: Path, *args: str, code: str = "", platform: str = "offscreen"
           ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY"))}
    env.update(VLM_DESKTOP_HOME=str(home), QT_QPA_PLATFORM=platform)
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "vlm_desktop", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def _log(home: Path) -> str:
    logs = home / "state" / "logs"
    found = list(home.rglob("vlm-desktop.log"))
    assert found, f"no log under {home} ({logs})"
    return found[0].read_text(encoding="utf-8")


def test_a_failed_platform_plugin_start_is_not_reported_as_a_crash_next_time(tmp_path):
    first = _start(tmp_path, platform="no-such-platform")
    assert first.returncode == 1, first.stderr  # a plain failure, not abort()'s -6
    assert "platform plugin" in first.stderr
    second = _start(tmp_path, "--version")
    assert second.returncode == 0, second.stderr
    assert "crashed hard" not in _log(tmp_path) + second.stderr


def test_a_real_hard_crash_is_reported_on_the_next_start(tmp_path):
    crashed = _start(tmp_path, code="from vlm_desktop import crash; crash.install(); "
                                    "import faulthandler; faulthandler._sigsegv()")
    assert crashed.returncode != 0
    second = _start(tmp_path, "--version")
    assert second.returncode == 0, second.stderr
    assert "The previous run crashed hard" in _log(tmp_path)
    assert list(tmp_path.rglob("faulthandler.previous.log"))


def test_missing_xcb_libraries_give_the_install_command_for_each_system():
    present = {"libxcb.so.1", "libX11.so.6"}
    problem = platform_check.check_xcb(loads=lambda so: so in present or "cursor" not in so,
                                       which=lambda tool: "/usr/bin/dnf" if tool == "dnf"
                                       else None)
    assert problem is not None and problem.missing == ("libxcb-cursor.so.0",)
    assert problem.commands[0] == "sudo dnf install xcb-util-cursor"  # this system's first
    assert "sudo apt install libxcb-cursor0" in problem.commands
    assert "sudo pacman -S xcb-util-cursor" in problem.commands
    assert "sudo apt install libxcb-cursor0" in problem.message()
    assert platform_check.check_xcb(loads=lambda so: True) is None


def test_the_xcb_check_runs_only_where_qt_would_use_xcb():
    x11 = {"DISPLAY": ":0"}
    assert platform_check.uses_xcb(x11, platform="linux")
    assert not platform_check.uses_xcb({**x11, "QT_QPA_PLATFORM": "offscreen"}, platform="linux")
    assert not platform_check.uses_xcb(x11, qt_args=["-platform", "wayland"], platform="linux")
    assert not platform_check.uses_xcb(x11, platform="darwin")
    assert not platform_check.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0",
                                        "XDG_SESSION_TYPE": "wayland"}, platform="linux")


def test_readme_prerequisites_name_every_library_the_check_asks_for():
    """The README's install lines and the start-up check must not drift apart."""
    from pathlib import Path

    from vlm_desktop.platform_check import _MANAGERS, XCB_LIBRARIES

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for _tool, command, column in _MANAGERS:
        line = next(ln for ln in readme.splitlines() if ln.startswith(command + " "))
        listed = set(line[len(command):].split())
        assert {pkgs[column] for pkgs in XCB_LIBRARIES.values()} <= listed, command
