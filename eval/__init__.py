"""Evaluation, benchmarks and paper-figure reproduction."""
