"""The open catalog's work on the model's thread: `CatalogSession` methods run as jobs.

Every catalog request that needs vectors runs on the worker's EMBED model (which may differ
from the model that captions), so vectors, searches and "why similar" maps all come from
one model. Work that needs no model (keyword search with no catalog model) runs off the
model's thread and never waits for one.

`CatalogJobs` only schedules: searches are interactive (a newer search supersedes the
older one), indexing is a chain of BATCH requests of one batch each, so a caption or a
question asked meanwhile runs between two batches. The catalog's rules live in
`core.catalog.session`.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from PIL import Image
from PySide6.QtCore import QObject, Signal

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.catalog.indexer import IndexProgress
from vlm_desktop.core.catalog.lock import CatalogBusy
from vlm_desktop.core.catalog.search import SearchFilters
from vlm_desktop.core.catalog.session import (  # noqa: F401 - result types re-exported
    CatalogSession,
    Recommendations,
    SimilarItems,
    WhySimilar,
)
from vlm_desktop.core.catalog.store import CatalogItem, CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.workers.errors import register_user_error
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient, Priority, Request
from vlm_desktop.workers.jobs import Job, run_off_thread

log = logging.getLogger(__name__)
# Another process indexing this catalog (the indexer holds its lock) is news for the panel.
register_user_error(CatalogBusy)

# Indexing batches are sized from the measured rate to take about this long: a question
# asked meanwhile waits at most one batch (the worker runs requests one at a time).
BATCH_SECONDS = 0.75
MIN_BATCH, MAX_BATCH = 1, 32


class CatalogJobs(QObject):
    """One open catalog's jobs. Signals arrive on the GUI thread."""

    index_progress = Signal(object)  # IndexProgress
    index_state = Signal(str)  # "running" | "paused" | "finished" | "cancelled" | "failed"
    job_result = Signal(str, object)  # job name, result
    job_failed = Signal(str, str)  # job name, message

    def __init__(self, client: InferenceClient, store: CatalogStore,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.client = client
        self.store = store
        self.session = CatalogSession(store)  # batch size follows the measured rate
        self._named: dict[str, Job] = {}  # the live job of each name: a newer one supersedes
        self._index_job: Optional[Job] = None
        self._indexing = False
        self._paused = False

    @property
    def model_ready(self) -> bool:
        """Whether the catalog's model is loaded (else only keyword search works)."""
        return self.client.has_engine(EMBED)

    # --- searches and other interactive jobs ----------------------------------------------

    def run(self, name: str, fn: Callable[[CatalogSession, Engine, JobState], object]) -> Job:
        """Run fn(session, engine, state) with the catalog's model; the result comes as
        job_result(name, …). Jobs with the same name supersede each other. `fn` gets the
        engine as this catalog embeds with it (its adapted model, if any)."""
        from vlm_desktop.core.catalog.adapt_store import bind_engine

        session = self.session
        job = self.client.submit(Request(
            f"catalog {name}", lambda e, s: fn(session, bind_engine(session.store, e), s),
            Priority.INTERACTIVE, role=EMBED))
        return self._follow(name, job)

    def run_free(self, name: str, fn: Callable[[CatalogSession], object]) -> Job:
        """Run fn(session) off the GUI thread without any model (see `run`)."""
        session = self.session
        return self._follow(name, run_off_thread(lambda _state: fn(session), f"catalog {name}"))

    def _follow(self, name: str, job: Job) -> Job:
        older = self._named.get(name)
        if older is not None:
            older.cancel()
        self._named[name] = job
        job.result.connect(lambda value: self.job_result.emit(name, value))
        job.failed.connect(lambda message, _details: self.job_failed.emit(name, message))
        job.finished.connect(lambda: self._named.pop(name) if self._named.get(name) is job
                             else None)
        return job

    def similar_to_image(self, image: Image.Image, k: int, filters: SearchFilters) -> Job:
        return self.run("similar", lambda c, e, s: c.similar_to_image(e, image, k, filters))

    def more_like_this(self, item_id: int, k: int, filters: SearchFilters) -> Job:
        return self.run("similar", lambda c, e, s: c.more_like_this(e, item_id, k, filters))

    def text_search(self, text: str, mode: str, k: int, filters: SearchFilters) -> Job:
        """Search by text; with no catalog model loaded, by keywords off the model's thread
        (model-free work never waits for a model)."""
        if not self.model_ready:
            return self.run_free("similar", lambda c: c.text_search(None, text, mode, k,
                                                                    filters))
        return self.run("similar", lambda c, e, s: c.text_search(e, text, mode, k, filters))

    def recommendations(self, k: int) -> Job:
        return self.run("recommend", lambda c, e, s: c.recommendations(e, k))

    def why_similar(self, image: Image.Image, item: CatalogItem) -> Job:
        """Heat maps of what `image` and `item` share; job_result("why", WhySimilar)."""
        return self.run("why", lambda c, e, s: c.why_similar(e, image, item))

    def answer_request(self, image: Image.Image, question: str) -> Request:
        """A worker request answering a catalog question about `image` (an `Answer`)."""
        from vlm_desktop.core.catalog.adapt_store import bind_engine

        session = self.session
        return Request("answer", lambda e, s: session.answer(bind_engine(session.store, e), s,
                                                             image, question), role=EMBED)

    def mark_bought(self, item_id: int) -> None:
        """Record a purchase now (a small SQLite write; safe on the GUI thread)."""
        self.session.mark_bought(item_id)

    def clear_history(self) -> int:
        """Forget the purchase history now (a small SQLite write, like `mark_bought`)."""
        return self.session.clear_history()

    # --- indexing -------------------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        return self._indexing

    def start_indexing(self) -> None:
        """Index everything pending, one BATCH request per batch."""
        if self._indexing and not self._paused:
            return
        self._indexing, self._paused = True, False
        self.index_state.emit("running")
        self._submit_batch()

    def pause_indexing(self) -> None:
        if self._indexing and not self._paused:
            self._paused = True  # the running batch finishes; no next one is queued
            self.index_state.emit("paused")

    def resume_indexing(self) -> None:
        if self._indexing and self._paused:
            self._paused = False
            self.index_state.emit("running")
            if self._index_job is None:
                self._submit_batch()

    def cancel_indexing(self) -> None:
        if not self._indexing:
            return
        self._indexing = self._paused = False
        if self._index_job is not None:
            self._index_job.cancel()
        self.index_state.emit("cancelled")

    def _submit_batch(self) -> None:
        session = self.session
        job = self.client.submit(Request("catalog index", session.index_batch,
                                         Priority.BATCH, role=EMBED))
        self._index_job = job
        job.result.connect(self._on_batch)
        job.failed.connect(self._on_batch_failed)
        job.cancelled.connect(lambda: self._batch_over(job))

    def _batch_over(self, job: Job) -> bool:
        """Whether `job` was the running batch (it no longer is)."""
        if self._index_job is not job:
            return False
        self._index_job = None
        return True

    def _on_batch(self, value: Optional[IndexProgress]) -> None:
        self._index_job = None
        if value is None:
            self._indexing = False
            self.index_state.emit("finished")
            return
        if value.rate > 0:
            size = round(value.rate * BATCH_SECONDS)
            self.session.indexer.batch_size = max(MIN_BATCH, min(MAX_BATCH, size))
        self.index_progress.emit(value)
        if self._indexing and not self._paused:
            self._submit_batch()

    def _on_batch_failed(self, message: str, _details: str) -> None:
        self._index_job = None
        self._indexing = False
        self.index_state.emit("failed")
        self.job_failed.emit("index", message)

    def close(self) -> None:
        """Stop indexing, the decode threads and any background build of a search graph
        (call before the client shuts down)."""
        self.cancel_indexing()
        for job in list(self._named.values()):
            job.cancel()
        self.session.close()
