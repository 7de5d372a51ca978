"""Finding and checking checkpoint files without trusting them.

Safetensors files are read through their header only (no code can run); a pickle checkpoint
(`pytorch_model.bin`) is accepted only if `torch.load(weights_only=True)` can read it.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE_INDEX = "pytorch_model.bin.index.json"


class WeightsRefused(ValueError):
    """Checkpoint files are missing, corrupt or unsafe; the message says which and why."""


@dataclass(frozen=True)
class WeightsReport:
    """What the checkpoint holds: its files, format and parameter count."""

    files: tuple[Path, ...]
    format: str  # "safetensors" | "pickle"
    parameters: int
    dtype: str = ""  # the storage type most parameters have, e.g. "bfloat16"


def _indexed(folder: Path, index_name: str) -> list[Path] | None:
    index = folder / index_name
    if not index.is_file():
        return None
    try:
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    except (ValueError, KeyError, TypeError) as exc:
        raise WeightsRefused(f"{index_name} is not a valid shard index ({exc}).") from exc
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise WeightsRefused(f"missing weight shard {missing[0]} (listed in {index_name}).")
    return [folder / n for n in names]


def find_weights(folder: Path) -> tuple[list[Path], str]:
    """The checkpoint files and their format, safetensors preferred."""
    shards = _indexed(folder, SAFETENSORS_INDEX)
    if shards:
        return shards, "safetensors"
    if (folder / "model.safetensors").is_file():
        return [folder / "model.safetensors"], "safetensors"
    shards = _indexed(folder, PICKLE_INDEX)
    if shards:
        return shards, "pickle"
    if (folder / "pytorch_model.bin").is_file():
        return [folder / "pytorch_model.bin"], "pickle"
    raise WeightsRefused("missing weights (model.safetensors or pytorch_model.bin).")


def _safetensors_params(path: Path) -> int:
    from safetensors import safe_open

    try:
        total = 0
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                total += math.prod(f.get_slice(name).get_shape())
        return total
    except Exception as exc:  # the library raises several types for a damaged header
        raise WeightsRefused(f"{path.name} is damaged or not a safetensors file ({exc}).") from exc


_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "F8_E4M3": "float8_e4m3", "F8_E5M2": "float8_e5m2", "I64": "int64",
                       "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def _safetensors_dtypes(path: Path) -> Counter[str]:
    """Parameters per storage type, from the file's JSON header (nothing else is read)."""
    counts: Counter[str] = Counter()
    try:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(min(length, 100_000_000)))
    except (OSError, ValueError, struct.error):
        return counts  # _safetensors_params has already said what is wrong with it
    for key, entry in header.items():
        if key != "__metadata__" and isinstance(entry, dict):
            name = _SAFETENSORS_DTYPES.get(str(entry.get("dtype")), str(entry.get("dtype")).lower())
            counts[name] += math.prod(int(d) for d in entry.get("shape", ()))
    return counts


def _pickle_dtypes(path: Path) -> Counter[str]:
    import torch

    state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    counts: Counter[str] = Counter()
    for value in state.values():
        if isinstance(value, torch.Tensor):
            counts[str(value.dtype).removeprefix("torch.")] += int(value.numel())
    return counts


def _pickle_params(path: Path) -> int:
    import pickle

    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as exc:
        raise WeightsRefused(
            f"{path.name} is a pickle checkpoint that would run code when loaded, so it was "
            f"refused ({str(exc).splitlines()[0]}). Convert it to safetensors on a trusted machine."
        ) from exc
    except Exception as exc:
        raise WeightsRefused(f"{path.name} cannot be read ({exc}).") from exc
    if not isinstance(state, dict):
        raise WeightsRefused(f"{path.name} does not hold a state dict.")
    return sum(int(v.numel()) for v in state.values() if isinstance(v, torch.Tensor))


def check_weights(folder: Path) -> WeightsReport:
    """Find the checkpoint and read it safely enough to count its parameters."""
    files, fmt = find_weights(folder)
    reader = _safetensors_params if fmt == "safetensors" else _pickle_params
    params = sum(reader(f) for f in files)
    if params == 0:
        raise WeightsRefused(f"{files[0].name} holds no tensors.")
    counts: Counter[str] = Counter()
    for f in files:
        counts += _safetensors_dtypes(f) if fmt == "safetensors" else _pickle_dtypes(f)
    dtype = counts.most_common(1)[0][0] if counts else ""
    return WeightsReport(tuple(files), fmt, params, dtype)
