"""The DNN profiles shipped as data equal what the torch definitions give."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mec_gym.models.dnn_profiles import (
    PROFILE_BUILDERS,
    PROFILE_DATA,
    get_profile,
    measure_profile,
)
from mec_gym.models.video_complexity import frame_complexity, measure_frame_macs

pytest.importorskip("torch")


def test_shipped_file_equals_the_measured_profiles():
    from mec_gym.models.profile_data import measure_profile_data

    assert json.loads(PROFILE_DATA.read_text()) == json.loads(json.dumps(measure_profile_data()))


@pytest.mark.parametrize("name", sorted(PROFILE_BUILDERS))
@pytest.mark.parametrize("num_classes", [1, 10, 1000, 1234])
def test_profile_from_data_equals_the_torch_count(name, num_classes):
    shipped, counted = get_profile(name, num_classes), measure_profile(name, num_classes)
    assert shipped.block_names == counted.block_names
    assert shipped.input_shape == counted.input_shape
    np.testing.assert_array_equal(shipped.block_macs, counted.block_macs)
    np.testing.assert_array_equal(shipped.output_elements, counted.output_elements)


@pytest.mark.parametrize("network", ["resnet18_3d", "resnet34_3d"])
@pytest.mark.parametrize("num_classes", [1, 27, 100])
def test_frame_table_equals_the_torch_count(network, num_classes):
    shipped = frame_complexity(network, 40, num_classes=num_classes)
    np.testing.assert_array_equal(shipped, measure_frame_macs(network, 40, 112, 112, num_classes))


def test_sizes_beyond_the_table_are_counted():
    macs = frame_complexity("resnet18_3d", 3, height=64, width=64)
    np.testing.assert_array_equal(macs, measure_frame_macs("resnet18_3d", 3, 64, 64))
