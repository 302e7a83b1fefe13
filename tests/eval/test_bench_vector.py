"""eval/bench_vector.py runs end to end with a tiny budget and writes its table."""

from __future__ import annotations

import csv

from mec_gym.eval import bench_vector


def test_the_vector_benchmark_writes_both_tables(tmp_path):
    bench_vector.main(
        [
            "--env",
            "BandwidthSplit-v0",
            "--num-envs",
            "2",
            "256",
            "--seconds",
            "0.05",
            "--repeats",
            "1",
            "--ppo-steps",
            "512",
            "--out",
            str(tmp_path),
        ]
    )
    rows = list(csv.DictReader((tmp_path / "bench_vector.csv").open()))
    throughput = [r for r in rows if r["num_envs"]]
    assert [int(r["num_envs"]) for r in throughput] == [2, 256]
    assert all(float(r["native"]) > 0 and float(r["sync"]) > 0 for r in throughput)
    assert throughput[1]["verdict"] in ("PASS", "FAIL")  # judged at 256 envs only
    training = [r for r in rows if r["vec_env"]]
    assert {r["vec_env"] for r in training} == {"DummyVecEnv", "NativeVecEnv"}
    assert all(0 < float(r["env_share"]) < 1 for r in training)
    assert "SB3 PPO" in (tmp_path / "bench_vector.md").read_text()
