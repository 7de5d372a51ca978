"""`vlm-desktop --self-test`: prove an installed copy works, headless and offline.

Loads the built-in model, captions and asks about a bundled photo, searches the demo
catalog, and prints one JSON object with the outcome and timings of each step. The
network is blocked for the whole run, so a step that tries to reach it fails by name.
Exit status 0 when every step passed (skipped steps say why), 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from vlm_desktop import __version__

QUESTION = "What animal is this?"
# Words any sound reading of the bundled photo (a tabby cat) contains; a model loaded with
# wrong or scrambled weights does not produce them.
EXPECTED_WORDS = ("cat", "tabby", "kitten", "feline")
DEMO_CATALOG = "demo_catalog"
DEMO_TABLE = "catalog.csv"
CATALOG_SAMPLE = 12
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


class SelfTestFailure(Exception):
    """A step ran but its result is wrong; the message says what was expected."""


class StepSkipped(Exception):
    """A step cannot run in this build; the message says why."""


class NetworkAttempt(Exception):
    """Something tried to open a network connection during the self-test."""


@dataclass(frozen=True)
class StepResult:
    """One step's outcome as it appears in the JSON report."""

    name: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float
    detail: str = ""


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Refuse every non-local socket connection while the block runs."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None):
            return real_connect(self, address)
        raise NetworkAttempt(f"network connection attempted: {address!r}")

    socket.socket.connect = guarded  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


def _run_step(name: str, fn: Callable[[], str]) -> StepResult:
    start = time.perf_counter()
    try:
        detail, status = fn(), "ok"
    except StepSkipped as exc:
        detail, status = str(exc), "skipped"
    except Exception as exc:  # noqa: BLE001 - every failure is reported, with its traceback
        detail, status = f"{type(exc).__name__}: {exc}", "failed"
        traceback.print_exc(file=sys.stderr)
    return StepResult(name, status, round(time.perf_counter() - start, 3), detail)


class _SelfTest:
    """The steps, sharing the loaded engine and image between them."""

    def __init__(self, device: str) -> None:
        self.device_request = device
        self.engine: Any = None
        self.image: Any = None

    def offline_flags(self) -> str:
        missing = [f for f in OFFLINE_FLAGS if os.environ.get(f) != "1"]
        if missing:
            raise SelfTestFailure(f"offline flags not set: {', '.join(missing)}")
        return "hub and transformers forced offline"

    def load_model(self) -> str:
        from vlm_desktop.core.device import choose_device
        from vlm_desktop.core.engine.registry import BUILTIN_NAME, engine_factory

        choice = choose_device(self.device_request)
        self.engine = engine_factory(BUILTIN_NAME)(choice)
        info = self.engine.info()
        runtime = f"; {info.runtime}" if info.runtime else ""
        return (f"{info.name} {info.version} on {info.device} ({info.dtype}); "
                f"{choice.reason}{runtime}")

    def load_image(self) -> str:
        from vlm_desktop.core.images import load_image

        # One part per `/`: multi-part joinpath() is not in every Traversable.
        photo = resources.files("vlm_desktop.resources") / "samples" / "chelsea.jpg"
        self.image = load_image(photo.read_bytes())
        return f"{photo.name} {self.image.size[0]}x{self.image.size[1]}"

    def caption(self) -> str:
        caption = self.engine.caption(self._need_image())
        _expect_words(caption.text, "caption")
        return f"{caption.text!r} (confidence {caption.confidence:.2f})"

    def answer(self) -> str:
        answer = self.engine.answer(self._need_image(), QUESTION)
        _expect_words(answer.text, "answer")
        return f"{QUESTION!r} -> {answer.text!r} (confidence {answer.confidence:.2f})"

    def catalog_search(self) -> str:
        demo = resources.files("vlm_desktop.resources") / DEMO_CATALOG
        if not demo.is_dir():
            raise StepSkipped(f"this build has no demo catalog (resources/{DEMO_CATALOG})")
        if self.engine is None:
            raise SelfTestFailure("an earlier step failed (model not loaded)")
        with tempfile.TemporaryDirectory(prefix="vlm-desktop-selftest-") as tmp:
            # Source checkouts, wheels and the frozen build all keep resources as real files.
            return _search_demo(self.engine, Path(str(demo)), Path(tmp))

    def video(self) -> str:
        """Encode the cat photo and a grey card as a two-scene clip, then caption its scenes:
        FFmpeg (inside PyAV) must be present and working in this build."""
        from vlm_desktop.core import video

        image = self._need_image()
        with tempfile.TemporaryDirectory(prefix="vlm-desktop-selftest-") as tmp:
            clip = _two_scene_clip(image, Path(tmp) / "selftest.mkv")
            captions = video.caption_scenes(self.engine, clip)
        if len(captions) != 2:
            raise SelfTestFailure(f"found {len(captions)} scenes in a two-scene clip")
        _expect_words(captions[0].text, "video caption")
        return f"2 scenes; first: {captions[0].text!r}"

    def _need_image(self) -> Any:
        if self.engine is None or self.image is None:
            raise SelfTestFailure("an earlier step failed (model or image not loaded)")
        return self.image

    def close(self) -> str:
        if self.engine is None:
            return "no engine to close"
        self.engine.close()
        return "engine closed"


