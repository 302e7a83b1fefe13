"""The environments, one module per system."""
