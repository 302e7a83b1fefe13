"""MACs ``C(F)`` of one inference of a 3-D CNN on a clip of ``F`` frames (exact and linear).

The networks are the 3D-ResNets of Hara et al., "Can spatiotemporal 3D CNNs retrace the history
of 2D CNNs and ImageNet?" (CVPR 2018), written here with ``torch.nn`` (no weights are needed:
MACs depend on shapes only). The input is one RGB clip of shape ``(3, F, height, width)``
(channels, frames, rows, columns).

Architecture (3D-ResNet-18 / 34):

- conv1: 3-D conv 7x7x7 (t, h, w), stride (1, 2, 2), padding (3, 3, 3), 64 channels, no bias;
  BN, ReLU;
- 3-D max pool, kernel 3, stride 2, padding 1 (in all three dims);
- four stages of BasicBlocks (two 3x3x3 convs + BN, residual addition) with 64, 128, 256, 512
  channels and first strides 1, 2, 2, 2 (in all three dims); [2, 2, 2, 2] blocks for
  ResNet-18, [3, 4, 6, 3] for ResNet-34;
- adaptive average pool to 1x1x1, fully connected layer to ``num_classes``.

Shortcut. Where a block changes the shape (first block of stages 2-4), the shortcut is by
default Hara et al.'s **type A**: the input subsampled with the block's stride and zero-padded
with the missing channels, which costs 0 MAC. This is what Hara et al. use for their ResNet-18
and ResNet-34, and it is the variant that reproduces the published numbers of the joint-offload
spec (3D-ResNet-18, 112x112 RGB, 27 classes: ``C(16) = 8.30 GMAC``; fit over ``F = 1..32``:
``alpha = 5.084e8 MAC/frame``, ``beta = 6.863e8 MAC``). Counted here:

=============  ===========  ===================  ===============  ===============
network        shortcut     C(16) (MAC)          alpha (MAC/fr.)  beta (MAC)
=============  ===========  ===================  ===============  ===============
resnet18_3d    A (default)  8.29608e9            5.08373e8        6.86255e8
resnet18_3d    B            8.30782e9            5.09055e8        6.89383e8
resnet34_3d    A (default)  1.26844e10           7.72247e8        1.44079e9
=============  ===========  ===================  ===============  ===============

The **type B** shortcut (1x1x1 conv with the block's stride + BN) can be built with
``VIDEO_NETWORKS[name](shortcut="B")``; its extra convs add about 0.1 % to ``C(F)``
(``alpha`` +0.13 %, ``beta`` +0.45 % off the spec), so :func:`frame_complexity` uses type A.

Staircase. The time axis keeps ``F`` frames through conv1 (MACs linear in ``F``) and is halved
(rounding up) by the max pool and by each of stages 2-4, so the later layers see
``ceil(F/2)``, ``ceil(F/4)``, ``ceil(F/8)``, ``ceil(F/16)`` time steps: ``C(F)`` grows in steps
whose size depends on which of these sizes change between ``F`` and ``F + 1``.

MACs are counted with :func:`mec_gym.models.dnn_profiles.count_macs` (conv and linear layers;
biases, BN, pooling, activations and residual additions count 0) on ``meta``-device modules, so
no weights are allocated and no arithmetic is done. The counts for 112x112 frames ship with the
package as data (``mec_gym.models.dnn_profiles.PROFILE_DATA``); only other sizes need ``torch``
(imported lazily, inside the functions that need it).

Units: compute in MAC (multiply-accumulates), ``alpha`` in MAC per frame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from mec_gym.models.dnn_profiles import count_macs, shipped_profile_data

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "COMPLEXITY_MODELS",
    "SHORTCUT_TYPES",
    "VIDEO_NETWORKS",
    "frame_complexity",
    "linear_fit",
    "measure_frame_macs",
    "resnet18_3d",
    "resnet34_3d",
]

COMPLEXITY_MODELS: tuple[str, ...] = ("exact", "linear")
"""Models of ``C(F)``: the counted staircase or its least-squares line."""

SHORTCUT_TYPES: tuple[str, ...] = ("A", "B")
"""Residual shortcuts where the shape changes: zero-padding identity (A) or 1x1x1 conv (B)."""

_STAGE_CHANNELS: tuple[int, ...] = (64, 128, 256, 512)
_STAGE_STRIDES: tuple[int, ...] = (1, 2, 2, 2)


@functools.cache
def _video_classes() -> tuple[type, type]:
    """The 3-D BasicBlock and the type-A shortcut classes, defined lazily (torch import)."""
    import torch.nn.functional as functional
    from torch import Tensor, nn

    class ZeroPadShortcut(nn.Module):
        """Type-A shortcut: subsample by ``stride`` in (t, h, w), zero-pad to ``out_ch`` (0 MAC)."""

        def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
            super().__init__()
            if out_ch < in_ch:
                raise ValueError(f"out_ch must be >= in_ch, got {out_ch} < {in_ch}")
            self.stride = stride
            self.extra_channels = out_ch - in_ch

        def forward(self, x: Tensor) -> Tensor:
            s = self.stride
            x = x[:, :, ::s, ::s, ::s]
            # pad pairs run from the last dim backwards: (w, h, t, channels)
            return functional.pad(x, (0, 0, 0, 0, 0, 0, 0, self.extra_channels))

    class BasicBlock3d(nn.Module):
        """3-D ResNet BasicBlock: two 3x3x3 convs + BN, identity or type A/B shortcut."""

        def __init__(self, in_ch: int, out_ch: int, stride: int = 1, shortcut: str = "A") -> None:
            super().__init__()
            self.conv1 = nn.Conv3d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm3d(out_ch)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv3d(out_ch, out_ch, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm3d(out_ch)
            self.downsample: nn.Module | None = None
            if stride != 1 or in_ch != out_ch:
                if shortcut == "A":
                    self.downsample = ZeroPadShortcut(in_ch, out_ch, stride)
                else:
                    self.downsample = nn.Sequential(
                        nn.Conv3d(in_ch, out_ch, 1, stride=stride, bias=False),
                        nn.BatchNorm3d(out_ch),
                    )

        def forward(self, x: Tensor) -> Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    return BasicBlock3d, ZeroPadShortcut


def _resnet_3d(stage_blocks: tuple[int, ...], num_classes: int, shortcut: str) -> nn.Module:
    """A 3D-ResNet with BasicBlocks, ``stage_blocks[i]`` blocks in stage ``i`` (see module doc)."""
    from torch import nn

    if shortcut not in SHORTCUT_TYPES:
        raise ValueError(f"unknown shortcut {shortcut!r}; valid types: {list(SHORTCUT_TYPES)}")
    basic_block, _ = _video_classes()
    layers: list[nn.Module] = [
        nn.Conv3d(3, 64, kernel_size=7, stride=(1, 2, 2), padding=(3, 3, 3), bias=False),
        nn.BatchNorm3d(64),
        nn.ReLU(inplace=True),
        nn.MaxPool3d(kernel_size=3, stride=2, padding=1),
    ]
    in_ch = 64
    for out_ch, first_stride, num_blocks in zip(
        _STAGE_CHANNELS, _STAGE_STRIDES, stage_blocks, strict=True
    ):
        for k in range(num_blocks):
            layers.append(basic_block(in_ch, out_ch, first_stride if k == 0 else 1, shortcut))
            in_ch = out_ch
    layers += [nn.AdaptiveAvgPool3d(1), nn.Flatten(1), nn.Linear(in_ch, num_classes)]
    return nn.Sequential(*layers)


def resnet18_3d(num_classes: int = 27, shortcut: str = "A") -> nn.Module:
    """3D-ResNet-18 (BasicBlocks [2, 2, 2, 2]) on clips of shape ``(3, F, H, W)``.

    ``shortcut`` is "A" (zero-padding identity, 0 MAC, the default) or "B" (1x1x1 conv + BN)
    where a block changes the shape. Build under ``with torch.device("meta")`` to skip weights.
    """
    return _resnet_3d((2, 2, 2, 2), num_classes, shortcut)


def resnet34_3d(num_classes: int = 27, shortcut: str = "A") -> nn.Module:
    """3D-ResNet-34 (BasicBlocks [3, 4, 6, 3]) on clips of shape ``(3, F, H, W)``.

    ``shortcut`` is "A" (zero-padding identity, 0 MAC, the default) or "B" (1x1x1 conv + BN)
    where a block changes the shape. Build under ``with torch.device("meta")`` to skip weights.
    """
    return _resnet_3d((3, 4, 6, 3), num_classes, shortcut)


VIDEO_NETWORKS: dict[str, Callable[..., nn.Module]] = {
    "resnet18_3d": resnet18_3d,
    "resnet34_3d": resnet34_3d,
}
"""Registered video networks: name -> ``builder(num_classes=27, shortcut="A") -> nn.Module``."""


def _positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int``; ``ValueError`` naming ``name`` unless it is an integer >= 1."""
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        as_int = None
    if isinstance(value, bool) or as_int is None or as_int != value or as_int < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return as_int


