"""Model ▸ Manage models…: list, import (folder or .zip), remove, and defaults per capability.

Verification and copying run off the GUI thread (one `Job` per import); this module talks
only to `core.models` (pure Python at import time) and never imports torch.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core import models
from vlm_desktop.core.cancel import JobState
from vlm_desktop.ui import capabilities
from vlm_desktop.ui.i18n import model_name
from vlm_desktop.workers.errors import register_user_error
from vlm_desktop.workers.jobs import OffThread

COLUMNS = (QT_TRANSLATE_NOOP("ModelManagerDialog", "Name"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Family"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Can do"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Size"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Parameters"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Est. memory (CPU / GPU)"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Default for"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Number format"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "Source"))
DEFAULT_CAPS = ("caption", "answer", "embed")


class ImportFailed(Exception):
    """An import went wrong in an unexpected way; the message names the error."""


register_user_error(models.ModelFolderError)  # its message says what the folder lacks
register_user_error(ImportFailed)


def _import(path: str, _state: JobState) -> models.ModelRecord:
    """Verify and install one folder or archive (off the GUI thread)."""
    try:
        return models.import_model(path)
    except models.ModelFolderError:
        raise
    except Exception as exc:  # shown to the user, never swallowed
        raise ImportFailed(f"Import failed: {type(exc).__name__}: {exc}") from exc


class ModelManagerDialog(QDialog):
    """Lists installed models; imports, removes and sets defaults per capability."""

    models_changed = Signal()
    import_finished = Signal(bool, str)  # ok, message

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.resize(1040, 380)
        self._pool = OffThread("model-import", max_threads=1)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()  # row numbers mean nothing here
        self.table.setAccessibleName(self.tr("Installed models"))
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.import_folder_button = QPushButton(self.tr("Import folder…"), self)
        self.import_zip_button = QPushButton(self.tr("Import .zip…"), self)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.default_buttons = {cap: QPushButton(
            self.tr("Default for {job}").format(job=capabilities.name(cap)), self)
                                for cap in DEFAULT_CAPS}
        self.import_folder_button.clicked.connect(self._choose_folder)
        self.import_zip_button.clicked.connect(self._choose_zip)
        self.remove_button.clicked.connect(self._remove_selected)
        for cap, button in self.default_buttons.items():
            button.clicked.connect(lambda _=False, c=cap: self.set_default(c))

        row = QHBoxLayout()
        for b in (self.import_folder_button, self.import_zip_button, self.remove_button,
                  *self.default_buttons.values()):
            row.addWidget(b)
        row.addStretch(1)
        intro = QLabel(self.tr("The built-in model is always available. Import a model folder "
                               "(e.g. one saved with huggingface-cli download … --local-dir) to "
                               "use it offline; choose the active model in the Model menu."),
                       self)
        intro.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addLayout(row)
        layout.addWidget(close)
        self.refresh()

    # --- listing -------------------------------------------------------------------------

    def refresh(self) -> None:
        try:
            records = models.list_models()
            defaults = models.defaults()
        except models.ModelFolderError as exc:
            self._say(str(exc))
            return
        self.table.setRowCount(len(records))
        for r, rec in enumerate(records):
            # "stream" is a property of a model, not a job one is chosen for.
            marks = ", ".join(capabilities.name(c) for c, n in defaults.items()
                              if n == rec.name and c != "stream")
            memory = (f"{models.human_size(rec.est_ram_bytes)} / "
                      f"{models.human_size(rec.est_vram_bytes)}")
            cells = (rec.name, model_name(rec.label),
                     ", ".join(capabilities.name(c) for c in sorted(rec.capabilities)),
                     models.human_size(rec.size_bytes), f"{rec.parameters / 1e6:.1f} M",
                     memory, marks, rec.dtype or "-", rec.origin)
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._update_buttons()

    def selected_name(self) -> Optional[str]:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def _selected_record(self) -> Optional[models.ModelRecord]:
        name = self.selected_name()
        try:
            return models.get_model(name) if name else None
        except KeyError:
            return None

    def _update_buttons(self) -> None:
        rec = self._selected_record()
        self.remove_button.setEnabled(rec is not None and not rec.builtin)
        if rec is not None and rec.builtin:
            self.remove_button.setToolTip(self.tr("The built-in model cannot be removed."))
        for cap, button in self.default_buttons.items():
            can = rec is not None and cap in rec.capabilities
            button.setEnabled(can)
            button.setToolTip("" if can or rec is None else self.tr(
                "{name} cannot do {job}.").format(name=rec.name, job=capabilities.name(cap)))

    def _say(self, text: str) -> None:
        self.status.setText(text)

    # --- actions -------------------------------------------------------------------------

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Import a model folder"))
        if path:
            self.import_path(path)

    def _choose_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import a model archive"), "",
                                              self.tr("Zip archives (*.zip)"))
        if path:
            self.import_path(path)

    def import_path(self, path: str) -> None:
        """Verify and install `path` in the background; `import_finished` tells the outcome."""
        self._say(self.tr("Checking {path}…").format(path=path))
        self.import_folder_button.setEnabled(False)
        self.import_zip_button.setEnabled(False)
        job = self._pool.run(lambda state: _import(path, state), "importing a model")
        job.result.connect(self._on_imported)
        job.failed.connect(lambda message, _details: self._on_failed(message))

    def _on_imported(self, record: models.ModelRecord) -> None:
        self._import_done(True, self.tr("Imported {name} ({kind}, {n} M parameters).").format(
            name=record.name, kind=record.label, n=f"{record.parameters / 1e6:.1f}"))
        self.models_changed.emit()

    def _on_failed(self, message: str) -> None:
        self._import_done(False, message)

    def _import_done(self, ok: bool, message: str) -> None:
        self.import_folder_button.setEnabled(True)
        self.import_zip_button.setEnabled(True)
        self._say(message)
        self.refresh()
        self.import_finished.emit(ok, message)

    def _remove_selected(self) -> None:
        name = self.selected_name()
        if name:
            self.remove(name)

    def remove(self, name: str) -> None:
        try:
            models.remove_model(name)
        except models.ModelFolderError as exc:
            self._say(str(exc))
            return
        self._say(self.tr("Removed {name}.").format(name=name))
        self.refresh()
        self.models_changed.emit()

    def set_default(self, capability: str) -> None:
        name = self.selected_name()
        if not name:
            return
        try:
            models.set_default(capability, name)
        except models.ModelFolderError as exc:
            self._say(str(exc))
            return
        self._say(self.tr("{name} is now used for {job}.").format(
            name=name, job=capabilities.name(capability)))
        self.refresh()
        self.models_changed.emit()

    def done(self, result: int) -> None:  # Qt override: wait for an import in flight
        self._pool.wait(30000)
        super().done(result)
