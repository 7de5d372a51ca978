"""Which execution path runs the vision tower on this machine, decided once by measuring.

Candidates, all float32 (the agreement bar rules out the rest here):
- "eager": the fused tower module itself (`VisionTower.fuse`);
- "onednn": the same weights as fused oneDNN convolutions (`onednn.py`), where bias,
  ReLU6 and the residual add happen inside each convolution instead of extra passes;
- "ort": the same weights as an ONNX graph run by ONNX Runtime (`ort_tower.py`), where the
  optional `onnxruntime` and `onnx` packages are installed.

bf16 is not a candidate: on CPUs without native bf16 (no AVX512-BF16/AMX) autocast is
emulated, and even where it is fast its image->image top-10 neighbours overlapped fp32's by
only 0.68 (issue #12). The probe times each candidate on a fixed synthetic mix shaped like a
catalog's forwards (square 224 px crops and the whole views of portrait and landscape
images, whose sizes differ), alternating them so that load from other processes hits all
alike, rejects any whose output departs from eager beyond float rounding, then picks the
images per forward for the winner. The result is cached per machine (CPU, threads, torch
and app version) in the app's cache folder, so later starts only read a small JSON file.
`VLM_DESKTOP_TOWER_RUNTIME=eager|onednn|ort` skips the probe (batch from the cache or default).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from vlm_desktop import __version__
from vlm_desktop.core.engine.lite import onednn, ort_tower, vision
from vlm_desktop.core.paths import cache_dir

log = logging.getLogger(__name__)

RUNTIME_ENV = "VLM_DESKTOP_TOWER_RUNTIME"
CANDIDATES = ("eager", "onednn", "ort")
PROBE_SIDE = 224  # the catalog's scale, where the tower spends most of its time
PROBE_BATCH = 4  # images per forward while the runtimes are compared
BATCH_CHOICES = (4, 8, 16)  # images per 224 px forward tried for the winner
# Besides the square crops, a catalog forwards the whole views of non-square images, a few
# of each size: the probe times those too. A path fast at one shape can lose on the mix:
# oneDNN, its weights packed for 224x224, ran the demo catalog's forwards at 0.55-0.6x ONNX
# Runtime's rate while matching it on squares alone (benchmarks/bench_tower.py --catalog).
PROBE_WHOLE_VIEWS = ((1, 224, 96), (2, 224, 128), (2, 224, 160), (1, 224, 192), (2, 160, 224),
                     (1, 128, 224))
MIX = "mix"  # the rates' key for that mix: PROBE_BATCH squares plus the whole views
PROBE_SECONDS = 1.5  # past this, one timed round per runtime (a slow or busy CPU)
BATCH_SECONDS = 1.0  # then, past this, the winner keeps PROBE_BATCH
DEFAULT_BATCH = 8
TIMED_ROUNDS = 2  # per runtime and batch
# Agreement with eager: fp32 reorderings give ~1e-6 relative; anything past these is a
# different computation, not a faster path.
MAX_RELATIVE_DIFF = 1e-4
MIN_POOLED_COSINE = 0.99999
CACHE_FILE = "tower_runtime.json"


@dataclass(frozen=True)
class RuntimeChoice:
    """The vision tower's execution path on this machine and how it was chosen."""

    runtime: str  # one of CANDIDATES
    batch: int  # images per forward at 224 px (scaled by pixels at other sizes)
    reason: str  # "measured", "cached", "forced by VLM_DESKTOP_TOWER_RUNTIME", "GPU"
    rates: dict[str, float] = field(default_factory=dict)  # img/s, "runtime@batch"
    dtype: str = "float32"

    def describe(self) -> str:
        """One line for the self-test and the status bar tooltip."""
        speed = ""
        eager = self.rates.get(f"eager@{MIX}")
        mine = self.rates.get(f"{self.runtime}@{MIX}")
        if eager and mine and self.runtime != "eager":
            speed = f", {mine / eager:.2f}x eager"
        return (f"vision tower: {self.runtime} {self.dtype}, batch {self.batch} "
                f"({self.reason}{speed})")


def apply(tower: vision.VisionTower, runtime: str, batch: int = DEFAULT_BATCH) -> None:
    """Make `tower` run through `runtime` with `batch` images per 224 px forward."""
    if runtime not in CANDIDATES:
        raise ValueError(f"unknown tower runtime {runtime!r}; expected one of {CANDIDATES}")
    if not _usable(runtime):
        raise ValueError(f"tower runtime {runtime!r} is not available here "
                         "(oneDNN fused convolutions or ONNX Runtime missing)")
    tower.runner = _runner(tower, runtime)
    tower.runtime = runtime
    tower.batch_pixels = batch * PROBE_SIDE * PROBE_SIDE


