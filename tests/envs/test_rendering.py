"""Rendering of every registered ID in every mode (ansi, rgb_array, human under Agg)."""

from __future__ import annotations

import copy
import pickle
import re

import gymnasium as gym
import matplotlib
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.envs import base_render
from mec_gym.envs.base import RENDER_METADATA
from mec_gym.registration import ENVS

ENV_IDS = sorted(ENVS)
MODES = RENDER_METADATA["render_modes"]


@pytest.fixture(autouse=True)
def agg_backend():
    """Human mode under the non-interactive backend of CI (no window, no pause)."""
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def make(env_id: str, **kwargs) -> gym.Env:
    return gym.make(env_id, **{**ENVS[env_id].small_kwargs, **kwargs})


def check_frame(frame, mode: str) -> None:
    if mode == "ansi":
        assert isinstance(frame, str) and frame
    elif mode == "rgb_array":
        assert isinstance(frame, np.ndarray)
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        assert frame.std() > 0
    else:
        assert frame is None


def view(env: gym.Env) -> base_render.FrameView:
    """The env's image view (TwoTimescale keeps its own in ``_figure``)."""
    base = env.unwrapped
    found = getattr(base, "_figure", None) or base_render._VIEWS.get(base)
    assert isinstance(found, base_render.FrameView)
    return found


def test_every_env_declares_the_three_modes():
    assert set(MODES) == {"ansi", "rgb_array", "human"}
    for env_id in ENV_IDS:
        env = make(env_id)
        assert env.metadata["render_modes"] == MODES
        assert env.metadata["render_fps"] > 0
        env.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_every_id_in_every_mode(env_id, mode):
    import matplotlib.pyplot as plt

    env = make(env_id, render_mode=mode)
    assert "HumanRendering" not in str(env)  # gymnasium's pygame wrapper is not involved
    env.action_space.seed(0)
    env.reset(seed=0)
    first = env.render()
    check_frame(first, mode)
    for _ in range(3):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
        frame = env.render()
        check_frame(frame, mode)
        if mode == "rgb_array":
            assert frame.shape == first.shape  # one figure, redrawn
    if mode == "human":
        assert len(plt.get_fignums()) == 1  # one window, reused
    env.close()
    assert plt.get_fignums() == []
    env.close()  # twice is harmless


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_human_mode_draws_on_reset_and_step_by_itself(env_id, monkeypatch):
    import matplotlib.pyplot as plt

    from mec_gym.envs.base import MecEnv

    env = make(env_id, render_mode="human")
    calls = []
    original = MecEnv.render
    monkeypatch.setattr(MecEnv, "render", lambda self: calls.append(1) or original(self))
    env.reset(seed=0)
    assert len(calls) == 1 and len(plt.get_fignums()) == 1
    env.step(env.action_space.sample())
    assert len(calls) == 2
    env.close()
    assert plt.get_fignums() == []


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_frames_show_the_decision_and_its_reward(env_id):
    env = make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.render()
    assert "no decision yet" in view(env).header.text
    env.step(env.action_space.sample())
    env.render()
    header = view(env).header.text
    assert "last decision" in header and "reward" in header
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_frame_shows_the_last_decision_when_earlier_steps_were_not_rendered(env_id):
    env = make(env_id, render_mode="rgb_array")
    env.action_space.seed(2)
    env.reset(seed=2)
    env.render()
    for _ in range(2):
        env.step(env.action_space.sample())
    env.render()
    header = view(env).header.text
    assert "last decision" in header and "not rendered" not in header
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_text_view_ends_with_the_step_reward(env_id):
    env = make(env_id, render_mode="ansi")
    env.action_space.seed(3)
    env.reset(seed=3)
    assert env.render().endswith("last reward: none yet (reset)")
    _, reward, _, _, _ = env.step(env.action_space.sample())
    assert env.render().endswith(f"last reward: {reward:+.4f}")
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_header_reward_is_the_step_reward(env_id):
    env = make(env_id, render_mode="rgb_array")
    env.action_space.seed(1)
    env.reset(seed=1)
    for _ in range(8):
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        env.render()
        shown = re.search(r"reward (?:\(mean mAP\) )?([-+][\d.e+-]+)", view(env).header.text)
        assert shown is not None
        assert float(shown.group(1)) == pytest.approx(reward, rel=1e-3, abs=1e-6)
        if terminated or truncated:
            env.reset()
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rendered_env_pickles_and_copies_without_its_figure(env_id):
    env = make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    for clone in (pickle.loads(pickle.dumps(env)), copy.deepcopy(env)):
        assert clone.render().shape == frame.shape
        clone.close()
    env.close()


def test_joint_offload_legends_leave_the_bars_and_devices_visible():
    env = make("JointOffload-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.render()
    figure = view(env).figure
    renderer = figure.canvas.get_renderer()
    boxes = [axes.get_window_extent(renderer) for axes in figure.axes]
    for axes in figure.axes:
        legend = axes.get_legend()
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(other) for other in boxes)
    env.close()


def test_per_task_timeline_rows_are_devices():
    env = make("PerTaskOffload-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.render()
    timeline = view(env).timeline
    labels = [label.get_text() for label in timeline.get_yticklabels()]
    assert labels[0] == "dev 0" and len(labels) == env.unwrapped.config.num_devices
    env.close()


def test_glyph_text_draws_in_the_frame():
    font = base_render.GlyphFont.of_size(9.0)
    image = np.full((30, 200, 3), 255, np.uint8)
    font.paste(image, "reward +1.5", 2, 2)
    assert image.min() < 100  # dark pixels where the text is
    assert (image[:, 2 + 12 * font.advance :] == 255).all()  # nothing past the text