def _search_demo(engine: Any, demo: Path, tmp: Path) -> str:
    """Import and index a sample of the demo catalog into a scratch store; an item's own title
    must find it. A sample keeps the step to seconds; it runs the same import, index and search."""
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.indexer import Indexer
    from vlm_desktop.core.catalog.search import CatalogSearch
    from vlm_desktop.core.catalog.store import CatalogStore

    root = _sample_catalog(demo, tmp / "catalog", CATALOG_SAMPLE)
    store = CatalogStore(tmp / "catalog.sqlite", root=root)
    try:
        import_folder(store, root, root / DEMO_TABLE)
        indexer = Indexer(store)
        try:
            indexer.run(engine)
        finally:
            indexer.close()
        items = store.all_items()
        if not items:
            raise SelfTestFailure(f"the demo catalog sample from {demo} imported no items")
        target = items[len(items) // 2]
        hits = CatalogSearch.for_engine(store, engine).by_text(engine, target.title, k=5)
        if target.id not in [hit.item.id for hit in hits]:
            raise SelfTestFailure(f"searching the demo catalog for {target.title!r} did not find it")
        return (f"{store.stats().items} of the demo items indexed; "
                f"{target.title!r} -> {len(hits)} hits, first {hits[0].item.title!r}")
    finally:
        store.close()


def _sample_catalog(demo: Path, dest: Path, count: int) -> Path:
    """Copy every n-th row of the demo table, and its image, into `dest`."""
    table = demo / DEMO_TABLE
    if not table.is_file():
        raise SelfTestFailure(f"the demo catalog has no {DEMO_TABLE}")
    with table.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows, header = list(reader), list(reader.fieldnames or [])
    column = next((c for c in header if c.lower() in ("image", "path", "file")), None)
    if column is None or not rows:
        raise SelfTestFailure(f"{DEMO_TABLE} has no image column or no rows")
    picked = rows[:: max(1, len(rows) // count)][:count]
    for row in picked:
        target = dest / row[column]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo / row[column], target)
    with (dest / DEMO_TABLE).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows(picked)
    return dest


def _two_scene_clip(image: Any, path: Path, fps: int = 5) -> Path:
    import av
    from PIL import Image

    frames = [image.convert("RGB").resize((224, 160))] * (2 * fps)
    frames += [Image.new("RGB", (224, 160), (128, 128, 128))] * (2 * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 224, 160, "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_image(frame)))
        out.mux(stream.encode())
    return path


def _expect_words(text: str, what: str) -> None:
    lowered = text.lower()
    if not any(word in lowered for word in EXPECTED_WORDS):
        raise SelfTestFailure(f"the {what} {text!r} does not recognise the bundled cat photo")


def run(device: str = "auto") -> dict[str, Any]:
    """Run every step and return the report (never raises for a failing step)."""
    for flag in OFFLINE_FLAGS:
        os.environ.setdefault(flag, "1")
    test = _SelfTest(device)
    steps = [("offline_flags", test.offline_flags), ("load_model", test.load_model),
             ("load_image", test.load_image), ("caption", test.caption),
             ("answer", test.answer), ("video", test.video),
             ("catalog_search", test.catalog_search)]
    start = time.perf_counter()
    with no_network():
        results = [_run_step(name, fn) for name, fn in steps]
        results.append(_run_step("close", test.close))
    failed = [r.name for r in results if r.status == "failed"]
    return {
        "ok": not failed,
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "failed": failed,
        "skipped": {r.name: r.detail for r in results if r.status == "skipped"},
        "timings_s": {r.name: r.seconds for r in results},
        "total_s": round(time.perf_counter() - start, 3),
        "steps": [asdict(r) for r in results],
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the JSON report on stdout; 0 when every step passed or was skipped with a reason."""
    parser = argparse.ArgumentParser(prog="vlm-desktop --self-test", description=__doc__)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    args = parser.parse_args(argv)
    report = run(args.device)
    print(json.dumps(report, indent=2))
    if not report["ok"]:
        print(f"self-test FAILED at: {', '.join(report['failed'])}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
