"""The environments, one module per system."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["checked_render_mode"]


def checked_render_mode(render_mode: str | None, render_modes: Sequence[str]) -> str | None:
    """``render_mode`` if it is None or one of ``render_modes``; ValueError otherwise."""
    if render_mode is not None and render_mode not in render_modes:
        raise ValueError(
            f"render_mode must be one of {list(render_modes)} or None, got {render_mode!r}"
        )
    return render_mode
