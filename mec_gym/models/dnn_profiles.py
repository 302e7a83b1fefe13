"""Per-block compute (MAC) and boundary output size (elements) of DNNs split into blocks.

The networks are written here with ``torch.nn`` to match torchvision's definitions layer for
layer (no weights are needed: MACs and sizes depend on shapes only). A profile is measured by
running a dummy zero input through the blocks in order; the measured profiles ship with the
package as data (:data:`PROFILE_DATA`), which :func:`get_profile` reads, so only measuring
needs ``torch`` (imported lazily, inside the functions that need it).

Units: compute in MAC (multiply-accumulates, one per weight use), sizes in tensor elements.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "DNNProfile",
    "INPUT_SHAPES",
    "PROFILE_BUILDERS",
    "alexnet_blocks",
    "count_macs",
    "exit_head_macs",
    "get_profile",
    "measure_profile",
    "shipped_profile_data",
    "mobilenet_v2_blocks",
    "profile_from_blocks",
    "resnet18_blocks",
    "vgg16_blocks",
]

Blocks = list[tuple[str, "nn.Module"]]


def _readonly(values: Any) -> np.ndarray:
    """A read-only float64 copy of ``values``."""
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class DNNProfile:
    """Per-block compute and output size of a DNN split into sequential blocks.

    Boundary ``j`` in ``0..J`` is the point after block ``j`` (boundary 0 is the raw input).
    Arrays are float64 and read-only. Equality is identity (arrays do not compare as a bool).

    Attributes
    ----------
    name : str
        Network name.
    input_shape : tuple of int
        Shape of one input without the batch dimension, e.g. ``(3, 224, 224)``.
    block_names : tuple of str
        Names of boundaries ``0..J``: ``("input", "conv1+pool1", ...)``.
    block_macs : np.ndarray, shape (J+1,)
        MACs of block ``j`` (MAC); index 0 (raw input) is 0.
    output_elements : np.ndarray, shape (J+1,)
        Elements of the tensor at boundary ``j``; index 0 is the input size (elements).
    """

    name: str
    input_shape: tuple[int, ...]
    block_names: tuple[str, ...]
    block_macs: np.ndarray
    output_elements: np.ndarray
    _cumulative: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        macs = _readonly(self.block_macs)
        outs = _readonly(self.output_elements)
        names = tuple(str(n) for n in self.block_names)
        if macs.ndim != 1 or macs.size < 1:
            raise ValueError("block_macs must be a non-empty 1-D array")
        if outs.shape != macs.shape or len(names) != macs.size:
            raise ValueError(
                "block_macs, output_elements and block_names must all have length J+1, got "
                f"{macs.size}, {outs.size} and {len(names)}"
            )
        if macs[0] != 0.0:
            raise ValueError("block_macs[0] (raw input) must be 0")
        if np.any(macs < 0) or np.any(outs <= 0):
            raise ValueError("block_macs must be >= 0 and output_elements > 0")
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        object.__setattr__(self, "block_names", names)
        object.__setattr__(self, "block_macs", macs)
        object.__setattr__(self, "output_elements", outs)
        object.__setattr__(self, "_cumulative", _readonly(np.cumsum(macs)))

    @property
    def num_blocks(self) -> int:
        """Number of blocks ``J`` (boundaries are ``0..J``)."""
        return int(self.block_macs.size - 1)

    @property
    def cumulative_macs(self) -> np.ndarray:
        """MACs of blocks ``1..j`` for each boundary ``j``, shape (J+1,), index 0 = 0 (MAC)."""
        return self._cumulative

    @property
    def total_macs(self) -> float:
        """MACs of the whole network (MAC)."""
        return float(self._cumulative[-1])

    def checked_boundary(self, boundary: int) -> int:
        b = int(boundary)
        if b != boundary or not 0 <= b <= self.num_blocks:
            raise ValueError(
                f"boundary must be an integer in [0, {self.num_blocks}], got {boundary}"
            )
        return b

    def macs_after(self, boundary: int) -> float:
        """MACs of blocks ``boundary+1..J``: what an edge must run to finish the task (MAC)."""
        b = self.checked_boundary(boundary)
        return float(self._cumulative[-1] - self._cumulative[b])

    def to_dict(self) -> dict[str, Any]:
        """Plain-python (JSON-able) form: name, shapes, per-block MACs and output elements."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "block_names": list(self.block_names),
            "block_macs": [float(v) for v in self.block_macs],
            "output_elements": [float(v) for v in self.output_elements],
            "num_blocks": self.num_blocks,
            "total_macs": self.total_macs,
        }


