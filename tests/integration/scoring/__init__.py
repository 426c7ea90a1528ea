"""Integration tests of the scoring engine on generated demo data."""
