"""Problem instances shared by the environments and the solvers of each system."""
