"""The inference worker: signal order, cancel, stale results, errors, priority, loading, shutdown."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from PySide6.QtCore import QObject, Signal
from PIL import Image

from vlm_desktop.core.cancel import JobState
from vlm_desktop.core.device import DeviceError
from vlm_desktop.core.engine.fake import FakeEngine
from vlm_desktop.core.engine.registry import ModelUnavailable
from vlm_desktop.core.engine.types import Answer, Caption
from vlm_desktop.workers.inference_worker import (
    MAIN,
    EMBED,
    NO_EMBEDDER_MESSAGE,
    NO_MODEL_MESSAGE,
    InferenceClient,
    Priority,
    Request,
)
from vlm_desktop.workers.threads import running_threads

TIMEOUT_MS = 5000
SIGNALS = ("started", "progress", "partial", "result", "error", "cancelled", "finished")


class Recorder(QObject):
    """Every job a client is given, from then on: its signals in arrival order as
    (name, id, *args) in `events`, and again as this object's signals with the id first."""

    started = Signal(int)
    progress = Signal(int, float, str)
    partial = Signal(int, object)
    result = Signal(int, object)
    error = Signal(int, str, str)
    cancelled = Signal(int)
    finished = Signal(int)

    def __init__(self, client: InferenceClient) -> None:
        super().__init__()
        self.events: list[tuple] = []
        client.submitted.connect(self._watch)

    def _watch(self, job) -> None:
        for name in SIGNALS:
            signal = job.failed if name == "error" else getattr(job, name)
            signal.connect(lambda *args, name=name, rid=job.id: self._record(name, rid, *args))

    def _record(self, name: str, rid: int, *args) -> None:
        self.events.append((name, rid, *args))
        getattr(self, name).emit(rid, *args)

    def names_for(self, request_id: int) -> list[str]:
        return [e[0] for e in self.events if e[1] == request_id]


def gated(gate: threading.Event, entered: threading.Event | None = None, poll: bool = True):
    """A request fn that runs until `gate` is set (checking for cancellation if `poll`)."""

    def fn(engine, state: JobState) -> str:
        if entered is not None:
            entered.set()
        while not gate.wait(0.005):
            if poll:
                state.check()
        return "gate opened"

    return fn


@pytest.fixture()
def client(qtbot):
    c = InferenceClient()
    yield c
    assert c.shutdown(TIMEOUT_MS)


@pytest.fixture()
def loaded(client, qtbot):
    with qtbot.waitSignal(client.role(MAIN).ready, timeout=TIMEOUT_MS):
        client.load_engine(lambda choice: FakeEngine(), device="cpu", name="fake")
    return client


@pytest.fixture()
def red_image():
    return Image.new("RGB", (40, 30), (220, 30, 30))


def test_caption_signals_arrive_in_order_with_the_result(loaded, qtbot, red_image):
    busy: list[bool] = []
    loaded.busy_changed.connect(busy.append)
    rec = Recorder(loaded)
    with qtbot.waitSignals([rec.started, rec.result, rec.finished], order="strict",
                           timeout=TIMEOUT_MS):
        rid = loaded.submit(Request("caption", lambda e, s: e.caption(red_image, s))).id
    assert rec.names_for(rid) == ["started", "result", "finished"]
    caption = rec.events[1][2]
    assert isinstance(caption, Caption)
    assert "red" in caption.text
    assert busy == [True, False]
    assert loaded.has_engine()


def test_progress_and_partial_arrive_before_the_result(loaded, qtbot, red_image):
    def fn(engine, state):
        state.progress(0.5, "half way")
        return engine.answer(red_image, "what colour is it?", state)  # streams a partial

    rec = Recorder(loaded)
    with qtbot.waitSignals([rec.started, rec.progress, rec.partial, rec.result,
                            rec.finished], order="strict", timeout=TIMEOUT_MS):
        rid = loaded.submit(Request("answer", fn)).id
    progress = [e for e in rec.events if e[0] == "progress"]
    partial = [e for e in rec.events if e[0] == "partial"]
    result = [e for e in rec.events if e[0] == "result"]
    assert progress == [("progress", rid, 0.5, "half way")]
    answer = result[0][2]
    assert isinstance(answer, Answer)
    assert answer.text.startswith(partial[0][2]) and partial[0][2] != answer.text


