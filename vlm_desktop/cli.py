"""Headless commands over core: `vlm-desktop caption|ask|…`. Never imports Qt.

Other modules add commands: `vlm_desktop.cli_catalog` and `vlm_desktop.cli_models`, when
present, get `register(subparsers)` and set `func=` on their parsers; they reuse
`add_model_options` and `open_engine` from here. Core modules are imported inside the
commands so `--version` and `--help` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from vlm_desktop import __version__

if TYPE_CHECKING:
    from PIL import Image

    from vlm_desktop.core.device import DeviceChoice
    from vlm_desktop.core.engine.protocol import Engine
    from vlm_desktop.core.engine.types import HeatMap, ModelInfo, WordSpan

PROG = "vlm-desktop"
EXTENSION_MODULES = ("vlm_desktop.cli_catalog", "vlm_desktop.cli_models")
CLI_FLAGS = frozenset({"--version", "-V", "--help", "-h", "--self-test"})
HEATMAP_OPACITY = 0.5

EXIT_OK = 0
EXIT_FAILED = 1  # some input failed; the others were processed
EXIT_UNAVAILABLE = 2  # no usable model or device (also argparse's usage errors)
EXIT_INTERRUPTED = 130

log = logging.getLogger(__name__)


# --- shared helpers for every command module ------------------------------------------------


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--device, --model, --json and --debug, the same on every command that runs a model."""
    parser.add_argument("--device", default="auto", metavar="D",
                        help="where the model runs: auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--model", default=None, metavar="NAME",
                        help="installed model to use (default: the one set with "
                             "`vlm-desktop models default`, else the built-in one)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per line instead of text")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks and debug logging")


def open_engine(args: argparse.Namespace, capability: str = "caption"
                ) -> tuple["Engine", "DeviceChoice"]:
    """Load the model named by args.model (else the default for `capability`) on args.device.

    Raises ModelUnavailable or DeviceError with a message for the user; `main` prints it
    and exits with status 2.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the CLI never downloads either
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from vlm_desktop.core.device import choose_device
    from vlm_desktop.core.engine import registry
    from vlm_desktop.core.native import collector_paused

    name = getattr(args, "model", None)
    if name is None:  # the catalog has its own default model, apart from the captioner
        name = (registry.embedding_model_for(None) if capability == "embed"
                else registry.default_model_for(capability))
    factory = registry.engine_factory(name)  # fails fast: no model
    with collector_paused():  # torch's import and the weights: no full collections meanwhile
        choice = choose_device(getattr(args, "device", "auto"))
        start = time.perf_counter()
        engine = factory(choice)
    log.info("model loaded in %.0f ms on %s (%s)", (time.perf_counter() - start) * 1000,
             choice.device, choice.reason)
    return engine, choice


def emit(record: dict[str, Any], as_json: bool, text: str) -> None:
    """One result: a JSON line or `text` on stdout; an error record's text goes to stderr."""
    if as_json:
        print(json.dumps(record, ensure_ascii=False), flush=True)
    elif "error" in record:
        print(text, file=sys.stderr, flush=True)
    else:
        print(text, flush=True)


def progress(index: int, total: int, label: str) -> None:
    """`[i/n] label` on stderr when there is more than one item (results stay on stdout)."""
    if total > 1:
        print(f"[{index}/{total}] {label}", file=sys.stderr, flush=True)


def item_error(exc: BaseException, debug: bool, path: str = "") -> str:
    """The message for one failed input, naming it; the command goes on with the next one."""
    from vlm_desktop.core.images import ImageLoadError

    if isinstance(exc, ImageLoadError):
        return str(exc)  # already names the file
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if "CUDA out of memory" in str(exc) or type(exc).__name__ == "OutOfMemoryError":
        return "The GPU ran out of memory. Try --device cpu."
    where = f" with {path}" if path else ""
    return f"Unexpected error{where}: {exc or type(exc).__name__}"


# --- caption and ask ------------------------------------------------------------------------


def _model_fields(info: "ModelInfo", choice: "DeviceChoice") -> dict[str, Any]:
    return {"model": info.name, "device": choice.device}


def _set_language(engine: "Engine", args: argparse.Namespace) -> None:
    """--lang zh_CN: captions and answers in Chinese, where the model speaks it (the
    built-in one); a question typed in Chinese is answered in Chinese anyway."""
    if getattr(args, "lang", None) and hasattr(engine, "language"):
        from vlm_desktop.core.engine.lite.engine import language_from

        engine.language = language_from(args.lang)


