"""The vision tower's execution path per machine (runtime.py, onednn.py).

The fast path must see what the eager float32 tower sees (the catalog's vectors, its
neighbours and labels), the choice is cached per machine, and it can be forced.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vlm_desktop.core.cancel import Cancelled
from vlm_desktop.core.engine.lite import onednn, ort_tower, runtime, vision

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo_catalog" / "images"
needs_onednn = pytest.mark.skipif(not onednn.available(), reason="no oneDNN in this torch build")
# onnxruntime and onnx are dependencies (pyproject.toml): a missing one fails here, not skips.
FAST = ("onednn", "ort") if onednn.available() else ("ort",)


def test_onnx_runtime_is_installed():
    assert ort_tower.available()


@pytest.fixture(scope="module")
def tower():
    torch.set_num_threads(2)
    return vision.load_vision_tower()


@pytest.fixture(autouse=True)
def no_forced_runtime(monkeypatch):
    monkeypatch.delenv(runtime.RUNTIME_ENV, raising=False)


def varied_images() -> list[Image.Image]:
    """About 40 images: demo catalog photos and clip art of every category, plus synthetic
    ones (gradients, noise, flat colour, shapes) at sizes and aspect ratios that differ."""
    files = sorted(DEMO.glob("*/*"))
    picked = [Image.open(f) for f in files[:: max(1, len(files) // 30)][:30]]
    rng = np.random.default_rng(7)
    synthetic = []
    for i, (w, h) in enumerate([(300, 200), (97, 131), (640, 480), (225, 199), (50, 400),
                                (224, 224), (333, 111), (128, 512), (413, 287), (160, 160)]):
        kind = i % 4
        if kind == 0:
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        elif kind == 1:
            ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
            arr = np.broadcast_to(ramp * rng.random(3), (h, w, 3)).astype(np.uint8)
        elif kind == 2:
            arr = np.full((h, w, 3), rng.integers(0, 256, 3), dtype=np.uint8)
        else:
            image = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
            draw = ImageDraw.Draw(image)
            for _ in range(6):
                x0, y0 = int(rng.integers(0, w - 2)), int(rng.integers(0, h - 2))
                draw.ellipse([x0, y0, x0 + w // 3, y0 + h // 3],
                             fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
            synthetic.append(image)
            continue
        synthetic.append(Image.fromarray(np.ascontiguousarray(arr)))
    return picked + synthetic


def features(tower: vision.VisionTower, name: str, images, long_side: int):
    runtime.apply(tower, name)
    try:
        return vision.encode(tower, images, long_side=long_side)
    finally:
        runtime.apply(tower, "eager")


def neighbours(pooled: np.ndarray, k: int = 10) -> np.ndarray:
    unit = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :k]


@pytest.mark.slow
@pytest.mark.parametrize("name", FAST)
def test_fast_runtime_sees_what_eager_sees_on_varied_images(tower, name):
    images = varied_images()
    assert len(images) >= 38
    eager = features(tower, "eager", images, 224)
    fast = features(tower, name, images, 224)
    a = np.stack([f.pooled for f in eager]).astype(np.float64)
    b = np.stack([f.pooled for f in fast]).astype(np.float64)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.99999
    ours, theirs = neighbours(a), neighbours(b)
    overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(ours, theirs)])
    assert overlap >= 0.95
    assert [f.top(1)[0][0] for f in fast] == [f.top(1)[0][0] for f in eager]
    # The maps come from the grid: it agrees cell by cell.
    for e, f in zip(eager, fast):
        assert np.abs(f.grid - e.grid).max() <= 1e-4 * max(1.0, np.abs(e.grid).max())


@pytest.mark.slow
@pytest.mark.parametrize("name", FAST)
def test_fast_runtime_agrees_at_448_px_and_on_odd_sizes(tower, name):
    photos = [Image.open(f) for f in sorted(DEMO.glob("*/*"))[::60]]
    eager = features(tower, "eager", photos, 448)
    fast = features(tower, name, photos, 448)
    for e, f in zip(eager, fast):
        assert f.grid.shape == e.grid.shape
        assert np.abs(f.grid - e.grid).max() <= 1e-4 * max(1.0, np.abs(e.grid).max())
    # Odd sizes reach the stride-2 layers, where TF "SAME" pads the other way round.
    runner = onednn.OneDnnRunner(tower) if name == "onednn" else ort_tower.OrtRunner(tower)
    for height, width in [(225, 199), (97, 131), (31, 47), (448, 321)]:
        x = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(height))
        with torch.inference_mode():
            expected, got = tower(x), runner(x)
        assert runtime.agrees(expected, got), (height, width)


def test_agreement_check_rejects_a_different_computation():
    x = torch.rand(2, 1280, 7, 7)
    assert runtime.agrees(x, x + 1e-7)
    assert not runtime.agrees(x, x * 1.01)
    assert not runtime.agrees(x, torch.full_like(x, float("nan")))
    assert not runtime.agrees(x, x[:1])


def on_path(tower) -> str:
    if tower.runner is None:
        return "eager"
    return "ort" if isinstance(tower.runner, ort_tower.OrtRunner) else "onednn"


def fake_clock(tower, seconds: dict[str, float]):
    """A clock that advances by the given seconds per call, by the path the tower is on:
    the probe sees those speeds whatever else the machine is doing."""
    now = [0.0]

    def clock() -> float:
        now[0] += seconds[on_path(tower)]
        return now[0]

    return clock


@needs_onednn
@pytest.mark.parametrize("faster", ["eager", "onednn", "ort"])
def test_probe_picks_the_faster_runtime(tower, faster):
    speeds = {name: 0.03 for name in runtime.CANDIDATES}
    speeds[faster] = 0.01
    choice = runtime.probe(tower, clock=fake_clock(tower, speeds))
    assert choice.runtime == faster
    assert choice.reason == "measured"
    assert choice.batch in runtime.BATCH_CHOICES
    assert tower.runner is None  # left as found
    # Only the winner keeps its runner (and the weights it holds).
    assert [k for k in tower.__dict__ if k.endswith("_runner")] == (
        [] if faster == "eager" else [f"_{faster}_runner"])


@needs_onednn
@pytest.mark.parametrize("cheat", ["onednn", "ort"])
def test_probe_refuses_a_faster_runtime_that_disagrees(tower, monkeypatch, cheat):
    kind = onednn.OneDnnRunner if cheat == "onednn" else ort_tower.OrtRunner
    real = kind.__call__
    monkeypatch.setattr(kind, "__call__", lambda self, x: real(self, x) * 1.01)
    speeds = {name: 0.05 for name in runtime.CANDIDATES}
    speeds[cheat] = 0.01
    choice = runtime.probe(tower, clock=fake_clock(tower, speeds))
    assert choice.runtime != cheat


def test_probe_times_the_whole_views_too(tower):
    """A runtime fast on 224 px squares but slow on the whole views' sizes loses."""
    def clock_by_shape():
        now, last = [0.0], [None]

        def hook(module, args, out):
            last[0] = tuple(args[0].shape[-2:])
        handle = tower.register_forward_hook(hook)

        def clock() -> float:
            path, shape = on_path(tower), last[0]
            slow_off_square = path == "onednn" and shape not in (None, (224, 224))
            now[0] += 0.05 if slow_off_square else (0.01 if path != "eager" else 0.02)
            return now[0]
        return clock, handle

    clock, handle = clock_by_shape()
    try:
        choice = runtime.probe(tower, clock=clock)
    finally:
        handle.remove()
    assert choice.runtime == "ort"


