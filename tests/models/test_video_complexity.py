"""Tests for the MACs C(F) of the 3-D CNNs (mec_gym.models.video_complexity)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mec_gym.models.dnn_profiles import count_macs
from mec_gym.models.video_complexity import (
    VIDEO_NETWORKS,
    frame_complexity,
    linear_fit,
)

F_MAX = 32
FRAMES = np.arange(1, F_MAX + 1)
STAGE_BLOCKS = {"resnet18_3d": (2, 2, 2, 2), "resnet34_3d": (3, 4, 6, 3)}


def _out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a conv / pool along one axis."""
    return (size + 2 * pad - kernel) // stride + 1


def closed_form_macs(
    network: str,
    frames: int,
    height: int = 112,
    width: int = 112,
    num_classes: int = 27,
    shortcut: str = "A",
) -> float:
    """C(F) of a 3D-ResNet from the layer-size formulas alone (MAC), independent of torch."""
    t, h, w = frames, _out(height, 7, 2, 3), _out(width, 7, 2, 3)  # conv1, stride (1, 2, 2)
    macs = 64 * t * h * w * 3 * 7**3
    t, h, w = (_out(n, 3, 2, 1) for n in (t, h, w))  # max pool
    in_ch = 64
    for out_ch, stride, blocks in zip(
        (64, 128, 256, 512), (1, 2, 2, 2), STAGE_BLOCKS[network], strict=True
    ):
        for k in range(blocks):
            s = stride if k == 0 else 1
            t, h, w = (_out(n, 3, s, 1) for n in (t, h, w))
            volume = t * h * w
            macs += out_ch * volume * in_ch * 27 + out_ch * volume * out_ch * 27
            if shortcut == "B" and (s != 1 or in_ch != out_ch):
                macs += out_ch * volume * in_ch
            in_ch = out_ch
    return float(macs + 512 * num_classes)


# --------------------------------------------------------------------------------------------
# the spec's numbers
# --------------------------------------------------------------------------------------------


def test_resnet18_reproduces_spec_numbers() -> None:
    exact = frame_complexity("resnet18_3d", F_MAX)
    alpha, beta = linear_fit("resnet18_3d", F_MAX)
    assert exact[15] == pytest.approx(8.30e9, rel=1e-3)  # C(16)
    assert alpha == pytest.approx(5.084e8, rel=1e-3)
    assert beta == pytest.approx(6.863e8, rel=1e-3)


def test_type_b_shortcut_is_off_the_spec_and_costs_more() -> None:
    import torch

    with torch.device("meta"):
        model_b = VIDEO_NETWORKS["resnet18_3d"](shortcut="B")
    exact_a = frame_complexity("resnet18_3d", F_MAX)
    for frames in (1, 7, 16, 32):
        macs_b, out_shape = count_macs(model_b, (3, frames, 112, 112))
        assert out_shape == (27,)
        assert macs_b == closed_form_macs("resnet18_3d", frames, shortcut="B")
        assert macs_b > exact_a[frames - 1]


# --------------------------------------------------------------------------------------------
# exact staircase
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("network", sorted(VIDEO_NETWORKS))
def test_exact_equals_closed_form(network: str) -> None:
    exact = frame_complexity(network, F_MAX)
    assert exact.shape == (F_MAX,)
    assert exact.dtype == np.float64
    expected = [closed_form_macs(network, int(f)) for f in FRAMES]
    np.testing.assert_array_equal(exact, expected)


def test_exact_with_other_frame_size_and_classes_equals_closed_form() -> None:
    exact = frame_complexity("resnet18_3d", 5, height=96, width=128, num_classes=10)
    expected = [closed_form_macs("resnet18_3d", f, 96, 128, 10) for f in range(1, 6)]
    np.testing.assert_array_equal(exact, expected)


@pytest.mark.parametrize("network", sorted(VIDEO_NETWORKS))
def test_exact_is_a_nondecreasing_staircase(network: str) -> None:
    exact = frame_complexity(network, F_MAX)
    steps = np.diff(exact)
    assert np.all(exact > 0)
    assert np.all(steps >= 0)
    # not a line: the increments differ (the time axis is halved with rounding up)
    assert len(np.unique(steps)) > 1
    # the increment pattern follows ceil(F/2), ceil(F/4), ...: F -> F+1 with F odd only moves
    # conv1, so those steps are all equal and the smallest
    odd_steps = steps[0::2]
    np.testing.assert_array_equal(odd_steps, odd_steps[0])
    assert odd_steps[0] == steps.min()


