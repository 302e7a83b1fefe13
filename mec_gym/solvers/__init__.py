"""Analytic solvers: functions from a problem instance to an allocation."""
