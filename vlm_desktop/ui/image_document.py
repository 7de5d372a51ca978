"""The image being looked at and what was said about it, apart from any widget.

`ImageDocument` holds the current image, its caption job, the conversation about it and
the heat map chosen to lay over it. It starts the model work (a `Job` per caption and per
answer) and tells listeners what changed; the window and its panels only listen and show.
A new image ends everything about the old one: its caption and answers are cancelled and
nothing they still send is shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from PIL import Image
from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal

from vlm_desktop.core.engine.types import Answer, Caption, HeatMap, WordSpan
from vlm_desktop.workers.inference_worker import InferenceClient, Request
from vlm_desktop.workers.jobs import Job

CANCELLED_CAPTION = QT_TRANSLATE_NOOP("ImageDocument",
                                      "Captioning was cancelled. Press F5 to caption again.")


@dataclass
class Turn:
    """One question of the conversation and, once it came, its answer."""

    question: str
    answer: Optional[Answer] = None
    failed: str = ""  # why there is no answer ("Cancelled.", an error, a refusal)


class ImageDocument(QObject):
    """The current image, its caption, the conversation about it and the selected map."""

    image_changed = Signal()  # a new image: the caption, conversation and map start afresh
    caption_started = Signal()
    caption_partial = Signal(str)  # streamed text so far; the final caption replaces it
    caption_ready = Signal(object, float)  # Caption, ms from request to result
    caption_failed = Signal(str, str)  # message, details
    caption_cancelled = Signal()
    question_added = Signal(int, str)  # turn index, question
    answer_partial = Signal(int, str)
    answer_ready = Signal(int, object, float)  # turn index, Answer, ms from request to result
    answer_failed = Signal(int, str, str)  # turn index, message, details ("" if cancelled)
    selection_changed = Signal(object)  # WordSpan | None: the map laid over the image
    work_changed = Signal()  # a caption or an answer started or ended

    def __init__(self, client: InferenceClient, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.image: Optional[Image.Image] = None
        self.label = ""
        self.turns: list[Turn] = []
        self.selected: Optional[WordSpan] = None
        self.similarity_map: Optional[HeatMap] = None  # the catalog's "why similar" map
        self._caption_job: Optional[Job] = None
        self._answers: dict[Job, int] = {}  # questions still being answered → turn index

    # --- state -----------------------------------------------------------------------------

    @property
    def heatmap(self) -> Optional[HeatMap]:
        return self.selected.heatmap if self.selected is not None else None

    @property
    def captioning(self) -> bool:
        return self._caption_job is not None

    @property
    def caption_id(self) -> Optional[int]:
        """The request id of the caption being made, if one is."""
        return self._caption_job.id if self._caption_job is not None else None

    @property
    def answering(self) -> bool:
        return bool(self._answers)

    def set_image(self, image: Image.Image, label: str) -> None:
        """Make `image` the current one; work about the previous image is cancelled."""
        self.cancel()
        self._answers.clear()  # their turns go with the old conversation
        self.image, self.label = image, label
        self.turns = []
        self.image_changed.emit()
        self.select(None)  # the old image's map
        self.work_changed.emit()

    # --- the heat map laid over the image --------------------------------------------------

    def select(self, span: Optional[WordSpan]) -> None:
        """Lay `span`'s map over the image (None: no map)."""
        self.selected = span
        self.selection_changed.emit(span)

    def show_similarity(self, heatmap: Optional[HeatMap]) -> None:
        """The catalog's "Why similar?" map over the image, shown like a word's."""
        if heatmap is None and self.heatmap is not self.similarity_map:
            return  # a word's map replaced it meanwhile: leave that one up
        self.similarity_map = heatmap
        self.select(WordSpan(0, 0, self.tr("like {label}").format(label=heatmap.label), heatmap)
                    if heatmap is not None else None)

    # --- caption ---------------------------------------------------------------------------

    def caption(self) -> Optional[Job]:
        """Caption the current image with the main model (supersedes a caption running)."""
        image = self.image
        if image is None:
            return None
        job = self.client.submit(Request("caption",
                                         lambda engine, state: engine.caption(image, state),
                                         topic="caption"))
        self._caption_job = job
        started = time.perf_counter()
        job.partial.connect(lambda text: self._caption_partial(job, text))
        job.result.connect(lambda caption: self._caption_done(job, caption, started))
        job.failed.connect(lambda message, details: self._caption_failed(job, message, details))
        job.cancelled.connect(lambda: self._caption_cancelled(job))
        job.finished.connect(lambda: self._caption_finished(job))
        self.caption_started.emit()
        self.work_changed.emit()
        return job

    def _caption_is(self, job: Job) -> bool:
        """Whether `job` is the caption of this image still wanted (not superseded)."""
        return self._caption_job is job

    def _caption_partial(self, job: Job, text: object) -> None:
        if self._caption_is(job) and isinstance(text, str):
            self.caption_partial.emit(text)

    def _caption_failed(self, job: Job, message: str, details: str) -> None:
        if self._caption_is(job):
            self.caption_failed.emit(message, details)

    def _caption_cancelled(self, job: Job) -> None:
        if self._caption_is(job):
            self.caption_cancelled.emit()

    def _caption_done(self, job: Job, caption: Caption, started: float) -> None:
        if self._caption_is(job):
            self.caption_ready.emit(caption, (time.perf_counter() - started) * 1000)

    def _caption_finished(self, job: Job) -> None:
        if self._caption_is(job):
            self._caption_job = None
        self.work_changed.emit()

    # --- questions -------------------------------------------------------------------------

    def ask(self, question: str, request: Optional[Request] = None) -> Optional[Job]:
        """Ask `question` about the image: `request` (a catalog question) or the model."""
        image = self.image
        if image is None:
            return None
        index = self._add_turn(question)
        job = self.client.submit(request or Request(
            "answer", lambda engine, state: engine.answer(image, question, state)))
        self._answers[job] = index
        started = time.perf_counter()
        job.partial.connect(lambda text: self._answer_partial(job, text))
        job.result.connect(lambda answer: self._answered(job, answer, started))
        job.failed.connect(lambda message, details: self._not_answered(job, message, details))
        job.cancelled.connect(lambda: self._not_answered(job, self.tr("Cancelled."), ""))
        job.finished.connect(lambda: self._answer_finished(job))
        self.work_changed.emit()
        return job

    def refuse(self, question: str, reason: str) -> None:
        """Put `question` in the conversation with `reason` instead of an answer."""
        index = self._add_turn(question)
        self.turns[index].failed = reason
        self.answer_failed.emit(index, reason, "")

    def _add_turn(self, question: str) -> int:
        self.turns.append(Turn(question))
        index = len(self.turns) - 1
        self.question_added.emit(index, question)
        return index

    def _answer_partial(self, job: Job, text: object) -> None:
        index = self._answers.get(job)
        if index is not None and isinstance(text, str):
            self.answer_partial.emit(index, text)

    def _answered(self, job: Job, answer: Answer, started: float) -> None:
        index = self._answers.get(job)
        if index is not None:
            self.turns[index].answer = answer
            self.answer_ready.emit(index, answer, (time.perf_counter() - started) * 1000)

    def _not_answered(self, job: Job, message: str, details: str) -> None:
        index = self._answers.get(job)
        if index is not None:
            self.turns[index].failed = message
            self.answer_failed.emit(index, message, details)

    def _answer_finished(self, job: Job) -> None:
        self._answers.pop(job, None)
        self.work_changed.emit()

    # --- cancelling ------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Cancel the caption and the answers under way; False when there were none."""
        jobs = list(self._answers) + ([self._caption_job] if self._caption_job else [])
        for job in jobs:
            job.cancel()
        return bool(jobs)
