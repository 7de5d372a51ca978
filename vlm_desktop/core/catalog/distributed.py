"""Embed a catalog too big for one machine on Ray, into shards the desktop ingests.

The driver plans shards (`shards.plan`), then a Ray Data pipeline maps each pending shard
through a stateful actor class (`ShardEmbedder`): the model loads once per worker, every
file is decoded exactly as the desktop's indexer decodes it (`indexer.decode_item`: the same
refusals, decode budget and resize) and embedded with the same `embed_for_catalog`, so the
vectors equal the desktop's own. Each actor writes its shard itself (temporary name, then
rename) to the output folder, which on a cluster must be storage every node can write.

We map shard descriptions (`from_items`) rather than `read_images`: Ray's image reader
would decode files with its own rules, without the project's defences against hostile
files, and its output would not match the desktop's vectors.

Ray is optional (`pip install 'vlm-desktop[cluster]'`); nothing here imports it until a run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from vlm_desktop.core.catalog import shards
from vlm_desktop.core.catalog.shards import Plan, ShardError, ShardTask
from vlm_desktop.core.catalog.store import CatalogItem

log = logging.getLogger(__name__)

BATCH = 32


@dataclass(frozen=True)
class EngineSpec:
    """How a worker opens the model: an installed model name (None: the catalog default) on
    a device. Picklable, so it travels to every worker."""

    model: Optional[str] = None
    device: str = "cpu"
    threads: int = 1


@dataclass(frozen=True)
class RunReport:
    shards: int
    skipped: int  # already written by an earlier (killed or finished) run
    items: int  # embedded by this run
    failed: int  # unusable files met by this run
    total: int  # images the shards cover, this run's and earlier runs'
    seconds: float
    model: str
    workers: int


def open_engine(spec: EngineSpec) -> Any:
    """The same engine the desktop's catalog uses, on the worker."""
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine import registry

    name = spec.model or registry.embedding_model_for(None)
    return registry.engine_factory(name)(choose_device(spec.device))


class ShardEmbedder:
    """A Ray Data actor: opens the model once, then embeds and writes one shard per row."""

    def __init__(self, spec: EngineSpec, out: str, source: str, follow: bool) -> None:
        if spec.threads > 0:
            import torch

            torch.set_num_threads(spec.threads)
        self.engine = open_engine(spec)
        self.out, self.source, self.follow = Path(out), Path(source), follow

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        done = [embed_shard(self.engine, self.out, self.source,
                            ShardTask(name, tuple(json.loads(items))), self.follow)
                for name, items in zip(batch["name"], batch["items"])]
        return {"shard": [d[0] for d in done], "items": [d[1] for d in done],
                "failed": [d[2] for d in done]}


def embed_shard(engine: Any, out: Path, source: Path, task: ShardTask,
                follow: bool = False) -> tuple[str, int, int]:
    """Decode, embed and write one shard; a bad file becomes an error row, never a stop."""
    import numpy as np

    from vlm_desktop.core.catalog.indexer import decode_item, embed_for_catalog, model_key

    decoded = [decode_item(source, CatalogItem(0, r["path"], r["title"], size=r["size"],
                                               mtime=r["mtime"]), follow) for r in task.items]
    vectors: dict[str, list[Any]] = {}
    images = {i: d.image for i, d in enumerate(decoded) if d.image is not None}
    good = sorted(images)
    for start in range(0, len(good), BATCH):
        rows = good[start:start + BATCH]
        got = embed_for_catalog(engine, [images[i] for i in rows])
        for space, vecs in got.items():
            column = vectors.setdefault(space, [None] * len(decoded))
            for j, i in enumerate(rows):
                column[i] = np.asarray(vecs[j], np.float32)
    info = engine.info()
    key = model_key(engine)
    name, _, version = key.rpartition("@")
    shards.write_shard(out, task, name, version or info.version, vectors,
                       [d.digest for d in decoded], [d.size for d in decoded],
                       [d.mtime for d in decoded], [d.error for d in decoded])
    return task.name, len(good), len(decoded) - len(good)


