"""Questions about the current image and the model's answers, as a conversation."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vlm_desktop.core.engine.types import Answer, WordSpan
from vlm_desktop.ui import theme
from vlm_desktop.ui.caption_panel import ConfidenceBar
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.word_chips import WordChips

MAX_HISTORY = 50
ASK_TIP = QT_TRANSLATE_NOOP("ChatPanel",
                            "Type a question and press Enter. Up recalls earlier questions.")
# Short enough to read whole in the narrowest centre column; ASK_TIP says the rest.
ASK_PLACEHOLDER = QT_TRANSLATE_NOOP("ChatPanel", "Ask about the image…")


def offers_where(answer: Answer) -> bool:
    """Whether an answer gets a "Show where" button: only when its map locates something.

    Not for a refusal or an answer shown as 0 % (it looked at nothing), nor for a flat map
    ("No, I don't see a spoon", "I can't tell": nothing was found), nor when a word of the
    answer already carries that map (clicking the word shows it)."""
    heat = answer.heatmap
    if heat is None or round(answer.confidence * 100) < 1:
        return False
    if float(heat.values.max()) <= float(heat.values.min()):
        return False
    return all(w.heatmap is not heat for w in answer.words)


class QuestionEdit(QLineEdit):
    """A line edit where Up and Down walk through the questions asked before."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[str] = []
        self._index = 0  # == len(history) means "the line being typed"
        self._draft = ""

    def remember(self, question: str) -> None:
        if not self.history or self.history[-1] != question:
            self.history.append(question)
            del self.history[:-MAX_HISTORY]
        self._index = len(self.history)
        self._draft = ""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Up and self.history:
            if self._index == len(self.history):
                self._draft = self.text()
            self._index = max(0, self._index - 1)
            self.setText(self.history[self._index])
        elif event.key() == Qt.Key.Key_Down and self._index < len(self.history):
            self._index += 1
            past_end = self._index == len(self.history)
            self.setText(self._draft if past_end else self.history[self._index])
        else:
            super().keyPressEvent(event)


