"""The long-lived inference worker: one QThread owns the engine, the GUI talks to it by signals.

`InferenceClient` lives on the GUI thread; `InferenceWorker` lives on its own QThread and runs
a loop over a priority queue, so interactive requests overtake queued batch work. The worker
only runs the callables it is given: no model logic lives here.

Ordering guarantee: every request id gets exactly one `finished`, always last. Whether a
request was cancelled is decided on the GUI thread, so a result that was already on its way
when `cancel` was called is still dropped, never emitted.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vlm_desktop.core.cancel import Cancelled, CancelToken, JobState
from vlm_desktop.core.device import DeviceChoice, choose_device
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.workers import threads
from vlm_desktop.workers.errors import (  # noqa: F401 - GPU_OOM_MESSAGE, register_user_error re-exported
    GPU_OOM_MESSAGE,
    describe_error,
    is_gpu_oom,
    register_user_error,
    user_error_types,
)

log = logging.getLogger("vlm_desktop.worker")

NO_MODEL_MESSAGE = "No model is loaded."


class Priority(enum.IntEnum):
    """Lower runs first; ties run in submission order."""

    INTERACTIVE = 0  # caption, answer, relevance, search: always run before batch work
    BATCH = 10  # catalog indexing batches, re-indexing


_LOAD_PRIORITY = -1  # a model switch goes ahead of everything queued for the model

# The worker holds up to two models: MAIN captions and answers; EMBED makes the catalog's
# vectors. When both name the same model on the same device they share one instance.
MAIN, EMBED = "main", "embed"
NO_EMBEDDER_MESSAGE = "No embedding model is loaded for the catalog."

# Threads whose shutdown timed out, kept referenced so Python never destroys them running.
_STILL_RUNNING: list[tuple[QThread, QObject]] = []


@dataclass(frozen=True)
class Request:
    """A snapshot of one piece of work; `fn` runs on the worker thread with the engine."""

    kind: str
    fn: Callable[[Engine, JobState], object]
    priority: Priority = Priority.INTERACTIVE
    topic: Optional[str] = None  # a newer request with the same topic supersedes this one
    role: str = MAIN  # which loaded model `fn` gets: MAIN or EMBED


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _EngineLoad:
    factory: Callable[[DeviceChoice], Engine]
    device: str
    name: str
    slot: str = MAIN


@dataclass(frozen=True)
class _Loaded:
    key: Optional[tuple[str, str, str]]  # (name, device, dtype); None never shares
    engine: Engine
    info: object  # ModelInfo
    choice: DeviceChoice


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    request_id: int = field(compare=False)
    kind: str = field(compare=False)
    token: CancelToken = field(compare=False)
    fn: Optional[Callable[[Engine, JobState], object]] = field(compare=False, default=None)
    load: Optional[_EngineLoad] = field(compare=False, default=None)
    role: str = field(compare=False, default=MAIN)


class _JobQueue:
    """A thread-safe heap ordered by (priority, sequence); `get` blocks until work or close."""

    def __init__(self) -> None:
        self._heap: list[_Job] = []
        self._cond = threading.Condition()
        self._closed = False

    def put(self, job: _Job) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the inference worker has been shut down")
            heapq.heappush(self._heap, job)
            self._cond.notify()

    def get(self) -> Optional[_Job]:
        """The next job, or None once the queue is closed."""
        with self._cond:
            while not self._heap and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            return heapq.heappop(self._heap)

    def remove(self, request_id: int) -> bool:
        """Take a pending request out; False if it is not pending (running or done)."""
        with self._cond:
            kept = [j for j in self._heap if j.request_id != request_id or j.load is not None]
            if len(kept) == len(self._heap):
                return False
            self._heap = kept
            heapq.heapify(self._heap)
            return True

    def close(self) -> list[_Job]:
        """Stop handing out work; returns the jobs that were still pending."""
        with self._cond:
            self._closed = True
            pending, self._heap = self._heap, []
            self._cond.notify_all()
            return pending


# --- the worker (lives on its own thread) ---------------------------------------------------

_RESULT, _ERROR, _CANCELLED = "result", "error", "cancelled"


class InferenceWorker(QObject):
    """Owns the models and runs queued jobs on its thread; reports raw outcomes by signal."""

    job_started = Signal(int)
    job_progress = Signal(int, float, str)
    job_partial = Signal(int, object)
    job_done = Signal(int, str, object)  # id, outcome, result value or (message, details)
    gpu_out_of_memory = Signal()
    engine_loading = Signal(str, str)  # slot, name
    engine_ready = Signal(str, object, object)  # slot, ModelInfo, DeviceChoice
    engine_failed = Signal(str, str, str)  # slot, message, details

    def __init__(self, queue: _JobQueue) -> None:
        super().__init__()
        self._queue = queue
        self._slots: dict[str, _Loaded] = {}

    @property
    def engine(self) -> Optional[Engine]:
        return self.engine_for(MAIN)

    def engine_for(self, slot: str) -> Optional[Engine]:
        loaded = self._slots.get(slot)
        return loaded.engine if loaded is not None else None

    @Slot()
    def run(self) -> None:
        """The thread's loop: runs until the queue is closed, then frees the models here."""
        while (job := self._queue.get()) is not None:
            if job.load is not None:
                self._load(job.load)
            else:
                self._run_request(job)
        for slot in list(self._slots):
            self._release(slot)

    def _load(self, spec: _EngineLoad) -> None:
        slot = spec.slot
        self.engine_loading.emit(slot, spec.name or "model")
        started = time.perf_counter()
        engine: Optional[Engine] = None
        try:
            choice = choose_device(spec.device)
            key = (spec.name, choice.device, choice.dtype) if spec.name else None
            current = self._slots.get(slot)
            if key is not None and current is not None and current.key == key:
                self.engine_ready.emit(slot, current.info, current.choice)  # already loaded
                return
            self._release(slot)  # free the old model's memory before the new one loads
            shared = next((v for v in self._slots.values() if key is not None and v.key == key),
                          None)
            if shared is not None:
                self._slots[slot] = shared
                self.engine_ready.emit(slot, shared.info, shared.choice)
                return
            engine = spec.factory(choice)
            info = engine.info()
        except Exception as exc:
            message, details = describe_error(exc, "model loading")
            if not isinstance(exc, user_error_types()) and not is_gpu_oom(exc):
                message = f"Could not load the model: {exc}"
            if engine is not None:
                self._safe_close(engine)
            self.engine_failed.emit(slot, message, details)
            if is_gpu_oom(exc):
                self.gpu_out_of_memory.emit()
            return
        self._slots[slot] = _Loaded(key, engine, info, choice)
        log.info("loaded %s as %s model on %s in %.0f ms (%s)", info.name, slot, choice.device,
                 (time.perf_counter() - started) * 1000, choice.reason)
        self.engine_ready.emit(slot, info, choice)

    def _run_request(self, job: _Job) -> None:
        rid = job.request_id
        if job.token.cancelled:
            self.job_done.emit(rid, _CANCELLED, None)
            return
        engine = self.engine_for(job.role)
        if engine is None or job.fn is None:
            message = NO_EMBEDDER_MESSAGE if job.role == EMBED else NO_MODEL_MESSAGE
            self.job_done.emit(rid, _ERROR, (message, f"{job.kind}: no {job.role} engine"))
            return
        state = JobState(
            job.token,
            on_progress=lambda fraction, message: self.job_progress.emit(rid, fraction, message),
            on_partial=lambda value: self.job_partial.emit(rid, value),
        )
        self.job_started.emit(rid)
        started = time.perf_counter()
        oom = False
        try:
            value = job.fn(engine, state)
        except Cancelled:
            outcome, payload = _CANCELLED, None
        except Exception as exc:
            outcome, payload = _ERROR, describe_error(exc, job.kind)
            oom = is_gpu_oom(exc)
        else:
            outcome, payload = (_CANCELLED, None) if job.token.cancelled else (_RESULT, value)
        log.debug("%s #%d %s in %.1f ms", job.kind, rid, outcome,
                  (time.perf_counter() - started) * 1000)
        self.job_done.emit(rid, outcome, payload)
        if oom:  # after the error, so the window's offer of the CPU is what stays shown
            self.gpu_out_of_memory.emit()

    def _release(self, slot: str) -> None:
        """Empty `slot`; its model is closed unless the other slot shares it."""
        loaded = self._slots.pop(slot, None)
        if loaded is not None and all(v.engine is not loaded.engine
                                      for v in self._slots.values()):
            self._safe_close(loaded.engine)

    @staticmethod
    def _safe_close(engine: Engine) -> None:
        try:
            engine.close()
        except Exception:  # closing must not stop a model switch or shutdown; keep the trace
            log.exception("closing the engine failed")


