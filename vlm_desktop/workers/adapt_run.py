"""Catalog adaptation as one `Job` that never holds the model's queue for long.

Adapting has a model part and a training part. The model part (tower features and text
vectors not cached yet; an indexed catalog has its features already) runs on the worker
as a chain of short BATCH requests, `adapt.encode_step`, so a caption or a question asked
meanwhile runs between two steps, as it does between indexing batches. Training and
writing the new vectors need no tower: they run on a thread of their own
(`adapt.adapt_catalog(..., encode=False)`), while the worker keeps answering.

`start_adapt` returns a `Job` like any other: progress, epochs as partials, then exactly
one of result (the `AdaptReport`), failed or cancelled, then finished.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional

from vlm_desktop.core.catalog.adapt import AdaptConfig, adapt_catalog, encode_step
from vlm_desktop.core.catalog.store import CatalogStore
from vlm_desktop.core.engine.protocol import Engine
from vlm_desktop.workers.inference_worker import EMBED, InferenceClient, Priority, Request
from vlm_desktop.workers.jobs import CANCELLED, FAILED, RESULT, Job, OffThread

log = logging.getLogger(__name__)

STEP_SECONDS = 0.75  # a caption asked meanwhile waits about this long at most
_training: Optional[OffThread] = None  # one adaptation trains at a time


def _trainer() -> OffThread:
    global _training
    if _training is None:
        _training = OffThread("catalog adaptation", max_threads=1)
    return _training


@dataclass
class _Run:
    client: InferenceClient
    store: CatalogStore
    config: AdaptConfig
    job: Job
    tried: set[int] = field(default_factory=set)  # files the steps could not read
    current: Optional[Job] = None  # the step or the training running now


_runs: dict[int, _Run] = {}  # keeps each run alive until its job finishes


def start_adapt(client: InferenceClient, store: CatalogStore, config: AdaptConfig) -> Job:
    """Adapt the catalog's search model (EMBED) to `store`; see the module doc."""
    job = Job("catalog adapt")
    run = _Run(client, store, config, job)
    _runs[id(job)] = run
    job.finished.connect(lambda: _runs.pop(id(job), None))

    def stop_current() -> bool:
        if run.current is not None:
            run.current.cancel()  # its `cancelled` ends this job
            return False
        return True  # between two parts: end now

    job._unqueue = stop_current
    _step(run)
    return job


def _forward(run: _Run, inner: Job) -> None:
    state = run.job.state()
    inner.progress.connect(lambda fraction, message: state.progress(fraction, message))
    inner.partial.connect(lambda value: state.partial(value))
    inner.failed.connect(lambda message, details: run.job.report(FAILED, ((message, details),
                                                                        False)))
    inner.cancelled.connect(lambda: run.job.report(CANCELLED))
    run.current = inner


def _step(run: _Run) -> None:
    """Queue one model step; the next part follows its result."""
    store, tried = run.store, run.tried
    try:
        inner = run.client.submit(Request(
            "catalog adapt (model)",
            lambda e, s: (encode_step(store, e, s, STEP_SECONDS, tried), e),
            Priority.BATCH, role=EMBED))
    except RuntimeError:  # the model's queue has shut down (the window is closing)
        run.job.report(CANCELLED)
        return
    _forward(run, inner)
    inner.result.connect(lambda value: _after_step(run, value))


def _after_step(run: _Run, value: object) -> None:
    run.current = None
    if run.job.token.cancelled:
        run.job.report(CANCELLED)
        return
    done, engine = value  # type: ignore[misc]
    if not done:
        _step(run)
        return
    _train(run, engine)


def _train(run: _Run, engine: Engine) -> None:
    store, config = run.store, run.config
    inner = _trainer().run(lambda s: adapt_catalog(store, engine, config, s, encode=False),
                           "catalog adapt (training)")
    _forward(run, inner)
    inner.result.connect(lambda value: run.job.report(RESULT, value))
