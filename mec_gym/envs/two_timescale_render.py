"""Text and image views of the two-timescale environments' states (matplotlib only here).

Both ``TwoTimescale-v0`` and ``TwoTimescaleFrame-v0`` render their simulator's state and the
objective of every slot played (``env.cost_history``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.envs.base_render import (
    DynamicAxis,
    FrameView,
    fit_range,
    signed,
    small_legend,
    view_of,
)

__all__ = ["render_text", "new_figure", "render_rgb", "AreaView"]

_RETRAIN, _COST, _IDLE = "#d62728", "#1f77b4", "#7f7f7f"


def position_text(env: Any) -> str:
    """Where the episode is: the frames played (frame level) or the slot and the frame it is in
    (slot level, frames counted from 1), e.g. ``slot 60/1000  in frame 2/20``."""
    cfg = env.config
    st = env.simulator.state
    frames = cfg.frames_per_episode
    if hasattr(env, "slot_policy"):  # the frame level; st.frame: the frames played
        return (
            f"frame {min(st.frame, frames)}/{frames} played  slot {st.slot}/{cfg.slots_per_episode}"
        )
    return f"slot {st.slot}/{cfg.slots_per_episode}  in frame {min(st.frame + 1, frames)}/{frames}"


def render_text(env: Any) -> str:
    """Compact text view: the slot and frame, then per MU its BS, retraining flag, batch, rate
    and last measured accuracy, and the last slot's delays."""
    cfg = env.config
    simulator = env.simulator
    st = simulator.state
    decided = st.association is not None
    lines = [
        f"{position_text(env)}  M={cfg.num_bs} N={cfg.num_mus}"
        + ("" if decided else "  (no frame decision yet)")
    ]
    rates = simulator.slot_rates() if decided else None
    last = st.last_outcome
    for mu in range(cfg.num_mus):
        line = f"MU {mu:2d}: |Q|={st.batch_bits[mu] / 1e6:5.2f} Mbit acc={st.accuracy[mu]:.3f}"
        if rates is not None:
            line += (
                f" BS {st.association[mu]} retrain={int(st.retrain[mu])}"
                f" R={rates[mu] / 1e6:6.2f} Mbit/s"
            )
        if last is not None:
            line += (
                f" | last: L_tx={last.delays.transmission[mu]:.3f} "
                f"L_BS={last.delays.computation[mu]:.3f} L_re={last.delays.retraining[mu]:.3f} s"
            )
        lines.append(line)
    if last is not None:
        lines.append(f"last slot objective {float(last.objective):.3f} s")
    return "\n".join(lines)


