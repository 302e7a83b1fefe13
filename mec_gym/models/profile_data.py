"""Measure the DNN profiles that ship with the package and write ``PROFILE_DATA`` (needs torch).

    python -m mec_gym.models.profile_data    # rewrites mec_gym/models/data/profiles.json

``tests/models/test_profile_data.py`` checks that the shipped file equals what the torch
definitions give, so the data and the definitions cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from mec_gym.models.dnn_profiles import PROFILE_BUILDERS, PROFILE_DATA, measure_profile
from mec_gym.models.video_complexity import TABULATED_SIZE, VIDEO_NETWORKS, measure_frame_macs

__all__ = ["TABULATED_FRAMES", "measure_profile_data", "main"]

TABULATED_FRAMES = 128
"""Frame counts ``F = 1..TABULATED_FRAMES`` of the shipped ``C(F)`` tables."""
DNN_CLASSES = 1000
"""Classes of the shipped DNN profiles (ImageNet)."""
VIDEO_CLASSES = 27
"""Classes of the shipped video tables (the gesture dataset of the joint offloading paper)."""


def measure_profile_data() -> dict[str, Any]:
    """Every registered network's profile and every video network's ``C(F)`` table, counted.

    The classes only change the last linear layer, whose MACs per class are measured as the
    difference between ``num_classes`` and one class fewer.
    """
    dnn = {}
    for name in PROFILE_BUILDERS:
        full = measure_profile(name, DNN_CLASSES)
        fewer = measure_profile(name, DNN_CLASSES - 1)
        dnn[name] = {
            "num_classes": DNN_CLASSES,
            "input_shape": list(full.input_shape),
            "block_names": list(full.block_names),
            "block_macs": full.block_macs.tolist(),
            "output_elements": full.output_elements.tolist(),
            "classifier_macs_per_class": float(full.block_macs[-1] - fewer.block_macs[-1]),
        }
    video = {}
    for network in VIDEO_NETWORKS:
        full = measure_frame_macs(network, TABULATED_FRAMES, *TABULATED_SIZE, VIDEO_CLASSES)
        fewer = measure_frame_macs(network, 1, *TABULATED_SIZE, VIDEO_CLASSES - 1)
        video[network] = {
            "num_classes": VIDEO_CLASSES,
            "frame_size": list(TABULATED_SIZE),
            "macs": full.tolist(),
            "classifier_macs_per_class": float(full[0] - fewer[0]),
        }
    return {"dnn": dnn, "video": video}


def main() -> None:
    PROFILE_DATA.parent.mkdir(exist_ok=True)
    PROFILE_DATA.write_text(json.dumps(measure_profile_data(), indent=1) + "\n")
    print(f"wrote {PROFILE_DATA}")


if __name__ == "__main__":
    main()
