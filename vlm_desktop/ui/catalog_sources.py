"""Which catalog the panel shows: the Catalog menu (open, import, demo, recent, retry
unreadable files) and the opening itself, off the GUI thread."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QWidget

from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.workers.store_opener import StoreOpener

log = logging.getLogger(__name__)

MAX_RECENT = 6
RECENT_KEY = "catalog/recent"


class CatalogSources(QObject):
    """Opens catalogs the user picks; `opened(store, report)` or `failed(message)` follows
    each `opening(status text)`."""

    opening = Signal(str)
    opened = Signal(object, object)  # CatalogStore, ImportReport | None
    failed = Signal(str)
    adapt_requested = Signal()

    def __init__(self, menu: QMenu, settings: Optional[QSettings], parent: QWidget) -> None:
        super().__init__(parent)
        self.menu = menu
        self.store: Optional[CatalogStore] = None  # the catalog shown now
        self._settings = settings
        self._widget = parent
        self._opener = StoreOpener(self)
        self._opener.opened.connect(self.opened)
        self._opener.failed.connect(self.failed)
        menu.aboutToShow.connect(self.fill_menu)

    def fill_menu(self) -> None:
        m = self.menu
        m.clear()
        m.addAction(self.tr("Open catalog…"), self.choose_database)
        m.addAction(self.tr("Import folder as catalog…"), self.choose_folder)
        m.addAction(self.tr("Demo catalog"), self.open_demo)
        unreadable = len(self.store.quarantine()) if self.store is not None else 0
        retry = m.addAction(self.tr("Retry unreadable files ({n})").format(n=unreadable),
                            self.retry_unreadable)
        retry.setEnabled(unreadable > 0)
        retry.setToolTip(self.tr("Try the files that failed again (e.g. after fixing them or "
                                 "installing a codec)"))
        adapt = m.addAction(self.tr("Adapt Model to This Catalog…"), self.adapt_requested.emit)
        adapt.setEnabled(self.store is not None)
        adapt.setToolTip(self.tr("Teach the built-in model this catalog's titles, with a "
                                 "before/after measurement (or revert to the base model)"))
        recent = self.recent_catalogs()
        if recent:
            m.addSection(self.tr("Recent catalogs"))
            current = str(self.store.path) if self.store is not None else ""
            for path in recent:
                act = m.addAction(Path(path).stem, lambda p=path: self.open_database(p))
                act.setToolTip(path)
                act.setCheckable(True)
                act.setChecked(path == current)
                act.setEnabled(Path(path).is_file())

    def recent_catalogs(self) -> list[str]:
        """Catalog databases opened lately, newest first (kept in the settings)."""
        if self._settings is None:
            return []
        value = self._settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # INI files give back one string for a one-element list
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def remember(self, path: str) -> None:
        if self._settings is not None:
            recent = [path] + [p for p in self.recent_catalogs() if p != path]
            self._settings.setValue(RECENT_KEY, recent[:MAX_RECENT])

    def open_last_or_demo(self) -> None:
        """The catalog used last time, else the demo (the panel's first start)."""
        last = next((p for p in self.recent_catalogs() if Path(p).is_file()), None)
        if last is not None:
            self.open_database(last)
        else:
            self.open_demo()

    def choose_database(self) -> None:
        from vlm_desktop.core.catalog.demo import catalogs_dir

        path, _ = QFileDialog.getOpenFileName(
            self._widget, self.tr("Open catalog"), str(catalogs_dir()),
            self.tr("Catalog database (*.db);;All files (*)"))
        if path:
            self.open_database(path)

    def open_database(self, path: str) -> None:
        """Open a catalog database (refreshed from its folder off the GUI thread)."""
        self.opening.emit(self.tr("Opening {name}…").format(name=Path(path).stem))
        self._opener.open_database(path)

    def retry_unreadable(self) -> None:
        """Clear the quarantine list and refresh, so failed files are imported and tried again."""
        if self.store is None:
            return
        count = self.store.clear_quarantine()
        log.info("retrying %d unreadable files of %s", count, self.store.path)
        self.open_database(str(self.store.path))

    def open_demo(self) -> None:
        self.opening.emit(self.tr("Opening the demo catalog…"))
        self._opener.open_demo()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._widget, self.tr("Import a folder of product images"))
        if not folder:
            return
        from vlm_desktop.ui.catalog_import_dialog import CatalogImportDialog
        from vlm_desktop.core.catalog.opening import find_metadata

        dialog = CatalogImportDialog(folder, find_metadata(Path(folder)), self._widget)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.open_folder(folder, dialog.metadata, dialog.mapping())

    def open_folder(self, folder: str, metadata: Optional[str] = None,
                    mapping: Optional[dict[str, str]] = None) -> None:
        """Import a folder as a catalog (off the GUI thread) and switch to it."""
        self.opening.emit(self.tr("Importing {folder}…").format(folder=folder))
        self._opener.open_folder(folder, metadata, mapping)

    def shutdown(self) -> None:
        self._opener.shutdown()
