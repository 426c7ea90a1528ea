"""Integration tests of government-data ingestion: file imports, upserts, quarantine, pulls (both databases)."""
