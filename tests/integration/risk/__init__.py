"""Integration tests of the risk early-warning services (issue 7), on SQLite and PostgreSQL."""
