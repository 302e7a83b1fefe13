"""Text and image views of a MultiStepOffload state (matplotlib is imported only here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mec_gym.envs.base_render import (
    Bars,
    DynamicAxis,
    FrameView,
    fit_range,
    rectangles,
    signed,
    small_legend,
    view_of,
)

if TYPE_CHECKING:
    from mec_gym.envs.multistep_offload import MultiStepOffloadEnv
    from mec_gym.simulators.multistep_offload import MultiStepSimulator, TaskRecord

__all__ = ["render_text", "render_rgb", "DevicesView"]


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


_PHASE_COLOURS = {
    "idle": "#dddddd",
    "computing": "#4c9be8",
    "finishing": "#7fbf7f",
    "uploading": "#f0a030",
}
_TODO = "#eeeeee"


class DevicesView(FrameView):
    """MultiStepOffload's image: each device's task progress over its DNN blocks (coloured by
    its phase), queue, uplink rate and phase, the boundary being decided, the edge backlog;
    the header gives the decision just taken and its reward (the utility of the tasks that
    finished in the step)."""

    size = (8.0, 4.2)

    def build(self, env: MultiStepOffloadEnv) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Patch

        sim = env.simulator
        cfg = sim.config
        n, depth = cfg.num_devices, cfg.device_blocks
        figure = self.figure
        figure.subplots_adjust(left=0.08, right=0.97, bottom=0.12, top=0.80, wspace=0.25)
        ax, ax_edge = figure.subplots(1, 2, gridspec_kw={"width_ratios": [5, 1]})
        self.ax_edge = ax_edge
        blocks, rows = np.meshgrid(np.arange(depth), np.arange(n))
        self.cells = PolyCollection(
            rectangles(blocks.ravel() + 0.025, rows.ravel() - 0.35, 0.95, 0.7), edgecolors="none"
        )
        ax.add_collection(self.cells, autolim=False)
        self.notes = [
            self.fast_text((depth + 0.1, device), 7, axes=ax, va="center") for device in range(n)
        ]
        (self.boundary,) = ax.plot([], [], color="red", lw=2.5, clip_on=False)
        for boundary in sim.system.candidates:
            ax.axvline(boundary, color="grey", lw=0.5, ls=":")
        ax.set_xlim(0, depth + 3.6)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_yticks(range(n), [f"dev {d}" for d in range(n)], fontsize=7)
        ax.set_xticks(range(0, depth + 1))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("device DNN block (dotted: candidate boundaries)", fontsize=8)
        small_legend(
            ax,
            [
                *(Patch(color=c, label=name) for name, c in _PHASE_COLOURS.items()),
                Patch(color="red", label="boundary being decided"),
            ],
            "lower left",
            (0.0, 1.0),
            ncol=5,
        )
        self.backlog = Bars(ax_edge, [0.0], 0.8, "#c44")
        ax_edge.set_xlim(-0.6, 0.6)
        ax_edge.set_xticks([])
        ax_edge.tick_params(labelsize=7)
        ax_edge.set_title("edge backlog (ms)", fontsize=8)
        self.backlog_axis = DynamicAxis(self, ax_edge)
        self.records: Sequence[TaskRecord] = ()
        """The tasks finished in the last step (its reward: the sum of their utilities)."""
        self.last_decision = "no decision yet (reset)"
        self.animate(self.cells, self.boundary, self.backlog.collection)

    def update(self, env: MultiStepOffloadEnv) -> None:
        sim = env.simulator
        st, cfg = sim.state, sim.config
        depth = cfg.device_blocks
        views = sim.device_views()
        colours = []
        for view in views:
            done = _PHASE_COLOURS[view.phase]
            colours += [done if j < view.block else _TODO for j in range(depth)]
            self.notes[view.device].set_text(
                f"q={view.queue}  {view.rate / 1e6:.1f} Mb/s  {view.phase}"
            )
        self.cells.set_facecolors(colours)
        if env.last_decision is None:
            self.last_decision = "no decision yet (reset)"
        else:
            device, boundary, offload = env.last_decision
            choice = "offload" if offload else "continue"
            self.last_decision = (
                f"last decision: dev {device} at block {boundary} -> {choice}   reward "
                f"{signed(env.last_reward)} ({len(self.records)} tasks finished)"
            )
        if sim.done:
            self.boundary.set_data([], [])
        else:
            boundary = sim.pending_boundary()
            y = st.deciding
            self.boundary.set_data([boundary, boundary], [y - 0.45, y + 0.45])
        backlog_ms = sim.edge_backlog_at(st.now) / cfg.edge_speed * 1e3
        self.backlog_axis.set(*fit_range(None, 0.0, backlog_ms, floor=100.0))
        self.backlog.set([backlog_ms])
        self.header.set_text(
            f"t = {st.now:.3f} s  finished {st.tasks_finished}/{cfg.tasks_per_episode}  edge "
            f"backlog {backlog_ms:.0f} ms\n{self.last_decision}"
        )


def render_rgb(env: MultiStepOffloadEnv, step_records: Sequence[TaskRecord] = ()) -> np.ndarray:
    """RGB image (H, W, 3) of the devices (:class:`DevicesView`, made once per env) after a
    step that finished ``step_records`` (the env's last step)."""
    view = view_of(env, DevicesView)
    view.records = step_records
    return view.frame(env)
