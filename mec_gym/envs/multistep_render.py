"""Text and image views of a MultiStepOffload simulator state (matplotlib is imported only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mec_gym.simulators.multistep_offload import MultiStepSimulator

__all__ = ["render_text", "render_rgb"]


def render_text(sim: MultiStepSimulator) -> str:
    """Compact text view: time, edge backlog, one line per device, the pending decision."""
    st, cfg = sim.state, sim.config
    backlog_s = sim.edge_backlog_at(st.now) / cfg.edge_speed
    lines = [
        f"t={st.now:8.3f} s  edge backlog={backlog_s * 1e3:7.1f} ms  "
        f"finished={st.tasks_finished}/{cfg.tasks_per_episode}  "
        f"signalling={st.signalling}"
    ]
    depth = cfg.device_blocks
    for view in sim.device_views():
        bar = "".join("#" if j < view.block else "." for j in range(depth))
        marker = " <- decide" if view.device == st.deciding else ""
        lines.append(
            f"dev {view.device}: [{bar}] {view.phase:<9} queue={view.queue:2d} "
            f"rate={view.rate / 1e6:5.2f} Mbit/s{marker}"
        )
    return "\n".join(lines)


def render_rgb(sim: MultiStepSimulator) -> np.ndarray:
    """RGB image (H, W, 3) of the devices' task progress, queues, uplink rates and edge backlog."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    st, cfg = sim.state, sim.config
    depth = cfg.device_blocks
    views = sim.device_views()
    figure = Figure(figsize=(7.2, 3.6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    ax, ax_edge = figure.subplots(1, 2, gridspec_kw={"width_ratios": [5, 1]})
    colours = {
        "idle": "#dddddd",
        "computing": "#4c9be8",
        "finishing": "#7fbf7f",
        "uploading": "#f0a030",
    }
    for view in views:
        y = view.device
        for j in range(depth):
            done = j < view.block
            ax.add_patch(
                matplotlib.patches.Rectangle(
                    (j, y - 0.35),
                    0.95,
                    0.7,
                    color=colours[view.phase] if done else "#eeeeee",
                )
            )
        ax.text(
            depth + 0.1,
            y,
            f"q={view.queue}  {view.rate / 1e6:.1f} Mb/s  {view.phase}",
            va="center",
            fontsize=8,
        )
        if view.device == st.deciding:
            boundary = sim.pending_boundary()
            ax.plot([boundary, boundary], [y - 0.45, y + 0.45], color="red", lw=2)
    for boundary in sim.system.candidates:
        ax.axvline(boundary, color="grey", lw=0.5, ls=":")
    ax.set_xlim(0, depth + 3.2)
    ax.set_ylim(-0.6, cfg.num_devices - 0.4)
    ax.set_yticks(range(cfg.num_devices))
    ax.set_xlabel("device DNN block (red: boundary being decided)")
    ax.set_ylabel("device")
    ax.set_title(f"t = {st.now:.2f} s, {st.tasks_finished} tasks finished", fontsize=9)
    backlog_s = sim.edge_backlog_at(st.now) / cfg.edge_speed
    ax_edge.bar([0], [backlog_s * 1e3], color="#c44")
    ax_edge.set_ylim(0, max(500.0, backlog_s * 1e3 * 1.1))
    ax_edge.set_xticks([])
    ax_edge.set_title("edge backlog (ms)", fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
