"""Integration tests of the enterprise home page's read service."""