def _check_network(network: str) -> None:
    if network not in VIDEO_NETWORKS:
        raise ValueError(f"unknown network {network!r}; valid networks: {sorted(VIDEO_NETWORKS)}")


def _readonly(values: Any) -> np.ndarray:
    """A read-only float64 copy of ``values``."""
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _without_batch_norm(model: nn.Module) -> nn.Module:
    """``model`` with every batch norm replaced, in place, by an identity.

    Batch norm keeps the shape and counts 0 MAC, so this leaves the count unchanged; torch's
    meta kernel for it is pure Python and takes most of the counting time otherwise.
    """
    from torch import nn

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                setattr(parent, name, nn.Identity())
    return model


TABULATED_SIZE = (112, 112)
"""Frame size (height, width) in pixels of the shipped ``C(F)`` tables."""


@functools.cache
def _exact_macs(
    network: str, max_frames: int, height: int, width: int, num_classes: int
) -> np.ndarray:
    """``C(F)`` for ``F = 1..max_frames`` (MAC), read-only; arguments already valid.

    From the shipped table (``mec_gym.models.dnn_profiles.PROFILE_DATA``) where it covers the
    arguments, counted from the torch definition otherwise (:func:`measure_frame_macs`).
    """
    table = shipped_profile_data()["video"][network]
    if (height, width) == TABULATED_SIZE and max_frames <= len(table["macs"]):
        extra = table["classifier_macs_per_class"] * (num_classes - table["num_classes"])
        return _readonly(np.asarray(table["macs"][:max_frames]) + extra)
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"C(F) of {network} is shipped for frames of {TABULATED_SIZE[0]}x{TABULATED_SIZE[1]} "
            f"px and max_frames <= {len(table['macs'])}; counting max_frames={max_frames} at "
            f"{height}x{width} px needs torch: pip install 'mec-gym[profiles]'"
        ) from error
    return measure_frame_macs(network, max_frames, height, width, num_classes)