Runner = Callable[[torch.Tensor], torch.Tensor]


def _runner(tower: vision.VisionTower, runtime: str) -> Optional[Runner]:
    """The tower's runner for `runtime` (None: eager), built once (the oneDNN one packs the
    weights, the ONNX Runtime one builds its graph and session) and kept on the tower."""
    if runtime == "eager":
        return None
    key = f"_{runtime}_runner"
    runner = tower.__dict__.get(key)
    if runner is None:
        made: Any = (onednn.OneDnnRunner(tower) if runtime == "onednn"
                     else ort_tower.OrtRunner(tower, cache=cache_dir() / "lite"))
        runner = tower.__dict__[key] = made
    return runner


def machine_key(threads: int) -> str:
    """What the measurement depends on: the CPU, its threads, torch, the app and which
    runtimes can run here (installing ONNX Runtime later measures again)."""
    usable = ",".join(r for r in CANDIDATES if _usable(r))
    return "|".join([_cpu_name(), platform.machine(), f"threads={threads}",
                     f"torch={torch.__version__}", f"app={__version__}", f"paths={usable}"])


def choose(tower: vision.VisionTower, threads: int,
           cache: Optional[Path] = None) -> RuntimeChoice:
    """The runtime for a float32 CPU tower: forced, cached for this machine, or probed."""
    path = (cache or cache_dir() / "lite") / CACHE_FILE
    key = machine_key(threads)
    cached = _read_cache(path, key)
    forced = os.environ.get(RUNTIME_ENV, "").strip().lower()
    if forced and not _usable(forced):
        log.warning("%s=%s is not a usable runtime here (%s); measuring instead",
                    RUNTIME_ENV, forced, ", ".join(CANDIDATES))
        forced = ""
    if forced:
        batch = cached.batch if cached is not None else DEFAULT_BATCH
        choice = RuntimeChoice(forced, batch, f"forced by {RUNTIME_ENV}")
    elif cached is not None and _usable(cached.runtime):
        choice = RuntimeChoice(cached.runtime, cached.batch, "cached", cached.rates)
    else:
        choice = probe(tower)
        _write_cache(path, key, choice)
    try:
        apply(tower, choice.runtime, choice.batch)
    except Exception as exc:  # noqa: BLE001 - e.g. the cached graph gone and onnx broken since
        log.warning("tower runtime %s could not start (%s); running eager", choice.runtime, exc)
        choice = RuntimeChoice("eager", choice.batch, f"{choice.runtime} failed to start")
        apply(tower, "eager", choice.batch)
    log.info("%s", choice.describe())
    return choice


def probe(tower: vision.VisionTower, clock: Callable[[], float] = time.perf_counter
          ) -> RuntimeChoice:
    """Measure the candidates on this machine and return the fastest that agrees with eager.

    13 images (4 squares at 224 px, 9 whole views of six sizes) per runtime and round, then
    up to 28 squares for the batch size within BATCH_SECONDS: 1.8-3.2 s of wall time on a
    2-core AVX2 machine at load 0.5-1.5, ORT's first graph build included. The tower is
    left on eager; `choose` applies the winner.
    """
    began = clock()
    x = probe_input(max(BATCH_CHOICES))
    wholes = [probe_input(b, h, w) for b, h, w in PROBE_WHOLE_VIEWS]
    runners: dict[str, Optional[Runner]] = {}
    for name in CANDIDATES:
        if _usable(name):
            try:
                runners[name] = _runner(tower, name)
            except Exception as exc:  # noqa: BLE001 - a broken optional runtime is skipped
                log.warning("tower runtime %s could not start here: %s", name, exc)
    try:
        # The agreement pass is also each runtime's warm-up at the timed shapes (a first
        # call at a new shape sets up its kernels and memory, several times a timed one).
        mix = [x[:PROBE_BATCH], *wholes]
        reference = [_forward(tower, runners["eager"], part) for part in mix]
        agreeing = {r: run for r, run in runners.items()
                    if r == "eager" or all(agrees(ref, _forward(tower, run, part))
                                           for ref, part in zip(reference, mix))}
        for r in set(runners) - set(agreeing):
            log.warning("tower runtime %s disagrees with eager float32 here; not used", r)
        rates = _rates(tower, agreeing, mix, MIX, clock, began + PROBE_SECONDS)
        best = max(agreeing, key=lambda r: rates[f"{r}@{MIX}"])
        # The batch size is timed on the square crops alone (the whole views' batches are
        # as large as a catalog has images of one size, whatever the setting).
        chosen = clock()
        for batch in BATCH_CHOICES:
            if batch == PROBE_BATCH or clock() - chosen < BATCH_SECONDS:
                rates.update(_rates(tower, {best: agreeing[best]}, [x[:batch]], str(batch),
                                    clock, chosen + BATCH_SECONDS))
    finally:
        tower.runner = None
    for name in CANDIDATES:
        if name != best:
            tower.__dict__.pop(f"_{name}_runner", None)  # its weights are not needed
    batch = max((b for b in BATCH_CHOICES if f"{best}@{b}" in rates),
                key=lambda b: rates[f"{best}@{b}"])
    return RuntimeChoice(best, batch, "measured", {k: round(v, 2) for k, v in rates.items()})


