"""The chosen heat map over the image: the view's overlay, the H toggle, the word shown."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from vlm_desktop.core.engine.types import WordSpan
from vlm_desktop.ui.caption_panel import CaptionPanel
from vlm_desktop.ui.chat_panel import ChatPanel
from vlm_desktop.ui.image_document import ImageDocument
from vlm_desktop.ui.image_view import ImageView
from vlm_desktop.ui.overlay_controls import OverlayControls, heatmap_qimage


class HeatmapOverlay(QObject):
    """Shows the document's selected map on the view and keeps its controls in step."""

    def __init__(self, document: ImageDocument, view: ImageView, controls: OverlayControls,
                 toggle: QAction, caption: CaptionPanel, chat: ChatPanel,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.document, self.view, self.controls, self.toggle = document, view, controls, toggle
        self.caption, self.chat = caption, chat
        document.selection_changed.connect(self.show)
        controls.opacity_changed.connect(view.set_overlay_opacity)

    def show(self, span: Optional[WordSpan]) -> None:
        """Lay `span`'s map over the image (None: none), and mark its word in the panels."""
        heatmap = span.heatmap if span is not None else None
        self.caption.select(span)
        self.chat.select(span)
        if heatmap is None or not self.view.has_image():
            self.view.clear_overlay()
            self.controls.show_word(None)
            self._set_toggle(False)
            return
        self.view.set_overlay(heatmap_qimage(heatmap, self.view.image_size()),
                              self.controls.opacity)
        self.controls.show_word((span.text if span is not None else "") or heatmap.label)
        self._set_toggle(True)

    def toggled(self, on: bool) -> None:
        """H: show or hide the map; with nothing chosen, the caption's first content word."""
        if self.document.heatmap is not None:
            self.view.set_overlay_visible(on)
            return
        chips = self.caption.chips
        if on and chips:
            chips[0].setChecked(True)
        else:
            self._set_toggle(False)

    def _set_toggle(self, on: bool) -> None:
        self.toggle.blockSignals(True)  # reflecting the state is not a user's toggle
        self.toggle.setChecked(on)
        self.toggle.blockSignals(False)
