"""The model manager: import, verify, list, remove and choose default models per capability.

Imported models live under `data_dir()/models/<name>/`, described by `models.json`. This
module imports no Qt and no torch at import time; verification reads weights lazily.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

from vlm_desktop.core import model_files, paths
from vlm_desktop.core.engine.hf.families import CAPABILITY_NAMES, UnsupportedModel, family_for
from vlm_desktop.core.engine.hf.weights import WeightsRefused, check_weights
from vlm_desktop.core.engine.types import ALL_CAPABILITIES
from vlm_desktop.core.messages import say

BUILTIN_NAME = "lite"  # the built-in model's name (engine.registry re-exports it)
MANIFEST = "models.json"
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ModelFolderError(ValueError):
    """A folder or archive that is not a usable model; the message names what is wrong."""


@dataclass(frozen=True)
class ModelCheck:
    """What verifying a model folder found."""

    path: str
    architecture: str
    kind: str
    label: str
    capabilities: frozenset[str]
    weights_format: str
    size_bytes: int
    parameters: int
    est_ram_bytes: int
    est_vram_bytes: int
    dtype: str = ""


@dataclass(frozen=True)
class ModelRecord:
    """One installed model as the manifest keeps it."""

    name: str
    path: str
    kind: str
    label: str
    architecture: str
    capabilities: frozenset[str]
    size_bytes: int = 0
    parameters: int = 0
    est_ram_bytes: int = 0
    est_vram_bytes: int = 0
    source: str = ""
    copied: bool = True
    builtin: bool = False
    imported_at: float = field(default=0.0)
    dtype: str = ""  # quantisation / storage type, e.g. "bfloat16", "bitsandbytes 4-bit"

    @property
    def origin(self) -> str:
        """Where it came from, as a person reads it."""
        if self.builtin:
            return "built in"
        return self.source or self.path

    @property
    def display_name(self) -> str:
        """How menus name it: the built-in model by its label, others as "name (label)"."""
        return self.label if self.builtin else f"{self.name} ({self.label})"

    def to_json(self) -> dict:
        data = asdict(self)
        data["capabilities"] = sorted(self.capabilities)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ModelRecord":
        data = dict(data)
        data["capabilities"] = frozenset(data.get("capabilities", ()))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


BUILTIN_RECORD = ModelRecord(
    BUILTIN_NAME, "", "lite", "VLM Lite (built-in)", "", ALL_CAPABILITIES, builtin=True,
    dtype="float32")


# --- verification -------------------------------------------------------------------------


def human_size(n: int) -> str:
    """A byte count as people read it: "512 B", "232.8 KB", "1.4 GB"."""
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _has_image_processor(folder: Path) -> bool:
    if (folder / "preprocessor_config.json").is_file():
        return True
    proc = folder / "processor_config.json"  # transformers 5 nests the image processor here
    if proc.is_file():
        try:
            return "image_processor" in json.loads(proc.read_text(encoding="utf-8"))
        except ValueError:
            return False
    return False


def _has_chat_template(folder: Path) -> bool:
    if (folder / "chat_template.json").is_file() or (folder / "chat_template.jinja").is_file():
        return True
    for name in ("processor_config.json", "tokenizer_config.json"):
        f = folder / name
        if f.is_file() and "chat_template" in f.read_text(encoding="utf-8"):
            return True
    return False


def quantisation(config: dict, weights_dtype: str) -> str:
    """What a person calls the model's number format: a quantisation method, else its dtype."""
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and quant:
        method = str(quant.get("quant_method", "quantised"))
        bits = quant.get("bits") or (4 if quant.get("load_in_4bit") else
                                     8 if quant.get("load_in_8bit") else None)
        return f"{method} {bits}-bit" if bits else method
    return weights_dtype or str(config.get("dtype") or config.get("torch_dtype") or "")


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _read_config(folder: Path) -> dict:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelFolderError(say("{name}: missing config.json — not a model folder.", name=folder.name))
    try:
        return json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFolderError(say("{name}: config.json is not valid JSON ({error}).", name=folder.name,
                                   error=exc)) from exc


