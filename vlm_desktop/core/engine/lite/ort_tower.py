"""The fused vision tower as an ONNX graph run by ONNX Runtime, still in float32.

The graph is written directly from the folded weights (no exporter: torch's legacy ONNX
exporter fails on this tower, and the network is 16 inverted-residual blocks of three
convolutions each). TensorFlow's "SAME" padding, which the weights were trained with, is
ONNX's `auto_pad="SAME_UPPER"` (the extra row and column of a strided convolution go after),
so one graph with a dynamic batch, height and width serves every input size. Bias, ReLU6
(`Clip`) and the residual add are fused into the convolutions by ONNX Runtime's own graph
optimiser.

The arithmetic is the same float32 convolutions in another kernel library (MLAS), so outputs
agree with the eager tower to float rounding; `runtime.py` checks that before using it and
tests/core/test_runtime.py checks pooled cosine and top-10 neighbour overlap.

`onnx` and `onnxruntime` are optional: without them this runtime is simply not a candidate.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence, cast

import numpy as np
import torch
from torch import nn

from vlm_desktop.core.engine.lite import vision

log = logging.getLogger(__name__)

GRAPH_VERSION = "1"  # bump when build_model writes a different graph for the same weights


def available() -> bool:
    """Whether ONNX Runtime imports here and the `onnx` graph builder is installed.

    `onnx` is found, not imported: it is needed only to build the graph the first time, and
    its import costs 0.5-0.85 s, most of it ml_dtypes' native initialisation holding the
    GIL (a half-second freeze of the window while the model loads, every start).
    """
    try:
        import onnxruntime  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken optional install only removes a candidate
        return False
    return importlib.util.find_spec("onnx") is not None


def _conv_parts(conv: nn.Conv2d) -> tuple[np.ndarray, np.ndarray, list[int], int, bool]:
    """Weight, bias, stride, groups and whether it pads "SAME" (vs none, for 1x1)."""
    if conv.bias is None:
        raise ValueError("ONNX Runtime runs the fused tower (batch norms folded)")
    weight = conv.weight.detach().float().cpu()
    if isinstance(conv, vision.ShiftedSameConv2d):
        weight = weight[:, :, 1:, 1:]  # the leading zero row/column the eager path uses
    elif isinstance(conv.padding, str) or (
            not isinstance(conv, (vision.SameConv2d, vision.PointwiseConv2d))
            and tuple(conv.padding) != (0, 0)):
        raise ValueError(f"unsupported convolution padding {conv.padding!r}")
    kernel = tuple(weight.shape[-2:])
    same = kernel != (1, 1)
    return (np.ascontiguousarray(weight.numpy()),
            np.ascontiguousarray(conv.bias.detach().float().cpu().numpy()),
            [int(conv.stride[0]), int(conv.stride[1])], int(conv.groups), same)


def build_model(tower: vision.VisionTower) -> bytes:
    """The fused tower's forward as a serialised ONNX model: x [B,3,H,W] -> grid [B,1280,h,w]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    six = numpy_helper.from_array(np.array(6.0, dtype=np.float32), "six")
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")
    inits += [six, zero]
    count = [0]

    def conv(x: str, module: nn.Conv2d, relu6: bool, residual: Optional[str] = None) -> str:
        count[0] += 1
        name = f"c{count[0]}"
        weight, bias, stride, groups, same = _conv_parts(module)
        inits.append(numpy_helper.from_array(weight, f"{name}_w"))
        inits.append(numpy_helper.from_array(bias, f"{name}_b"))
        attrs: dict[str, Any] = {"strides": stride, "group": groups,
                                 "kernel_shape": list(weight.shape[-2:])}
        if same:
            attrs["auto_pad"] = "SAME_UPPER"
        out = f"{name}_y"
        nodes.append(helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [out], **attrs))
        if residual is not None:
            nodes.append(helper.make_node("Add", [out, residual], [f"{name}_add"]))
            out = f"{name}_add"
        if relu6:
            nodes.append(helper.make_node("Clip", [out, "zero", "six"], [f"{name}_r"]))
            out = f"{name}_r"
        return out

    h = conv("x", cast(nn.Conv2d, tower._conv_stem), relu6=True)
    for block in tower._blocks:
        inner = h
        if block.has_expand:
            inner = conv(inner, cast(nn.Conv2d, block._expand_conv), relu6=True)
        inner = conv(inner, cast(nn.Conv2d, block._depthwise_conv), relu6=True)
        h = conv(inner, cast(nn.Conv2d, block._project_conv), relu6=False,
                 residual=h if block.residual else None)
    head = conv(h, cast(nn.Conv2d, tower._conv_head), relu6=True)
    nodes.append(helper.make_node("Identity", [head], ["grid"]))
    graph = helper.make_graph(
        nodes, "vlm_lite_tower",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("grid", TensorProto.FLOAT,
                                       ["batch", vision.FEATURE_DIM, "grid_h", "grid_w"])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="vlm-desktop")
    model.ir_version = 8  # readable by every ONNX Runtime from 1.10 on
    onnx.checker.check_model(model)
    return cast(bytes, model.SerializeToString())


