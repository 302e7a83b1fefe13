"""Solvers of the joint offloading system (``docs/joint_offload.md``).

Every solver takes a :class:`~mec_gym.problems.joint_offload.JointOffloadProblem` and returns an
:class:`~mec_gym.problems.joint_offload.Allocation`, whose cost
:func:`~mec_gym.problems.joint_offload.evaluate_allocation` computes as the environments do.
"""