def _cmd_caption(args: argparse.Namespace) -> int:
    from vlm_desktop.core.images import load_image
    from vlm_desktop.core.video import is_video

    videos = [p for p in args.images if is_video(p)]
    if (args.srt or args.vtt) and len(videos) != 1:
        print(f"{PROG} caption: --srt and --vtt take exactly one video "
              f"({len(videos)} given)", file=sys.stderr)
        return EXIT_UNAVAILABLE  # argparse's usage status
    engine, choice = open_engine(args)
    _set_language(engine, args)
    failed = 0
    try:
        info = engine.info()
        for index, path in enumerate(args.images, 1):
            progress(index, len(args.images), path)
            if is_video(path):
                failed += _caption_video(engine, info, choice, path, args)
                continue
            start = time.perf_counter()
            try:
                image = load_image(path)
                caption = engine.caption(image)
                ms = (time.perf_counter() - start) * 1000
                record: dict[str, Any] = {
                    "image": path, "caption": caption.text,
                    "confidence": round(float(caption.confidence), 4),
                    **_model_fields(info, choice), "ms": round(ms, 1),
                }
                if args.heatmap_dir:
                    record["heatmaps"] = write_heatmaps(image, path, args.heatmap_dir,
                                                        caption.words)
                text = f"{path}: {caption.text} (confidence {caption.confidence:.2f}, {ms:.0f} ms)"
            except Exception as exc:
                failed += 1
                record = {"image": path, "error": item_error(exc, args.debug, path)}
                text = f"{path}: error: {record['error']}"
            emit(record, args.json, text)
    finally:
        engine.close()
    return EXIT_FAILED if failed else EXIT_OK


def _caption_video(engine: "Engine", info: "ModelInfo", choice: "DeviceChoice", path: str,
                   args: argparse.Namespace) -> int:
    """Caption each scene of one video (a JSON object per scene); subtitles if asked.
    Returns 1 when the video failed, else 0."""
    from vlm_desktop.core import video

    def shown(c: "video.SceneCaption", _scene: object) -> None:
        record = {"video": path, **video.record(c), **_model_fields(info, choice)}
        emit(record, args.json, f"{path} [{video.clock(c.start_s)}–{video.clock(c.end_s)}] "
                                f"{c.text} (confidence {c.confidence:.2f})")

    try:
        captions = video.caption_scenes(engine, path, on_scene=shown)
    except Exception as exc:
        record = {"video": path, "error": item_error(exc, args.debug, path)}
        emit(record, args.json, f"{path}: error: {record['error']}")
        return 1
    for target, text in ((args.srt, video.to_srt), (args.vtt, video.to_vtt)):
        if target:
            Path(target).write_text(text(captions), encoding="utf-8")
            print(f"Wrote {len(captions)} cues to {target}", file=sys.stderr, flush=True)
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from vlm_desktop.core.images import load_image

    engine, choice = open_engine(args, "answer")
    _set_language(engine, args)
    try:
        info = engine.info()
        start = time.perf_counter()
        try:
            image = load_image(args.image)
            answer = engine.answer(image, args.question)
        except Exception as exc:
            record = {"image": args.image, "error": item_error(exc, args.debug, args.image)}
            emit(record, args.json, f"{args.image}: error: {record['error']}")
            return EXIT_FAILED
        ms = (time.perf_counter() - start) * 1000
        record = {
            "image": args.image, "question": args.question, "answer": answer.text,
            "confidence": round(float(answer.confidence), 4),
            **_model_fields(info, choice), "ms": round(ms, 1),
        }
        if args.heatmap_dir:
            record["heatmaps"] = write_heatmaps(image, args.image, args.heatmap_dir,
                                                answer.words, answer.heatmap)
        emit(record, args.json,
             f"{args.image}: {answer.text} (confidence {answer.confidence:.2f}, {ms:.0f} ms)")
    finally:
        engine.close()
    return EXIT_OK


def _safe_word(word: str) -> str:
    return re.sub(r"[^\w-]+", "_", word.lower()).strip("_") or "map"


def write_heatmaps(image: "Image.Image", source: str, directory: str | os.PathLike[str],
                   words: Iterable["WordSpan"], extra: Optional["HeatMap"] = None) -> list[str]:
    """Each word's heat map over the image as `<stem>__<word>.png` in `directory`; the paths."""
    from vlm_desktop.core.explain.overlay import overlay

    maps: dict[str, HeatMap] = {}
    for span in words:
        if span.heatmap is not None:
            maps.setdefault(_safe_word(span.text), span.heatmap)
    if extra is not None:
        maps.setdefault(_safe_word(extra.label), extra)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for word, heatmap in maps.items():
        path = out / f"{Path(source).stem}__{word}.png"
        overlay(image, heatmap, HEATMAP_OPACITY).save(path)
        written.append(str(path))
    return written


