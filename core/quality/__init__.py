"""Pure quality engine (no session, no I/O, no clock); grows with its issue."""