def measure_frame_macs(
    network: str, max_frames: int, height: int = 112, width: int = 112, num_classes: int = 27
) -> np.ndarray:
    """``C(F)`` for ``F = 1..max_frames`` (MAC) counted from the torch definition (needs torch).

    The network is built once on the ``meta`` device (batch norms, 0 MAC, swapped for
    identities to save time) and run on one input per frame count.
    """
    import torch

    with torch.device("meta"):
        model = _without_batch_norm(VIDEO_NETWORKS[network](num_classes=num_classes))
    return _readonly(
        [count_macs(model, (3, frames, height, width))[0] for frames in range(1, max_frames + 1)]
    )


@functools.cache
def _linear_coefficients(
    network: str, max_frames: int, height: int, width: int, num_classes: int
) -> tuple[float, float]:
    """Least-squares ``(alpha MAC/frame, beta MAC)`` of the exact ``C(F)`` over ``1..max_frames``.

    With one point (``max_frames = 1``) the line is underdetermined; it is taken flat:
    ``(0, C(1))``, which still reproduces ``C(1)``.
    """
    exact = _exact_macs(network, max_frames, height, width, num_classes)
    if max_frames == 1:
        return 0.0, float(exact[0])
    frames = np.arange(1, max_frames + 1, dtype=np.float64)
    frames_dev = frames - frames.mean()
    alpha = float(frames_dev @ (exact - exact.mean()) / (frames_dev @ frames_dev))
    beta = float(exact.mean() - alpha * frames.mean())
    return alpha, beta