def _add_lang_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", metavar="LANG", default=None, choices=("en", "zh_CN"),
                        help="language of captions and answers: en (default) or zh_CN "
                             "(built-in model)")


def _add_heatmap_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--heatmap-dir", metavar="DIR", default=None,
                        help="write each word's heat map over the image as DIR/<image>__<word>.png")


def _register_builtin(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    caption = sub.add_parser("caption", help="describe images in one sentence",
                             description="Caption each image; a failing file does not stop "
                                         "the others (exit status 1 if any failed).")
    caption.add_argument("images", nargs="+", metavar="IMAGE",
                         help="image files, or videos (MP4, MKV, WebM, MOV, AVI): one caption "
                              "per scene")
    caption.add_argument("--srt", metavar="FILE", default=None,
                         help="write the video's scene captions as SRT subtitles")
    caption.add_argument("--vtt", metavar="FILE", default=None,
                         help="write the video's scene captions as WebVTT subtitles")
    add_model_options(caption)
    _add_heatmap_option(caption)
    _add_lang_option(caption)
    caption.set_defaults(func=_cmd_caption)

    ask = sub.add_parser("ask", help="answer a question about an image",
                         description="Answer QUESTION about IMAGE.")
    ask.add_argument("image", metavar="IMAGE", help="an image file")
    ask.add_argument("question", metavar="QUESTION", help="the question, quoted")
    add_model_options(ask)
    _add_heatmap_option(ask)
    _add_lang_option(ask)
    ask.set_defaults(func=_cmd_ask)


# --- parser and dispatch --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The full parser: built-in commands plus those the extension modules register."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="VLM Desktop. Without a command the window opens; these commands run "
                    "headless and offline.",
        epilog=f"To open the window on a picture: {PROG} photo.jpg. The demo catalog is "
               f"available to the catalog commands as --catalog demo.")
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="check that this installation works, headless and offline, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_builtin(sub)
    for name in EXTENSION_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name).register(sub)
        except Exception as exc:  # one broken add-on must not take `caption` down with it
            print(f"warning: the commands from {name} are unavailable: {exc}", file=sys.stderr)
    return parser


def command_names() -> frozenset[str]:
    """Every subcommand name, built-in and registered."""
    parser = build_parser()
    for action in parser._actions:  # argparse keeps the subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return frozenset(action.choices)
    return frozenset()


def is_cli_invocation(argv: Sequence[str]) -> bool:
    """True when argv asks for a headless command rather than the window."""
    if any(arg in CLI_FLAGS for arg in argv):
        return True
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first is not None and first in command_names()


def _setup_logging(debug: bool) -> None:
    root = logging.getLogger()
    if debug:
        root.setLevel(logging.DEBUG)
    if not root.handlers:  # app.main installs the log file first; alone, log to stderr
        logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one headless command; returns the exit status (0 ok, 1 some input failed, 2 no model)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args_in:
        from vlm_desktop import selftest

        return selftest.main([a for a in args_in if a != "--self-test"])
    parser = build_parser()
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_UNAVAILABLE
    func = getattr(args, "func", None)
    if func is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is needed (or run without arguments for the window)",
              file=sys.stderr)
        return EXIT_UNAVAILABLE
    debug = bool(getattr(args, "debug", False))
    _setup_logging(debug)
    return _dispatch(func, args, debug)


def _dispatch(func: Any, args: argparse.Namespace, debug: bool) -> int:
    from vlm_desktop.core.device import DeviceError
    from vlm_desktop.core.engine.registry import ModelUnavailable

    try:
        return int(func(args))
    except (ModelUnavailable, DeviceError) as exc:
        _print_failure(exc, debug)
        return EXIT_UNAVAILABLE
    except _user_errors() as exc:  # worded for people, and they name their file
        _print_failure(exc, debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        _print_failure(exc, debug, prefix=f"unexpected error ({type(exc).__name__}): ")
        return EXIT_FAILED


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message is for the user: printed as they are, without "unexpected"."""
    from vlm_desktop.core.catalog.metadata import MetadataError
    from vlm_desktop.core.catalog.store import CatalogError
    from vlm_desktop.core.images import ImageLoadError
    from vlm_desktop.core.models import ModelFolderError

    return (CatalogError, MetadataError, ImageLoadError, ModelFolderError, FileNotFoundError)


def _print_failure(exc: BaseException, debug: bool, prefix: str = "") -> None:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"{PROG}: {prefix}{exc}", file=sys.stderr)
