"""Unit tests of the pure risk early-warning engine."""