def count_macs(module: nn.Module, input_shape: Sequence[int]) -> tuple[float, tuple[int, ...]]:
    """MACs of one forward pass of ``module`` on a batch of one, and its output shape.

    Implemented with forward hooks on every ``Conv1d``/``Conv2d``/``Conv3d`` and ``Linear``
    submodule (a module called twice counts twice). A convolution costs
    ``out.numel() * in_channels / groups * prod(kernel_size)``, a linear layer
    ``out.numel() * in_features``; biases, pooling, activations, dropout, batch norm and
    residual additions count 0. The module is run in eval mode under ``torch.no_grad`` on a
    zero tensor (on the device of its parameters, so a ``meta``-device module costs no compute),
    and its training flag is restored afterwards.

    Parameters
    ----------
    module : torch.nn.Module
        Network or block; its forward must return one tensor.
    input_shape : sequence of int
        Shape of one input without the batch dimension.

    Returns
    -------
    macs : float
        Multiply-accumulates of the forward pass (MAC).
    output_shape : tuple of int
        Output shape without the batch dimension.
    """
    import torch
    from torch import nn

    total = 0

    def conv_hook(mod: nn.Module, _inputs: Any, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * (mod.in_channels // mod.groups) * math.prod(mod.kernel_size)

    def linear_hook(mod: nn.Module, _inputs: Any, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * mod.in_features

    tensors = [*module.parameters(), *module.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    x = torch.zeros((1, *(int(s) for s in input_shape)), device=device)
    handles = []
    was_training = module.training
    try:
        for sub in module.modules():
            if isinstance(sub, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                handles.append(sub.register_forward_hook(conv_hook))
            elif isinstance(sub, nn.Linear):
                handles.append(sub.register_forward_hook(linear_hook))
        module.eval()
        with torch.no_grad():
            out = module(x)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"module must return a tensor, got {type(out).__name__}")
    return float(total), tuple(int(s) for s in out.shape[1:])


def profile_from_blocks(
    name: str, blocks: Sequence[tuple[str, nn.Module]], input_shape: Sequence[int]
) -> DNNProfile:
    """Profile a network given as sequential ``(name, block)`` pairs.

    Runs a dummy zero tensor through the blocks in order (``torch.no_grad``, eval mode, see
    :func:`count_macs`) and records each block's MACs (MAC) and output size (elements).
    """
    if not blocks:
        raise ValueError("blocks must not be empty")
    shape = tuple(int(s) for s in input_shape)
    names, macs, outs = ["input"], [0.0], [float(math.prod(shape))]
    for block_name, block in blocks:
        block_macs, shape = count_macs(block, shape)
        names.append(block_name)
        macs.append(block_macs)
        outs.append(float(math.prod(shape)))
    return DNNProfile(
        name=name,
        input_shape=tuple(int(s) for s in input_shape),
        block_names=tuple(names),
        block_macs=np.array(macs),
        output_elements=np.array(outs),
    )


# --------------------------------------------------------------------------------------------
# Architectures (torchvision layouts, no weights)
# --------------------------------------------------------------------------------------------


def alexnet_blocks(num_classes: int = 1000) -> Blocks:
    """torchvision's AlexNet split into 8 blocks: conv1..conv5 (with their pools) and fc6..fc8.

    Block 5 ends with the adaptive 6x6 average pool and the flatten, so its output is the
    9,216-element feature vector.
    """
    from torch import nn

    return [
        (
            "conv1+pool1",
            nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            ),
        ),
        (
            "conv2+pool2",
            nn.Sequential(
                nn.Conv2d(64, 192, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            ),
        ),
        ("conv3", nn.Sequential(nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(True))),
        ("conv4", nn.Sequential(nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(True))),
        (
            "conv5+pool5",
            nn.Sequential(
                nn.Conv2d(256, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.AdaptiveAvgPool2d((6, 6)),
                nn.Flatten(1),
            ),
        ),
        ("fc6", nn.Sequential(nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(True))),
        ("fc7", nn.Sequential(nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(True))),
        ("fc8", nn.Sequential(nn.Linear(4096, num_classes))),
    ]


_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def vgg16_blocks(num_classes: int = 1000) -> Blocks:
    """torchvision's VGG-16 (configuration D, no BN) split into 16 blocks.

    One block per conv layer (conv + ReLU, plus the max pool where one follows; the last conv
    block also holds the adaptive 7x7 average pool and the flatten) and one per FC layer.
    """
    from torch import nn

    blocks: Blocks = []
    in_ch, stage, idx = 3, 1, 0
    cfg = list(_VGG16_CFG)
    i = 0
    while i < len(cfg):
        out_ch = int(cfg[i])
        idx += 1
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1),
            nn.ReLU(True),
        ]
        name = f"conv{stage}_{idx}"
        if i + 1 < len(cfg) and cfg[i + 1] == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            name += f"+pool{stage}"
            i += 1
            if i == len(cfg) - 1:
                layers += [nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(1)]
            stage, idx = stage + 1, 0
        blocks.append((name, nn.Sequential(*layers)))
        in_ch = out_ch
        i += 1
    blocks += [
        ("fc6", nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5))),
        ("fc7", nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5))),
        ("fc8", nn.Sequential(nn.Linear(4096, num_classes))),
    ]
    return blocks


