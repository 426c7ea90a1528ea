"""Integration tests of the application lifecycle, maker-checker review, documents and credit enhancement."""