def weights_digest(tower: vision.VisionTower) -> str:
    """A digest of the fused weights (and the graph's version): names the cached graph."""
    digest = hashlib.sha256(GRAPH_VERSION.encode())
    for name, tensor in tower.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def _read_graph(path: Path) -> Optional[bytes]:
    try:
        if path.is_file() and not path.is_symlink():
            return path.read_bytes()
    except OSError:
        pass
    return None


def _save_graph(path: Path, model: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(model)
    tmp.replace(path)


def cached_model(tower: vision.VisionTower, folder: Optional[Path], fresh: bool = False) -> bytes:
    """The tower's ONNX graph, read from `folder` where an earlier start saved it, else (or
    when `fresh`) built and saved.

    The build runs in a child process (`build_in_subprocess`) where it can: importing `onnx`
    initialises ml_dtypes' native module holding the GIL for 0.5-0.8 s, which froze the
    window once, on the first start - the one every new user sees. In-process only when the
    child fails (it then says why in the log).
    """
    if folder is None:
        return build_model(tower)
    digest = weights_digest(tower)
    path = folder / graph_name(digest)
    if not fresh:
        model = _read_graph(path)
        if model is not None:
            return model
    if build_in_subprocess(path, digest):
        model = _read_graph(path)
        if model is not None:
            return model
    model = build_model(tower)
    try:
        _save_graph(path, model)
    except OSError as exc:  # a read-only cache only costs a build next start
        log.warning("could not save the tower graph to %s: %s", path, exc)
    return model


BUILD_FLAG = "--build-tower-graph"  # app.main's hidden entry into `build_main`
BUILD_TIMEOUT_S = 300.0


def graph_name(digest: str) -> str:
    return f"tower-{digest}.onnx"


def builder_command(path: Path, digest: str) -> list[str]:
    """The command that builds the graph in a child: the packaged app is its own
    interpreter (PyInstaller sets sys.frozen), else this Python runs the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable, BUILD_FLAG, str(path), digest]
    return [sys.executable, "-m", "vlm_desktop", BUILD_FLAG, str(path), digest]


def build_in_subprocess(path: Path, digest: str, timeout_s: float = BUILD_TIMEOUT_S) -> bool:
    """Build and save the graph of the installed tower at `path` in a child process, which
    checks that its tower's weights have `digest`. Returns whether it succeeded; waiting
    releases the GIL, so the window keeps running."""
    started = time.perf_counter()
    try:
        done = subprocess.run(builder_command(path, digest), capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("building the tower graph in a child process failed (%s); building here", exc)
        return False
    if done.returncode != 0:
        log.info("building the tower graph in a child process failed (exit %s): %s; "
                 "building here", done.returncode, done.stderr.strip()[-500:])
        return False
    log.info("built the tower graph in a child process in %.1f s",
             time.perf_counter() - started)
    return True


def build_main(argv: Sequence[str]) -> int:
    """The child: `BUILD_FLAG PATH DIGEST`. Loads the installed tower, refuses to write a
    graph for other weights than the parent's, and writes only a file named for them."""
    if len(argv) != 2:
        print(f"usage: {BUILD_FLAG} PATH DIGEST", file=sys.stderr)
        return 2
    path, digest = Path(argv[0]), argv[1]
    if path.name != graph_name(digest):
        print(f"refusing to write {path}: not a tower graph named for {digest}", file=sys.stderr)
        return 2
    tower = vision.load_vision_tower()
    if weights_digest(tower) != digest:
        print("the installed tower's weights are not the ones asked for", file=sys.stderr)
        return 3
    _save_graph(path, build_model(tower))
    return 0


class OrtRunner:
    """Runs a fused `VisionTower` forward through ONNX Runtime on the CPU; same output."""

    def __init__(self, tower: vision.VisionTower, threads: Optional[int] = None,
                 cache: Optional[Path] = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initialisers are noise
        # ORT's pool threads otherwise spin after each run, taking the cores from the
        # decoding, resizing and pooling that happen between forwards.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model = cached_model(tower, cache)
        try:
            self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a damaged cached graph: build it afresh
            if cache is None:
                raise
            log.warning("the cached tower graph would not load; building it again")
            self.session = ort.InferenceSession(cached_model(tower, cache, fresh=True), options,
                                                providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        grid = self.session.run(["grid"], {"x": array})[0]
        return torch.from_numpy(grid)
