"""Integration tests of the data-quality services (rule-set versions, daily run, reports)."""
