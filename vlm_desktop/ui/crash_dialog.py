"""The dialog shown for an unexpected error: what happened, where the log is, how to report it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QHBoxLayout,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop import APP_NAME


class CrashDialog(QDialog):
    """Shows the error message, the log path and the details, with Copy and Open log folder."""

    def __init__(self, message: str, details: str, log_path: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("{app} — unexpected error").format(app=APP_NAME))
        self.setAccessibleName(self.tr("Unexpected error"))
        self.details = details
        self.log_path = log_path

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
                       .pixmap(40, 40))
        text = QLabel(self.tr(
            "<b>{app} hit an unexpected error.</b><br>{message}<br><br>"
            "The details are in the log file:<br><code>{log}</code><br>"
            "Please include them when you report the problem.").format(
                app=APP_NAME, message=_escape(message), log=_escape(str(log_path))))
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head = QHBoxLayout()
        head.addWidget(icon, 0)
        head.addWidget(text, 1)

        box = QPlainTextEdit(details)
        box.setReadOnly(True)
        box.setAccessibleName(self.tr("Error details"))
        box.setToolTip(self.tr("The technical details of the error"))
        box.setMinimumSize(560, 200)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton(self.tr("&Copy details"))
        copy.setToolTip(self.tr("Copy the error details to the clipboard"))
        copy.setAccessibleName(self.tr("Copy details"))
        open_folder = QPushButton(self.tr("Open &log folder"))
        open_folder.setToolTip(self.tr("Open the folder that holds the log files"))
        open_folder.setAccessibleName(self.tr("Open log folder"))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_details)
        open_folder.clicked.connect(self.open_log_folder)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(box, 1)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path.parent)))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
