"""The "Import folder as catalog" dialog: the folder, its metadata file and a column mapping.

A metadata file whose columns are named differently (``file_name``, ``Produkt``, ``EUR``)
is mapped here, one box per catalog field; boxes start at the column the importer would
pick by itself (core.catalog.metadata.DEFAULT_ALIASES), so a usual file needs no change.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.catalog.metadata import DEFAULT_ALIASES, FIELDS

NONE = QT_TRANSLATE_NOOP("CatalogImportDialog", "(not in the file)")
HEAD_BYTES = 256 * 1024  # the header (CSV) or first records (JSON Lines) are enough
FIELD_HINTS = {
    "image": QT_TRANSLATE_NOOP("CatalogImportDialog", "image file, relative to the folder"),
    "tags": QT_TRANSLATE_NOOP("CatalogImportDialog", "tags, separated by ;"),
    "id": QT_TRANSLATE_NOOP("CatalogImportDialog", "your item id (SKU)"),
}
# The catalog fields' names as shown (the fields themselves stay English: they are keys).
FIELD_NAMES = {
    "image": QT_TRANSLATE_NOOP("CatalogImportDialog", "Image"),
    "title": QT_TRANSLATE_NOOP("CatalogImportDialog", "Title"),
    "category": QT_TRANSLATE_NOOP("CatalogImportDialog", "Category"),
    "price": QT_TRANSLATE_NOOP("CatalogImportDialog", "Price"),
    "currency": QT_TRANSLATE_NOOP("CatalogImportDialog", "Currency"),
    "tags": QT_TRANSLATE_NOOP("CatalogImportDialog", "Tags"),
    "id": QT_TRANSLATE_NOOP("CatalogImportDialog", "Id"),
    "url": QT_TRANSLATE_NOOP("CatalogImportDialog", "Url"),
}


def metadata_columns(path: str | Path) -> list[str]:
    """The column names of a CSV, JSON or JSON Lines metadata file, in file order."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8-sig", errors="replace"))
        records = data if isinstance(data, list) else next(
            (v for v in data.values() if isinstance(v, list)), []) if isinstance(data, dict) else []
    else:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
        if suffix in (".jsonl", ".ndjson"):
            records = [json.loads(line) for line in head.splitlines()[:-1] if line.strip()]
        else:
            return [c.strip() for c in next(csv.reader(io.StringIO(head)), []) if c.strip()]
    seen: dict[str, None] = {}
    for rec in records[:50]:
        if isinstance(rec, dict):
            seen.update({str(k): None for k in rec})
    return list(seen)


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """The column the importer would use for each field by itself (same alias rules)."""
    lower = {c.lower().strip(): c for c in columns}
    out: dict[str, str] = {}
    for name in FIELDS:
        for alias in DEFAULT_ALIASES[name]:
            if alias in lower:
                out[name] = lower[alias]
                break
    return out


class CatalogImportDialog(QDialog):
    """Choose the metadata file of `folder` and map its columns to the catalog fields."""

    def __init__(self, folder: str, metadata: Optional[str] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import folder as catalog"))
        self.folder = folder
        self.meta_edit = QLineEdit(metadata or "", placeholderText=self.tr(
            "No metadata file: titles come from file names"))
        self.meta_edit.setAccessibleName(self.tr("Metadata file"))
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._choose)
        self.boxes: dict[str, QComboBox] = {}
        form = QFormLayout()
        meta_row = QHBoxLayout()
        meta_row.addWidget(self.meta_edit, 1)
        meta_row.addWidget(browse)
        form.addRow(self.tr("Folder"), QLabel(folder, wordWrap=True))
        form.addRow(self.tr("Metadata"), meta_row)
        for name in FIELDS:
            shown = self.tr(FIELD_NAMES[name]) if name in FIELD_NAMES else name.capitalize()
            box = QComboBox()
            box.setAccessibleName(self.tr("Column for {field}").format(field=shown))
            box.setToolTip(self.tr(FIELD_HINTS[name]) if name in FIELD_HINTS else shown)
            self.boxes[name] = box
            form.addRow(shown, box)
        self.note = QLabel(wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText(self.tr("Import"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
        self.meta_edit.editingFinished.connect(self._load_columns)
        self.boxes["image"].currentIndexChanged.connect(lambda _i: self._update_button())
        self._load_columns()

    def _update_button(self) -> None:
        # Rows cannot be matched to files without the image column: every row would be refused.
        ok = self.metadata is None or self.boxes["image"].currentData() is not None
        self.import_button.setEnabled(ok)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Metadata file"), self.folder,
            self.tr("Metadata (*.csv *.json *.jsonl *.ndjson);;All files (*)"))
        if path:
            self.meta_edit.setText(path)
            self._load_columns()

    def _load_columns(self) -> None:
        path = self.metadata
        columns: list[str] = []
        self.note.clear()
        if path:
            try:
                columns = metadata_columns(path)
            except (OSError, ValueError) as exc:  # shown in the dialog; the user picks again
                self.note.setText(self.tr("Cannot read {name}: {error}").format(
                    name=Path(path).name, error=exc))
        guess = guess_mapping(columns)
        for name, box in self.boxes.items():
            box.clear()
            box.addItem(self.tr(NONE), None)
            for c in columns:
                box.addItem(c, c)
            box.setCurrentIndex(max(0, box.findData(guess.get(name))))
            box.setEnabled(bool(columns))
        if columns and "image" not in guess:
            self.note.setText(self.tr("Choose the column that names each image file."))
        self._update_button()

    @property
    def metadata(self) -> Optional[str]:
        text = self.meta_edit.text().strip()
        return text or None

    def mapping(self) -> dict[str, str]:
        """Field -> column for every field; a field set to "(not in the file)" maps to ""
        so the importer does not fall back to a same-named column."""
        return {name: box.currentData() or "" for name, box in self.boxes.items()}
