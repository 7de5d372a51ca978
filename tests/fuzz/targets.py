"""Fuzz targets for issue #11: the image loader, the metadata and history importers, and
model import (archives and weight files).

Each target feeds one input to the product code and states its contract: the only
exception allowed out is the project's own, worded error (`ImageLoadError`,
`MetadataError`, `ModelFolderError`). Anything else (a `struct.error`, a `RecursionError`,
an `OSError` from a decoder) is a bug a user would see as "unexpected error".

`failure(target, data)` runs one input and returns None or a `Failure` (the exception and
where it was raised, the key two inputs of one bug share).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import tarfile
import tempfile
import traceback
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


@dataclass(frozen=True)
class Target:
    """One thing to fuzz: `run(data)` may raise only `allowed` exceptions."""

    name: str
    run: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]


@dataclass(frozen=True)
class Failure:
    """An input broke its target's contract."""

    kind: str  # exception type name
    where: str  # "file:line" of the deepest frame in the product (or the library)
    message: str

    @property
    def key(self) -> str:
        return f"{self.kind} at {self.where}"


def failure(target: Target, data: bytes) -> Optional[Failure]:
    """Run `data` through `target`; the broken contract, if any."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are not crashes; pytest makes them so
            target.run(data)
    except target.allowed:
        return None
    except RecursionError as exc:
        return Failure("RecursionError", _where(exc), str(exc)[:200])
    except Exception as exc:  # the point of fuzzing: anything else is a finding
        return Failure(type(exc).__name__, _where(exc), str(exc)[:200])
    return None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "vlm_desktop" in f.filename]
    frame = (ours or frames)[-1] if (ours or frames) else None
    if frame is None:
        return "?"
    tail = frame.filename.split("site-packages/")[-1].split("vlm_desktop/")[-1]
    return f"{tail}:{frame.lineno}"


# --- shared scratch space ------------------------------------------------------------------


@lru_cache(maxsize=None)
def _scratch() -> Path:
    """One temporary folder per process for the targets' files (removed at exit)."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix="vlm-fuzz-"))
    atexit.register(shutil.rmtree, path, True)
    return path


# --- the image loader ----------------------------------------------------------------------


def _image_run(data: bytes) -> None:
    from vlm_desktop.core.images import load_image, open_image_size

    open_image_size(data)
    load_image(data)


def _image_allowed() -> tuple[type[BaseException], ...]:
    from vlm_desktop.core.images import ImageLoadError

    return (ImageLoadError,)


def _image_seeds() -> list[bytes]:
    from PIL import Image

    im = Image.new("RGB", (6, 5), (200, 40, 40))
    im.putpixel((1, 1), (0, 0, 255))
    out = []
    for fmt, extra in (("PNG", {}), ("JPEG", {"quality": 50}), ("GIF", {}), ("BMP", {}),
                       ("TIFF", {}), ("WEBP", {"lossless": True}), ("ICO", {}),
                       ("PPM", {}), ("TGA", {})):
        buf = io.BytesIO()
        im.save(buf, fmt, **extra)
        out.append(buf.getvalue())
    buf = io.BytesIO()  # TIFF with rational tags (where a TypeError once hid)
    im.save(buf, "TIFF", dpi=(72.5, 72.5), compression="tiff_deflate")
    out.append(buf.getvalue())
    buf = io.BytesIO()
    im.convert("RGBA").save(buf, "PNG", exif=Image.Exif())
    out.append(buf.getvalue())
    buf = io.BytesIO()
    frames = [im, im.rotate(90)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=10)
    out.append(buf.getvalue())
    return out


# --- metadata and history ------------------------------------------------------------------


