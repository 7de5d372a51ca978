"""Typed settings over QSettings: one declaration per setting, with its type and default."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from vlm_desktop import APP_ID, ORG_NAME

MAX_RECENT = 10
DEFAULT_OPACITY = 0.6


def default_store() -> QSettings:
    """The platform's settings store, or an INI file under VLM_DESKTOP_HOME when it is set
    (as core.paths does for data and caches), so tests, benchmarks and portable installs
    never write to the user's own settings."""
    home = os.environ.get("VLM_DESKTOP_HOME")
    if not home:
        return QSettings(ORG_NAME, APP_ID)
    return QSettings(str(Path(home) / "config" / "settings.ini"), QSettings.Format.IniFormat)


class AppSettings:
    """The window's persistent settings. Pass a QSettings (e.g. an INI file) to redirect them."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_store()

    # Window -----------------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self.store.setValue("window/state", value)

    @property
    def splitter_state(self) -> QByteArray:
        return self._bytes("window/splitter")

    @splitter_state.setter
    def splitter_state(self, value: QByteArray) -> None:
        self.store.setValue("window/splitter", value)

    # Files ------------------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        folder = str(self.store.value("files/last_folder", "", type=str))
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.store.setValue("files/last_folder", value)

    @property
    def recent_files(self) -> list[str]:
        value = self.store.value("files/recent", [])
        # INI files give back a plain string for a one-element list, and None for none.
        if value is None:
            return []
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in value][:MAX_RECENT]

    @recent_files.setter
    def recent_files(self, files: list[str]) -> None:
        self.store.setValue("files/recent", list(files)[:MAX_RECENT])

    def add_recent_file(self, path: str) -> list[str]:
        """Put `path` first in the recent list (no duplicates, at most MAX_RECENT)."""
        files = [path] + [f for f in self.recent_files if f != path]
        self.recent_files = files[:MAX_RECENT]
        return self.recent_files

    # Model and view ---------------------------------------------------------------------
    @property
    def device(self) -> str:
        return str(self.store.value("model/device", "auto", type=str)) or "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.store.setValue("model/device", value)

    @property
    def model(self) -> str:
        """The installed model chosen in the Model menu; "" means the default one."""
        return str(self.store.value("model/name", "", type=str) or "")

    @model.setter
    def model(self, value: str) -> None:
        self.store.setValue("model/name", value)

    @property
    def embed_model(self) -> str:
        """The model chosen in Model ▸ Catalog Search; "" means the default embedding model."""
        return str(self.store.value("model/embed_name", "", type=str) or "")

    @embed_model.setter
    def embed_model(self, value: str) -> None:
        self.store.setValue("model/embed_name", value)

    @property
    def overlay_opacity(self) -> float:
        value = self.store.value("view/overlay_opacity", DEFAULT_OPACITY)
        try:
            return min(1.0, max(0.0, float(value)))
        except (TypeError, ValueError):
            return DEFAULT_OPACITY

    @overlay_opacity.setter
    def overlay_opacity(self, value: float) -> None:
        self.store.setValue("view/overlay_opacity", float(value))

    @property
    def language(self) -> str:
        """The window's language: "system" (follow the system locale), "en" or "zh_CN"."""
        value = str(self.store.value("view/language", "system", type=str) or "system")
        return value if value in ("system", "en", "zh_CN") else "system"

    @language.setter
    def language(self, value: str) -> None:
        self.store.setValue("view/language", value)

    def sync(self) -> None:
        """Write pending changes to disk now."""
        self.store.sync()

    def _bytes(self, key: str) -> QByteArray:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) else QByteArray()
