"""Digital twin #1: decision evaluation by replay (DT #2, the device status estimate the
controller runs on, is part of the simulator: ``mec_gym.simulators.status_twin``)."""

from mec_gym.twins.decision_replay import DecisionEvaluationTwin, TaskOptions

__all__ = ["DecisionEvaluationTwin", "TaskOptions"]