@functools.cache
def _linear_macs(
    network: str, max_frames: int, height: int, width: int, num_classes: int
) -> np.ndarray:
    """``alpha*F + beta`` for ``F = 1..max_frames`` (MAC), read-only; arguments already valid."""
    alpha, beta = _linear_coefficients(network, max_frames, height, width, num_classes)
    return _readonly(alpha * np.arange(1, max_frames + 1) + beta)


def _validated(
    network: str, max_frames: int, height: int, width: int, num_classes: int
) -> tuple[str, int, int, int, int]:
    """The arguments checked and normalised to ``int`` (so equal values share a cache entry)."""
    _check_network(network)
    return (
        network,
        _positive_int("max_frames", max_frames),
        _positive_int("height", height),
        _positive_int("width", width),
        _positive_int("num_classes", num_classes),
    )


def frame_complexity(
    network: str,
    max_frames: int,
    model: str = "exact",
    *,
    height: int = 112,
    width: int = 112,
    num_classes: int = 27,
) -> np.ndarray:
    """MACs ``C(F)`` of one inference on an RGB clip of ``F = 1..max_frames`` frames (MAC).

    Parameters
    ----------
    network : str
        A key of :data:`VIDEO_NETWORKS` ("resnet18_3d" or "resnet34_3d"), type-A shortcut.
    max_frames : int
        Largest frame count ``F_max`` (>= 1).
    model : str
        "exact": counted layer by layer from the torch definition (a staircase in ``F``);
        "linear": ``alpha*F + beta`` with the least-squares fit of the exact values over
        ``F = 1..max_frames`` (see :func:`linear_fit`).
    height, width : int
        Frame size in pixels (default 112x112).
    num_classes : int
        Outputs of the final fully connected layer (default 27 gesture classes).

    Returns
    -------
    np.ndarray, shape (max_frames,)
        Entry ``i`` is ``C(i + 1)`` (MAC). Float64 and read-only: results are cached per
        argument set and shared between callers (copy before modifying).

    Raises
    ------
    ValueError
        For an unknown ``network`` or ``model``, or if ``max_frames``, ``height``, ``width`` or
        ``num_classes`` is not a positive integer; the message names the argument.
    """
    args = _validated(network, max_frames, height, width, num_classes)
    if model == "exact":
        return _exact_macs(*args)
    if model == "linear":
        return _linear_macs(*args)
    raise ValueError(f"unknown model {model!r}; valid models: {list(COMPLEXITY_MODELS)}")


def linear_fit(
    network: str,
    max_frames: int,
    *,
    height: int = 112,
    width: int = 112,
    num_classes: int = 27,
) -> tuple[float, float]:
    """Least-squares line ``C(F) ~ alpha*F + beta`` of the exact MACs over ``F = 1..max_frames``.

    Arguments as in :func:`frame_complexity`. For ``max_frames = 1`` (one point) the line is
    taken flat, ``(0, C(1))``. Cached per argument set.

    Returns
    -------
    alpha : float
        Slope (MAC per frame).
    beta : float
        Intercept (MAC).

    Raises
    ------
    ValueError
        For an unknown ``network`` or a non-positive-integer ``max_frames``, ``height``,
        ``width`` or ``num_classes``; the message names the argument.
    """
    return _linear_coefficients(*_validated(network, max_frames, height, width, num_classes))