class AreaView(FrameView):
    """The two-timescale image: the area with the BSs (squares), the MUs (dots in their BS's
    colour, lines to their BS, a red ring when retrained in this frame; grey before the first
    frame decision), and the objective of every slot so far; the header gives the slot and
    frame, the decision just taken and its reward."""

    size = (9.0, 4.4)

    def build(self, env: Any) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        cfg = env.config
        simulator = env.simulator
        figure = self.figure
        grid = figure.add_gridspec(1, 2, width_ratios=[1, 1.3], left=0.07, right=0.98, wspace=0.3)
        grid.update(bottom=0.11, top=0.83)
        ax_map, ax_cost = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
        self.ax_cost = ax_cost
        self.colours = np.array([f"C{bs % 10}" for bs in range(cfg.num_bs)])
        self.links = LineCollection([], lw=0.7, alpha=0.6)
        ax_map.add_collection(self.links, autolim=False)
        n = cfg.num_mus
        self.mus = ax_map.scatter(np.zeros(n), np.zeros(n), s=18, c=_IDLE, zorder=4)
        self.rings = ax_map.scatter(
            [], [], s=70, facecolors="none", edgecolors=_RETRAIN, zorder=5, clip_on=False
        )
        self.mus.set_clip_on(False)
        bs_xy = simulator.bs_positions
        stations = ax_map.scatter(
            *bs_xy.T, marker="s", s=80, c=self.colours, edgecolors="black", zorder=3
        )
        margin = 0.04 * cfg.area_m  # so that markers on the border are not clipped
        ax_map.set_xlim(-margin, cfg.area_m + margin)
        ax_map.set_ylim(-margin, cfg.area_m + margin)
        ax_map.set_aspect("equal")
        ax_map.tick_params(labelsize=7)
        ax_map.set_xlabel("x (m)", fontsize=8)
        ax_map.set_ylabel("y (m)", fontsize=8)
        small_legend(
            ax_map,
            [
                Line2D([], [], ls="", marker="s", color="grey", mec="black", label="BS"),
                Line2D([], [], ls="", marker="o", color="grey", label="MU (BS colour)"),
                Line2D([], [], ls="", marker="o", mfc="none", mec=_RETRAIN, label="retrained"),
            ],
            "lower left",
            (0.0, 1.0),
            ncol=3,
            handletextpad=0.2,
            columnspacing=0.8,
        )
        (self.history,) = ax_cost.plot([], [], color=_COST, lw=1.0)
        ax_cost.set_xlim(0, cfg.slots_per_episode + 1)
        ax_cost.tick_params(labelsize=7)
        ax_cost.set_xlabel("slot", fontsize=8)
        ax_cost.set_ylabel("slot objective (s)", fontsize=8)
        self.cost_axis = DynamicAxis(self, ax_cost)
        self.animate(self.links, self.mus, self.rings, stations, self.history)

    def update(self, env: Any) -> None:
        st = env.simulator.state
        mu_xy = st.positions
        bs_xy = env.simulator.bs_positions
        self.mus.set_offsets(mu_xy)
        if st.association is None:
            self.mus.set_facecolors(_IDLE)
            self.links.set_segments([])
            self.rings.set_offsets(np.empty((0, 2)))
        else:
            colours = self.colours[st.association]
            self.mus.set_facecolors(colours)
            self.links.set_segments(np.stack((mu_xy, bs_xy[st.association]), axis=1))
            self.links.set_colors(colours)
            self.rings.set_offsets(mu_xy[st.retrain])
        history = env.cost_history
        self.cost_axis.set(*fit_range(None, 0.0, max(history, default=0.0) * 1.05))
        self.history.set_data(np.arange(1, len(history) + 1), history)
        self.header.set_text(_header(env))


def _header(env: Any) -> str:
    """The slot and frame, the decision just taken and its reward."""
    cfg = env.config
    st = env.simulator.state
    frame_level = hasattr(env, "slot_policy")
    text = position_text(env)
    history = env.cost_history
    last = st.last_outcome
    if not history or last is None:
        return text + "\nno decision yet (reset)"
    retrained = int(np.count_nonzero(st.retrain)) if st.retrain is not None else 0
    if frame_level:
        objectives = history[-cfg.slots_per_frame :]
        text += (
            f"   last decision: association (map), {retrained}/{cfg.num_mus} MUs retrained"
            f"\nreward {signed(env.last_reward)}  (mean slot objective "
            f"{np.mean(objectives):.4g} s over {len(objectives)} slots)"
        )
    else:
        delays = last.delays
        text += (
            f"   last decision: compute split + DT data {np.sum(last.retrain_bits) / 1e6:.2f}"
            f" Mbit ({retrained}/{cfg.num_mus} MUs retraining)\nreward {signed(env.last_reward)}  "
            f"(slot objective {history[-1]:.4g} s; mean L_tx {np.mean(delays.transmission):.3f}"
            f" L_BS {np.mean(delays.computation):.3f} L_re {np.mean(delays.retraining):.3f} s)"
        )
    return text


def new_figure() -> AreaView:
    """The image view of an env, made once per env and reused (its figure is made on the
    first frame)."""
    return AreaView()


def render_rgb(env: Any, view: Any = None) -> np.ndarray:
    """RGB image of the env's state (:class:`AreaView`: ``view``, else one made once per env)."""
    if not isinstance(view, AreaView):
        view = view_of(env, AreaView)
    return view.frame(env)