@functools.cache
def _residual_classes() -> tuple[type, type]:
    """The BasicBlock (ResNet) and InvertedResidual (MobileNetV2) classes, defined lazily."""
    from torch import Tensor, nn

    class BasicBlock(nn.Module):
        """ResNet BasicBlock: two 3x3 convs + BN, identity or 1x1-conv+BN shortcut."""

        def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(out_ch)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(out_ch)
            self.downsample: nn.Module | None = None
            if stride != 1 or in_ch != out_ch:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(out_ch),
                )

        def forward(self, x: Tensor) -> Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class InvertedResidual(nn.Module):
        """MobileNetV2 block: 1x1 expand (if t != 1), 3x3 depthwise, 1x1 linear projection."""

        def __init__(self, in_ch: int, out_ch: int, stride: int, expand_ratio: int) -> None:
            super().__init__()
            hidden = int(round(in_ch * expand_ratio))
            self.use_res_connect = stride == 1 and in_ch == out_ch
            layers: list[nn.Module] = []
            if expand_ratio != 1:
                layers.append(_conv_bn_relu6(in_ch, hidden, kernel_size=1))
            layers += [
                _conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, out_ch, 1, bias=False),
                nn.BatchNorm2d(out_ch),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Tensor) -> Tensor:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    return BasicBlock, InvertedResidual


def _conv_bn_relu6(
    in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, groups: int = 1
) -> nn.Module:
    """torchvision's Conv2dNormActivation with BatchNorm2d and ReLU6 (no conv bias)."""
    from torch import nn

    pad = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, pad, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


def resnet18_blocks(num_classes: int = 1000) -> Blocks:
    """torchvision's ResNet-18 split into 10 blocks: stem, the 8 BasicBlocks, avgpool+fc.

    The stem is conv1 (7x7/2) + BN + ReLU + max pool (3x3/2).
    """
    from torch import nn

    basic_block, _ = _residual_classes()
    blocks: Blocks = [
        (
            "stem",
            nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            ),
        )
    ]
    in_ch = 64
    for layer, out_ch in enumerate((64, 128, 256, 512), start=1):
        for k in range(2):
            stride = 2 if (k == 0 and layer > 1) else 1
            blocks.append((f"layer{layer}.{k}", basic_block(in_ch, out_ch, stride)))
            in_ch = out_ch
    blocks.append(
        (
            "avgpool+fc",
            nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(1), nn.Linear(512, num_classes)),
        )
    )
    return blocks


