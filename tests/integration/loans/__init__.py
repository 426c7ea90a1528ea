"""Integration tests of loans, repayments, the daily sweep, the first-loan center, notifications and the ledger."""
