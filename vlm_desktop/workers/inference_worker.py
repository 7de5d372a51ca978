"""The long-lived inference worker: one QThread owns the models, the GUI gets a `Job` per request.

`InferenceClient` lives on the GUI thread; `InferenceWorker` lives on its own QThread and runs
a loop over a priority queue (`jobs.JobQueue`), so interactive requests overtake queued batch
work. The worker only runs the callables it is given: no model logic lives here.

`submit()` returns the request's `Job`, whose own signals carry its outcome: exactly one
`finished`, always last; a result already on its way when `cancel` was called is dropped
(see `jobs.Job`). Whoever asks for work listens to its job and nothing else; `submitted`
hands each new job to observers of all work (a log, tests), which listen to it the same way.
A model load's outcome arrives on the role it was loaded into: `client.role(MAIN).ready`.
"""

from __future__ import annotations

import enum
import gc
import itertools
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Optional, Union

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.device import DeviceChoice, choose_device
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.core.messages import later, say
from vlm_desktop.core.native import collector_paused, preload_torch_libraries
from vlm_desktop.workers import threads
from vlm_desktop.workers.errors import (  # noqa: F401 - GPU_OOM_MESSAGE, register_user_error re-exported
    GPU_OOM_MESSAGE,
    describe_error,
    is_gpu_oom,
    register_user_error,
    user_error_types,
)
from vlm_desktop.workers.jobs import CANCELLED, FAILED, Job, JobQueue

log = logging.getLogger("vlm_desktop.worker")

NO_MODEL_MESSAGE = later("No model is loaded.")  # a template, said with say()


class Priority(enum.IntEnum):
    """Lower runs first; ties run in submission order."""

    INTERACTIVE = 0  # caption, answer, relevance, search: always run before batch work
    BATCH = 10  # catalog indexing batches, re-indexing


_LOAD_PRIORITY = -1  # a model switch goes ahead of everything queued for the model

# The worker holds up to two models: MAIN captions and answers; EMBED makes the catalog's
# vectors. When both name the same model on the same device they share one instance.
MAIN, EMBED = "main", "embed"
NO_EMBEDDER_MESSAGE = later("No embedding model is loaded for the catalog.")

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


# --- the worker (lives on its own thread) ---------------------------------------------------


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


@dataclass(frozen=True)
class _ModelWork:
    """What the model's queue carries: a request's job, or a model (re)load."""

    job: Optional[Job] = None
    fn: Optional[Callable[[Engine, JobState], object]] = None
    role: str = MAIN
    load: Optional[_EngineLoad] = None


class InferenceWorker(QObject):
    """Owns the models and runs queued jobs on its thread; jobs report their own outcomes."""

    model_loading = Signal(str, str)  # slot, name
    model_ready = Signal(str, object, object)  # slot, ModelInfo, DeviceChoice
    model_failed = Signal(str, str, str)  # slot, message, details
    gpu_out_of_memory = Signal()  # a model load ran out of GPU memory

    def __init__(self, queue: JobQueue[_ModelWork]) -> None:
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
        while (work := self._queue.get()) is not None:
            if work.load is not None:
                self._load(work.load)
            elif work.job is not None:
                self._run_request(work)
            del work  # while the loop waits, the finished job must not be kept alive
        for slot in list(self._slots):
            self._release(slot)

    def _load(self, spec: _EngineLoad) -> None:
        slot = spec.slot
        self.model_loading.emit(slot, spec.name or "model")
        started = time.perf_counter()
        engine: Optional[Engine] = None
        try:
            preload_torch_libraries()  # before torch's import: keeps the window's thread running
            # No GIL-holding full collections during torch's import and the weights' load.
            with collector_paused():
                choice = choose_device(spec.device)
                key = (spec.name, choice.device, choice.dtype) if spec.name else None
                current = self._slots.get(slot)
                if key is not None and current is not None and current.key == key:
                    self.model_ready.emit(slot, current.info, current.choice)  # already loaded
                    return
                del current  # the old model must not outlive its release below
                self._free(slot)  # the old model's memory goes before the new one loads
                shared = next((v for v in self._slots.values()
                               if key is not None and v.key == key), None)
                if shared is not None:
                    self._slots[slot] = shared
                    self.model_ready.emit(slot, shared.info, shared.choice)
                    return
                engine = spec.factory(choice)
                info = engine.info()
        except Exception as exc:
            message, details = describe_error(exc, "model loading")
            if not isinstance(exc, user_error_types()) and not is_gpu_oom(exc):
                message = say("Could not load the model: {error}", error=exc)
            if engine is not None:
                self._safe_close(engine)
            self.model_failed.emit(slot, message, details)
            if is_gpu_oom(exc):
                self.gpu_out_of_memory.emit()
            return
        self._slots[slot] = _Loaded(key, engine, info, choice)
        log.info("loaded %s as %s model on %s in %.0f ms (%s)", info.name, slot, choice.device,
                 (time.perf_counter() - started) * 1000, choice.reason)
        self.model_ready.emit(slot, info, choice)

    def _run_request(self, work: _ModelWork) -> None:
        job, fn = work.job, work.fn
        assert job is not None and fn is not None
        if job.token.cancelled:
            job.report(CANCELLED)
            return
        engine = self.engine_for(work.role)
        if engine is None:
            message = say(NO_EMBEDDER_MESSAGE if work.role == EMBED else NO_MODEL_MESSAGE)
            job.report(FAILED, ((message, f"{job.kind}: no {work.role} engine"), False))
            return
        started = time.perf_counter()
        job.run_here(lambda state: fn(engine, state))
        log.debug("%s ran in %.1f ms", job.kind, (time.perf_counter() - started) * 1000)

    def _free(self, slot: str) -> None:
        """Release `slot`'s model, and collect if anything still holds it: its objects were
        frozen when it loaded (collector_paused), so one kept alive by a reference cycle
        would never be collected. Only then, as a full collection holds the GIL 0.1-0.2 s
        with torch loaded; the built-in and Hugging Face engines measured here all went by
        reference counts."""
        old = self._release(slot)
        if old is not None and old() is not None:
            log.info("the released model is still referenced; collecting garbage")
            gc.unfreeze()
            gc.collect()

    def _release(self, slot: str) -> Optional[weakref.ref]:
        """Empty `slot`; its model is closed unless the other slot shares it. Returns a
        weak reference to the model it closed (None: none was closed)."""
        loaded = self._slots.pop(slot, None)
        if loaded is not None and all(v.engine is not loaded.engine
                                      for v in self._slots.values()):
            self._safe_close(loaded.engine)
            try:
                return weakref.ref(loaded.engine)
            except TypeError:  # an engine type without weak references: collect to be sure
                return lambda: True  # type: ignore[return-value]
        return None

    @staticmethod
    def _safe_close(engine: Engine) -> None:
        try:
            engine.close()
        except Exception:  # closing must not stop a model switch or shutdown; keep the trace
            log.exception("closing the engine failed")