# --- the GUI-thread facade ------------------------------------------------------------------


@dataclass
class _Live:
    kind: str
    token: CancelToken
    topic: Optional[str]


class InferenceClient(QObject):
    """GUI-thread facade. Owns one QThread and the InferenceWorker living on it.

    All signals arrive on the GUI thread. Every request id gets exactly one `finished` and
    it is always the last signal for that id. The owner must call `shutdown()` before exit.
    """

    started = Signal(int)
    progress = Signal(int, float, str)
    partial = Signal(int, object)
    result = Signal(int, object)
    error = Signal(int, str, str)
    cancelled = Signal(int)
    finished = Signal(int)
    engine_loading = Signal(str)
    engine_ready = Signal(object, object)
    engine_failed = Signal(str, str)
    # The same three for the catalog's embedding model (the EMBED slot).
    embedder_loading = Signal(str)
    embedder_ready = Signal(object, object)
    embedder_failed = Signal(str, str)
    # A request or a model load ran out of GPU memory (after its error signal): offer the CPU.
    gpu_out_of_memory = Signal()
    busy_changed = Signal(bool)

    _cancel_later = Signal(int)  # pending requests taken off the queue finish on the next turn

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._queue = _JobQueue()
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._live: dict[int, _Live] = {}
        self._dropped: set[int] = set()  # cancelled or superseded: no result will be emitted
        self._topics: dict[str, int] = {}
        self._busy = False
        self._stopped = False

        # No Qt parent: the thread's lifetime is ended by shutdown(), never by the parent chain.
        self._thread = QThread()
        self._thread.setObjectName("vlm-inference")
        self._worker = InferenceWorker(self._queue)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run, Qt.ConnectionType.DirectConnection)
        self._connect_worker()
        self._cancel_later.connect(self._on_cancel_later, Qt.ConnectionType.QueuedConnection)
        threads.register(self._thread, "inference worker", stop=self.shutdown)
        self._thread.start()

    def _connect_worker(self) -> None:
        w = self._worker
        w.job_started.connect(self._on_started)
        w.job_progress.connect(self._on_progress)
        w.job_partial.connect(self._on_partial)
        w.job_done.connect(self._on_done)
        w.engine_loading.connect(self._on_loading)
        w.engine_ready.connect(self._on_ready)
        w.engine_failed.connect(self._on_failed)
        w.gpu_out_of_memory.connect(self._on_gpu_out_of_memory)

    # --- public API

    def load_engine(
        self, factory: Callable[[DeviceChoice], Engine], device: str = "auto", name: str = "",
        slot: str = MAIN,
    ) -> None:
        """Queue a model (re)load into `slot`: choose_device(device), then factory(choice).

        A named model already in the other slot on the same device is shared, not loaded
        twice; the same model already in `slot` is kept. Ready or failed signals follow.
        """
        self._check_running()
        self._queue.put(_Job(_LOAD_PRIORITY, next(self._seq), 0, "model loading",
                             CancelToken(), load=_EngineLoad(factory, device, name, slot)))

    def submit(self, request: Request) -> int:
        """Queue `request`; returns its id. A same-topic request still live is superseded."""
        self._check_running()
        rid = next(self._ids)
        if request.topic is not None:
            older = self._topics.get(request.topic)
            if older is not None:
                self.cancel(older)
            self._topics[request.topic] = rid
        token = CancelToken()
        self._live[rid] = _Live(request.kind, token, request.topic)
        self._queue.put(_Job(int(request.priority), next(self._seq), rid, request.kind, token,
                             fn=request.fn, role=request.role))
        self._set_busy(True)
        return rid

    def cancel(self, request_id: int) -> None:
        """Cancel a pending or running request; it ends with `cancelled` then `finished`."""
        live = self._live.get(request_id)
        if live is None or request_id in self._dropped:
            return
        self._dropped.add(request_id)
        live.token.cancel()
        if self._queue.remove(request_id):
            self._cancel_later.emit(request_id)
        # Otherwise it is running, or its outcome is already on the way: _on_done ends it.

    def cancel_all(self) -> None:
        for request_id in list(self._live):
            self.cancel(request_id)

    def has_engine(self, slot: str = MAIN) -> bool:
        """Whether a model is loaded in `slot` and requests can still be submitted."""
        return not self._stopped and self._worker.engine_for(slot) is not None

    def is_busy(self) -> bool:
        return self._busy

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, stop the loop, close the engine on its thread and join it.

        Returns whether the thread stopped within `timeout_ms`.
        """
        if not self._stopped:
            self._stopped = True
            self.cancel_all()
            self._queue.close()  # pending model loads are dropped too
            self._thread.quit()  # the loop returns to exec(), which then exits at once
        stopped = bool(self._thread.wait(timeout_ms))
        if not stopped:
            log.warning("the inference thread did not stop within %d ms", timeout_ms)
            # A QThread destroyed while running aborts the process; keep it alive until the
            # job in progress returns (it was cancelled) or the process exits.
            _STILL_RUNNING.append((self._thread, self._worker))
        return stopped

    # --- worker outcomes, on the GUI thread

    def _check_running(self) -> None:
        if self._stopped:
            raise RuntimeError("the inference worker has been shut down")

    def _wanted(self, request_id: int) -> bool:
        return request_id in self._live and request_id not in self._dropped

    # Model events that arrive after shutdown() are dropped: the window has gone, and a
    # slot reacting to them would submit work to a stopped worker.

    @Slot(str, str)
    def _on_loading(self, slot: str, name: str) -> None:
        if not self._stopped:
            (self.embedder_loading if slot == EMBED else self.engine_loading).emit(name)

    @Slot(str, object, object)
    def _on_ready(self, slot: str, info: object, choice: object) -> None:
        if not self._stopped:
            (self.embedder_ready if slot == EMBED else self.engine_ready).emit(info, choice)

    @Slot(str, str, str)
    def _on_failed(self, slot: str, message: str, details: str) -> None:
        if not self._stopped:
            (self.embedder_failed if slot == EMBED else self.engine_failed).emit(message,
                                                                                 details)

    @Slot()
    def _on_gpu_out_of_memory(self) -> None:
        if not self._stopped:
            self.gpu_out_of_memory.emit()

    @Slot(int)
    def _on_started(self, request_id: int) -> None:
        if self._wanted(request_id):
            self.started.emit(request_id)

    @Slot(int, float, str)
    def _on_progress(self, request_id: int, fraction: float, message: str) -> None:
        if self._wanted(request_id):
            self.progress.emit(request_id, fraction, message)

    @Slot(int, object)
    def _on_partial(self, request_id: int, value: object) -> None:
        if self._wanted(request_id):
            self.partial.emit(request_id, value)

    @Slot(int, str, object)
    def _on_done(self, request_id: int, outcome: str, payload: object) -> None:
        if request_id not in self._live:
            return
        if request_id in self._dropped or outcome == _CANCELLED:
            self.cancelled.emit(request_id)
        elif outcome == _ERROR:
            message, details = payload  # type: ignore[misc]
            self.error.emit(request_id, message, details)
        else:
            self.result.emit(request_id, payload)
        self._finish(request_id)

    @Slot(int)
    def _on_cancel_later(self, request_id: int) -> None:
        if request_id in self._live:
            self.cancelled.emit(request_id)
            self._finish(request_id)

    def _finish(self, request_id: int) -> None:
        live = self._live.pop(request_id)
        self._dropped.discard(request_id)
        if live.topic is not None and self._topics.get(live.topic) == request_id:
            del self._topics[live.topic]
        self.finished.emit(request_id)
        self._set_busy(bool(self._live))

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
