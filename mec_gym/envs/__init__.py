"""The environments, one module per system, on the skeleton of :mod:`mec_gym.envs.base`."""