# --- the GUI-thread facade ------------------------------------------------------------------


class RoleSignals(QObject):
    """A model role's load events (the captioning model, the catalog's embedding model)."""

    loading = Signal(str)  # name
    ready = Signal(object, object)  # ModelInfo, DeviceChoice
    failed = Signal(str, str)  # message, details


class InferenceClient(QObject):
    """GUI-thread facade. Owns one QThread and the InferenceWorker living on it.

    `submit()` returns a `Job`; its signals, and the client's, arrive on the GUI thread.
    The owner must call `shutdown()` before exit.
    """

    submitted = Signal(object)  # every new Job, before it can start (see module doc)
    # A request or a model load ran out of GPU memory (after its error signal): offer the CPU.
    gpu_out_of_memory = Signal()
    busy_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._queue: JobQueue[_ModelWork] = JobQueue()
        self._ids = itertools.count(1)
        self._live: dict[int, Job] = {}
        self._topics: dict[str, Job] = {}
        self._busy = False
        self._stopped = False
        self._roles = {MAIN: RoleSignals(self), EMBED: RoleSignals(self)}

        # No Qt parent: the thread's lifetime is ended by shutdown(), never by the parent chain.
        self._thread = QThread()
        self._thread.setObjectName("vlm-inference")
        self._worker = InferenceWorker(self._queue)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run, Qt.ConnectionType.DirectConnection)
        self._connect_worker()
        threads.register(self._thread, "inference worker", stop=self.shutdown)
        self._thread.start()

    def _connect_worker(self) -> None:
        w = self._worker
        w.model_loading.connect(self._on_loading)
        w.model_ready.connect(self._on_ready)
        w.model_failed.connect(self._on_failed)
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
        self._queue.put(_LOAD_PRIORITY, _ModelWork(load=_EngineLoad(factory, device, name,
                                                                    slot)))

    def submit(self, request: Request) -> Job:
        """Queue `request`; returns its job. A same-topic request still live is superseded."""
        self._check_running()
        job = Job(request.kind)
        job.id = next(self._ids)
        if request.topic is not None:
            older = self._topics.get(request.topic)
            if older is not None:
                older.cancel()
            self._topics[request.topic] = job
        work = _ModelWork(job, request.fn, request.role)
        job._unqueue = lambda: self._queue.remove(work)
        self._live[job.id] = job
        job.finished.connect(lambda: self._on_finished(job))
        job.gpu_out_of_memory.connect(self._on_gpu_out_of_memory)
        self.submitted.emit(job)
        self._queue.put(int(request.priority), work)
        self._set_busy(True)
        return job

    def cancel(self, request: Union[int, Job]) -> None:
        """Cancel a pending or running request; it ends with `cancelled` then `finished`."""
        job = self._live.get(request) if isinstance(request, int) else request
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        for job in list(self._live.values()):
            job.cancel()

    def role(self, slot: str = MAIN) -> RoleSignals:
        """The load events of the model in `slot` (MAIN or EMBED)."""
        return self._roles[slot]

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

    # --- on the GUI thread

    def _check_running(self) -> None:
        if self._stopped:
            raise RuntimeError("the inference worker has been shut down")

    def _on_finished(self, job: Job) -> None:
        self._live.pop(job.id, None)
        for topic, holder in list(self._topics.items()):
            if holder is job:
                del self._topics[topic]
        self._set_busy(bool(self._live))

    # Model events that arrive after shutdown() are dropped: the window has gone, and a
    # slot reacting to them would submit work to a stopped worker.

    @Slot(str, str)
    def _on_loading(self, slot: str, name: str) -> None:
        if not self._stopped:
            self._roles[slot].loading.emit(name)

    @Slot(str, object, object)
    def _on_ready(self, slot: str, info: object, choice: object) -> None:
        if not self._stopped:
            self._roles[slot].ready.emit(info, choice)

    @Slot(str, str, str)
    def _on_failed(self, slot: str, message: str, details: str) -> None:
        if not self._stopped:
            self._roles[slot].failed.emit(message, details)

    @Slot()
    def _on_gpu_out_of_memory(self) -> None:
        if not self._stopped:
            self.gpu_out_of_memory.emit()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
