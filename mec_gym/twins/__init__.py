"""Digital twins: decision evaluation (DT #1) and device status estimation (DT #2)."""

from mec_gym.twins.status import DeviceStatusTwin

__all__ = ["DeviceStatusTwin"]
