"""Plug your own generator of device drops into an environment.

What it shows: the random parts of an episode that do not depend on the decisions are drawn by
a generator object the environment takes as an argument, so a deployment, a trace or another
random process replaces the default without touching the environment. Here it is the
``drops=`` argument of ``JointOffload-v1`` (the multi-user MEC cell of Pan et al., IEEE TCCN
2023, arXiv 2301.01010): a :class:`~mec_gym.problems.joint_offload.DropGenerator` is any
callable ``generator(config, rng, num_devices) -> positions`` (m, shape (N, 2), base station at
the origin), called at every reset with the episode's random generator. ``HotspotDrops`` below
puts every device in a disc around one point far from the base station (a crowd at the cell
edge) instead of uniformly in the cell. The environment checks what a generator returns (the
shape, inside the cell, at least ``min_distance`` from the base station) and refuses it
otherwise.

The same pattern holds for the other systems (see ``mec_gym/simulators/``): ``tasks=`` of
``MultiStepOffload-v1`` (a ``TaskGenerator``; ``TaskTrace`` replays fixed tasks), ``drops=``
and ``arrivals=`` of ``PerTaskOffload-v1`` (an ``ArrivalGenerator``; ``ArrivalTrace``),
``periods=`` of ``BandwidthSplit-v0`` (a ``PeriodGenerator``) and ``slots=`` of
``TwoTimescale-v0`` (a ``SlotGenerator``).

The script prints the first drop, then plays two of the env's baselines (ADMM and local only,
with the fixed evaluation seeds of ``mec_gym.eval.evaluation``) under uniform and under hotspot
drops: far from the base station uploads are slow, so expect fewer devices to offload and a
smaller margin of the solver over local computing.

Run it from a checkout (the baselines need the ``solvers`` extra)::

    .venv/bin/python examples/custom_generator.py            # 10 episodes of 30 rounds
    .venv/bin/python examples/custom_generator.py --quick    # 3 episodes of 10 rounds

It prints; it writes no file.
"""

from __future__ import annotations

import argparse

import gymnasium
import numpy as np

from mec_gym.agents import build_baselines
from mec_gym.eval.evaluation import EVAL_SEEDS, evaluate_policy, format_mean_ci
from mec_gym.problems.joint_offload import JointOffloadConfig

ENV_ID = "mec_gym:JointOffload-v1"


class HotspotDrops:
    """Every device uniformly in a disc of ``radius`` m around ``center`` (m, base station at
    the origin); ``center`` None: ``(s/2 - radius, s/2 - radius)`` for a cell of side ``s``,
    so the disc fits in the cell's corner."""

    def __init__(self, radius: float = 100.0, center: tuple[float, float] | None = None) -> None:
        self.radius = radius
        self.center = center

    def __call__(
        self, config: JointOffloadConfig, rng: np.random.Generator, num_devices: int
    ) -> np.ndarray:
        if self.center is None:
            corner = config.area_side / 2.0 - self.radius
            center = np.array([corner, corner])
        else:
            center = np.asarray(self.center, dtype=float)
        distance = self.radius * np.sqrt(rng.uniform(0.0, 1.0, num_devices))
        angle = rng.uniform(0.0, 2.0 * np.pi, num_devices)
        return center + np.column_stack((distance * np.cos(angle), distance * np.sin(angle)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10, help="test seeds (episodes)")
    parser.add_argument("--rounds", type=int, default=30, help="rounds per episode")
    parser.add_argument("--radius", type=float, default=100.0, help="hotspot radius, m")
    parser.add_argument(
        "--quick", action="store_true", help="3 episodes of 10 rounds (well under a minute)"
    )
    args = parser.parse_args(argv)
    episodes, rounds = (3, 10) if args.quick else (args.episodes, args.rounds)
    seeds = EVAL_SEEDS[:episodes]
    hotspot = HotspotDrops(args.radius)

    # The generator is an argument of gymnasium.make, like any other keyword of the env.
    env = gymnasium.make(ENV_ID, drops=hotspot, rounds_per_episode=rounds)
    env.reset(seed=seeds[0])
    positions = env.unwrapped.positions
    distance = np.hypot(positions[:, 0], positions[:, 1])
    print(f"hotspot drop of seed {seeds[0]}: {len(positions)} devices")
    print("distance to the base station (m):", np.array2string(distance, precision=0))
    env.close()

    header = f"{'drops':<8} {'policy':<11} {'cost (95% CI, lower is better)':<32}"
    print(f"\n{header} {'offload rate':>12}")
    for label, drops in (("uniform", None), ("hotspot", hotspot)):
        env_kwargs = {"rounds_per_episode": rounds, "drops": drops}
        baselines = build_baselines(ENV_ID, env_kwargs)
        for name in ("admm", "local_only"):
            result = evaluate_policy(baselines[name], ENV_ID, env_kwargs, seeds, name=name)
            offload = float(np.mean(result.episode_components["offload_rate"]))
            print(f"{label:<8} {name:<11} {format_mean_ci(*result.mean_ci()):<32} {offload:>12.2f}")


if __name__ == "__main__":
    main()
