"""Prepare sign-in for the browser tests, in a child process with exactly the servers' environment.

``python -m tests.e2e.auth_setup <run_dir> <app>=<port> …`` gives every demo user the password
``DEMO_PASSWORD`` (and, in test, its deterministic TOTP secret) in the database of ``DATABASE_URL``,
and writes each app's ``[auth]`` secrets to ``<run_dir>/<app>/secrets.toml`` with the launcher's own
``scripts.run_all.write_auth_secrets`` — the same code path as ``make run`` — and registers the
OIDC clients before the provider starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from core.auth import SYSTEM_ACTOR
    from core.services.identity import ensure_demo_credentials
    from scripts.run_all import redirect_uri_for, sync_clients, write_auth_secrets

    run_dir = Path(argv[0])
    ensure_demo_credentials(actor=SYSTEM_ACTOR, password=os.environ["DEMO_PASSWORD"])
    sync_clients()  # before the provider's workers boot (see scripts/run_all.py)
    for item in argv[1:]:
        app, port = item.split("=", 1)
        write_auth_secrets(app, run_dir / app / "secrets.toml", redirect_uri=redirect_uri_for(app, int(port)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