@lru_cache(maxsize=None)
def _catalog_root() -> Path:
    from PIL import Image

    root = _scratch() / "catalog"
    for name in ("a.png", "b.png", "shoes/c.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (2, 2)).save(root / name)
    return root


def _metadata_run(suffix: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from vlm_desktop.core.catalog.metadata import read_metadata

        path = _scratch() / f"metadata{suffix}"
        path.write_bytes(data)
        read_metadata(path, _catalog_root())

    return run


def _metadata_allowed() -> tuple[type[BaseException], ...]:
    from vlm_desktop.core.catalog.metadata import MetadataError

    return (MetadataError,)


def _csv_seeds() -> list[bytes]:
    return [b"image,title,category,price,currency,tags,id,url\n"
            b"a.png,Red shoe,Shoes,$12.50,,red;leather,SKU-1,http://x\n"
            b'b.png,"Quoted, title",Bags,"1,299.00",EUR,,SKU-2,\n'
            b"shoes/c.png,=cmd,Shoes,12,50 \xe2\x82\xac,,,\n",
            b"file;name;cost\na.png;Boot;3,5\nb.png;\"multi\nline\";4\n",
            b"image\ta\n\"a.png\t\"x\"\"\n"]


def _json_seeds() -> list[bytes]:
    return [b'[{"image": "a.png", "title": "Red", "price": 12.5, "tags": ["a", "b"]},'
            b' {"image": "b.png", "price": "$3", "id": 7}, 3, {"image": "../x.png"}]',
            b'{"items": [{"file": "shoes/c.png", "name": "C", "cost": 1e3}]}',
            b'{"meta": [[{}]], "products": [{"image": "a.png", "title": [[1]]}]}']


def _jsonl_seeds() -> list[bytes]:
    return [b'{"image": "a.png", "title": "Red", "price": 1}\n\n[1, 2]\n'
            b'{"image": "b.png", "tags": "x;y", "price": NaN}\n{"image": \n',
            b'{"image": "shoes/c.png", "title": "\\ud800"}\n\xff\xfe\n']


@lru_cache(maxsize=None)
def _history_store():
    from vlm_desktop.core.catalog.importer import import_folder
    from vlm_desktop.core.catalog.store import CatalogStore

    store = CatalogStore(_scratch() / "history.db")
    import_folder(store, _catalog_root())
    return store


def _history_run(data: bytes) -> None:
    from vlm_desktop.core.catalog.recommend import read_history

    path = _scratch() / "history.csv"
    path.write_bytes(data)
    read_history(_history_store(), path)


def _history_seeds() -> list[bytes]:
    return [b"item_id,image,timestamp,quantity\n,a.png,2024-01-01T10:00:00Z,2\n"
            b"1,,1700000000,1\n,shoes/c.png,2024-02-30,1\n,b.png,nan,x\n",
            b"image,timestamp\r\na.png,\"2024-01-01\r\nb.png,1e308\r\n"]


# --- model import --------------------------------------------------------------------------


def _model_limits():
    from vlm_desktop.core.model_files import ImportLimits

    # Small enough that a bomb is met in milliseconds, as the real caps meet it in seconds.
    return ImportLimits(max_file_bytes=4 << 20, max_total_bytes=8 << 20, max_ratio=50.0,
                        ratio_floor_bytes=1 << 20, keep_free_bytes=0)


def _archive_run(suffix: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from vlm_desktop.core import models

        home = _scratch() / "home"
        os.environ["VLM_DESKTOP_HOME"] = str(home)  # a fuzzing process only, never a test's
        archive = _scratch() / f"model{suffix}"
        archive.write_bytes(data)
        try:
            models.import_model(archive, name="fuzzed", limits=_model_limits())
        finally:
            shutil.rmtree(home / "data" / "models" / "fuzzed", ignore_errors=True)
            manifest = home / "data" / "models" / models.MANIFEST
            manifest.unlink(missing_ok=True)

    return run


def _model_allowed() -> tuple[type[BaseException], ...]:
    from vlm_desktop.core.models import ModelFolderError

    return (ModelFolderError,)


_CONFIG = b'{"architectures": ["CLIPModel"], "model_type": "clip"}'


def _safetensors(header: dict, payload: bytes) -> bytes:
    import json

    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


_WEIGHTS = _safetensors({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"format": "pt"}}, bytes(16))


def _zip_seeds() -> list[bytes]:
    out = []
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as zf:
            zf.writestr("m/config.json", _CONFIG)
            zf.writestr("m/model.safetensors", _WEIGHTS)
            zf.writestr("m/zeros.bin", bytes(1 << 16))
        out.append(buf.getvalue())
    return out


def _tar_seeds() -> list[bytes]:
    out = []
    for mode in ("w", "w:gz"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as tf:
            for name, data in (("m/config.json", _CONFIG), ("m/model.safetensors", _WEIGHTS)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("m/link")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(link)
        out.append(buf.getvalue())
    return out


def _weights_run(data: bytes) -> None:
    """A model folder whose safetensors file is the input: the header parser's contract."""
    from vlm_desktop.core import models

    folder = _model_folder()
    (folder / "model.safetensors").write_bytes(data)
    models.verify_folder(folder, deep=False)


@lru_cache(maxsize=None)
def _model_folder() -> Path:
    folder = _scratch() / "weights-model"
    folder.mkdir()
    (folder / "config.json").write_bytes(
        b'{"architectures": ["BlipForConditionalGeneration"], "model_type": "blip"}')
    (folder / "preprocessor_config.json").write_text("{}")
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        (folder / name).write_text("{}")
    return folder


def _weights_seeds() -> list[bytes]:
    return [_WEIGHTS,
            _safetensors({"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]},
                          "b": {"dtype": "I64", "shape": [1, 1], "data_offsets": [6, 14]}},
                         bytes(14)),
            struct.pack("<Q", 2) + b"{}",
            zlib.compress(b"not weights")]


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("image", _image_run, (), _image_seeds),
    Target("metadata-csv", _metadata_run(".csv"), (), _csv_seeds),
    Target("metadata-json", _metadata_run(".json"), (), _json_seeds),
    Target("metadata-jsonl", _metadata_run(".jsonl"), (), _jsonl_seeds),
    Target("history", _history_run, (), _history_seeds),
    Target("model-zip", _archive_run(".zip"), (), _zip_seeds),
    Target("model-tar", _archive_run(".tar.gz"), (), _tar_seeds),
    Target("model-weights", _weights_run, (), _weights_seeds),
)}
_ALLOWED = {"image": _image_allowed, "metadata-csv": _metadata_allowed,
            "metadata-json": _metadata_allowed, "metadata-jsonl": _metadata_allowed,
            "history": _metadata_allowed, "model-zip": _model_allowed,
            "model-tar": _model_allowed, "model-weights": _model_allowed}


def target(name: str) -> Target:
    """The target `name` with its allowed errors (imported on first use, not at collection)."""
    t = TARGETS[name]
    return Target(t.name, t.run, _ALLOWED[name](), t.seeds)


def corpus_files(name: str) -> list[Path]:
    """The kept inputs of target `name`: every input that once broke it."""
    folder = CORPUS / name
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if folder.is_dir() else []