def test_ort_graph_is_cached_and_a_damaged_cache_is_rebuilt(tower, tmp_path):
    first = ort_tower.OrtRunner(tower, cache=tmp_path)
    saved = list(tmp_path.glob("tower-*.onnx"))
    assert len(saved) == 1
    x = runtime.probe_input(2, 224, 160)
    with torch.inference_mode():
        expected = first(x)
    saved[0].write_bytes(b"not an onnx graph")
    again = ort_tower.OrtRunner(tower, cache=tmp_path)
    with torch.inference_mode():
        assert runtime.agrees(expected, again(x))
    assert saved[0].read_bytes() != b"not an onnx graph"  # rewritten, not left damaged


def test_the_graph_is_built_in_a_child_so_the_app_never_imports_onnx(tower, tmp_path):
    """First start: the graph is built by a child process; the app's process reads it and
    never imports onnx (its import holds the GIL for half a second: the window froze)."""
    import subprocess
    import sys

    code = ("import sys\nfrom pathlib import Path\n"
            "from vlm_desktop.core.engine.lite import ort_tower, vision\n"
            "model = ort_tower.cached_model(vision.load_vision_tower(), Path(sys.argv[1]))\n"
            "print(len(model), 'onnx' in sys.modules, 'ml_dtypes' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    size, onnx_loaded, ml_dtypes_loaded = done.stdout.split()
    assert (onnx_loaded, ml_dtypes_loaded) == ("False", "False")
    saved = tmp_path / ort_tower.graph_name(ort_tower.weights_digest(tower))
    assert saved.read_bytes() == ort_tower.build_model(tower)  # what an in-process build makes
    assert int(size) == saved.stat().st_size


def test_the_graph_builder_writes_only_a_graph_of_the_installed_weights(tmp_path):
    wrong = "0" * 24
    assert not ort_tower.build_in_subprocess(tmp_path / ort_tower.graph_name(wrong), wrong)
    assert not ort_tower.build_in_subprocess(tmp_path / "settings.ini", wrong)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_child_build_is_done_in_process(tower, tmp_path, monkeypatch):
    monkeypatch.setattr(ort_tower, "build_in_subprocess", lambda path, digest: False)
    model = ort_tower.cached_model(tower, tmp_path)
    assert model == ort_tower.build_model(tower)
    assert (tmp_path / ort_tower.graph_name(ort_tower.weights_digest(tower))).read_bytes() == model


@pytest.fixture()
def probes(monkeypatch):
    """Stand-in probe: counts its runs and picks eager at batch 4."""
    calls: list[int] = []

    def probe(tower):
        calls.append(1)
        return runtime.RuntimeChoice("eager", 4, "measured", {"eager@4": 10.0})

    monkeypatch.setattr(runtime, "probe", probe)
    return calls


def test_choice_is_measured_once_then_read_from_the_cache(tower, tmp_path, probes):
    first = runtime.choose(tower, 2, cache=tmp_path)
    assert (first.runtime, first.batch, first.reason) == ("eager", 4, "measured")
    saved = json.loads((tmp_path / runtime.CACHE_FILE).read_text())
    assert list(saved) == [runtime.machine_key(2)]
    second = runtime.choose(tower, 2, cache=tmp_path)
    assert (second.runtime, second.batch, second.reason) == ("eager", 4, "cached")
    assert len(probes) == 1
    assert tower.batch_pixels == 4 * 224 * 224
    assert "eager float32, batch 4 (cached" in second.describe()


def test_a_corrupt_cache_is_measured_again(tower, tmp_path, probes):
    (tmp_path / runtime.CACHE_FILE).write_text("{not json")
    assert runtime.choose(tower, 2, cache=tmp_path).reason == "measured"
    bad = {runtime.machine_key(2): {"runtime": "warp-drive", "batch": 4}}
    (tmp_path / runtime.CACHE_FILE).write_text(json.dumps(bad))
    assert runtime.choose(tower, 2, cache=tmp_path).reason == "measured"
    assert len(probes) == 2
    assert runtime.choose(tower, 2, cache=tmp_path).reason == "cached"


def test_another_machines_choice_is_not_used(tower, tmp_path, probes):
    other = {"Some Other CPU|x86_64|threads=64": {"runtime": "onednn", "batch": 8, "rates": {}}}
    (tmp_path / runtime.CACHE_FILE).write_text(json.dumps(other))
    assert runtime.choose(tower, 2, cache=tmp_path).reason == "measured"
    # A different thread count is another measurement too.
    assert runtime.choose(tower, 1, cache=tmp_path).reason == "measured"
    saved = json.loads((tmp_path / runtime.CACHE_FILE).read_text())
    assert set(saved) == {*other, runtime.machine_key(2), runtime.machine_key(1)}
    assert len(probes) == 2


@needs_onednn
def test_environment_forces_the_runtime_without_a_probe(tower, tmp_path, probes, monkeypatch):
    monkeypatch.setenv(runtime.RUNTIME_ENV, "onednn")
    choice = runtime.choose(tower, 2, cache=tmp_path)
    assert choice.runtime == "onednn" and "forced" in choice.reason
    assert isinstance(tower.runner, onednn.OneDnnRunner) and tower.runtime == "onednn"
    monkeypatch.setenv(runtime.RUNTIME_ENV, "Eager")
    runtime.choose(tower, 2, cache=tmp_path)
    assert tower.runner is None and tower.runtime == "eager"
    assert probes == []


def test_an_unknown_forced_runtime_falls_back_to_measuring(tower, tmp_path, probes, monkeypatch):
    monkeypatch.setenv(runtime.RUNTIME_ENV, "bf16-please")
    choice = runtime.choose(tower, 2, cache=tmp_path)
    assert choice.reason == "measured" and choice.runtime in runtime.CANDIDATES
    assert len(probes) == 1
    with pytest.raises(ValueError):
        runtime.apply(tower, "bf16-please")


def test_cancel_stops_encoding_between_batches(tower):
    runtime.apply(tower, "eager", batch=1)  # one 224 px image per forward
    forwards: list[int] = []
    hook = tower.register_forward_hook(lambda module, args, out: forwards.append(len(args[0])))
    checks = []

    def check() -> None:
        checks.append(1)
        if len(checks) > 2:
            raise Cancelled()

    images = [Image.new("RGB", (224, 224), (i * 40, 90, 200 - i * 30)) for i in range(6)]
    try:
        with pytest.raises(Cancelled):
            vision.encode(tower, images, long_side=224, check=check)
        assert forwards == [1, 1]  # two batches ran, the third was never started
        forwards.clear()
        assert len(vision.encode(tower, images, long_side=224, check=lambda: None)) == 6
        assert forwards == [1] * 6
    finally:
        hook.remove()
        runtime.apply(tower, "eager")


@pytest.mark.slow
def test_the_loaded_model_says_how_its_tower_runs(engine):
    # The engine fixture loads on the CPU in float32: the runtime was chosen (or cached).
    choice = engine.runtime
    assert choice.runtime in runtime.CANDIDATES
    assert choice.reason in ("measured", "cached") or "forced" in choice.reason
    assert engine.tower.runtime == choice.runtime
    assert (engine.tower.runner is not None) == (choice.runtime != "eager")
    assert engine.info().runtime == choice.describe()
    assert f"vision tower: {choice.runtime} float32" in engine.info().runtime


def test_a_cached_runtime_that_cannot_start_falls_back_to_eager(tower, tmp_path, monkeypatch):
    """The cached choice names ONNX Runtime, but its graph cannot be built any more (say
    the onnx package broke after an update): the model still loads, on the eager tower."""
    saved = {runtime.machine_key(2): {"runtime": "ort", "batch": 4, "rates": {}}}
    (tmp_path / runtime.CACHE_FILE).write_text(json.dumps(saved))

    def broken(*args, **kwargs):
        raise RuntimeError("onnx: the graph builder is broken")

    monkeypatch.setattr(ort_tower, "OrtRunner", broken)
    tower.__dict__.pop("_ort_runner", None)
    try:
        choice = runtime.choose(tower, 2, cache=tmp_path)
        assert choice.runtime == "eager" and "ort failed to start" in choice.reason
        assert tower.runner is None and tower.runtime == "eager"
        assert len(vision.encode(tower, [Image.new("RGB", (64, 64), "red")], long_side=224,
                                 check=lambda: None)) == 1
    finally:
        monkeypatch.undo()
        runtime.apply(tower, "eager")


def test_checking_for_onnx_runtime_does_not_import_onnx():
    """`onnx` (with ml_dtypes) holds the GIL for half a second on import; the check made on
    every model load must not pay it (the window would freeze)."""
    import subprocess
    import sys

    code = ("import sys\nfrom vlm_desktop.core.engine.lite import ort_tower\n"
            "assert ort_tower.available()\nprint('onnx' in sys.modules, 'ml_dtypes' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
