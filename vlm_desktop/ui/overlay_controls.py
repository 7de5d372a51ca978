"""The heat-map bar under the image: show/hide (H), which word is shown, opacity, colour legend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QWidget,
)

from vlm_desktop.core.engine.types import HeatMap

if TYPE_CHECKING:  # numpy and the overlay maths load on first use, not at window start-up
    import numpy as np

# The heat map is a coarse grid (e.g. 14×14); rendering it larger than this adds nothing
# and would cost the GUI thread time on big photos. The view scales it to the image.
OVERLAY_MAX_SIDE = 1024
LEGEND_SIZE = (64, 12)
# Short, so it reads whole beside the other controls at the window's default size.
HINT = QT_TRANSLATE_NOOP("OverlayControls", "Click a word")
HINT_TIP = QT_TRANSLATE_NOOP("OverlayControls",
                             "Click a highlighted word of the caption or of an answer to see "
                             "its heat map: where the model looked for it (bright = most)")


def heatmap_qimage(heatmap: HeatMap, image_size: tuple[int, int]) -> QImage:
    """The heat map as an RGBA QImage with the image's aspect ratio, at most OVERLAY_MAX_SIDE."""
    import numpy as np

    from vlm_desktop.core.explain import overlay as overlay_core

    w, h = image_size
    scale = min(1.0, OVERLAY_MAX_SIDE / max(w, h, 1))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    rgba = np.ascontiguousarray(overlay_core.heatmap_rgba(heatmap, size, 1.0), dtype=np.uint8)
    return rgba_to_qimage(rgba)


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """Copy an (H, W, 4) uint8 array into a QImage that owns its pixels."""
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def legend_pixmap(width: int, height: int) -> QPixmap:
    import numpy as np

    from vlm_desktop.core.explain import overlay as overlay_core

    img = overlay_core.legend_image(width, height).convert("RGBA")
    return QPixmap.fromImage(rgba_to_qimage(np.asarray(img)))


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it is narrower than its text.

    While elided, its tooltip starts with the full text.
    """

    def __init__(self, text: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._tip = tooltip
        self._sync_tip()

    def set_text(self, text: str, tooltip: str) -> None:
        self.setText(text)
        self._tip = tooltip
        self._sync_tip()

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def _sync_tip(self) -> None:
        self.setToolTip(f"{self.text()}\n{self._tip}" if self.is_elided() else self._tip)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._sync_tip()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), text)


class OverlayControls(QWidget):
    """Controls for the overlay; the show/hide state lives in the window's `toggle_action`."""

    opacity_changed = Signal(float)

    def __init__(self, toggle_action: QAction, opacity: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Heat map controls"))
        self.toggle = QToolButton()
        toggle_action.setIconText(self.tr("Heat map"))
        self.toggle.setDefaultAction(toggle_action)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toggle.setAccessibleName(self.tr("Show heat map"))
        self.word = ElidedLabel(self.tr(HINT), self.tr(HINT_TIP))
        self.word.setAccessibleName(self.tr("Heat map word"))
        # Long words must not widen the window: the label gives way and elides instead,
        # but never below the hint, which always reads whole.
        self.word.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.word.setMinimumWidth(self.word.fontMetrics().horizontalAdvance(self.tr(HINT)) + 4)
        self.word.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(opacity * 100))
        self.slider.setMinimumWidth(60)
        self.slider.setMaximumWidth(120)
        self.slider.setAccessibleName(self.tr("Heat map opacity"))
        self.slider.setToolTip(self.tr("How strongly the heat map covers the image"))
        self.slider.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        opacity_label = QLabel(self.tr("&Opacity"))
        opacity_label.setBuddy(self.slider)

        self.legend = QLabel()
        self.legend.setFixedSize(*LEGEND_SIZE)
        # Drawn just after the window shows: building the colour map needs numpy.
        QTimer.singleShot(0, self, self._draw_legend)
        self.legend.setAccessibleName(self.tr("Colour legend"))
        self.legend.setToolTip(self.tr("Colour legend: dark = the model paid little attention, "
                                       "bright = where it looked most"))
        low, high = QLabel(self.tr("low")), QLabel(self.tr("high"))
        for label in (low, high):
            label.setAccessibleName(self.tr("Legend {end}").format(end=label.text()))
            label.setToolTip(self.legend.toolTip())

        # Two groups that sit side by side when the column is wide and one above the other
        # when it is not (1024 px screens with the catalog open): nothing is squeezed over
        # its neighbour, whatever the width.
        self.word_row, self.scale_row = QWidget(), QWidget()
        words = QHBoxLayout(self.word_row)
        words.setContentsMargins(0, 0, 0, 0)
        words.setSpacing(6)
        words.addWidget(self.toggle)
        words.addWidget(self.word, 1)
        scale = QHBoxLayout(self.scale_row)
        scale.setContentsMargins(0, 0, 0, 0)
        scale.setSpacing(6)
        scale.addWidget(opacity_label)
        scale.addWidget(self.slider, 1)
        scale.addSpacing(6)
        scale.addWidget(low)
        scale.addWidget(self.legend)
        scale.addWidget(high)
        self._rows = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._rows.setContentsMargins(8, 4, 8, 4)
        self._rows.setSpacing(12)
        self._rows.addWidget(self.word_row, 1)
        self._rows.addWidget(self.scale_row, 0)

    def is_wrapped(self) -> bool:
        """Whether the bar shows its two groups on two lines (a narrow column)."""
        return self._rows.direction() == QBoxLayout.Direction.TopToBottom

    def _one_line_width(self) -> int:
        m = self._rows.contentsMargins()
        return (self.word_row.minimumSizeHint().width() + self._rows.spacing()
                + self.scale_row.sizeHint().width() + m.left() + m.right())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # The narrowest is the wrapped bar, so the window can shrink to it whichever way
        # the bar is laid out now.
        m = self._rows.contentsMargins()
        width = max(self.word_row.minimumSizeHint().width(),
                    self.scale_row.minimumSizeHint().width()) + m.left() + m.right()
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        wrap = event.size().width() < self._one_line_width()
        if wrap != self.is_wrapped():
            self._rows.setDirection(QBoxLayout.Direction.TopToBottom if wrap
                                    else QBoxLayout.Direction.LeftToRight)
            self.updateGeometry()  # one line or two: the height the column gives it changes
        super().resizeEvent(event)

    def _draw_legend(self) -> None:
        self.legend.setPixmap(legend_pixmap(*LEGEND_SIZE))

    @property
    def opacity(self) -> float:
        return self.slider.value() / 100

    def show_word(self, word: str | None) -> None:
        if word:
            # Just the word: the checked "Heat map" button beside it already says what it is.
            self.word.set_text(self.tr("“{word}”").format(word=word), self.tr(
                "The heat map over the image is for “{word}”; click the word again to hide "
                "it").format(word=word))
        else:
            self.word.set_text(self.tr(HINT), self.tr(HINT_TIP))
