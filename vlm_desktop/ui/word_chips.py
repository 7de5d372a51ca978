"""A sentence shown as words; words that carry a heat map are toggle chips."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

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
        self.setAccessibleName(self.tr("Word {text}").format(text=span.text))
        self.setToolTip(
            self.tr("Show where the model looked for “{text}”").format(text=span.text))
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
        for lead, word, tail in _tokens(text, words):
            if word.heatmap is not None:
                chip = WordChip(word, self)
                chip.toggled.connect(lambda on, c=chip: self._on_toggled(c, on))
                self.chips.append(chip)
                layout.addWidget(self._glued(lead, chip, tail) if lead or tail else chip)
            else:
                layout.addWidget(self._label(lead + word.text + tail))
        self._apply_style()

    def _glued(self, lead: str, chip: WordChip, tail: str) -> QWidget:
        """A chip with the punctuation touching it ("(", ".") and no gap between them, so
        "is brown." does not read "is brown ." and "(approximate)" not "( approximate)"."""
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(1)
        if lead:
            row.addWidget(self._label(lead))
        row.addWidget(chip)
        if tail:
            row.addWidget(self._label(tail))
        return box

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


def _tokens(text: str, words: tuple[WordSpan, ...]) -> list[tuple[str, WordSpan, str]]:
    """(punctuation before, word, punctuation after) for each word, as written: the marks
    touching a word stay with it ("(" with the word after it, "." with the word before);
    a mark standing alone between spaces becomes a token of its own."""
    if not words:
        return [("", WordSpan(0, len(text), text), "")] if text.strip() else []
    out: list[tuple[str, WordSpan, str]] = []
    leads = [""] * len(words)
    tails = [""] * len(words)
    alone: dict[int, list[str]] = {}  # marks standing alone before word i (len = after the last)
    for i in range(len(words) + 1):
        start = words[i - 1].end if i else 0
        end = words[i].start if i < len(words) else len(text)
        gap = text[start:end]
        pieces = gap.split()
        if not pieces:
            continue
        if i and not gap[:1].isspace():
            tails[i - 1] = pieces.pop(0)
        if pieces and i < len(words) and not gap[-1:].isspace():
            leads[i] = pieces.pop()
        if pieces:
            alone[i] = pieces
    for i, span in enumerate(words):
        out += [("", WordSpan(span.start, span.start, mark), "") for mark in alone.get(i, [])]
        out.append((leads[i], span, tails[i]))
    out += [("", WordSpan(len(text), len(text), mark), "") for mark in alone.get(len(words), [])]
    return out
