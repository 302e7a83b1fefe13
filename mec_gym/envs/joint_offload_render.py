"""Text and image views of JointOffload and PerTaskOffload states (matplotlib only here)."""

from __future__ import annotations

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
    from mec_gym.envs.joint_offload import JointOffloadEnv
    from mec_gym.envs.per_task_offload import PerTaskOffloadEnv
    from mec_gym.simulators.per_task_offload import PerTaskSimulator

__all__ = [
    "render_round_text",
    "render_round_rgb",
    "render_tasks_text",
    "render_tasks_rgb",
    "RoundView",
    "TasksView",
]

_EDGE, _LOCAL, _WAIT, _UPLOAD = "#f0a030", "#4c9be8", "#bbbbbb", "#c44e52"
_TASKS_SHOWN = 20


# ------------------------------------------------------------------------ JointOffload
def render_round_text(env: JointOffloadEnv) -> str:
    """Compact text view: the round, the last round's means, one line per device."""
    allocation = env.last_allocation
    lines = [f"round {env.round}/{env.config.rounds_per_episode}  mode={env.action_mode}"]
    if allocation is not None:
        lines[0] += f"  offloading {int(allocation.offload.sum())}/{allocation.num_devices}"
    for n in range(env.config.num_devices):
        line = f"dev {n:2d}: d={env.distance[n]:6.1f} m  gain={env.gain_db[n]:7.1f} dB"
        if allocation is not None:  # the decision of the last round (devices have moved since)
            if allocation.offload[n]:
                line += (
                    f"  | last: edge  F={allocation.frames[n]:2d} "
                    f"tau={allocation.time_share[n]:.3f} "
                    f"f_e={allocation.edge_frequency[n] / 1e9:5.2f} GHz"
                )
            else:
                line += (
                    f"  | last: local F={allocation.frames[n]:2d} "
                    f"f_l={allocation.local_frequency[n] / 1e9:5.2f} GHz"
                )
        lines.append(line)
    return "\n".join(lines)