def test_prefix_consistency() -> None:
    np.testing.assert_array_equal(
        frame_complexity("resnet18_3d", 10), frame_complexity("resnet18_3d", F_MAX)[:10]
    )


def test_resnet34_costs_more_than_resnet18_at_every_frame_count() -> None:
    small = frame_complexity("resnet18_3d", F_MAX)
    large = frame_complexity("resnet34_3d", F_MAX)
    assert np.all(large > small)


@pytest.mark.parametrize("network", sorted(VIDEO_NETWORKS))
def test_networks_output_num_classes(network: str) -> None:
    import torch

    with torch.device("meta"):
        model = VIDEO_NETWORKS[network](num_classes=27)
    _, out_shape = count_macs(model, (3, 3, 112, 112))
    assert out_shape == (27,)


# --------------------------------------------------------------------------------------------
# linear fit
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("network", sorted(VIDEO_NETWORKS))
def test_linear_fit_is_least_squares_of_exact(network: str) -> None:
    exact = frame_complexity(network, F_MAX)
    alpha, beta = linear_fit(network, F_MAX)
    ref_alpha, ref_beta = np.polyfit(FRAMES, exact, 1)
    assert alpha == pytest.approx(ref_alpha, rel=1e-9)
    assert beta == pytest.approx(ref_beta, rel=1e-9)
    assert isinstance(alpha, float) and isinstance(beta, float)
    linear = frame_complexity(network, F_MAX, "linear")
    np.testing.assert_allclose(linear, alpha * FRAMES + beta, rtol=1e-12)
    # least squares with an intercept: residuals sum to 0 and are orthogonal to F
    residuals = exact - linear
    scale = np.abs(exact).max()
    assert abs(residuals.sum()) < 1e-9 * scale * F_MAX
    assert abs(residuals @ FRAMES) < 1e-9 * scale * F_MAX**2


def test_linear_fit_over_a_shorter_range() -> None:
    exact = frame_complexity("resnet18_3d", 8)
    alpha, beta = linear_fit("resnet18_3d", 8)
    np.testing.assert_allclose((alpha, beta), np.polyfit(np.arange(1, 9), exact, 1), rtol=1e-9)


def test_linear_fit_with_one_frame_is_flat_through_the_point() -> None:
    exact = frame_complexity("resnet18_3d", 1)
    assert linear_fit("resnet18_3d", 1) == (0.0, float(exact[0]))
    np.testing.assert_array_equal(frame_complexity("resnet18_3d", 1, "linear"), exact)


# --------------------------------------------------------------------------------------------
# arguments, caching
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"network": "resnet50_3d"}, "network"),
        ({"model": "quadratic"}, "model"),
        ({"max_frames": 0}, "max_frames"),
        ({"max_frames": -3}, "max_frames"),
        ({"max_frames": 2.5}, "max_frames"),
        ({"max_frames": "16"}, "max_frames"),
        ({"height": 0}, "height"),
        ({"width": 0}, "width"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs: dict, name: str) -> None:
    args = {"network": "resnet18_3d", "max_frames": 4, "model": "exact"} | kwargs
    with pytest.raises(ValueError, match=name):
        frame_complexity(**args)
    if name != "model":
        args.pop("model")
        with pytest.raises(ValueError, match=name):
            linear_fit(**args)


def test_unknown_shortcut_raises() -> None:
    with pytest.raises(ValueError, match="shortcut"):
        VIDEO_NETWORKS["resnet18_3d"](shortcut="C")


@pytest.mark.parametrize("model", ["exact", "linear"])
def test_returned_arrays_are_read_only_and_cached(model: str) -> None:
    first = frame_complexity("resnet18_3d", F_MAX, model)
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 0.0
    again = frame_complexity("resnet18_3d", np.int64(F_MAX), model)
    assert again is first
    assert math.isfinite(float(again.sum()))
