"""Opening (importing, refreshing) a catalog off the GUI thread; no model needed."""

from __future__ import annotations

import logging
from typing import Callable, Mapping, Optional

from PySide6.QtCore import QObject, Signal

from vlm_desktop.core.catalog import opening
from vlm_desktop.core.messages import say
from vlm_desktop.workers.errors import register_user_error
from vlm_desktop.workers.jobs import OffThread

log = logging.getLogger(__name__)


class CatalogOpenError(Exception):
    """A catalog could not be opened; the message says which and why."""


register_user_error(CatalogOpenError)


def _opening(fn: Callable[[], opening.Opened]) -> opening.Opened:
    try:
        return fn()
    except Exception as exc:  # shown in the panel; the rest of the app is unaffected
        log.exception("cannot open catalog")
        raise CatalogOpenError(say("Cannot open the catalog: {error}", error=exc)) from exc


class StoreOpener(QObject):
    """Runs `core.catalog.opening` off the GUI thread, one catalog at a time."""

    opened = Signal(object, object)  # CatalogStore, ImportReport | None
    failed = Signal(str)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = OffThread("catalog opener", max_threads=1)

    def open_demo(self) -> None:
        self._start(opening.open_demo)

    def open_folder(self, folder: str, metadata: Optional[str] = None,
                    mapping: Optional[Mapping[str, str]] = None) -> None:
        """Import (or refresh) `folder` as a catalog (see `opening.open_folder`)."""
        self._start(lambda: opening.open_folder(folder, metadata, mapping))

    def open_database(self, path: str) -> None:
        """Open an existing catalog database and refresh it from its folder (incremental)."""
        self._start(lambda: opening.open_database(path))

    def _start(self, fn: Callable[[], opening.Opened]) -> None:
        job = self._pool.run(lambda _state: _opening(fn), "opening the catalog")
        job.result.connect(lambda opened: self.opened.emit(*opened))
        job.failed.connect(lambda message, _details: self.failed.emit(message))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.shutdown(timeout_ms)
