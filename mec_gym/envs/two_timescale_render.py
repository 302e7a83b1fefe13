"""Text and image views of the two-timescale environments' states (matplotlib only here).

Both ``TwoTimescale-v0`` and ``TwoTimescaleFrame-v0`` render their simulator's state and the
objective of every slot played (``env.cost_history``)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["render_text", "new_figure", "render_rgb"]

_RETRAIN, _COST, _IDLE = "#d62728", "#1f77b4", "#7f7f7f"


def render_text(env: Any) -> str:
    """Compact text view: the slot and frame, then per MU its BS, retraining flag, batch, rate
    and last measured accuracy, and the last slot's delays."""
    cfg = env.config
    simulator = env.simulator
    st = simulator.state
    decided = st.association is not None
    lines = [
        f"slot {st.slot}/{cfg.slots_per_episode}  frame {min(st.frame, cfg.frames_per_episode)}"
        f"/{cfg.frames_per_episode}  M={cfg.num_bs} N={cfg.num_mus}"
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


def new_figure() -> tuple[Any, Any]:
    """(figure, canvas) of the image view, made once per env and reused."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, 4.0), dpi=100)
    return figure, FigureCanvasAgg(figure)


def render_rgb(env: Any, figure_canvas: tuple[Any, Any]) -> np.ndarray:
    """RGB image: the area with the BSs (squares), the MUs (dots in their BS's colour, lines to
    their BS, a red ring when retrained in this frame; grey before the first frame decision),
    and the objective of every slot so far."""
    figure, canvas = figure_canvas
    figure.clear()
    cfg = env.config
    simulator = env.simulator
    st = simulator.state
    ax_map, ax_cost = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    colours = [f"C{bs % 10}" for bs in range(cfg.num_bs)]
    bs_xy = simulator.bs_positions
    mu_xy = st.positions
    if st.association is None:
        ax_map.scatter(*mu_xy.T, s=18, c=_IDLE, zorder=4)
    else:
        for mu, bs in enumerate(st.association):
            segment = np.stack((mu_xy[mu], bs_xy[bs])).T
            ax_map.plot(*segment, color=colours[bs], lw=0.7, alpha=0.6)
        ax_map.scatter(*mu_xy.T, s=18, c=[colours[bs] for bs in st.association], zorder=4)
        retrained = mu_xy[st.retrain]
        ax_map.scatter(*retrained.T, s=70, facecolors="none", edgecolors=_RETRAIN, zorder=5)
    ax_map.scatter(*bs_xy.T, marker="s", s=80, c=colours, edgecolors="black", zorder=3)
    margin = 0.03 * cfg.area_m  # so that markers on the border are not clipped
    ax_map.set_xlim(-margin, cfg.area_m + margin)
    ax_map.set_ylim(-margin, cfg.area_m + margin)
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
