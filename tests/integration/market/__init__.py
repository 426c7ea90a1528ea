"""Integration tests of the products, financial supermarket and white-list services (issue 6, items 1–2)."""
