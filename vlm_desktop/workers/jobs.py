"""A handle per job, and one way to run a function off the GUI thread.

`Job` is what every piece of background work returns: its own `started`, `progress`,
`partial`, then exactly one of `result`, `failed`, `cancelled`, then `finished`, always
last and always once. Listeners connect to the job they asked for, so nobody sorts a
broadcast by request id. Whether a job was cancelled is decided on the GUI thread: an
outcome already on its way when `cancel()` was called still ends as `cancelled`.

`run_off_thread(fn)` runs `fn(state)` on a small shared thread pool and returns its `Job`:
for work that needs no model (decoding an image, a thumbnail, opening a catalog, a
keyword search, importing a model folder), so it never waits behind the model's queue.
The model's own single-thread queue is `inference_worker.InferenceClient`; it hands out
the same `Job`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import warnings
from typing import Callable, Generic, Optional, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from vlm_desktop.core.cancel import Cancelled, CancelToken, JobState
from vlm_desktop.workers import threads
from vlm_desktop.workers.errors import describe_error, is_gpu_oom

log = logging.getLogger("vlm_desktop.worker")

RESULT, FAILED, CANCELLED = "result", "failed", "cancelled"
_STARTED, _PROGRESS, _PARTIAL = "started", "progress", "partial"


class Job(QObject):
    """One piece of background work as seen from the GUI thread. Signals arrive there."""

    started = Signal()
    progress = Signal(float, str)  # fraction 0..1, message
    partial = Signal(object)  # a streamed piece of the result (a caption so far)
    result = Signal(object)
    failed = Signal(str, str)  # user-facing message, details (traceback)
    cancelled = Signal()
    finished = Signal()  # always last, exactly once
    gpu_out_of_memory = Signal()  # after `failed`, when the failure was a GPU OOM

    _event = Signal(str, object)  # from the thread doing the work to the GUI thread

    def __init__(self, kind: str, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.id = 0  # set by a queue that numbers its jobs (the model's)
        self.token = CancelToken()
        self.outcome: Optional[str] = None  # RESULT | FAILED | CANCELLED once finished
        self.value: object = None  # the result, or (message, details) when it failed
        self._unqueue: Optional[Callable[[], bool]] = None
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def wanted(self) -> bool:
        """Neither finished nor cancelled: its signals still mean something."""
        return self.outcome is None and not self.token.cancelled

    def cancel(self) -> None:
        """Cancel a pending or running job; it ends with `cancelled` then `finished`."""
        if not self.wanted:
            return
        self.token.cancel()
        if self._unqueue is not None and self._unqueue():
            self._event.emit(CANCELLED, None)  # never ran: ends on the next event-loop turn
        # Otherwise it is running, or its outcome is on the way: that outcome ends it.

    # --- for the thread doing the work (any thread) ----------------------------------------

    def state(self) -> JobState:
        """The JobState the work function sees: this job's token, progress and partials."""
        return JobState(self.token,
                        on_progress=lambda f, m: self._event.emit(_PROGRESS, (f, m)),
                        on_partial=lambda value: self._event.emit(_PARTIAL, value))

    def run_here(self, fn: Callable[[JobState], object]) -> None:
        """Run `fn(state)` on the calling thread and send its outcome to the GUI thread."""
        if self.token.cancelled:
            self._event.emit(CANCELLED, None)
            return
        self._event.emit(_STARTED, None)
        try:
            value = fn(self.state())
        except Cancelled:
            self._event.emit(CANCELLED, None)
        except Exception as exc:
            self.report_failure(exc)
        else:
            self._event.emit(RESULT, value)

    def report(self, outcome: str, value: object = None) -> None:
        """End the job with `outcome` (RESULT | FAILED | CANCELLED), from any thread."""
        self._event.emit(outcome, value)

    def report_failure(self, exc: BaseException) -> None:
        """End the job with the user-facing wording of `exc` (see workers.errors)."""
        self._event.emit(FAILED, (describe_error(exc, self.kind), is_gpu_oom(exc)))

    # --- on the GUI thread -----------------------------------------------------------------

    @Slot(str, object)
    def _on_event(self, what: str, value: object) -> None:
        if what in (RESULT, FAILED, CANCELLED):
            self._conclude(what, value)
        elif not self.wanted:
            return  # cancelled meanwhile: nothing but `cancelled` and `finished` follows
        elif what == _STARTED:
            self.started.emit()
        elif what == _PROGRESS:
            fraction, message = value  # type: ignore[misc]
            self.progress.emit(fraction, message)
        elif what == _PARTIAL:
            self.partial.emit(value)

    def _conclude(self, outcome: str, value: object) -> None:
        if self.outcome is not None:
            return  # exactly one ending: a late outcome after a cancel is dropped
        oom = False
        if self.token.cancelled or outcome == CANCELLED:
            self.outcome, self.value = CANCELLED, None
            self.cancelled.emit()
        elif outcome == FAILED:
            (message, details), oom = value  # type: ignore[misc]
            self.outcome, self.value = FAILED, (message, details)
            self.failed.emit(message, details)
        else:
            self.outcome, self.value = RESULT, value
            self.result.emit(value)
        self.finished.emit()
        if oom:  # after the error, so an offer of the CPU is what stays shown
            self.gpu_out_of_memory.emit()
        self._unqueue = None
        self._release_listeners()

    def _release_listeners(self) -> None:
        """Drop every connection once nothing more will be emitted: a listener that holds
        this job (a lambda naming it) would otherwise keep it, and its result, alive for
        good, as Python cannot see a cycle that runs through Qt's connection list."""
        with warnings.catch_warnings():  # PySide warns about a signal with no listener
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal in (self.started, self.progress, self.partial, self.result,
                           self.failed, self.cancelled, self.finished, self.gpu_out_of_memory):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):  # nothing was connected to it
                    pass


