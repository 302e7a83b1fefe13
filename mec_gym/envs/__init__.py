"""The environments, one module per system."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym

__all__ = ["checked_render_mode", "render_view"]


def checked_render_mode(render_mode: str | None, render_modes: Sequence[str]) -> str | None:
    """``render_mode`` if it is None or one of ``render_modes``; ValueError otherwise."""
    if render_mode is not None and render_mode not in render_modes:
        raise ValueError(
            f"render_mode must be one of {list(render_modes)} or None, got {render_mode!r}"
        )
    return render_mode


def render_view(
    env: gym.Env, ready: bool, text: Callable[[Any], str], rgb: Callable[[Any], Any]
) -> Any:
    """``env.render()`` of the mec_gym envs: ``text(env)`` for "ansi", ``rgb(env)`` for
    "rgb_array"; a warning and None without a render mode; RuntimeError before ``reset()``
    (``ready`` False)."""
    if env.render_mode is None:
        gym.logger.warn("render() called without a render_mode; pass render_mode= to make()")
        return None
    if not ready:
        raise RuntimeError("call reset() before render()")
    return text(env) if env.render_mode == "ansi" else rgb(env)
