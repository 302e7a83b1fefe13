"""mec_gym: Gymnasium environments for DNN inference at the mobile edge.

``import mec_gym`` registers every environment ID (idempotently)."""

from mec_gym.registration import register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["register_envs", "__version__"]
