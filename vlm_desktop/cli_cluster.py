"""`catalog embed-distributed` and `catalog ingest`: catalogs beyond one machine.

Embedding runs on Ray (the `cluster` extra) and writes Parquet shards; the desktop ingests
them into its SQLite catalog without decoding a single image. See core/catalog/shards.py
and core/catalog/distributed.py.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any, Callable


def register(cmds: "argparse._SubParsersAction[argparse.ArgumentParser]",
             catalog_option: Callable[[argparse.ArgumentParser], None],
             open_store: Callable[..., Any], open_engine: Callable[..., Any]) -> None:
    """Add the two subcommands under `catalog`; `open_store` and `open_engine` are the
    catalog commands' own (`--catalog demo`, the catalog's default model)."""
    from vlm_desktop.cli import add_model_options

    emb = cmds.add_parser(
        "embed-distributed", help="embed a large folder of images on Ray into Parquet shards",
        description="Embed every image under SOURCE on a Ray cluster (or a local Ray started "
                    "here) into Parquet shards in OUT; a rerun skips the shards already "
                    "written. Needs: pip install 'vlm-desktop[cluster]'.")
    emb.add_argument("source", metavar="SOURCE", help="folder of product images")
    emb.add_argument("--out", metavar="SHARDS", required=True, help="folder for the shards")
    emb.add_argument("--metadata", metavar="FILE", help="CSV, JSON or JSON Lines metadata")
    emb.add_argument("--address", metavar="ray://HOST:PORT", default=None,
                     help="a running Ray cluster (default: start a local one)")
    emb.add_argument("--workers", type=int, default=None,
                     help="model copies to run (default: one per CPU of the cluster)")
    emb.add_argument("--shard-size", type=int, default=1024, help="images per shard")
    emb.add_argument("--follow-links", action="store_true",
                     help="also take files reached through links leading outside SOURCE")
    add_model_options(emb)
    emb.set_defaults(func=_cmd_embed)

    ing = cmds.add_parser("ingest", help="load shards from embed-distributed into a catalog",
                          description="Bulk-load the shards into the catalog (checking that "
                                      "their model and version are the ones this catalog "
                                      "searches with), then build its vector index.")
    ing.add_argument("shards", metavar="SHARDS", help="the folder embed-distributed wrote")
    ing.add_argument("--root", metavar="DIR", default=None,
                     help="where the images are on this machine (default: the source folder "
                          "the shards were made from)")
    catalog_option(ing)
    add_model_options(ing)
    ing.set_defaults(func=functools.partial(_cmd_ingest, open_store=open_store,
                                            open_engine=open_engine))


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _cmd_embed(args: argparse.Namespace) -> int:
    from vlm_desktop.core.catalog import distributed

    device = "cpu" if args.device == "auto" else args.device
    spec = distributed.EngineSpec(model=args.model, device=device)
    report = distributed.run(args.source, args.out, args.metadata, args.address, spec,
                             args.workers, args.shard_size, args.follow_links, progress=_err)
    record: dict[str, Any] = {
        "shards": report.shards, "skipped": report.skipped, "items": report.items,
        "unusable": report.failed, "total": report.total, "seconds": round(report.seconds, 1), "model": report.model,
        "workers": report.workers, "out": args.out}
    print(json.dumps(record) if args.json else
          f"Embedded {report.items} images ({report.failed} unusable) in "
          f"{report.seconds:.0f} s with {report.workers} workers; {args.out} now holds "
          f"{report.shards} shards ({report.skipped} from earlier runs) covering "
          f"{report.total} images", flush=True)
    return 0


def _cmd_ingest(args: argparse.Namespace, open_store: Callable[..., Any],
                open_engine: Callable[..., Any]) -> int:
    from vlm_desktop.core.catalog.indexer import model_key, visual_key
    from vlm_desktop.core.catalog.lock import catalog_lock
    from vlm_desktop.core.catalog.shards import ingest
    from vlm_desktop.core.catalog.vector_index import CatalogIndex

    store = open_store(args, must_exist=False)
    model = model_key(open_engine(args))
    with catalog_lock(store.path):
        report = ingest(store, args.shards, expected_model=model, root=args.root,
                        progress=lambda n, total: _err(f"Ingested {n}/{total} shards"))
        for key in (model, visual_key(model)):
            if store.embedding_count(key):
                index = CatalogIndex(store, key)
                index.get()  # built now and saved beside the catalog
                index.close(timeout=None)
    record = {"catalog": str(store.path), "shards": report.shards, "items": report.items,
              "quarantined": report.quarantined, "model": report.model,
              "total_items": store.stats().items}
    print(json.dumps(record) if args.json else
          f"{report.items} items from {report.shards} shards now in {store.path} "
          f"({report.quarantined} unusable files quarantined)", flush=True)
    return 0
