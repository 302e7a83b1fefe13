"""Event-driven simulators with an explicit state, one module per system that needs one."""
