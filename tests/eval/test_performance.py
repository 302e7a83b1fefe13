"""eval/performance.py: the summary of the spec's targets and the generated page."""

from __future__ import annotations

import pytest

from mec_gym.eval import output, performance
from mec_gym.registration import ENVS


def test_the_summary_keeps_every_judged_row_with_its_verdict(tmp_path):
    output.write_csv(
        tmp_path / "bench_envs.csv",
        [
            {"env": "CartPole-v1", "steps_per_s": 1e5, "ratio": 1.0, "target": "", "pass": ""},
            {"env": "A-v0", "steps_per_s": 5e4, "ratio": 2.0, "target": "≤ 3×", "pass": "PASS"},
            {"env": "B-v0", "steps_per_s": 1e4, "ratio": 7.5, "target": "≤ 6×", "pass": "FAIL"},
        ],
    )
    output.write_csv(
        tmp_path / "bench_vector.csv",
        [
            {"env": "A-v0", "num_envs": 16, "native": 1e5, "sync": 1e4, "speedup": 10.0}
            | {"reset_share": 0.1, "ceiling": 100.0, "draw_rate": 4e6, "draw_bound": 400.0}
            | {"target": "", "verdict": ""},
            {"env": "A-v0", "num_envs": 256, "native": 2e6, "sync": 1e4, "speedup": 200.0}
            | {"reset_share": 0.5, "ceiling": 400.0, "draw_rate": 4e6, "draw_bound": 400.0}
            | {"target": "≥ 50×", "verdict": "PASS"},
        ],
    )
    steps = performance.step_rows(tmp_path)
    assert [(r["env"], r["measured"], r["verdict"]) for r in steps] == [
        ("A-v0", "2.00× CartPole-v1", "PASS"),
        ("B-v0", "7.50× CartPole-v1", "FAIL"),
    ]
    (vector,) = performance.vector_rows(tmp_path)
    assert vector["measured"] == (
        "200.00× Sync, 2,000,000 steps/s (resets 50% of its time: at most 400.0× Sync if its "
        "steps took no time; its random draws alone: at most 400× Sync and 4,000,000 steps/s)"
    )
    assert vector["verdict"] == "PASS"


@pytest.mark.slow
def test_the_quick_page_judges_every_target(tmp_path):
    folder = performance.main(["--quick", "--out", str(tmp_path)])
    page = (folder / "PERFORMANCE.md").read_text()
    for env_id, entry in ENVS.items():
        assert f"| {env_id} |" in page  # its profile row
        if entry.vector_entry_point:
            assert f"native vector env at 256 envs | {env_id} |" in page
    assert "ADMM (Alg. 4), N = 25" in page  # the quick run reaches the targets at N = 25
    for name in ("bench_envs.md", "bench_vector.md", "bench_solvers.md"):
        assert (folder / name).exists()