class RoundView(FrameView):
    """JointOffload's image: the cell (BS, devices numbered and coloured by their last decision,
    links scaled by the time share) and, per device, the last round's shares, frame counts and
    costs; the header gives the round, the decision and its reward."""

    size = (10.0, 5.4)

    def build(self, env: JointOffloadEnv) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        cfg = env.config
        n = cfg.num_devices
        figure = self.figure
        figure.subplots_adjust(left=0.06, right=0.86, bottom=0.09, top=0.87, wspace=0.25)
        grid = figure.add_gridspec(3, 2, width_ratios=[1.0, 1.35], hspace=0.42)
        cell = self.cell = figure.add_subplot(grid[:, 0])
        half = cfg.area_side / 2.0
        margin = 0.06 * half  # devices on the border are drawn whole
        cell.set_xlim(-half - margin, half + margin)
        cell.set_ylim(-half - margin, half + margin)
        cell.set_aspect("equal")
        cell.set_xlabel("x (m)", fontsize=8)
        cell.set_ylabel("y (m)", fontsize=8)
        cell.tick_params(labelsize=7)
        cell.set_title("cell (devices have moved since the decision)", fontsize=8)
        self.links = LineCollection([], colors=_EDGE, alpha=0.5)
        cell.add_collection(self.links)
        self.dots = cell.scatter(np.zeros(n), np.zeros(n), s=28, zorder=3, clip_on=False)
        station = cell.scatter([0], [0], marker="^", s=110, color="black", zorder=4)
        self.labels = [  # numbers beside the dots, up to 30 devices
            self.fast_text((0.0, 0.0), 6, axes=cell, va="center", offset=(4.0, 5.0))
            for device in range(n if n <= 30 else 0)
        ]
        for device, label in enumerate(self.labels):
            label.set_text(str(device))
        self.animate(self.links, self.dots, station)
        small_legend(
            cell,
            [
                Line2D([], [], ls="", marker="o", color=_EDGE, label="edge"),
                Line2D([], [], ls="", marker="o", color=_LOCAL, label="local"),
                Line2D([], [], ls="", marker="^", color="black", label="BS"),
            ],
            "upper left",
            (0.0, -0.1),
            ncol=3,
        )
        devices = np.arange(n)
        shares = self.shares = figure.add_subplot(grid[0, 1])
        self.tau = Bars(shares, devices - 0.2, 0.4, _EDGE)
        self.edge = Bars(shares, devices + 0.2, 0.4, _UPLOAD)
        self.local = Bars(shares, devices, 0.4, _LOCAL)
        shares.set_ylim(0, 1.0)
        shares.set_ylabel("share", fontsize=8)
        small_legend(
            shares,
            [
                Patch(color=_EDGE, label="τ (edge)"),
                Patch(color=_UPLOAD, label="f_e / F^E (edge)"),
                Patch(color=_LOCAL, label="f_l / f_max (local)"),
            ],
            "upper left",
            (1.01, 1.05),
        )
        frames = self.frames_axes = figure.add_subplot(grid[1, 1], sharex=shares)
        self.frames = Bars(frames, devices, 0.7, _LOCAL)
        frames.set_ylim(0, cfg.max_frames)
        frames.set_ylabel("frames F", fontsize=8)
        small_legend(
            frames,
            [Patch(color=_EDGE, label="edge"), Patch(color=_LOCAL, label="local")],
            "upper left",
            (1.01, 1.05),
        )
        costs = self.costs_axes = figure.add_subplot(grid[2, 1], sharex=shares)
        self.costs = Bars(costs, devices, 0.7, _LOCAL)
        self.mean_cost = costs.axhline(0.0, color="black", lw=0.8, ls="--")
        costs.set_ylabel("cost", fontsize=8)
        costs.set_xlabel("device", fontsize=8)
        small_legend(
            costs,
            [Line2D([], [], color="black", lw=0.8, ls="--", label="mean")],
            "upper left",
            (1.01, 1.05),
        )
        step = 1 if n <= 30 else 5
        shares.set_xticks(devices[::step])
        shares.set_xlim(-0.6, n - 0.4)
        for axes in (shares, frames, costs):
            axes.tick_params(labelsize=7 if n <= 12 else 6)
        for axes in (shares, frames):
            axes.tick_params(labelbottom=False)
        bars = (self.tau, self.edge, self.local, self.frames, self.costs)
        self.animate(*(b.collection for b in bars), self.mean_cost)
        self.cost_axis = DynamicAxis(self, costs)

    def update(self, env: JointOffloadEnv) -> None:
        from mec_gym.problems.joint_offload import evaluate_allocation

        cfg = env.config
        n = cfg.num_devices
        allocation = env.last_allocation
        positions = env.positions
        self.dots.set_offsets(positions)
        for label, xy in zip(self.labels, positions, strict=False):  # none beyond 30
            label.set_position(xy)
        header = f"round {env.round}/{cfg.rounds_per_episode}  mode={env.action_mode}"
        if allocation is None:
            offload = np.zeros(n, dtype=bool)
            tau = edge = local = frames = cost = np.zeros(n)
            self.links.set_segments([])
            header += "\nno decision yet (reset)"
        else:
            offload = np.asarray(allocation.offload, dtype=bool)
            breakdown = evaluate_allocation(env.last_problem, allocation)
            cost = breakdown.cost
            tau = np.where(offload, allocation.time_share, 0.0)
            edge = np.where(offload, allocation.edge_frequency / cfg.edge_capacity, 0.0)
            local = np.where(offload, 0.0, allocation.local_frequency / cfg.device_max_frequency)
            frames = allocation.frames
            edge_devices = np.flatnonzero(offload)
            self.links.set_segments([((0.0, 0.0), tuple(positions[d])) for d in edge_devices])
            self.links.set_linewidths(0.5 + 6.0 * tau[edge_devices])
            mean = float(np.mean(cost))
            header += (
                f"   last decision: {edge_devices.size}/{n} offload, frames F "
                f"{int(np.min(frames))}..{int(np.max(frames))}   reward {signed(env.last_reward)}"
                f"\nmeans over devices: cost {mean:.4g}  delay {np.mean(breakdown.delay) * 1e3:.1f}"
                f" ms  energy {np.mean(breakdown.energy):.4g} J  accuracy "
                f"{np.mean(breakdown.accuracy):.3f}"
            )
        colours = np.where(offload, _EDGE, _LOCAL)
        self.dots.set_facecolors(colours)
        self.tau.set(tau)
        self.edge.set(edge)
        self.local.set(local)
        self.frames.set(frames, colors=colours)
        self.costs.set(cost, colors=colours)
        self.cost_axis.set(*fit_range(None, float(np.min(cost)), float(np.max(cost))))
        self.mean_cost.set_ydata([float(np.mean(cost))] * 2)
        self.header.set_text(header)


def render_round_rgb(env: JointOffloadEnv) -> np.ndarray:
    """RGB image of the round (:class:`RoundView`, made once per env)."""
    return view_of(env, RoundView).frame(env)


# ------------------------------------------------------------------------ PerTaskOffload
def render_tasks_text(sim: PerTaskSimulator) -> str:
    """Compact text view: clock, free shares, reservations in service, the last tasks."""
    cfg, st = sim.config, sim.state
    lines = [
        f"t={st.now:8.3f} s  task {st.task}/{cfg.tasks_per_episode}  device={st.device}  "
        f"free uplink={st.free_uplink_share:.3f}  free edge={st.free_edge_share:.3f}  "
        f"backlog={sim.local_backlog():.3f} s"
    ]
    for name, heap in (("upload", st.uploads), ("edge", st.edge_jobs)):
        for end, share in sorted(heap):
            lines.append(f"  {name:<6} share={share:.3f} until t={end:8.3f} s")
    for outcome in st.outcomes[-5:]:
        where = "edge " if outcome.offload else "local"
        lines.append(
            f"  done dev {outcome.device:2d} {where} F={outcome.frames:2d} "
            f"delay={outcome.delay * 1e3:8.1f} ms cost={outcome.cost:+.3f}"
        )
    return "\n".join(lines)


