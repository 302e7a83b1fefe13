"""Per-block MAC and output-size profiles of the registered DNNs."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mec_gym.models.dnn_profiles import (
    INPUT_SHAPES,
    PROFILE_BUILDERS,
    DNNProfile,
    count_macs,
    exit_head_macs,
    get_profile,
    profile_from_blocks,
)

torch = pytest.importorskip("torch")
nn = torch.nn

# (block name, MACs in millions rounded to 0.1, output elements) for torchvision's AlexNet
ALEXNET_TABLE = [
    ("input", 0.0, 150_528),
    ("conv1+pool1", 70.3, 46_656),
    ("conv2+pool2", 223.9, 32_448),
    ("conv3", 112.1, 64_896),
    ("conv4", 149.5, 43_264),
    ("conv5+pool5", 99.7, 9_216),
    ("fc6", 37.7, 4_096),
    ("fc7", 16.8, 4_096),
    ("fc8", 4.1, 1_000),
]

# Well-known totals at 224x224 (GMAC): conv + linear multiply-accumulates
KNOWN_TOTALS_GMAC = {"alexnet": 0.714, "vgg16": 15.47, "resnet18": 1.82, "mobilenet_v2": 0.30}

EXPECTED_NUM_BLOCKS = {"alexnet": 8, "vgg16": 16, "resnet18": 10, "mobilenet_v2": 20}


def test_alexnet_profile_matches_table():
    prof = get_profile("alexnet")
    assert prof.num_blocks == 8
    assert prof.input_shape == (3, 224, 224)
    assert prof.block_names == tuple(row[0] for row in ALEXNET_TABLE)
    assert [round(m / 1e6, 1) for m in prof.block_macs] == [row[1] for row in ALEXNET_TABLE]
    assert prof.output_elements.tolist() == [float(row[2]) for row in ALEXNET_TABLE]
    assert prof.block_macs.dtype == np.float64 and prof.output_elements.dtype == np.float64
    assert prof.total_macs == pytest.approx(714.18848e6)
    assert prof.total_macs == pytest.approx(sum(row[1] for row in ALEXNET_TABLE) * 1e6, rel=1e-3)


def test_count_macs_conv2d_and_linear_hand_formula():
    conv = nn.Conv2d(3, 8, kernel_size=(3, 5), stride=2, padding=1)
    macs, shape = count_macs(conv, (3, 17, 20))
    h_out = (17 + 2 - 3) // 2 + 1
    w_out = (20 + 2 - 5) // 2 + 1
    assert shape == (8, h_out, w_out)
    assert macs == 8 * h_out * w_out * 3 * 3 * 5

    lin = nn.Linear(30, 7)
    macs, shape = count_macs(lin, (30,))
    assert (macs, shape) == (30 * 7, (7,))
    # a linear layer applied to every row of a (5, 30) input
    macs, shape = count_macs(lin, (5, 30))
    assert (macs, shape) == (5 * 30 * 7, (5, 7))


def test_count_macs_grouped_conv_conv1d_conv3d_and_zero_cost_layers():
    grouped = nn.Conv2d(8, 16, kernel_size=3, padding=1, groups=4, bias=False)
    macs, shape = count_macs(grouped, (8, 10, 10))
    assert shape == (16, 10, 10)
    assert macs == 16 * 10 * 10 * (8 // 4) * 3 * 3

    depthwise = nn.Conv2d(6, 6, kernel_size=3, groups=6)
    macs, _ = count_macs(depthwise, (6, 9, 9))
    assert macs == 6 * 7 * 7 * 1 * 9

    conv1d = nn.Conv1d(4, 6, kernel_size=5)
    macs, shape = count_macs(conv1d, (4, 20))
    assert shape == (6, 16) and macs == 6 * 16 * 4 * 5

    conv3d = nn.Conv3d(2, 4, kernel_size=(3, 3, 2), stride=(1, 2, 1))
    macs, shape = count_macs(conv3d, (2, 6, 9, 5))
    assert shape == (4, 4, 4, 4)
    assert macs == 4 * 4 * 4 * 4 * 2 * 3 * 3 * 2

    free = nn.Sequential(
        nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5), nn.AdaptiveAvgPool2d(1)
    )
    assert count_macs(free, (3, 8, 8)) == (0.0, (3, 1, 1))


def test_count_macs_restores_training_mode_and_counts_reused_modules():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin).train()
    macs, _ = count_macs(net, (4,))
    assert macs == 2 * 4 * 4
    assert net.training and lin.training
    assert not lin._forward_hooks  # hooks removed


@pytest.mark.parametrize("name", sorted(PROFILE_BUILDERS))
def test_count_macs_agrees_with_flop_counter(name):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = nn.Sequential(*(block for _, block in PROFILE_BUILDERS[name]()))
        x = torch.zeros((1, *INPUT_SHAPES[name]))
    net.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    assert get_profile(name).total_macs == counter.get_total_flops() / 2


@pytest.mark.parametrize("name", sorted(PROFILE_BUILDERS))
def test_cumulative_macs_and_macs_after_consistent(name):
    prof = get_profile(name)
    cum = prof.cumulative_macs
    assert cum.shape == (prof.num_blocks + 1,)
    assert cum[0] == 0.0 and cum[-1] == prof.total_macs
    assert np.all(np.diff(cum) >= 0)
    np.testing.assert_array_equal(np.diff(cum), prof.block_macs[1:])
    for boundary in range(prof.num_blocks + 1):
        assert prof.macs_after(boundary) + cum[boundary] == prof.total_macs
        assert prof.macs_after(boundary) == pytest.approx(prof.block_macs[boundary + 1 :].sum())
    assert prof.macs_after(0) == prof.total_macs and prof.macs_after(prof.num_blocks) == 0.0
    with pytest.raises(ValueError):
        prof.macs_after(prof.num_blocks + 1)
    with pytest.raises(ValueError):
        prof.macs_after(-1)


@pytest.mark.parametrize("name", sorted(PROFILE_BUILDERS))
def test_known_totals_and_last_block_is_num_classes(name):
    prof = get_profile(name)
    assert prof.num_blocks == EXPECTED_NUM_BLOCKS[name]
    assert prof.total_macs / 1e9 == pytest.approx(KNOWN_TOTALS_GMAC[name], rel=0.02)
    assert prof.output_elements[0] == math.prod(INPUT_SHAPES[name])
    assert prof.output_elements[-1] == 1000
    assert prof.block_macs[0] == 0.0 and np.all(prof.block_macs[1:] > 0)
    assert len(set(prof.block_names)) == len(prof.block_names)


def test_num_classes_changes_only_the_classifier():
    base, small = get_profile("resnet18"), get_profile("resnet18", 10)
    assert small.output_elements[-1] == 10
    np.testing.assert_array_equal(small.block_macs[:-1], base.block_macs[:-1])
    assert small.block_macs[-1] == 512 * 10
    assert get_profile("alexnet", 10).block_macs[-1] == 4096 * 10


def test_profile_from_blocks_on_cpu_matches_meta_profile():
    prof = profile_from_blocks("alexnet", PROFILE_BUILDERS["alexnet"](), (3, 224, 224))
    ref = get_profile("alexnet")
    np.testing.assert_array_equal(prof.block_macs, ref.block_macs)
    np.testing.assert_array_equal(prof.output_elements, ref.output_elements)
    assert prof.block_names == ref.block_names


def test_get_profile_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="nope") as excinfo:
        get_profile("nope")
    for name in PROFILE_BUILDERS:
        assert name in str(excinfo.value)


def test_get_profile_cached_and_read_only():
    prof = get_profile("alexnet")
    assert get_profile("alexnet") is prof
    for arr in (prof.block_macs, prof.output_elements, prof.cumulative_macs):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1.0
    with pytest.raises(AttributeError):
        prof.name = "other"  # type: ignore[misc]


def test_to_dict_is_json_round_trippable():
    prof = get_profile("mobilenet_v2")
    data = json.loads(json.dumps(prof.to_dict()))
    assert data["name"] == "mobilenet_v2"
    assert data["num_blocks"] == prof.num_blocks
    assert data["block_macs"] == prof.block_macs.tolist()
    assert data["output_elements"] == prof.output_elements.tolist()
    assert data["total_macs"] == prof.total_macs
    rebuilt = DNNProfile(
        name=data["name"],
        input_shape=tuple(data["input_shape"]),
        block_names=tuple(data["block_names"]),
        block_macs=np.array(data["block_macs"]),
        output_elements=np.array(data["output_elements"]),
    )
    np.testing.assert_array_equal(rebuilt.cumulative_macs, prof.cumulative_macs)


def test_dnn_profile_validates_lengths():
    with pytest.raises(ValueError):
        DNNProfile("x", (1,), ("input", "b1"), np.array([0.0, 1.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        DNNProfile("x", (1,), ("input", "b1"), np.array([1.0, 1.0]), np.array([1.0, 1.0]))


def test_exit_head_macs():
    prof = get_profile("alexnet")
    assert exit_head_macs(prof, 5, 1000) == 9216 * 1000
    assert exit_head_macs(prof, 0, 10) == 150_528 * 10
    with pytest.raises(ValueError):
        exit_head_macs(prof, 9, 1000)


def test_module_import_does_not_import_torch():
    code = (
        "import sys, mec_gym.models.dnn_profiles as d; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert set(d.PROFILE_BUILDERS) == set(d.INPUT_SHAPES)"
    )
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
