"""Train stable-baselines3 PPO on a mec_gym environment preset, then evaluate it.

What it shows: ``gymnasium.make("mec_gym:JointOffload-v1", preset=...)`` builds a registered
environment without importing mec_gym first (the ``mec_gym:`` prefix registers the IDs) and with
one of the config presets of ``mec_gym.problems.joint_offload.PRESETS``; any SB3 algorithm trains
on it as on any Gymnasium env; the trained model (saved and reloaded from a temporary folder) is
scored with :func:`mec_gym.eval.evaluation.evaluate_policy` on the fixed test seeds, beside the
``local_only`` baseline of :func:`mec_gym.agents.build_baselines`.

The environment is the multi-user MEC cell of Pan et al. (IEEE TCCN 2023, arXiv 2301.01010) in
its ``offload`` action mode: the agent picks the set of devices that offload their video
inference (``MultiBinary(N)``) and the env completes the allocation (frames, TDMA shares, CPU)
optimally. A round does not change the next ones, so PPO trains with ``gamma=0`` as the shipped
hyperparameters do (``train/hyperparams/ppo.yml``, which also use a shared-weight device policy;
here SB3's plain ``MlpPolicy``). The full training command line is ``train/ppo.py``.

Run it from a checkout (needs the ``train`` extra: stable-baselines3 and torch)::

    .venv/bin/python examples/train_sb3.py                    # preset N8, 20,000 steps
    .venv/bin/python examples/train_sb3.py --preset pan2023 --timesteps 50000
    .venv/bin/python examples/train_sb3.py --quick            # 1,024 steps, 3 test episodes

The budgets are small, to show the calls; the shipped settings for this env train 40,000 steps
with the device policy (``python train/ppo.py --env JointOffload-v1``). Prints; writes only to a
temporary folder it removes.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import gymnasium
import torch
from stable_baselines3 import PPO

from mec_gym.agents import build_baselines
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    check_training_env_seeds,
    evaluate_policy,
    format_mean_ci,
)
from mec_gym.problems.joint_offload import PRESETS

ENV_ID = "mec_gym:JointOffload-v1"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="N8", choices=sorted(PRESETS))
    parser.add_argument("--timesteps", type=int, default=20_000, help="training steps")
    parser.add_argument("--episodes", type=int, default=10, help="test seeds (episodes)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--quick", action="store_true", help="1,024 steps and 3 test episodes (under a minute)"
    )
    args = parser.parse_args(argv)
    try:
        check_training_env_seeds(args.seed, 1)  # the one training env starts from --seed
    except ValueError as error:
        parser.error(f"--seed: {error}")
    timesteps, episodes = (1024, 3) if args.quick else (args.timesteps, args.episodes)
    torch.set_num_threads(1)  # one thread is fastest for small networks on a few cores

    env_kwargs = {"preset": args.preset, "action_mode": "offload", "rounds_per_episode": 50}
    env = gymnasium.make(ENV_ID, **env_kwargs)
    print(
        f"{ENV_ID} preset={args.preset!r}: actions {env.action_space}, observations "
        f"{env.observation_space.shape}; training PPO for {timesteps} steps"
    )
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=256,
        batch_size=64,
        n_epochs=5,
        gamma=0.0,
        learning_rate=7e-4,
        seed=args.seed,
        device="cpu",
        verbose=0,
    )
    model.learn(total_timesteps=timesteps)
    env.close()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ppo_joint_offload.zip"
        model.save(path)
        model = PPO.load(path, device="cpu")

    # Scores on the fixed test seeds: episode means of the env's cost per device and round.
    seeds = EVAL_SEEDS[:episodes]
    baseline = build_baselines(ENV_ID, env_kwargs)["local_only"]
    for name, policy in (("ppo", model), ("local_only", baseline)):
        result = evaluate_policy(policy, ENV_ID, env_kwargs, seeds, name=name)
        offload = float(result.episode_components["offload_rate"].mean())
        print(
            f"{name:<10} cost {format_mean_ci(*result.mean_ci())} (lower is better, "
            f"{episodes} test seeds), offload rate {offload:.2f}"
        )


if __name__ == "__main__":
    main()