class ChatEntry(QFrame):
    """One question and its answer (or self.tr("Thinking…"), an error, or "Cancelled")."""

    word_selected = Signal(object)  # WordSpan | None

    def __init__(self, question: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatEntry")
        self.question = question
        self.answer: Answer | None = None
        self.partial_text = ""
        self.chips: WordChips | None = None
        self._where: QPushButton | None = None
        self._where_span: WordSpan | None = None
        self._confidence: ConfidenceBar | None = None
        self.setAccessibleName(self.tr("Question: {text}").format(text=question))
        q = QLabel(question)
        q.setObjectName("question")
        q.setWordWrap(True)
        q.setAccessibleName(self.tr("Question"))
        q.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = q.font()
        font.setBold(True)
        q.setFont(font)
        self.status = QLabel(self.tr("Thinking…"))
        self.status.setAccessibleName(self.tr("Answer status"))
        self.status.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self._layout.setSpacing(4)
        self._layout.addWidget(q)
        self._layout.addWidget(self.status)
        self._muted = theme.css(theme.muted_text(theme.app_palette()))
        self.status.setStyleSheet(f"color: {self._muted};")

    @property
    def text(self) -> str:
        return self.answer.text if self.answer is not None else self.status.text()

    def set_answer(self, answer: Answer) -> None:
        self.answer = answer
        self.status.hide()
        words = answer.words
        self.chips = WordChips(answer.text, words, self)
        self.chips.word_selected.connect(self.word_selected)
        self._layout.addWidget(self.chips)
        # Confidence and "Show where" share a line when the card is wide enough to keep the
        # confidence on one line; in a narrow column the button goes under it.
        row = self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        row.setSpacing(8)
        conf = self._confidence = ConfidenceBar()
        conf.set_confidence(answer.confidence)
        conf.label.setStyleSheet(f"color: {self._muted};")
        row.addWidget(conf, 1)
        if offers_where(answer):
            where = QPushButton(self.tr("Show where"))
            where.setCheckable(True)
            where.setToolTip(self.tr("Show where the model looked to answer this question"))
            where.setAccessibleName(self.tr("Show where the model looked"))
            span = WordSpan(0, len(answer.text), "answer", answer.heatmap)
            where.toggled.connect(lambda on: self.word_selected.emit(span if on else None))
            self._where, self._where_span = where, span
            row.addWidget(where, 0, Qt.AlignmentFlag.AlignLeft)
        self._layout.addLayout(row)
        self._fit_row(self.width())
        if answer.evidence:
            ev = QLabel(self.tr("Evidence: {text}").format(text=answer.evidence))
            ev.setWordWrap(True)  # the card grows to fit it (the conversation scrolls)
            ev.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            ev.setAccessibleName(self.tr("Evidence"))
            ev.setToolTip(self.tr("What the model based the answer on"))
            ev.setStyleSheet(f"color: {self._muted};")
            self._layout.addWidget(ev)

    def _fit_row(self, width: int) -> None:
        if self._where is None or self._confidence is None:
            return
        conf = self._confidence
        margins = self._layout.contentsMargins()
        one_line = (conf.bar.minimumWidth() + conf.layout().spacing() + 4
                    + conf.label.fontMetrics().horizontalAdvance(conf.label.text())
                    + self._row.spacing() + self._where.sizeHint().width()
                    + margins.left() + margins.right())
        direction = QBoxLayout.Direction.LeftToRight if width >= one_line \
            else QBoxLayout.Direction.TopToBottom
        if direction != self._row.direction():
            self._row.setDirection(direction)
            self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        self._fit_row(event.size().width())
        super().resizeEvent(event)

    def set_partial(self, text: str) -> None:
        """The answer streamed so far; `set_answer` replaces it."""
        if self.answer is None:
            self.partial_text = text
            self.status.setText(f"{text}…")
            self.status.setStyleSheet("")  # the answer's own colour, no longer "Thinking…"

    def set_failed(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {theme.css(theme.ERROR_HUE)};")

    def select(self, span: WordSpan | None) -> None:
        if self.chips is not None:
            self.chips.select(span)
        if self._where is not None:
            self._where.blockSignals(True)
            self._where.setChecked(span is not None and span is self._where_span)
            self._where.blockSignals(False)


class ChatPanel(QFrame):
    """The conversation for the current image and the question box under it."""

    question_asked = Signal(str)
    word_selected = Signal(object)  # WordSpan | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Questions and answers"))
        self.entries: list[ChatEntry] = []
        title = QLabel(self.tr("Questions"))
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.hint = QLabel(self.tr(
            "Ask about the image, for example: “What is this?”, “What colour is it?”, "
            "“Is there a cat?”, “Where is the cup?”, “How many birds?”"))
        self.hint.setWordWrap(True)
        self.hint.setAccessibleName(self.tr("Question hint"))
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName(self.tr("Why questions are unavailable"))
        self.notice.setToolTip(self.tr("The active model decides what the window can do"))
        self.notice.hide()

        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(8)
        self._list_layout.addWidget(self.hint)
        self._list_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self._list)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setAccessibleName(self.tr("Conversation"))
        self.scroll.setToolTip(self.tr("The conversation about the current image"))

        self.edit = QuestionEdit()
        self.edit.setPlaceholderText(translate("ChatPanel", ASK_PLACEHOLDER))
        self.edit.setAccessibleName(self.tr("Question"))
        self.edit.setToolTip(translate("ChatPanel", ASK_TIP))
        self.edit.setClearButtonEnabled(True)
        for button in self.edit.findChildren(QToolButton):  # Qt's own clear button
            button.setAccessibleName(self.tr("Clear question"))
            button.setToolTip(self.tr("Clear the question"))
        self.edit.returnPressed.connect(self.ask)
        self.ask_button = QPushButton(self.tr("&Ask"))
        self.ask_button.setAccessibleName(self.tr("Ask"))
        self.ask_button.setToolTip(self.tr("Ask the question (Enter)"))
        self.ask_button.clicked.connect(self.ask)
        self.edit.textChanged.connect(self._update_button)

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.edit, 1)
        row.addWidget(self.ask_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.notice)
        layout.addLayout(row)
        self._enabled = True
        self._apply_colours()
        self._update_button()

    def set_input_enabled(self, enabled: bool, reason: str = "", notice: bool = False,
                          placeholder: str = "") -> None:
        """Allow or refuse questions; `reason` shows as the placeholder when refused.

        With `notice`, the reason also shows in full above the box (a placeholder is cut
        short in a narrow panel), e.g. when the active model cannot answer at all, or what
        can still be asked when only some questions can (then with `placeholder`).
        """
        self._enabled = enabled
        shown_notice = notice and bool(reason)
        self.notice.setText(reason if shown_notice else "")
        self.notice.setVisible(shown_notice)
        self.hint.setVisible(not shown_notice and not self.entries)  # no example questions then
        refused = reason.split(" — ")[0] if shown_notice else reason
        ask = placeholder or translate("ChatPanel", ASK_PLACEHOLDER)
        self.edit.setPlaceholderText(ask if enabled else refused)
        self.edit.setEnabled(enabled)
        self.edit.setToolTip(translate("ChatPanel", ASK_TIP) if enabled else reason)
        self.ask_button.setToolTip(self.tr("Ask the question (Enter)") if enabled else reason)
        self._update_button()

    def ask(self) -> None:
        question = self.edit.text().strip()
        if not question or not self._enabled:
            return
        self.edit.remember(question)
        self.edit.clear()
        self.question_asked.emit(question)

    def add_question(self, question: str) -> ChatEntry:
        """Append a question awaiting its answer and scroll to it."""
        self.hint.hide()
        entry = ChatEntry(question, self._list)
        entry.word_selected.connect(self.word_selected)
        self._list_layout.insertWidget(self._list_layout.count() - 1, entry)
        self.entries.append(entry)
        self._apply_entry_style(entry)
        QTimer.singleShot(0, self._scroll_to_end)
        return entry

    def clear(self) -> None:
        """Forget the conversation (a new image starts a new one)."""
        for entry in self.entries:
            entry.setParent(None)
            entry.deleteLater()
        self.entries.clear()
        self.hint.show()

    def select(self, span: WordSpan | None) -> None:
        for entry in self.entries:
            entry.select(span)

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _update_button(self) -> None:
        self.ask_button.setEnabled(self._enabled and bool(self.edit.text().strip()))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if theme.scheme_changed(self, event):
            self._apply_colours()
        super().changeEvent(event)

    def _apply_colours(self) -> None:
        self.hint.setStyleSheet(f"color: {theme.css(theme.muted_text(theme.app_palette()))};")
        for entry in self.entries:
            self._apply_entry_style(entry)

    def _apply_entry_style(self, entry: ChatEntry) -> None:
        pal = theme.app_palette()
        bg = theme.blend(pal.color(pal.ColorRole.Window), pal.color(pal.ColorRole.Base), 0.7)
        border = theme.blend(pal.color(pal.ColorRole.Window), pal.color(pal.ColorRole.Mid), 0.6)
        entry.setStyleSheet(f"#chatEntry {{ background: {theme.css(bg)};"
                            f" border: 1px solid {theme.css(border)}; border-radius: 6px; }}")
