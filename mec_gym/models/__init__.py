"""Pure, vectorised physics shared by every environment and solver (SI units)."""
