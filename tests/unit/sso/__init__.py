"""Unit tests of the identity layer without a database: validation, claims, token verification, notifiers."""
