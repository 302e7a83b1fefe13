"""The hierarchical evaluation of the two-timescale system: every combination runs on the same
seeds, trained agents of both levels plug in from their run folders, the outputs are written."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml

from mec_gym.eval import two_timescale_hierarchy as hierarchy

SMALL = {"frames_per_episode": 2, "slots_per_frame": 4}


def _run_folder(tmp_path, env_id, env_kwargs):
    """A run folder as train/ppo.py leaves it (its ``config.yaml`` from the same arguments,
    seed 3), with an untrained PPO model."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from mec_gym.train.cli import parse_args
    from mec_gym.train.common import run_config

    folder = tmp_path / env_id
    folder.mkdir()
    model = PPO("MlpPolicy", gym.make(env_id, **env_kwargs), n_steps=8, batch_size=8, seed=0)
    model.save(folder / "best_model.zip")
    pairs = [f"{key}={value}" for key, value in env_kwargs.items()]
    args = parse_args("ppo", ["--env", env_id, "--seed", "3", "--env-kwargs", *pairs])
    (folder / "config.yaml").write_text(yaml.safe_dump(run_config("ppo", args)))
    return folder


def test_combinations_with_trained_agents_of_both_levels(tmp_path):
    slot = _run_folder(tmp_path, "TwoTimescale-v0", {**SMALL, "slot_action": "ratio"})
    frame = _run_folder(tmp_path, "TwoTimescaleFrame-v0", {**SMALL, "frame_action": "retrain"})
    out = tmp_path / "out"
    hierarchy.main(
        ["--slot-agent", str(slot), "--frame-agent", str(frame), "--episodes", "2"]
        + ["--out", str(out)]
    )
    for suffix in ("md", "csv", "png"):
        assert (out / f"two_timescale_hierarchy.{suffix}").is_file()
    rows = list(csv.DictReader((out / "two_timescale_hierarchy.csv").open()))
    names = {row["policy"] for row in rows}
    analytic = {f"{f} + {s}" for f, s in hierarchy.ANALYTIC if s != "equal"}  # ratio mode
    assert analytic <= names
    assert {
        "dt_threshold + ppo_s3",
        "dt_never + ppo_s3 (no DT data)",
        "ppo_s3 + closed_form",
        "ppo_s3 + ppo_s3",
    } <= names
    for row in rows:
        parts = sum(float(row[key]) for key in ("transmission", "computation", "retraining"))
        cost = parts + 10.0 * float(row["violation"])  # the default accuracy penalty
        assert float(row["cost"]) == pytest.approx(cost, rel=1e-9)
        assert 0.0 <= float(row["below_acc_min_percent"]) <= 100.0
    never = next(row for row in rows if row["policy"] == "dt_never + closed_form")
    assert float(never["retraining"]) == 0.0


def test_the_traces_are_those_of_the_slot_env(tmp_path):
    import gymnasium as gym

    from mec_gym.agents.two_timescale import SlotBaselinePolicy
    from mec_gym.solvers.two_timescale.frame import FRAME_POLICIES

    slot = SlotBaselinePolicy(gym.make("TwoTimescale-v0", **SMALL), "closed_form")
    trace = hierarchy.run_combination(FRAME_POLICIES["dt_threshold"], slot, SMALL, (5, 6))
    assert trace.slot_cost.shape == (2, 8)
    env = gym.make("TwoTimescale-v0", **SMALL)
    obs, _ = env.reset(seed=6)
    costs = []
    for _ in range(8):
        obs, _, _, _, info = env.step(slot.predict(obs)[0])
        costs.append(info["slot_cost"])
    np.testing.assert_allclose(trace.slot_cost[1], costs)
    assert trace.infos[1]["cost"] == pytest.approx(np.mean(costs))


def test_bad_run_folders_and_mixed_configs_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        hierarchy.main(["--slot-agent", str(tmp_path), "--out", str(tmp_path / "x")])
    assert "expected a run folder of train/<algo>.py" in capsys.readouterr().err
    frame = _run_folder(tmp_path, "TwoTimescaleFrame-v0", SMALL)
    with pytest.raises(SystemExit):
        hierarchy.main(["--slot-agent", str(frame), "--out", str(tmp_path / "y")])
    assert "trained on 'TwoTimescaleFrame-v0'" in capsys.readouterr().err
    agents = [
        hierarchy.TrainedAgent("a", None, {"num_mus": 5}),
        hierarchy.TrainedAgent("b", None, {"num_mus": 6}),
    ]
    with pytest.raises(ValueError, match="different num_mus"):
        hierarchy.composed_kwargs(agents, {})
    trained_under = hierarchy.TrainedAgent("c", None, {"num_mus": 5, "slot_policy": "equal"})
    assert hierarchy.composed_kwargs([trained_under], {}) == {"num_mus": 5}
    with pytest.raises(ValueError, match="cannot set"):
        hierarchy.composed_kwargs([], {"frame_policy": "dt_never"})