def verify_folder(folder: str | Path, deep: bool = True) -> ModelCheck:
    """Check that `folder` holds a complete, safely loadable model of a supported family.

    `deep` also loads the processor/tokenizer (fast, offline) so broken files are caught here,
    not when the user first asks a question.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(say("{path} is not a folder.", path=folder))
    config = _read_config(folder)
    try:
        arch, family = family_for(config)
    except UnsupportedModel as exc:
        raise ModelFolderError(f"{folder.name}: {exc}") from exc
    if not _has_image_processor(folder):
        raise ModelFolderError(say("{name}: missing preprocessor_config.json.", name=folder.name))
    if not any(all((folder / f).is_file() for f in group) for group in family.tokenizer_files):
        wanted = " or ".join(" + ".join(g) for g in family.tokenizer_files)
        raise ModelFolderError(say("{name}: missing tokenizer files ({files}).", name=folder.name,
                                   files=wanted))
    if family.needs_chat_template and not _has_chat_template(folder):
        raise ModelFolderError(say("{name}: missing chat_template.json.", name=folder.name))
    try:
        weights = check_weights(folder)
    except WeightsRefused as exc:
        raise ModelFolderError(f"{folder.name}: {exc}") from exc
    if deep:
        _check_processor(folder)
    return ModelCheck(
        str(folder), arch, family.kind, family.label, family.capabilities, weights.format,
        _folder_size(folder), weights.parameters,
        # float32 on the CPU, float16 on CUDA, plus ~20% for activations and buffers.
        est_ram_bytes=int(weights.parameters * 4 * 1.2),
        est_vram_bytes=int(weights.parameters * 2 * 1.2),
        dtype=quantisation(config, weights.dtype),
    )


def _check_processor(folder: Path) -> None:
    from vlm_desktop.core.engine.hf.loading import load_processor

    try:
        load_processor(folder)
    except Exception as exc:  # transformers raises many types; the user needs the text
        raise ModelFolderError(
            f"{folder.name}: the processor/tokenizer files do not load ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})."
        ) from exc


# --- the manifest -------------------------------------------------------------------------


def models_dir() -> Path:
    path = paths.data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load_manifest() -> dict:
    f = models_dir() / MANIFEST
    if not f.is_file():
        return {"version": 1, "models": [], "defaults": {}}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFolderError(say("The model list {path} is damaged ({error}); fix or delete it.",
                                   path=f, error=exc)) from exc
    data.setdefault("models", [])
    data.setdefault("defaults", {})
    return data


def _save_manifest(data: dict) -> None:
    target = models_dir() / MANIFEST
    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=".models-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.replace(tmp, target)  # atomic: a crash never leaves half a manifest


def list_models(include_builtin: bool = True) -> list[ModelRecord]:
    """Installed models, the built-in one first."""
    records = [ModelRecord.from_json(m) for m in _load_manifest()["models"]]
    if not include_builtin:
        return records
    from vlm_desktop.core.engine.lite.footprint import builtin_footprint

    f = builtin_footprint()  # read from the weight files, without torch
    builtin = replace(BUILTIN_RECORD, size_bytes=f.size_bytes, parameters=f.parameters,
                      est_ram_bytes=f.est_ram_bytes, est_vram_bytes=f.est_vram_bytes)
    return [builtin] + records


def get_model(name: str) -> ModelRecord:
    for rec in list_models():
        if rec.name == name:
            return rec
    raise KeyError(name)


# --- import / remove / defaults -----------------------------------------------------------


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:64] or "model"
    return cleaned


def _unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _model_folder_in(archive: Path, unpacked: Path) -> Path:
    found = sorted(p.parent for p in unpacked.rglob("config.json"))
    if not found:
        raise ModelFolderError(say("{name}: missing config.json — no model in the archive.",
                                   name=archive.name))
    return min(found, key=lambda p: len(p.parts))


def _archive_stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(model_files.ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


_STAGING = ".vlm-import-"


def _staging_dir() -> Path:
    """A fresh folder beside the models (same disk, so the finished copy is renamed in)."""
    _remove_dead_staging()
    return Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-", dir=str(models_dir())))


def _remove_dead_staging() -> None:
    # A killed import leaves its staging folder; its process id says whether anyone owns it.
    for folder in models_dir().glob(f"{_STAGING}*"):
        pid = folder.name[len(_STAGING):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else (or not knowable here): leave it
        return True
    return True


def _check_source(source: Path) -> None:
    if not source.exists():
        raise ModelFolderError(say("{path} does not exist.", path=source))
    if source.is_dir():
        return
    if not source.is_file():
        raise ModelFolderError(say("{name} is not a folder or a file (a FIFO or a device?).",
                                   name=source.name))
    if not model_files.is_archive(source):
        raise ModelFolderError(
            f"{source.name}: import a model folder or an archive of one "
            f"({', '.join(model_files.ARCHIVE_SUFFIXES)}).")


def _choose_name(source: Path, name: Optional[str], data: dict) -> str:
    installed = {m["name"] for m in data["models"]} | {BUILTIN_NAME}
    on_disk = {p.name for p in models_dir().iterdir()}
    if name is None:
        base = _safe_name(_archive_stem(source) if source.is_file() else source.name)
        return _unique_name(base, installed | on_disk)
    if not _NAME_OK.match(name):
        raise ModelFolderError(
            f"'{name}' is not a usable name: use letters, digits, '.', '_' or '-'.")
    if name in installed:
        raise ModelFolderError(say("A model named '{name}' is already installed.", name=name))
    if name in on_disk:
        raise ModelFolderError(
            f"{models_dir() / name} already exists but is not an installed model (left by an "
            f"earlier import?); `vlm-desktop models remove {name}` deletes it.")
    return name


def import_model(source: str | Path, name: Optional[str] = None, copy: bool = True,
                 limits: Optional[model_files.ImportLimits] = None) -> ModelRecord:
    """Verify a model folder or archive and add it to the installed models.

    A folder is copied into the app's data folder (so the user may delete the original) unless
    `copy` is False (models found in the Hugging Face cache are used in place). Links and
    special files are refused, every byte copied or unpacked is counted against `limits`, and
    a refused or failed import leaves nothing behind, so it can simply be retried.
    """
    source = Path(source).expanduser()
    limits = limits or model_files.ImportLimits()
    _check_source(source)
    data = _load_manifest()
    final_name = _choose_name(source, name, data)
    target = models_dir() / final_name
    staging = _staging_dir()
    try:
        path, check = _install(source, target, staging, copy, limits)
        record = ModelRecord(
            final_name, str(path), check.kind, check.label, check.architecture,
            check.capabilities, check.size_bytes, check.parameters, check.est_ram_bytes,
            check.est_vram_bytes, source=str(source), copied=path == target,
            imported_at=time.time(), dtype=check.dtype)
        data["models"].append(record.to_json())
        try:
            _save_manifest(data)
        except BaseException:
            if path == target:
                shutil.rmtree(target, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _install(source: Path, target: Path, staging: Path, copy: bool,
             limits: model_files.ImportLimits) -> tuple[Path, ModelCheck]:
    """Check `source` and put the model in place; returns where it is and what it is."""
    try:
        if source.is_file():
            unpacked = staging / "unpacked"
            unpacked.mkdir()
            model_files.extract_archive(source, unpacked, limits)
            folder = _model_folder_in(source, unpacked)
        else:
            model_files.scan_folder(source)  # links and special files refused before reading
            folder = source
        check = verify_folder(folder)
        if source.is_dir() and not copy:
            return source, check
        if source.is_dir():
            folder = staging / "copy"
            folder.mkdir()
            model_files.copy_tree(source, folder, limits)
    except model_files.UnsafeModelFiles as exc:
        raise ModelFolderError(f"{source.name}: {exc}" if not str(exc).startswith(
            source.name) else str(exc)) from exc
    os.rename(folder, target)  # one step: the model is either fully there or not at all
    return target, check


def remove_model(name: str) -> None:
    """Uninstall `name` (deleting its copy); the built-in model cannot be removed."""
    if name == BUILTIN_NAME:
        raise ModelFolderError(say("The built-in model cannot be removed."))
    data = _load_manifest()
    entry = next((m for m in data["models"] if m["name"] == name), None)
    if entry is None:
        leftover = models_dir() / name
        if _NAME_OK.match(name) and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)  # in the models folder, listed nowhere: a failed copy
            return
        raise ModelFolderError(say("No model named '{name}' is installed.", name=name))
    record = ModelRecord.from_json(entry)
    if record.copied:
        path = Path(record.path)
        if path.resolve().parent == models_dir().resolve() and path.exists():
            shutil.rmtree(path)
    data["models"] = [m for m in data["models"] if m["name"] != name]
    data["defaults"] = {c: n for c, n in data["defaults"].items() if n != name}
    _save_manifest(data)


def set_default(capability: str, name: str) -> None:
    """Use model `name` for `capability` (caption, answer, embed, relevance) by default."""
    if capability not in CAPABILITY_NAMES:
        raise ModelFolderError(say("Unknown capability '{capability}'.", capability=capability))
    record = get_model_or_error(name)
    if capability not in record.capabilities:
        raise ModelFolderError(
            f"{name} ({record.label}) cannot do {CAPABILITY_NAMES[capability]}.")
    data = _load_manifest()
    data["defaults"][capability] = name
    _save_manifest(data)


def get_model_or_error(name: str) -> ModelRecord:
    try:
        return get_model(name)
    except KeyError:
        raise ModelFolderError(say("No model named '{name}' is installed.", name=name)) from None


def default_for(capability: str) -> str:
    """The model chosen for `capability`, falling back to the built-in model."""
    name = _load_manifest()["defaults"].get(capability)
    installed = {r.name for r in list_models()}
    return name if name in installed else BUILTIN_NAME


def defaults() -> dict[str, str]:
    return {cap: default_for(cap) for cap in sorted(CAPABILITY_NAMES)}


# --- the Hugging Face cache (listed, never downloaded) ------------------------------------


@dataclass(frozen=True)
class CachedModel:
    """A model snapshot already in the local Hugging Face cache."""

    repo_id: str
    path: str
    label: str


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home) / "hub"


def find_cached_models(cache: Optional[Path] = None) -> list[CachedModel]:
    """Supported models in the local HF cache (a quick check; import verifies fully)."""
    cache = cache or hf_cache_dir()
    found = []
    for repo in sorted(cache.glob("models--*")):
        for snap in sorted((repo / "snapshots").glob("*")):
            try:
                _, family = family_for(_read_config(snap))
            except (ModelFolderError, UnsupportedModel):
                continue
            repo_id = repo.name[len("models--"):].replace("--", "/")
            found.append(CachedModel(repo_id, str(snap), family.label))
    return found
