"""Text and image views of BandwidthSplit states (matplotlib only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mec_gym.envs.bandwidth_split import BandwidthSplitEnv

__all__ = ["render_text", "render_rgb"]

_UPLOAD, _DOWNLOAD, _IDLE, _MAP = "#4c9be8", "#f0a030", "#dddddd", "#2ca02c"


def _per_device(value: Any, k: int) -> np.ndarray:
    """A float (one device) or a (K,) array as a (K,) array."""
    return np.broadcast_to(np.asarray(value, dtype=float), (k,))


def render_text(env: BandwidthSplitEnv) -> str:
    """Compact text view: the period, then per device its channel, data and model, and what the
    last period gave."""
    cfg = env.config
    st = env.state
    k = cfg.num_devices
    t = min(st.period, cfg.periods_per_episode)
    devices = st.devices
    held = _per_device(devices.held_size, k)
    device_map = _per_device(devices.device_map, k)
    fresh = _per_device(devices.fresh_data, k)
    lines = [f"period {st.period}/{cfg.periods_per_episode}  B={cfg.bandwidth_hz / 1e6:g} MHz"]
    last = st.last_outcome
    for device in range(k):
        line = (
            f"dev {device}: d={st.draws.distance_m[t, device]:6.1f} m "
            f"gain={st.channels.gain_db[t, device]:7.1f} dB "
            f"N_avail={st.draws.available_samples[t, device]:5.0f} F={fresh[device]:7.0f} "
            f"holds M={held[device]:4.1f} mAP={device_map[device]:.3f}"
        )
        if last is not None:
            up, down, n, size, accuracy = (
                _per_device(getattr(last, name), k)[device]
                for name in ("upload_share", "download_share", "samples", "model_size", "map")
            )
            line += (
                f" | last: up {up:.3f} down {down:.3f} n={n:5.0f} M={size:4.1f} mAP={accuracy:.3f}"
            )
        lines.append(line)
    return "\n".join(lines)


def render_rgb(env: BandwidthSplitEnv) -> np.ndarray:
    """RGB image: the last period's split of the band per device (upload, download, idle) and
    the mean mAP of every period of the episode so far."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cfg = env.config
    k = cfg.num_devices
    figure = Figure(figsize=(8.0, 3.5), dpi=100)
    canvas = FigureCanvasAgg(figure)
    ax_split, ax_map = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    last = env.last_outcome
    rows = np.arange(k)
    up = _per_device(last.upload_share, k) if last is not None else np.zeros(k)
    down = _per_device(last.download_share, k) if last is not None else np.zeros(k)
    ax_split.barh(rows, up, color=_UPLOAD, label="upload")
    ax_split.barh(rows, down, left=up, color=_DOWNLOAD, label="download")
    ax_split.barh(rows, 1.0 - up - down, left=up + down, color=_IDLE)
    ax_split.set_xlim(0.0, 1.0)
    ax_split.set_yticks(rows, [f"dev {device}" for device in rows])
    ax_split.set_xlabel("share of the band (last period)")
    ax_split.legend(loc="lower right", fontsize=7)
    history = env.map_history
    ax_map.plot(np.arange(1, len(history) + 1), history, color=_MAP, marker=".")
    ax_map.set_xlim(0, cfg.periods_per_episode + 1)
    ax_map.set_ylim(0.0, cfg.map_a)
    ax_map.set_xlabel("period")
    ax_map.set_ylabel("mean device mAP")
    ax_map.set_title(f"period {env.period}/{cfg.periods_per_episode}", fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
