"""A dismissable message bar inside the window, for errors a user can act on (not a modal box)."""

from __future__ import annotations

import enum
from typing import Callable, Optional

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QWidget,
)

from vlm_desktop.ui import theme


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_HUES: dict[Level, QColor] = {
    Level.ERROR: theme.ERROR_HUE, Level.WARNING: theme.WARNING_HUE, Level.INFO: theme.INFO_HUE,
}
_ICONS = {
    Level.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    Level.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Level.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
}


class MessageBar(QFrame):
    """Shows one message at a time with an icon and a close button; hidden when empty."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAccessibleName(self.tr("Message bar"))
        self.level = Level.INFO
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setAccessibleName(self.tr("Message"))
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setAutoRaise(True)
        self._close.setToolTip(self.tr("Dismiss this message (Esc)"))
        self._close.setAccessibleName(self.tr("Dismiss message"))
        self._close.clicked.connect(self.dismiss)
        # One optional remedy per message, e.g. "Use the CPU" after the GPU ran out of memory.
        self.action_button = QPushButton()
        self.action_button.setAccessibleName(self.tr("Message action"))
        self.action_button.setToolTip(self.tr("Do what the message suggests"))
        self.action_button.hide()
        self.action_button.clicked.connect(self._run_action)
        self._action: Optional[Callable[[], object]] = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    def show_message(self, text: str, level: Level = Level.ERROR, details: str = "",
                     action: Optional[tuple[str, Callable[[], object]]] = None) -> None:
        """Show `text`; `details` (e.g. a traceback) goes in the tooltip, never in the bar.

        `action` is (button text, callback): pressing the button runs it and dismisses.
        """
        self._action = action[1] if action is not None else None
        self.action_button.setText(action[0] if action is not None else "")
        self.action_button.setAccessibleName(action[0] if action is not None else
                                             self.tr("Message action"))
        self.action_button.setVisible(action is not None)
        self.level = level
        self._text.setText(text)
        self._text.setToolTip(details or text)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(self.style().standardIcon(_ICONS[level]).pixmap(size, size))
        self._apply_colours()
        self.show()

    def show_error(self, text: str, details: str = "") -> None:
        self.show_message(text, Level.ERROR, details)

    def _run_action(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()

    def dismiss(self) -> None:
        if self.isVisible():
            self.hide()
            self.dismissed.emit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if theme.scheme_changed(self, event):
            self._apply_colours()
        super().changeEvent(event)

    def _apply_colours(self) -> None:
        pal = theme.app_palette()
        hue = _HUES[self.level]
        bg = theme.tint(pal, hue)
        border = theme.blend(bg, hue, 0.5)
        self.setStyleSheet(
            f"#messageBar {{ background: {theme.css(bg)}; border: 1px solid {theme.css(border)};"
            " border-radius: 4px; }")
