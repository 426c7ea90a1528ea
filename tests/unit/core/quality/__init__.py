"""Tests of the pure data-quality engine: normalizers, reader, validation, rules and scores."""