def test_cancel_mid_run_gives_cancelled_then_finished_and_no_result(loaded, qtbot):
    rec = Recorder(loaded)
    gate, entered = threading.Event(), threading.Event()
    with qtbot.waitSignal(rec.started, timeout=TIMEOUT_MS):
        rid = loaded.submit(Request("caption", gated(gate, entered))).id
    assert entered.is_set()
    with qtbot.waitSignals([rec.cancelled, rec.finished], order="strict",
                           timeout=TIMEOUT_MS):
        loaded.cancel(rid)
    assert rec.names_for(rid) == ["started", "cancelled", "finished"]
    assert not loaded.is_busy()


def test_cancel_of_a_queued_request_never_starts_it(loaded, qtbot):
    rec = Recorder(loaded)
    gate = threading.Event()
    with qtbot.waitSignal(rec.started, timeout=TIMEOUT_MS):
        running = loaded.submit(Request("caption", gated(gate))).id
    queued = loaded.submit(Request("caption", lambda e, s: "should not run")).id
    with qtbot.waitSignal(rec.finished, check_params_cb=lambda i: i == queued,
                          timeout=TIMEOUT_MS):
        loaded.cancel(queued)
    assert rec.names_for(queued) == ["cancelled", "finished"]
    gate.set()
    with qtbot.waitSignal(rec.finished, check_params_cb=lambda i: i == running,
                          timeout=TIMEOUT_MS):
        pass
    assert rec.names_for(running) == ["started", "result", "finished"]


def test_newer_request_on_a_topic_supersedes_the_older_one(loaded, qtbot, red_image):
    rec = Recorder(loaded)
    gate = threading.Event()
    with qtbot.waitSignal(rec.started, timeout=TIMEOUT_MS):
        # This fn ignores cancellation, as a model stuck in one long call would.
        old = loaded.submit(Request("caption", gated(gate, poll=False), topic="image")).id
    new = loaded.submit(Request("caption", lambda e, s: e.caption(red_image, s), topic="image")).id
    gate.set()
    with qtbot.waitSignal(rec.finished, check_params_cb=lambda i: i == new,
                          timeout=TIMEOUT_MS):
        pass
    assert rec.names_for(old) == ["started", "cancelled", "finished"]
    assert rec.names_for(new) == ["started", "result", "finished"]


def test_result_already_on_its_way_when_cancelled_is_dropped(loaded, qtbot):
    rec = Recorder(loaded)
    gate, entered = threading.Event(), threading.Event()
    done = loaded.submit(Request("caption", lambda e, s: "stale")).id
    blocker = loaded.submit(Request("caption", gated(gate, entered))).id
    # The worker reports `done` before it starts `blocker`; the GUI thread has not seen it yet.
    assert entered.wait(TIMEOUT_MS / 1000)
    loaded.cancel(done)
    gate.set()
    with qtbot.waitSignal(rec.finished, check_params_cb=lambda i: i == blocker,
                          timeout=TIMEOUT_MS):
        pass
    assert rec.names_for(done) == ["cancelled", "finished"]
    assert not [e for e in rec.events if e[0] == "result" and e[2] == "stale"]


def test_unexpected_error_gives_a_message_then_finished_and_is_logged(qtbot, client, caplog,
                                                                       red_image):
    with qtbot.waitSignal(client.role(MAIN).ready, timeout=TIMEOUT_MS):
        client.load_engine(lambda choice: FakeEngine(fail_on="boom?"), device="cpu")
    rec = Recorder(client)
    with caplog.at_level(logging.ERROR, logger="vlm_desktop.worker"):
        with qtbot.waitSignals([rec.error, rec.finished], order="strict",
                               timeout=TIMEOUT_MS):
            rid = client.submit(Request("answer", lambda e, s: e.answer(red_image, "boom?", s))).id
    assert rec.names_for(rid) == ["started", "error", "finished"]
    _, _, message, details = rec.events[1]
    assert message == "Unexpected error in answer: fake engine failure requested by the test"
    assert "Traceback" in details and "RuntimeError" in details
    assert "fake engine failure" in caplog.text


@pytest.mark.parametrize("exc", [ModelUnavailable("The model folder has no weights."),
                                 DeviceError("CUDA not used: no NVIDIA driver found")])
def test_user_errors_keep_their_own_message(loaded, qtbot, exc):
    def fn(engine, state):
        raise exc

    rec = Recorder(loaded)
    with qtbot.waitSignal(rec.error, timeout=TIMEOUT_MS) as blocker:
        loaded.submit(Request("caption", fn))
    assert blocker.args[1] == str(exc)


def test_request_without_a_model_says_so(client, qtbot):
    rec = Recorder(client)
    with qtbot.waitSignals([rec.error, rec.finished], order="strict",
                           timeout=TIMEOUT_MS):
        rid = client.submit(Request("caption", lambda e, s: "unreachable")).id
    assert rec.names_for(rid) == ["error", "finished"]
    assert rec.events[0][2] == NO_MODEL_MESSAGE


