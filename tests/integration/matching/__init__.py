"""Integration tests of matching, needs and dispatch, and leads (issue 6)."""
