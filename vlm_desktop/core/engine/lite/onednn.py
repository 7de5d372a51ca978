"""The fused vision tower run as oneDNN fused convolutions, still in float32.

The eager fused tower (`VisionTower.fuse`) spends over a third of its CPU time on memory
passes that carry no arithmetic (profiled in benchmarks/bench_tower.py): the 1x1
convolutions run as `F.linear`, whose `addmm` first copies the broadcast bias into the
output (`copy_`), then a separate ReLU6 pass (`clamp`) and a separate residual add. oneDNN,
which PyTorch's CPU convolutions call anyway, applies bias, ReLU6 and the residual add
inside the convolution's own output loop ("post-ops"). PyTorch exposes that fused kernel
as `torch.ops.mkldnn._convolution_pointwise` (the op its compiler emits for CPU convolutions).

The arithmetic is the same float32 convolutions, only ordered differently by the kernel, so
outputs agree with the eager tower to float rounding (checked in tests/core/test_runtime.py).
"""

from __future__ import annotations

from typing import Optional, cast

import torch
from torch import nn

from vlm_desktop.core.engine.lite import vision

_RELU6 = [0.0, 6.0]


def available() -> bool:
    """Whether this PyTorch build has oneDNN and its fused convolution op."""
    try:
        return bool(torch.backends.mkldnn.is_available()) and hasattr(
            torch.ops.mkldnn, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return False


class _Conv:
    """One folded convolution's weights and geometry, ready for the fused op."""

    def __init__(self, conv: nn.Conv2d) -> None:
        assert conv.bias is not None, "oneDNN runs the fused tower (batch norms folded)"
        self.weight = conv.weight.detach().contiguous()
        self.bias = conv.bias.detach().contiguous()
        self.stride = [int(conv.stride[0]), int(conv.stride[1])]
        self.groups = int(conv.groups)
        self.shifted = isinstance(conv, vision.ShiftedSameConv2d)
        kernel = (int(conv.kernel_size[0]), int(conv.kernel_size[1]))
        if isinstance(conv, (vision.SameConv2d, vision.PointwiseConv2d)) and not self.shifted:
            # Stride 1 "SAME" with odd kernels is symmetric k//2 (1x1: none).
            self.padding = [kernel[0] // 2, kernel[1] // 2]
        elif isinstance(conv.padding, str):
            raise ValueError(f"unsupported padding {conv.padding!r}")
        else:
            self.padding = [int(conv.padding[0]), int(conv.padding[1])]
        # Shifted kernels: the weight slice and padding depend on the input size (see
        # ShiftedSameConv2d); sliced once per size and kept contiguous, not per call.
        self._sized: dict[tuple[int, int], tuple[torch.Tensor, list[int]]] = {}
        # The weight reordered once into oneDNN's blocked layout for the input shape `pack`
        # saw (else the kernel reorders it on every call), and the slice it was cut from.
        self._packed: Optional[tuple[torch.Tensor, tuple[int, int]]] = None

    def pack(self, shape: list[int]) -> None:
        """Reorder the weight once for inputs of `shape`; other shapes still run correctly
        with it (oneDNN reorders where its layout differs), only without the saving."""
        weight, padding = self.weight_for(shape[-2], shape[-1])
        try:
            # The op takes the input size too (its typing stub stops at groups).
            reorder = getattr(torch._C._nn, "mkldnn_reorder_conv2d_weight")
            packed = reorder(weight.to_mkldnn(), padding, self.stride, [1, 1], self.groups,
                             shape)
        except (RuntimeError, NotImplementedError, AttributeError):
            return  # a build without the reorder: dense weights, reordered per call
        self._packed = (packed, self._slice(shape[-2], shape[-1]))
        self._sized.clear()

    def _slice(self, height: int, width: int) -> tuple[int, int]:
        if not self.shifted:
            return (0, 0)
        first = [vision.tf_same_pads(size, int(k) - 1, s)
                 for size, k, s in zip((height, width), self.weight.shape[-2:], self.stride)]
        return (first[0][0] - first[0][1] + 1, first[1][0] - first[1][1] + 1)

    def weight_for(self, height: int, width: int) -> tuple[torch.Tensor, list[int]]:
        """The weight (packed where it was cut the same way) and padding for an input size."""
        if not self.shifted:
            return (self._packed[0] if self._packed is not None else self.weight), self.padding
        found = self._sized.get((height, width))
        if found is None:
            first = self._slice(height, width)
            padding = [vision.tf_same_pads(size, int(k) - 1, s)[1]
                       for size, k, s in zip((height, width), self.weight.shape[-2:], self.stride)]
            if self._packed is not None and self._packed[1] == first:
                weight = self._packed[0]
            else:
                weight = self.weight[:, :, first[0]:, first[1]:].contiguous()
            found = self._sized[(height, width)] = (weight, padding)
        return found

    def __call__(self, x: torch.Tensor, relu6: bool,
                 residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        weight, padding = self.weight_for(int(x.shape[-2]), int(x.shape[-1]))
        op = torch.ops.mkldnn._convolution_pointwise
        if residual is not None:
            return op.binary(x, residual, weight, self.bias, padding, self.stride, [1, 1],
                             self.groups, "add", None, None, [], None)
        if relu6:
            return op(x, weight, self.bias, padding, self.stride, [1, 1], self.groups,
                      "hardtanh", _RELU6, "")
        return op(x, weight, self.bias, padding, self.stride, [1, 1], self.groups,
                  "none", [], "")


PACK_SHAPE = (8, 3, 224, 224)  # the catalog's batches: weights are laid out for these


class OneDnnRunner:
    """Runs a fused `VisionTower` forward as fused oneDNN convolutions; same output."""

    def __init__(self, tower: vision.VisionTower, pack_shape: Optional[tuple[int, ...]] = PACK_SHAPE
                 ) -> None:
        self.stem = _Conv(tower._conv_stem)
        self.blocks: list[tuple[Optional[_Conv], _Conv, _Conv, bool]] = []
        for block in tower._blocks:
            expand = _Conv(cast(nn.Conv2d, block._expand_conv)) if block.has_expand else None
            self.blocks.append((expand, _Conv(cast(nn.Conv2d, block._depthwise_conv)),
                                _Conv(cast(nn.Conv2d, block._project_conv)),
                                bool(block.residual)))
        self.head = _Conv(tower._conv_head)
        if pack_shape is not None:
            self._pack(int(pack_shape[0]), int(pack_shape[2]), int(pack_shape[3]))

    def _pack(self, batch: int, height: int, width: int) -> None:
        """Lay every weight out for a [batch, 3, height, width] input (no forward pass:
        each "SAME" convolution's output is its input size divided by its stride, rounded up)."""
        layers = [self.stem] + [c for block in self.blocks for c in block[:3] if c is not None]
        for layer in [*layers, self.head]:
            layer.pack([batch, int(layer.weight.shape[1]) * layer.groups, height, width])
            height = -(-height // layer.stride[0])
            width = -(-width // layer.stride[1])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x.contiguous(memory_format=torch.channels_last))

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x, relu6=True)
        for expand, depthwise, project, residual in self.blocks:
            inner = expand(h, relu6=True) if expand is not None else h
            inner = depthwise(inner, relu6=True)
            h = project(inner, relu6=False, residual=h if residual else None)
        return self.head(h, relu6=True)