# (expansion t, output channels c, repeats n, first stride s), width multiplier 1.0
_MOBILENET_V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2_blocks(num_classes: int = 1000) -> Blocks:
    """torchvision's MobileNetV2 (width 1.0) split into 20 blocks.

    Blocks: stem (3x3/2 conv to 32 channels), the 17 inverted-residual blocks, the last 1x1
    conv to 1,280 channels, and the classifier (global average pool, flatten, dropout, fc).
    """
    from torch import nn

    _, inverted_residual = _residual_classes()
    blocks: Blocks = [("stem", _conv_bn_relu6(3, 32, stride=2))]
    in_ch, idx = 32, 0
    for t, c, n, s in _MOBILENET_V2_SETTING:
        for k in range(n):
            idx += 1
            blocks.append((f"ir{idx}", inverted_residual(in_ch, c, s if k == 0 else 1, t)))
            in_ch = c
    blocks.append(("last_conv", _conv_bn_relu6(in_ch, 1280, kernel_size=1)))
    blocks.append(
        (
            "classifier",
            nn.Sequential(
                nn.AdaptiveAvgPool2d((1, 1)),
                nn.Flatten(1),
                nn.Dropout(0.2),
                nn.Linear(1280, num_classes),
            ),
        )
    )
    return blocks


PROFILE_BUILDERS: dict[str, Callable[..., Blocks]] = {
    "alexnet": alexnet_blocks,
    "vgg16": vgg16_blocks,
    "resnet18": resnet18_blocks,
    "mobilenet_v2": mobilenet_v2_blocks,
}
"""Registered networks: name -> ``builder(num_classes) -> [(block name, module), ...]``."""

INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "alexnet": (3, 224, 224),
    "vgg16": (3, 224, 224),
    "resnet18": (3, 224, 224),
    "mobilenet_v2": (3, 224, 224),
}
"""Input shape (without batch) used to profile each registered network."""


PROFILE_DATA = Path(__file__).parent / "data" / "profiles.json"
"""The profiles shipped with the package, measured from the torch definitions of this module and
of :mod:`mec_gym.models.video_complexity` by ``python -m mec_gym.models.profile_data`` (a test
keeps the two equal), so that no environment imports torch."""


@functools.cache
def shipped_profile_data() -> dict[str, Any]:
    """The parsed ``PROFILE_DATA`` (``"dnn"``: per network; ``"video"``: per video network)."""
    return json.loads(PROFILE_DATA.read_text())


def _checked_profile_args(name: str, num_classes: int) -> None:
    if name not in PROFILE_BUILDERS:
        raise ValueError(f"unknown DNN profile {name!r}; valid names: {sorted(PROFILE_BUILDERS)}")
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes}")


@functools.cache
def get_profile(name: str = "alexnet", num_classes: int = 1000) -> DNNProfile:
    """Profile of a registered network, from the shipped data (cached; no torch import).

    The data hold each network at ``num_classes`` classes and the MACs per class of its last
    linear layer, which is all that depends on the classes.

    Raises
    ------
    ValueError
        If ``name`` is not in :data:`PROFILE_BUILDERS` (the message lists the valid names) or
        ``num_classes`` is not a positive integer.
    """
    _checked_profile_args(name, num_classes)
    entry = shipped_profile_data()["dnn"][name]
    macs = list(entry["block_macs"])
    macs[-1] += entry["classifier_macs_per_class"] * (int(num_classes) - entry["num_classes"])
    outputs = [*entry["output_elements"][:-1], float(num_classes)]
    return DNNProfile(name, tuple(entry["input_shape"]), tuple(entry["block_names"]), macs, outputs)


def measure_profile(name: str, num_classes: int = 1000) -> DNNProfile:
    """Profile of a registered network counted from its torch definition (needs torch).

    The blocks are built on the ``meta`` device, so profiling allocates no weights and runs
    no arithmetic; only shapes are propagated.
    """
    _checked_profile_args(name, num_classes)
    import torch

    with torch.device("meta"):
        blocks = PROFILE_BUILDERS[name](int(num_classes))
    return profile_from_blocks(name, blocks, INPUT_SHAPES[name])


def exit_head_macs(profile: DNNProfile, boundary: int, num_classes: int) -> float:
    """MACs of a light early-exit head at ``boundary`` (MAC).

    The head is one linear layer from the boundary's output to the classes:
    ``output_elements[boundary] * num_classes``.
    """
    b = profile.checked_boundary(boundary)
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    return float(profile.output_elements[b] * num_classes)
