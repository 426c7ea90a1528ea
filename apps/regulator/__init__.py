"""The regulator app: platform-wide statistics, read-only oversight."""
