"""Text and image views of a MultiStepOffload state (matplotlib is imported only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mec_gym.envs.multistep_offload import MultiStepOffloadEnv

__all__ = ["render_text", "render_rgb"]

_PHASES = {-1: "idle", 0: "computing", 1: "finishing", 2: "uploading"}


def _device_rows(env: MultiStepOffloadEnv) -> list[dict]:
    rows = []
    for device in range(env.config.num_devices):
        task = env._current[device]
        phase = _PHASES[env._phase[device]]
        progress = 0
        if task >= 0:
            elapsed = env.now - env._start[device]
            progress = int(np.searchsorted(env.reach_s[task], elapsed, side="right")) - 1
        rows.append(
            {
                "device": device,
                "task": task,
                "phase": phase,
                "block": max(progress, 0),
                "queue": len(env._queues[device]),
                "rate": env.uplinks.rate(device, env.now),
            }
        )
    return rows


def render_text(env: MultiStepOffloadEnv) -> str:
    """Compact text view: time, edge backlog, one line per device, the pending decision."""
    backlog_s = env.edge.backlog_at(env.now) / env.config.edge_speed
    lines = [
        f"t={env.now:8.3f} s  edge backlog={backlog_s * 1e3:7.1f} ms  "
        f"finished={env._tasks_finished}/{env.config.tasks_per_episode}  "
        f"signalling={env.signalling}"
    ]
    depth = env.config.device_blocks
    for row in _device_rows(env):
        bar = "".join("#" if j < row["block"] else "." for j in range(depth))
        marker = " <- decide" if row["device"] == env._deciding else ""
        lines.append(
            f"dev {row['device']}: [{bar}] {row['phase']:<9} queue={row['queue']:2d} "
            f"rate={row['rate'] / 1e6:5.2f} Mbit/s{marker}"
        )
    return "\n".join(lines)


def render_rgb(env: MultiStepOffloadEnv) -> np.ndarray:
    """RGB image (H, W, 3) of the devices' task progress, queues, uplink rates and edge backlog."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    depth = env.config.device_blocks
    rows = _device_rows(env)
    figure = Figure(figsize=(7.2, 3.6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    ax, ax_edge = figure.subplots(1, 2, gridspec_kw={"width_ratios": [5, 1]})
    colours = {
        "idle": "#dddddd",
        "computing": "#4c9be8",
        "finishing": "#7fbf7f",
        "uploading": "#f0a030",
    }
    for row in rows:
        y = row["device"]
        for j in range(depth):
            done = j < row["block"]
            ax.add_patch(
                matplotlib.patches.Rectangle(
                    (j, y - 0.35),
                    0.95,
                    0.7,
                    color=colours[row["phase"]] if done else "#eeeeee",
                )
            )
        ax.text(
            depth + 0.1,
            y,
            f"q={row['queue']}  {row['rate'] / 1e6:.1f} Mb/s  {row['phase']}",
            va="center",
            fontsize=8,
        )
        if row["device"] == env._deciding:
            boundary = env.decision_boundaries[env._next_decision[y]]
            ax.plot([boundary, boundary], [y - 0.45, y + 0.45], color="red", lw=2)
    for boundary in env.candidates:
        ax.axvline(boundary, color="grey", lw=0.5, ls=":")
    ax.set_xlim(0, depth + 3.2)
    ax.set_ylim(-0.6, env.config.num_devices - 0.4)
    ax.set_yticks(range(env.config.num_devices))
    ax.set_xlabel("device DNN block (red: boundary being decided)")
    ax.set_ylabel("device")
    ax.set_title(f"t = {env.now:.2f} s, {env._tasks_finished} tasks finished", fontsize=9)
    backlog_s = env.edge.backlog_at(env.now) / env.config.edge_speed
    ax_edge.bar([0], [backlog_s * 1e3], color="#c44")
    ax_edge.set_ylim(0, max(500.0, backlog_s * 1e3 * 1.1))
    ax_edge.set_xticks([])
    ax_edge.set_title("edge backlog (ms)", fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
