"""PerTaskOffload's lower bound: no policy pays less for a task than the task alone would."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from mec_gym.eval import per_task_bound


def test_no_task_costs_less_than_its_isolated_bound():
    rng = np.random.default_rng(0)
    for mode in ("continuous", "options"):
        env = gym.make("PerTaskOffload-v1", action_mode=mode, tasks_per_episode=150).unwrapped
        env.reset(seed=3)
        while not env.simulator.done:
            bound = per_task_bound.isolated_cost(env.simulator)
            if mode == "options":
                action = rng.choice(np.flatnonzero(env.action_masks()))
            else:
                action = rng.uniform(-1, 1, 5)
            _, reward, *_ = env.step(action)
            assert -reward >= bound - 1e-12
    # at the first task nothing is held: the cheapest option is within the bound's reach
    env = gym.make("PerTaskOffload-v1", action_mode="options").unwrapped
    env.reset(seed=4)
    costs = [cost for _, cost in env.option_decisions()]
    assert min(costs) >= per_task_bound.isolated_cost(env.simulator) - 1e-12


def test_the_script_writes_its_page(tmp_path):
    per_task_bound.main(["--episodes", "1", "--out", str(tmp_path / "bound")])
    page = (tmp_path / "bound" / "per_task_bound.md").read_text()
    assert "lower bound (each task alone)" in page and "greedy" in page


def test_a_run_on_another_problem_is_refused(tmp_path, capsys):
    import pytest
    import yaml

    config = {"env_id": "PerTaskOffload-v1", "env_kwargs": {"num_devices": 5}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="not on PerTaskOffload-v1's default problem"):
        per_task_bound.agent_scores(tmp_path, "maskable_ppo", [10_000])
    with pytest.raises(SystemExit):
        per_task_bound.main(["--runs", str(tmp_path), "--out", str(tmp_path / "out")])
    assert "default problem" in capsys.readouterr().err.strip().splitlines()[-1]