def probe_input(batch: int, height: int = PROBE_SIDE, width: int = PROBE_SIDE) -> torch.Tensor:
    """A fixed, image-like batch [B, 3, H, W] (smooth gradients plus noise), channels-last."""
    gen = torch.Generator().manual_seed(0)
    across, down = torch.linspace(-1.0, 1.0, width), torch.linspace(-1.0, 1.0, height)
    smooth = torch.stack([across[None, :].expand(height, width),
                          down[:, None].expand(height, width), down[:, None] * across[None, :]])
    noise = torch.randn(batch, 3, height, width, generator=gen) * 0.3
    x = (smooth[None] * torch.rand(batch, 3, 1, 1, generator=gen) + noise).clamp_(-1.0, 1.0)
    return x.contiguous(memory_format=torch.channels_last)


def agrees(reference: torch.Tensor, other: torch.Tensor) -> bool:
    """Whether `other` is `reference` up to float32 rounding (grid and pooled features)."""
    if reference.shape != other.shape or not bool(torch.isfinite(other).all()):
        return False
    scale = float(reference.abs().max()) or 1.0
    if float((reference - other).abs().max()) > MAX_RELATIVE_DIFF * scale:
        return False
    a, b = reference.mean(dim=(2, 3)).double(), other.mean(dim=(2, 3)).double()
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
    return bool((cos >= MIN_POOLED_COSINE).all())


def _usable(runtime: str) -> bool:
    if runtime == "onednn":
        return onednn.available()
    if runtime == "ort":
        return ort_tower.available()
    return runtime == "eager"


def _forward(tower: vision.VisionTower, runner: Optional[Runner],
             x: torch.Tensor) -> torch.Tensor:
    tower.runner = runner
    with torch.inference_mode():
        return tower(x)


def _rates(tower: vision.VisionTower, runners: dict[str, Optional[Runner]],
           mix: list[torch.Tensor], label: str, clock: Callable[[], float], deadline: float
           ) -> dict[str, float]:
    """Images/s of each runtime over the batches `mix`, keyed "runtime@label":
    rounds alternating the runtimes, the fastest round counts (load from other processes
    only ever slows a round, and a first call's one-off set-up is not counted against
    either); one round once past `deadline`."""
    seconds: dict[str, list[float]] = {r: [] for r in runners}
    images = sum(len(part) for part in mix)
    for round_ in range(TIMED_ROUNDS):
        if round_ and clock() >= deadline:
            break
        for r, runner in runners.items():
            start = clock()
            for part in mix:
                _forward(tower, runner, part)
            seconds[r].append(max(clock() - start, 1e-9))
    return {f"{r}@{label}": images / min(t) for r, t in seconds.items()}


def _read_cache(path: Path, key: str) -> Optional[RuntimeChoice]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data.get(key) if isinstance(data, dict) else None
        if not isinstance(entry, dict):
            return None
        runtime, batch = str(entry["runtime"]), int(entry["batch"])
        rates = {str(k): float(v) for k, v in dict(entry.get("rates", {})).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if runtime not in CANDIDATES or batch < 1:
        return None
    return RuntimeChoice(runtime, batch, "cached", rates)


def _write_cache(path: Path, key: str, choice: RuntimeChoice) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    entry = asdict(choice)
    entry.pop("reason")
    entry.pop("dtype")
    data[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only cache only costs a probe next start
        log.warning("could not save the tower runtime choice to %s: %s", path, exc)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

