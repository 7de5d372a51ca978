"""`vlm-desktop catalog import|stats|search|recommend|quarantine`: the catalog, headless.

Results are JSON, one object per line on stdout; progress goes to stderr. Core modules are
imported inside the commands so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from vlm_desktop.core.catalog.search import SearchHit
    from vlm_desktop.core.catalog.store import CatalogStore
    from vlm_desktop.core.engine.protocol import Engine


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `catalog` command and its subcommands."""
    from vlm_desktop.cli import add_model_options

    catalog = sub.add_parser("catalog", help="import, search and recommend from a product catalog",
                             description="Work with a local product catalog (a SQLite file).")
    cmds = catalog.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", required=True)

    imp = cmds.add_parser("import", help="create or update a catalog from a folder of images")
    imp.add_argument("folder", metavar="DIR", help="folder of product images (searched recursively)")
    imp.add_argument("--metadata", metavar="FILE", help="CSV, JSON or JSON Lines metadata")
    imp.add_argument("--no-index", action="store_true", help="import only; do not embed images")
    imp.add_argument("--follow-links", action="store_true",
                     help="also take files reached through symbolic links that lead outside "
                          "DIR (refused by default)")
    _catalog_option(imp)
    add_model_options(imp)
    imp.set_defaults(func=_cmd_import)

    stats = cmds.add_parser("stats", help="item, indexed and quarantined counts")
    _catalog_option(stats)
    stats.add_argument("--json", action="store_true", help="(always JSON)")
    stats.set_defaults(func=_cmd_stats)

    search = cmds.add_parser("search", help="search by text or image")
    _catalog_option(search)
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument("--text", metavar="T")
    query.add_argument("--image", metavar="PATH")
    query.add_argument("--queries", metavar="FILE",
                       help='JSON Lines of {"text": ...} or {"image": ...}')
    search.add_argument("--k", type=int, default=10)
    search.add_argument("--mode", choices=("hybrid", "vector", "keyword"), default="hybrid")
    search.add_argument("--category", default=None)
    search.add_argument("--min-price", type=float, default=None)
    search.add_argument("--max-price", type=float, default=None)
    search.add_argument("--no-cut", action="store_true",
                        help="return k results instead of cutting at the score drop")
    add_model_options(search)
    search.set_defaults(func=_cmd_search)

    recommend = cmds.add_parser("recommend", help="recommendations from a purchase history")
    _catalog_option(recommend)
    recommend.add_argument("--history", metavar="FILE", required=True,
                           help="CSV with item_id or image, timestamp, quantity")
    recommend.add_argument("--k", type=int, default=10)
    add_model_options(recommend)
    recommend.set_defaults(func=_cmd_recommend)

    quarantine = cmds.add_parser("quarantine", help="files that could not be used, and why")
    _catalog_option(quarantine)
    quarantine.add_argument("--json", action="store_true", help="(always JSON)")
    quarantine.set_defaults(func=_cmd_quarantine)

    from vlm_desktop import cli_cluster

    cli_cluster.register(cmds, _catalog_option, _store, _open_engine)


def _catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="DB", required=True,
                        help="the catalog database file, or `demo` for the demo catalog")


def _open_engine(args: argparse.Namespace) -> "Engine":
    from vlm_desktop.cli import open_engine

    return open_engine(args, "embed")[0]


