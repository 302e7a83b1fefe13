"""Text and image views of BandwidthSplit states (matplotlib only here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mec_gym.envs.base_render import Bars, FrameView, signed, small_legend, view_of

if TYPE_CHECKING:
    from mec_gym.envs.bandwidth_split import BandwidthSplitEnv

__all__ = ["render_text", "render_rgb", "SplitView"]

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


class SplitView(FrameView):
    """BandwidthSplit's image: the last period's split of the band per device (upload,
    download, idle) with the samples, model size and mAP it gave each device, and the mean mAP
    (the reward) of every period of the episode so far; the header gives the period, the
    decision and its reward."""

    size = (9.0, 4.2)

    def build(self, env: BandwidthSplitEnv) -> None:
        from matplotlib.patches import Patch

        cfg = env.config
        k = cfg.num_devices
        figure = self.figure
        grid = figure.add_gridspec(1, 2, width_ratios=[1, 1], left=0.08, right=0.98, wspace=0.62)
        grid.update(bottom=0.12, top=0.78)
        ax_split, ax_map = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
        rows = np.arange(k)
        self.up = Bars(ax_split, rows, 0.7, _UPLOAD, horizontal=True)
        self.down = Bars(ax_split, rows, 0.7, _DOWNLOAD, horizontal=True)
        self.idle = Bars(ax_split, rows, 0.7, _IDLE, horizontal=True)
        self.notes = [self.fast_text((1.03, row), 7, axes=ax_split, va="center") for row in rows]
        ax_split.set_xlim(0.0, 1.0)
        ax_split.set_ylim(-0.6, k - 0.4)
        ax_split.set_yticks(rows, [f"dev {device}" for device in rows])
        ax_split.tick_params(labelsize=7)
        ax_split.set_xlabel("share of the band (last period)", fontsize=8)
        small_legend(
            ax_split,
            [
                Patch(color=_UPLOAD, label="upload"),
                Patch(color=_DOWNLOAD, label="download"),
                Patch(color=_IDLE, label="idle"),
            ],
            "lower left",
            (0.0, 1.0),
            ncol=3,
        )
        (self.history,) = ax_map.plot([], [], color=_MAP, marker=".")
        ax_map.set_xlim(0, cfg.periods_per_episode + 1)
        ax_map.set_ylim(0.0, cfg.map_a)
        ax_map.tick_params(labelsize=7)
        ax_map.set_xlabel("period", fontsize=8)
        ax_map.set_ylabel("mean device mAP (reward)", fontsize=8)
        bars = (self.up, self.down, self.idle)
        self.animate(*(b.collection for b in bars), self.history)

    def update(self, env: BandwidthSplitEnv) -> None:
        cfg = env.config
        k = cfg.num_devices
        last = env.last_outcome
        header = f"period {env.period}/{cfg.periods_per_episode}  B={cfg.bandwidth_hz / 1e6:g} MHz"
        if last is None:
            up = down = np.zeros(k)
            for note in self.notes:
                note.set_text("")
            header += "\nno decision yet (reset)"
        else:
            up = _per_device(last.upload_share, k)
            down = _per_device(last.download_share, k)
            samples = _per_device(last.samples, k)
            size = _per_device(last.model_size, k)
            accuracy = _per_device(last.map, k)
            for device, note in enumerate(self.notes):
                note.set_text(
                    f"n={samples[device]:.0f}\nM={size[device]:.1f}  mAP={accuracy[device]:.3f}"
                )
            header += (
                f"   last decision: upload {_shares(up)}  download {_shares(down)}\n"
                f"samples {_shares(samples, '.0f')}  model {_shares(size, '.1f')}   reward "
                f"(mean mAP) {signed(env.last_reward)}"
            )
        self.up.set(up)
        self.down.set(down, up)
        self.idle.set(np.maximum(1.0 - up - down, 0.0), up + down)
        history = env.map_history
        self.history.set_data(np.arange(1, len(history) + 1), history)
        self.header.set_text(header)


def _shares(values: np.ndarray, spec: str = ".3f") -> str:
    """Per-device values: one, a bracketed list (up to 4 devices) or their mean (the bars and
    their notes give each device's)."""
    if values.size > 4:
        return f"mean {format(float(np.mean(values)), spec)}"
    text = " ".join(format(float(v), spec) for v in values)
    return text if values.size == 1 else f"[{text}]"


def render_rgb(env: BandwidthSplitEnv) -> np.ndarray:
    """RGB image of the period (:class:`SplitView`, made once per env)."""
    return view_of(env, SplitView).frame(env)
