"""Where the app keeps data, caches and logs, by platform convention (no Qt needed).

`VLM_DESKTOP_HOME` overrides everything (tests and portable installs use it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vlm_desktop import APP_ID


def _base(kind: str) -> Path:
    override = os.environ.get("VLM_DESKTOP_HOME")
    if override:
        return Path(override) / kind
    home = Path.home()
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return root / APP_ID / kind
    if sys.platform == "darwin":
        sub = "Caches" if kind == "cache" else "Application Support"
        return home / "Library" / sub / APP_ID / ("" if kind == "data" else kind)
    env = {"data": "XDG_DATA_HOME", "cache": "XDG_CACHE_HOME", "state": "XDG_STATE_HOME"}[kind]
    default = {"data": ".local/share", "cache": ".cache", "state": ".local/state"}[kind]
    return Path(os.environ.get(env) or home / default) / APP_ID


def data_dir() -> Path:
    """User data: imported models, catalogs."""
    return _ensure(_base("data"))


def cache_dir() -> Path:
    """Disposable caches: label embeddings, thumbnails, vector indexes."""
    return _ensure(_base("cache"))


def log_dir() -> Path:
    """Rotating log files and crash reports."""
    return _ensure(_base("state") / "logs")


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
