"""Text and image views of TwoTimescale states (matplotlib only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mec_gym.envs.two_timescale import TwoTimescaleEnv

__all__ = ["render_text", "new_figure", "render_rgb"]

_RETRAIN, _COST = "#d62728", "#1f77b4"


def render_text(env: TwoTimescaleEnv) -> str:
    """Compact text view: the slot and frame, then per MU its BS, retraining flag, batch, rate
    and model accuracy, and the last slot's delays."""
    cfg = env.config
    st = env.state
    rates = env.slot_rates()
    lines = [
        f"slot {st.slot}/{cfg.slots_per_episode}  frame {min(st.frame, cfg.frames_per_episode)}"
        f"/{cfg.frames_per_episode}  M={cfg.num_bs} N={cfg.num_mus}"
    ]
    last = st.last_outcome
    for mu in range(cfg.num_mus):
        line = (
            f"MU {mu:2d}: BS {st.association[mu]} retrain={int(st.retrain[mu])} "
            f"|Q|={st.batch_bits[mu] / 1e6:5.2f} Mbit R={rates[mu] / 1e6:6.2f} Mbit/s"
        )
        if last is not None:
            line += (
                f" | last: L_tx={last.delays.transmission[mu]:.3f} "
                f"L_BS={last.delays.computation[mu]:.3f} L_re={last.delays.retraining[mu]:.3f} s "
                f"acc={last.accuracy[mu]:.3f}"
            )
        lines.append(line)
    if last is not None:
        lines.append(f"last slot objective {last.objective:.3f} s")
    return "\n".join(lines)


def new_figure() -> tuple[Any, Any]:
    """(figure, canvas) of the image view, made once per env and reused."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, 4.0), dpi=100)
    return figure, FigureCanvasAgg(figure)


def render_rgb(env: TwoTimescaleEnv, figure_canvas: tuple[Any, Any]) -> np.ndarray:
    """RGB image: the area with the BSs (squares), the MUs (dots in their BS's colour, lines to
    their BS, a red ring when retrained in this frame), and the objective of every slot so far."""
    figure, canvas = figure_canvas
    figure.clear()
    cfg = env.config
    st = env.state
    ax_map, ax_cost = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    colours = [f"C{bs % 10}" for bs in range(cfg.num_bs)]
    bs_xy = env.simulator.bs_positions
    mu_xy = st.positions
    for mu, bs in enumerate(st.association):
        ax_map.plot(*np.stack((mu_xy[mu], bs_xy[bs])).T, color=colours[bs], lw=0.7, alpha=0.6)
    ax_map.scatter(*bs_xy.T, marker="s", s=80, c=colours, edgecolors="black", zorder=3)
    ax_map.scatter(*mu_xy.T, s=18, c=[colours[bs] for bs in st.association], zorder=4)
    retrained = mu_xy[st.retrain]
    ax_map.scatter(*retrained.T, s=70, facecolors="none", edgecolors=_RETRAIN, zorder=5)
    ax_map.set_xlim(0.0, cfg.area_m)
    ax_map.set_ylim(0.0, cfg.area_m)
    ax_map.set_aspect("equal")
    ax_map.set_title(f"frame {min(st.frame, cfg.frames_per_episode)} (red: retrained)", fontsize=9)
    history = env.cost_history
    ax_cost.plot(np.arange(1, len(history) + 1), history, color=_COST)
    ax_cost.set_xlim(0, cfg.slots_per_episode + 1)
    ax_cost.set_xlabel("slot")
    ax_cost.set_ylabel("slot objective (s)")
    ax_cost.set_title(f"slot {st.slot}/{cfg.slots_per_episode}", fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
