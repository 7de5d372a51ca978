"""A sentence shown as words; words that carry a heat map are toggle chips."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolButton, QWidget

from vlm_desktop.core.engine.types import WordSpan
from vlm_desktop.ui import theme
from vlm_desktop.ui.flow_layout import FlowLayout


class WordChip(QToolButton):
    """One clickable word; checked while its heat map is shown."""

    def __init__(self, span: WordSpan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.span = span
        self.setObjectName("wordChip")
        self.setText(span.text)
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName(f"Word {span.text}")
        self.setToolTip(f"Show where the model looked for “{span.text}”")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


class WordChips(QWidget):
    """Lays out a sentence's words, wrapping; emits the span whose chip the user toggled on."""

    word_selected = Signal(object)  # WordSpan, or None when the shown word is toggled off

    def __init__(self, text: str, words: tuple[WordSpan, ...],
                 parent: QWidget | None = None, emphasis: bool = False) -> None:
        super().__init__(parent)
        self.text = text
        self.chips: list[WordChip] = []
        self._labels: list[QLabel] = []
        self._emphasis = emphasis
        self.setAccessibleName(text)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = FlowLayout(self, spacing=4)
        for word, tail in _tokens(text, words):
            if word.heatmap is not None:
                chip = WordChip(word, self)
                chip.toggled.connect(lambda on, c=chip: self._on_toggled(c, on))
                layout.addWidget(chip)
                self.chips.append(chip)
                if tail:
                    layout.addWidget(self._label(tail))
            else:
                layout.addWidget(self._label(word.text + tail))
        self._apply_style()

    def _label(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self._labels.append(label)
        return label

    def select(self, span: WordSpan | None) -> None:
        """Check the chip of `span` (by identity) and uncheck the others, silently."""
        for chip in self.chips:
            chip.blockSignals(True)
            chip.setChecked(chip.span is span)
            chip.blockSignals(False)

    def _on_toggled(self, chip: WordChip, on: bool) -> None:
        if on:
            for other in self.chips:
                if other is not chip and other.isChecked():
                    other.blockSignals(True)
                    other.setChecked(False)
                    other.blockSignals(False)
        self.word_selected.emit(chip.span if on else None)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if theme.scheme_changed(self, event):
            self._apply_style()
        super().changeEvent(event)

    def _apply_style(self) -> None:
        pal = theme.app_palette()
        accent = pal.color(pal.ColorRole.Highlight)
        chip_bg = theme.blend(pal.color(pal.ColorRole.Base), accent, 0.12)
        hover_bg = theme.blend(pal.color(pal.ColorRole.Base), accent, 0.25)
        border = theme.blend(pal.color(pal.ColorRole.Base), accent, 0.45)
        size = self.font().pointSizeF() * (1.12 if self._emphasis else 1.0)
        self.setStyleSheet(
            # indent 0: a styled QLabel otherwise gets ~7 px of indent, widening word gaps.
            f"QLabel {{ font-size: {size:.1f}pt; padding: 3px 0px; qproperty-indent: 0; }}"
            f"QToolButton#wordChip {{ font-size: {size:.1f}pt; padding: 2px 7px;"
            f" border: 1px solid {theme.css(border)}; border-radius: 9px;"
            f" background: {theme.css(chip_bg)}; color: palette(text); }}"
            f"QToolButton#wordChip:hover {{ background: {theme.css(hover_bg)}; }}"
            "QToolButton#wordChip:checked { background: palette(highlight);"
            " color: palette(highlighted-text); border-color: palette(highlight); }"
            "QToolButton#wordChip:focus { border: 2px solid palette(highlight); }")


def _tokens(text: str, words: tuple[WordSpan, ...]) -> list[tuple[WordSpan, str]]:
    """Each word with the punctuation that follows it (and any text before the first word)."""
    if not words:
        return [(WordSpan(0, len(text), text), "")] if text.strip() else []
    out = []
    lead = text[:words[0].start].strip()
    if lead:
        out.append((WordSpan(0, words[0].start, lead), ""))
    for i, span in enumerate(words):
        end = words[i + 1].start if i + 1 < len(words) else len(text)
        out.append((span, text[span.end:end].strip()))
    return out
