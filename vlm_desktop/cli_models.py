"""`vlm-desktop models list|import|remove|default|scan`: the model manager, headless."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 2


def _record_json(rec: Any, defaults: dict[str, str]) -> dict[str, Any]:
    data = rec.to_json()
    data["default_for"] = sorted(c for c, n in defaults.items() if n == rec.name)
    return data


def _cmd_list(args: argparse.Namespace) -> int:
    from vlm_desktop.core import models

    records = models.list_models()
    defaults = models.defaults()
    if args.json:
        print(json.dumps({"models": [_record_json(r, defaults) for r in records],
                          "defaults": defaults}, ensure_ascii=False))
        return EXIT_OK
    print(f"{'NAME':<20} {'FAMILY':<24} {'DTYPE':<10} {'SIZE':>9} {'PARAMS':>9} {'RAM':>9}  "
          "CAPABILITIES  SOURCE")
    for r in records:
        caps = ",".join(sorted(r.capabilities))
        size = models.human_size(r.size_bytes) if r.size_bytes else "-"
        params = f"{r.parameters / 1e6:.1f}M" if r.parameters else "-"
        ram = models.human_size(r.est_ram_bytes) if r.est_ram_bytes else "-"
        marks = [c for c, n in defaults.items() if n == r.name]
        tail = f"  (default: {', '.join(marks)})" if marks else ""
        print(f"{r.name:<20} {r.label:<24} {r.dtype or '-':<10} {size:>9} {params:>9} {ram:>9}  "
              f"{caps}  {r.origin}{tail}")
    return EXIT_OK


def _refused(exc: Exception, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
    print(f"vlm-desktop: {exc}", file=sys.stderr)
    return EXIT_REFUSED


def _cmd_import(args: argparse.Namespace) -> int:
    from vlm_desktop.core import models

    try:
        rec = models.import_model(args.path, name=args.name, copy=not args.in_place)
    except models.ModelFolderError as exc:
        return _refused(exc, args.json)
    if args.json:
        print(json.dumps(rec.to_json(), ensure_ascii=False))
    else:
        size = models.human_size
        print(f"imported {rec.name}: {rec.label}, {rec.parameters / 1e6:.1f}M parameters, "
              f"{size(rec.size_bytes)} on disk, about {size(rec.est_ram_bytes)} RAM "
              f"(CPU) / {size(rec.est_vram_bytes)} GPU memory; can do: "
              f"{', '.join(sorted(rec.capabilities))}")
    return EXIT_OK


def _cmd_remove(args: argparse.Namespace) -> int:
    from vlm_desktop.core import models

    try:
        models.remove_model(args.name)
    except models.ModelFolderError as exc:
        return _refused(exc, False)
    print(f"removed {args.name}")
    return EXIT_OK


def _cmd_default(args: argparse.Namespace) -> int:
    from vlm_desktop.core import models

    try:
        models.set_default(args.capability, args.name)
    except models.ModelFolderError as exc:
        return _refused(exc, False)
    print(f"{args.name} is now the default for {args.capability}")
    return EXIT_OK


def _cmd_scan(args: argparse.Namespace) -> int:
    from vlm_desktop.core import models

    found = models.find_cached_models()
    if args.json:
        print(json.dumps([{"repo_id": c.repo_id, "path": c.path, "label": c.label}
                          for c in found]))
    elif not found:
        print(f"no supported models in {models.hf_cache_dir()}")
    for c in found if not args.json else []:
        print(f"{c.repo_id:<48} {c.label:<26} {c.path}")
    return EXIT_OK


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `models` command group to the main parser."""
    models = sub.add_parser("models", help="list, import and remove pretrained models",
                            description="Manage installed models (offline; nothing downloads).")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    p = msub.add_parser("list", help="installed models, the built-in one first")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_list)

    p = msub.add_parser("import", help="verify and install a model folder or archive")
    p.add_argument("path", metavar="PATH",
                   help="a Hugging Face-format model folder, or a .zip / .tar(.gz,.bz2,.xz) of one")
    p.add_argument("--name", default=None, help="the name to install it under")
    p.add_argument("--in-place", action="store_true",
                   help="use the folder where it is instead of copying it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_import)

    p = msub.add_parser("remove", help="uninstall a model (not the built-in one)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_cmd_remove)

    p = msub.add_parser("default", help="use a model by default for one capability")
    p.add_argument("capability", choices=["caption", "answer", "embed", "relevance"])
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_cmd_default)

    p = msub.add_parser("scan", help="list supported models already in the Hugging Face cache")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_scan)
