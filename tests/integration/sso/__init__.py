"""Integration tests of the bundled OpenID Connect provider and the identity services, on both databases."""
