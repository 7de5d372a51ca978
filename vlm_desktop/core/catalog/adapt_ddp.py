"""Catalog adaptation under torch.distributed (DDP, gloo on CPU): several processes, or
several machines, train one adapter.

    torchrun --standalone --nproc-per-node 4 -m vlm_desktop.core.catalog.adapt_ddp \\
        --catalog shop.db [--epochs N] [--json]

Rank 0 opens the catalog and the built-in model, reads the tower features (cached) and
writes the training arrays and the base projection into `<catalog>.db.adapt/`; every rank
loads them (on several machines that folder must be on a shared file system), trains on its
share of every batch with the gradients all-reduced (`projection.fit`), so the result
matches a single-process run within float rounding; rank 0 then measures, saves the adapter,
writes the vectors and switches the catalog, as `vlm-desktop catalog adapt` does.

`--data FILE --base FILE --out FILE` trains from arrays prepared earlier and only writes
the trained projection: no catalog, no model towers (what the tests compare).
Started without torchrun it runs as one process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from vlm_desktop.core.catalog.adapt import AdaptConfig, AdaptData, finish, prepare, train
from vlm_desktop.core.engine.lite.projection import Projection

DATA_FILE = "ddp-data.npz"
BASE_FILE = "ddp-base.safetensors"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vlm_desktop.core.catalog.adapt_ddp",
                                description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--catalog", metavar="DB", help="the catalog database to adapt")
    p.add_argument("--epochs", type=int, default=AdaptConfig.epochs)
    p.add_argument("--patience", type=int, default=AdaptConfig.patience)
    p.add_argument("--seed", type=int, default=AdaptConfig.seed)
    p.add_argument("--batch", type=int, default=AdaptConfig.batch,
                   help="pairs per step, over all processes together")
    p.add_argument("--lr", type=float, default=AdaptConfig.lr)
    p.add_argument("--json", action="store_true", help="print the report as one JSON line")
    p.add_argument("--data", type=Path, help="train from these prepared arrays (no catalog)")
    p.add_argument("--base", type=Path, help="with --data: the projection to start from")
    p.add_argument("--out", type=Path, help="with --data: where the trained projection goes")
    return p


def _init() -> tuple[int, int]:
    """(rank, world) from torchrun's environment; one process without it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    dist.init_process_group("gloo")
    return dist.get_rank(), world


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _train_file(args: argparse.Namespace, config: AdaptConfig, rank: int, world: int) -> int:
    data = AdaptData.load(args.data)
    base = Projection.load(args.base)
    proj, history = train(data, base, config, rank=rank, world=world)
    if rank == 0:
        proj.save(args.out)
        print(json.dumps({"epochs": len(history) - 1, "world": world}), flush=True)
    return 0


def _adapt(args: argparse.Namespace, config: AdaptConfig, rank: int, world: int) -> int:
    from vlm_desktop.core.cancel import JobState
    from vlm_desktop.core.catalog import adapt_store
    from vlm_desktop.core.catalog.lock import catalog_lock
    from vlm_desktop.core.catalog.store import CatalogStore

    store = CatalogStore(args.catalog)
    folder = adapt_store.adapt_dir(store)
    started = time.perf_counter()
    if rank != 0:
        _barrier(world)
        data = AdaptData.load(folder / DATA_FILE)
        train(data, Projection.load(folder / BASE_FILE), config, rank=rank, world=world)
        return 0
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine.lite.engine import LiteEngine

    with catalog_lock(store.path):
        for name in (DATA_FILE, BASE_FILE):  # never let a rank train on an older run's arrays
            (folder / name).unlink(missing_ok=True)
        engine = LiteEngine.load(choose_device("cpu"))
        base = adapt_store.base_projection(engine)
        state = JobState(on_progress=lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr))
        try:
            data, feats = prepare(store, engine, config, state)
            assert base is not None  # prepare refuses engines without one
            data.save(folder / DATA_FILE)
            base.save(folder / BASE_FILE)
        finally:
            _barrier(world)  # the other ranks wait for the files (or for the failure)
        t0 = time.perf_counter()
        proj, history = train(data, base, config, rank=rank, world=world)
        # Every rank has read the arrays by now (training all-reduces every step).
        for name in (DATA_FILE, BASE_FILE):
            (folder / name).unlink(missing_ok=True)
        report = finish(store, engine, data, feats, base, proj, history, config, started,
                        time.perf_counter() - t0, state)
    out = report.as_json()
    out["world"] = world
    print(json.dumps(out) if args.json else json.dumps(out, indent=1), flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.data is None and args.catalog is None:
        _parser().error("give --catalog DB (or --data, --base and --out)")
    if args.data is not None and (args.base is None or args.out is None):
        _parser().error("--data needs --base and --out")
    config = AdaptConfig(epochs=args.epochs, patience=args.patience, seed=args.seed,
                         batch=args.batch, lr=args.lr)
    rank, world = _init()
    try:
        if args.data is not None:
            return _train_file(args, config, rank, world)
        return _adapt(args, config, rank, world)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def _exit(code: int) -> None:
    """Leave a torchrun rank without the C++ static destructors: after
    `destroy_process_group` one of them (a thread of the gloo/c10d runtime left joinable)
    calls std::terminate now and then at interpreter exit (seen about one run in twelve
    here), which turns a finished, saved run into a SIGABRT and a failed launch."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        raise SystemExit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
