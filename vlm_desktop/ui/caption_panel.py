"""The caption of the current image as word chips, its confidence and evidence, or a status line."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QHBoxLayout, QVBoxLayout, QWidget

from vlm_desktop.core.catalog.naming import CategoryGuess
from vlm_desktop.core.engine.types import Caption, WordSpan
from vlm_desktop.ui import theme
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.word_chips import WordChips


BAR_WIDTH = (40, 120)  # the confidence bar's narrowest and widest, in pixels


def confidence_text(confidence: float) -> str:
    if confidence >= 0.7:
        text = translate("ConfidenceBar", "Confidence {percent} (high)")
    elif confidence >= 0.4:
        text = translate("ConfidenceBar", "Confidence {percent} (medium)")
    else:
        text = translate("ConfidenceBar", "Confidence {percent} (low)")
    return text.format(percent=f"{confidence:.0%}")


class ConfidenceBar(QWidget):
    """A thin bar and a label saying how sure the model is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setMinimumWidth(BAR_WIDTH[0])
        self.bar.setMaximumWidth(BAR_WIDTH[1])
        self.bar.setAccessibleName(self.tr("Confidence"))
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName(self.tr("Confidence"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.label, 1)
        self.setToolTip(self.tr("How sure the model is about this text"))

    def set_confidence(self, confidence: float) -> None:
        self.bar.setValue(round(confidence * 100))
        self.label.setText(confidence_text(confidence))
        self._fit_bar(self.width())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_bar(event.size().width())

    def _fit_bar(self, width: int) -> None:
        # In a narrow column the bar gives way first, so the label stays on one line; only
        # below the bar's minimum does the label wrap. It is never clipped.
        text = self.label.fontMetrics().horizontalAdvance(self.label.text()) + 4
        room = width - self.layout().spacing() - text
        self.bar.setMaximumWidth(max(BAR_WIDTH[0], min(BAR_WIDTH[1], room)))


class CaptionPanel(QFrame):
    """Shows the caption (words with heat maps are clickable) or what the app is doing instead."""

    word_selected = Signal(object)  # WordSpan | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Caption"))
        self.setToolTip(self.tr("The model's caption of the image. Click a highlighted word to "
                                "see where the model looked for it."))
        self.caption: Caption | None = None
        self.partial_text = ""  # streamed text shown while the caption is being written
        self._chips: WordChips | None = None

        title = QLabel(self.tr("Caption"))
        title.setObjectName("panelTitle")
        title.setAccessibleName(self.tr("Caption heading"))
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(self.tr("Caption status"))
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._chip_holder = QVBoxLayout()
        self._chip_holder.setContentsMargins(0, 0, 0, 0)
        self.confidence = ConfidenceBar()
        self.evidence = QLabel()
        self.evidence.setWordWrap(True)
        self.evidence.setAccessibleName(self.tr("Evidence"))
        self.evidence.setToolTip(self.tr("What the model based the caption on"))
        self.evidence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The open catalog's own name for the image (its nearest items' shared category);
        # kept across captions of the same image, replaced when the catalog search says.
        self.catalog_category = QLabel()
        self.catalog_category.setWordWrap(True)
        self.catalog_category.setAccessibleName(self.tr("Catalog category"))
        self.catalog_category.setToolTip(self.tr(
            "The category most of the image's closest catalog items are in"))
        self.catalog_category.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.catalog_category.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.status)
        layout.addLayout(self._chip_holder)
        layout.addWidget(self.confidence)
        layout.addWidget(self.evidence)
        layout.addWidget(self.catalog_category)
        self._apply_colours()
        self.show_status(self.tr("Loading model…"))

    @property
    def text(self) -> str:
        """What the panel says now: the caption, or its status line."""
        return self.caption.text if self.caption is not None else self.status.text()

    @property
    def chips(self) -> list:
        return self._chips.chips if self._chips is not None else []

    def show_status(self, message: str) -> None:
        """Replace the caption with a status line (self.tr("Loading model…"), "Captioning…")."""
        self._clear()
        self.status.setText(message)
        self.status.show()
        self.updateGeometry()

    def show_partial(self, text: str) -> None:
        """The caption streamed so far, until `show_caption` replaces it."""
        self._clear()
        self.partial_text = text
        self.status.setText(f"{text}…")
        self.status.show()
        self.updateGeometry()

    def show_caption(self, caption: Caption) -> None:
        self._clear()
        self.caption = caption
        self.status.hide()
        self._chips = WordChips(caption.text, caption.words, self, emphasis=True)
        self._chips.word_selected.connect(self.word_selected)
        self._chip_holder.addWidget(self._chips)
        self.confidence.set_confidence(caption.confidence)
        self.confidence.show()
        if caption.evidence:
            self.evidence.setText(self.tr("Evidence: {text}").format(text=caption.evidence))
            self.evidence.show()
        self.updateGeometry()

    def show_catalog_category(self, guess: CategoryGuess | None) -> None:
        """Say the open catalog's category for the image, or nothing."""
        if guess is None:
            self.catalog_category.clear()
            self.catalog_category.hide()
        else:
            self.catalog_category.setText(self.tr(
                "In this catalog: {category} ({agreeing} of {considered} closest items)").format(
                category=guess.category, agreeing=guess.agreeing, considered=guess.considered))
            self.catalog_category.show()
        self.updateGeometry()

    def select(self, span: WordSpan | None) -> None:
        if self._chips is not None:
            self._chips.select(span)

    def _clear(self) -> None:
        self.caption = None
        self.partial_text = ""
        if self._chips is not None:
            self._chips.setParent(None)
            self._chips.deleteLater()
            self._chips = None
        self.confidence.hide()
        self.evidence.hide()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # The side splitter never shrinks a pane below this; without the wrapped chips'
        # height-for-width here it squashes a caption into one clipped line.
        hint = super().minimumSizeHint()
        layout = self.layout()
        width = self.width() if self.width() > hint.width() else hint.width()
        if layout is None or not layout.hasHeightForWidth():
            return hint
        return QSize(hint.width(), max(hint.height(), layout.totalHeightForWidth(width)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # narrower → the chips wrap onto more lines

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if theme.scheme_changed(self, event):
            self._apply_colours()
        super().changeEvent(event)

    def _apply_colours(self) -> None:
        muted = theme.css(theme.muted_text(theme.app_palette()))
        self.status.setStyleSheet(f"color: {muted};")
        self.evidence.setStyleSheet(f"color: {muted};")
        self.confidence.label.setStyleSheet(f"color: {muted};")
