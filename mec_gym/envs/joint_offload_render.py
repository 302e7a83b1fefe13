"""Text and image views of JointOffload and PerTaskOffload states (matplotlib only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mec_gym.envs.joint_offload import JointOffloadEnv
    from mec_gym.simulators.per_task_offload import PerTaskSimulator

__all__ = ["render_round_text", "render_round_rgb", "render_tasks_text", "render_tasks_rgb"]

_EDGE, _LOCAL, _WAIT, _UPLOAD = "#f0a030", "#4c9be8", "#cccccc", "#c44e52"
_TASKS_SHOWN = 20


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A matplotlib figure on the Agg canvas (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    return figure, FigureCanvasAgg(figure)


def _pixels(figure: Any, canvas: Any) -> np.ndarray:
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


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


def render_round_rgb(env: JointOffloadEnv) -> np.ndarray:
    """RGB image: the cell (BS, devices coloured by their last decision, links scaled by the
    time share) and the last round's shares per device."""
    cfg = env.config
    allocation = env.last_allocation
    figure, canvas = _figure(8.0, 4.0)
    ax_cell, ax_share = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    half = cfg.area_side / 2.0
    positions = env.positions
    n = cfg.num_devices
    offload = allocation.offload if allocation is not None else np.zeros(n, dtype=bool)
    if allocation is not None:
        for device in np.flatnonzero(offload):
            x, y = positions[device]
            width = 0.5 + 6.0 * allocation.time_share[device]
            ax_cell.plot([0, x], [0, y], color=_EDGE, lw=width, alpha=0.5)
    ax_cell.scatter(*positions.T, c=np.where(offload, _EDGE, _LOCAL), s=25, zorder=3)
    ax_cell.scatter([0], [0], marker="^", s=120, color="black", zorder=4)
    ax_cell.set_xlim(-half, half)
    ax_cell.set_ylim(-half, half)
    ax_cell.set_aspect("equal")
    ax_cell.set_title(f"round {env.round}: orange edge, blue local", fontsize=9)
    ax_cell.set_xlabel("x (m)")
    ax_cell.set_ylabel("y (m)")
    devices = np.arange(n)
    if allocation is not None:
        ax_share.bar(devices - 0.2, allocation.time_share, 0.4, color=_EDGE, label="tau")
        ax_share.bar(
            devices + 0.2,
            allocation.edge_frequency / cfg.edge_capacity,
            0.4,
            color=_UPLOAD,
            label="f_e / F^E",
        )
        ax_share.bar(
            devices,
            allocation.local_frequency / cfg.device_max_frequency,
            0.4,
            color=_LOCAL,
            label="f_l / f_max",
        )
        ax_share.legend(fontsize=7, loc="upper right")
    ax_share.set_ylim(0, 1.05)
    ax_share.set_xlabel("device")
    ax_share.set_title("shares of the last round", fontsize=9)
    return _pixels(figure, canvas)


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


def render_tasks_rgb(sim: PerTaskSimulator) -> np.ndarray:
    """RGB image: timeline of the last tasks (waiting, local compute, upload, edge compute)
    with the current time, and the reserved shares at the current decision."""
    st = sim.state
    figure, canvas = _figure(8.0, 4.0)
    ax_time, ax_share = figure.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1]})
    shown = st.outcomes[-_TASKS_SHOWN:]
    first = len(st.outcomes) - len(shown)
    for row, outcome in enumerate(shown, start=first):
        if outcome.offload:
            segments = [
                (outcome.arrival, outcome.upload_end, _UPLOAD),
                (outcome.upload_end, outcome.finish, _EDGE),
            ]
        else:
            segments = [
                (outcome.arrival, outcome.start, _WAIT),
                (outcome.start, outcome.finish, _LOCAL),
            ]
        for begin, end, colour in segments:
            ax_time.barh(row, end - begin, left=begin, color=colour, height=0.7)
    ax_time.axvline(st.now, color="black", lw=1)
    ax_time.set_xlabel("time (s); red upload, orange edge, grey wait, blue local")
    ax_time.set_ylabel("task")
    ax_time.set_title(f"t = {st.now:.2f} s, {len(st.outcomes)} tasks decided", fontsize=9)
    held = (1.0 - st.free_uplink_share, 1.0 - st.free_edge_share)
    ax_share.bar([0, 1], held, color=[_UPLOAD, _EDGE])
    ax_share.set_xticks([0, 1], ["uplink", "edge"])
    ax_share.set_ylim(0, 1.05)
    ax_share.set_title("reserved", fontsize=9)
    return _pixels(figure, canvas)