class TasksView(FrameView):
    """PerTaskOffload's image: a timeline of the last tasks, one row per device (upload and edge
    compute, or waiting and local compute), the current time and the device of the next task,
    the shares reserved at the current decision; the header gives the last decision and its
    reward."""

    size = (9.0, 4.8)

    def build(self, env: PerTaskOffloadEnv) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        n = env.config.num_devices
        figure = self.figure
        figure.subplots_adjust(left=0.08, right=0.97, bottom=0.11, top=0.80, wspace=0.3)
        timeline, reserved = figure.subplots(1, 2, gridspec_kw={"width_ratios": [5, 1]})
        self.timeline = timeline
        self.bars = PolyCollection([], edgecolors="none")
        timeline.add_collection(self.bars, autolim=False)
        self.time_axis = DynamicAxis(self, timeline, "x")
        self.animate(timeline.axvline(0.0, color="black", lw=1))
        (self.next,) = timeline.plot([], [], ls="", marker=">", color="black", ms=7, zorder=4)
        timeline.set_ylim(-0.6, n - 0.4)
        step = 1 if n <= 25 else 5
        timeline.set_yticks(range(0, n, step), [f"dev {d}" for d in range(0, n, step)])
        timeline.tick_params(labelsize=7 if n <= 12 else 6)
        timeline.set_xlabel("time - now (s)", fontsize=8)
        small_legend(
            timeline,
            [
                Patch(color=_UPLOAD, label="upload"),
                Patch(color=_EDGE, label="edge compute"),
                Patch(color=_WAIT, label="waiting"),
                Patch(color=_LOCAL, label="local compute"),
                Line2D([], [], ls="", marker=">", color="black", label="next task"),
            ],
            "lower left",
            (0.0, 1.0),
            ncol=5,
        )
        self.reserved = Bars(reserved, [0, 1], 0.8, [_UPLOAD, _EDGE])
        reserved.set_xticks([0, 1], ["uplink", "edge"], fontsize=8)
        reserved.set_ylim(0, 1.0)
        reserved.set_xlim(-0.6, 1.6)
        reserved.tick_params(labelsize=7)
        reserved.set_title("reserved now", fontsize=8)
        self.animate(self.bars, self.next, self.reserved.collection)

    def update(self, env: PerTaskOffloadEnv) -> None:
        sim = env.simulator
        cfg, st = sim.config, sim.state
        shown = st.outcomes[-_TASKS_SHOWN:]
        now = st.now
        low, high = now, now
        boxes, colours = [], []
        for outcome in shown:
            y = outcome.device
            if outcome.offload:
                segments = (
                    (outcome.arrival, outcome.upload_end, _UPLOAD, 0.7),
                    (outcome.upload_end, outcome.finish, _EDGE, 0.7),
                )
            else:
                segments = (
                    (outcome.arrival, outcome.start, _WAIT, 0.3),
                    (outcome.start, outcome.finish, _LOCAL, 0.7),
                )
            for begin, end, colour, height in segments:
                boxes.append((begin - now, y - height / 2, end - begin, height))
                colours.append(colour)
            low, high = min(low, outcome.arrival), max(high, outcome.finish)
        self.bars.set_verts(rectangles(*np.array(boxes).T) if boxes else [])
        self.bars.set_facecolors(colours)
        pad = 0.03 * (high - low) or 0.05
        self.time_axis.set(low - now - pad, high - now + pad)
        if sim.done:
            self.next.set_data([], [])
        else:
            self.next.set_data([0.0], [st.device])
        held = (1.0 - st.free_uplink_share, 1.0 - st.free_edge_share)
        self.reserved.set(held)
        header = f"task {st.task}/{cfg.tasks_per_episode}  t = {st.now:.3f} s"
        if not st.outcomes:
            header += "\nno decision yet (reset)"
        else:
            last = st.outcomes[-1]
            if last.offload:
                decision = (
                    f"dev {last.device} -> edge  F={last.frames}  tau={last.time_share:.3f}  "
                    f"f_e={last.edge_frequency / 1e9:.2f} GHz"
                )
            else:
                decision = (
                    f"dev {last.device} -> local  F={last.frames}  "
                    f"f_l={last.local_frequency / 1e9:.2f} GHz"
                )
            header += (
                f"   last decision: {decision}\nreward {signed(env.last_reward)}  delay "
                f"{last.delay * 1e3:.1f} ms (waited {last.waiting * 1e3:.1f})  energy "
                f"{last.energy:.4g} J  accuracy {last.accuracy:.3f}"
            )
        self.header.set_text(header)


def render_tasks_rgb(env: PerTaskOffloadEnv) -> np.ndarray:
    """RGB image of the tasks (:class:`TasksView`, made once per env)."""
    return view_of(env, TasksView).frame(env)
