"""Per-area rules of the permission matrix: each module exports RULES and ARGUMENTS."""
