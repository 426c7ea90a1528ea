"""Entry points: launchers, seeding, benchmarks and operational scripts."""
