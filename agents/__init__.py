"""Policies: solver-backed fixed baselines, the DT-assisted stopping agent, and their builders."""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import load_env_creator

from mec_gym.registration import canonical_id, env_entry

__all__ = ["build_baselines"]


def build_baselines(
    env_id: str, env_kwargs: dict[str, Any] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """The baselines of ``env_id`` as fixed policies (SB3 ``predict`` shape), by display name.

    The builder is the one named by the ID's registry entry (``mec_gym.registration.ENVS``).
    Baselines that need calibration or training (best fixed split, the DT-assisted stopping
    agents) are fitted there on seeds disjoint from the evaluation seeds.
    """
    entry = env_entry(env_id)
    builder = load_env_creator(entry.baselines)
    return builder(canonical_id(env_id), dict(env_kwargs or {}), seed)