T = TypeVar("T")


class JobQueue(Generic[T]):
    """A thread-safe heap ordered by (priority, arrival); `get` blocks until work or close.
    Lower priorities run first; ties run in the order they were put."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, T]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, priority: int, item: T) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the queue has been shut down")
            heapq.heappush(self._heap, (priority, next(self._seq), item))
            self._cond.notify()

    def get(self) -> Optional[T]:
        """The next item, or None once the queue is closed."""
        with self._cond:
            while not self._heap and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            return heapq.heappop(self._heap)[2]

    def remove(self, item: T) -> bool:
        """Take a pending item out; False if it is not pending (running or done)."""
        with self._cond:
            kept = [entry for entry in self._heap if entry[2] is not item]
            if len(kept) == len(self._heap):
                return False
            self._heap = kept
            heapq.heapify(self._heap)
            return True

    def close(self) -> list[T]:
        """Stop handing out work; returns the items that were still pending."""
        with self._cond:
            self._closed = True
            pending, self._heap = self._heap, []
            self._cond.notify_all()
            return [entry[2] for entry in pending]


class _Task(QRunnable):
    def __init__(self, job: Job, fn: Callable[[JobState], object]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it: `tryTake` on a deleted task would crash
        self.job: Optional[Job] = job
        self.fn: Optional[Callable[[JobState], object]] = fn

    def run(self) -> None:
        job, fn = self.job, self.fn
        self.job = self.fn = None  # Qt may keep this task: it must not keep the job alive
        if job is not None and fn is not None:
            job.run_here(fn)


class OffThread(QObject):
    """A thread pool whose every run is a `Job`; no model, no queue order beyond FIFO."""

    def __init__(self, name: str, max_threads: int = 2, parent: Optional[QObject] = None
                 ) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()  # no parent: ended by shutdown(), never by a parent chain
        self._pool.setMaxThreadCount(max_threads)
        threads.register(self._pool, name, stop=self.shutdown)
        self._live: dict[Job, _Task] = {}  # keeps jobs and tasks alive until they finish

    def run(self, fn: Callable[[JobState], object], kind: str = "background work") -> Job:
        """Run `fn(state)` on a pool thread; its outcome arrives on the returned job."""
        job = Job(kind)
        task = _Task(job, fn)
        job._unqueue = lambda: self._pool.tryTake(task)
        self._live[job] = task
        job.finished.connect(lambda: self._live.pop(job, None))
        self._pool.start(task)
        return job

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Wait for the jobs queued and running to end (their outcomes still arrive)."""
        return bool(self._pool.waitForDone(timeout_ms))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, drop the queued ones, wait for the running ones."""
        for job in list(self._live):
            job.cancel()
        self._pool.clear()
        stopped = bool(self._pool.waitForDone(timeout_ms))
        if not stopped:
            log.warning("background work did not stop within %d ms", timeout_ms)
        return stopped


_shared: Optional[OffThread] = None


def run_off_thread(fn: Callable[[JobState], object], kind: str = "background work") -> Job:
    """Run `fn(state)` on the app's shared background pool (not the model's thread)."""
    global _shared
    if _shared is None:
        _shared = OffThread("background work", max_threads=2)
    return _shared.run(fn, kind)


def shutdown_shared(timeout_ms: int = 5000) -> bool:
    """Stop the shared pool (at exit, after the windows closed)."""
    return _shared.shutdown(timeout_ms) if _shared is not None else True