def test_interactive_request_overtakes_queued_batch_work(loaded, qtbot):
    order: list[str] = []
    rec = Recorder(loaded)
    rec.started.connect(lambda rid: order.append(names[rid]))
    names: dict[int, str] = {}
    gate = threading.Event()

    def submit(name: str, priority: Priority, fn=lambda e, s: None) -> int:
        rid = loaded.submit(Request(name, fn, priority=priority)).id
        names[rid] = name
        return rid

    with qtbot.waitSignal(rec.started, timeout=TIMEOUT_MS):
        submit("batch-0", Priority.BATCH, gated(gate))
    for i in (1, 2, 3):
        submit(f"batch-{i}", Priority.BATCH)
    last = submit("interactive", Priority.INTERACTIVE)
    with qtbot.waitSignal(loaded.busy_changed, check_params_cb=lambda b: b is False,
                          timeout=TIMEOUT_MS):
        gate.set()
    assert order == ["batch-0", "interactive", "batch-1", "batch-2", "batch-3"]
    assert last in names


def test_engine_load_failure_is_reported_and_requests_then_fail(client, qtbot):
    def factory(choice):
        raise ModelUnavailable("No model is installed.")

    with qtbot.waitSignal(client.role(MAIN).failed, timeout=TIMEOUT_MS) as blocker:
        client.load_engine(factory, device="cpu")
    message, details = blocker.args
    assert message == "No model is installed."
    assert "ModelUnavailable" in details
    assert not client.has_engine()
    rec = Recorder(client)
    with qtbot.waitSignal(rec.error, timeout=TIMEOUT_MS) as err:
        client.submit(Request("caption", lambda e, s: "unreachable"))
    assert err.args[1] == NO_MODEL_MESSAGE


def test_unexpected_load_failure_names_the_cause(client, qtbot):
    def factory(choice):
        raise OSError("weights file is truncated")

    with qtbot.waitSignal(client.role(MAIN).failed, timeout=TIMEOUT_MS) as blocker:
        client.load_engine(factory, device="cpu")
    assert blocker.args[0] == "Could not load the model: weights file is truncated"


class _TracedEngine(FakeEngine):
    """Records, on a shared list, which thread loaded and closed it."""

    def __init__(self, name: str, trace: list) -> None:
        super().__init__()
        self.name, self.trace = name, trace
        trace.append(("load", name, threading.get_ident()))

    def close(self) -> None:
        self.trace.append(("close", self.name, threading.get_ident()))


def test_switching_models_closes_the_old_one_first_all_on_the_worker_thread(client, qtbot):
    trace: list = []
    loading: list[str] = []
    client.role(MAIN).loading.connect(loading.append)
    for name in ("first", "second"):
        with qtbot.waitSignal(client.role(MAIN).ready, timeout=TIMEOUT_MS) as blocker:
            client.load_engine(lambda choice, n=name: _TracedEngine(n, trace), "cpu", name)
        info, choice = blocker.args
        assert choice.device == "cpu"
        assert info.name == "Fake test engine"
    assert loading == ["first", "second"]
    assert [t[:2] for t in trace] == [("load", "first"), ("close", "first"), ("load", "second")]
    assert client.shutdown(TIMEOUT_MS)
    assert trace[-1][:2] == ("close", "second")
    worker_threads = {t[2] for t in trace}
    assert len(worker_threads) == 1 and threading.get_ident() not in worker_threads


def test_a_model_in_a_reference_cycle_is_freed_when_another_one_loads(client, qtbot):
    """Loads run with the collector paused and freeze what they made; the model switched
    away from must still go, even one that only the cyclic collector can free."""
    import weakref

    class Weights:
        pass

    made: list[weakref.ref] = []

    def cyclic(choice):
        engine = FakeEngine()
        engine.weights = Weights()
        engine.weights.owner = engine  # type: ignore[attr-defined] - the cycle
        made.append(weakref.ref(engine.weights))
        return engine

    for factory, name in ((cyclic, "cyclic"), (lambda choice: FakeEngine(), "next")):
        with qtbot.waitSignal(client.role(MAIN).ready, timeout=TIMEOUT_MS):
            client.load_engine(factory, "cpu", name)
    assert made and made[0]() is None


def _load(qtbot, client, name: str, trace: list, slot: str = "main", device: str = "cpu"):
    signal = client.role(slot).ready
    with qtbot.waitSignal(signal, timeout=TIMEOUT_MS):
        client.load_engine(lambda choice, n=name: _TracedEngine(n, trace), device, name, slot)