def _out(record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the input: write it escaped
        line = json.dumps(record, ensure_ascii=True)
    print(line, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _store(args: argparse.Namespace, must_exist: bool = True) -> "CatalogStore":
    from pathlib import Path

    from vlm_desktop.core.catalog import demo
    from vlm_desktop.core.catalog.store import CatalogStore

    if args.catalog == demo.DEMO_NAME and not Path(args.catalog).exists():
        # `demo` names the shipped demo catalog (a file called "demo" here still wins).
        store, _report = demo.open_demo_catalog()
        args.catalog = str(store.path)
        return store
    if must_exist and not Path(args.catalog).is_file():
        raise FileNotFoundError(f"No catalog at {args.catalog}; create it with `catalog import`, "
                                f"or use --catalog demo for the demo catalog.")
    return CatalogStore(args.catalog)


# --- commands -------------------------------------------------------------------------------


def _cmd_import(args: argparse.Namespace) -> int:
    from vlm_desktop.core.catalog.lock import catalog_lock

    store = _store(args, must_exist=False)
    # One import per catalog: a second process is told it is in use instead of redoing it all.
    with catalog_lock(store.path):
        return _import_and_index(args, store)


def _import_and_index(args: argparse.Namespace, store: "CatalogStore") -> int:
    from vlm_desktop.core.cancel import JobState
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.indexer import Indexer

    state = JobState(on_progress=lambda f, m: _err(f"[{f:4.0%}] {m}"))
    report = import_folder(store, args.folder, metadata=args.metadata, state=state,
                           follow_outside_links=bool(args.follow_links) or None)
    for p in report.problems:
        _err(f"metadata row {p.row}: {p.reason}")
    for r in report.refused:
        _err(f"refused {r.path}: {r.reason}")
    record: dict[str, Any] = {
        "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
        "removed": report.removed, "skipped_quarantined": report.skipped_quarantined,
        "problems": [{"row": p.row, "reason": p.reason} for p in report.problems],
        "refused": [{"path": r.path, "reason": r.reason} for r in report.refused],
    }
    if not args.no_index:
        engine = _open_engine(args)
        indexer = Indexer(store)
        try:
            final = indexer.run(engine, state)
        finally:
            indexer.close()
        _build_search_index(store, engine)
        record.update(indexed=final.done - final.quarantined, newly_quarantined=final.quarantined,
                      rate=round(final.rate, 2))
    stats = store.stats()
    record.update(items=stats.items, quarantined=stats.quarantined)
    _out(record)
    return 0


def _build_search_index(store: "CatalogStore", engine: "Engine") -> None:
    """Build and cache a large catalog's search graph now, so later searches load it
    (the window builds it in the background instead)."""
    from vlm_desktop.core.catalog.indexer import model_key
    from vlm_desktop.core.catalog.vector_index import CatalogIndex

    index = CatalogIndex(store, model_key(engine))
    index.get()
    if index.building():
        _err("building the search index…")
        index.wait_background()


def _cmd_stats(args: argparse.Namespace) -> int:
    store = _store(args)
    stats = store.stats()
    _out({"catalog": str(store.path), "items": stats.items, "indexed": stats.indexed,
          "quarantined": stats.quarantined,
          "purchases": stats.purchases, "models": store.models(),
          "categories": store.categories(), "root": store.get_meta("root"),
          "vector_index": _index_stats(store)})
    return 0


def _index_stats(store: "CatalogStore") -> dict[str, Any]:
    """Per model: the vector index kind, size and its recall@10 measured when it was built
    (read from what is saved beside the catalog; nothing is built here)."""
    from vlm_desktop.core.catalog.vector_index import CatalogIndex

    return {model: CatalogIndex(store, model).describe() for model in store.models()}


def _hit_record(store: "CatalogStore", hit: "SearchHit") -> dict[str, Any]:
    it = hit.item
    return {"id": it.id, "title": it.title, "path": str(store.root / it.path),
            "category": it.category, "price": it.price, "score": round(hit.score, 6)}


def _queries(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    if args.text is not None:
        yield {"text": args.text}
    elif args.image is not None:
        yield {"image": args.image}
    else:
        # surrogateescape: one undecodable line is reported, not the whole file refused.
        with open(args.queries, encoding="utf-8", errors="surrogateescape") as fp:
            for n, line in enumerate(fp, 1):
                if line.strip():
                    yield _query_line(n, line)


def _query_line(n: int, line: str) -> dict[str, Any]:
    """One line of a queries file as a query, or {"error": ...} saying what is wrong with it."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return {"line": n, "error": f"line {n}: not UTF-8 text"}
    try:
        q = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return {"line": n, "error": f"line {n}: not JSON ({msg})"}
    if not isinstance(q, dict):
        return {"line": n, "error": f"line {n}: not a JSON object"}
    for key in ("text", "image"):
        value = q.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return {"line": n, "error": f'line {n}: "{key}" is not a string'}
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {"line": n, "query": q,
                    "error": f'line {n}: "{key}" holds a lone surrogate, which is not text'}
    return q


def _cmd_search(args: argparse.Namespace) -> int:
    from vlm_desktop.core.catalog.search import CatalogSearch, SearchFilters
    from vlm_desktop.core.images import ImageLoadError, load_image

    store = _store(args)
    filters = SearchFilters(args.category, args.min_price, args.max_price)
    queries = list(_queries(args))
    needs_engine = args.mode != "keyword" or any("image" in q for q in queries)
    engine: Optional["Engine"] = _open_engine(args) if needs_engine else None
    search = _keyword_only_search(store) if engine is None else \
        CatalogSearch.for_engine(store, engine)
    if engine is not None:
        _warn_if_unindexed(store, engine, args.model)
    status = 0
    for q in queries:
        if "error" in q:
            _out({"query": q.get("query", {"line": q.get("line")}), "error": q["error"],
                  "results": []})
            status = 1
            continue
        try:
            if "image" in q:
                assert engine is not None
                hits = search.by_image(engine, load_image(q["image"]), args.k, filters,
                                       cut=not args.no_cut)
            elif "text" in q:
                hits = search.by_text(engine, str(q["text"]), args.k, args.mode, filters,
                                      cut=not args.no_cut)
            else:
                raise ValueError('a query needs "text" or "image"')
        except (ImageLoadError, ValueError, OSError) as exc:
            _out({"query": q, "error": str(exc), "results": []})
            status = 1
            continue
        except Exception as exc:  # one bad query must not stop the others
            _out({"query": q, "error": f"{type(exc).__name__}: {exc}", "results": []})
            status = 1
            continue
        _out({"query": q, "results": [_hit_record(store, h) for h in hits]})
    return status


def _warn_if_unindexed(store: "CatalogStore", engine: "Engine", model: Optional[str]) -> None:
    """Say so when the model has no vectors in this catalog (vectors are kept per model)."""
    from vlm_desktop.core.catalog.indexer import model_key

    if store.embedding_count(model_key(engine)) == 0:
        from vlm_desktop.core.models import BUILTIN_RECORD

        name = engine.info().name
        model = model or (None if name == BUILTIN_RECORD.label else name)
        _err(f"note: no item of this catalog has vectors from {name} yet, so only keywords "
             f"can match; index it with: {_index_command(store, model)}")


def _index_command(store: "CatalogStore", model: Optional[str]) -> str:
    """The exact `catalog import` line that gives this catalog vectors from this model."""
    import shlex

    from vlm_desktop.core.catalog import demo

    words = ["vlm-desktop", "catalog", "import", "FOLDER", "--catalog", str(store.path)]
    if store.path.resolve() == (demo.catalogs_dir() / f"{demo.DEMO_NAME}.db").resolve():
        src = demo.demo_folder()
        words[3:] = [str(src), "--metadata", str(src / "catalog.csv"), "--catalog", "demo"]
    if model:
        words += ["--model", model]
    return shlex.join(words)


def _keyword_only_search(store: "CatalogStore"):
    from vlm_desktop.core.catalog.search import CatalogSearch
    from vlm_desktop.core.catalog.vector_index import CatalogIndex

    return CatalogSearch(store, CatalogIndex(store, "keyword-only"))


def _cmd_recommend(args: argparse.Namespace) -> int:
    from vlm_desktop.core.catalog.recommend import read_history, recommend
    from vlm_desktop.core.catalog.search import CatalogSearch

    store = _store(args)
    purchases, report = read_history(store, args.history)
    for p in report.problems:
        _err(f"history row {p.row}: {p.reason}")
    engine = _open_engine(args)
    index = CatalogSearch.for_engine(store, engine).similarity_index()
    for r in recommend(store, index, args.k, purchases=purchases):
        _out({"id": r.item.id, "title": r.item.title, "path": str(store.root / r.item.path),
              "category": r.item.category, "price": r.item.price, "score": round(r.score, 6),
              "because": [{"id": b.id, "title": b.title} for b in r.because],
              "reason": r.reason})
    return 0


def _cmd_quarantine(args: argparse.Namespace) -> int:
    store = _store(args)
    for q in store.quarantine():
        _out({"path": q.path, "reason": q.reason, "when": q.when})
    return 0
