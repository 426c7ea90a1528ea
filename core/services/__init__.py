"""Use cases: one module per context. The top-level service owns the unit of work."""