def run(source: str | Path, out: str | Path, metadata: str | Path | None = None,
        address: Optional[str] = None, spec: EngineSpec = EngineSpec(),
        workers: Optional[int] = None, shard_size: int = shards.SHARD_SIZE,
        follow_outside_links: bool = False,
        progress: Optional[Callable[[str], None]] = None) -> RunReport:
    """Embed every image under `source` into Parquet shards in `out`, on a Ray cluster
    (`address`) or on a local Ray started here; shards already written are skipped."""
    ray = _ray()
    say = progress or (lambda _m: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    the_plan = shards.plan(source, metadata, shard_size, follow_outside_links)
    shards.drop_stale(out, the_plan)
    todo = the_plan.pending(out)
    say(f"{len(the_plan.tasks)} shards, {len(todo)} to embed "
        f"({len(the_plan.tasks) - len(todo)} already written)")
    start = time.perf_counter()
    started_here = _connect(ray, address, workers)
    try:
        n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // spec.threads)
        items, failed = _execute(ray, the_plan, todo, out, spec, n_workers,
                                 follow_outside_links, say, start)
        model = _model_of(out, the_plan)
        name, _, version = model.rpartition("@")
        shards.write_manifest(out, the_plan, name, version)
    finally:
        if started_here:
            ray.shutdown()
    return RunReport(len(the_plan.tasks), len(the_plan.tasks) - len(todo), items, failed,
                     sum(len(t.items) for t in the_plan.tasks), time.perf_counter() - start,
                     model, n_workers)


def _execute(ray: Any, the_plan: Plan, todo: list[ShardTask], out: Path, spec: EngineSpec,
             n_workers: int, follow: bool, say: Callable[[str], None],
             start: float) -> tuple[int, int]:
    if not todo:
        return 0, 0
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False  # our own lines on stderr instead
    context.print_on_execution_start = False
    rows = [{"name": t.name, "items": json.dumps(t.items)} for t in todo]  # plain Arrow columns
    ds = ray.data.from_items(rows, override_num_blocks=len(todo))
    mapped = ds.map_batches(
        ShardEmbedder, batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(n_workers, len(todo))),
        num_cpus=spec.threads,
        fn_constructor_kwargs={"spec": spec, "out": str(out), "source": the_plan.source,
                               "follow": follow})
    items = failed = 0
    for n, row in enumerate(mapped.iter_rows(), start=1):
        items += int(row["items"])
        failed += int(row["failed"])
        rate = (items + failed) / max(1e-9, time.perf_counter() - start)
        say(f"Embedded {n}/{len(todo)} shards, {items} items ({failed} unusable), "
            f"{rate:.1f} items/s")
    return items, failed


def _model_of(out: Path, the_plan: Plan) -> str:
    """The model key every shard was written with (they must all agree)."""
    _pa, pq = shards._pyarrow()
    keys = set()
    for task in the_plan.tasks:
        table = pq.read_table(out / task.name, columns=["model", "model_version"])
        keys |= {f"{m}@{v}" for m, v in zip(table["model"].to_pylist(),
                                             table["model_version"].to_pylist())}
    if len(keys) > 1:
        raise ShardError(f"The shards in {out} come from {len(keys)} models: "
                         f"{', '.join(sorted(keys))}; remove them and embed again")
    return keys.pop() if keys else "none@"


def _connect(ray: Any, address: Optional[str], workers: Optional[int]) -> bool:
    """Join the cluster at `address`, or start a local Ray; True when we started it."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home
    quiet = {"include_dashboard": False, "log_to_driver": False,
             "logging_level": logging.WARNING, "configure_logging": True}
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if address:
        ray.init(address=address, **quiet)
        return True
    ray.init(num_cpus=workers or os.cpu_count() or 1, **quiet)
    return True


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - fails here, clearly, when only ray core is installed
    except ImportError as exc:
        raise ShardError("Distributed embedding needs Ray: pip install 'vlm-desktop[cluster]'"
                         ) from exc
    return ray