def _who(client, qtbot, role: str) -> str:
    """The name of the engine a request with `role` runs on."""
    rec = Recorder(client)
    with qtbot.waitSignal(rec.result, timeout=TIMEOUT_MS) as blocker:
        client.submit(Request("who", lambda e, s: e.name, role=role))
    return blocker.args[1]


def test_captioning_and_embedding_models_run_side_by_side(client, qtbot):
    trace: list = []
    _load(qtbot, client, "captioner", trace)
    _load(qtbot, client, "embedder", trace, slot=EMBED)
    assert _who(client, qtbot, "main") == "captioner"
    assert _who(client, qtbot, EMBED) == "embedder"
    # Switching the embedder frees only the old embedder; the captioner stays loaded.
    _load(qtbot, client, "embedder-2", trace, slot=EMBED)
    assert [t[:2] for t in trace] == [("load", "captioner"), ("load", "embedder"),
                                      ("close", "embedder"), ("load", "embedder-2")]
    assert _who(client, qtbot, "main") == "captioner"
    assert client.shutdown(TIMEOUT_MS)
    assert {t[1] for t in trace if t[0] == "close"} == {"embedder", "captioner", "embedder-2"}


def test_one_model_in_both_roles_is_loaded_once_and_kept_while_either_uses_it(client, qtbot):
    trace: list = []
    _load(qtbot, client, "both", trace)
    _load(qtbot, client, "both", trace, slot=EMBED)
    assert [t[:2] for t in trace] == [("load", "both")]  # shared, not loaded twice
    # The captioner changes: the shared model keeps serving the catalog, so it stays open.
    _load(qtbot, client, "captioner", trace)
    assert [t[:2] for t in trace] == [("load", "both"), ("load", "captioner")]
    assert _who(client, qtbot, EMBED) == "both"
    # Now the embedder changes too: nothing uses "both" any more, so it is freed.
    _load(qtbot, client, "captioner", trace, slot=EMBED)
    assert [t[:2] for t in trace][-1] == ("close", "both")
    assert _who(client, qtbot, EMBED) == "captioner"
    # Asking again for the model a slot already holds keeps it (no reload).
    _load(qtbot, client, "captioner", trace)
    assert [t[:2] for t in trace].count(("load", "captioner")) == 1


def test_catalog_work_without_an_embedding_model_fails_with_a_plain_message(loaded, qtbot):
    rec = Recorder(loaded)
    with qtbot.waitSignal(rec.error, timeout=TIMEOUT_MS) as blocker:
        loaded.submit(Request("catalog similar", lambda e, s: "unreachable", role=EMBED))
    assert blocker.args[1] == NO_EMBEDDER_MESSAGE
    assert not loaded.has_engine(EMBED) and loaded.has_engine()


def test_shutdown_cancels_running_work_and_leaves_no_thread(loaded, qtbot):
    rec = Recorder(loaded)
    gate = threading.Event()
    with qtbot.waitSignal(rec.started, timeout=TIMEOUT_MS):
        rid = loaded.submit(Request("index", gated(gate), priority=Priority.BATCH)).id
    queued = loaded.submit(Request("index", lambda e, s: None, priority=Priority.BATCH)).id
    assert loaded.shutdown(TIMEOUT_MS)
    assert running_threads() == []
    qtbot.waitUntil(lambda: rec.names_for(queued)[-1:] == ["finished"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: rec.names_for(rid)[-1:] == ["finished"], timeout=TIMEOUT_MS)
    assert rec.names_for(rid) == ["started", "cancelled", "finished"]
    assert rec.names_for(queued) == ["cancelled", "finished"]
    with pytest.raises(RuntimeError):
        loaded.submit(Request("caption", lambda e, s: None))


def test_model_events_queued_before_shutdown_are_not_delivered_after_it(client, qtbot):
    """A window closed while a model loads must not hear "ready" afterwards (its slots
    would submit work to the stopped worker)."""
    heard: list[str] = []
    client.role(MAIN).ready.connect(lambda *_: heard.append("main ready"))
    client.role(EMBED).ready.connect(lambda *_: heard.append("embedder ready"))
    client.load_engine(lambda choice: FakeEngine(), "cpu", "a")
    client.load_engine(lambda choice: FakeEngine(name="other"), "cpu", "b", EMBED)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not client.has_engine(EMBED):  # the GUI loop is not run: the signals wait queued
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert client.shutdown(TIMEOUT_MS)
    qtbot.wait(100)  # deliver what was queued
    assert heard == [] and not client.has_engine()
