"""A handle per job: its own signals, exactly one ending then `finished`, off the model's thread."""

from __future__ import annotations

import threading

import pytest

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.images import ImageLoadError
from vlm_desktop.workers.jobs import CANCELLED, FAILED, RESULT, Job, OffThread

TIMEOUT_MS = 5000
SIGNALS = ("started", "progress", "partial", "result", "failed", "cancelled", "finished")


def record(job: Job) -> list[tuple]:
    events: list[tuple] = []
    for name in SIGNALS:
        getattr(job, name).connect(lambda *args, name=name: events.append((name, *args)))
    return events


@pytest.fixture()
def pool():
    p = OffThread("test pool", max_threads=1)
    yield p
    assert p.shutdown(TIMEOUT_MS)


def test_a_job_reports_its_own_progress_partials_and_result_then_finished(qtbot, pool):
    def work(state: JobState) -> str:
        state.progress(0.5, "half")
        state.partial("a cat")
        return "a cat on a mat"

    job = pool.run(work, "caption")
    events = record(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass
    assert [e[0] for e in events] == ["started", "progress", "partial", "result", "finished"]
    assert events[3] == ("result", "a cat on a mat")
    assert job.outcome == RESULT and job.value == "a cat on a mat"


def test_a_user_error_becomes_its_message_and_the_job_still_finishes(qtbot, pool):
    def work(state: JobState) -> None:
        raise ImageLoadError("truncated", "photo.jpg is cut short.")

    job = pool.run(work, "image loading")
    events = record(job)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass
    assert [e[0] for e in events] == ["started", "failed", "finished"]
    assert events[1][1].lower() == "photo.jpg is cut short." and "Traceback" in events[1][2]
    assert job.outcome == FAILED


def test_cancelling_a_queued_job_ends_it_without_running_it(qtbot, pool):
    gate, ran = threading.Event(), []
    first = pool.run(lambda state: gate.wait(TIMEOUT_MS / 1000), "blocker")
    second = pool.run(lambda state: ran.append("ran"), "queued")  # one thread: it waits
    events = record(second)
    second.cancel()
    with qtbot.waitSignal(second.finished, timeout=TIMEOUT_MS):
        pass
    gate.set()
    with qtbot.waitSignal(first.finished, timeout=TIMEOUT_MS):
        pass
    assert [e[0] for e in events] == ["cancelled", "finished"]
    assert ran == [] and second.outcome == CANCELLED


def test_a_result_already_on_its_way_when_cancelled_is_dropped(qtbot, pool):
    done = threading.Event()
    job = pool.run(lambda state: done.set() or "stale", "search")
    events = record(job)
    assert done.wait(TIMEOUT_MS / 1000)
    job.cancel()  # the worker has returned; its result waits in the event queue
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass
    qtbot.wait(20)
    names = [e[0] for e in events]
    assert "result" not in names and names[-2:] == ["cancelled", "finished"]
    assert names.count("finished") == 1


def test_a_finished_job_and_its_result_are_freed(qtbot, pool):
    """Listeners that name their job (as the app's lambdas do) must not keep it, or its
    result (a decoded photo, say), alive once it finished."""
    import gc
    import weakref

    class Big:
        pass

    made: list[weakref.ref] = []

    def work(state: JobState) -> Big:
        value = Big()
        made.append(weakref.ref(value))
        return value

    job = pool.run(work, "big")
    job.result.connect(lambda value, job=job: job.kind)  # a listener that holds the job
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
        pass
    handle = weakref.ref(job)
    del job
    # the pool thread may still be unwinding the frames that ran the job: wait for it, then
    # nothing of ours may hold the job or its result
    assert pool.wait(TIMEOUT_MS)
    gc.collect()
    assert handle() is None and made[0]() is None


def test_a_model_job_is_freed_once_finished(qtbot):
    import gc
    import weakref

    from vlm_desktop.core.engine.fake import FakeEngine
    from vlm_desktop.workers.inference_worker import MAIN, InferenceClient, Request

    client = InferenceClient()
    try:
        with qtbot.waitSignal(client.role(MAIN).ready, timeout=TIMEOUT_MS):
            client.load_engine(lambda device: FakeEngine(), "cpu", "fake")
        job = client.submit(Request("caption", lambda engine, state: object()))
        job.result.connect(lambda value, job=job: job.kind)
        with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
            pass
        handle = weakref.ref(job)
        del job
        # the model thread may still be unwinding the request's frames after `finished`
        # arrived; once it waits for the next request nothing may hold the job
        qtbot.waitUntil(lambda: gc.collect() >= 0 and handle() is None, timeout=TIMEOUT_MS)
    finally:
        assert client.shutdown(TIMEOUT_MS)
