"""Help ▸ About: versions of the app and its parts, and the model's licence."""

from __future__ import annotations

import importlib.metadata
import platform

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from vlm_desktop import APP_NAME, __version__
from vlm_desktop.core.engine.types import ModelInfo
from vlm_desktop.ui.i18n import model_name, translate


def package_version(name: str) -> str:
    """An installed distribution's version, read from its metadata (never imports it)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return translate("AboutDialog", "not installed")


def versions() -> list[tuple[str, str]]:
    return [
        (APP_NAME, __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        # Read from metadata: importing torch here would cost seconds and break the layering.
        ("PyTorch", package_version("torch")),
        ("Transformers", package_version("transformers")),
        ("NumPy", package_version("numpy")),
        ("Pillow", package_version("pillow")),
    ]


def _model_html(title: str, info: ModelInfo) -> str:
    said = translate("AboutDialog", "<b>{title}:</b> {name} {version} on {device} ({dtype})")
    licence = translate("AboutDialog", "<b>Weights licence:</b> {licence}").format(
        licence=_e(info.licence or translate("AboutDialog", "not stated")))
    source = translate("AboutDialog", "<b>Source:</b> {source}").format(source=_e(info.source))
    return ("<p>" + said.format(title=title, name=_e(model_name(info.name)), version=_e(info.version),
                                device=_e(info.device), dtype=_e(info.dtype))
            + f"<br>{licence}" + (f"<br>{source}" if info.source else "") + "</p>")


def about_html(info: ModelInfo | None, embedder: ModelInfo | None = None) -> str:
    """The About text; `embedder` is the catalog's model, listed when it is another one."""
    rows = "".join(f"<tr><td>{n}</td><td>&nbsp;&nbsp;{v}</td></tr>" for n, v in versions())
    model = (translate("AboutDialog", "<p>No model is loaded.</p>") if info is None
             else _model_html(translate("AboutDialog", "Model"), info))
    if embedder is not None and (info is None or embedder.name != info.name):
        model += _model_html(translate("AboutDialog", "Catalog search model"), embedder)
    return (f"<h2>{APP_NAME}</h2>"
            + translate("AboutDialog", "<p>Captions, answers and heat maps from a "
                        "vision-language model that runs on your own computer, offline.</p>")
            + f"<table>{rows}</table>{model}"
            + translate("AboutDialog", "<p>VLM Desktop is licensed under the Apache License "
                        "2.0. Qt and PySide6 are used under the LGPLv3.</p>"))


class AboutDialog(QDialog):
    """Versions and licences."""

    def __init__(self, info: ModelInfo | None, parent: QWidget | None = None,
                 embedder: ModelInfo | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("About {app}").format(app=APP_NAME))
        self.setAccessibleName(self.tr("About {app}").format(app=APP_NAME))
        text = QLabel(about_html(info, embedder))
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setAccessibleName(self.tr("About text"))
        text.setMinimumWidth(420)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)


def _e(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
