"""An actor-critic policy with weights shared across devices, for observations and actions that
list the same features and decisions for every device (``JointOffload-v1``, the MUs of
``TwoTimescale-v0``).

The observation is read as ``N`` rows of ``device_features`` (device-major) followed by
``global_features`` cell-wide entries. Each device's row, with the global entries, is embedded
by one MLP; the mean of the embeddings over the devices (what the others look like) is appended
to each embedding and mixed by a second MLP (a Deep Sets layer). The actor maps each device's
mixed embedding to that device's action logits with one linear head shared by all devices; the
critic averages the embeddings of its own encoder and maps them to the value. A device's
decision therefore depends on its own features and on the set of the others, with the same
weights for every device: what a solver's per-device rule (offload the strong channels) looks
like, learnt once instead of N times.

Use it with ``policy: mec_gym.agents.device_policy:DeviceSetPolicy`` and ``policy_kwargs:
{device_features: 3, global_features: 2}`` in ``train/hyperparams/ppo.yml``. Optional
``feature_offset`` and ``feature_scale`` (one value per device feature) feed each device's row
to the network as ``(x - offset) * scale``: a feature whose informative range is narrow (an
accuracy between 0.8 and 0.95 in an observation bounded by [0, 1]) is spread before the first
layer, as the environment's observation is not changed.
Needs torch and stable-baselines3 (the ``train`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

__all__ = ["DeviceSetEncoder", "DeviceSetExtractor", "SharedDeviceHead", "DeviceSetPolicy"]


class DeviceSetEncoder(nn.Module):
    """(batch, N * device_features + global_features) -> (batch, N, hidden) embeddings; each
    device's row enters as ``(x - feature_offset) * feature_scale`` (defaults 0 and 1)."""

    def __init__(
        self,
        num_devices: int,
        device_features: int,
        global_features: int,
        hidden: int,
        activation_fn: type[nn.Module],
        feature_offset: Sequence[float] | None = None,
        feature_scale: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.num_devices = num_devices
        self.device_features = device_features
        self.global_features = global_features
        offset = [0.0] * device_features if feature_offset is None else list(feature_offset)
        scale = [1.0] * device_features if feature_scale is None else list(feature_scale)
        # not in the state dict: the policy's constructor arguments restore them (and agents
        # saved before they existed load unchanged; 0 and 1 leave every input as it is)
        self.register_buffer("feature_offset", th.tensor(offset), persistent=False)
        self.register_buffer("feature_scale", th.tensor(scale), persistent=False)
        self.embed = nn.Sequential(
            nn.Linear(device_features + global_features, hidden), activation_fn()
        )
        self.mix = nn.Sequential(nn.Linear(2 * hidden, hidden), activation_fn())

    def forward(self, observation: th.Tensor) -> th.Tensor:
        batch = observation.shape[0]
        split = self.num_devices * self.device_features
        devices = observation[:, :split].reshape(batch, self.num_devices, self.device_features)
        devices = (devices - self.feature_offset) * self.feature_scale
        cell = observation[:, split:].unsqueeze(1).expand(-1, self.num_devices, -1)
        embedded = self.embed(th.cat((devices, cell), dim=2))
        others = embedded.mean(dim=1, keepdim=True).expand(-1, self.num_devices, -1)
        return self.mix(th.cat((embedded, others), dim=2))


class DeviceSetExtractor(nn.Module):
    """SB3's ``mlp_extractor``: the actor's per-device embeddings, flattened (batch, N * hidden),
    and the critic's pooled embedding (batch, hidden), from two separate encoders."""

    def __init__(self, num_devices: int, hidden: int, **encoder: Any) -> None:
        super().__init__()
        self.num_devices = num_devices
        self.actor = DeviceSetEncoder(num_devices, hidden=hidden, **encoder)
        self.critic = DeviceSetEncoder(num_devices, hidden=hidden, **encoder)
        self.latent_dim_pi = num_devices * hidden
        self.latent_dim_vf = hidden

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        return self.actor(features).flatten(start_dim=1)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.critic(features).mean(dim=1)


class SharedDeviceHead(nn.Module):
    """One linear map from a device's embedding to its action logits, applied to every device:
    (batch, N * hidden) -> (batch, N * logits_per_device), device-major like the action."""

    def __init__(self, num_devices: int, hidden: int, logits_per_device: int) -> None:
        super().__init__()
        self.num_devices = num_devices
        self.hidden = hidden
        self.linear = nn.Linear(hidden, logits_per_device)

    def forward(self, latent: th.Tensor) -> th.Tensor:
        per_device = latent.reshape(latent.shape[0], self.num_devices, self.hidden)
        return self.linear(per_device).flatten(start_dim=1)


class DeviceSetPolicy(ActorCriticPolicy):
    """PPO/A2C policy with per-device shared weights (see the module docstring).

    ``device_features`` and ``global_features`` give the observation's layout (``N`` follows
    from the observation size); ``hidden`` is the embedding width; ``feature_offset`` and
    ``feature_scale`` (``device_features`` finite values each, the scales non-zero; default 0
    and 1) normalise each device's row (see the module docstring). The action space is
    MultiBinary or MultiDiscrete with the same number of logits for every device, or a Box with
    the same number of entries per device (a Gaussian mean each, the log-standard deviations
    per entry as SB3 keeps them), device-major.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        device_features: int = 3,
        global_features: int = 0,
        hidden: int = 64,
        feature_offset: Sequence[float] | None = None,
        feature_scale: Sequence[float] | None = None,
        **kwargs: Any,
    ) -> None:
        size = int(np.prod(observation_space.shape))
        per_devices = size - global_features
        if device_features < 1 or global_features < 0 or per_devices % device_features:
            raise ValueError(
                f"an observation of {size} entries is not N rows of device_features="
                f"{device_features} plus global_features={global_features}"
            )
        if not isinstance(action_space, (spaces.MultiBinary, spaces.MultiDiscrete, spaces.Box)):
            raise ValueError(
                f"DeviceSetPolicy needs a MultiBinary, MultiDiscrete or Box action space, got "
                f"{action_space}"
            )
        self.num_devices = per_devices // device_features
        self.device_features = device_features
        self.global_features = global_features
        self.hidden = hidden
        self.feature_offset = _feature_values("feature_offset", feature_offset, device_features)
        self.feature_scale = _feature_values("feature_scale", feature_scale, device_features)
        if self.feature_scale is not None and 0.0 in self.feature_scale:
            raise ValueError(f"feature_scale must be non-zero, got {self.feature_scale}")
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = DeviceSetExtractor(
            self.num_devices,
            hidden=self.hidden,
            device_features=self.device_features,
            global_features=self.global_features,
            activation_fn=self.activation_fn,
            feature_offset=self.feature_offset,
            feature_scale=self.feature_scale,
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        logits = self.action_net.out_features
        if logits % self.num_devices:
            raise ValueError(
                f"{logits} action logits cannot be split over {self.num_devices} devices"
            )
        self.action_net = SharedDeviceHead(
            self.num_devices, self.hidden, logits // self.num_devices
        )
        if self.ortho_init:
            self.action_net.apply(lambda module: self.init_weights(module, gain=0.01))
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            device_features=self.device_features,
            global_features=self.global_features,
            hidden=self.hidden,
            feature_offset=self.feature_offset,
            feature_scale=self.feature_scale,
        )
        return data


def _feature_values(
    name: str, values: Sequence[float] | None, device_features: int
) -> list[float] | None:
    """``values`` as a list of ``device_features`` finite floats (None stays None), else
    ValueError naming ``name``."""
    if values is None:
        return None
    floats = [float(v) for v in np.ravel(np.asarray(values, dtype=float))]
    if len(floats) != device_features or not np.isfinite(floats).all():
        raise ValueError(
            f"{name} must be {device_features} finite values (one per device feature), got "
            f"{values!r}"
        )
    return floats
