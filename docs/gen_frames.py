"""Draw the frame shown on each environment's page of the documentation site.

    python docs/gen_frames.py [--env ID ...] [--steps N] [--out FOLDER]

For every registered ID (or those of ``--env``): ``gymnasium.make(ID, render_mode="rgb_array")``,
reset with seed 0, ``--steps`` actions sampled from the action space (seeded too), then
``env.render()`` saved as ``<FOLDER>/<ID>.png`` (default ``docs/assets/frames``, where
``docs/hooks.py`` looks for it). ``make docs-frames`` runs it; the PNGs are committed, so that
building the site does not render.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.registration import ENVS, canonical_id

FOLDER = Path(__file__).resolve().parent / "assets" / "frames"


def draw(env_id: str, steps: int = 3, seed: int = 0) -> np.ndarray:
    """The RGB frame of ``env_id`` after ``steps`` random steps from ``seed``."""
    env = gym.make(env_id, render_mode="rgb_array")
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        frame = env.render()
    finally:
        env.close()
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"{env_id}: render() gave shape {frame.shape}, not an RGB image")
    return frame


def main(argv: Sequence[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="+", choices=sorted(ENVS), help="default: every ID")
    parser.add_argument("--steps", type=int, default=3, help="random steps before the frame")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written, failed = [], []
    for env_id in [canonical_id(e) for e in args.env] if args.env else list(ENVS):
        start = time.perf_counter()
        path = args.out / f"{env_id}.png"
        try:
            frame = draw(env_id, args.steps)
        except Exception as error:  # one broken renderer does not stop the others
            failed.append(env_id)
            print(f"{env_id}: no frame ({type(error).__name__}: {error})")
            continue
        plt.imsave(path, frame)
        written.append(path)
        print(f"wrote {path} ({time.perf_counter() - start:.1f} s)")
    if failed:
        raise SystemExit(f"no frame for {', '.join(failed)}")
    return written


if __name__ == "__main__":
    main()
