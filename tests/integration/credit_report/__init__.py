"""Integration tests of the bank's credit report and its PDF."""
