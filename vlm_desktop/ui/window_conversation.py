"""The document's caption and conversation, shown: the caption panel, the chat, the status
bar's timings and the message bar follow `ImageDocument`'s signals (the window only wires
them). Its texts keep the "MainWindow" translation context they were written in."""

from __future__ import annotations

from vlm_desktop.core.engine.types import Answer, Caption
from vlm_desktop.ui.caption_panel import CaptionPanel
from vlm_desktop.ui.chat_panel import ChatPanel
from vlm_desktop.ui.i18n import translate
from vlm_desktop.ui.image_document import CANCELLED_CAPTION, ImageDocument
from vlm_desktop.ui.message_bar import MessageBar
from vlm_desktop.ui.status_bar import StatusBar


def follow_document(document: ImageDocument, caption: CaptionPanel, chat: ChatPanel,
                    status: StatusBar, message_bar: MessageBar) -> None:
    """Connect `document`'s caption and answers to the widgets that show them."""
    def caption_ready(result: Caption, measured_ms: float) -> None:
        caption.show_caption(result)
        status.show_timings("caption", measured_ms, dict(result.timings_ms), result.cached)

    def caption_failed(message: str, details: str) -> None:
        caption.show_status(translate("MainWindow", "The caption failed: {message}").format(
            message=message))
        message_bar.show_error(message, details)

    def answer_ready(index: int, answer: Answer, measured_ms: float) -> None:
        chat.entries[index].set_answer(answer)
        status.show_timings("answer", measured_ms, dict(answer.timings_ms), answer.cached)

    def answer_failed(index: int, message: str, details: str) -> None:
        chat.entries[index].set_failed(message)
        if details:
            message_bar.show_error(message, details)

    d = document
    d.image_changed.connect(chat.clear)
    d.caption_started.connect(lambda: caption.show_status(translate("MainWindow", "Captioning…")))
    d.caption_partial.connect(caption.show_partial)
    d.caption_ready.connect(caption_ready)
    d.caption_failed.connect(caption_failed)
    d.caption_cancelled.connect(lambda: caption.show_status(
        translate("ImageDocument", CANCELLED_CAPTION)))
    d.question_added.connect(lambda _index, question: chat.add_question(question))
    d.answer_partial.connect(lambda index, text: chat.entries[index].set_partial(text))
    d.answer_ready.connect(answer_ready)
    d.answer_failed.connect(answer_failed)
